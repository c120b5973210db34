"""An independent numpy rendering of the tutorial's ``OurNeuralNetwork``, for the tests.

Written the way the tutorial writes it: numpy scalars, ``np.exp``, ``deriv_sigmoid`` recomputing the
sigmoid, the update expressions spelled out in full, ``np.apply_along_axis`` for the loss. The exp
function can be swapped: with tinynet's own exp (``tiny_exp``, that is ``tinynet.exp``) it is the
arithmetic tinynet promises to reproduce bit for bit; with ``np.exp`` it is the tutorial's own, which
differs in the last bit of exp for a few percent of inputs (numpy's exp is not tinynet's, and on CPUs
with AVX-512 it is numpy's own SIMD code).
"""

import numpy as np

import tinynet

# The tutorial's data: (weight - 135 lb, height - 66 in) -> 1 for female.
TUTORIAL_DATA = np.array([
    [-2, -1],   # Alice
    [25, 6],    # Bob
    [17, 4],    # Charlie
    [-15, -6],  # Diana
])
TUTORIAL_Y = np.array([1, 0, 0, 1])
EMILY = np.array([-7, -3])
FRANK = np.array([20, 2])


def tiny_exp(x):
    """tinynet's own exp (``tinynet.exp``), the one its kernels use, on one number."""
    return float(tinynet.exp(float(x)))


class ReferenceNetwork:
    """The tutorial's class, with the parameters given instead of drawn (see ``from_seed``)."""

    def __init__(self, params, exp=np.exp):
        self.w1, self.w2, self.w3, self.w4, self.w5, self.w6, self.b1, self.b2, self.b3 = params
        self.exp = exp

    @classmethod
    def from_seed(cls, seed, exp=np.exp):
        """Draw the parameters as the tutorial's ``__init__`` does, after ``np.random.seed(seed)``."""
        np.random.seed(seed)
        return cls([np.random.normal() for _ in range(9)], exp=exp)

    @property
    def params(self):
        return np.array([self.w1, self.w2, self.w3, self.w4, self.w5, self.w6,
                         self.b1, self.b2, self.b3], dtype=np.float64)

    def sigmoid(self, x):
        return 1 / (1 + self.exp(-x))

    def deriv_sigmoid(self, x):
        fx = self.sigmoid(x)
        return fx * (1 - fx)

    def feedforward(self, x):
        h1 = self.sigmoid(self.w1 * x[0] + self.w2 * x[1] + self.b1)
        h2 = self.sigmoid(self.w3 * x[0] + self.w4 * x[1] + self.b2)
        o1 = self.sigmoid(self.w5 * h1 + self.w6 * h2 + self.b3)
        return o1

    def train(self, data, all_y_trues, learn_rate=0.1, epochs=1000):
        """The tutorial's loop; returns the lines it prints and the (epoch, loss) pairs."""
        lines, losses = [], []
        for epoch in range(epochs):
            for x, y_true in zip(data, all_y_trues):
                sum_h1 = self.w1 * x[0] + self.w2 * x[1] + self.b1
                h1 = self.sigmoid(sum_h1)
                sum_h2 = self.w3 * x[0] + self.w4 * x[1] + self.b2
                h2 = self.sigmoid(sum_h2)
                sum_o1 = self.w5 * h1 + self.w6 * h2 + self.b3
                o1 = self.sigmoid(sum_o1)
                y_pred = o1

                d_L_d_ypred = -2 * (y_true - y_pred)

                d_ypred_d_w5 = h1 * self.deriv_sigmoid(sum_o1)
                d_ypred_d_w6 = h2 * self.deriv_sigmoid(sum_o1)
                d_ypred_d_b3 = self.deriv_sigmoid(sum_o1)
                d_ypred_d_h1 = self.w5 * self.deriv_sigmoid(sum_o1)
                d_ypred_d_h2 = self.w6 * self.deriv_sigmoid(sum_o1)

                d_h1_d_w1 = x[0] * self.deriv_sigmoid(sum_h1)
                d_h1_d_w2 = x[1] * self.deriv_sigmoid(sum_h1)
                d_h1_d_b1 = self.deriv_sigmoid(sum_h1)

                d_h2_d_w3 = x[0] * self.deriv_sigmoid(sum_h2)
                d_h2_d_w4 = x[1] * self.deriv_sigmoid(sum_h2)
                d_h2_d_b2 = self.deriv_sigmoid(sum_h2)

                self.w1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
                self.w2 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
                self.b1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1

                self.w3 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
                self.w4 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
                self.b2 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2

                self.w5 -= learn_rate * d_L_d_ypred * d_ypred_d_w5
                self.w6 -= learn_rate * d_L_d_ypred * d_ypred_d_w6
                self.b3 -= learn_rate * d_L_d_ypred * d_ypred_d_b3

            if epoch % 10 == 0:
                y_preds = np.apply_along_axis(self.feedforward, 1, data)
                loss = ((all_y_trues - y_preds) ** 2).mean()
                losses.append((epoch, float(loss)))
                lines.append("Epoch %d loss: %.3f" % (epoch, loss))
        return lines, losses
