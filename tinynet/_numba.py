"""Numba kernels: the tutorial network's feedforward, loss and SGD loop, compiled by ``@njit``.

This module mirrors ``_python.py`` (the readable reference) and ``_core.pyx`` function for function,
with the same names, the same arguments in the same order and the same order of arithmetic. It is
imported only when the ``"numba"`` backend is first used, so ``import tinynet`` never imports Numba.

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is ``math.exp``, which Numba compiles to a call of the C library's ``exp``, as in the
  other two backends. Where it overflows it returns ``inf`` and the sigmoid gives ``0.0``.
* ``fastmath=False``: LLVM may neither fuse ``a*b + c`` into an FMA nor reorder anything, so every
  expression is evaluated left to right, exactly as the tutorial writes it.
* ``error_model="numpy"``: division never checks for zero (the sigmoid's denominator is >= 1).
* The mean squared error is summed the way numpy sums (pairwise, 8 lanes, blocks of 128).

The compiled code is cached on disk (``cache=True``) so that later processes skip compiling; where no
cache location is writable (a read-only install, no writable home) the kernels are compiled in memory
instead. Kernels are called with C-contiguous writeable float64 arrays and Python ints only, so each
compiles once.
"""

import math
from typing import Any

import numpy as np
from numba import njit

__all__ = ["JIT_OPTIONS", "feedforward", "gradients", "mse_loss", "sigmoid", "train"]

#: The options of every ``@njit`` in this module, in one place.
JIT_OPTIONS: dict[str, Any] = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")

#: numpy's pairwise summation works on blocks of this many elements (``PW_BLOCKSIZE``).
_PW_BLOCKSIZE = 128
#: Room for the pairwise summation's pending ranges: ample for any n below 2**63.
_STACK_SIZE = 128


def _jit(func):
    """``njit(**JIT_OPTIONS)``, compiling in memory when no on-disk cache location is writable."""
    try:
        return njit(**JIT_OPTIONS)(func)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(**dict(JIT_OPTIONS, cache=False))(func)


@_jit
def sigmoid(x):
    """Sigmoid activation f(x) = 1 / (1 + e^(-x)); 0.0 where e^(-x) overflows to inf."""
    return 1.0 / (1.0 + math.exp(-x))


@_jit
def _feedforward_row(p, x0, x1):
    """The network's output o1 for one sample (x0, x1); p holds w1..w6, b1..b3."""
    h1 = sigmoid(p[0] * x0 + p[1] * x1 + p[6])
    h2 = sigmoid(p[2] * x0 + p[3] * x1 + p[7])
    return sigmoid(p[4] * h1 + p[5] * h2 + p[8])


@_jit
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


@_jit
def _squared_error(p, data, y_true, i):
    e = y_true[i] - _feedforward_row(p, data[i, 0], data[i, 1])
    return e * e


@_jit
def _sum_block(p, data, y_true, lo, n):
    """Sum of (y_true - y_pred)^2 over samples lo .. lo+n-1 (n <= 128), as numpy sums one block."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += _squared_error(p, data, y_true, i)
        return total
    # Eight running sums, combined as a tree, then the remainder one by one.
    r0 = _squared_error(p, data, y_true, lo)
    r1 = _squared_error(p, data, y_true, lo + 1)
    r2 = _squared_error(p, data, y_true, lo + 2)
    r3 = _squared_error(p, data, y_true, lo + 3)
    r4 = _squared_error(p, data, y_true, lo + 4)
    r5 = _squared_error(p, data, y_true, lo + 5)
    r6 = _squared_error(p, data, y_true, lo + 6)
    r7 = _squared_error(p, data, y_true, lo + 7)
    i = 8
    while i < n - n % 8:
        r0 += _squared_error(p, data, y_true, lo + i)
        r1 += _squared_error(p, data, y_true, lo + i + 1)
        r2 += _squared_error(p, data, y_true, lo + i + 2)
        r3 += _squared_error(p, data, y_true, lo + i + 3)
        r4 += _squared_error(p, data, y_true, lo + i + 4)
        r5 += _squared_error(p, data, y_true, lo + i + 5)
        r6 += _squared_error(p, data, y_true, lo + i + 6)
        r7 += _squared_error(p, data, y_true, lo + i + 7)
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += _squared_error(p, data, y_true, lo + i)
        i += 1
    return total


@_jit
def _sum_squared_errors(p, data, y_true, n):
    """Sum of (y_true - y_pred)^2 over all n samples, in numpy's pairwise order.

    numpy sums a range of more than 128 elements as sum(first n2) + sum(the rest), n2 being half the
    length rounded down to a multiple of 8, and a shorter range as :func:`_sum_block` does. The same
    recursion runs here on explicit stacks: Numba cannot load a cached recursive function.
    """
    if n <= _PW_BLOCKSIZE:
        return _sum_block(p, data, y_true, 0, n)
    # Ranges still to sum (start, length, whether both halves are summed) and sums of finished ones.
    todo_lo = np.zeros(_STACK_SIZE, np.int64)
    todo_n = np.zeros(_STACK_SIZE, np.int64)
    todo_halves_done = np.zeros(_STACK_SIZE, np.bool_)
    sums = np.zeros(_STACK_SIZE, np.float64)
    todo_n[0] = n
    top = 1
    n_sums = 0
    while top > 0:
        top -= 1
        lo = todo_lo[top]
        m = todo_n[top]
        if todo_halves_done[top]:
            # Both halves done: their sums are the last two.
            n_sums -= 1
            sums[n_sums - 1] = sums[n_sums - 1] + sums[n_sums]
        elif m <= _PW_BLOCKSIZE:
            sums[n_sums] = _sum_block(p, data, y_true, lo, m)
            n_sums += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            # Pushed in reverse: the first half is summed first, then the second, then both added.
            todo_lo[top], todo_n[top], todo_halves_done[top] = lo, m, True
            todo_lo[top + 1], todo_n[top + 1], todo_halves_done[top + 1] = lo + m2, m - m2, False
            todo_lo[top + 2], todo_n[top + 2], todo_halves_done[top + 2] = lo, m2, False
            top += 3
    return sums[0]


@_jit
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


@_jit
def _backprop(p, x0, x1, y):
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
    d_L_d_ypred = -2 * (y - y_pred)
    # f'(s) = f(s) * (1 - f(s)), with f(s) already computed
    d_o1 = o1 * (1 - o1)
    d_h1 = h1 * (1 - h1)
    d_h2 = h2 * (1 - h2)
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


@_jit
def _sgd_step(p, x0, x1, y, learn_rate):
    """One SGD step of one network on one sample: p (w1..w6, b1..b3) updated in place."""
    (d_L_d_ypred, d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2,
     d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2) = _backprop(p, x0, x1, y)
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


@_jit
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


@_jit
def train(params, data, y_true, learn_rate, epoch_start, epoch_stop, loss_every, losses):
    """Stochastic gradient descent, one sample at a time, of one or more networks, in place.

    Runs epochs ``epoch_start .. epoch_stop - 1``; each epoch visits the samples in order, and each
    sample steps every network in turn (independent networks, so the CPU overlaps their work; each
    network's result is exactly what training it alone gives). After each epoch whose index is a
    multiple of ``loss_every`` (when ``loss_every > 0``) each network's mean squared error over the
    whole data set, with its updated parameters, goes into the next column of its row of ``losses``.

    Parameters
    ----------
    params : ndarray of float64, shape (k, 9), C-contiguous
        For each of k networks: w1..w6, b1..b3; updated in place.
    data : ndarray of float64, shape (n, 2), C-contiguous, n >= 1
    y_true : ndarray of float64, shape (n,)
    learn_rate : float
    epoch_start, epoch_stop : int
        The epochs to run, as in ``range(epoch_start, epoch_stop)``.
    loss_every : int
        Record the loss after epochs that are multiples of this; 0 records none.
    losses : ndarray of float64, shape (k, m)
        Receives the recorded losses, in order; m is at least their number.
    """
    n = data.shape[0]
    k = 0
    for epoch in range(epoch_start, epoch_stop):
        for i in range(n):
            for j in range(params.shape[0]):
                _sgd_step(params[j], data[i, 0], data[i, 1], y_true[i], learn_rate)
        if loss_every > 0 and epoch % loss_every == 0:
            for j in range(params.shape[0]):
                losses[j, k] = _sum_squared_errors(params[j], data, y_true, n) / n
            k += 1


# --- tinynet.Network: any layer sizes -------------------------------------------------------------
# The same layout, codes and arithmetic as the section of the same name in _python.py (read the
# comment there). ``work`` holds the activations of every layer, two gradient rows, the output
# layer's pre-activations and one loss per sample, addressed by offsets.

SIGMOID, TANH, RELU, IDENTITY, SOFTMAX = 0, 1, 2, 3, 4
MSE, CROSS_ENTROPY = 0, 1


@_jit
def _activate(code, s):
    """A hidden or (elementwise) output activation of a pre-activation s."""
    if code == SIGMOID:
        return sigmoid(s)
    if code == TANH:
        return math.tanh(s)
    if code == RELU:
        return s if s > 0.0 else 0.0
    return s  # IDENTITY


@_jit
def _derivative(code, a):
    """The activation's derivative f'(s), from its value a = f(s)."""
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0  # IDENTITY


@_jit
def _softplus(x):
    """log(1 + e^x), without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@_jit
def _neuron_output(s, i, code, last, work, out_at, logits_at):
    """Neuron i's pre-activation s (with its bias): its activation (softmax's comes later) and, in
    the output layer, s itself."""
    if last:
        work[logits_at + i] = s
    work[out_at + i] = s if code == SOFTMAX else _activate(code, s)


@_jit
def _net_forward(p, sizes, hidden, output, data, row_index, work, logits_at):
    """Feedforward of sample data[row_index]: every layer's activations into work (from 0), the
    output's pre-activations into work[logits_at:]. Returns where the output activations start.

    (Offsets into one array rather than views of it: a view costs Numba reference counting.)
    """
    layers = len(sizes) - 1
    for j in range(sizes[0]):
        work[j] = data[row_index, j]
    at = 0
    offset = 0
    for layer in range(1, layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < layers else output
        last = layer == layers
        a = work[at:at + n_in]
        # Four rows at a time: four independent sums, each still added up in the order j = 0, 1, ...
        # (the same numbers as one row at a time), so the CPU overlaps their additions. (Row slices:
        # Numba then knows the indices are not negative, and the loops run faster.)
        i = 0
        while i + 4 <= n_out:
            w0 = p[offset + i * n_in:offset + (i + 1) * n_in]
            w1 = p[offset + (i + 1) * n_in:offset + (i + 2) * n_in]
            w2 = p[offset + (i + 2) * n_in:offset + (i + 3) * n_in]
            w3 = p[offset + (i + 3) * n_in:offset + (i + 4) * n_in]
            s0, s1, s2, s3 = w0[0] * a[0], w1[0] * a[0], w2[0] * a[0], w3[0] * a[0]
            for j in range(1, n_in):
                s0 += w0[j] * a[j]
                s1 += w1[j] * a[j]
                s2 += w2[j] * a[j]
                s3 += w3[j] * a[j]
            _neuron_output(s0 + p[biases + i], i, code, last, work, out_at, logits_at)
            _neuron_output(s1 + p[biases + i + 1], i + 1, code, last, work, out_at, logits_at)
            _neuron_output(s2 + p[biases + i + 2], i + 2, code, last, work, out_at, logits_at)
            _neuron_output(s3 + p[biases + i + 3], i + 3, code, last, work, out_at, logits_at)
            i += 4
        while i < n_out:
            w = p[offset + i * n_in:offset + (i + 1) * n_in]
            s = w[0] * a[0]
            for j in range(1, n_in):
                s += w[j] * a[j]
            _neuron_output(s + p[biases + i], i, code, last, work, out_at, logits_at)
            i += 1
        if code == SOFTMAX:
            # a_k = e^(s_k - m) / sum of e^(s_j - m), m the largest s
            m = work[logits_at]
            for i in range(1, n_out):
                m = max(m, work[logits_at + i])
            total = 0.0
            for i in range(n_out):
                e = math.exp(work[logits_at + i] - m)
                work[out_at + i] = e
                total += e
            for i in range(n_out):
                work[out_at + i] = work[out_at + i] / total
        at = out_at
        offset = biases + n_out
    return at


@_jit
def _net_sample_loss(output, loss, targets, row_index, work, at, logits_at, k):
    """The loss of one sample: targets[row_index], outputs work[at:at + k], pre-activations
    work[logits_at:logits_at + k]."""
    total = 0.0
    if loss == MSE:
        # mean over the outputs of (y - a)^2
        for i in range(k):
            e = targets[row_index, i] - work[at + i]
            total += e * e
        return total / k
    if output == SIGMOID:
        # binary cross-entropy from the logits: y * softplus(-s) + (1 - y) * softplus(s)
        for i in range(k):
            y, s = targets[row_index, i], work[logits_at + i]
            total += y * _softplus(-s) + (1 - y) * _softplus(s)
        return total / k
    # categorical cross-entropy: log(sum of e^s) - sum of y * s, stably
    m = work[logits_at]
    for i in range(1, k):
        m = max(m, work[logits_at + i])
    for i in range(k):
        total += math.exp(work[logits_at + i] - m)
    loss_value = m + math.log(total)
    for i in range(k):
        loss_value -= targets[row_index, i] * work[logits_at + i]
    return loss_value


@_jit
def _pairwise_block(values, lo, m):
    """values[lo:lo + m] (m <= 128) summed as numpy sums one block."""
    if m < 8:
        total = 0.0
        for i in range(lo, lo + m):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[lo], values[lo + 1], values[lo + 2], values[lo + 3]
    r4, r5, r6, r7 = values[lo + 4], values[lo + 5], values[lo + 6], values[lo + 7]
    i = 8
    while i < m - m % 8:
        r0 += values[lo + i]
        r1 += values[lo + i + 1]
        r2 += values[lo + i + 2]
        r3 += values[lo + i + 3]
        r4 += values[lo + i + 4]
        r5 += values[lo + i + 5]
        r6 += values[lo + i + 6]
        r7 += values[lo + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < m:
        total += values[lo + i]
        i += 1
    return total


@_jit
def _pairwise_sum(values, n):
    """Sum of values[0:n] in numpy's pairwise order, on explicit stacks (as _sum_squared_errors)."""
    if n <= _PW_BLOCKSIZE:
        return _pairwise_block(values, 0, n)
    todo_lo = np.zeros(_STACK_SIZE, np.int64)
    todo_n = np.zeros(_STACK_SIZE, np.int64)
    todo_halves_done = np.zeros(_STACK_SIZE, np.bool_)
    sums = np.zeros(_STACK_SIZE, np.float64)
    todo_n[0] = n
    top = 1
    n_sums = 0
    while top > 0:
        top -= 1
        lo = todo_lo[top]
        m = todo_n[top]
        if todo_halves_done[top]:
            n_sums -= 1
            sums[n_sums - 1] = sums[n_sums - 1] + sums[n_sums]
        elif m <= _PW_BLOCKSIZE:
            sums[n_sums] = _pairwise_block(values, lo, m)
            n_sums += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            todo_lo[top], todo_n[top], todo_halves_done[top] = lo, m, True
            todo_lo[top + 1], todo_n[top + 1], todo_halves_done[top + 1] = lo + m2, m - m2, False
            todo_lo[top + 2], todo_n[top + 2], todo_halves_done[top + 2] = lo, m2, False
            top += 3
    return sums[0]


@_jit
def _net_offsets(sizes):
    """Where work's parts start: two gradient rows, the output pre-activations, the sample losses
    (the activations of every layer come first, from 0)."""
    total, widest = 0, 0
    for size in sizes:
        total += size
        widest = max(widest, size)
    g_at = total
    g_prev_at = total + widest
    logits_at = total + 2 * widest
    return g_at, g_prev_at, logits_at, logits_at + sizes[len(sizes) - 1]


@_jit
def _net_mean_loss(p, sizes, hidden, output, loss, data, targets, work):
    n = data.shape[0]
    k = sizes[len(sizes) - 1]
    _, _, logits_at, losses_at = _net_offsets(sizes)
    for t in range(n):
        at = _net_forward(p, sizes, hidden, output, data, t, work, logits_at)
        work[losses_at + t] = _net_sample_loss(output, loss, targets, t, work, at, logits_at, k)
    return _pairwise_sum(work[losses_at:losses_at + n], n) / n


@_jit
def net_feedforward(params, sizes, hidden, output, data, out, work):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, k))."""
    _, _, logits_at, _ = _net_offsets(sizes)
    k = sizes[len(sizes) - 1]
    for t in range(data.shape[0]):
        at = _net_forward(params, sizes, hidden, output, data, t, work, logits_at)
        for i in range(k):
            out[t, i] = work[at + i]


@_jit
def net_loss(params, sizes, hidden, output, loss, data, targets, work):
    """The mean loss over the samples, summed in numpy's pairwise order."""
    return _net_mean_loss(params, sizes, hidden, output, loss, data, targets, work)


@_jit
def net_train(params, sizes, hidden, output, loss, data, targets, order, learn_rate, momentum,
              velocity, epoch_start, epoch_stop, loss_every, losses, work):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    The arguments are those of ``_python.net_train``; see its docstring. ``work`` is addressed by
    offsets: the activations from 0, then the gradient rows g and g_prev (which swap offsets from
    layer to layer), the output's pre-activations.
    """
    n = data.shape[0]
    layers = len(sizes) - 1
    k = sizes[layers]
    g, g_prev, logits_at, _ = _net_offsets(sizes)
    starts = np.zeros(layers + 1, np.int64)     # where each layer's activations start in work
    offsets = np.zeros(layers + 1, np.int64)    # where each layer's weights start in params
    for layer in range(1, layers + 1):
        starts[layer] = starts[layer - 1] + sizes[layer - 1]
        if layer > 1:
            offsets[layer] = offsets[layer - 1] + sizes[layer - 1] * sizes[layer - 2] + sizes[layer - 1]
    recorded = 0
    for epoch in range(epoch_start, epoch_stop):
        for t in range(n):
            sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
            at = _net_forward(params, sizes, hidden, output, data, sample, work, logits_at)

            # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
            if loss == MSE:
                for i in range(k):
                    work[g + i] = learn_rate * (-2 * (targets[sample, i] - work[at + i]) / k)
                if output == SOFTMAX:
                    # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
                    dot = 0.0
                    for j in range(k):
                        dot += (-2 * (targets[sample, j] - work[at + j]) / k) * work[at + j]
                    for i in range(k):
                        work[g + i] = learn_rate * (
                            work[at + i] * (-2 * (targets[sample, i] - work[at + i]) / k - dot))
                    fp_output = IDENTITY
                else:
                    fp_output = output
            else:
                # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ k for sigmoid's mean)
                for i in range(k):
                    if output == SIGMOID:
                        work[g + i] = learn_rate * ((work[at + i] - targets[sample, i]) / k)
                    else:
                        work[g + i] = learn_rate * (work[at + i] - targets[sample, i])
                fp_output = IDENTITY

            # --- Back through the layers, last first
            for layer in range(layers, 0, -1):
                n_in, n_out = sizes[layer - 1], sizes[layer]
                w0 = offsets[layer]
                b0 = w0 + n_out * n_in
                a_in = starts[layer - 1]
                a_out = starts[layer]
                code = fp_output if layer == layers else hidden
                a = work[a_in:a_in + n_in]
                back = work[g_prev:g_prev + n_in]
                for i in range(n_out):
                    fp = _derivative(code, work[a_out + i])
                    gi = work[g + i]
                    row = w0 + i * n_in
                    w = params[row:row + n_in]
                    if layer > 1:
                        # the previous layer's g, from the weights before this update
                        for j in range(n_in):
                            term = gi * (w[j] * fp)
                            back[j] = term if i == 0 else back[j] + term
                    if momentum != 0.0:
                        v = velocity[row:row + n_in]
                        for j in range(n_in):
                            v[j] = momentum * v[j] - gi * (a[j] * fp)
                            w[j] += v[j]
                        velocity[b0 + i] = momentum * velocity[b0 + i] - gi * fp
                        params[b0 + i] += velocity[b0 + i]
                    else:
                        for j in range(n_in):
                            w[j] -= gi * (a[j] * fp)
                        params[b0 + i] -= gi * fp
                g, g_prev = g_prev, g

        if loss_every > 0 and epoch % loss_every == 0:
            losses[0, recorded] = _net_mean_loss(params, sizes, hidden, output, loss, data, targets, work)
            recorded += 1
