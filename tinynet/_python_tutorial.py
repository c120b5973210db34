"""Pure-Python kernels of the tutorial's network (``OurNeuralNetwork``): the fallback, and the reference.

Mirrors ``_core_tutorial.pxi`` (Cython) and ``_numba_tutorial.py`` (Numba) function for function, with
the same names, the same arguments in the same order and the same order of arithmetic, so that the
three can be read side by side. It follows the tutorial's ``OurNeuralNetwork`` step by step and uses
the tutorial's names (``sum_h1``, ``d_L_d_ypred``, ``d_ypred_d_w5`` ...). The floating-point rules
are those of ``_python_common.py``: every expression left to right, as the tutorial writes it, and
``f'(sum_h1)`` computed as ``h1 * (1 - h1)``, the same number as the tutorial's
``sigmoid(sum_h1) * (1 - sigmoid(sum_h1))``.

Kernels trust their inputs: ``params`` holds the nine parameters of each network in the order
w1..w6, b1..b3 (C-contiguous float64); ``data`` is a C-contiguous ``(n, 2)`` float64 array; ``y_true``
and ``out`` float64 arrays of length ``n``. Validation happens once, in Python, before a kernel is
called. For speed the arrays are turned into Python floats once per call (arithmetic on numpy
scalars is slow), and the parameters are kept in local variables while training.
"""

from ._codes import PW_BLOCKSIZE
from ._python_common import RULES, _pairwise_block, _walk_next, _walk_push, _walk_start, _walk_total, sigmoid

__all__ = ["feedforward", "gradients", "mse_loss", "train", "train_many"]

sigmoid_prime = RULES.sigmoid_prime


def _feedforward_row(p, x0, x1):
    """The network's output o1 for one sample (x0, x1); p holds w1..w6, b1..b3."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    h1 = sigmoid(w1 * x0 + w2 * x1 + b1)
    h2 = sigmoid(w3 * x0 + w4 * x1 + b2)
    return sigmoid(w5 * h1 + w6 * h2 + b3)


def feedforward(params, data, out):
    """Write the network's output for every row of ``data`` into ``out``.

    Parameters
    ----------
    params : ndarray of float64, shape (9,)
        w1..w6, b1..b3.
    data : ndarray of float64, shape (n, 2), C-contiguous
    out : ndarray of float64, shape (n,)
        Receives o1 for each row.
    """
    p = params.tolist()
    out[:] = [_feedforward_row(p, x0, x1) for x0, x1 in data.tolist()]


def _squared_error(p, data, y_true, i):
    """(y_true - y_pred)^2 of sample i; data and y_true as lists."""
    e = y_true[i] - _feedforward_row(p, data[i][0], data[i][1])
    return e * e


def _sum_squared_errors(p, data, y_true, n):
    """Sum of (y_true - y_pred)^2 over all n samples, in numpy's pairwise order."""
    leaf = [0.0] * PW_BLOCKSIZE
    walk = _walk_start(n)
    more, lo, m = _walk_next(walk)
    while more:
        for i in range(m):
            leaf[i] = _squared_error(p, data, y_true, lo + i)
        _walk_push(walk, _pairwise_block(leaf, m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk)


def mse_loss(params, data, y_true):
    """Mean squared error of the network on (data, y_true): mean((y_true - y_pred)^2).

    Parameters
    ----------
    params : ndarray of float64, shape (9,)
    data : ndarray of float64, shape (n, 2), C-contiguous, n >= 1
    y_true : ndarray of float64, shape (n,)

    Returns
    -------
    float
    """
    n = data.shape[0]
    return _sum_squared_errors(params.tolist(), data.tolist(), y_true.tolist(), n) / n


def _backprop(p, x0, x1, y_true):
    """Feedforward and backpropagation for one sample: the factors of every dL/dparameter."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    # --- Feedforward: h1 = f(w1*x0 + w2*x1 + b1), h2 likewise, o1 = f(w5*h1 + w6*h2 + b3)
    sum_h1 = w1 * x0 + w2 * x1 + b1
    h1 = sigmoid(sum_h1)
    sum_h2 = w3 * x0 + w4 * x1 + b2
    h2 = sigmoid(sum_h2)
    sum_o1 = w5 * h1 + w6 * h2 + b3
    o1 = sigmoid(sum_o1)
    y_pred = o1
    # --- Partial derivatives
    # dL/dy_pred for L = (y_true - y_pred)^2
    d_L_d_ypred = -2 * (y_true - y_pred)
    # f'(s) = f(s) * (1 - f(s)), with f(s) already computed
    d_o1 = sigmoid_prime(o1)
    d_h1 = sigmoid_prime(h1)
    d_h2 = sigmoid_prime(h2)
    # Neuron o1
    d_ypred_d_w5 = h1 * d_o1
    d_ypred_d_w6 = h2 * d_o1
    d_ypred_d_b3 = d_o1
    d_ypred_d_h1 = w5 * d_o1
    d_ypred_d_h2 = w6 * d_o1
    # Neuron h1
    d_h1_d_w1 = x0 * d_h1
    d_h1_d_w2 = x1 * d_h1
    d_h1_d_b1 = d_h1
    # Neuron h2
    d_h2_d_w3 = x0 * d_h2
    d_h2_d_w4 = x1 * d_h2
    d_h2_d_b2 = d_h2
    return (d_L_d_ypred, d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2,
            d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2)


def _sgd_step(p, x0, x1, y_true, learn_rate):
    """One SGD step of one network on one sample; returns the updated (w1..w6, b1..b3)."""
    (d_L_d_ypred, d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2,
     d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2) = _backprop(p, x0, x1, y_true)
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    # p -= learn_rate * d_L_d_ypred * ... evaluated left to right; the common leading products are
    # computed once (the same numbers as written out in full).
    step = learn_rate * d_L_d_ypred
    step_h1 = step * d_ypred_d_h1
    step_h2 = step * d_ypred_d_h2
    return (
        w1 - step_h1 * d_h1_d_w1,   # neuron h1
        w2 - step_h1 * d_h1_d_w2,
        w3 - step_h2 * d_h2_d_w3,   # neuron h2
        w4 - step_h2 * d_h2_d_w4,
        w5 - step * d_ypred_d_w5,   # neuron o1
        w6 - step * d_ypred_d_w6,
        b1 - step_h1 * d_h1_d_b1,
        b2 - step_h2 * d_h2_d_b2,
        b3 - step * d_ypred_d_b3,
    )


def gradients(params, x0, x1, y_true, out):
    """The nine partial derivatives dL/dw1 .. dL/db3 of the loss for one sample, into ``out``.

    Each is the chain-rule product the tutorial writes, left to right (dL/dw1 = d_L_d_ypred *
    d_ypred_d_h1 * d_h1_d_w1), from the same factors a training step uses.

    Parameters
    ----------
    params : ndarray of float64, shape (9,)
    x0, x1, y_true : float
        The sample and its label.
    out : ndarray of float64, shape (9,)
        Receives dL/dw1 .. dL/dw6, dL/db1 .. dL/db3.
    """
    (d_L_d_ypred, d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2,
     d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2) = _backprop(
        params.tolist(), x0, x1, y_true)
    out[:] = (
        d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1,
        d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2,
        d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3,
        d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4,
        d_L_d_ypred * d_ypred_d_w5,
        d_L_d_ypred * d_ypred_d_w6,
        d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1,
        d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2,
        d_L_d_ypred * d_ypred_d_b3,
    )


def train(params, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses):
    """Stochastic gradient descent, one sample at a time, of one or more networks, in place.

    Runs epochs ``epoch_start .. epoch_stop - 1``; each epoch visits the samples in order, and each
    sample steps every network in turn (each network's result is exactly what training it alone
    gives). After each epoch whose index is a multiple of ``loss_every`` (when ``loss_every > 0``)
    each network's mean squared error over the whole data set, with its updated parameters, goes into
    the next column of its row of ``losses``.

    Parameters
    ----------
    params : ndarray of float64, shape (n_nets, 9), C-contiguous
        For each of n_nets networks: w1..w6, b1..b3; updated in place.
    data : ndarray of float64, shape (n, 2), C-contiguous, n >= 1
    y_true : ndarray of float64, shape (n,)
    learn_rate : float
    epoch_start, epoch_stop : int
        The epochs to run, as in ``range(epoch_start, epoch_stop)``.
    loss_every : int
        Record the loss after epochs that are multiples of this; 0 records none.
    losses : ndarray of float64, shape (n_nets, m)
        Receives the recorded losses, in order; m is at least their number.
    """
    nets = [tuple(p) for p in params.tolist()]
    xs = data.tolist()
    ys = y_true.tolist()
    rows = list(zip(xs, ys))
    n = len(rows)
    column = 0     # the next column of losses
    done = nets    # every network after the last whole epoch
    try:
        for epoch in range(epoch_start, epoch_stop):
            if len(nets) == 1:   # the common case, without the inner loop
                p = nets[0]
                for (x0, x1), y in rows:
                    p = _sgd_step(p, x0, x1, y, learn_rate)
                nets = [p]
            else:
                for (x0, x1), y in rows:
                    nets = [_sgd_step(p, x0, x1, y, learn_rate) for p in nets]
            done = nets
            if loss_every > 0 and epoch % loss_every == 0:
                for j, p in enumerate(nets):
                    losses[j, column] = _sum_squared_errors(p, xs, ys, n) / n
                column += 1
    finally:
        # An interrupt (Ctrl-C) leaves every network as it was after a whole epoch.
        params[:] = done


def train_many(params, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses):
    """:func:`train` for blocks of ``lanes`` networks stepped together, structure-of-arrays.

    The compiled kernels step a block's networks lane by lane in vector instructions; here each
    network is simply trained as :func:`train` trains it, which gives the same numbers. (The compiled
    kernels take blocks of ``_codes.lanes(dtype)`` networks; any number here.)

    Parameters
    ----------
    params : ndarray of float64, shape (n_blocks, 9, lanes), C-contiguous
        Block b's network j has its parameter k (w1..w6, b1..b3) at ``params[b, k, j]``; updated in
        place.
    data, y_true, learn_rate, epoch_start, epoch_stop, loss_every
        As for :func:`train`.
    losses : ndarray of float64, shape (n_blocks * lanes, m)
        Network j of block b records its losses in row ``b * lanes + j``.
    """
    n_blocks, n_params, lanes = params.shape
    nets = params.transpose(0, 2, 1).reshape(n_blocks * lanes, n_params).copy()
    try:
        train(nets, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses)
    finally:
        # train leaves every network as it was after a whole epoch, even when interrupted.
        params[:] = nets.reshape(n_blocks, lanes, n_params).transpose(0, 2, 1)
