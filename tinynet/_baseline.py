"""The tutorial's training loop as the tutorial writes it (numpy scalars, ``np.exp``): the baseline that
tinynet's speed-ups are measured against. Used for timing only; it is not a backend.
"""

import numpy as np

__all__ = ["train_numpy"]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _deriv_sigmoid(x):
    fx = _sigmoid(x)
    return fx * (1 - fx)


def train_numpy(params, data, all_y_trues, learn_rate=0.1, epochs=1000):
    """Per-sample SGD written the tutorial's way; returns the nine trained parameters as a list.

    Parameters
    ----------
    params : sequence of 9 floats
        w1..w6, b1..b3 to start from.
    data : ndarray, shape (n, 2)
    all_y_trues : ndarray, shape (n,)
    learn_rate : float
    epochs : int

    Returns
    -------
    list of 9 numpy.float64
    """
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = (np.float64(p) for p in params)
    for _ in range(epochs):
        for x, y_true in zip(data, all_y_trues):
            sum_h1 = w1 * x[0] + w2 * x[1] + b1
            h1 = _sigmoid(sum_h1)
            sum_h2 = w3 * x[0] + w4 * x[1] + b2
            h2 = _sigmoid(sum_h2)
            sum_o1 = w5 * h1 + w6 * h2 + b3
            o1 = _sigmoid(sum_o1)
            y_pred = o1

            d_L_d_ypred = -2 * (y_true - y_pred)

            d_ypred_d_w5 = h1 * _deriv_sigmoid(sum_o1)
            d_ypred_d_w6 = h2 * _deriv_sigmoid(sum_o1)
            d_ypred_d_b3 = _deriv_sigmoid(sum_o1)
            d_ypred_d_h1 = w5 * _deriv_sigmoid(sum_o1)
            d_ypred_d_h2 = w6 * _deriv_sigmoid(sum_o1)

            d_h1_d_w1 = x[0] * _deriv_sigmoid(sum_h1)
            d_h1_d_w2 = x[1] * _deriv_sigmoid(sum_h1)
            d_h1_d_b1 = _deriv_sigmoid(sum_h1)

            d_h2_d_w3 = x[0] * _deriv_sigmoid(sum_h2)
            d_h2_d_w4 = x[1] * _deriv_sigmoid(sum_h2)
            d_h2_d_b2 = _deriv_sigmoid(sum_h2)

            w1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
            w2 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
            b1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1
            w3 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
            w4 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
            b2 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2
            w5 -= learn_rate * d_L_d_ypred * d_ypred_d_w5
            w6 -= learn_rate * d_L_d_ypred * d_ypred_d_w6
            b3 -= learn_rate * d_L_d_ypred * d_ypred_d_b3
    return [w1, w2, w3, w4, w5, w6, b1, b2, b3]
