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

from ._codes import IDENTITY, MSE, PW_BLOCKSIZE, RELU, SIGMOID, SOFTMAX, TANH
from ._numba_common import (
    _pairwise_block,
    _walk_next,
    _walk_push,
    _walk_start,
    _walk_total,
    exp,
    jit,
    sigmoid,
    tanh,
)

__all__ = ["net_feedforward", "net_loss", "net_train"]


@jit
def _activate(code, s):
    """A hidden or (elementwise) output activation of a sum s."""
    if code == SIGMOID:
        return sigmoid(s)
    if code == TANH:
        return tanh(s)
    if code == RELU:
        return s if s > 0.0 else 0.0
    return s  # IDENTITY


@jit
def _derivative(code, a):
    """The activation's derivative f'(s), from its value a = f(s)."""
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0  # IDENTITY


@jit
def _softplus(x):
    """log(1 + e^x), without overflow."""
    return (x if x > 0.0 else 0.0) + math.log1p(exp(-abs(x)))


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
            _neuron_output(s0 + p[biases + i], i, code, last, a_out, out_sums)
            _neuron_output(s1 + p[biases + i + 1], i + 1, code, last, a_out, out_sums)
            _neuron_output(s2 + p[biases + i + 2], i + 2, code, last, a_out, out_sums)
            _neuron_output(s3 + p[biases + i + 3], i + 3, code, last, a_out, out_sums)
            i += 4
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
def _net_sample_loss(output, loss, y, a, out_sums, n_out):
    """The loss of one sample: targets y, output activations a, the output layer's sums out_sums."""
    total = 0.0
    if loss == MSE:
        # mean over the outputs of (y - a)^2
        for i in range(n_out):
            e = y[i] - a[i]
            total += e * e
        return total / n_out
    if output == SIGMOID:
        # binary cross-entropy from the sums: y * softplus(-s) + (1 - y) * softplus(s)
        for i in range(n_out):
            total += y[i] * _softplus(-out_sums[i]) + (1 - y[i]) * _softplus(out_sums[i])
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


@jit
def net_feedforward(params, sizes, hidden, output, data, out, acts, out_sums):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, n_out)).

    The arguments are those of ``_python_network.net_feedforward``; see its docstring.
    """
    n_out = sizes[len(sizes) - 1]
    for t in range(data.shape[0]):
        at = _net_forward(params, sizes, hidden, output, data[t], acts, out_sums)
        for i in range(n_out):
            out[t, i] = acts[at + i]


@jit
def net_loss(params, sizes, hidden, output, loss, data, targets, acts, out_sums):
    """The mean loss over the samples, summed in numpy's pairwise order.

    The arguments are those of ``_python_network.net_loss``; see its docstring.
    """
    return _net_mean_loss(params, sizes, hidden, output, loss, data, targets, acts, out_sums)


@jit
def net_train(params, sizes, hidden, output, loss, data, targets, order, learn_rate, momentum,
              velocity, epoch_start, epoch_stop, loss_every, losses, acts, grads, out_sums):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    The arguments are those of ``_python_network.net_train``; see its docstring.
    """
    n = data.shape[0]
    n_layers = len(sizes) - 1
    n_out_net = sizes[n_layers]
    g, g_prev = grads[0], grads[1]
    column = 0     # the next column of losses
    for epoch in range(epoch_start, epoch_stop):
        for t in range(n):
            sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
            y = targets[sample]
            at = _net_forward(params, sizes, hidden, output, data[sample], acts, out_sums)

            # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
            if loss == MSE:
                for i in range(n_out_net):
                    g[i] = learn_rate * (-2 * (y[i] - acts[at + i]) / n_out_net)
                if output == SOFTMAX:
                    # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
                    dot = 0.0
                    for j in range(n_out_net):
                        dot += (-2 * (y[j] - acts[at + j]) / n_out_net) * acts[at + j]
                    for i in range(n_out_net):
                        g[i] = learn_rate * (acts[at + i] * (-2 * (y[i] - acts[at + i]) / n_out_net
                                                             - dot))
                    fp_output = IDENTITY
                else:
                    fp_output = output
            else:
                # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
                for i in range(n_out_net):
                    if output == SIGMOID:
                        g[i] = learn_rate * ((acts[at + i] - y[i]) / n_out_net)
                    else:
                        g[i] = learn_rate * (acts[at + i] - y[i])
                fp_output = IDENTITY

            # --- Back through the layers, last first
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
                p_end, a_end = w0, a_out

        if loss_every > 0 and epoch % loss_every == 0:
            losses[0, column] = _net_mean_loss(params, sizes, hidden, output, loss, data, targets, acts,
                                               out_sums)
            column += 1
