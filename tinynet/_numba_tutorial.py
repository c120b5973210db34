"""Numba kernels of the tutorial's network (``OurNeuralNetwork``), compiled by ``@njit``.

Mirrors ``_python_tutorial.py`` (the readable reference) and ``_core_tutorial.pxi`` function for
function, with the same names, the same arguments in the same order and the same order of
arithmetic. The JIT options and floating-point rules are those of ``_numba_common.py``.
"""

import numpy as np

from ._codes import EXP_LANES, LANES, PW_BLOCKSIZE
from ._numba_common import (
    RULES,
    _exp_lanes,
    _lane_walk_next,
    _lane_walk_push,
    _lane_walk_start,
    _lane_walk_total,
    _pairwise_block,
    _pairwise_block_lanes,
    _walk_next,
    _walk_push,
    _walk_start,
    _walk_total,
    jit,
    sigmoid,
)

__all__ = ["feedforward", "gradients", "mse_loss", "train", "train_many"]

sigmoid_prime = RULES.sigmoid_prime
sigmoid_from_exp = RULES.sigmoid_from_exp


@jit
def _feedforward_row(p, x0, x1):
    """The network's output o1 for one sample (x0, x1); p holds w1..w6, b1..b3."""
    h1 = sigmoid(p[0] * x0 + p[1] * x1 + p[6])
    h2 = sigmoid(p[2] * x0 + p[3] * x1 + p[7])
    return sigmoid(p[4] * h1 + p[5] * h2 + p[8])


@jit
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
    for i in range(data.shape[0]):
        out[i] = _feedforward_row(params, data[i, 0], data[i, 1])


@jit
def _squared_error(p, data, y_true, i):
    """(y_true - y_pred)^2 of sample i."""
    e = y_true[i] - _feedforward_row(p, data[i, 0], data[i, 1])
    return e * e


@jit
def _sum_squared_errors(p, data, y_true, n):
    """Sum of (y_true - y_pred)^2 over all n samples, in numpy's pairwise order."""
    leaf = np.empty(PW_BLOCKSIZE)
    walk = _walk_start(n)
    more, lo, m = _walk_next(walk)
    while more:
        for i in range(m):
            leaf[i] = _squared_error(p, data, y_true, lo + i)
        _walk_push(walk, _pairwise_block(leaf, m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk)


@jit
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
    return _sum_squared_errors(params, data, y_true, n) / n


@jit
def _backprop(p, x0, x1, y_true):
    """Feedforward and backpropagation for one sample: the factors of every dL/dparameter."""
    # --- Feedforward: h1 = f(w1*x0 + w2*x1 + b1), h2 likewise, o1 = f(w5*h1 + w6*h2 + b3)
    sum_h1 = p[0] * x0 + p[1] * x1 + p[6]
    h1 = sigmoid(sum_h1)
    sum_h2 = p[2] * x0 + p[3] * x1 + p[7]
    h2 = sigmoid(sum_h2)
    sum_o1 = p[4] * h1 + p[5] * h2 + p[8]
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
    d_ypred_d_h1 = p[4] * d_o1
    d_ypred_d_h2 = p[5] * d_o1
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


@jit
def _sgd_step(p, x0, x1, y_true, learn_rate):
    """One SGD step of one network on one sample: p (w1..w6, b1..b3) updated in place."""
    (d_L_d_ypred, d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2,
     d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2) = _backprop(p, x0, x1, y_true)
    # p -= learn_rate * d_L_d_ypred * ... evaluated left to right; the common leading products are
    # computed once (the same numbers as written out in full).
    step = learn_rate * d_L_d_ypred
    step_h1 = step * d_ypred_d_h1
    step_h2 = step * d_ypred_d_h2
    # Neuron h1: w1, w2, b1
    p[0] = p[0] - step_h1 * d_h1_d_w1
    p[1] = p[1] - step_h1 * d_h1_d_w2
    p[6] = p[6] - step_h1 * d_h1_d_b1
    # Neuron h2: w3, w4, b2
    p[2] = p[2] - step_h2 * d_h2_d_w3
    p[3] = p[3] - step_h2 * d_h2_d_w4
    p[7] = p[7] - step_h2 * d_h2_d_b2
    # Neuron o1: w5, w6, b3
    p[4] = p[4] - step * d_ypred_d_w5
    p[5] = p[5] - step * d_ypred_d_w6
    p[8] = p[8] - step * d_ypred_d_b3


@jit
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
     d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2) = _backprop(params, x0, x1, y_true)
    out[0] = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
    out[1] = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
    out[2] = d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
    out[3] = d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
    out[4] = d_L_d_ypred * d_ypred_d_w5
    out[5] = d_L_d_ypred * d_ypred_d_w6
    out[6] = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1
    out[7] = d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2
    out[8] = d_L_d_ypred * d_ypred_d_b3


@jit
def train(params, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses):
    """Stochastic gradient descent, one sample at a time, of one or more networks, in place.

    Runs epochs ``epoch_start .. epoch_stop - 1``; each epoch visits the samples in order, and each
    sample steps every network in turn (independent networks, so the CPU overlaps their work; each
    network's result is exactly what training it alone gives). After each epoch whose index is a
    multiple of ``loss_every`` (when ``loss_every > 0``) each network's mean squared error over the
    whole data set, with its updated parameters, goes into the next column of its row of ``losses``.

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
    n, n_nets = data.shape[0], params.shape[0]
    column = 0     # the next column of losses
    for epoch in range(epoch_start, epoch_stop):
        for i in range(n):
            for j in range(n_nets):
                _sgd_step(params[j], data[i, 0], data[i, 1], y_true[i], learn_rate)
        if loss_every > 0 and epoch % loss_every == 0:
            for j in range(n_nets):
                losses[j, column] = _sum_squared_errors(params[j], data, y_true, n) / n
            column += 1


# --- train_many: LANES networks stepped together, lane by lane (see _core_tutorial.pxi) -------------
# p is a block: parameter k (w1..w6, b1..b3 as k = 0..8) of lane j at p[k, j].

@jit(inline="always")
def _exp_block(x, out):
    """out[j] = exp(x[j]) for a block's LANES lanes, EXP_LANES at a time."""
    for h in range(LANES // EXP_LANES):
        _exp_lanes(x[h * EXP_LANES:], out[h * EXP_LANES:])


@jit(inline="always")
def _feedforward_lanes(p, x0, x1, scratch):
    """The block's LANES networks on one sample (x0, x1), _feedforward_row in every lane: the sums of
    h1 and h2, then f(s) = 1 / (1 + e^(-s)) (sigmoid's arithmetic) into scratch[6] and scratch[7] (hs1,
    hs2), then o1's e^(-s) into scratch[5] (e_o1; o1 = sigmoid_from_exp(e_o1[j]))."""
    neg_sum_h1, neg_sum_h2, neg_sum_o1 = scratch[0], scratch[1], scratch[2]
    e_h1, e_h2, e_o1, hs1, hs2 = scratch[3], scratch[4], scratch[5], scratch[6], scratch[7]
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    for j in range(LANES):
        neg_sum_h1[j] = -(w1[j] * x0 + w2[j] * x1 + b1[j])
        neg_sum_h2[j] = -(w3[j] * x0 + w4[j] * x1 + b2[j])
    _exp_block(neg_sum_h1, e_h1)
    _exp_block(neg_sum_h2, e_h2)
    for j in range(LANES):
        hs1[j] = sigmoid_from_exp(e_h1[j])
        hs2[j] = sigmoid_from_exp(e_h2[j])
        neg_sum_o1[j] = -(w5[j] * hs1[j] + w6[j] * hs2[j] + b3[j])
    _exp_block(neg_sum_o1, e_o1)


@jit(inline="always")
def _squared_errors_lanes(p, x0, x1, y_true, out, scratch):
    """(y_true - y_pred)^2 of one sample in every lane of the block: _squared_error's arithmetic."""
    _feedforward_lanes(p, x0, x1, scratch)
    e_o1 = scratch[5]
    for j in range(LANES):
        e = y_true - sigmoid_from_exp(e_o1[j])
        out[j] = e * e


@jit
def _sum_squared_errors_lanes(p, data, y_true, n, out, scratch):
    """_sum_squared_errors of every network of the block at once (lane j's into out[j]): each lane's
    terms in numpy's pairwise order, in vectors across the lanes."""
    leaf = np.empty((PW_BLOCKSIZE, LANES))
    total = np.empty(LANES)
    walk = _lane_walk_start(n)
    more, lo, m = _lane_walk_next(walk)
    while more:
        for i in range(m):
            _squared_errors_lanes(p, data[lo + i, 0], data[lo + i, 1], y_true[lo + i], leaf[i], scratch)
        _pairwise_block_lanes(leaf, m, total)
        _lane_walk_push(walk, total)
        more, lo, m = _lane_walk_next(walk)
    _lane_walk_total(walk, out)


@jit(inline="always")
def _sgd_step_lanes(p, x0, x1, y_true, learn_rate, scratch):
    """One SGD step of the block's LANES networks on one sample (x0, x1): _sgd_step in every lane."""
    e_o1, hs1, hs2 = scratch[5], scratch[6], scratch[7]
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    # --- Feedforward
    _feedforward_lanes(p, x0, x1, scratch)
    # --- Partial derivatives and updates, from the weights before this sample's update
    for j in range(LANES):
        h1 = hs1[j]
        h2 = hs2[j]
        o1 = sigmoid_from_exp(e_o1[j])
        d_L_d_ypred = -2 * (y_true - o1)
        d_o1 = sigmoid_prime(o1)
        d_h1 = sigmoid_prime(h1)
        d_h2 = sigmoid_prime(h2)
        step = learn_rate * d_L_d_ypred
        step_h1 = step * (w5[j] * d_o1)          # step * d_ypred_d_h1
        step_h2 = step * (w6[j] * d_o1)          # step * d_ypred_d_h2
        w1[j] = w1[j] - step_h1 * (x0 * d_h1)
        w2[j] = w2[j] - step_h1 * (x1 * d_h1)
        b1[j] = b1[j] - step_h1 * d_h1
        w3[j] = w3[j] - step_h2 * (x0 * d_h2)
        w4[j] = w4[j] - step_h2 * (x1 * d_h2)
        b2[j] = b2[j] - step_h2 * d_h2
        w5[j] = w5[j] - step * (h1 * d_o1)
        w6[j] = w6[j] - step * (h2 * d_o1)
        b3[j] = b3[j] - step * d_o1


@jit
def train_many(params, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses):
    """:func:`train` for blocks of ``LANES`` networks stepped together (``LANES32`` in its float32
    form), structure-of-arrays.

    The arguments are those of ``_python_tutorial.train_many``; see its docstring.
    """
    n, n_blocks = data.shape[0], params.shape[0]
    if params.shape[2] != LANES:        # (a caller's bug, refused as the extension does)
        raise ValueError("a block of another width than this kernel steps")
    scratch = np.empty((8, LANES))
    sums = np.empty(LANES)
    column = 0     # the next column of losses
    for epoch in range(epoch_start, epoch_stop):
        # Each sample steps every block in turn: the blocks are independent, so the CPU overlaps
        # one block's chain of dependent operations with the next block's.
        for i in range(n):
            for block in range(n_blocks):
                _sgd_step_lanes(params[block], data[i, 0], data[i, 1], y_true[i], learn_rate, scratch)
        if loss_every > 0 and epoch % loss_every == 0:
            for block in range(n_blocks):
                _sum_squared_errors_lanes(params[block], data, y_true, n, sums, scratch)
                for j in range(LANES):
                    losses[block * LANES + j, column] = sums[j] / n
            column += 1
