"""Pure-Python kernels: the fallback backend and the readable reference.

This module mirrors ``_core.pyx`` (Cython) and ``_numba.py`` (Numba) function for function, with the
same names, the same arguments in the same order and the same order of arithmetic, so that the three
can be read side by side. It follows the tutorial's ``OurNeuralNetwork`` step by step and uses the
tutorial's names (``sum_h1``, ``d_L_d_ypred``, ``d_ypred_d_w5`` ...).

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is the C library's ``exp`` (``math.exp`` here). Where ``exp`` overflows C returns ``inf``
  and ``1 / (1 + inf)`` is ``0.0``; ``math.exp`` raises ``OverflowError`` instead, so :func:`sigmoid`
  catches it and returns that same ``0.0``.
* Every expression is evaluated left to right, exactly as the tutorial writes it; nothing is fused or
  reordered. ``f'(sum_h1)`` is computed as ``h1 * (1 - h1)``, the same number as the tutorial's
  ``sigmoid(sum_h1) * (1 - sigmoid(sum_h1))``.
* The mean squared error is summed the way numpy sums (pairwise, 8 lanes, blocks of 128), so given
  the same predictions it equals ``np.mean((y_true - y_pred) ** 2)`` bit for bit.

Kernels trust their inputs: ``params`` is a writeable C-contiguous float64 array of nine parameters in
the order w1..w6, b1..b3; ``data`` a C-contiguous ``(n, 2)`` float64 array; ``y_true`` and ``out``
float64 arrays of length ``n``. Validation happens once, in Python, before a kernel is called. For
speed the arrays are turned into Python floats once per call (arithmetic on numpy scalars is slow),
and the parameters are kept in local variables while training.
"""

from math import exp, log, log1p, tanh

__all__ = ["feedforward", "gradients", "mse_loss", "sigmoid", "train"]

#: numpy's pairwise summation works on blocks of this many elements (``PW_BLOCKSIZE``).
_PW_BLOCKSIZE = 128
#: Room for the pairwise summation's pending ranges: ample for any n below 2**63.
_STACK_SIZE = 128


def sigmoid(x):
    """Sigmoid activation f(x) = 1 / (1 + e^(-x)), giving 0.0 where e^(-x) overflows (as C does)."""
    try:
        return 1.0 / (1.0 + exp(-x))
    except OverflowError:
        return 0.0


def _feedforward_row(w1, w2, w3, w4, w5, w6, b1, b2, b3, x0, x1):
    """The network's output o1 for one sample (x0, x1)."""
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
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = params.tolist()
    out[:] = [_feedforward_row(w1, w2, w3, w4, w5, w6, b1, b2, b3, x0, x1)
              for x0, x1 in data.tolist()]


def _pairwise_block(values, lo, m):
    """values[lo:lo + m] (m <= 128) summed as numpy sums one block: eight running sums, combined as
    a tree, then the remainder one by one."""
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


def _pairwise_sum(values, n):
    """Sum of values[0:n] in numpy's pairwise order.

    numpy sums a range of more than 128 elements as sum(first n2) + sum(the rest), n2 being half the
    length rounded down to a multiple of 8, and a shorter range with :func:`_pairwise_block`. The
    same recursion runs here on explicit stacks, as in the compiled backends (Numba cannot cache
    recursive functions). Here the values are a list; the compiled kernels compute the drop-in's
    squared errors as they go instead, to allocate nothing.
    """
    if n <= _PW_BLOCKSIZE:
        return _pairwise_block(values, 0, n)
    # Ranges still to sum (start, length, whether both halves are summed) and sums of finished ones.
    todo_lo = [0] * _STACK_SIZE
    todo_n = [0] * _STACK_SIZE
    todo_halves_done = [False] * _STACK_SIZE
    sums = [0.0] * _STACK_SIZE
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
            sums[n_sums] = _pairwise_block(values, lo, m)
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


def _sum_squared_errors(p, rows, ys, n):
    """Sum of (y_true - y_pred)^2 over all n samples, in numpy's pairwise order."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = p
    errors = [y - _feedforward_row(w1, w2, w3, w4, w5, w6, b1, b2, b3, x0, x1)
              for (x0, x1), y in zip(rows[:n], ys[:n])]
    return _pairwise_sum([e * e for e in errors], n)


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


def _backprop(p, x0, x1, y):
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
    d_L_d_ypred = -2 * (y - y_pred)
    # f'(s) = f(s) * (1 - f(s)), with f(s) already computed
    d_o1 = o1 * (1 - o1)
    d_h1 = h1 * (1 - h1)
    d_h2 = h2 * (1 - h2)
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


def _sgd_step(p, x0, x1, y, learn_rate):
    """One SGD step of one network on one sample; returns the updated (w1..w6, b1..b3)."""
    (d_L_d_ypred, d_ypred_d_w5, d_ypred_d_w6, d_ypred_d_b3, d_ypred_d_h1, d_ypred_d_h2,
     d_h1_d_w1, d_h1_d_w2, d_h1_d_b1, d_h2_d_w3, d_h2_d_w4, d_h2_d_b2) = _backprop(p, x0, x1, y)
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
    nets = [tuple(p) for p in params.tolist()]
    xs = data.tolist()
    ys = y_true.tolist()
    rows = list(zip(xs, ys))
    n = len(rows)
    k = 0
    try:
        for epoch in range(epoch_start, epoch_stop):
            if len(nets) == 1:   # the common case, without the inner loop
                p = nets[0]
                for (x0, x1), y in rows:
                    p = _sgd_step(p, x0, x1, y, learn_rate)
                nets[0] = p
            else:
                for (x0, x1), y in rows:
                    nets = [_sgd_step(p, x0, x1, y, learn_rate) for p in nets]
            if loss_every > 0 and epoch % loss_every == 0:
                for j, p in enumerate(nets):
                    losses[j, k] = _sum_squared_errors(p, xs, ys, n) / n
                k += 1
    finally:
        # One assignment: an interrupt (Ctrl-C) leaves every network as it was after a whole epoch.
        params[:] = nets


# --- tinynet.Network: any layer sizes -------------------------------------------------------------
#
# The parameters are one flat array: for each layer l = 1..L, its weights (sizes[l] rows of
# sizes[l-1], row-major) and then its biases. ``work`` is scratch room allocated once per call:
# the activations of every layer (sum of sizes), two gradient rows (2 * max size), the output
# layer's pre-activations (sizes[L]) and one loss per sample (n).
#
# Training runs the tutorial's arithmetic layer by layer: g_i = learn_rate * dL/da_i for each neuron
# i of a layer (the tutorial's "step"), f'_i its activation's derivative; the previous layer's
# g_j = sum over i of g_i * (w_ij * f'_i), from the weights before the update; then
# w_ij -= g_i * (a_j * f'_i) and b_i -= g_i * f'_i. For sizes (2, 2, 1), sigmoid and mse these are
# exactly OurNeuralNetwork's operations, so the two give bit-identical results.

# Activation codes (hidden and output layers) and loss codes, shared by the three backends.
SIGMOID, TANH, RELU, IDENTITY, SOFTMAX = 0, 1, 2, 3, 4
MSE, CROSS_ENTROPY = 0, 1


def _activate(code, s):
    """A hidden or (elementwise) output activation of a pre-activation s."""
    if code == SIGMOID:
        return sigmoid(s)
    if code == TANH:
        return tanh(s)
    if code == RELU:
        return s if s > 0.0 else 0.0
    return s  # IDENTITY


def _derivative(code, a):
    """The activation's derivative f'(s), from its value a = f(s)."""
    if code == SIGMOID:
        return a * (1 - a)
    if code == TANH:
        return 1 - a * a
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0  # IDENTITY


def _softplus(x):
    """log(1 + e^x), without overflow."""
    return max(x, 0.0) + log1p(exp(-abs(x)))


def _net_forward(p, sizes, hidden, output, x, acts, logits):
    """Feedforward of one sample x: every layer's activations into acts, the output's s into logits."""
    layers = len(sizes) - 1
    acts[0:sizes[0]] = x
    at = 0          # where the layer's input activations start in acts
    offset = 0      # where the layer's weights start in p
    for layer in range(1, layers + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < layers else output
        for i in range(n_out):
            row = offset + i * n_in
            s = p[row] * acts[at]
            for j in range(1, n_in):
                s += p[row + j] * acts[at + j]
            s += p[biases + i]
            if layer == layers:
                logits[i] = s
            acts[out_at + i] = s if code == SOFTMAX else _activate(code, s)
        if code == SOFTMAX:
            # a_k = e^(s_k - m) / sum of e^(s_j - m), m the largest s
            m = max(logits[:n_out])
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


def _net_sample_loss(output, loss, y, a, logits, k):
    """The loss of one sample: targets y, outputs a, output pre-activations logits (k of each)."""
    total = 0.0
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
    m = max(logits[:k])
    for i in range(k):
        total += exp(logits[i] - m)
    loss_value = m + log(total)
    for i in range(k):
        loss_value -= y[i] * logits[i]
    return loss_value


def _net_mean_loss(p, sizes, hidden, output, loss, data, targets, acts, logits, sample_losses):
    k = sizes[-1]
    for t, (x, y) in enumerate(zip(data, targets)):
        at = _net_forward(p, sizes, hidden, output, x, acts, logits)
        sample_losses[t] = _net_sample_loss(output, loss, y, acts[at:at + k], logits, k)
    return _pairwise_sum(sample_losses, len(data)) / len(data)


def _buffers(sizes, n):
    return [0.0] * sum(sizes), [0.0] * max(sizes), [0.0] * max(sizes), [0.0] * sizes[-1], [0.0] * n


def net_feedforward(params, sizes, hidden, output, data, out, work):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, k)).

    Parameters
    ----------
    params : ndarray of float64
        The flat parameters (see the section's comment).
    sizes : ndarray of int64
        The layer sizes, inputs first.
    hidden, output : int
        Activation codes of the hidden layers and of the output layer.
    data : ndarray of float64, shape (n, sizes[0]), C-contiguous
    out : ndarray of float64, shape (n, sizes[-1])
    work : ndarray of float64
        Scratch room (unused here: Python lists serve).
    """
    p, sizes = params.tolist(), sizes.tolist()
    acts, _, _, logits, _ = _buffers(sizes, 0)
    k = sizes[-1]
    rows = []
    for x in data.tolist():
        at = _net_forward(p, sizes, hidden, output, x, acts, logits)
        rows.append(acts[at:at + k])
    out[:] = rows


def net_loss(params, sizes, hidden, output, loss, data, targets, work):
    """The mean loss over the samples, summed in numpy's pairwise order.

    Parameters are as for :func:`net_feedforward`, plus ``loss`` (a loss code) and ``targets``
    (shape (n, k)).
    """
    p, sizes = params.tolist(), sizes.tolist()
    acts, _, _, logits, sample_losses = _buffers(sizes, len(data))
    return _net_mean_loss(p, sizes, hidden, output, loss, data.tolist(), targets.tolist(), acts,
                          logits, sample_losses)


def net_train(params, sizes, hidden, output, loss, data, targets, order, learn_rate, momentum,
              velocity, epoch_start, epoch_stop, loss_every, losses, work):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    Parameters
    ----------
    params, sizes, hidden, output, loss, data, targets, work
        As for :func:`net_feedforward` and :func:`net_loss`; ``params`` is updated in place.
    order : ndarray of int64, shape (epoch_stop - epoch_start, n) or (0, 0)
        The order of the samples in each epoch; empty for their given order.
    learn_rate, momentum : float
        With momentum m: v = m * v - g * (a * f'), then w += v; with 0, plain w -= g * (a * f').
    velocity : ndarray of float64, like params
        The momentum's velocities, updated in place (unused when momentum is 0).
    epoch_start, epoch_stop, loss_every, losses
        As for :func:`train`: losses has one row; the mean loss after each epoch that is a multiple
        of loss_every goes into its next column.
    """
    p, sizes, v = params.tolist(), sizes.tolist(), velocity.tolist()
    xs, ys = data.tolist(), targets.tolist()
    order = order.tolist()
    n, layers, k = len(xs), len(sizes) - 1, sizes[-1]
    acts, g, g_prev, logits, sample_losses = _buffers(sizes, n)
    starts = [0] * (layers + 1)               # where each layer's activations start in acts
    offsets = [0] * (layers + 1)              # where each layer's weights start in p
    for layer in range(1, layers + 1):
        starts[layer] = starts[layer - 1] + sizes[layer - 1]
        offsets[layer] = offsets[layer - 1] + (sizes[layer - 1] * sizes[layer - 2] + sizes[layer - 1]
                                               if layer > 1 else 0)
    recorded = 0
    done = p[:], v[:]        # the parameters and velocities after the last whole epoch
    try:
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                sample = order[epoch - epoch_start][t] if order else t
                x, y = xs[sample], ys[sample]
                at = _net_forward(p, sizes, hidden, output, x, acts, logits)
                a = acts[at:at + k]

                # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
                if loss == MSE:
                    for i in range(k):
                        g[i] = learn_rate * (-2 * (y[i] - a[i]) / k)
                    if output == SOFTMAX:
                        # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
                        dot = 0.0
                        for j in range(k):
                            dot += (-2 * (y[j] - a[j]) / k) * a[j]
                        for i in range(k):
                            g[i] = learn_rate * (a[i] * (-2 * (y[i] - a[i]) / k - dot))
                        fp_output = IDENTITY
                    else:
                        fp_output = output
                else:
                    # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ k for sigmoid's mean)
                    for i in range(k):
                        g[i] = learn_rate * ((a[i] - y[i]) / k if output == SIGMOID else a[i] - y[i])
                    fp_output = IDENTITY

                # --- Back through the layers, last first
                for layer in range(layers, 0, -1):
                    n_in, n_out = sizes[layer - 1], sizes[layer]
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
                        for j in range(n_in):
                            if momentum != 0.0:
                                v[row + j] = momentum * v[row + j] - gi * (acts[a_in + j] * fp)
                                p[row + j] += v[row + j]
                            else:
                                p[row + j] -= gi * (acts[a_in + j] * fp)
                        if momentum != 0.0:
                            v[b0 + i] = momentum * v[b0 + i] - gi * fp
                            p[b0 + i] += v[b0 + i]
                        else:
                            p[b0 + i] -= gi * fp
                    g, g_prev = g_prev, g

            done = p[:], v[:]
            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, recorded] = _net_mean_loss(p, sizes, hidden, output, loss, xs, ys, acts,
                                                     logits, sample_losses)
                recorded += 1
    finally:
        # An interrupt (Ctrl-C) can land in the middle of a step: keep the last whole epoch.
        params[:], velocity[:] = done
