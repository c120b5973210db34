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


cdef int _net_output_g(int output, int loss, const double* y, const double* acts, Py_ssize_t at,
                       Py_ssize_t n_out, double scale, double* g) noexcept nogil:
    # The output layer's g_i = scale * dL/da_i, and the code of the derivative f' that goes with it
    # (see _python_network._net_output_g).
    cdef Py_ssize_t i, j
    cdef double dot
    if loss == MSE:
        for i in range(n_out):
            g[i] = scale * (-2 * (y[i] - acts[at + i]) / n_out)
        if output != SOFTMAX:
            return output
        # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
        dot = 0.0
        for j in range(n_out):
            dot += (-2 * (y[j] - acts[at + j]) / n_out) * acts[at + j]
        for i in range(n_out):
            g[i] = scale * (acts[at + i] * (-2 * (y[i] - acts[at + i]) / n_out - dot))
        return IDENTITY
    # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
    for i in range(n_out):
        if output == SIGMOID:
            g[i] = scale * ((acts[at + i] - y[i]) / n_out)
        else:
            g[i] = scale * (acts[at + i] - y[i])
    return IDENTITY


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
    cdef double fp, gi, term
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

                fp_output = _net_output_g(output, loss, y, a, at, n_out_net, learn_rate, g)

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


cdef void _net_batch_gradient(const double* p, const int64_t* sizes, Py_ssize_t n_layers,
                              Py_ssize_t n_params, Py_ssize_t n_acts, int hidden, int output, int loss,
                              const double* data, const double* targets, const int64_t* order_row,
                              Py_ssize_t lo, Py_ssize_t hi, double* grad, double* acts, double* g,
                              double* g_prev, double* out_sums) noexcept nogil:
    # The sum, over the samples lo..hi-1 of the epoch (through order_row, when not NULL), of each
    # one's gradient, into grad (see _python_network._net_batch_gradient).
    cdef Py_ssize_t n_in0 = sizes[0], n_out_net = sizes[n_layers]
    cdef Py_ssize_t t, k, sample, at, layer, i, j, n_in, n_out, w0, b0, a_in, a_out, row, p_end, a_end
    cdef int code, fp_output
    cdef double fp, gi, term
    cdef double* swap
    for k in range(n_params):
        grad[k] = 0.0
    for t in range(lo, hi):
        sample = order_row[t] if order_row != NULL else t
        at = _net_forward(p, sizes, n_layers, hidden, output, data + sample * n_in0, acts, out_sums)
        fp_output = _net_output_g(output, loss, targets + sample * n_out_net, acts, at, n_out_net, 1.0, g)
        p_end = n_params
        a_end = n_acts
        for layer in range(n_layers, 0, -1):
            n_in = sizes[layer - 1]
            n_out = sizes[layer]
            b0 = p_end - n_out
            w0 = b0 - n_out * n_in
            a_out = a_end - n_out
            a_in = a_out - n_in
            code = fp_output if layer == n_layers else hidden
            for i in range(n_out):
                fp = _derivative(code, acts[a_out + i])
                gi = g[i]
                row = w0 + i * n_in
                if layer > 1:
                    for j in range(n_in):
                        term = gi * (p[row + j] * fp)
                        g_prev[j] = term if i == 0 else g_prev[j] + term
                for j in range(n_in):
                    grad[row + j] = grad[row + j] + gi * (acts[a_in + j] * fp)
                grad[b0 + i] = grad[b0 + i] + gi * fp
            swap = g
            g = g_prev
            g_prev = swap
            p_end = w0
            a_end = a_out


cdef void _net_mean_gradient(const double* p, const int64_t* sizes, Py_ssize_t n_layers, double* grad,
                             Py_ssize_t count, double alpha) noexcept nogil:
    # The summed gradient of count samples made the batch's, in place (see
    # _python_network._net_mean_gradient).
    cdef Py_ssize_t layer, k, n_in, n_out, offset = 0
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        for k in range(offset, offset + n_out * n_in):
            grad[k] = (grad[k] + alpha * p[k]) / count
        for k in range(offset + n_out * n_in, offset + n_out * n_in + n_out):
            grad[k] = grad[k] / count
        offset += n_out * n_in + n_out


cdef void _net_step(double* p, const double* grad, Py_ssize_t n_params, int optimizer, double learn_rate,
                    double momentum, bint nesterov, double beta_1, double beta_2, double epsilon,
                    double lr_t, double* m, double* v) noexcept nogil:
    # One optimizer step of every parameter (see _python_network._net_step).
    cdef Py_ssize_t k
    cdef double gk
    if optimizer == ADAM:
        for k in range(n_params):
            gk = grad[k]
            m[k] = beta_1 * m[k] + (1 - beta_1) * gk
            v[k] = beta_2 * v[k] + (1 - beta_2) * (gk * gk)
            p[k] = p[k] + -lr_t * m[k] / (sqrt(v[k]) + epsilon)
    elif momentum != 0.0:
        for k in range(n_params):
            m[k] = momentum * m[k] - learn_rate * grad[k]
            p[k] = p[k] + (momentum * m[k] - learn_rate * grad[k] if nesterov else m[k])
    else:
        for k in range(n_params):
            p[k] = p[k] - learn_rate * grad[k]


def net_train_batch(double[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
                    const double[:, ::1] data, const double[:, ::1] targets, const int64_t[:, ::1] order,
                    Py_ssize_t batch_size, int optimizer, double learn_rate, double momentum,
                    bint nesterov, double alpha, double beta_1, double beta_2, double epsilon,
                    const double[::1] lr_t, double[:, ::1] moments, int64_t[::1] step,
                    Py_ssize_t epoch_start, Py_ssize_t epoch_stop, Py_ssize_t loss_every,
                    double[:, ::1] losses, double[::1] acts, double[:, ::1] grads, double[::1] out_sums,
                    double[::1] gradient):
    """Mini-batch training with L2, SGD (momentum, Nesterov) or Adam.

    The arguments are those of ``_python_network.net_train_batch``; see its docstring.
    """
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1, n_params = params.shape[0]
    cdef Py_ssize_t epoch, lo, hi
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef Py_ssize_t update = 0     # the batches done in this call
    cdef const int64_t* order_row
    cdef double* p = &params[0]
    cdef const int64_t* s = &sizes[0]
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            order_row = &order[epoch - epoch_start, 0] if order.shape[0] > 0 else NULL
            lo = 0
            while lo < n:
                hi = min(n, lo + batch_size)
                _net_batch_gradient(p, s, n_layers, n_params, acts.shape[0], hidden, output, loss,
                                    &data[0, 0], &targets[0, 0], order_row, lo, hi, &gradient[0],
                                    &acts[0], &grads[0, 0], &grads[1, 0], &out_sums[0])
                _net_mean_gradient(p, s, n_layers, &gradient[0], hi - lo, alpha)
                _net_step(p, &gradient[0], n_params, optimizer, learn_rate, momentum, nesterov, beta_1,
                          beta_2, epsilon, lr_t[update] if optimizer == ADAM else 0.0, &moments[0, 0],
                          &moments[1, 0])
                update += 1
                step[0] += 1
                lo = hi
            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, column] = _net_mean_loss(p, s, n_layers, hidden, output, loss, &data[0, 0],
                                                   &targets[0, 0], n, &acts[0], &out_sums[0])
                column += 1


def net_gradient(const double[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
                 const double[:, ::1] data, const double[:, ::1] targets, double alpha, double[::1] out,
                 double[::1] acts, double[:, ::1] grads, double[::1] out_sums):
    """The mean gradient over all samples, with L2 ``alpha``, into ``out``.

    The arguments are those of ``_python_network.net_gradient``; see its docstring.
    """
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1
    with nogil:
        _net_batch_gradient(&params[0], &sizes[0], n_layers, params.shape[0], acts.shape[0], hidden,
                            output, loss, &data[0, 0], &targets[0, 0], NULL, 0, n, &out[0], &acts[0],
                            &grads[0, 0], &grads[1, 0], &out_sums[0])
        _net_mean_gradient(&params[0], &sizes[0], n_layers, &out[0], n, alpha)


# --- net_train_many: LANES networks of one configuration stepped together, lane by lane -------------
# A block holds LANES networks structure-of-arrays: element k of a network's flat array (parameters,
# velocities, activations, g, output sums) of lane l at [k * LANES + l]. Every loop over the lanes
# below does net_train's arithmetic in every lane, with a constant trip count, so the compiler turns it
# into vector instructions. The per-lane factors are first copied into local arrays, which the compiler
# knows no store can change.

cdef inline void _exp_in_place(double* x, Py_ssize_t m) noexcept nogil:
    # x[k] = _exp(x[k]) for k < m, m a multiple of LANES: LANES values at a time through _exp_lanes
    # (whose loops of constant trip count the compiler turns into vector instructions).
    cdef Py_ssize_t k
    cdef int lane
    cdef double y[LANES]
    cdef double e[LANES]
    for k in range(m // LANES):
        for lane in range(LANES):
            y[lane] = x[k * LANES + lane]
        _exp_lanes(y, e)
        for lane in range(LANES):
            x[k * LANES + lane] = e[lane]


cdef inline void _activate_lanes(int code, double* s, Py_ssize_t m) noexcept nogil:
    # s[k] = _activate(code, s[k]) for k < m (a layer's sums, every lane: m a multiple of LANES), in
    # place.
    cdef Py_ssize_t k
    if code == SIGMOID:
        # 1 / (1 + e^(-s)), as _sigmoid
        for k in range(m):
            s[k] = -s[k]
        _exp_in_place(s, m)
        for k in range(m):
            s[k] = 1.0 / (1.0 + s[k])
    elif code == TANH:
        for k in range(m):
            s[k] = _tanh(s[k])
    elif code == RELU:
        for k in range(m):
            s[k] = s[k] if s[k] > 0.0 else 0.0


cdef inline void _derivative_lanes(int code, const double* a, double* fp) noexcept nogil:
    # fp[lane] = _derivative(code, a[lane]) in every lane.
    cdef int lane
    for lane in range(LANES):
        if code == SIGMOID:
            fp[lane] = a[lane] * (1 - a[lane])
        elif code == TANH:
            fp[lane] = 1 - a[lane] * a[lane]
        elif code == RELU:
            fp[lane] = 1.0 if a[lane] > 0.0 else 0.0
        else:
            fp[lane] = 1.0  # IDENTITY


cdef Py_ssize_t _net_forward_lanes(const double* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                                   int output, const double* x, double* acts,
                                   double* out_sums) noexcept nogil:
    # _net_forward in every lane of a block, on the same sample x: a layer's sums first, then its
    # activations in one pass.
    cdef Py_ssize_t at = 0, offset = 0, out_at, biases, layer, i, j, k, n_in, n_out
    cdef int code, lane
    cdef double s[LANES]
    cdef double m[LANES]
    cdef double total[LANES]
    cdef const double* a
    cdef const double* w
    cdef double* a_out
    for j in range(sizes[0]):
        for lane in range(LANES):
            acts[j * LANES + lane] = x[j]
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < n_layers else output
        a = acts + at * LANES
        a_out = acts + out_at * LANES
        for i in range(n_out):
            w = p + (offset + i * n_in) * LANES
            for lane in range(LANES):
                s[lane] = w[lane] * a[lane]
            for j in range(1, n_in):
                for lane in range(LANES):
                    s[lane] += w[j * LANES + lane] * a[j * LANES + lane]
            for lane in range(LANES):
                a_out[i * LANES + lane] = s[lane] + p[(biases + i) * LANES + lane]
        if layer == n_layers:
            for k in range(n_out * LANES):
                out_sums[k] = a_out[k]
        if code == SOFTMAX:
            # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s, in every lane
            for lane in range(LANES):
                m[lane] = out_sums[lane]
                total[lane] = 0.0
            for i in range(1, n_out):
                for lane in range(LANES):
                    m[lane] = max(m[lane], out_sums[i * LANES + lane])
            for i in range(n_out):
                for lane in range(LANES):
                    a_out[i * LANES + lane] = out_sums[i * LANES + lane] - m[lane]
            _exp_in_place(a_out, n_out * LANES)
            for i in range(n_out):
                for lane in range(LANES):
                    total[lane] += a_out[i * LANES + lane]
            for i in range(n_out):
                for lane in range(LANES):
                    a_out[i * LANES + lane] = a_out[i * LANES + lane] / total[lane]
        else:
            _activate_lanes(code, a_out, n_out * LANES)
        at = out_at
        offset = biases + n_out
    return at


cdef void _net_step_lanes(double* p, double* v, bint use_momentum, const double* learn_rate,
                          const double* momentum, const int64_t* s, Py_ssize_t n_layers,
                          Py_ssize_t n_params, Py_ssize_t n_acts, int hidden, int output, int loss,
                          const double* x, const double* y, double* a, double* g, double* g_prev,
                          double* out_sums) noexcept nogil:
    # One step of net_train, on the sample (x, y), in every lane of a block.
    cdef Py_ssize_t n_out_net = s[n_layers]
    cdef Py_ssize_t at, layer, i, j, n_in, n_out, w0, b0, a_in, a_out, p_end, a_end
    cdef int code, fp_output, lane
    cdef double lr[LANES]
    cdef double mom[LANES]
    cdef double fp[LANES]
    cdef double gi[LANES]
    cdef double dot[LANES]
    cdef double wj, term
    cdef double* w
    cdef double* vw
    cdef const double* ain
    cdef double* swap
    for lane in range(LANES):
        lr[lane] = learn_rate[lane]
        mom[lane] = momentum[lane]
    at = _net_forward_lanes(p, s, n_layers, hidden, output, x, a, out_sums)

    # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
    if loss == MSE:
        for i in range(n_out_net):
            for lane in range(LANES):
                g[i * LANES + lane] = lr[lane] * (-2 * (y[i] - a[(at + i) * LANES + lane]) / n_out_net)
        if output == SOFTMAX:
            # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
            for lane in range(LANES):
                dot[lane] = 0.0
            for j in range(n_out_net):
                for lane in range(LANES):
                    dot[lane] += ((-2 * (y[j] - a[(at + j) * LANES + lane]) / n_out_net)
                                  * a[(at + j) * LANES + lane])
            for i in range(n_out_net):
                for lane in range(LANES):
                    g[i * LANES + lane] = lr[lane] * (a[(at + i) * LANES + lane]
                                                * (-2 * (y[i] - a[(at + i) * LANES + lane]) / n_out_net
                                                   - dot[lane]))
            fp_output = IDENTITY
        else:
            fp_output = output
    else:
        # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
        for i in range(n_out_net):
            if output == SIGMOID:
                for lane in range(LANES):
                    g[i * LANES + lane] = lr[lane] * ((a[(at + i) * LANES + lane] - y[i]) / n_out_net)
            else:
                for lane in range(LANES):
                    g[i * LANES + lane] = lr[lane] * (a[(at + i) * LANES + lane] - y[i])
        fp_output = IDENTITY

    # --- Back through the layers, last first
    p_end = n_params
    a_end = n_acts
    for layer in range(n_layers, 0, -1):
        n_in = s[layer - 1]
        n_out = s[layer]
        b0 = p_end - n_out
        w0 = b0 - n_out * n_in
        a_out = a_end - n_out
        a_in = a_out - n_in
        code = fp_output if layer == n_layers else hidden
        ain = a + a_in * LANES
        for i in range(n_out):
            _derivative_lanes(code, a + (a_out + i) * LANES, fp)
            for lane in range(LANES):
                gi[lane] = g[i * LANES + lane]
            w = p + (w0 + i * n_in) * LANES
            if layer > 1 and not use_momentum:
                # the previous layer's g, from the weights before this update, and the update, in
                # one pass over the row
                for j in range(n_in):
                    for lane in range(LANES):
                        wj = w[j * LANES + lane]
                        term = gi[lane] * (wj * fp[lane])
                        g_prev[j * LANES + lane] = term if i == 0 else g_prev[j * LANES + lane] + term
                        w[j * LANES + lane] = wj - gi[lane] * (ain[j * LANES + lane] * fp[lane])
                for lane in range(LANES):
                    p[(b0 + i) * LANES + lane] -= gi[lane] * fp[lane]
                continue
            if layer > 1:
                # the previous layer's g, from the weights before this update
                for j in range(n_in):
                    for lane in range(LANES):
                        term = gi[lane] * (w[j * LANES + lane] * fp[lane])
                        g_prev[j * LANES + lane] = term if i == 0 else g_prev[j * LANES + lane] + term
            if use_momentum:
                vw = v + (w0 + i * n_in) * LANES
                for j in range(n_in):
                    for lane in range(LANES):
                        vw[j * LANES + lane] = (mom[lane] * vw[j * LANES + lane]
                                                - gi[lane] * (ain[j * LANES + lane] * fp[lane]))
                        w[j * LANES + lane] += vw[j * LANES + lane]
                for lane in range(LANES):
                    v[(b0 + i) * LANES + lane] = mom[lane] * v[(b0 + i) * LANES + lane] - gi[lane] * fp[lane]
                    p[(b0 + i) * LANES + lane] += v[(b0 + i) * LANES + lane]
            else:
                for j in range(n_in):
                    for lane in range(LANES):
                        w[j * LANES + lane] -= gi[lane] * (ain[j * LANES + lane] * fp[lane])
                for lane in range(LANES):
                    p[(b0 + i) * LANES + lane] -= gi[lane] * fp[lane]
        swap = g
        g = g_prev
        g_prev = swap
        p_end = w0
        a_end = a_out


def net_train_many(double[:, :, ::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
                   const double[:, ::1] data, const double[:, ::1] targets,
                   const double[:, ::1] learn_rate, const double[:, ::1] momentum,
                   double[:, :, ::1] velocity, Py_ssize_t epoch_start, Py_ssize_t epoch_stop,
                   Py_ssize_t loss_every, double[:, ::1] losses, double[:, ::1] acts,
                   double[:, :, ::1] grads, double[:, ::1] out_sums, double[::1] single):
    """:func:`net_train` for blocks of ``LANES`` networks of one configuration, stepped together.

    The arguments are those of ``_python_network.net_train_many``; see its docstring.
    """
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1, n_blocks = params.shape[0]
    cdef Py_ssize_t n_params = params.shape[1], n_acts = acts.shape[0]
    cdef Py_ssize_t epoch, t, block, lane, k
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef bint use_momentum
    cdef const int64_t* s = &sizes[0]
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                for block in range(n_blocks):
                    use_momentum = False
                    for lane in range(LANES):
                        use_momentum = use_momentum or momentum[block, lane] != 0.0
                    _net_step_lanes(&params[block, 0, 0], &velocity[block, 0, 0], use_momentum,
                                    &learn_rate[block, 0], &momentum[block, 0], s, n_layers, n_params,
                                    n_acts, hidden, output, loss, &data[t, 0], &targets[t, 0], &acts[0, 0],
                                    &grads[0, 0, 0], &grads[1, 0, 0], &out_sums[0, 0])
            if loss_every > 0 and epoch % loss_every == 0:
                for block in range(n_blocks):
                    for lane in range(LANES):
                        for k in range(n_params):
                            single[k] = params[block, k, lane]
                        losses[block * LANES + lane, column] = _net_mean_loss(
                            &single[0], s, n_layers, hidden, output, loss, &data[0, 0], &targets[0, 0], n,
                            &single[n_params], &single[n_params + n_acts])
                column += 1
