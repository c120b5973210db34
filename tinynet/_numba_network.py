"""Numba kernels of ``tinynet.Network`` (any layer sizes), compiled by ``@njit``.

Mirrors ``_python_network.py`` (the readable reference, whose docstring describes the parameter
layout and the arithmetic) and ``_core_network.pxi`` function for function, with the same names,
the same arguments in the same order and the same order of arithmetic. The JIT options and
floating-point rules are those of ``_numba_common.py`` (``log`` and ``log1p`` are the C library's:
see ``_python_network.py``).

Row slices (``w = params[row:row + n_in]``) rather than computed indices: Numba then knows the
indices are not negative, drops its wraparound checks, and the loops run 2-2.5x faster.
"""

import math

import numpy as np

from ._codes import (
    ADAM,
    CROSS_ENTROPY,
    EXP,
    EXP_LANES,
    IDENTITY,
    LANES,
    MSE,
    NARROW,
    NET_VEC,
    POISSON,
    PW_BLOCKSIZE,
    SIGMOID,
    SOFTMAX,
    SQUARED_ERROR,
    TRANSPOSE_BLOCK,
)
from ._numba_common import (
    RULES,
    VW,
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
    exp,
    jit,
    vadd,
    vload,
    vmul,
    vsplat,
    vstore,
)

__all__ = ["activation", "net_feedforward", "net_gradient", "net_loss", "net_train", "net_train_batch",
           "net_train_many"]


_activate = RULES.activate
_activate_each = RULES.activate_each
_derivative_each = RULES.derivative_each
_step_each = RULES.step_each
_sgd = RULES.sgd
_velocity = RULES.velocity
_check_codes = RULES.check_codes
_check_per_sample = RULES.check_per_sample
_error_squared = RULES.error_squared
_poisson_deviance = RULES.poisson_deviance
_clipped = RULES.clipped
_binary_log_likelihood = RULES.binary_log_likelihood
_binary_cross_entropy = RULES.binary_cross_entropy
_mse_gradient = RULES.mse_gradient
_mean_output_error = RULES.mean_output_error
_xlogy = RULES.xlogy
_check_loss = RULES.check_loss
_check_optimizer = RULES.check_optimizer
_sigmoid_from_exp = RULES.sigmoid_from_exp
_derivative = RULES.derivative


@jit
def activation(code, x, prime):
    """Activation ``code``'s f(x), or with ``prime`` its f'(x) (see ``_python_network.activation``)."""
    if prime:
        _check_codes(code, IDENTITY)
    else:
        _check_codes(IDENTITY, code)
    return _derivative(code, x) if prime else _activate(code, x)


@jit
def _neuron_output(s, i, code, last, a_out, out_sums):
    """Neuron i's sum s (with its bias): its activation into a_out[i] (softmax's comes later) and, in
    the output layer, s itself into out_sums[i]."""
    if last:
        out_sums[i] = s
    a_out[i] = s if code == SOFTMAX else _activate(code, s)


@jit
def _net_forward(p, sizes, hidden, output, x, acts, out_sums):
    """Feedforward of one sample x: every layer's activations into acts, the output layer's sums into
    out_sums. Returns where the output layer's activations start in acts."""
    n_layers = len(sizes) - 1
    for j in range(sizes[0]):
        acts[j] = x[j]
    at = 0          # where the layer's input activations start in acts
    offset = 0      # where the layer's weights start in p
    for layer in range(1, n_layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < n_layers else output
        last = layer == n_layers
        a = acts[at:at + n_in]
        a_out = acts[out_at:out_at + n_out]
        # Four rows at a time: four independent sums, each still added up in the order j = 0, 1, ...
        # (the same numbers as one row at a time), so the CPU overlaps their additions.
        i = 0
        while i < n_out:
            w = p[offset + i * n_in:offset + (i + 1) * n_in]
            s = w[0] * a[0]
            for j in range(1, n_in):
                s += w[j] * a[j]
            _neuron_output(s + p[biases + i], i, code, last, a_out, out_sums)
            i += 1
        if code == SOFTMAX:
            # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s
            m = out_sums[0]
            for i in range(1, n_out):
                m = max(m, out_sums[i])
            total = 0.0
            for i in range(n_out):
                e = exp(out_sums[i] - m)
                a_out[i] = e
                total += e
            for i in range(n_out):
                a_out[i] = a_out[i] / total
        at = out_at
        offset = biases + n_out
    return at


@jit
def _net_output_loss(output, loss, y, a, n_out):
    """The loss of one sample under one of scikit-learn's losses, from its output activations a, as
    scikit-learn computes it (see ``_codes``)."""
    total = 0.0
    if loss == SQUARED_ERROR:
        # half the mean over the outputs of (y - a)^2
        for i in range(n_out):
            total += _error_squared(y[i], a[i])
        return 0.5 * (total / n_out)
    if loss == POISSON:
        # half the Poisson deviance: y log(y / a) - y + a
        for i in range(n_out):
            total += _poisson_deviance(y[i], a[i])
        return total
    # the log-loss of the probabilities clipped to [LOG_EPS, 1 - LOG_EPS]
    for i in range(n_out):
        c = _clipped(a[i])
        if output == SIGMOID:
            total += _binary_log_likelihood(y[i], c)
        else:
            total += _xlogy(y[i], c)
    return -total


@jit
def _net_sample_loss(output, loss, y, a, out_sums, n_out):
    """The loss of one sample: targets y, output activations a, the output layer's sums out_sums."""
    if loss > CROSS_ENTROPY:
        return _net_output_loss(output, loss, y, a, n_out)
    total = 0.0
    if loss == MSE:
        # mean over the outputs of (y - a)^2
        for i in range(n_out):
            total += _error_squared(y[i], a[i])
        return total / n_out
    if output == SIGMOID:
        # binary cross-entropy from the sums: y * softplus(-s) + (1 - y) * softplus(s)
        for i in range(n_out):
            total += _binary_cross_entropy(y[i], out_sums[i])
        return total / n_out
    # categorical cross-entropy: log(sum of e^s) - sum of y * s, stably
    m = out_sums[0]
    for i in range(1, n_out):
        m = max(m, out_sums[i])
    for i in range(n_out):
        total += exp(out_sums[i] - m)
    loss_value = m + math.log(total)
    for i in range(n_out):
        loss_value -= y[i] * out_sums[i]
    return loss_value


@jit
def _net_mean_loss(p, sizes, hidden, output, loss, data, targets, acts, out_sums):
    """The mean loss over the samples, summed in numpy's pairwise order."""
    n, n_out = data.shape[0], sizes[len(sizes) - 1]
    leaf = np.empty(PW_BLOCKSIZE)
    walk = _walk_start(n)
    more, lo, m = _walk_next(walk)
    while more:
        for t in range(m):
            at = _net_forward(p, sizes, hidden, output, data[lo + t], acts, out_sums)
            leaf[t] = _net_sample_loss(output, loss, targets[lo + t], acts[at:at + n_out], out_sums,
                                       n_out)
        _walk_push(walk, _pairwise_block(leaf, m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk) / n


@jit(inline="always")
def _net_output_g(output, loss, y, acts, at, n_out, scale, g):
    """The output layer's g_i = scale * dL/da_i, and the code of the derivative f' that goes with it
    (see ``_python_network._net_output_g``)."""
    if loss > CROSS_ENTROPY:
        # scikit-learn's losses, each with its own output: dL/ds_i = a_i - y_i
        for i in range(n_out):
            g[i] = scale * (acts[at + i] - y[i])
        return IDENTITY
    if loss == MSE:
        for i in range(n_out):
            g[i] = scale * _mse_gradient(y[i], acts[at + i], n_out)
        if output != SOFTMAX:
            return output
        # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
        dot = 0.0
        for j in range(n_out):
            dot += _mse_gradient(y[j], acts[at + j], n_out) * acts[at + j]
        for i in range(n_out):
            g[i] = scale * (acts[at + i] * (_mse_gradient(y[i], acts[at + i], n_out) - dot))
        return IDENTITY
    # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
    for i in range(n_out):
        if output == SIGMOID:
            g[i] = scale * _mean_output_error(y[i], acts[at + i], n_out)
        else:
            g[i] = scale * (acts[at + i] - y[i])
    return IDENTITY


@jit
def net_feedforward(params, sizes, hidden, output, data, out, acts, out_sums, work, rows):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, n_out)).

    The arguments are those of ``_python_network.net_feedforward``; see its docstring.
    """
    _check_codes(hidden, output)
    n_out = sizes[len(sizes) - 1]
    tiled = work.shape[1] > 0       # through the working layout's tiles (net_forward_scratch decides)
    lanes = np.empty((2, LANES))
    none = out_sums[0:0]
    if tiled:
        _to_working(params, sizes, work[0])
    for t in range(data.shape[0]):
        if tiled:
            at = _net_forward_work(work[0], sizes, hidden, output, data[t], acts, rows[0], lanes, none, none)
        else:
            at = _net_forward(params, sizes, hidden, output, data[t], acts, out_sums)
        for i in range(n_out):
            out[t, i] = acts[at + i]


@jit
def net_loss(params, sizes, hidden, output, loss, data, targets, acts, out_sums, work, rows):
    """The mean loss over the samples, summed in numpy's pairwise order.

    The arguments are those of ``_python_network.net_loss``; see its docstring.
    """
    _check_codes(hidden, output)
    _check_loss(loss)
    if work.shape[1] > 0:           # through the working layout's tiles (net_forward_scratch decides)
        _to_working(params, sizes, work[0])
        return _net_mean_loss_work(work[0], sizes, hidden, output, loss, data, targets, acts, rows[0],
                                   np.empty((2, LANES)), out_sums)
    return _net_mean_loss(params, sizes, hidden, output, loss, data, targets, acts, out_sums)


# --- training: the public layout, for narrow networks ---------------------------------------------

@jit(inline="always")
def _net_backward(params, velocity, momentum, sizes, hidden, fp_output, acts, g, g_prev):
    """net_train's step back through the layers on the public layout (see
    ``_python_network.net_train``), for networks whose every layer has fewer than NARROW neurons."""
    n_layers = len(sizes) - 1
    p_end = params.shape[0]     # where the layer's parameters end in params
    a_end = acts.shape[0]       # where the layer's activations end in acts
    for layer in range(n_layers, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        b0 = p_end - n_out            # the layer's biases
        w0 = b0 - n_out * n_in        # the layer's weights
        a_out = a_end - n_out         # its activations
        a_in = a_out - n_in           # its inputs' activations
        code = fp_output if layer == n_layers else hidden
        a = acts[a_in:a_in + n_in]
        back = g_prev[0:n_in]
        for i in range(n_out):
            fp = _derivative(code, acts[a_out + i])
            gi = g[i]
            row = w0 + i * n_in
            w = params[row:row + n_in]
            if layer > 1:
                # the previous layer's g, from the weights before this update
                for j in range(n_in):
                    term = gi * (w[j] * fp)
                    back[j] = term if i == 0 else back[j] + term
            # the rules sgd and velocity, the learning rate folded into g_i (see _python_network)
            if momentum != 0.0:
                v = velocity[row:row + n_in]
                for j in range(n_in):
                    v[j] = _velocity(v[j], a[j] * fp, momentum, gi)
                    w[j] += v[j]
                velocity[b0 + i] = _velocity(velocity[b0 + i], fp, momentum, gi)
                params[b0 + i] += velocity[b0 + i]
            else:
                for j in range(n_in):
                    w[j] = _sgd(w[j], a[j] * fp, gi)
                params[b0 + i] = _sgd(params[b0 + i], fp, gi)
        g, g_prev = g_prev, g
        p_end, a_end = w0, a_out


# --- training: the working layout (see _core_network.pxi) ---------------------------------------
# Training keeps the parameters (and the optimizer's state, and a batch's gradient) in a working copy:
# for each layer, its weights input-major (row j: the weights from input j to every neuron, padded
# with zeros to a stride that is a multiple of NET_VEC), then its biases (one such row). A layer's
# sums advance along the rows, across the neurons (each still summed over its inputs in the order
# j = 0, 1, ...), in vectors (the register tiles below); an update runs along a row too.

@jit
def _stride(n_out):
    """A layer's row length in the working layout: n_out rounded up to a multiple of NET_VEC."""
    return (n_out + NET_VEC - 1) // NET_VEC * NET_VEC


@jit
def _work_size(sizes):
    """The length of the working layout of one flat parameter-like array."""
    size = 0
    for layer in range(1, len(sizes)):
        size += (sizes[layer - 1] + 1) * _stride(sizes[layer])
    return size


@jit
def _to_working(p, sizes, work):
    """A flat array laid out as the parameters, into the working layout (whose padding stays zero): each
    layer's weights transposed TRANSPOSE_BLOCK x TRANSPOSE_BLOCK at a time, so that the rows read and
    the rows written stay in the cache."""
    off = 0
    woff = 0
    for layer in range(1, len(sizes)):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        st = _stride(n_out)
        for i0 in range(0, n_out, TRANSPOSE_BLOCK):
            for j0 in range(0, n_in, TRANSPOSE_BLOCK):
                for i in range(i0, min(i0 + TRANSPOSE_BLOCK, n_out)):
                    for j in range(j0, min(j0 + TRANSPOSE_BLOCK, n_in)):
                        work[woff + j * st + i] = p[off + i * n_in + j]
        for i in range(n_out):
            work[woff + n_in * st + i] = p[off + n_out * n_in + i]
        off += n_out * n_in + n_out
        woff += (n_in + 1) * st


@jit
def _from_working(work, sizes, p):
    """The working layout back into a flat array laid out as the parameters (blocks as
    :func:`_to_working`'s)."""
    off = 0
    woff = 0
    for layer in range(1, len(sizes)):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        st = _stride(n_out)
        for i0 in range(0, n_out, TRANSPOSE_BLOCK):
            for j0 in range(0, n_in, TRANSPOSE_BLOCK):
                for i in range(i0, min(i0 + TRANSPOSE_BLOCK, n_out)):
                    for j in range(j0, min(j0 + TRANSPOSE_BLOCK, n_in)):
                        p[off + i * n_in + j] = work[woff + j * st + i]
        for i in range(n_out):
            p[off + n_out * n_in + i] = work[woff + n_in * st + i]
        off += n_out * n_in + n_out
        woff += (n_in + 1) * st


# --- the register tiles (_tiles.h's, with Numba's vectors of _numba_common.py) ------------------------
# A vector holds VW floats of a row (4 doubles; 8 floats in the float32 kernels), a stride is two or
# more vectors (NET_VEC = 2 * VW). A tile's sums stay in registers from the first row to the last, so
# each is read and written once per tile rather than once per row; each lane sums its own column in
# the order j = 0, 1, ..., as the scalar loop does.

@jit(inline="always")
def _sums_tile8(wt, st, a, n_in, out, c):
    """_sums' columns c to c + 8 * VW: eight vectors of sums, in registers across the rows."""
    x = vsplat(a[0])
    s0 = vmul(vload(wt, c), x)
    s1 = vmul(vload(wt, c + VW), x)
    s2 = vmul(vload(wt, c + 2 * VW), x)
    s3 = vmul(vload(wt, c + 3 * VW), x)
    s4 = vmul(vload(wt, c + 4 * VW), x)
    s5 = vmul(vload(wt, c + 5 * VW), x)
    s6 = vmul(vload(wt, c + 6 * VW), x)
    s7 = vmul(vload(wt, c + 7 * VW), x)
    for j in range(1, n_in):
        x = vsplat(a[j])
        r = j * st + c
        s0 = vadd(s0, vmul(vload(wt, r), x))
        s1 = vadd(s1, vmul(vload(wt, r + VW), x))
        s2 = vadd(s2, vmul(vload(wt, r + 2 * VW), x))
        s3 = vadd(s3, vmul(vload(wt, r + 3 * VW), x))
        s4 = vadd(s4, vmul(vload(wt, r + 4 * VW), x))
        s5 = vadd(s5, vmul(vload(wt, r + 5 * VW), x))
        s6 = vadd(s6, vmul(vload(wt, r + 6 * VW), x))
        s7 = vadd(s7, vmul(vload(wt, r + 7 * VW), x))
    vstore(out, c, s0)
    vstore(out, c + VW, s1)
    vstore(out, c + 2 * VW, s2)
    vstore(out, c + 3 * VW, s3)
    vstore(out, c + 4 * VW, s4)
    vstore(out, c + 5 * VW, s5)
    vstore(out, c + 6 * VW, s6)
    vstore(out, c + 7 * VW, s7)


@jit(inline="always")
def _sums_tile4(wt, st, a, n_in, out, c):
    """_sums' columns c to c + 4 * VW: four vectors of sums."""
    x = vsplat(a[0])
    s0 = vmul(vload(wt, c), x)
    s1 = vmul(vload(wt, c + VW), x)
    s2 = vmul(vload(wt, c + 2 * VW), x)
    s3 = vmul(vload(wt, c + 3 * VW), x)
    for j in range(1, n_in):
        x = vsplat(a[j])
        r = j * st + c
        s0 = vadd(s0, vmul(vload(wt, r), x))
        s1 = vadd(s1, vmul(vload(wt, r + VW), x))
        s2 = vadd(s2, vmul(vload(wt, r + 2 * VW), x))
        s3 = vadd(s3, vmul(vload(wt, r + 3 * VW), x))
    vstore(out, c, s0)
    vstore(out, c + VW, s1)
    vstore(out, c + 2 * VW, s2)
    vstore(out, c + 3 * VW, s3)


@jit(inline="always")
def _sums_tile2(wt, st, a, n_in, out, c):
    """_sums' columns c to c + 2 * VW (NET_VEC): two vectors of sums."""
    x = vsplat(a[0])
    s0 = vmul(vload(wt, c), x)
    s1 = vmul(vload(wt, c + VW), x)
    for j in range(1, n_in):
        x = vsplat(a[j])
        r = j * st + c
        s0 = vadd(s0, vmul(vload(wt, r), x))
        s1 = vadd(s1, vmul(vload(wt, r + VW), x))
    vstore(out, c, s0)
    vstore(out, c + VW, s1)


@jit
def _sums(wt, st, a, n_in, out):
    """out[k] = a[0] * wt[k] + a[1] * wt[st + k] + ..., summed left to right (tn_sums of _tiles.h), for
    k < st (the stride, a multiple of NET_VEC): a tile of columns at a time, the widest that fits (eight
    vectors, then four, then two), its sums in registers across the rows."""
    c = 0
    while c + 8 * VW <= st:
        _sums_tile8(wt, st, a, n_in, out, c)
        c += 8 * VW
    if c + 4 * VW <= st:
        _sums_tile4(wt, st, a, n_in, out, c)
        c += 4 * VW
    if c + 2 * VW <= st:
        _sums_tile2(wt, st, a, n_in, out, c)


@jit(inline="always")
def _descend_tile4(wl, st, n_in, a, g, fp, c):
    """_rows_descend's columns c to c + 4 * VW of every weight row: w[j][k] = sgd(w[j][k], a[j] * fp[k],
    g[k]), the rule on vectors (w[j][k] - g[k] * (a[j] * fp[k]) in each lane), with g's and fp's four
    vectors held in registers down the rows."""
    g0 = vload(g, c)
    g1 = vload(g, c + VW)
    g2 = vload(g, c + 2 * VW)
    g3 = vload(g, c + 3 * VW)
    f0 = vload(fp, c)
    f1 = vload(fp, c + VW)
    f2 = vload(fp, c + 2 * VW)
    f3 = vload(fp, c + 3 * VW)
    for j in range(n_in):
        x = vsplat(a[j])
        r = j * st + c
        vstore(wl, r, _sgd(vload(wl, r), vmul(x, f0), g0))
        vstore(wl, r + VW, _sgd(vload(wl, r + VW), vmul(x, f1), g1))
        vstore(wl, r + 2 * VW, _sgd(vload(wl, r + 2 * VW), vmul(x, f2), g2))
        vstore(wl, r + 3 * VW, _sgd(vload(wl, r + 3 * VW), vmul(x, f3), g3))


@jit(inline="always")
def _descend_tile2(wl, st, n_in, a, g, fp, c):
    """_descend_tile4's update of the columns c to c + 2 * VW (NET_VEC): two vectors."""
    g0 = vload(g, c)
    g1 = vload(g, c + VW)
    f0 = vload(fp, c)
    f1 = vload(fp, c + VW)
    for j in range(n_in):
        x = vsplat(a[j])
        r = j * st + c
        vstore(wl, r, _sgd(vload(wl, r), vmul(x, f0), g0))
        vstore(wl, r + VW, _sgd(vload(wl, r + VW), vmul(x, f1), g1))


@jit
def _rows_descend(wl, st, n_in, n_out, a, g, fp):
    """Plain SGD's per-sample step of a layer in the working layout wl: each weight
    w[j][k] = sgd(w[j][k], a[j] * fp[k], g[k]), then each bias sgd(b[k], fp[k], g[k]) (g folds in the
    learning rate). The weights down the rows, four vectors of columns at a time (_descend_tile4), then
    two, across the whole stride st (tn_rows_descend of _tiles.h): g and fp come padded with zeros from
    n_out to st, so that the padding stays zero (0 - 0 * (a[j] * 0))."""
    c = 0
    while c + 4 * VW <= st:
        _descend_tile4(wl, st, n_in, a, g, fp, c)
        c += 4 * VW
    if c < st:
        _descend_tile2(wl, st, n_in, a, g, fp, c)
    bias = wl[n_in * st:n_in * st + n_out]
    for i in range(n_out):
        bias[i] = _sgd(bias[i], fp[i], g[i])


@jit(inline="always")
def _finish_layer(code, bias, st, n_out, sums, a_out, lanes, out_sums):
    """A layer's sums (padding included) plus its biases (copied into out_sums, when it is not empty:
    the output layer's, for the losses), then their activations into a_out (lanes: two rows of at
    least EXP_LANES)."""
    for k in range(st):
        sums[k] = sums[k] + bias[k]
    if out_sums.shape[0] > 0:
        for i in range(n_out):
            out_sums[i] = sums[i]
    if code == SOFTMAX:
        # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s
        m = sums[0]
        for i in range(1, n_out):
            m = max(m, sums[i])
        total = 0.0
        for i in range(n_out):
            e = exp(sums[i] - m)
            a_out[i] = e
            total += e
        for i in range(n_out):
            a_out[i] = a_out[i] / total
    else:
        # EXP_LANES at a time in vectors (into the padding, where it is wide enough), the rest one by one
        whole = (n_out + EXP_LANES - 1) // EXP_LANES * EXP_LANES
        if whole > st:
            whole = n_out - n_out % EXP_LANES
        _activate_lanes(code, sums[:whole].reshape((whole // EXP_LANES, EXP_LANES)), lanes[0], lanes[1])
        for i in range(min(whole, n_out)):
            a_out[i] = sums[i]
        for i in range(whole, n_out):
            a_out[i] = _activate(code, sums[i])


@jit
def _net_mean_loss_work(w, sizes, hidden, output, loss, data, targets, acts, sums, lanes, out_sums):
    """_net_mean_loss on the working layout w (the same numbers: _net_forward_work's are
    _net_forward's), each sample's layers through the tiles (sums: a row of the largest stride;
    lanes: two rows of LANES)."""
    n, n_out = data.shape[0], sizes[len(sizes) - 1]
    none = sums[0:0]
    leaf = np.empty(PW_BLOCKSIZE)
    walk = _walk_start(n)
    more, lo, m = _walk_next(walk)
    while more:
        for t in range(m):
            at = _net_forward_work(w, sizes, hidden, output, data[lo + t], acts, sums, lanes, none, out_sums)
            leaf[t] = _net_sample_loss(output, loss, targets[lo + t], acts[at:at + n_out], out_sums,
                                       n_out)
        _walk_push(walk, _pairwise_block(leaf, m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk) / n


@jit(inline="always")
def _net_forward_work(w, sizes, hidden, output, x, acts, sums, lanes, first, out_sums):
    """_net_forward on the working layout w (sums: a row of the largest stride; lanes: two rows of
    LANES). The first layer's sums come ready in first when it is not empty (computed by the
    previous step, see _net_backward_work); the output layer's sums go into out_sums too, when it is
    not empty. Returns where the output layer's activations start in acts."""
    n_layers = len(sizes) - 1
    for j in range(sizes[0]):
        acts[j] = x[j]
    at = 0
    woff = 0
    for layer in range(1, n_layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        st = _stride(n_out)
        code = hidden if layer < n_layers else output
        wl = w[woff:woff + (n_in + 1) * st]
        a_out = acts[at + n_in:at + n_in + n_out]
        layer_sums = out_sums if layer == n_layers else out_sums[0:0]
        if layer == 1 and first.shape[0] > 0:
            _finish_layer(code, wl[n_in * st:(n_in + 1) * st], st, n_out, first, a_out, lanes, layer_sums)
        else:
            _sums(wl, st, acts[at:at + n_in], n_in, sums)
            _finish_layer(code, wl[n_in * st:(n_in + 1) * st], st, n_out, sums, a_out, lanes, layer_sums)
        at += n_in
        woff += (n_in + 1) * st
    return at


@jit(inline="always")
def _net_backward_work(w, v, momentum, sizes, total_work, hidden, fp_output, acts, g, g_prev, fp, x_next,
                       first):
    """net_train's step back through the layers, last first, from the output layer's g (which folds
    in the learning rate): each weight takes its term g_i * (a_j * f'_i) (a bias g_i * f'_i),
    subtracted, or with momentum through its velocity in v; the previous layer's
    g_j = sum over i of g_i * (w_ij * f'_i), in the order i = 0, 1, ..., from the weights before this
    update, four j at a time (see _core_network.pxi). When x_next is not empty, the next sample's sums
    of the first layer go into first, from its updated rows (total_work: _work_size(sizes))."""
    n_layers = len(sizes) - 1
    woff = total_work
    a_end = acts.shape[0]
    for layer in range(n_layers, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        st = _stride(n_out)
        woff -= (n_in + 1) * st
        wl = w[woff:woff + (n_in + 1) * st]
        a_out = a_end - n_out
        a_in = a_out - n_in
        code = fp_output if layer == n_layers else hidden
        _derivative_each(code, acts[a_out:a_out + n_out], fp[:n_out])
        # g and f'_i padded with zeros to the stride, for the vectors of the update (_rows_descend)
        for i in range(n_out, st):
            g[i] = 0.0
            fp[i] = 0.0
        if layer > 1:
            j = 0
            while j + 4 <= n_in:
                r0 = wl[j * st:(j + 1) * st]
                r1 = wl[(j + 1) * st:(j + 2) * st]
                r2 = wl[(j + 2) * st:(j + 3) * st]
                r3 = wl[(j + 3) * st:(j + 4) * st]
                t0 = g[0] * (r0[0] * fp[0])
                t1 = g[0] * (r1[0] * fp[0])
                t2 = g[0] * (r2[0] * fp[0])
                t3 = g[0] * (r3[0] * fp[0])
                for i in range(1, n_out):
                    t0 = t0 + g[i] * (r0[i] * fp[i])
                    t1 = t1 + g[i] * (r1[i] * fp[i])
                    t2 = t2 + g[i] * (r2[i] * fp[i])
                    t3 = t3 + g[i] * (r3[i] * fp[i])
                g_prev[j] = t0
                g_prev[j + 1] = t1
                g_prev[j + 2] = t2
                g_prev[j + 3] = t3
                j += 4
            while j < n_in:
                r0 = wl[j * st:(j + 1) * st]
                t0 = g[0] * (r0[0] * fp[0])
                for i in range(1, n_out):
                    t0 = t0 + g[i] * (r0[i] * fp[i])
                g_prev[j] = t0
                j += 1
        if momentum != 0.0:
            vl = v[woff:woff + (n_in + 1) * st]
            for j in range(n_in):
                aj = acts[a_in + j]
                row = wl[j * st:j * st + n_out]
                vrow = vl[j * st:j * st + n_out]
                for i in range(n_out):
                    vrow[i] = _velocity(vrow[i], aj * fp[i], momentum, g[i])
                    row[i] += vrow[i]
            bias = wl[n_in * st:n_in * st + n_out]
            vbias = vl[n_in * st:n_in * st + n_out]
            for i in range(n_out):
                vbias[i] = _velocity(vbias[i], fp[i], momentum, g[i])
                bias[i] += vbias[i]
        else:
            _rows_descend(wl, st, n_in, n_out, acts[a_in:a_in + n_in], g, fp)
        if layer == 1 and x_next.shape[0] > 0:
            # the next sample's sums of the first layer, from its updated rows (fused with the update
            # in the Cython kernel; here a pass of their own, with the same arithmetic: fused, the
            # tile's sums and updates do not fit in the registers together, measured slower)
            _sums(wl, st, x_next, n_in, first)
        g, g_prev = g_prev, g
        a_end = a_out


@jit
def net_train(params, sizes, hidden, output, loss, data, targets, order, options, velocity, epoch_start,
              epoch_stop, loss_every, losses, acts, grads, out_sums, work, rows, room):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    The arguments are those of ``_python_network.net_train``; see its docstring.
    """
    learn_rate, momentum = options[0].learn_rate, options[0].momentum
    _check_codes(hidden, output)
    _check_loss(loss)
    _check_per_sample(options[0].optimizer)
    n = data.shape[0]
    n_out_net = sizes[len(sizes) - 1]
    w, v = work[0], work[1]
    total_work = _work_size(sizes)
    lanes = np.empty((2, LANES))
    column = 0     # the next column of losses
    narrow = True
    for layer in range(1, len(sizes)):
        narrow = narrow and sizes[layer] < NARROW
    if narrow:
        # every layer narrower than NARROW: the public layout, the tutorial's loops
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
                at = _net_forward(params, sizes, hidden, output, data[sample], acts, out_sums)
                fp_output = _net_output_g(output, loss, targets[sample], acts, at, n_out_net, learn_rate,
                                          grads[0])
                _net_backward(params, velocity, momentum, sizes, hidden, fp_output, acts, grads[0],
                              grads[1])
            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, column] = _net_mean_loss(params, sizes, hidden, output, loss, data, targets,
                                                   acts, out_sums)
                column += 1
        return
    _to_working(params, sizes, w)
    if momentum != 0.0:
        _to_working(velocity, sizes, v)
    none = rows[3, 0:0]
    ready = False        # whether rows[3] holds the first layer's sums of the coming sample
    for epoch in range(epoch_start, epoch_stop):
        for t in range(n):
            sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
            at = _net_forward_work(w, sizes, hidden, output, data[sample], acts, rows[0], lanes,
                                   rows[3] if ready else none, none)
            fp_output = _net_output_g(output, loss, targets[sample], acts, at, n_out_net, learn_rate,
                                      grads[0])
            # the next sample of this call, if any
            if t + 1 < n:
                following = order[epoch - epoch_start, t + 1] if order.shape[0] > 0 else t + 1
            elif epoch + 1 < epoch_stop:
                following = order[epoch + 1 - epoch_start, 0] if order.shape[0] > 0 else 0
            else:
                following = -1
            _net_backward_work(w, v, momentum, sizes, total_work, hidden, fp_output, acts, grads[0], grads[1],
                               rows[1], data[following] if following >= 0 else data[0, 0:0], rows[3])
            ready = following >= 0
        if loss_every > 0 and epoch % loss_every == 0:
            losses[0, column] = _net_mean_loss_work(w, sizes, hidden, output, loss, data, targets, acts,
                                                    rows[0], lanes, out_sums)
            column += 1
    _from_working(w, sizes, params)
    if momentum != 0.0:
        _from_working(v, sizes, velocity)


@jit
def _sums4(wt, st, room, b, at, n_in, out):
    """_sums for the four samples in rows b..b+3 of room (their inputs at at), into out's four rows:
    each weight loaded once for the four (tn_sums4 of _tiles.h)."""
    a0, a1, a2, a3 = room[b, at:at + n_in], room[b + 1, at:at + n_in], room[b + 2, at:at + n_in], \
        room[b + 3, at:at + n_in]
    o0, o1, o2, o3 = out[0, 0:st], out[1, 0:st], out[2, 0:st], out[3, 0:st]
    first = wt[0:st]
    for k in range(st):
        o0[k] = first[k] * a0[0]
        o1[k] = first[k] * a1[0]
        o2[k] = first[k] * a2[0]
        o3[k] = first[k] * a3[0]
    for j in range(1, n_in):
        row = wt[j * st:(j + 1) * st]
        x0, x1, x2, x3 = a0[j], a1[j], a2[j], a3[j]
        for k in range(st):
            wk = row[k]
            o0[k] = o0[k] + wk * x0
            o1[k] = o1[k] + wk * x1
            o2[k] = o2[k] + wk * x2
            o3[k] = o3[k] + wk * x3


@jit
def _net_forward_block(w, sizes, hidden, output, data, order_row, first, nb, room, rows, lanes):
    """_net_forward_work for the samples first..first+nb-1 of the epoch, each into its row of room,
    layer by layer, four samples at a time (_sums4; rows: four rows of sums). Returns where the
    output layer's activations start."""
    n_layers = len(sizes) - 1
    for b in range(nb):
        t = first + b
        x = data[order_row[t] if order_row.shape[0] > 0 else t]
        for j in range(sizes[0]):
            room[b, j] = x[j]
    at = 0
    woff = 0
    for layer in range(1, n_layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        st = _stride(n_out)
        code = hidden if layer < n_layers else output
        wl = w[woff:woff + (n_in + 1) * st]
        bias = wl[n_in * st:(n_in + 1) * st]
        b = 0
        while b < nb:
            r = min(4, nb - b)
            if r == 4:
                _sums4(wl, st, room, b, at, n_in, rows)
            else:
                for q in range(r):
                    _sums(wl, st, room[b + q, at:at + n_in], n_in, rows[q])
            for q in range(r):
                _finish_layer(code, bias, st, n_out, rows[q], room[b + q, at + n_in:at + n_in + n_out], lanes,
                              rows[q, 0:0])
            b += r
        at += n_in
        woff += (n_in + 1) * st
    return at


@jit(inline="always")
def _net_g_prev(wl, st, n_in, n_out, d, g_prev):
    """The previous layer's g_j = delta_0 * w_0j + delta_1 * w_1j + ... (in the order of i) for one
    sample, from a layer's weights in the working layout."""
    for j in range(n_in):
        wj = wl[j * st:j * st + n_out]
        total = d[0] * wj[0]
        for i in range(1, n_out):
            total = total + d[i] * wj[i]
        g_prev[j] = total


@jit
def _net_batch_gradient(w, sizes, hidden, output, loss, data, targets, weights, order_row, lo, hi, grad,
                        room, rows, lanes, with_loss):
    """The sum, over the samples lo..hi-1 of the epoch (through order_row, when not empty), of each
    one's gradient (times its weight, when weights is not empty), into grad (working layout), and with
    with_loss the sum of their losses (each times its weight), returned, by back-propagation of the
    deltas (see ``_python_network._net_batch_gradient``), a block of room's rows of samples at a time (see
    _core_network.pxi): each one's forward pass into its row of room (its activations, its g and the
    previous layer's, its deltas), then layer by layer the deltas, the previous layer's g, and the
    block's gradient, four rows of it at a time across the samples."""
    n_layers = len(sizes) - 1
    n_out_net = sizes[n_layers]
    n_acts = 0
    max_w = 0
    for layer in range(n_layers + 1):
        n_acts += sizes[layer]
        max_w = max(max_w, sizes[layer])
    total_work = _work_size(sizes)
    total_loss = 0.0
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    first = lo
    fp_output = IDENTITY
    while first < hi:
        last = min(hi, first + room.shape[0])
        nb = last - first
        g_at, gp_at, d_at = n_acts, n_acts + max_w, n_acts + 2 * max_w
        at = _net_forward_block(w, sizes, hidden, output, data, order_row, first, nb, room, rows, lanes)
        for b in range(nb):
            t = first + b
            sample = order_row[t] if order_row.shape[0] > 0 else t
            row = room[b]
            scale = weights[sample] if weights.shape[0] > 0 else 1.0
            if with_loss:
                total_loss += scale * _net_output_loss(output, loss, targets[sample], row[at:at + n_out_net],
                                                       n_out_net)
            fp_output = _net_output_g(output, loss, targets[sample], row, at, n_out_net, scale,
                                      row[g_at:g_at + max_w])
        woff = total_work
        a_end = n_acts
        for layer in range(n_layers, 0, -1):
            n_in, n_out = sizes[layer - 1], sizes[layer]
            st = _stride(n_out)
            woff -= (n_in + 1) * st
            wl = w[woff:woff + (n_in + 1) * st]
            gl = grad[woff:woff + (n_in + 1) * st]
            a_out = a_end - n_out
            a_in = a_out - n_in
            code = fp_output if layer == n_layers else hidden
            for b in range(nb):
                row = room[b]
                d = row[d_at:d_at + st]
                for i in range(n_out):
                    d[i] = row[g_at + i] * _derivative(code, row[a_out + i])
                for i in range(n_out, st):
                    d[i] = 0.0
                if layer > 1:
                    _net_g_prev(wl, st, n_in, n_out, d, row[gp_at:gp_at + max_w])
            # the block's gradient, each element's terms added in the order of the samples
            j = 0
            while j < n_in:
                rows_j = min(4, n_in - j)
                for b in range(nb):
                    d = room[b, d_at:d_at + st]
                    for r in range(rows_j):
                        x = room[b, a_in + j + r]
                        gr = gl[(j + r) * st:(j + r + 1) * st]
                        for k in range(st):
                            gr[k] = gr[k] + d[k] * x
                j += rows_j
            bias = gl[n_in * st:(n_in + 1) * st]
            for b in range(nb):
                d = room[b, d_at:d_at + st]
                for k in range(st):
                    bias[k] = bias[k] + d[k]
            g_at, gp_at = gp_at, g_at
            a_end = a_out
        first = last
    return total_loss


@jit
def _net_batch_weight(weights, order_row, lo, hi):
    """The batch's weight: its rows' sample weights summed in order, or its number of rows when weights
    is empty."""
    if weights.shape[0] == 0:
        return float(hi - lo)
    total = weights[order_row[lo] if order_row.shape[0] > 0 else lo]
    for t in range(lo + 1, hi):
        total += weights[order_row[t] if order_row.shape[0] > 0 else t]
    return total


@jit
def _net_squares(w, sizes):
    """The sum of the squared weights (not the biases) of the working layout, in NET_VEC partial sums
    (see ``_python_network._net_squares``), then pairwise."""
    acc = np.zeros(NET_VEC)
    woff = _work_size(sizes)
    for layer in range(len(sizes) - 1, 0, -1):
        n_in = sizes[layer - 1]
        st = _stride(sizes[layer])
        woff -= (n_in + 1) * st
        for k in range(0, n_in * st, NET_VEC):
            chunk = w[woff + k:woff + k + NET_VEC]
            for q in range(NET_VEC):
                acc[q] = acc[q] + chunk[q] * chunk[q]
    return _pairwise_partials(acc)


@jit(inline="always")
def _pairwise_partials(acc):
    """The partial sums acc (a power of two of them) added pairwise, in place: for eight,
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))."""
    n = len(acc)
    while n > 1:
        n //= 2
        for q in range(n):
            acc[q] = acc[2 * q] + acc[2 * q + 1]
    return acc[0]


@jit
def _net_mean_gradient(w, sizes, grad, count, alpha):
    """The summed gradient of a batch of weight count made the batch's, in place (working layout; see
    ``_python_network._net_mean_gradient``): the weights' rows with L2, the biases' row without."""
    woff = 0
    for layer in range(1, len(sizes)):
        n_in = sizes[layer - 1]
        st = _stride(sizes[layer])
        if count == 1.0:
            # a division by 1 changes no bit: a batch of one row (of weight 1) skips it
            for k in range(woff, woff + n_in * st):
                grad[k] = grad[k] + alpha * w[k]
        else:
            for k in range(woff, woff + n_in * st):
                grad[k] = (grad[k] + alpha * w[k]) / count
            for k in range(woff + n_in * st, woff + (n_in + 1) * st):
                grad[k] = grad[k] / count
        woff += (n_in + 1) * st


@jit
def _net_update(w, sizes, grad, count, alpha, squares, optimizer, options, lr_t, m, v):
    """A batch's whole update (see ``_python_network._net_update``): with squares, the sum of the squared
    weights (returned; else 0.0), then _net_mean_gradient and the step of every parameter, on the
    working layout (whose padding every step leaves zero). (The extension does the three in one pass,
    and a batch of one sample without a gradient array; here LLVM vectorises the three loops apart, and
    not the pass that fuses them: measured 2x slower.)"""
    total = _net_squares(w, sizes) if squares else 0.0
    _net_mean_gradient(w, sizes, grad, count, alpha)
    _step_each(optimizer, w, grad, m, v, options, lr_t)
    return total


@jit
def net_train_batch(params, sizes, hidden, output, loss, data, targets, weights, order, options, lr_t,
                    moments, step, epoch_start, epoch_stop, loss_every, losses, running, acts, grads,
                    out_sums, work, rows, room):
    """Mini-batch training with L2 and any optimizer step of ``_rules.STEPS``.

    The arguments are those of ``_python_network.net_train_batch``; see its docstring.
    """
    o = options[0]
    optimizer, batch_size, alpha = o.optimizer, o.batch_size, o.alpha
    _check_codes(hidden, output)
    _check_loss(loss)
    _check_optimizer(optimizer)
    n = data.shape[0]
    w, wm, wv, gw = work[0], work[1], work[2], work[3]
    lanes = np.empty((2, LANES))
    column = 0     # the next column of losses
    update = 0     # the batches done in this call
    no_order = np.empty(0, dtype=np.int64)
    record = running.shape[0] > 0
    _to_working(params, sizes, w)
    _to_working(moments[0], sizes, wm)
    _to_working(moments[1], sizes, wv)
    for epoch in range(epoch_start, epoch_stop):
        order_row = order[epoch - epoch_start] if order.shape[0] > 0 else no_order
        accumulated = 0.0
        for lo in range(0, n, batch_size):
            hi = min(n, lo + batch_size)
            total_loss = _net_batch_gradient(w, sizes, hidden, output, loss, data, targets, weights,
                                             order_row, lo, hi, gw, room, rows, lanes, record)
            count = _net_batch_weight(weights, order_row, lo, hi)
            squares = _net_update(w, sizes, gw, count, alpha, record and alpha != 0.0, optimizer, o,
                                  lr_t[update] if optimizer == ADAM else 0.0, wm, wv)
            if record:
                batch_loss = total_loss / count
                if alpha != 0.0:
                    batch_loss += (0.5 * alpha) * squares / count
                accumulated += batch_loss * (hi - lo)
            update += 1
            step[0] += 1
        if record:
            running[epoch - epoch_start] = accumulated / n
        if loss_every > 0 and epoch % loss_every == 0:
            losses[0, column] = _net_mean_loss_work(w, sizes, hidden, output, loss, data, targets, acts,
                                                    rows[0], lanes, out_sums)
            column += 1
    _from_working(w, sizes, params)
    _from_working(wm, sizes, moments[0])
    _from_working(wv, sizes, moments[1])


@jit
def net_gradient(params, sizes, hidden, output, loss, data, targets, weights, options, out, acts, grads,
                 out_sums, work, rows, room):
    """The mean gradient over all samples, with the record's L2 penalty, into ``out``; returns the
    objective (for scikit-learn's losses; NaN for the others).

    The arguments are those of ``_python_network.net_gradient``; see its docstring.
    """
    alpha = options[0].alpha
    _check_codes(hidden, output)
    _check_loss(loss)
    n = data.shape[0]
    no_order = np.empty(0, dtype=np.int64)
    record = loss > CROSS_ENTROPY
    _to_working(params, sizes, work[0])
    total_loss = _net_batch_gradient(work[0], sizes, hidden, output, loss, data, targets, weights, no_order,
                                     0, n, work[3], room, rows, np.empty((2, LANES)), record)
    count = _net_batch_weight(weights, no_order, 0, n)
    objective = np.nan
    if record:
        objective = total_loss / count
        if alpha != 0.0:
            objective += (0.5 * alpha) * _net_squares(work[0], sizes) / count
    _net_mean_gradient(work[0], sizes, work[3], count, alpha)
    _from_working(work[3], sizes, out)
    return objective


# --- net_train_many: LANES networks of one configuration stepped together (see _core_network.pxi) ---
# A block holds LANES networks structure-of-arrays: element k of a network's flat array (parameters,
# velocities, activations, g, output sums) of lane l at [k, l]. Every loop over the lanes does
# net_train's arithmetic in every lane. Its trip count, nl (= LANES), is read from an array's shape on
# purpose: with a constant one LLVM unrolls the loop completely, and then, unable to prove that Numba's
# arrays do not overlap, leaves it scalar; with a run-time count it vectorises the loop behind a
# run-time overlap check (measured: 620 against 430 ns per network-step at (2, 16, 16, 1)).

@jit(inline="always")
def _exp_in_place(x, y, e):
    """x[k] = exp(x[k]) for every element of the (n, nl) array x (nl a multiple of EXP_LANES): EXP_LANES
    values at a time through _exp_lanes (y and e: scratch rows)."""
    nl = x.shape[1]
    for k in range(x.shape[0]):
        for h in range(0, nl, EXP_LANES):
            for lane in range(EXP_LANES):
                y[lane] = x[k, h + lane]
            _exp_lanes(y, e)
            for lane in range(EXP_LANES):
                x[k, h + lane] = e[lane]


@jit(inline="always")
def _activate_lanes(code, s, y, e):
    """s[k, lane] = _activate(code, s[k, lane]) for a layer's sums s, shape (n_out, LANES), in place (y and
    e: scratch rows): the sigmoid's and exp's exps a row of lanes at a time, every other rule through
    activate_each."""
    nl = s.shape[1]
    if code == SIGMOID:
        # sigmoid(s) = sigmoid_from_exp(exp(-s)), the exps a row of lanes at a time
        for k in range(s.shape[0]):
            for lane in range(nl):
                s[k, lane] = -s[k, lane]
        _exp_in_place(s, y, e)
        for k in range(s.shape[0]):
            for lane in range(nl):
                s[k, lane] = _sigmoid_from_exp(s[k, lane])
    elif code == EXP:
        _exp_in_place(s, y, e)
    else:
        _activate_each(code, s.reshape(s.shape[0] * nl))


@jit
def _net_forward_lanes(p, sizes, hidden, output, x, acts, out_sums, lanes):
    """_net_forward in every lane of a block, on the same sample x: a layer's sums first, then its
    activations in one pass (lanes: scratch rows)."""
    nl = acts.shape[1]
    s, m, total, y, e = lanes[0], lanes[1], lanes[2], lanes[3], lanes[4]
    n_layers = len(sizes) - 1
    for j in range(sizes[0]):
        for lane in range(nl):
            acts[j, lane] = x[j]
    at = 0
    offset = 0
    for layer in range(1, n_layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < n_layers else output
        a = acts[at:at + n_in]
        a_out = acts[out_at:out_at + n_out]
        for i in range(n_out):
            w = p[offset + i * n_in:offset + (i + 1) * n_in]
            for lane in range(nl):
                s[lane] = w[0, lane] * a[0, lane]
            for j in range(1, n_in):
                for lane in range(nl):
                    s[lane] += w[j, lane] * a[j, lane]
            for lane in range(nl):
                a_out[i, lane] = s[lane] + p[biases + i, lane]
        if layer == n_layers:
            for k in range(n_out):
                for lane in range(nl):
                    out_sums[k, lane] = a_out[k, lane]
        if code == SOFTMAX:
            # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s, in every lane
            for lane in range(nl):
                m[lane] = out_sums[0, lane]
                total[lane] = 0.0
            for i in range(1, n_out):
                for lane in range(nl):
                    m[lane] = max(m[lane], out_sums[i, lane])
            for i in range(n_out):
                for lane in range(nl):
                    a_out[i, lane] = out_sums[i, lane] - m[lane]
            _exp_in_place(a_out, y, e)
            for i in range(n_out):
                for lane in range(nl):
                    total[lane] += a_out[i, lane]
            for i in range(n_out):
                for lane in range(nl):
                    a_out[i, lane] = a_out[i, lane] / total[lane]
        else:
            _activate_lanes(code, a_out, y, e)
        at = out_at
        offset = biases + n_out
    return at


@jit
def _net_mean_loss_lanes(p, sizes, hidden, output, loss, data, targets, acts, out_sums, one, out, lanes):
    """_net_mean_loss of every network of a block at once (lane j's into out[j]): each sample's forward
    pass in vectors across the lanes (_net_forward_lanes), its loss lane by lane (_net_sample_loss,
    from the lane's output activations and sums, copied into one: n_out of each), the losses summed in
    numpy's pairwise order in vectors across the lanes."""
    n, n_out = data.shape[0], sizes[len(sizes) - 1]
    leaf = np.empty((PW_BLOCKSIZE, LANES))
    total = np.empty(LANES)
    walk = _lane_walk_start(n)
    more, lo, m = _lane_walk_next(walk)
    while more:
        for t in range(m):
            at = _net_forward_lanes(p, sizes, hidden, output, data[lo + t], acts, out_sums, lanes)
            for lane in range(LANES):
                for i in range(n_out):
                    one[i] = acts[at + i, lane]
                    one[n_out + i] = out_sums[i, lane]
                leaf[t, lane] = _net_sample_loss(output, loss, targets[lo + t], one[:n_out], one[n_out:],
                                                 n_out)
        _pairwise_block_lanes(leaf, m, total)
        _lane_walk_push(walk, total)
        more, lo, m = _lane_walk_next(walk)
    _lane_walk_total(walk, out)
    for lane in range(LANES):
        out[lane] = out[lane] / n


@jit
def _net_step_lanes(p, v, use_momentum, learn_rate, momentum, sizes, hidden, output, loss, x, y, acts,
                    grads, out_sums, lanes):
    """One step of net_train, on the sample (x, y), in every lane of a block (lanes: scratch rows)."""
    n_layers = len(sizes) - 1
    n_out_net = sizes[n_layers]
    nl = acts.shape[1]
    lr, mom, fp, gi, dot = lanes[5], lanes[6], lanes[7], lanes[8], lanes[9]
    g, g_prev = grads[0], grads[1]
    for lane in range(nl):
        lr[lane] = learn_rate[lane]
        mom[lane] = momentum[lane]
    at = _net_forward_lanes(p, sizes, hidden, output, x, acts, out_sums, lanes)
    a_net = acts[at:at + n_out_net]

    # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
    if loss == MSE:
        for i in range(n_out_net):
            for lane in range(nl):
                g[i, lane] = lr[lane] * _mse_gradient(y[i], a_net[i, lane], n_out_net)
        if output == SOFTMAX:
            # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
            for lane in range(nl):
                dot[lane] = 0.0
            for j in range(n_out_net):
                for lane in range(nl):
                    dot[lane] += _mse_gradient(y[j], a_net[j, lane], n_out_net) * a_net[j, lane]
            for i in range(n_out_net):
                for lane in range(nl):
                    g[i, lane] = lr[lane] * (a_net[i, lane] * (_mse_gradient(y[i], a_net[i, lane], n_out_net)
                                                               - dot[lane]))
            fp_output = IDENTITY
        else:
            fp_output = output
    else:
        # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
        for i in range(n_out_net):
            if output == SIGMOID:
                for lane in range(nl):
                    g[i, lane] = lr[lane] * _mean_output_error(y[i], a_net[i, lane], n_out_net)
            else:
                for lane in range(nl):
                    g[i, lane] = lr[lane] * (a_net[i, lane] - y[i])
        fp_output = IDENTITY

    # --- Back through the layers, last first
    p_end = p.shape[0]
    a_end = acts.shape[0]
    for layer in range(n_layers, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        b0 = p_end - n_out
        w0 = b0 - n_out * n_in
        a_out = a_end - n_out
        a_in = a_out - n_in
        code = fp_output if layer == n_layers else hidden
        a = acts[a_in:a_in + n_in]
        back = g_prev[0:n_in]
        for i in range(n_out):
            _derivative_each(code, acts[a_out + i], fp)
            for lane in range(nl):
                gi[lane] = g[i, lane]
            row = w0 + i * n_in
            w = p[row:row + n_in]
            if layer > 1 and not use_momentum:
                # the previous layer's g, from the weights before this update, and the update, in
                # one pass over the row
                for j in range(n_in):
                    for lane in range(nl):
                        wj = w[j, lane]
                        term = gi[lane] * (wj * fp[lane])
                        back[j, lane] = term if i == 0 else back[j, lane] + term
                        w[j, lane] = _sgd(wj, a[j, lane] * fp[lane], gi[lane])
                for lane in range(nl):
                    p[b0 + i, lane] = _sgd(p[b0 + i, lane], fp[lane], gi[lane])
                continue
            if layer > 1:
                # the previous layer's g, from the weights before this update
                for j in range(n_in):
                    for lane in range(nl):
                        term = gi[lane] * (w[j, lane] * fp[lane])
                        back[j, lane] = term if i == 0 else back[j, lane] + term
            if use_momentum:
                vw = v[row:row + n_in]
                for j in range(n_in):
                    for lane in range(nl):
                        vw[j, lane] = _velocity(vw[j, lane], a[j, lane] * fp[lane], mom[lane], gi[lane])
                        w[j, lane] += vw[j, lane]
                for lane in range(nl):
                    v[b0 + i, lane] = _velocity(v[b0 + i, lane], fp[lane], mom[lane], gi[lane])
                    p[b0 + i, lane] += v[b0 + i, lane]
            else:
                for j in range(n_in):
                    for lane in range(nl):
                        w[j, lane] = _sgd(w[j, lane], a[j, lane] * fp[lane], gi[lane])
                for lane in range(nl):
                    p[b0 + i, lane] = _sgd(p[b0 + i, lane], fp[lane], gi[lane])
        g, g_prev = g_prev, g
        p_end, a_end = w0, a_out


@jit
def net_train_many(params, sizes, hidden, output, loss, data, targets, options, velocity, epoch_start,
                   epoch_stop, loss_every, losses, acts, grads, out_sums, single):
    """:func:`net_train` for blocks of ``LANES`` networks of one configuration (``LANES32`` in its
    float32 form), stepped together.

    The arguments are those of ``_python_network.net_train_many``; see its docstring.
    """
    _check_codes(hidden, output)
    _check_loss(loss)
    n, n_blocks = data.shape[0], params.shape[0]
    if params.shape[2] != LANES or options.shape[1] != LANES:      # (a caller's bug, as the extension)
        raise ValueError("a block of another width than this kernel steps")
    # each network's learning rate and momentum, from its options record, read once before the loops
    # (the extension reads a block's from the records as it steps it, into C arrays on its stack)
    learn_rate = np.empty((n_blocks, LANES))
    momentum = np.empty((n_blocks, LANES))
    for block in range(n_blocks):
        for lane in range(LANES):
            _check_per_sample(options[block, lane].optimizer)
            learn_rate[block, lane] = options[block, lane].learn_rate
            momentum[block, lane] = options[block, lane].momentum
    lanes = np.empty((10, LANES))
    block_losses = np.empty(LANES)
    column = 0     # the next column of losses
    for epoch in range(epoch_start, epoch_stop):
        for t in range(n):
            for block in range(n_blocks):
                use_momentum = False
                for lane in range(LANES):
                    use_momentum = use_momentum or momentum[block, lane] != 0.0
                _net_step_lanes(params[block], velocity[block], use_momentum, learn_rate[block],
                                momentum[block], sizes, hidden, output, loss, data[t], targets[t], acts,
                                grads, out_sums, lanes)
        if loss_every > 0 and epoch % loss_every == 0:
            for block in range(n_blocks):
                _net_mean_loss_lanes(params[block], sizes, hidden, output, loss, data, targets, acts,
                                     out_sums, single, block_losses, lanes)
                for lane in range(LANES):
                    losses[block * LANES + lane, column] = block_losses[lane]
            column += 1
