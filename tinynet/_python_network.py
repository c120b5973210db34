"""Pure-Python kernels of ``tinynet.Network`` (any layer sizes): the fallback and the readable reference.

Mirrors ``_core_network.pxi`` (Cython) and ``_numba_network.py`` (Numba) function for function, with
the same names, the same arguments in the same order and the same order of arithmetic. The
floating-point rules are those of ``_python_common.py``: every ``e^x`` (sigmoid, tanh, softmax, the
losses' log-sum-exp and softplus) is tinynet's own ``exp``. ``log`` and ``log1p``, which appear only in
reported loss values (never in training), are the C library's: the same bits in every backend on one
machine, possibly not in the last bit across machines.

The parameters are one flat array: for each layer l = 1..L, its weights (sizes[l] rows of sizes[l-1],
row-major) and then its biases. The scratch arrays (``acts``, ``grads``, ``out_sums``) are laid out by
``_codes.net_scratch``, allocated once per call outside the kernels.

Training runs the tutorial's arithmetic layer by layer: g_i = learn_rate * dL/da_i for each neuron i
of a layer (the tutorial's "step"), f'_i its activation's derivative; the previous layer's
g_j = sum over i of g_i * (w_ij * f'_i), from the weights before the update; then
w_ij -= g_i * (a_j * f'_i) and b_i -= g_i * f'_i. For sizes (2, 2, 1), sigmoid and mse these are
exactly OurNeuralNetwork's operations, so the two give bit-identical results.
"""

from math import log

import numpy as np

from . import _rules
from ._codes import (
    ADAM,
    CROSS_ENTROPY,
    IDENTITY,
    MSE,
    NET_VEC,
    POISSON,
    PW_BLOCKSIZE,
    SIGMOID,
    SOFTMAX,
    SQUARED_ERROR,
    net_room,
)
from ._python_common import (
    RULES,
    _pairwise_block,
    _walk_next,
    _walk_push,
    _walk_start,
    _walk_total,
    exp,
)

_activate = RULES.activate
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
_derivative = RULES.derivative

__all__ = ["activation", "net_feedforward", "net_gradient", "net_loss", "net_train", "net_train_batch",
           "net_train_many"]


def activation(code, x, prime):
    """Activation ``code``'s f(x), or with ``prime`` its f'(x) (x the value f(s)), through this
    backend's dispatchers over the rules (a test hook); a code outside the table is a ValueError."""
    if prime:
        _check_codes(code, IDENTITY)
    else:
        _check_codes(IDENTITY, code)
    return _derivative(code, x) if prime else _activate(code, x)


def _net_forward(p, sizes, hidden, output, x, acts, out_sums):
    """Feedforward of one sample x: every layer's activations into acts, the output layer's sums into
    out_sums. Returns where the output layer's activations start in acts."""
    n_layers = len(sizes) - 1
    acts[0:sizes[0]] = x
    at = 0          # where the layer's input activations start in acts
    offset = 0      # where the layer's weights start in p
    for layer in range(1, n_layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < n_layers else output
        for i in range(n_out):
            row = offset + i * n_in
            s = p[row] * acts[at]
            for j in range(1, n_in):
                s += p[row + j] * acts[at + j]
            s += p[biases + i]
            if layer == n_layers:
                out_sums[i] = s
            acts[out_at + i] = s if code == SOFTMAX else _activate(code, s)
        if code == SOFTMAX:
            # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s
            m = out_sums[0]
            for i in range(1, n_out):
                m = max(m, out_sums[i])
            total = 0.0
            for i in range(n_out):
                e = exp(out_sums[i] - m)
                acts[out_at + i] = e
                total += e
            for i in range(n_out):
                acts[out_at + i] = acts[out_at + i] / total
        at = out_at
        offset = biases + n_out
    return at


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
    loss_value = m + log(total)
    for i in range(n_out):
        loss_value -= y[i] * out_sums[i]
    return loss_value


def _net_mean_loss(p, sizes, hidden, output, loss, data, targets, acts, out_sums):
    """The mean loss over the samples, summed in numpy's pairwise order (data, targets as lists)."""
    n, n_out = len(data), sizes[-1]
    leaf = [0.0] * PW_BLOCKSIZE
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


def _net_output_g(output, loss, y, acts, at, n_out, scale, g):
    """The output layer's g_i = scale * dL/da_i, and the code of the derivative f' that goes with it
    (IDENTITY where g_i is already scale * dL/ds_i). Training folds the learning rate in as the scale,
    as the tutorial does; gradients 1.0 (which changes no bit) or the sample's weight."""
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


def _net_backward(p, v, momentum, sizes, hidden, fp_output, acts, g, g_prev):
    """One step back through the layers, last first, from the output layer's g (learning rate folded
    in): the previous layer's g from the weights before the update, then the update of each weight by
    g_i * (a_j * f'_i) (of each bias by g_i * f'_i), plainly or through the velocities v."""
    n_layers = len(sizes) - 1
    p_end = len(p)        # where the layer's parameters end in p
    a_end = len(acts)     # where the layer's activations end in acts
    for layer in range(n_layers, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        b0 = p_end - n_out            # the layer's biases
        w0 = b0 - n_out * n_in        # the layer's weights
        a_out = a_end - n_out         # its activations
        a_in = a_out - n_in           # its inputs' activations
        code = fp_output if layer == n_layers else hidden
        for i in range(n_out):
            fp = _derivative(code, acts[a_out + i])
            gi = g[i]
            row = w0 + i * n_in
            if layer > 1:
                # the previous layer's g, from the weights before this update
                for j in range(n_in):
                    term = gi * (p[row + j] * fp)
                    g_prev[j] = term if i == 0 else g_prev[j] + term
            # the rules of _rules.py, the learning rate folded into g_i: sgd(w, a_j * f'_i, g_i) is
            # w - g_i * (a_j * f'_i); velocity(v, a_j * f'_i, momentum, g_i) likewise
            if momentum != 0.0:
                for j in range(n_in):
                    v[row + j] = _velocity(v[row + j], acts[a_in + j] * fp, momentum, gi)
                    p[row + j] += v[row + j]
                v[b0 + i] = _velocity(v[b0 + i], fp, momentum, gi)
                p[b0 + i] += v[b0 + i]
            else:
                for j in range(n_in):
                    p[row + j] = _sgd(p[row + j], acts[a_in + j] * fp, gi)
                p[b0 + i] = _sgd(p[b0 + i], fp, gi)
        g, g_prev = g_prev, g
        p_end, a_end = w0, a_out


def net_feedforward(params, sizes, hidden, output, data, out, acts, out_sums, work, rows):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, n_out)).

    Parameters
    ----------
    params : ndarray of float64
        The flat parameters (see the module's docstring).
    sizes : ndarray of int64
        The layer sizes, inputs first.
    hidden, output : int
        Activation codes (``_codes``) of the hidden layers and of the output layer.
    data : ndarray of float64, shape (n, sizes[0]), C-contiguous
    out : ndarray of float64, shape (n, sizes[-1])
    acts, out_sums : ndarray of float64
        Scratch (``_codes.net_forward_scratch``); Python lists serve here instead, for speed.
    work, rows : ndarray of float64, shape (1, m)
        The compiled kernels' working room (``_codes.net_forward_scratch``): where m > 0, they run the
        samples through the working layout's tiles, the same numbers as these loops. Unused here.
    """
    _check_codes(hidden, output)
    p, sizes = params.tolist(), sizes.tolist()
    acts, out_sums = acts.tolist(), out_sums.tolist()
    n_out = sizes[-1]
    rows = []
    for x in data.tolist():
        at = _net_forward(p, sizes, hidden, output, x, acts, out_sums)
        rows.append(acts[at:at + n_out])
    out[:] = rows


def net_loss(params, sizes, hidden, output, loss, data, targets, acts, out_sums, work, rows):
    """The mean loss over the samples, summed in numpy's pairwise order.

    Parameters are as for :func:`net_feedforward`, plus ``loss`` (a loss code) and ``targets``
    (shape (n, sizes[-1])).
    """
    _check_codes(hidden, output)
    _check_loss(loss)
    return _net_mean_loss(params.tolist(), sizes.tolist(), hidden, output, loss, data.tolist(),
                          targets.tolist(), acts.tolist(), out_sums.tolist())


def net_train(params, sizes, hidden, output, loss, data, targets, order, options, velocity, epoch_start,
              epoch_stop, loss_every, losses, acts, grads, out_sums, work, rows, room):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    Parameters
    ----------
    params, sizes, hidden, output, loss, data, targets, acts, out_sums
        As for :func:`net_feedforward` and :func:`net_loss`; ``params`` is updated in place.
    order : ndarray of int64, shape (epoch_stop - epoch_start, n) or (0, 0)
        The order of the samples in each epoch; empty for their given order.
    options : ndarray of ``_rules.KERNEL_OPTIONS``, shape (1,)
        The options record (``_rules.kernel_options``), of which this kernel reads ``optimizer``
        (plain SGD's step or momentum's: ``_rules.PER_SAMPLE_CODES``; any other is refused),
        ``learn_rate`` and ``momentum``. With momentum m: v = m * v - g * (a * f'), then w += v;
        with 0, plain w -= g * (a * f').
    velocity : ndarray of float64, like params
        The momentum's velocities, updated in place (unused when momentum is 0).
    epoch_start, epoch_stop : int
        The epochs to run, as in ``range(epoch_start, epoch_stop)``.
    loss_every : int
        Record the mean loss after epochs that are multiples of this; 0 records none.
    losses : ndarray of float64, shape (1, m)
        Receives the recorded losses, in order; m is at least their number.
    grads : ndarray of float64, shape (2, max(sizes))
        Scratch (``_codes.net_scratch``).
    work, rows, room
        The compiled kernels' working room (``_codes.net_work``), where they keep the parameters
        input-major while they train, so that a layer's sums advance many neurons at a time in vector
        instructions (the same sums, each over its inputs in the same order), and a block of samples'
        activations and deltas for the batch gradient. Unused here (the layout of a Python list makes
        nothing faster).
    """
    o = options[0]
    learn_rate, momentum = float(o["learn_rate"]), float(o["momentum"])
    _check_codes(hidden, output)
    _check_loss(loss)
    _check_per_sample(int(o["optimizer"]))
    p, sizes, v = params.tolist(), sizes.tolist(), velocity.tolist()
    xs, ys = data.tolist(), targets.tolist()
    order = order.tolist()
    acts, out_sums = acts.tolist(), out_sums.tolist()
    g, g_prev = grads.tolist()
    n, n_out_net = len(xs), sizes[-1]
    column = 0               # the next column of losses
    done = p[:], v[:]        # the parameters and velocities after the last whole epoch
    try:
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                sample = order[epoch - epoch_start][t] if order else t
                y = ys[sample]
                at = _net_forward(p, sizes, hidden, output, xs[sample], acts, out_sums)
                fp_output = _net_output_g(output, loss, y, acts, at, n_out_net, learn_rate, g)
                _net_backward(p, v, momentum, sizes, hidden, fp_output, acts, g, g_prev)
            done = p[:], v[:]
            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, column] = _net_mean_loss(p, sizes, hidden, output, loss, xs, ys, acts,
                                                   out_sums)
                column += 1
    finally:
        # An interrupt (Ctrl-C) can land in the middle of a step: keep the last whole epoch.
        params[:], velocity[:] = done


def _net_batch_gradient(p, sizes, hidden, output, loss, xs, ys, weights, samples, grad, acts, g, g_prev,
                        out_sums, with_loss):
    """The sum, over the given samples in order, of each one's gradient of its loss (times its weight,
    when weights is not empty), into grad (laid out as the parameters), by back-propagation of each
    neuron's delta_i = g_i * f'_i (g_i = dL/da_i): weight w_ij's term is delta_i * a_j, bias b_i's
    delta_i, and the previous layer's g_j = delta_0 * w_0j + delta_1 * w_1j + ..., in the order of i.
    With with_loss (scikit-learn's losses only), returns the sum of the samples' losses (each times its
    weight) in their order; otherwise 0.0.

    (The per-sample kernel, net_train, keeps the tutorial's g_i * (a_j * f'_i) instead: one more
    multiplication per weight, the tutorial's bits. Here the fewer operations run in blocked loops,
    across a batch of samples at a time, in the compiled kernels.)"""
    n_layers, n_out_net = len(sizes) - 1, sizes[-1]
    total_loss = 0.0
    for k in range(len(grad)):
        grad[k] = 0.0
    for sample in samples:
        at = _net_forward(p, sizes, hidden, output, xs[sample], acts, out_sums)
        scale = weights[sample] if weights else 1.0
        if with_loss:
            total_loss += scale * _net_output_loss(output, loss, ys[sample], acts[at:at + n_out_net],
                                                   n_out_net)
        fp_output = _net_output_g(output, loss, ys[sample], acts, at, n_out_net, scale, g)
        p_end, a_end = len(p), len(acts)
        for layer in range(n_layers, 0, -1):
            n_in, n_out = sizes[layer - 1], sizes[layer]
            b0 = p_end - n_out
            w0 = b0 - n_out * n_in
            a_out = a_end - n_out
            a_in = a_out - n_in
            code = fp_output if layer == n_layers else hidden
            delta = [g[i] * _derivative(code, acts[a_out + i]) for i in range(n_out)]
            if layer > 1:
                for j in range(n_in):
                    total = delta[0] * p[w0 + j]
                    for i in range(1, n_out):
                        total = total + delta[i] * p[w0 + i * n_in + j]
                    g_prev[j] = total
            for i in range(n_out):
                row = w0 + i * n_in
                for j in range(n_in):
                    grad[row + j] = grad[row + j] + delta[i] * acts[a_in + j]
                grad[b0 + i] = grad[b0 + i] + delta[i]
            g, g_prev = g_prev, g
            p_end, a_end = w0, a_out
    return total_loss


def _net_batch_weight(weights, order_row, lo, hi):
    """The batch's weight: its rows' sample weights summed in order, or its number of rows when weights
    is empty."""
    if not weights:
        return float(hi - lo)
    total = weights[order_row[lo] if order_row else lo]
    for t in range(lo + 1, hi):
        total += weights[order_row[t] if order_row else t]
    return total


def _net_squares(p, sizes):
    """The sum of the squared weights (not the biases), in the compiled kernels' order: NET_VEC
    partial sums, weight (i, j) (neuron i, input j) of every layer, the last layer first (as
    back-propagation reaches them), input by input, into sum i % NET_VEC; then the partial sums
    pairwise."""
    acc = [0.0] * NET_VEC
    end = len(p)
    for layer in range(len(sizes) - 1, 0, -1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        offset = end - n_out - n_out * n_in
        for j in range(n_in):
            for i in range(n_out):
                w = p[offset + i * n_in + j]
                acc[i % NET_VEC] += w * w
        end = offset
    return _pairwise_partials(acc)


def _pairwise_partials(acc):
    """The partial sums acc (a power of two of them) added pairwise, in place: for eight,
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))."""
    n = len(acc)
    while n > 1:
        n //= 2
        for q in range(n):
            acc[q] = acc[2 * q] + acc[2 * q + 1]
    return acc[0]


def _net_mean_gradient(p, sizes, grad, count, alpha):
    """The summed gradient grad of a batch of weight count (its rows, or its sample weights' sum) made
    the batch's, in place: (grad + alpha * w) / count for the weights (L2), grad / count for the
    biases."""
    offset = 0
    for layer in range(1, len(sizes)):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        for k in range(offset, offset + n_out * n_in):
            grad[k] = (grad[k] + alpha * p[k]) / count
        for k in range(offset + n_out * n_in, offset + n_out * n_in + n_out):
            grad[k] = grad[k] / count
        offset += n_out * n_in + n_out


def _net_update(p, sizes, grad, count, alpha, squares, optimizer, options, lr_t, m, v):
    """A batch's whole update: with squares, the sum of the squared weights (returned; else 0.0), then
    _net_mean_gradient and the step of code ``optimizer`` (_rules.STEPS) of every parameter. (The
    compiled kernels do the three in one pass over each layer's parameters, the same operations on each
    element.)"""
    total = _net_squares(p, sizes) if squares else 0.0
    _net_mean_gradient(p, sizes, grad, count, alpha)
    RULES.step_each(optimizer, p, grad, m, v, options, lr_t)
    return total


def net_train_batch(params, sizes, hidden, output, loss, data, targets, weights, order, options, lr_t,
                    moments, step, epoch_start, epoch_stop, loss_every, losses, running, acts, grads,
                    out_sums, work, rows, room):
    """Mini-batch training with L2 and any optimizer step of ``_rules.STEPS``, of a network of any
    layer sizes.

    Each epoch visits the samples in ``order`` (or as given) in batches of ``batch_size`` rows (the last
    one may be short). For each batch, every sample's gradient (times its weight, if weighted) is
    computed with the weights from before the batch, and summed in sample order; then
    g = (sum + alpha * w) / B for the weights and sum / B for the biases (B the batch's rows, or the
    sum of their weights), and every parameter takes the step of code ``optimizer``, the statements of
    its row of ``_rules.STEPS`` (plain SGD, SGD with momentum or Nesterov's, Adam, iRPROP-), with its
    state in ``moments``. Adam's step size ``lr_t`` is computed in Python, from the step count, once
    for all backends.

    Parameters
    ----------
    params, sizes, hidden, output, loss, data, targets, order
        As for :func:`net_train`.
    weights : ndarray of float64, shape (n,) or (0,)
        The samples' weights; empty for none (every sample's weight 1, and B a batch's rows).
    options : ndarray of ``_rules.KERNEL_OPTIONS``, shape (1,)
        The options record (``_rules.kernel_options``): ``optimizer``, a step's code
        (``_rules.STEPS``); ``batch_size``; ``learn_rate``, ``momentum``, ``beta_1``, ``beta_2``,
        ``epsilon``, the step's options; ``alpha``, the L2 penalty.
    lr_t : ndarray of float64
        Adam's step size for each batch of the epochs run, in order (empty for the others).
    moments : ndarray of float64, shape (2, n_params)
        The optimizer's state m and v (rows 0 and 1): SGD's velocities and nothing; Adam's first and
        second moments; iRPROP-'s remembered gradients and step sizes. Updated in place.
    step : ndarray of int64, shape (1,)
        Adam's step count t, one more per batch; ``lr_t[k]`` is for step ``step[0] + k + 1`` as the
        call starts. Updated in place (by SGD too).
    epoch_start, epoch_stop, loss_every, losses
        As for :func:`net_train`.
    running : ndarray of float64, shape (epoch_stop - epoch_start,) or (0,)
        When not empty (scikit-learn's losses only), receives each epoch's loss as scikit-learn's MLP
        reports it: each batch's loss, from the weights before its step (the weighted mean of its
        samples' losses, plus ``(alpha / 2) * sum(w**2) / B``), times its rows, summed over the epoch's
        batches in order and divided by n.
    acts, grads, out_sums, work, rows, room
        As for :func:`net_train`.
    """
    o = _rules.options_dict(options)
    optimizer, batch_size, alpha = o["optimizer"], o["batch_size"], o["alpha"]
    _check_codes(hidden, output)
    _check_loss(loss)
    _check_optimizer(optimizer)
    p, sizes = params.tolist(), sizes.tolist()
    m, v = moments.tolist()
    xs, ys, ws = data.tolist(), targets.tolist(), weights.tolist()
    record = running.shape[0] > 0
    order = order.tolist()
    acts, out_sums = acts.tolist(), out_sums.tolist()
    g, g_prev = grads.tolist()
    grad = [0.0] * len(p)
    n = len(xs)
    column = 0               # the next column of losses
    update = 0               # the batches done in this call
    first = int(step[0])
    done = p[:], m[:], v[:], first      # the parameters, moments and step after the last whole epoch
    try:
        for epoch in range(epoch_start, epoch_stop):
            order_row = order[epoch - epoch_start] if order else []
            visit = order_row or range(n)
            accumulated = 0.0
            for lo in range(0, n, batch_size):
                hi = min(n, lo + batch_size)
                samples = visit[lo:hi]
                total_loss = _net_batch_gradient(p, sizes, hidden, output, loss, xs, ys, ws, samples,
                                                 grad, acts, g, g_prev, out_sums, record)
                count = _net_batch_weight(ws, order_row, lo, hi)
                squares = _net_update(p, sizes, grad, count, alpha, record and alpha != 0.0, optimizer, o,
                                      float(lr_t[update]) if optimizer == ADAM else 0.0, m, v)
                if record:
                    batch_loss = total_loss / count
                    if alpha != 0.0:
                        batch_loss += (0.5 * alpha) * squares / count
                    accumulated += batch_loss * (hi - lo)
                update += 1
            done = p[:], m[:], v[:], first + update
            if record:
                running[epoch - epoch_start] = accumulated / n
            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, column] = _net_mean_loss(p, sizes, hidden, output, loss, xs, ys, acts,
                                                   out_sums)
                column += 1
    finally:
        # An interrupt (Ctrl-C) can land in the middle of a batch: keep the last whole epoch.
        params[:], moments[0], moments[1], step[0] = done


def net_gradient(params, sizes, hidden, output, loss, data, targets, weights, options, out, acts, grads,
                 out_sums, work, rows, room):
    """The mean gradient over all samples (one batch of them all), with the L2 penalty of the options
    record, into ``out`` (laid out as the parameters): ``net_train_batch``'s batch gradient.

    Parameters are as for :func:`net_train_batch`. Returns, for scikit-learn's losses, the objective
    whose gradient this is, as ``net_train_batch`` computes a batch's loss; for the others NaN (their
    mean loss is ``net_loss``'s).
    """
    alpha = float(options[0]["alpha"])
    _check_codes(hidden, output)
    _check_loss(loss)
    p, sizes = params.tolist(), sizes.tolist()
    g, g_prev = grads.tolist()
    ws = weights.tolist()
    grad = out.tolist()
    n = data.shape[0]
    record = loss > CROSS_ENTROPY
    total_loss = _net_batch_gradient(p, sizes, hidden, output, loss, data.tolist(), targets.tolist(), ws,
                                     range(n), grad, acts.tolist(), g, g_prev, out_sums.tolist(), record)
    count = _net_batch_weight(ws, [], 0, n)
    objective = float("nan")
    if record:
        objective = total_loss / count
        if alpha != 0.0:
            objective += (0.5 * alpha) * _net_squares(p, sizes) / count
    _net_mean_gradient(p, sizes, grad, count, alpha)
    out[:] = grad
    return objective


def net_train_many(params, sizes, hidden, output, loss, data, targets, options, velocity, epoch_start,
                   epoch_stop, loss_every, losses, acts, grads, out_sums, single):
    """:func:`net_train` for blocks of ``lanes`` networks of one configuration, stepped together.

    The compiled kernels step a block's networks over each sample lane by lane, in vector
    instructions; here each network is simply trained as :func:`net_train` trains it (samples in
    order), which gives the same numbers. (The compiled kernels take blocks of ``_codes.lanes(dtype)``
    networks; any number here.)

    Parameters
    ----------
    params : ndarray of float64, shape (n_blocks, n_params, lanes), C-contiguous
        Block b's network l has its parameter k at ``params[b, k, l]``; updated in place.
    sizes, hidden, output, loss, data, targets
        As for :func:`net_train`.
    options : ndarray of ``_rules.KERNEL_OPTIONS``, shape (n_blocks, lanes)
        Each network's options record, as for :func:`net_train`. A block's networks all have
        momentum or all have none (the caller groups them so): the compiled kernels take the
        momentum path for a whole block.
    velocity : ndarray of float64, shape (n_blocks, n_params, lanes)
        Laid out as ``params``; updated in place.
    epoch_start, epoch_stop, loss_every
        As for :func:`net_train`.
    losses : ndarray of float64, shape (n_blocks * lanes, m)
        Network l of block b records its losses in row ``b * lanes + l``.
    acts, grads, out_sums, single
        Scratch (``_codes.net_many_scratch``).
    """
    _check_codes(hidden, output)
    _check_loss(loss)
    for code in options["optimizer"].ravel().tolist():
        _check_per_sample(code)
    n_blocks, _, lanes = params.shape
    no_order = np.empty((0, 0), dtype=np.int64)
    scratch = net_room(sizes.tolist(), batch_rows=0)
    for block in range(n_blocks):
        for lane in range(lanes):
            # Each network as its own array, trained alone, then put back (after a whole epoch even
            # when interrupted: net_train keeps the last whole epoch).
            one, one_velocity = params[block, :, lane].copy(), velocity[block, :, lane].copy()
            row = losses[block * lanes + lane:block * lanes + lane + 1]
            try:
                net_train(one, sizes, hidden, output, loss, data, targets, no_order,
                          options[block, lane:lane + 1], one_velocity, epoch_start, epoch_stop, loss_every,
                          row, *scratch)
            finally:
                params[block, :, lane], velocity[block, :, lane] = one, one_velocity
