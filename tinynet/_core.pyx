"""Cython kernels: the tutorial network's feedforward, loss and SGD loop as compiled C.

This module mirrors ``_python.py`` (the readable reference) and ``_numba.py`` function for function,
with the same names, the same arguments in the same order and the same order of arithmetic.

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is the C library's ``exp`` (``libc.math``), as are ``math.exp`` in the other two backends.
  Where it overflows it returns ``inf`` and the sigmoid gives ``1 / (1 + inf) = 0.0``.
* Every expression is evaluated left to right, exactly as the tutorial writes it. The extension is
  built with ``-ffp-contract=off`` and without ``-ffast-math`` (see ``setup.py``), so the C compiler
  neither fuses ``a*b + c`` into one FMA instruction nor reorders anything.
* The mean squared error is summed the way numpy sums (pairwise, 8 lanes, blocks of 128).

Kernels trust their inputs (validation happens once, in Python) and run without the GIL. Compiler
directives (bounds checks off, C division) are set in ``setup.py``, in one place.
"""

from libc.math cimport exp, fabs, log, log1p, tanh
from libc.stdint cimport int64_t

# numpy's pairwise summation works on blocks of this many elements (PW_BLOCKSIZE).
cdef enum:
    _PW_BLOCKSIZE = 128
    # Room for the pairwise summation's pending ranges: ample for any n below 2**63.
    _STACK_SIZE = 128


cdef inline double _sigmoid(double x) noexcept nogil:
    # f(x) = 1 / (1 + e^(-x)); 0.0 where e^(-x) overflows to inf
    return 1.0 / (1.0 + exp(-x))


def sigmoid(double x):
    """Sigmoid activation f(x) = 1 / (1 + e^(-x)) (a test hook over the kernels' helper)."""
    return _sigmoid(x)


cdef inline double _feedforward_row(const double* p, double x0, double x1) noexcept nogil:
    # The network's output o1 for one sample (x0, x1); p holds w1..w6, b1..b3.
    cdef double h1 = _sigmoid(p[0] * x0 + p[1] * x1 + p[6])
    cdef double h2 = _sigmoid(p[2] * x0 + p[3] * x1 + p[7])
    return _sigmoid(p[4] * h1 + p[5] * h2 + p[8])


def feedforward(const double[::1] params, const double[:, ::1] data, double[::1] out):
    """Write the network's output for every row of ``data`` into ``out``.

    Parameters
    ----------
    params : ndarray of float64, shape (9,)
        w1..w6, b1..b3.
    data : ndarray of float64, shape (n, 2), C-contiguous, n >= 1
    out : ndarray of float64, shape (n,)
        Receives o1 for each row.
    """
    cdef Py_ssize_t i, n = data.shape[0]
    with nogil:
        for i in range(n):
            out[i] = _feedforward_row(&params[0], data[i, 0], data[i, 1])


cdef inline double _squared_error(const double* p, const double* x, const double* y,
                                  Py_ssize_t i) noexcept nogil:
    cdef double e = y[i] - _feedforward_row(p, x[2 * i], x[2 * i + 1])
    return e * e


cdef double _sum_block(const double* p, const double* x, const double* y,
                       Py_ssize_t lo, Py_ssize_t n) noexcept nogil:
    # Sum of (y_true - y_pred)^2 over samples lo .. lo+n-1 (n <= 128), as numpy sums one block.
    cdef double total, r0, r1, r2, r3, r4, r5, r6, r7
    cdef Py_ssize_t i
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += _squared_error(p, x, y, i)
        return total
    # Eight running sums, combined as a tree, then the remainder one by one.
    r0 = _squared_error(p, x, y, lo)
    r1 = _squared_error(p, x, y, lo + 1)
    r2 = _squared_error(p, x, y, lo + 2)
    r3 = _squared_error(p, x, y, lo + 3)
    r4 = _squared_error(p, x, y, lo + 4)
    r5 = _squared_error(p, x, y, lo + 5)
    r6 = _squared_error(p, x, y, lo + 6)
    r7 = _squared_error(p, x, y, lo + 7)
    i = 8
    while i < n - n % 8:
        r0 += _squared_error(p, x, y, lo + i)
        r1 += _squared_error(p, x, y, lo + i + 1)
        r2 += _squared_error(p, x, y, lo + i + 2)
        r3 += _squared_error(p, x, y, lo + i + 3)
        r4 += _squared_error(p, x, y, lo + i + 4)
        r5 += _squared_error(p, x, y, lo + i + 5)
        r6 += _squared_error(p, x, y, lo + i + 6)
        r7 += _squared_error(p, x, y, lo + i + 7)
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += _squared_error(p, x, y, lo + i)
        i += 1
    return total


cdef double _sum_squared_errors(const double* p, const double* x, const double* y,
                                Py_ssize_t n) noexcept nogil:
    # Sum of (y_true - y_pred)^2 over all n samples, in numpy's pairwise order: a range of more
    # than 128 is sum(first n2) + sum(the rest), n2 being half the length rounded down to a
    # multiple of 8. The recursion runs on explicit stacks, as in the Numba backend (which cannot
    # cache recursive functions).
    # Ranges still to sum (start, length, whether both halves are summed) and sums of finished ones.
    cdef Py_ssize_t todo_lo[_STACK_SIZE]
    cdef Py_ssize_t todo_n[_STACK_SIZE]
    cdef bint todo_halves_done[_STACK_SIZE]
    cdef double sums[_STACK_SIZE]
    cdef Py_ssize_t top = 1, n_sums = 0, lo, m, m2
    if n <= _PW_BLOCKSIZE:
        return _sum_block(p, x, y, 0, n)
    todo_lo[0] = 0
    todo_n[0] = n
    todo_halves_done[0] = False
    while top > 0:
        top -= 1
        lo = todo_lo[top]
        m = todo_n[top]
        if todo_halves_done[top]:
            # Both halves done: their sums are the last two.
            n_sums -= 1
            sums[n_sums - 1] = sums[n_sums - 1] + sums[n_sums]
        elif m <= _PW_BLOCKSIZE:
            sums[n_sums] = _sum_block(p, x, y, lo, m)
            n_sums += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            # Pushed in reverse: the first half is summed first, then the second, then both added.
            todo_lo[top] = lo; todo_n[top] = m; todo_halves_done[top] = True
            todo_lo[top + 1] = lo + m2; todo_n[top + 1] = m - m2; todo_halves_done[top + 1] = False
            todo_lo[top + 2] = lo; todo_n[top + 2] = m2; todo_halves_done[top + 2] = False
            top += 3
    return sums[0]


def mse_loss(const double[::1] params, const double[:, ::1] data, const double[::1] y_true):
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
    cdef Py_ssize_t n = data.shape[0]
    cdef double loss
    with nogil:
        loss = _sum_squared_errors(&params[0], &data[0, 0], &y_true[0], n) / n
    return loss


cdef struct Partials:
    # The tutorial's partial derivatives for one sample, from the parameters before its update.
    double d_L_d_ypred
    double d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2
    double d_h1_d_w1, d_h1_d_w2, d_h1_d_b1
    double d_h2_d_w3, d_h2_d_w4, d_h2_d_b2


cdef inline Partials _backprop(const double* p, double x0, double x1, double y) noexcept nogil:
    # Feedforward and backpropagation for one sample: the factors of every dL/dparameter.
    cdef double sum_h1, h1, sum_h2, h2, sum_o1, o1, y_pred, d_o1, d_h1, d_h2
    cdef Partials d
    # --- Feedforward: h1 = f(w1*x0 + w2*x1 + b1), h2 likewise, o1 = f(w5*h1 + w6*h2 + b3)
    sum_h1 = p[0] * x0 + p[1] * x1 + p[6]
    h1 = _sigmoid(sum_h1)
    sum_h2 = p[2] * x0 + p[3] * x1 + p[7]
    h2 = _sigmoid(sum_h2)
    sum_o1 = p[4] * h1 + p[5] * h2 + p[8]
    o1 = _sigmoid(sum_o1)
    y_pred = o1
    # --- Partial derivatives
    # dL/dy_pred for L = (y_true - y_pred)^2
    d.d_L_d_ypred = -2 * (y - y_pred)
    # f'(s) = f(s) * (1 - f(s)), with f(s) already computed
    d_o1 = o1 * (1 - o1)
    d_h1 = h1 * (1 - h1)
    d_h2 = h2 * (1 - h2)
    # Neuron o1
    d.d_ypred_d_w5 = h1 * d_o1
    d.d_ypred_d_w6 = h2 * d_o1
    d.d_ypred_d_b3 = d_o1
    d.d_ypred_d_h1 = p[4] * d_o1
    d.d_ypred_d_h2 = p[5] * d_o1
    # Neuron h1
    d.d_h1_d_w1 = x0 * d_h1
    d.d_h1_d_w2 = x1 * d_h1
    d.d_h1_d_b1 = d_h1
    # Neuron h2
    d.d_h2_d_w3 = x0 * d_h2
    d.d_h2_d_w4 = x1 * d_h2
    d.d_h2_d_b2 = d_h2
    return d


cdef inline void _sgd_step(double* p, double x0, double x1, double y, double learn_rate) noexcept nogil:
    # One SGD step of one network on one sample: p (w1..w6, b1..b3) updated in place.
    cdef Partials d = _backprop(p, x0, x1, y)
    # p -= learn_rate * d_L_d_ypred * ... evaluated left to right; the common leading products are
    # computed once (the same numbers as written out in full).
    cdef double step = learn_rate * d.d_L_d_ypred
    cdef double step_h1 = step * d.d_ypred_d_h1
    cdef double step_h2 = step * d.d_ypred_d_h2
    # Neuron h1: w1, w2, b1
    p[0] = p[0] - step_h1 * d.d_h1_d_w1
    p[1] = p[1] - step_h1 * d.d_h1_d_w2
    p[6] = p[6] - step_h1 * d.d_h1_d_b1
    # Neuron h2: w3, w4, b2
    p[2] = p[2] - step_h2 * d.d_h2_d_w3
    p[3] = p[3] - step_h2 * d.d_h2_d_w4
    p[7] = p[7] - step_h2 * d.d_h2_d_b2
    # Neuron o1: w5, w6, b3
    p[4] = p[4] - step * d.d_ypred_d_w5
    p[5] = p[5] - step * d.d_ypred_d_w6
    p[8] = p[8] - step * d.d_ypred_d_b3


def gradients(const double[::1] params, double x0, double x1, double y_true, double[::1] out):
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
    cdef Partials d = _backprop(&params[0], x0, x1, y_true)
    out[0] = d.d_L_d_ypred * d.d_ypred_d_h1 * d.d_h1_d_w1
    out[1] = d.d_L_d_ypred * d.d_ypred_d_h1 * d.d_h1_d_w2
    out[2] = d.d_L_d_ypred * d.d_ypred_d_h2 * d.d_h2_d_w3
    out[3] = d.d_L_d_ypred * d.d_ypred_d_h2 * d.d_h2_d_w4
    out[4] = d.d_L_d_ypred * d.d_ypred_d_w5
    out[5] = d.d_L_d_ypred * d.d_ypred_d_w6
    out[6] = d.d_L_d_ypred * d.d_ypred_d_h1 * d.d_h1_d_b1
    out[7] = d.d_L_d_ypred * d.d_ypred_d_h2 * d.d_h2_d_b2
    out[8] = d.d_L_d_ypred * d.d_ypred_d_b3


def train(double[:, ::1] params, const double[:, ::1] data, const double[::1] y_true,
          double learn_rate, Py_ssize_t epoch_start, Py_ssize_t epoch_stop,
          Py_ssize_t loss_every, double[:, ::1] losses):
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
    cdef Py_ssize_t n = data.shape[0], n_nets = params.shape[0]
    cdef Py_ssize_t epoch, i, j, k = 0
    cdef double* p = &params[0, 0]
    cdef const double* x = &data[0, 0]
    cdef const double* ys = &y_true[0]
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            for i in range(n):
                for j in range(n_nets):
                    _sgd_step(p + 9 * j, x[2 * i], x[2 * i + 1], ys[i], learn_rate)
            if loss_every > 0 and epoch % loss_every == 0:
                for j in range(n_nets):
                    losses[j, k] = _sum_squared_errors(p + 9 * j, x, ys, n) / n
                k += 1


# --- tinynet.Network: any layer sizes -------------------------------------------------------------
# The same layout, codes and arithmetic as the section of the same name in _python.py (read the
# comment there). ``work`` holds the activations of every layer, two gradient rows, the output
# layer's pre-activations and one loss per sample.

cdef enum:
    SIGMOID = 0
    TANH = 1
    RELU = 2
    IDENTITY = 3
    SOFTMAX = 4
    MSE = 0
    CROSS_ENTROPY = 1


cdef inline double _activate(int code, double s) noexcept nogil:
    # A hidden or (elementwise) output activation of a pre-activation s.
    if code == SIGMOID:
        return _sigmoid(s)
    if code == TANH:
        return tanh(s)
    if code == RELU:
        return s if s > 0.0 else 0.0
    return s  # IDENTITY


cdef inline double _derivative(int code, double a) noexcept nogil:
    # The activation's derivative f'(s), from its value a = f(s).
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0  # IDENTITY


cdef inline double _softplus(double x) noexcept nogil:
    # log(1 + e^x), without overflow
    return (x if x > 0.0 else 0.0) + log1p(exp(-fabs(x)))


cdef inline void _neuron_output(double s, Py_ssize_t i, int code, bint last, double* out,
                                double* logits) noexcept nogil:
    # Neuron i's pre-activation s (with its bias): its activation (softmax's comes later) and, in the
    # output layer, s itself.
    if last:
        logits[i] = s
    out[i] = s if code == SOFTMAX else _activate(code, s)


cdef Py_ssize_t _net_forward(const double* p, const int64_t* sizes, Py_ssize_t layers, int hidden,
                             int output, const double* x, double* acts, double* logits) noexcept nogil:
    # Feedforward of one sample x: every layer's activations into acts, the output's s into logits.
    cdef Py_ssize_t at = 0, offset = 0, out_at, biases, layer, i, j, row, n_in, n_out
    cdef int code
    cdef double s, s0, s1, s2, s3, m, e, total
    for j in range(sizes[0]):
        acts[j] = x[j]
    for layer in range(1, layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < layers else output
        # Four rows at a time: four independent sums, each still added up in the order j = 0, 1, ...
        # (the same numbers as one row at a time), so the CPU overlaps their additions.
        i = 0
        while i + 4 <= n_out:
            row = offset + i * n_in
            s0 = p[row] * acts[at]
            s1 = p[row + n_in] * acts[at]
            s2 = p[row + 2 * n_in] * acts[at]
            s3 = p[row + 3 * n_in] * acts[at]
            for j in range(1, n_in):
                s0 += p[row + j] * acts[at + j]
                s1 += p[row + n_in + j] * acts[at + j]
                s2 += p[row + 2 * n_in + j] * acts[at + j]
                s3 += p[row + 3 * n_in + j] * acts[at + j]
            _neuron_output(s0 + p[biases + i], i, code, layer == layers, acts + out_at, logits)
            _neuron_output(s1 + p[biases + i + 1], i + 1, code, layer == layers, acts + out_at, logits)
            _neuron_output(s2 + p[biases + i + 2], i + 2, code, layer == layers, acts + out_at, logits)
            _neuron_output(s3 + p[biases + i + 3], i + 3, code, layer == layers, acts + out_at, logits)
            i += 4
        while i < n_out:
            row = offset + i * n_in
            s = p[row] * acts[at]
            for j in range(1, n_in):
                s += p[row + j] * acts[at + j]
            _neuron_output(s + p[biases + i], i, code, layer == layers, acts + out_at, logits)
            i += 1
        if code == SOFTMAX:
            # a_k = e^(s_k - m) / sum of e^(s_j - m), m the largest s
            m = logits[0]
            for i in range(1, n_out):
                m = max(m, logits[i])
            total = 0.0
            for i in range(n_out):
                e = exp(logits[i] - m)
                acts[out_at + i] = e
                total += e
            for i in range(n_out):
                acts[out_at + i] = acts[out_at + i] / total
        at = out_at
        offset = biases + n_out
    return at


cdef double _net_sample_loss(int output, int loss, const double* y, const double* a,
                             const double* logits, Py_ssize_t k) noexcept nogil:
    # The loss of one sample: targets y, outputs a, output pre-activations logits (k of each).
    cdef double total = 0.0, e, m, loss_value
    cdef Py_ssize_t i
    if loss == MSE:
        # mean over the outputs of (y - a)^2
        for i in range(k):
            e = y[i] - a[i]
            total += e * e
        return total / k
    if output == SIGMOID:
        # binary cross-entropy from the logits: y * softplus(-s) + (1 - y) * softplus(s)
        for i in range(k):
            total += y[i] * _softplus(-logits[i]) + (1 - y[i]) * _softplus(logits[i])
        return total / k
    # categorical cross-entropy: log(sum of e^s) - sum of y * s, stably
    m = logits[0]
    for i in range(1, k):
        m = max(m, logits[i])
    for i in range(k):
        total += exp(logits[i] - m)
    loss_value = m + log(total)
    for i in range(k):
        loss_value -= y[i] * logits[i]
    return loss_value


cdef double _pairwise_block(const double* values, Py_ssize_t lo, Py_ssize_t m) noexcept nogil:
    # values[lo:lo + m] (m <= 128) summed as numpy sums one block.
    cdef double total, r0, r1, r2, r3, r4, r5, r6, r7
    cdef Py_ssize_t i
    if m < 8:
        total = 0.0
        for i in range(lo, lo + m):
            total += values[i]
        return total
    r0 = values[lo]; r1 = values[lo + 1]; r2 = values[lo + 2]; r3 = values[lo + 3]
    r4 = values[lo + 4]; r5 = values[lo + 5]; r6 = values[lo + 6]; r7 = values[lo + 7]
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


cdef double _pairwise_sum(const double* values, Py_ssize_t n) noexcept nogil:
    # Sum of values[0:n] in numpy's pairwise order, on explicit stacks (as _sum_squared_errors).
    cdef Py_ssize_t todo_lo[_STACK_SIZE]
    cdef Py_ssize_t todo_n[_STACK_SIZE]
    cdef bint todo_halves_done[_STACK_SIZE]
    cdef double sums[_STACK_SIZE]
    cdef Py_ssize_t top = 1, n_sums = 0, lo, m, m2
    if n <= _PW_BLOCKSIZE:
        return _pairwise_block(values, 0, n)
    todo_lo[0] = 0
    todo_n[0] = n
    todo_halves_done[0] = False
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
            todo_lo[top] = lo; todo_n[top] = m; todo_halves_done[top] = True
            todo_lo[top + 1] = lo + m2; todo_n[top + 1] = m - m2; todo_halves_done[top + 1] = False
            todo_lo[top + 2] = lo; todo_n[top + 2] = m2; todo_halves_done[top + 2] = False
            top += 3
    return sums[0]


cdef struct _NetBuffers:
    # Pointers into work: activations, two gradient rows, output pre-activations, sample losses.
    double* acts
    double* g
    double* g_prev
    double* logits
    double* sample_losses


cdef _NetBuffers _net_buffers(const int64_t* sizes, Py_ssize_t layers, double* work) noexcept nogil:
    cdef Py_ssize_t total = 0, widest = 0, layer
    cdef _NetBuffers b
    for layer in range(layers + 1):
        total += sizes[layer]
        widest = max(widest, sizes[layer])
    b.acts = work
    b.g = work + total
    b.g_prev = work + total + widest
    b.logits = work + total + 2 * widest
    b.sample_losses = work + total + 2 * widest + sizes[layers]
    return b


cdef double _net_mean_loss(const double* p, const int64_t* sizes, Py_ssize_t layers, int hidden,
                           int output, int loss, const double* data, const double* targets,
                           Py_ssize_t n, _NetBuffers b) noexcept nogil:
    cdef Py_ssize_t t, at, n_in = sizes[0], k = sizes[layers]
    for t in range(n):
        at = _net_forward(p, sizes, layers, hidden, output, data + t * n_in, b.acts, b.logits)
        b.sample_losses[t] = _net_sample_loss(output, loss, targets + t * k, b.acts + at, b.logits, k)
    return _pairwise_sum(b.sample_losses, n) / n


def net_feedforward(const double[::1] params, const int64_t[::1] sizes, int hidden, int output,
                    const double[:, ::1] data, double[:, ::1] out, double[::1] work):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, k)).

    The arguments are those of ``_python.net_feedforward``; see its docstring.
    """
    cdef Py_ssize_t layers = sizes.shape[0] - 1, k = sizes[sizes.shape[0] - 1]
    cdef Py_ssize_t t, i, at
    cdef _NetBuffers b
    with nogil:
        b = _net_buffers(&sizes[0], layers, &work[0])
        for t in range(data.shape[0]):
            at = _net_forward(&params[0], &sizes[0], layers, hidden, output, &data[t, 0], b.acts,
                              b.logits)
            for i in range(k):
                out[t, i] = b.acts[at + i]


def net_loss(const double[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
             const double[:, ::1] data, const double[:, ::1] targets, double[::1] work):
    """The mean loss over the samples, summed in numpy's pairwise order."""
    cdef Py_ssize_t layers = sizes.shape[0] - 1
    cdef double value
    with nogil:
        value = _net_mean_loss(&params[0], &sizes[0], layers, hidden, output, loss, &data[0, 0],
                               &targets[0, 0], data.shape[0], _net_buffers(&sizes[0], layers, &work[0]))
    return value


def net_train(double[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
              const double[:, ::1] data, const double[:, ::1] targets, const int64_t[:, ::1] order,
              double learn_rate, double momentum, double[::1] velocity, Py_ssize_t epoch_start,
              Py_ssize_t epoch_stop, Py_ssize_t loss_every, double[:, ::1] losses, double[::1] work):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    The arguments are those of ``_python.net_train``; see its docstring.
    """
    cdef Py_ssize_t n = data.shape[0], layers = sizes.shape[0] - 1
    cdef Py_ssize_t k = sizes[layers], n_features = sizes[0]
    cdef Py_ssize_t epoch, t, sample, at, layer, i, j, n_in, n_out, w0, b0, a_in, a_out, row
    cdef Py_ssize_t recorded = 0
    cdef int code, fp_output
    cdef double fp, gi, term, dot
    cdef double* p = &params[0]
    cdef double* v = &velocity[0]
    cdef const int64_t* s = &sizes[0]
    cdef const double* y
    cdef double* swap
    cdef _NetBuffers b
    cdef double* acts
    cdef double* g
    cdef double* g_prev
    # where each layer's activations and weights start (at most 64 layers on the stack)
    cdef Py_ssize_t starts[65]
    cdef Py_ssize_t offsets[65]
    with nogil:
        b = _net_buffers(s, layers, &work[0])
        acts = b.acts
        g = b.g
        g_prev = b.g_prev
        starts[0] = 0
        offsets[0] = 0
        offsets[1] = 0
        for layer in range(1, layers + 1):
            starts[layer] = starts[layer - 1] + s[layer - 1]
            if layer > 1:
                offsets[layer] = offsets[layer - 1] + s[layer - 1] * s[layer - 2] + s[layer - 1]
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
                y = &targets[sample, 0]
                at = _net_forward(p, s, layers, hidden, output, &data[sample, 0], acts, b.logits)

                # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
                if loss == MSE:
                    for i in range(k):
                        g[i] = learn_rate * (-2 * (y[i] - acts[at + i]) / k)
                    if output == SOFTMAX:
                        # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
                        dot = 0.0
                        for j in range(k):
                            dot += (-2 * (y[j] - acts[at + j]) / k) * acts[at + j]
                        for i in range(k):
                            g[i] = learn_rate * (acts[at + i] * (-2 * (y[i] - acts[at + i]) / k - dot))
                        fp_output = IDENTITY
                    else:
                        fp_output = output
                else:
                    # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ k for sigmoid's mean)
                    for i in range(k):
                        if output == SIGMOID:
                            g[i] = learn_rate * ((acts[at + i] - y[i]) / k)
                        else:
                            g[i] = learn_rate * (acts[at + i] - y[i])
                    fp_output = IDENTITY

                # --- Back through the layers, last first
                for layer in range(layers, 0, -1):
                    n_in = s[layer - 1]
                    n_out = s[layer]
                    w0 = offsets[layer]
                    b0 = w0 + n_out * n_in
                    a_in = starts[layer - 1]
                    a_out = starts[layer]
                    code = fp_output if layer == layers else hidden
                    for i in range(n_out):
                        fp = _derivative(code, acts[a_out + i])
                        gi = g[i]
                        row = w0 + i * n_in
                        if layer > 1:
                            # the previous layer's g, from the weights before this update
                            for j in range(n_in):
                                term = gi * (p[row + j] * fp)
                                g_prev[j] = term if i == 0 else g_prev[j] + term
                        if momentum != 0.0:
                            for j in range(n_in):
                                v[row + j] = momentum * v[row + j] - gi * (acts[a_in + j] * fp)
                                p[row + j] += v[row + j]
                            v[b0 + i] = momentum * v[b0 + i] - gi * fp
                            p[b0 + i] += v[b0 + i]
                        else:
                            for j in range(n_in):
                                p[row + j] -= gi * (acts[a_in + j] * fp)
                            p[b0 + i] -= gi * fp
                    swap = g
                    g = g_prev
                    g_prev = swap

            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, recorded] = _net_mean_loss(p, s, layers, hidden, output, loss, &data[0, 0],
                                                     &targets[0, 0], n, b)
                recorded += 1
