# Cython kernels of the tutorial's network (OurNeuralNetwork). Included by _core.pyx; mirrors
# _python_tutorial.py (the readable reference) and _numba_tutorial.py function for function.
#
# The training kernels (train, train_many and what they call) are written over the fused type
# ``floating``: OurNeuralNetwork trains in double, and a float32 Network((2, 2, 1)) of sigmoid and mse
# trains on their float specialisation (the other backends': tools/gen_float32.py's), every operation
# in float. The struct of the partial derivatives holds doubles: in the float specialisation each is a
# float's value, read back as a float (<floating>) where it is used.


cdef inline floating _feedforward_row(const floating* p, floating x0, floating x1) noexcept nogil:
    # The network's output o1 for one sample (x0, x1); p holds w1..w6, b1..b3.
    cdef floating h1 = _sigmoid_t(p[0] * x0 + p[1] * x1 + p[6])
    cdef floating h2 = _sigmoid_t(p[2] * x0 + p[3] * x1 + p[7])
    return _sigmoid_t(p[4] * h1 + p[5] * h2 + p[8])


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


cdef inline floating _squared_error(const floating* p, const floating* data, const floating* y_true,
                                    Py_ssize_t i) noexcept nogil:
    # (y_true - y_pred)^2 of sample i.
    cdef floating e = y_true[i] - _feedforward_row(p, data[2 * i], data[2 * i + 1])
    return e * e


cdef floating _sum_squared_errors(const floating* p, const floating* data, const floating* y_true,
                                  Py_ssize_t n) noexcept nogil:
    # Sum of (y_true - y_pred)^2 over all n samples, in numpy's pairwise order.
    cdef floating leaf[PW_BLOCKSIZE]
    cdef Walk walk
    cdef Py_ssize_t lo, m, i
    _walk_start(&walk, n, sizeof(floating) == sizeof(float))
    while _walk_next(&walk, &lo, &m):
        for i in range(m):
            leaf[i] = _squared_error(p, data, y_true, lo + i)
        _walk_push(&walk, _pairwise_block(leaf, m))
    return <floating>_walk_total(&walk)


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


cdef inline Partials _backprop(const floating* p, floating x0, floating x1, floating y_true) noexcept nogil:
    # Feedforward and backpropagation for one sample: the factors of every dL/dparameter.
    cdef floating sum_h1, h1, sum_h2, h2, sum_o1, o1, y_pred, d_o1, d_h1, d_h2
    cdef Partials d
    # --- Feedforward: h1 = f(w1*x0 + w2*x1 + b1), h2 likewise, o1 = f(w5*h1 + w6*h2 + b3)
    sum_h1 = p[0] * x0 + p[1] * x1 + p[6]
    h1 = _sigmoid_t(sum_h1)
    sum_h2 = p[2] * x0 + p[3] * x1 + p[7]
    h2 = _sigmoid_t(sum_h2)
    sum_o1 = p[4] * h1 + p[5] * h2 + p[8]
    o1 = _sigmoid_t(sum_o1)
    y_pred = o1
    # --- Partial derivatives
    # dL/dy_pred for L = (y_true - y_pred)^2
    d.d_L_d_ypred = -2 * (y_true - y_pred)
    # f'(s) = f(s) * (1 - f(s)), with f(s) already computed
    d_o1 = _sigmoid_prime_t(o1)
    d_h1 = _sigmoid_prime_t(h1)
    d_h2 = _sigmoid_prime_t(h2)
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


cdef inline void _sgd_step(floating* p, floating x0, floating x1, floating y_true,
                            floating learn_rate) noexcept nogil:
    # One SGD step of one network on one sample: p (w1..w6, b1..b3) updated in place.
    cdef Partials d = _backprop(p, x0, x1, y_true)
    # p -= learn_rate * d_L_d_ypred * ... evaluated left to right; the common leading products are
    # computed once (the same numbers as written out in full).
    cdef floating step = learn_rate * <floating>d.d_L_d_ypred
    cdef floating step_h1 = step * <floating>d.d_ypred_d_h1
    cdef floating step_h2 = step * <floating>d.d_ypred_d_h2
    # Neuron h1: w1, w2, b1
    p[0] = p[0] - step_h1 * <floating>d.d_h1_d_w1
    p[1] = p[1] - step_h1 * <floating>d.d_h1_d_w2
    p[6] = p[6] - step_h1 * <floating>d.d_h1_d_b1
    # Neuron h2: w3, w4, b2
    p[2] = p[2] - step_h2 * <floating>d.d_h2_d_w3
    p[3] = p[3] - step_h2 * <floating>d.d_h2_d_w4
    p[7] = p[7] - step_h2 * <floating>d.d_h2_d_b2
    # Neuron o1: w5, w6, b3
    p[4] = p[4] - step * <floating>d.d_ypred_d_w5
    p[5] = p[5] - step * <floating>d.d_ypred_d_w6
    p[8] = p[8] - step * <floating>d.d_ypred_d_b3


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


def train(floating[:, ::1] params, const floating[:, ::1] data, const floating[::1] y_true,
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
    cdef Py_ssize_t n = data.shape[0], n_nets = params.shape[0]
    cdef Py_ssize_t epoch, i, j
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef floating* p = &params[0, 0]
    cdef const floating* x = &data[0, 0]
    cdef const floating* ys = &y_true[0]
    cdef floating rate = <floating>learn_rate
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            for i in range(n):
                for j in range(n_nets):
                    _sgd_step(p + 9 * j, x[2 * i], x[2 * i + 1], ys[i], rate)
            if loss_every > 0 and epoch % loss_every == 0:
                for j in range(n_nets):
                    losses[j, column] = _sum_squared_errors(p + 9 * j, x, ys, n) / n
                column += 1


# --- train_many: a block of networks stepped together, lane by lane -------------------------------
# A block holds nl networks structure-of-arrays (nl = _lanes(p): LANES in float64, LANES32 in float32):
# parameter k (w1..w6, b1..b3 as k = 0..8) of lane j at p[k * nl + j]. Every loop over the lanes below
# does the arithmetic of _sgd_step, lane by lane, with a constant trip count and no branch, so the
# compiler turns it into vector instructions (4 lanes of doubles in an AVX2 register, 8 of floats);
# exp's rare special path is taken afterwards, lane by lane, where needed.

cdef enum:     # the parameters' rows in a block
    W1 = 0
    W2 = 1
    W3 = 2
    W4 = 3
    W5 = 4
    W6 = 5
    B1 = 6
    B2 = 7
    B3 = 8


cdef inline void _exp_block_t(const floating* x, floating* out) noexcept nogil:
    # out[j] = _exp_t(x[j]) for a block's lanes, EXP_LANES at a time.
    cdef int h
    for h in range(_lanes(x) // EXP_LANES):
        _exp_lanes_t(x + h * EXP_LANES, out + h * EXP_LANES)


cdef inline void _feedforward_lanes(const floating* p, floating x0, floating x1, floating* hs1,
                                    floating* hs2, floating* e_o1) noexcept nogil:
    # The block's networks on one sample (x0, x1), _feedforward_row in every lane: the sums of h1 and
    # h2, then f(s) = 1 / (1 + e^(-s)) (_sigmoid_t's arithmetic) into hs1 and hs2, then o1's e^(-s)
    # into e_o1 (o1 = _sigmoid_from_exp_t(e_o1[j])).
    cdef Py_ssize_t nl = _lanes(p)
    cdef floating neg_sum_h1[MAX_LANES]
    cdef floating neg_sum_h2[MAX_LANES]
    cdef floating neg_sum_o1[MAX_LANES]
    cdef floating e_h1[MAX_LANES]
    cdef floating e_h2[MAX_LANES]
    cdef int j
    for j in range(nl):
        neg_sum_h1[j] = -(p[W1 * nl + j] * x0 + p[W2 * nl + j] * x1 + p[B1 * nl + j])
        neg_sum_h2[j] = -(p[W3 * nl + j] * x0 + p[W4 * nl + j] * x1 + p[B2 * nl + j])
    _exp_block_t(neg_sum_h1, e_h1)
    _exp_block_t(neg_sum_h2, e_h2)
    for j in range(nl):
        hs1[j] = _sigmoid_from_exp_t(e_h1[j])
        hs2[j] = _sigmoid_from_exp_t(e_h2[j])
        neg_sum_o1[j] = -(p[W5 * nl + j] * hs1[j] + p[W6 * nl + j] * hs2[j] + p[B3 * nl + j])
    _exp_block_t(neg_sum_o1, e_o1)


cdef inline void _squared_errors_lanes(const floating* p, floating x0, floating x1, floating y_true,
                                       floating* out) noexcept nogil:
    # (y_true - y_pred)^2 of one sample in every lane of the block: _squared_error's arithmetic.
    cdef floating hs1[MAX_LANES]
    cdef floating hs2[MAX_LANES]
    cdef floating e_o1[MAX_LANES]
    cdef floating e
    cdef int j
    _feedforward_lanes(p, x0, x1, hs1, hs2, e_o1)
    for j in range(_lanes(p)):
        e = y_true - _sigmoid_from_exp_t(e_o1[j])
        out[j] = e * e


cdef void _sum_squared_errors_lanes(const floating* p, const floating* data, const floating* y_true,
                                    Py_ssize_t n, floating* out) noexcept nogil:
    # _sum_squared_errors of every network of the block at once (lane j's into out[j]): each lane's
    # terms in numpy's pairwise order, in vectors across the lanes.
    cdef Py_ssize_t nl = _lanes(p)
    cdef floating leaf[PW_BLOCKSIZE * MAX_LANES]
    cdef floating total[MAX_LANES]
    cdef LaneWalk walk
    cdef Py_ssize_t lo, m, i
    _lane_walk_start(&walk, n, sizeof(floating) == sizeof(float), nl)
    while _lane_walk_next(&walk, &lo, &m):
        for i in range(m):
            _squared_errors_lanes(p, data[2 * (lo + i)], data[2 * (lo + i) + 1], y_true[lo + i],
                                  leaf + i * nl)
        _pairwise_block_lanes(leaf, m, total)
        _lane_walk_push(&walk, total)
    _lane_walk_total(&walk, out)


cdef inline void _sgd_step_lanes(floating* p, floating x0, floating x1, floating y_true,
                                 floating learn_rate) noexcept nogil:
    # One SGD step of the block's networks on one sample (x0, x1): _sgd_step in every lane.
    cdef Py_ssize_t nl = _lanes(p)
    cdef floating e_o1[MAX_LANES]
    cdef floating hs1[MAX_LANES]
    cdef floating hs2[MAX_LANES]
    cdef floating h1, h2, o1, d_L_d_ypred, d_o1, d_h1, d_h2, step, step_h1, step_h2
    cdef int j
    # --- Feedforward
    _feedforward_lanes(p, x0, x1, hs1, hs2, e_o1)
    # --- Partial derivatives and updates, from the weights before this sample's update
    for j in range(nl):
        h1 = hs1[j]
        h2 = hs2[j]
        o1 = _sigmoid_from_exp_t(e_o1[j])
        d_L_d_ypred = -2 * (y_true - o1)
        d_o1 = _sigmoid_prime_t(o1)
        d_h1 = _sigmoid_prime_t(h1)
        d_h2 = _sigmoid_prime_t(h2)
        step = learn_rate * d_L_d_ypred
        step_h1 = step * (p[W5 * nl + j] * d_o1)          # step * d_ypred_d_h1
        step_h2 = step * (p[W6 * nl + j] * d_o1)          # step * d_ypred_d_h2
        p[W1 * nl + j] = p[W1 * nl + j] - step_h1 * (x0 * d_h1)
        p[W2 * nl + j] = p[W2 * nl + j] - step_h1 * (x1 * d_h1)
        p[B1 * nl + j] = p[B1 * nl + j] - step_h1 * d_h1
        p[W3 * nl + j] = p[W3 * nl + j] - step_h2 * (x0 * d_h2)
        p[W4 * nl + j] = p[W4 * nl + j] - step_h2 * (x1 * d_h2)
        p[B2 * nl + j] = p[B2 * nl + j] - step_h2 * d_h2
        p[W5 * nl + j] = p[W5 * nl + j] - step * (h1 * d_o1)
        p[W6 * nl + j] = p[W6 * nl + j] - step * (h2 * d_o1)
        p[B3 * nl + j] = p[B3 * nl + j] - step * d_o1


def train_many(floating[:, :, ::1] params, const floating[:, ::1] data, const floating[::1] y_true,
               double learn_rate, Py_ssize_t epoch_start, Py_ssize_t epoch_stop,
               Py_ssize_t loss_every, double[:, ::1] losses):
    """:func:`train` for blocks of networks stepped together, structure-of-arrays (``LANES`` float64
    networks a block, ``LANES32`` float32 ones: ``_codes.lanes``).

    The arguments are those of ``_python_tutorial.train_many``; see its docstring.
    """
    cdef Py_ssize_t n = data.shape[0], n_blocks = params.shape[0]
    cdef Py_ssize_t epoch, i, block, j
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef floating sums[MAX_LANES]
    cdef const floating* x = &data[0, 0]
    cdef const floating* ys = &y_true[0]
    cdef floating rate = <floating>learn_rate
    cdef Py_ssize_t nl = _lanes(x)
    _check_lanes(params.shape[2], nl)
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            # Each sample steps every block in turn: the blocks are independent, so the CPU overlaps
            # one block's chain of dependent operations with the next block's.
            for i in range(n):
                for block in range(n_blocks):
                    _sgd_step_lanes(&params[block, 0, 0], x[2 * i], x[2 * i + 1], ys[i], rate)
            if loss_every > 0 and epoch % loss_every == 0:
                for block in range(n_blocks):
                    _sum_squared_errors_lanes(&params[block, 0, 0], x, ys, n, sums)
                    for j in range(nl):
                        losses[block * nl + j, column] = sums[j] / n
                column += 1
