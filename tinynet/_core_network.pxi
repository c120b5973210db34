# Cython kernels of tinynet.Network (any layer sizes). Included by _core.pyx; mirrors
# _python_network.py (the readable reference, whose docstring describes the parameter layout and the
# arithmetic) and _numba_network.py function for function.


cdef inline double _activate(int code, double s) noexcept nogil:
    # A hidden or (elementwise) output activation of a sum s.
    if code == SIGMOID:
        return _sigmoid(s)
    if code == TANH:
        return _tanh(s)
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
    return (x if x > 0.0 else 0.0) + log1p(_exp(-fabs(x)))


cdef inline void _neuron_output(double s, Py_ssize_t i, int code, bint last, double* a_out,
                                double* out_sums) noexcept nogil:
    # Neuron i's sum s (with its bias): its activation into a_out[i] (softmax's comes later) and, in
    # the output layer, s itself into out_sums[i].
    if last:
        out_sums[i] = s
    a_out[i] = s if code == SOFTMAX else _activate(code, s)


cdef Py_ssize_t _net_forward(const double* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                             int output, const double* x, double* acts, double* out_sums) noexcept nogil:
    # Feedforward of one sample x: every layer's activations into acts, the output layer's sums into
    # out_sums. Returns where the output layer's activations start in acts.
    cdef Py_ssize_t at = 0, offset = 0, out_at, biases, layer, i, j, row, n_in, n_out
    cdef int code
    cdef bint last
    cdef double s, s0, s1, s2, s3, m, e, total
    cdef const double* a
    cdef double* a_out
    for j in range(sizes[0]):
        acts[j] = x[j]
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < n_layers else output
        last = layer == n_layers
        a = acts + at
        a_out = acts + out_at
        # Four rows at a time: four independent sums, each still added up in the order j = 0, 1, ...
        # (the same numbers as one row at a time), so the CPU overlaps their additions.
        i = 0
        while i + 4 <= n_out:
            row = offset + i * n_in
            s0 = p[row] * a[0]
            s1 = p[row + n_in] * a[0]
            s2 = p[row + 2 * n_in] * a[0]
            s3 = p[row + 3 * n_in] * a[0]
            for j in range(1, n_in):
                s0 += p[row + j] * a[j]
                s1 += p[row + n_in + j] * a[j]
                s2 += p[row + 2 * n_in + j] * a[j]
                s3 += p[row + 3 * n_in + j] * a[j]
            _neuron_output(s0 + p[biases + i], i, code, last, a_out, out_sums)
            _neuron_output(s1 + p[biases + i + 1], i + 1, code, last, a_out, out_sums)
            _neuron_output(s2 + p[biases + i + 2], i + 2, code, last, a_out, out_sums)
            _neuron_output(s3 + p[biases + i + 3], i + 3, code, last, a_out, out_sums)
            i += 4
        while i < n_out:
            row = offset + i * n_in
            s = p[row] * a[0]
            for j in range(1, n_in):
                s += p[row + j] * a[j]
            _neuron_output(s + p[biases + i], i, code, last, a_out, out_sums)
            i += 1
        if code == SOFTMAX:
            # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s
            m = out_sums[0]
            for i in range(1, n_out):
                m = max(m, out_sums[i])
            total = 0.0
            for i in range(n_out):
                e = _exp(out_sums[i] - m)
                a_out[i] = e
                total += e
            for i in range(n_out):
                a_out[i] = a_out[i] / total
        at = out_at
        offset = biases + n_out
    return at


cdef double _net_sample_loss(int output, int loss, const double* y, const double* a,
                             const double* out_sums, Py_ssize_t n_out) noexcept nogil:
    # The loss of one sample: targets y, output activations a, the output layer's sums out_sums.
    cdef double total = 0.0, e, m, loss_value
    cdef Py_ssize_t i
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
        total += _exp(out_sums[i] - m)
    loss_value = m + log(total)
    for i in range(n_out):
        loss_value -= y[i] * out_sums[i]
    return loss_value


cdef double _net_mean_loss(const double* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                           int output, int loss, const double* data, const double* targets,
                           Py_ssize_t n, double* acts, double* out_sums) noexcept nogil:
    # The mean loss over the samples, summed in numpy's pairwise order.
    cdef double leaf[PW_BLOCKSIZE]
    cdef Walk walk
    cdef Py_ssize_t lo, m, t, at, n_in = sizes[0], n_out = sizes[n_layers]
    _walk_start(&walk, n)
    while _walk_next(&walk, &lo, &m):
        for t in range(m):
            at = _net_forward(p, sizes, n_layers, hidden, output, data + (lo + t) * n_in, acts, out_sums)
            leaf[t] = _net_sample_loss(output, loss, targets + (lo + t) * n_out, acts + at, out_sums,
                                       n_out)
        _walk_push(&walk, _pairwise_block(leaf, m))
    return _walk_total(&walk) / n


def net_feedforward(const double[::1] params, const int64_t[::1] sizes, int hidden, int output,
                    const double[:, ::1] data, double[:, ::1] out, double[::1] acts,
                    double[::1] out_sums):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, n_out)).

    The arguments are those of ``_python_network.net_feedforward``; see its docstring.
    """
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1, n_out = sizes[sizes.shape[0] - 1]
    cdef Py_ssize_t t, i, at
    with nogil:
        for t in range(data.shape[0]):
            at = _net_forward(&params[0], &sizes[0], n_layers, hidden, output, &data[t, 0], &acts[0],
                              &out_sums[0])
            for i in range(n_out):
                out[t, i] = acts[at + i]


def net_loss(const double[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
             const double[:, ::1] data, const double[:, ::1] targets, double[::1] acts,
             double[::1] out_sums):
    """The mean loss over the samples, summed in numpy's pairwise order.

    The arguments are those of ``_python_network.net_loss``; see its docstring.
    """
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1
    cdef double value
    with nogil:
        value = _net_mean_loss(&params[0], &sizes[0], n_layers, hidden, output, loss, &data[0, 0],
                               &targets[0, 0], data.shape[0], &acts[0], &out_sums[0])
    return value


def net_train(double[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
              const double[:, ::1] data, const double[:, ::1] targets, const int64_t[:, ::1] order,
              double learn_rate, double momentum, double[::1] velocity, Py_ssize_t epoch_start,
              Py_ssize_t epoch_stop, Py_ssize_t loss_every, double[:, ::1] losses, double[::1] acts,
              double[:, ::1] grads, double[::1] out_sums):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    The arguments are those of ``_python_network.net_train``; see its docstring.
    """
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1
    cdef Py_ssize_t n_out_net = sizes[n_layers]
    cdef Py_ssize_t epoch, t, sample, at, layer, i, j, n_in, n_out, w0, b0, a_in, a_out, row
    cdef Py_ssize_t p_end, a_end
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef int code, fp_output
    cdef double fp, gi, term, dot
    cdef double* p = &params[0]
    cdef double* v = &velocity[0]
    cdef double* a = &acts[0]
    cdef const int64_t* s = &sizes[0]
    cdef const double* y
    cdef double* g = &grads[0, 0]
    cdef double* g_prev = &grads[1, 0]
    cdef double* swap
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
                y = &targets[sample, 0]
                at = _net_forward(p, s, n_layers, hidden, output, &data[sample, 0], a, &out_sums[0])

                # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
                if loss == MSE:
                    for i in range(n_out_net):
                        g[i] = learn_rate * (-2 * (y[i] - a[at + i]) / n_out_net)
                    if output == SOFTMAX:
                        # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
                        dot = 0.0
                        for j in range(n_out_net):
                            dot += (-2 * (y[j] - a[at + j]) / n_out_net) * a[at + j]
                        for i in range(n_out_net):
                            g[i] = learn_rate * (a[at + i] * (-2 * (y[i] - a[at + i]) / n_out_net
                                                              - dot))
                        fp_output = IDENTITY
                    else:
                        fp_output = output
                else:
                    # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
                    for i in range(n_out_net):
                        if output == SIGMOID:
                            g[i] = learn_rate * ((a[at + i] - y[i]) / n_out_net)
                        else:
                            g[i] = learn_rate * (a[at + i] - y[i])
                    fp_output = IDENTITY

                # --- Back through the layers, last first
                p_end = params.shape[0]     # where the layer's parameters end in params
                a_end = acts.shape[0]       # where the layer's activations end in acts
                for layer in range(n_layers, 0, -1):
                    n_in = s[layer - 1]
                    n_out = s[layer]
                    b0 = p_end - n_out            # the layer's biases
                    w0 = b0 - n_out * n_in        # the layer's weights
                    a_out = a_end - n_out         # its activations
                    a_in = a_out - n_in           # its inputs' activations
                    code = fp_output if layer == n_layers else hidden
                    for i in range(n_out):
                        fp = _derivative(code, a[a_out + i])
                        gi = g[i]
                        row = w0 + i * n_in
                        if layer > 1:
                            # the previous layer's g, from the weights before this update
                            for j in range(n_in):
                                term = gi * (p[row + j] * fp)
                                g_prev[j] = term if i == 0 else g_prev[j] + term
                        if momentum != 0.0:
                            for j in range(n_in):
                                v[row + j] = momentum * v[row + j] - gi * (a[a_in + j] * fp)
                                p[row + j] += v[row + j]
                            v[b0 + i] = momentum * v[b0 + i] - gi * fp
                            p[b0 + i] += v[b0 + i]
                        else:
                            for j in range(n_in):
                                p[row + j] -= gi * (a[a_in + j] * fp)
                            p[b0 + i] -= gi * fp
                    swap = g
                    g = g_prev
                    g_prev = swap
                    p_end = w0
                    a_end = a_out

            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, column] = _net_mean_loss(p, s, n_layers, hidden, output, loss, &data[0, 0],
                                                   &targets[0, 0], n, a, &out_sums[0])
                column += 1
