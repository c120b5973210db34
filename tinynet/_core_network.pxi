# Cython kernels of tinynet.Network (any layer sizes). Included by _core.pyx; mirrors
# _python_network.py (the readable reference, whose docstring describes the parameter layout and the
# arithmetic) and _numba_network.py function for function.
#
# The kernels are written once over Cython's fused type ``floating``: each is compiled for double
# arrays (float64 Networks) and for float arrays (float32 Networks, whose other backends' kernels
# tools/gen_float32.py writes from the float64 ones). In the float specialisation every operation is
# C's float arithmetic: the rules' float32 forms (their ``_t`` dispatchers, _rules.pxi), float32's exp
# and log, the tiles' float functions; a number written here that meets a float is cast to it
# (``<floating>0.5``), and the options, doubles in the record, are rounded to float as they are read.


def activation(int code, double x, bint prime):
    """Activation ``code``'s f(x), or with ``prime`` its f'(x) (see ``_python_network.activation``)."""
    if prime:
        _check_codes(code, IDENTITY)
    else:
        _check_codes(IDENTITY, code)
    return _derivative(code, x) if prime else _activate(code, x)


cdef inline void _neuron_output(floating s, Py_ssize_t i, int code, bint last, floating* a_out,
                                floating* out_sums) noexcept nogil:
    # Neuron i's sum s (with its bias): its activation into a_out[i] (softmax's comes later) and, in
    # the output layer, s itself into out_sums[i].
    if last:
        out_sums[i] = s
    a_out[i] = s if code == SOFTMAX else _activate_t(code, s)


cdef Py_ssize_t _net_forward(const floating* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                             int output, const floating* x, floating* acts, floating* out_sums) noexcept nogil:
    # Feedforward of one sample x: every layer's activations into acts, the output layer's sums into
    # out_sums. Returns where the output layer's activations start in acts.
    cdef Py_ssize_t at = 0, offset = 0, out_at, biases, layer, i, j, row, n_in, n_out
    cdef int code
    cdef bint last
    cdef floating s, s0, s1, s2, s3, m, e, total
    cdef const floating* a
    cdef floating* a_out
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
                e = _exp_t(out_sums[i] - m)
                a_out[i] = e
                total += e
            for i in range(n_out):
                a_out[i] = a_out[i] / total
        at = out_at
        offset = biases + n_out
    return at


cdef floating _net_output_loss(int output, int loss, const floating* y, const floating* a,
                             Py_ssize_t n_out) noexcept nogil:
    # The loss of one sample under one of scikit-learn's losses, from its output activations a, as
    # scikit-learn computes it (see _codes).
    cdef floating total = 0.0, c
    cdef Py_ssize_t i
    if loss == SQUARED_ERROR:
        # half the mean over the outputs of (y - a)^2
        for i in range(n_out):
            total += _error_squared_t(y[i], a[i])
        return <floating>0.5 * (total / n_out)
    if loss == POISSON:
        # half the Poisson deviance: y log(y / a) - y + a
        for i in range(n_out):
            total += _poisson_deviance_t(y[i], a[i])
        return total
    # the log-loss of the probabilities clipped to [LOG_EPS, 1 - LOG_EPS]
    for i in range(n_out):
        c = _clipped_t(a[i])
        if output == SIGMOID:
            total += _binary_log_likelihood_t(y[i], c)
        else:
            total += _xlogy_t(y[i], c)
    return -total


cdef floating _net_sample_loss(int output, int loss, const floating* y, const floating* a,
                             const floating* out_sums, Py_ssize_t n_out) noexcept nogil:
    # The loss of one sample: targets y, output activations a, the output layer's sums out_sums.
    cdef floating total = 0.0, m, loss_value
    cdef Py_ssize_t i
    if loss > CROSS_ENTROPY:
        return _net_output_loss(output, loss, y, a, n_out)
    if loss == MSE:
        # mean over the outputs of (y - a)^2
        for i in range(n_out):
            total += _error_squared_t(y[i], a[i])
        return total / n_out
    if output == SIGMOID:
        # binary cross-entropy from the sums: y * softplus(-s) + (1 - y) * softplus(s)
        for i in range(n_out):
            total += _binary_cross_entropy_t(y[i], out_sums[i])
        return total / n_out
    # categorical cross-entropy: log(sum of e^s) - sum of y * s, stably
    m = out_sums[0]
    for i in range(1, n_out):
        m = max(m, out_sums[i])
    for i in range(n_out):
        total += _exp_t(out_sums[i] - m)
    loss_value = m + _log_t(total)
    for i in range(n_out):
        loss_value -= y[i] * out_sums[i]
    return loss_value


cdef floating _net_mean_loss(const floating* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                           int output, int loss, const floating* data, const floating* targets,
                           Py_ssize_t n, floating* acts, floating* out_sums) noexcept nogil:
    # The mean loss over the samples, summed in numpy's pairwise order.
    cdef floating leaf[PW_BLOCKSIZE]
    cdef Walk walk
    cdef Py_ssize_t lo, m, t, at, n_in = sizes[0], n_out = sizes[n_layers]
    _walk_start(&walk, n, sizeof(floating) == sizeof(float))
    while _walk_next(&walk, &lo, &m):
        for t in range(m):
            at = _net_forward(p, sizes, n_layers, hidden, output, data + (lo + t) * n_in, acts, out_sums)
            leaf[t] = _net_sample_loss(output, loss, targets + (lo + t) * n_out, acts + at, out_sums,
                                       n_out)
        _walk_push(&walk, _pairwise_block(leaf, m))
    return <floating>_walk_total(&walk) / n


cdef inline int _net_output_g(int output, int loss, const floating* y, const floating* acts, Py_ssize_t at,
                              Py_ssize_t n_out, floating scale, floating* g) noexcept nogil:
    # The output layer's g_i = scale * dL/da_i, and the code of the derivative f' that goes with it
    # (see _python_network._net_output_g).
    cdef Py_ssize_t i, j
    cdef floating dot
    if loss > CROSS_ENTROPY:
        # scikit-learn's losses, each with its own output: dL/ds_i = a_i - y_i
        for i in range(n_out):
            g[i] = scale * (acts[at + i] - y[i])
        return IDENTITY
    if loss == MSE:
        for i in range(n_out):
            g[i] = scale * _mse_gradient_t(y[i], acts[at + i], n_out)
        if output != SOFTMAX:
            return output
        # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
        dot = 0.0
        for j in range(n_out):
            dot += _mse_gradient_t(y[j], acts[at + j], n_out) * acts[at + j]
        for i in range(n_out):
            g[i] = scale * (acts[at + i] * (_mse_gradient_t(y[i], acts[at + i], n_out) - dot))
        return IDENTITY
    # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
    for i in range(n_out):
        if output == SIGMOID:
            g[i] = scale * _mean_output_error_t(y[i], acts[at + i], n_out)
        else:
            g[i] = scale * (acts[at + i] - y[i])
    return IDENTITY


def net_feedforward(const floating[::1] params, const int64_t[::1] sizes, int hidden, int output,
                    const floating[:, ::1] data, floating[:, ::1] out, floating[::1] acts,
                    floating[::1] out_sums, floating[:, ::1] work, floating[:, ::1] rows):
    """Write the network's outputs for every row of ``data`` into ``out`` (shape (n, n_out)).

    The arguments are those of ``_python_network.net_feedforward``; see its docstring.
    """
    _check_codes(hidden, output)
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1, n_out = sizes[sizes.shape[0] - 1]
    cdef Py_ssize_t t, i, at
    cdef floating* w = &work[0, 0] if work.shape[1] > 0 else NULL
    with nogil:
        if w != NULL:       # through the working layout's tiles (net_forward_scratch decides)
            _to_working(&params[0], &sizes[0], n_layers, w)
        for t in range(data.shape[0]):
            if w != NULL:
                at = _net_forward_work(w, &sizes[0], n_layers, hidden, output, &data[t, 0], &acts[0],
                                       &rows[0, 0], NULL, NULL)
            else:
                at = _net_forward(&params[0], &sizes[0], n_layers, hidden, output, &data[t, 0], &acts[0],
                                  &out_sums[0])
            for i in range(n_out):
                out[t, i] = acts[at + i]


def net_loss(const floating[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
             const floating[:, ::1] data, const floating[:, ::1] targets, floating[::1] acts,
             floating[::1] out_sums, floating[:, ::1] work, floating[:, ::1] rows):
    """The mean loss over the samples, summed in numpy's pairwise order.

    The arguments are those of ``_python_network.net_loss``; see its docstring.
    """
    _check_codes(hidden, output)
    _check_loss(loss)
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1
    cdef floating value
    cdef floating* w = &work[0, 0] if work.shape[1] > 0 else NULL
    with nogil:
        if w != NULL:       # through the working layout's tiles (net_forward_scratch decides)
            _to_working(&params[0], &sizes[0], n_layers, w)
            value = _net_mean_loss_work(w, &sizes[0], n_layers, hidden, output, loss, &data[0, 0],
                                        &targets[0, 0], data.shape[0], &acts[0], &rows[0, 0], &out_sums[0])
        else:
            value = _net_mean_loss(&params[0], &sizes[0], n_layers, hidden, output, loss, &data[0, 0],
                                   &targets[0, 0], data.shape[0], &acts[0], &out_sums[0])
    return value


# --- training: the public layout, for narrow networks ---------------------------------------------

cdef inline void _net_backward(floating* p, floating* v, floating momentum, const int64_t* s,
                               Py_ssize_t n_layers, Py_ssize_t n_params, Py_ssize_t n_acts, int hidden,
                               int fp_output, const floating* a, floating* g, floating* g_prev) noexcept nogil:
    # net_train's step back through the layers on the public layout (see _python_network.net_train),
    # for networks whose every layer has fewer than NARROW neurons (_codes.NARROW): there the working
    # layout's vectors would be mostly padding.
    cdef Py_ssize_t p_end = n_params, a_end = n_acts
    cdef Py_ssize_t layer, i, j, n_in, n_out, w0, b0, a_in, a_out, row
    cdef int code
    cdef floating fp, gi, term
    cdef floating* swap
    for layer in range(n_layers, 0, -1):
        n_in = s[layer - 1]
        n_out = s[layer]
        b0 = p_end - n_out            # the layer's biases
        w0 = b0 - n_out * n_in        # the layer's weights
        a_out = a_end - n_out         # its activations
        a_in = a_out - n_in           # its inputs' activations
        code = fp_output if layer == n_layers else hidden
        for i in range(n_out):
            fp = _derivative_t(code, a[a_out + i])
            gi = g[i]
            row = w0 + i * n_in
            if layer > 1:
                # the previous layer's g, from the weights before this update
                for j in range(n_in):
                    term = gi * (p[row + j] * fp)
                    g_prev[j] = term if i == 0 else g_prev[j] + term
            # the rules sgd and velocity, the learning rate folded into g_i (see _python_network)
            if momentum != 0.0:
                for j in range(n_in):
                    v[row + j] = _velocity_t(v[row + j], a[a_in + j] * fp, momentum, gi)
                    p[row + j] += v[row + j]
                v[b0 + i] = _velocity_t(v[b0 + i], fp, momentum, gi)
                p[b0 + i] += v[b0 + i]
            else:
                for j in range(n_in):
                    p[row + j] = _sgd_t(p[row + j], a[a_in + j] * fp, gi)
                p[b0 + i] = _sgd_t(p[b0 + i], fp, gi)
        swap = g
        g = g_prev
        g_prev = swap
        p_end = w0
        a_end = a_out


cdef void _net_train_narrow(floating* p, floating* v, const int64_t* s, Py_ssize_t n_layers,
                            Py_ssize_t n_params, Py_ssize_t n_acts, int hidden, int output, int loss,
                            const floating* data, const floating* targets, Py_ssize_t n, const int64_t* order,
                            Py_ssize_t order_stride, floating learn_rate, floating momentum,
                            Py_ssize_t epoch_start, Py_ssize_t epoch_stop, Py_ssize_t loss_every,
                            double* losses, floating* a, floating* g, floating* g_prev,
                            floating* out_sums) noexcept nogil:
    # net_train on the public layout (its own function, so that its short loops get the compiler's
    # full attention): losses is the row of recorded losses, order (when not NULL) the epochs' orders.
    cdef Py_ssize_t n_in0 = s[0], n_out_net = s[n_layers]
    cdef Py_ssize_t epoch, t, sample, at, column = 0
    cdef int fp_output
    for epoch in range(epoch_start, epoch_stop):
        for t in range(n):
            sample = order[(epoch - epoch_start) * order_stride + t] if order != NULL else t
            at = _net_forward(p, s, n_layers, hidden, output, data + sample * n_in0, a, out_sums)
            fp_output = _net_output_g(output, loss, targets + sample * n_out_net, a, at, n_out_net,
                                      learn_rate, g)
            _net_backward(p, v, momentum, s, n_layers, n_params, n_acts, hidden, fp_output, a, g, g_prev)
        if loss_every > 0 and epoch % loss_every == 0:
            losses[column] = _net_mean_loss(p, s, n_layers, hidden, output, loss, data, targets, n, a,
                                            out_sums)
            column += 1


# --- training: the working layout --------------------------------------------------------------
# Training keeps the parameters (and the optimizer's state, and a batch's gradient) in a working copy
# laid out for vector instructions: for each layer, its weights input-major (row j holds the weights
# from input j to every neuron, padded with zeros to a stride that is a multiple of NET_VEC doubles or
# NET_VEC32 floats, _row_multiple), then its biases (one such row). A layer's sums then advance up to
# 32 neurons at a time in registers (tn_sums, _tiles.h), each still summed over its inputs in the order
# j = 0, 1, ...; an update runs along a row, across the neurons. The copy is made as a kernel call
# starts and written back before each recorded loss and as it ends. The arithmetic is element by
# element that of the public layout.

cdef extern from "_tiles.h" nogil:
    void tn_sums(const double* wt, Py_ssize_t st, const double* a, Py_ssize_t n_in, double* out)
    void tn_sums4(const double* wt, Py_ssize_t st, const double* a, Py_ssize_t as_, Py_ssize_t n_in,
                  double* out, Py_ssize_t os)
    void tn_squares(const double* w, Py_ssize_t n, double* acc)
    void tn_update(double* p, const double* grad, double* m, double* v, Py_ssize_t n, int l2, double alpha,
                   double count, int squares, double* acc, int step, const tn_step_options* o)
    void tn_update_outer(double* p, double* m, double* v, Py_ssize_t st, Py_ssize_t n_in, const double* d,
                         const double* a, double alpha, double count, int squares, double* acc, int step,
                         const tn_step_options* o)
    void tn_grad(double* gt, Py_ssize_t st, Py_ssize_t n_in, const double* delta, Py_ssize_t ds,
                 const double* a, Py_ssize_t as_, Py_ssize_t nb, int fresh)
    void tn_back(const double* w, Py_ssize_t st, Py_ssize_t n_in, Py_ssize_t n_out, const double* g,
                 const double* fp, double* out)
    void tn_rows_descend(double* w, Py_ssize_t st, Py_ssize_t n_in, const double* g, const double* fp,
                         const double* a)
    void tn_rows_momentum(double* w, double* v, Py_ssize_t st, Py_ssize_t n_in, const double* g,
                          const double* fp, const double* a, double momentum)
    void tn_rows_update_sums(double* w, double* v, Py_ssize_t st, Py_ssize_t n_in, const double* g,
                             const double* fp, const double* a, double momentum, const double* x,
                             double* out)
    int tn_back_by_copy()
    void tn_back_t(const double* wt, Py_ssize_t sti, Py_ssize_t n_out, const double* g, const double* fp,
                   double* out)
    void tn_rows_descend_t(double* wt, Py_ssize_t sti, Py_ssize_t n_in, Py_ssize_t n_out, const double* g,
                           const double* fp, const double* a)
    void tn_rows_momentum_t(double* wt, double* vt, Py_ssize_t sti, Py_ssize_t n_in, Py_ssize_t n_out,
                            const double* g, const double* fp, const double* a, double momentum)
    # the same for floats (_tiles.h: the functions of _tiles_real.h for float, named with a suffix 32)
    void tn_sums32(const float* wt, Py_ssize_t st, const float* a, Py_ssize_t n_in, float* out)
    void tn_sums432(const float* wt, Py_ssize_t st, const float* a, Py_ssize_t as_, Py_ssize_t n_in,
                    float* out, Py_ssize_t os)
    void tn_squares32(const float* w, Py_ssize_t n, float* acc)
    void tn_update32(float* p, const float* grad, float* m, float* v, Py_ssize_t n, int l2, float alpha,
                     float count, int squares, float* acc, int step, const tn_step_options* o)
    void tn_update_outer32(float* p, float* m, float* v, Py_ssize_t st, Py_ssize_t n_in, const float* d,
                           const float* a, float alpha, float count, int squares, float* acc, int step,
                           const tn_step_options* o)
    void tn_grad32(float* gt, Py_ssize_t st, Py_ssize_t n_in, const float* delta, Py_ssize_t ds,
                   const float* a, Py_ssize_t as_, Py_ssize_t nb, int fresh)
    void tn_back32(const float* w, Py_ssize_t st, Py_ssize_t n_in, Py_ssize_t n_out, const float* g,
                   const float* fp, float* out)
    void tn_rows_descend32(float* w, Py_ssize_t st, Py_ssize_t n_in, const float* g, const float* fp,
                           const float* a)
    void tn_rows_momentum32(float* w, float* v, Py_ssize_t st, Py_ssize_t n_in, const float* g,
                            const float* fp, const float* a, float momentum)
    void tn_rows_update_sums32(float* w, float* v, Py_ssize_t st, Py_ssize_t n_in, const float* g,
                               const float* fp, const float* a, float momentum, const float* x,
                               float* out)
    int tn_back_by_copy32()
    void tn_back_t32(const float* wt, Py_ssize_t sti, Py_ssize_t n_out, const float* g, const float* fp,
                     float* out)
    void tn_rows_descend_t32(float* wt, Py_ssize_t sti, Py_ssize_t n_in, Py_ssize_t n_out, const float* g,
                             const float* fp, const float* a)
    void tn_rows_momentum_t32(float* wt, float* vt, Py_ssize_t sti, Py_ssize_t n_in, Py_ssize_t n_out,
                              const float* g, const float* fp, const float* a, float momentum)


# The tiles over the kernels' element type: the double functions for doubles, the float ones for
# floats (chosen by the compiler, per specialisation).

cdef inline void _tn_sums(const floating* wt, Py_ssize_t st, const floating* a, Py_ssize_t n_in,
                          floating* out) noexcept nogil:
    if floating is double:
        tn_sums(wt, st, a, n_in, out)
    else:
        tn_sums32(wt, st, a, n_in, out)


cdef inline void _tn_sums4(const floating* wt, Py_ssize_t st, const floating* a, Py_ssize_t as_,
                           Py_ssize_t n_in, floating* out, Py_ssize_t os) noexcept nogil:
    if floating is double:
        tn_sums4(wt, st, a, as_, n_in, out, os)
    else:
        tn_sums432(wt, st, a, as_, n_in, out, os)


cdef inline void _tn_squares(const floating* w, Py_ssize_t n, floating* acc) noexcept nogil:
    if floating is double:
        tn_squares(w, n, acc)
    else:
        tn_squares32(w, n, acc)


cdef inline void _tn_update(floating* p, const floating* grad, floating* m, floating* v, Py_ssize_t n, int l2,
                            floating alpha, floating count, int squares, floating* acc, int step,
                            const tn_step_options* o) noexcept nogil:
    if floating is double:
        tn_update(p, grad, m, v, n, l2, alpha, count, squares, acc, step, o)
    else:
        tn_update32(p, grad, m, v, n, l2, alpha, count, squares, acc, step, o)


cdef inline void _tn_update_outer(floating* p, floating* m, floating* v, Py_ssize_t st, Py_ssize_t n_in,
                                  const floating* d, const floating* a, floating alpha, floating count,
                                  int squares, floating* acc, int step,
                                  const tn_step_options* o) noexcept nogil:
    if floating is double:
        tn_update_outer(p, m, v, st, n_in, d, a, alpha, count, squares, acc, step, o)
    else:
        tn_update_outer32(p, m, v, st, n_in, d, a, alpha, count, squares, acc, step, o)


cdef inline void _tn_grad(floating* gt, Py_ssize_t st, Py_ssize_t n_in, const floating* delta, Py_ssize_t ds,
                          const floating* a, Py_ssize_t as_, Py_ssize_t nb, int fresh) noexcept nogil:
    if floating is double:
        tn_grad(gt, st, n_in, delta, ds, a, as_, nb, fresh)
    else:
        tn_grad32(gt, st, n_in, delta, ds, a, as_, nb, fresh)


cdef inline void _tn_back(const floating* w, Py_ssize_t st, Py_ssize_t n_in, Py_ssize_t n_out,
                          const floating* g, const floating* fp, floating* out) noexcept nogil:
    if floating is double:
        tn_back(w, st, n_in, n_out, g, fp, out)
    else:
        tn_back32(w, st, n_in, n_out, g, fp, out)


cdef inline bint _tn_back_by_copy(const floating* like) noexcept nogil:
    # Whether the per-sample kernel keeps a transposed copy of the layers after the first, for arrays
    # of like's type (tn_back_by_copy).
    if floating is double:
        return tn_back_by_copy()
    else:
        return tn_back_by_copy32()


cdef inline void _tn_back_t(const floating* wt, Py_ssize_t sti, Py_ssize_t n_out, const floating* g,
                            const floating* fp, floating* out) noexcept nogil:
    if floating is double:
        tn_back_t(wt, sti, n_out, g, fp, out)
    else:
        tn_back_t32(wt, sti, n_out, g, fp, out)


cdef inline void _tn_rows_t(floating* wt, floating* vt, Py_ssize_t sti, Py_ssize_t n_in, Py_ssize_t n_out,
                            const floating* g, const floating* fp, const floating* a,
                            floating momentum) noexcept nogil:
    # The transposed copy's update: tn_rows_momentum_t when vt is not NULL, else tn_rows_descend_t.
    if floating is double:
        if vt != NULL:
            tn_rows_momentum_t(wt, vt, sti, n_in, n_out, g, fp, a, momentum)
        else:
            tn_rows_descend_t(wt, sti, n_in, n_out, g, fp, a)
    else:
        if vt != NULL:
            tn_rows_momentum_t32(wt, vt, sti, n_in, n_out, g, fp, a, momentum)
        else:
            tn_rows_descend_t32(wt, sti, n_in, n_out, g, fp, a)


cdef inline void _tn_rows_descend(floating* w, Py_ssize_t st, Py_ssize_t n_in, const floating* g,
                                  const floating* fp, const floating* a) noexcept nogil:
    if floating is double:
        tn_rows_descend(w, st, n_in, g, fp, a)
    else:
        tn_rows_descend32(w, st, n_in, g, fp, a)


cdef inline void _tn_rows_momentum(floating* w, floating* v, Py_ssize_t st, Py_ssize_t n_in, const floating* g,
                                   const floating* fp, const floating* a, floating momentum) noexcept nogil:
    if floating is double:
        tn_rows_momentum(w, v, st, n_in, g, fp, a, momentum)
    else:
        tn_rows_momentum32(w, v, st, n_in, g, fp, a, momentum)


cdef inline void _tn_rows_update_sums(floating* w, floating* v, Py_ssize_t st, Py_ssize_t n_in,
                                      const floating* g, const floating* fp, const floating* a,
                                      floating momentum, const floating* x, floating* out) noexcept nogil:
    if floating is double:
        tn_rows_update_sums(w, v, st, n_in, g, fp, a, momentum, x, out)
    else:
        tn_rows_update_sums32(w, v, st, n_in, g, fp, a, momentum, x, out)


cdef inline floating _pairwise_partials(floating* acc, Py_ssize_t n) noexcept nogil:
    # The n partial sums acc[0..n) (n a power of two) added pairwise, in place: for eight,
    # ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])).
    cdef Py_ssize_t q
    while n > 1:
        n //= 2
        for q in range(n):
            acc[q] = acc[2 * q] + acc[2 * q + 1]
    return acc[0]


cdef inline void _exp_in_place(floating* x, Py_ssize_t m) noexcept nogil:
    # x[k] = _exp_t(x[k]) for k < m, m a multiple of EXP_LANES: EXP_LANES values at a time through
    # _exp_lanes_t (whose loops of constant trip count the compiler turns into vector instructions).
    cdef Py_ssize_t k
    cdef int lane
    cdef floating y[EXP_LANES]
    cdef floating e[EXP_LANES]
    for k in range(m // EXP_LANES):
        for lane in range(EXP_LANES):
            y[lane] = x[k * EXP_LANES + lane]
        _exp_lanes_t(y, e)
        for lane in range(EXP_LANES):
            x[k * EXP_LANES + lane] = e[lane]


cdef inline void _activate_lanes(int code, floating* s, Py_ssize_t m) noexcept nogil:
    # s[k] = _activate_t(code, s[k]) for k < m (a layer's sums, every lane: m a multiple of EXP_LANES),
    # in place: the sigmoid's and exp's exps EXP_LANES at a time, every other rule through
    # _activate_each_t.
    cdef Py_ssize_t k
    if code == SIGMOID:
        # _sigmoid(s) = _sigmoid_from_exp(_exp(-s))
        for k in range(m):
            s[k] = -s[k]
        _exp_in_place(s, m)
        for k in range(m):
            s[k] = _sigmoid_from_exp_t(s[k])
    elif code == EXP:
        _exp_in_place(s, m)
    else:
        _activate_each_t(code, s, m)


cdef inline Py_ssize_t _row_multiple(const floating* like) noexcept nogil:
    # The multiple of a layer's row length in the working layout, for the type of the array at like:
    # NET_VEC doubles or NET_VEC32 floats (_codes.row_multiple).
    if floating is float:
        return NET_VEC32
    else:
        return NET_VEC


cdef inline Py_ssize_t _stride(Py_ssize_t n_out, const floating* like) noexcept nogil:
    # A layer's row length in the working layout of an array of like's type: n_out rounded up to a
    # multiple of _row_multiple.
    cdef Py_ssize_t vec = _row_multiple(like)
    return (n_out + vec - 1) // vec * vec


cdef Py_ssize_t _work_size(const int64_t* sizes, Py_ssize_t n_layers, const floating* like) noexcept nogil:
    # The length of the working layout of one flat parameter-like array of like's type.
    cdef Py_ssize_t layer, size = 0
    for layer in range(1, n_layers + 1):
        size += (sizes[layer - 1] + 1) * _stride(sizes[layer], like)
    return size


cdef void _to_working(const floating* p, const int64_t* sizes, Py_ssize_t n_layers,
                      floating* work) noexcept nogil:
    # A flat array laid out as the parameters, into the working layout (whose padding stays zero): each
    # layer's weights transposed TRANSPOSE_BLOCK x TRANSPOSE_BLOCK at a time, so that the rows read and
    # the rows written stay in the cache.
    cdef Py_ssize_t layer, i, j, i0, j0, n_in, n_out, st, off = 0, woff = 0
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        st = _stride(n_out, work)
        i0 = 0
        while i0 < n_out:
            j0 = 0
            while j0 < n_in:
                for i in range(i0, min(i0 + TRANSPOSE_BLOCK, n_out)):
                    for j in range(j0, min(j0 + TRANSPOSE_BLOCK, n_in)):
                        work[woff + j * st + i] = p[off + i * n_in + j]
                j0 += TRANSPOSE_BLOCK
            i0 += TRANSPOSE_BLOCK
        for i in range(n_out):
            work[woff + n_in * st + i] = p[off + n_out * n_in + i]
        off += n_out * n_in + n_out
        woff += (n_in + 1) * st


cdef void _from_working(const floating* work, const int64_t* sizes, Py_ssize_t n_layers,
                        floating* p) noexcept nogil:
    # The working layout back into a flat array laid out as the parameters (blocks as _to_working's).
    cdef Py_ssize_t layer, i, j, i0, j0, n_in, n_out, st, off = 0, woff = 0
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        st = _stride(n_out, work)
        i0 = 0
        while i0 < n_out:
            j0 = 0
            while j0 < n_in:
                for i in range(i0, min(i0 + TRANSPOSE_BLOCK, n_out)):
                    for j in range(j0, min(j0 + TRANSPOSE_BLOCK, n_in)):
                        p[off + i * n_in + j] = work[woff + j * st + i]
                j0 += TRANSPOSE_BLOCK
            i0 += TRANSPOSE_BLOCK
        for i in range(n_out):
            p[off + n_out * n_in + i] = work[woff + n_in * st + i]
        off += n_out * n_in + n_out
        woff += (n_in + 1) * st


cdef void _finish_layer(int code, const floating* bias, Py_ssize_t st, Py_ssize_t n_out, floating* sums,
                       floating* a_out, floating* out_sums) noexcept nogil:
    # A layer's sums (padding included) plus its biases (copied into out_sums, when it is not NULL:
    # the output layer's, for the losses), then their activations into a_out.
    cdef Py_ssize_t i, k, whole
    cdef floating m, total
    for k in range(st):
        sums[k] = sums[k] + bias[k]
    if out_sums != NULL:
        for i in range(n_out):
            out_sums[i] = sums[i]
    # EXP_LANES at a time in vectors (into the padding, where it is wide enough), the rest one by one
    whole = (n_out + EXP_LANES - 1) // EXP_LANES * EXP_LANES
    if whole > st:
        whole = n_out - n_out % EXP_LANES
    if code == SOFTMAX:
        # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s; the exps in vectors as above
        m = sums[0]
        for i in range(1, n_out):
            m = max(m, sums[i])
        for i in range(n_out):
            sums[i] = sums[i] - m
        _exp_in_place(sums, whole)
        for i in range(whole, n_out):
            sums[i] = _exp_t(sums[i])
        total = 0.0
        for i in range(n_out):
            a_out[i] = sums[i]
            total += sums[i]
        for i in range(n_out):
            a_out[i] = a_out[i] / total
    else:
        _activate_lanes(code, sums, whole)
        for i in range(min(whole, n_out)):
            a_out[i] = sums[i]
        for i in range(whole, n_out):
            a_out[i] = _activate_t(code, sums[i])


cdef Py_ssize_t _net_forward_work(const floating* w, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                                  int output, const floating* x, floating* acts, floating* sums,
                                  floating* first, floating* out_sums) noexcept nogil:
    # _net_forward on the working layout w: each layer's sums up to 32 neurons at a time (into sums,
    # padding included), then _finish_layer. The first layer's sums come ready in first when it is not
    # NULL (computed by the previous step, see _net_backward_work); the output layer's sums go into
    # out_sums too, when it is not NULL. Returns where the output layer's activations start in acts.
    cdef Py_ssize_t at = 0, woff = 0, layer, j, n_in, st
    cdef floating* layer_sums
    for j in range(sizes[0]):
        acts[j] = x[j]
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        st = _stride(sizes[layer], w)
        layer_sums = sums
        if layer == 1 and first != NULL:
            layer_sums = first
        else:
            _tn_sums(w + woff, st, acts + at, n_in, sums)
        _finish_layer(hidden if layer < n_layers else output, w + woff + n_in * st, st, sizes[layer],
                      layer_sums, acts + at + n_in, out_sums if layer == n_layers else NULL)
        at += n_in
        woff += (n_in + 1) * st
    return at


cdef floating _net_mean_loss_work(const floating* w, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                                  int output, int loss, const floating* data, const floating* targets,
                                  Py_ssize_t n, floating* acts, floating* sums,
                                  floating* out_sums) noexcept nogil:
    # _net_mean_loss on the working layout w (the same numbers: _net_forward_work's are
    # _net_forward's), each sample's layers through the tiles (sums: a row of the largest stride).
    cdef floating leaf[PW_BLOCKSIZE]
    cdef Walk walk
    cdef Py_ssize_t lo, m, t, at, n_in = sizes[0], n_out = sizes[n_layers]
    _walk_start(&walk, n, sizeof(floating) == sizeof(float))
    while _walk_next(&walk, &lo, &m):
        for t in range(m):
            at = _net_forward_work(w, sizes, n_layers, hidden, output, data + (lo + t) * n_in, acts, sums,
                                   NULL, out_sums)
            leaf[t] = _net_sample_loss(output, loss, targets + (lo + t) * n_out, acts + at, out_sums,
                                       n_out)
        _walk_push(&walk, _pairwise_block(leaf, m))
    return <floating>_walk_total(&walk) / n


cdef Py_ssize_t _net_forward_block(const floating* w, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                                   int output, const floating* data, const int64_t* order_row,
                                   Py_ssize_t first, Py_ssize_t nb, floating* room, Py_ssize_t rs,
                                   floating* sums, Py_ssize_t ss) noexcept nogil:
    # _net_forward_work for the samples first..first+nb-1 of the epoch, each into its row of room
    # (stride rs), layer by layer, four samples at a time (tn_sums4; sums: four rows ss apart).
    cdef Py_ssize_t at = 0, woff = 0, layer, b, q, r, t, n_in, st, n_x = sizes[0]
    for b in range(nb):
        t = first + b
        memcpy(room + b * rs, data + (order_row[t] if order_row != NULL else t) * n_x, n_x * sizeof(floating))
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        st = _stride(sizes[layer], w)
        b = 0
        while b < nb:
            r = min(4, nb - b)
            if r == 4:
                _tn_sums4(w + woff, st, room + b * rs + at, rs, n_in, sums, ss)
            else:
                for q in range(r):
                    _tn_sums(w + woff, st, room + (b + q) * rs + at, n_in, sums + q * ss)
            for q in range(r):
                _finish_layer(hidden if layer < n_layers else output, w + woff + n_in * st, st,
                              sizes[layer], sums + q * ss, room + (b + q) * rs + at + n_in, NULL)
            b += r
        at += n_in
        woff += (n_in + 1) * st
    return at


cdef void _net_backward_work(floating* w, floating* v, floating* wt, floating* vt, Py_ssize_t t_end,
                             floating momentum, const int64_t* s, Py_ssize_t n_layers,
                             Py_ssize_t n_acts, Py_ssize_t total_work, int hidden, int fp_output,
                             const floating* a, floating* g, floating* g_prev, floating* fp, floating* gpad,
                             const floating* x_next, floating* first) noexcept nogil:
    # net_train's step back through the layers, last first, from the output layer's g (see
    # _net_output_g, which folds in the learning rate): each weight takes its term g_i * (a_j * f'_i)
    # (a bias g_i * f'_i), subtracted, or with momentum through its velocity in v; the previous layer's
    # g_j = sum over i of g_i * (w_ij * f'_i), in the order i = 0, 1, ..., from the weights before this
    # update (tn_back), or when wt is not NULL from the layers' transposed copy in wt (ending at t_end;
    # _transposed's layout) along its rows (tn_back_t), which each update keeps equal to the working
    # rows (tn_rows_*_t; with momentum, through the velocities' copy in vt). When x_next is not NULL,
    # the first layer's update also computes the next sample's sums of that layer into first
    # (tn_rows_update_sums), from the updated rows.
    cdef Py_ssize_t woff = total_work, a_end = n_acts, toff = t_end, sti = 0
    cdef Py_ssize_t layer, i, n_in, n_out, st, a_out, a_in
    cdef int code
    cdef floating* wl
    cdef floating* vl
    cdef floating* swap
    for layer in range(n_layers, 0, -1):
        n_in = s[layer - 1]
        n_out = s[layer]
        st = _stride(n_out, w)
        woff -= (n_in + 1) * st
        wl = w + woff
        a_out = a_end - n_out
        a_in = a_out - n_in
        code = fp_output if layer == n_layers else hidden
        _derivative_each_t(code, a + a_out, fp, n_out)
        # g and f'_i padded with zeros to the stride, for the vectors of tn_back and the update
        for i in range(n_out):
            gpad[i] = g[i]
        for i in range(n_out, st):
            gpad[i] = 0.0
            fp[i] = 0.0
        if layer > 1 and wt != NULL:
            sti = _stride(n_in, w)
            toff -= n_out * sti
            _tn_back_t(wt + toff, sti, n_out, gpad, fp, g_prev)
            _tn_rows_t(wt + toff, vt + toff if momentum != 0.0 else NULL, sti, n_in, n_out, gpad, fp,
                       a + a_in, momentum)
        elif layer > 1:
            _tn_back(wl, st, n_in, n_out, gpad, fp, g_prev)
        # the update, row by row through registers
        if momentum != 0.0:
            vl = v + woff
            if layer == 1 and x_next != NULL:
                _tn_rows_update_sums(wl, vl, st, n_in, gpad, fp, a + a_in, momentum, x_next, first)
            else:
                _tn_rows_momentum(wl, vl, st, n_in, gpad, fp, a + a_in, momentum)
            for i in range(n_out):
                vl[n_in * st + i] = _velocity_t(vl[n_in * st + i], fp[i], momentum, g[i])
                wl[n_in * st + i] += vl[n_in * st + i]
        else:
            if layer == 1 and x_next != NULL:
                _tn_rows_update_sums(wl, NULL, st, n_in, gpad, fp, a + a_in, 0.0, x_next, first)
            else:
                _tn_rows_descend(wl, st, n_in, gpad, fp, a + a_in)
            for i in range(n_out):
                wl[n_in * st + i] = _sgd_t(wl[n_in * st + i], fp[i], g[i])
        swap = g
        g = g_prev
        g_prev = swap
        a_end = a_out


def net_train(floating[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
              const floating[:, ::1] data, const floating[:, ::1] targets, const int64_t[:, ::1] order,
              const kernel_options[::1] options, floating[::1] velocity, Py_ssize_t epoch_start,
              Py_ssize_t epoch_stop, Py_ssize_t loss_every, double[:, ::1] losses, floating[::1] acts,
              floating[:, ::1] grads, floating[::1] out_sums, floating[:, ::1] work, floating[:, ::1] rows,
              floating[:, ::1] room):
    """Stochastic gradient descent, one sample at a time, of a network of any layer sizes.

    The arguments are those of ``_python_network.net_train``; see its docstring.
    """
    cdef floating learn_rate = <floating>options[0].learn_rate, momentum = <floating>options[0].momentum
    _check_codes(hidden, output)
    _check_loss(loss)
    _check_per_sample(options[0].optimizer)
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1
    cdef Py_ssize_t n_out_net = sizes[n_layers]
    cdef Py_ssize_t epoch, t, sample, at
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef int fp_output
    cdef floating* p = &params[0]
    cdef floating* w = &work[0, 0]
    cdef floating* v = &work[1, 0]
    cdef floating* a = &acts[0]
    cdef const int64_t* s = &sizes[0]
    cdef Py_ssize_t total_work = _work_size(s, n_layers, w), t_end = 0
    cdef bint by_copy = _tn_back_by_copy(w)
    cdef floating* wt = &work[2, 0] if by_copy else NULL
    cdef bint narrow = True, ready
    cdef Py_ssize_t layer, following
    for layer in range(1, n_layers + 1):
        narrow = narrow and s[layer] < NARROW
    with nogil:
        if narrow:
            # every layer narrower than NARROW: the public layout, the tutorial's loops
            _net_train_narrow(p, &velocity[0], s, n_layers, params.shape[0], acts.shape[0], hidden, output,
                              loss, &data[0, 0], &targets[0, 0], n, &order[0, 0] if order.shape[0] > 0
                              else NULL, n if order.shape[0] > 0 else 0, learn_rate, momentum, epoch_start,
                              epoch_stop, loss_every, &losses[0, 0] if losses.shape[1] > 0 else NULL, a,
                              &grads[0, 0], &grads[1, 0], &out_sums[0])
        else:
            _to_working(p, s, n_layers, w)
            if by_copy:     # the layers after the first transposed too (work[2]; their velocities', work[3])
                t_end = _transposed(w, s, n_layers, wt)
            if momentum != 0.0:
                _to_working(&velocity[0], s, n_layers, v)
                if by_copy:
                    _transposed(v, s, n_layers, &work[3, 0])
            ready = False        # whether rows[3] holds the first layer's sums of the coming sample
            for epoch in range(epoch_start, epoch_stop):
                for t in range(n):
                    sample = order[epoch - epoch_start, t] if order.shape[0] > 0 else t
                    at = _net_forward_work(w, s, n_layers, hidden, output, &data[sample, 0], a,
                                           &rows[0, 0], &rows[3, 0] if ready else NULL, NULL)
                    fp_output = _net_output_g(output, loss, &targets[sample, 0], a, at, n_out_net,
                                              learn_rate, &grads[0, 0])
                    # the next sample of this call, if any
                    if t + 1 < n:
                        following = order[epoch - epoch_start, t + 1] if order.shape[0] > 0 else t + 1
                    elif epoch + 1 < epoch_stop:
                        following = order[epoch + 1 - epoch_start, 0] if order.shape[0] > 0 else 0
                    else:
                        following = -1
                    _net_backward_work(w, v, wt, &work[3, 0], t_end, momentum, s, n_layers,
                                       acts.shape[0], total_work, hidden, fp_output, a, &grads[0, 0],
                                       &grads[1, 0], &rows[1, 0],
                                       &rows[2, 0], &data[following, 0] if following >= 0 else NULL,
                                       &rows[3, 0])
                    ready = following >= 0
                if loss_every > 0 and epoch % loss_every == 0:
                    losses[0, column] = _net_mean_loss_work(w, s, n_layers, hidden, output, loss, &data[0, 0],
                                                            &targets[0, 0], n, a, &rows[0, 0], &out_sums[0])
                    column += 1
            _from_working(w, s, n_layers, p)
            if momentum != 0.0:
                _from_working(v, s, n_layers, &velocity[0])


cdef floating _net_batch_gradient(const floating* w, const int64_t* s, Py_ssize_t n_layers, Py_ssize_t n_acts,
                                Py_ssize_t total_work, int hidden, int output, int loss, const floating* data,
                                const floating* targets, const floating* weights, const int64_t* order_row,
                                Py_ssize_t lo, Py_ssize_t hi, floating* grad, floating* wt, floating* room,
                                Py_ssize_t room_rows, Py_ssize_t rs, floating* sums, Py_ssize_t ss,
                                bint with_loss) noexcept nogil:
    # The sum, over the samples lo..hi-1 of the epoch (through order_row, when not NULL), of each
    # one's gradient (times its weight, when weights is not NULL), into grad (working layout), and with
    # with_loss the sum of their losses (each times its weight), returned, by back-propagation of the
    # deltas (see _python_network._net_batch_gradient), room_rows samples at a time: each one's forward pass into
    # its row of room (stride rs: its activations, its g and the previous layer's, its deltas), then
    # layer by layer the deltas, the previous layer's g, and the block's gradient in register tiles
    # (tn_grad), each element's terms added in the order of the samples. For batches of four samples or
    # more, the previous layer's g comes from the layers' weights transposed into wt (_transposed:
    # neuron-major rows), four samples at a time in register tiles (tn_sums4), each g_j still summed
    # over i = 0, 1, ... from its first product; for fewer, one j at a time from the working layout.
    cdef Py_ssize_t n_out_net = s[n_layers], max_w = 0, toff, t_end = 0, sti, q, r
    cdef bint tiled = hi - lo >= 4
    cdef Py_ssize_t first, last, nb, b, t, sample, at, layer, i, j, n_in, n_out, st, woff, a_end
    cdef Py_ssize_t a_out, a_in, g_at, gp_at, d_at, swap
    cdef int code, fp_output = IDENTITY
    cdef floating scale, total_loss = 0.0
    cdef floating* row
    cdef floating* d
    cdef const floating* wl
    cdef floating* gl
    for layer in range(n_layers + 1):
        max_w = max(max_w, s[layer])
    if tiled:
        t_end = _transposed(w, s, n_layers, wt)
    # The first block's terms start from zero (fresh), the later blocks' add to the sums so far.
    first = lo
    while first < hi:
        last = min(hi, first + room_rows)
        nb = last - first
        g_at = n_acts
        gp_at = n_acts + max_w
        d_at = n_acts + 2 * max_w
        at = _net_forward_block(w, s, n_layers, hidden, output, data, order_row, first, nb, room, rs, sums,
                                ss)
        for b in range(nb):
            t = first + b
            sample = order_row[t] if order_row != NULL else t
            row = room + b * rs
            scale = weights[sample] if weights != NULL else 1.0
            if with_loss:
                total_loss += scale * _net_output_loss(output, loss, targets + sample * n_out_net, row + at,
                                                       n_out_net)
            fp_output = _net_output_g(output, loss, targets + sample * n_out_net, row, at, n_out_net,
                                      scale, row + g_at)
        woff = total_work
        toff = t_end
        a_end = n_acts
        for layer in range(n_layers, 0, -1):
            n_in = s[layer - 1]
            n_out = s[layer]
            st = _stride(n_out, w)
            woff -= (n_in + 1) * st
            wl = w + woff
            gl = grad + woff
            a_out = a_end - n_out
            a_in = a_out - n_in
            code = fp_output if layer == n_layers else hidden
            for b in range(nb):
                row = room + b * rs
                d = row + d_at
                _net_deltas(code, row + g_at, row + a_out, n_out, st, d)
                if layer > 1 and not tiled:
                    _tn_back(wl, st, n_in, n_out, d, NULL, row + gp_at)
            if layer > 1 and tiled:
                # g_j = delta_0 * w_0j + delta_1 * w_1j + ..., from the transposed weights (neuron i's
                # row of stride sti), four samples at a time, through sums
                sti = _stride(n_in, w)
                toff -= n_out * sti
                b = 0
                while b < nb:
                    r = min(4, nb - b)
                    if r == 4:
                        _tn_sums4(wt + toff, sti, room + b * rs + d_at, rs, n_out, sums, ss)
                    else:
                        for q in range(r):
                            _tn_sums(wt + toff, sti, room + (b + q) * rs + d_at, n_out, sums + q * ss)
                    for q in range(r):
                        for j in range(n_in):
                            room[(b + q) * rs + gp_at + j] = sums[q * ss + j]
                    b += r
            _tn_grad(gl, st, n_in, room + d_at, rs, room + a_in, rs, nb, first == lo)
            if first == lo:
                for i in range(st):
                    gl[n_in * st + i] = 0.0
            for b in range(nb):
                d = room + b * rs + d_at
                for i in range(st):
                    gl[n_in * st + i] = gl[n_in * st + i] + d[i]
            swap = g_at
            g_at = gp_at
            gp_at = swap
            a_end = a_out
        first = last
    return total_loss


cdef inline void _net_deltas(int code, const floating* g, const floating* a, Py_ssize_t n_out, Py_ssize_t st,
                             floating* d) noexcept nogil:
    # A layer's deltas for one sample, delta_i = g_i * f'_i (f' from the activations a), padded with
    # zeros to the layer's stride.
    cdef Py_ssize_t i
    _derivative_each_t(code, a, d, n_out)       # one loop per code: the derivatives in vectors
    for i in range(n_out):
        d[i] = g[i] * d[i]
    for i in range(n_out, st):
        d[i] = 0.0


cdef floating _net_sample_update(floating* w, const int64_t* s, Py_ssize_t n_layers, Py_ssize_t n_acts,
                               Py_ssize_t total_work, int hidden, int output, int loss, const floating* data,
                               const floating* targets, const floating* weights, const int64_t* order_row,
                               Py_ssize_t t, floating* room, Py_ssize_t rs, floating* sums, Py_ssize_t ss,
                               bint with_loss, floating* squares, floating alpha, int optimizer,
                               const tn_step_options* o, floating* m, floating* v) noexcept nogil:
    # A batch of one sample, the epoch's t-th: _net_batch_gradient and then _net_update, fused. Each
    # layer, last first, computes its deltas and the previous layer's g (from its weights before the
    # step), then takes its step straight from the deltas and its inputs' activations
    # (tn_update_outer: weight (j, i)'s gradient 0.0 + delta_i * a_j), with no gradient array in
    # between: the same operations on every element as the two in sequence. Returns the sample's loss
    # times its weight (with with_loss; else 0.0); with squares not NULL, the sum of the squared weights
    # before the step into squares[0], in _net_squares's order.
    cdef Py_ssize_t max_w = 0, sample, at, layer, i, n_in, n_out, st, woff, a_end, a_out, a_in
    cdef Py_ssize_t g_at, gp_at, d_at, swap
    cdef int code, fp_output
    cdef floating scale, total_loss = 0.0
    cdef floating acc[NET_VEC32]
    cdef floating* d
    for layer in range(n_layers + 1):
        max_w = max(max_w, s[layer])
    for i in range(_row_multiple(w)):
        acc[i] = 0.0
    g_at = n_acts
    gp_at = n_acts + max_w
    d_at = n_acts + 2 * max_w
    sample = order_row[t] if order_row != NULL else t
    scale = weights[sample] if weights != NULL else 1.0
    at = _net_forward_block(w, s, n_layers, hidden, output, data, order_row, t, 1, room, rs, sums, ss)
    if with_loss:
        total_loss = scale * _net_output_loss(output, loss, targets + sample * s[n_layers], room + at,
                                              s[n_layers])
    fp_output = _net_output_g(output, loss, targets + sample * s[n_layers], room, at, s[n_layers], scale,
                              room + g_at)
    woff = total_work
    a_end = n_acts
    d = room + d_at
    for layer in range(n_layers, 0, -1):
        n_in = s[layer - 1]
        n_out = s[layer]
        st = _stride(n_out, w)
        woff -= (n_in + 1) * st
        a_out = a_end - n_out
        a_in = a_out - n_in
        code = fp_output if layer == n_layers else hidden
        _net_deltas(code, room + g_at, room + a_out, n_out, st, d)
        if layer > 1:
            _tn_back(w + woff, st, n_in, n_out, d, NULL, room + gp_at)
        _tn_update_outer(w + woff, m + woff, v + woff, st, n_in, d, room + a_in, alpha, scale,
                        squares != NULL, acc, optimizer, o)
        swap = g_at
        g_at = gp_at
        gp_at = swap
        a_end = a_out
    if squares != NULL:
        squares[0] = _pairwise_partials(acc, _row_multiple(w))
    return total_loss


cdef Py_ssize_t _transposed(const floating* w, const int64_t* s, Py_ssize_t n_layers,
                            floating* wt) noexcept nogil:
    # The weights of layers 2..L (those through which g goes back) transposed, neuron-major: layer l's
    # neuron i's weights from its inputs j at wt[off_l + i * stride(n_in) + j], the layers one after
    # another (the padding is never written: it stays zero). Returns where the last one ends.
    cdef Py_ssize_t layer, i, j, n_in, n_out, st, sti, woff = (s[0] + 1) * _stride(s[1], w), toff = 0
    for layer in range(2, n_layers + 1):
        n_in = s[layer - 1]
        n_out = s[layer]
        st = _stride(n_out, w)
        sti = _stride(n_in, w)
        for j in range(n_in):
            for i in range(n_out):
                wt[toff + i * sti + j] = w[woff + j * st + i]
        woff += (n_in + 1) * st
        toff += n_out * sti
    return toff


cdef floating _net_batch_weight(const floating* weights, const int64_t* order_row, Py_ssize_t lo,
                              Py_ssize_t hi) noexcept nogil:
    # The batch's weight: its rows' sample weights summed in order, or its number of rows when weights
    # is NULL.
    cdef floating total
    cdef Py_ssize_t t
    if weights == NULL:
        return <floating>(hi - lo)
    total = weights[order_row[lo] if order_row != NULL else lo]
    for t in range(lo + 1, hi):
        total += weights[order_row[t] if order_row != NULL else t]
    return total


cdef floating _net_squares(const floating* w, const int64_t* s, Py_ssize_t n_layers) noexcept nogil:
    # The sum of the squared weights (not the biases) of the working layout, in NET_VEC partial sums
    # (tn_squares; see _python_network._net_squares), then pairwise.
    cdef floating acc[NET_VEC32]
    cdef Py_ssize_t layer, k, n_in, st, woff = _work_size(s, n_layers, w)
    for k in range(_row_multiple(w)):
        acc[k] = 0.0
    for layer in range(n_layers, 0, -1):
        n_in = s[layer - 1]
        st = _stride(s[layer], w)
        woff -= (n_in + 1) * st
        _tn_squares(w + woff, n_in * st, acc)
    return _pairwise_partials(acc, _row_multiple(w))


cdef void _net_mean_gradient(const floating* w, const int64_t* s, Py_ssize_t n_layers, floating* grad,
                             floating count, floating alpha) noexcept nogil:
    # The summed gradient of a batch of weight count made the batch's, in place (working layout; see
    # _python_network._net_mean_gradient): the weights' rows with L2, the biases' row without.
    cdef Py_ssize_t layer, k, n_in, st, woff = 0
    for layer in range(1, n_layers + 1):
        n_in = s[layer - 1]
        st = _stride(s[layer], w)
        for k in range(woff, woff + n_in * st):
            grad[k] = (grad[k] + alpha * w[k]) / count
        for k in range(woff + n_in * st, woff + (n_in + 1) * st):
            grad[k] = grad[k] / count
        woff += (n_in + 1) * st


cdef floating _net_update(floating* w, const int64_t* s, Py_ssize_t n_layers, floating* grad, floating count,
                        floating alpha, bint squares, int optimizer, const tn_step_options* o, floating* m,
                        floating* v) noexcept nogil:
    # _net_mean_gradient, then (with squares) _net_squares, then the step, in one pass over each
    # layer's weight rows and one over its bias row (tn_update): the same operations on each element.
    # Returns the sum of the squared weights from before the step (0.0 without squares).
    cdef floating acc[NET_VEC32]
    cdef Py_ssize_t layer, k, n_in, st, woff = _work_size(s, n_layers, w)
    for k in range(_row_multiple(w)):
        acc[k] = 0.0
    for layer in range(n_layers, 0, -1):
        n_in = s[layer - 1]
        st = _stride(s[layer], w)
        woff -= (n_in + 1) * st
        _tn_update(w + woff, grad + woff, m + woff, v + woff, n_in * st, 1, alpha, count, squares, acc,
                  optimizer, o)
        _tn_update(w + woff + n_in * st, grad + woff + n_in * st, m + woff + n_in * st, v + woff + n_in * st,
                  st, 0, alpha, count, 0, acc, optimizer, o)
    return _pairwise_partials(acc, _row_multiple(w))


def net_train_batch(floating[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
                    const floating[:, ::1] data, const floating[:, ::1] targets, const floating[::1] weights,
                    const int64_t[:, ::1] order, const kernel_options[::1] options,
                    const double[::1] lr_t, floating[:, ::1] moments, int64_t[::1] step,
                    Py_ssize_t epoch_start, Py_ssize_t epoch_stop, Py_ssize_t loss_every,
                    double[:, ::1] losses, double[::1] running, floating[::1] acts, floating[:, ::1] grads,
                    floating[::1] out_sums, floating[:, ::1] work, floating[:, ::1] rows,
                    floating[:, ::1] room):
    """Mini-batch training with L2 and any optimizer step of ``_rules.STEPS``.

    The arguments are those of ``_python_network.net_train_batch``; see its docstring.
    """
    cdef int optimizer = options[0].optimizer
    cdef Py_ssize_t batch_size = options[0].batch_size
    cdef floating alpha = <floating>options[0].alpha
    cdef tn_step_options o
    _check_codes(hidden, output)
    _check_loss(loss)
    _check_optimizer(optimizer)
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1
    cdef Py_ssize_t epoch, lo, hi
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef Py_ssize_t update = 0     # the batches done in this call
    cdef const int64_t* order_row
    cdef const floating* ws = &weights[0] if weights.shape[0] > 0 else NULL
    cdef bint record = running.shape[0] > 0
    cdef floating total_loss, count, batch_loss, accumulated, squares
    cdef floating* p = &params[0]
    cdef floating* w = &work[0, 0]
    cdef floating* wm = &work[1, 0]
    cdef floating* wv = &work[2, 0]
    cdef floating* gw = &work[3, 0]
    cdef const int64_t* s = &sizes[0]
    cdef Py_ssize_t total_work = _work_size(s, n_layers, w)
    with nogil:
        _to_working(p, s, n_layers, w)
        _to_working(&moments[0, 0], s, n_layers, wm)
        _to_working(&moments[1, 0], s, n_layers, wv)
        for epoch in range(epoch_start, epoch_stop):
            order_row = &order[epoch - epoch_start, 0] if order.shape[0] > 0 else NULL
            accumulated = 0.0
            lo = 0
            while lo < n:
                hi = min(n, lo + batch_size)
                count = _net_batch_weight(ws, order_row, lo, hi)
                o = _step_options(&options[0], lr_t[update] if optimizer == ADAM else 0.0)
                squares = 0.0
                if hi - lo == 1:
                    # one sample: its gradient straight into the step
                    total_loss = _net_sample_update(
                        w, s, n_layers, acts.shape[0], total_work, hidden, output, loss, &data[0, 0],
                        &targets[0, 0], ws, order_row, lo, &room[0, 0], room.shape[1], &rows[0, 0],
                        rows.shape[1], record, &squares if record and alpha != 0.0 else NULL, alpha,
                        optimizer, &o, wm, wv)
                else:
                    total_loss = _net_batch_gradient(
                        w, s, n_layers, acts.shape[0], total_work, hidden, output, loss, &data[0, 0],
                        &targets[0, 0], ws, order_row, lo, hi, gw, &work[4, 0], &room[0, 0], room.shape[0],
                        room.shape[1], &rows[0, 0], rows.shape[1], record)
                    squares = _net_update(w, s, n_layers, gw, count, alpha, record and alpha != 0.0,
                                          optimizer, &o, wm, wv)
                if record:
                    batch_loss = total_loss / count
                    if alpha != 0.0:
                        batch_loss += (<floating>0.5 * alpha) * squares / count
                    accumulated += batch_loss * (hi - lo)
                update += 1
                step[0] += 1
                lo = hi
            if record:
                running[epoch - epoch_start] = accumulated / n
            if loss_every > 0 and epoch % loss_every == 0:
                losses[0, column] = _net_mean_loss_work(w, s, n_layers, hidden, output, loss, &data[0, 0],
                                                        &targets[0, 0], n, &acts[0], &rows[0, 0],
                                                        &out_sums[0])
                column += 1
        _from_working(w, s, n_layers, p)
        _from_working(wm, s, n_layers, &moments[0, 0])
        _from_working(wv, s, n_layers, &moments[1, 0])


def net_gradient(const floating[::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
                 const floating[:, ::1] data, const floating[:, ::1] targets, const floating[::1] weights,
                 const kernel_options[::1] options, floating[::1] out, floating[::1] acts,
                 floating[:, ::1] grads, floating[::1] out_sums, floating[:, ::1] work, floating[:, ::1] rows,
                 floating[:, ::1] room):
    """The mean gradient over all samples, with the record's L2 penalty, into ``out``; returns the
    objective (for scikit-learn's losses; NaN for the others).

    The arguments are those of ``_python_network.net_gradient``; see its docstring.
    """
    cdef floating alpha = <floating>options[0].alpha
    _check_codes(hidden, output)
    _check_loss(loss)
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1
    cdef const int64_t* s = &sizes[0]
    cdef Py_ssize_t total_work = _work_size(s, n_layers, &work[0, 0])
    cdef const floating* ws = &weights[0] if weights.shape[0] > 0 else NULL
    cdef bint record = loss > CROSS_ENTROPY
    cdef floating total_loss, count, objective = NAN
    with nogil:
        _to_working(&params[0], s, n_layers, &work[0, 0])
        total_loss = _net_batch_gradient(&work[0, 0], s, n_layers, acts.shape[0], total_work, hidden, output,
                                         loss, &data[0, 0], &targets[0, 0], ws, NULL, 0, n, &work[3, 0],
                                         &work[4, 0], &room[0, 0], room.shape[0], room.shape[1], &rows[0, 0],
                                         rows.shape[1], record)
        count = _net_batch_weight(ws, NULL, 0, n)
        if record:
            objective = total_loss / count
            if alpha != 0.0:
                objective += (<floating>0.5 * alpha) * _net_squares(&work[0, 0], s, n_layers) / count
        _net_mean_gradient(&work[0, 0], s, n_layers, &work[3, 0], count, alpha)
        _from_working(&work[3, 0], s, n_layers, &out[0])
    return objective


# --- net_train_many: networks of one configuration stepped together, lane by lane -------------------
# A block holds nl networks structure-of-arrays (nl = _lanes(p): LANES in float64, LANES32 in float32):
# element k of a network's flat array (parameters, velocities, activations, g, output sums) of lane l
# at [k * nl + l]. Every loop over the lanes below does net_train's arithmetic in every lane, with a
# constant trip count, so the compiler turns it into vector instructions. The per-lane factors are first
# copied into local arrays, which the compiler knows no store can change.

cdef Py_ssize_t _net_forward_lanes(const floating* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                                   int output, const floating* x, floating* acts,
                                   floating* out_sums) noexcept nogil:
    # _net_forward in every lane of a block, on the same sample x: a layer's sums first, then its
    # activations in one pass.
    cdef Py_ssize_t nl = _lanes(p)
    cdef Py_ssize_t at = 0, offset = 0, out_at, biases, layer, i, j, k, n_in, n_out
    cdef int code, lane
    cdef floating s[MAX_LANES]
    cdef floating m[MAX_LANES]
    cdef floating total[MAX_LANES]
    cdef const floating* a
    cdef const floating* w
    cdef floating* a_out
    for j in range(sizes[0]):
        for lane in range(nl):
            acts[j * nl + lane] = x[j]
    for layer in range(1, n_layers + 1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        out_at = at + n_in
        biases = offset + n_out * n_in
        code = hidden if layer < n_layers else output
        a = acts + at * nl
        a_out = acts + out_at * nl
        for i in range(n_out):
            w = p + (offset + i * n_in) * nl
            for lane in range(nl):
                s[lane] = w[lane] * a[lane]
            for j in range(1, n_in):
                for lane in range(nl):
                    s[lane] += w[j * nl + lane] * a[j * nl + lane]
            for lane in range(nl):
                a_out[i * nl + lane] = s[lane] + p[(biases + i) * nl + lane]
        if layer == n_layers:
            for k in range(n_out * nl):
                out_sums[k] = a_out[k]
        if code == SOFTMAX:
            # a_i = e^(s_i - m) / sum of e^(s_j - m), m the largest s, in every lane
            for lane in range(nl):
                m[lane] = out_sums[lane]
                total[lane] = 0.0
            for i in range(1, n_out):
                for lane in range(nl):
                    m[lane] = max(m[lane], out_sums[i * nl + lane])
            for i in range(n_out):
                for lane in range(nl):
                    a_out[i * nl + lane] = out_sums[i * nl + lane] - m[lane]
            _exp_in_place(a_out, n_out * nl)
            for i in range(n_out):
                for lane in range(nl):
                    total[lane] += a_out[i * nl + lane]
            for i in range(n_out):
                for lane in range(nl):
                    a_out[i * nl + lane] = a_out[i * nl + lane] / total[lane]
        else:
            _activate_lanes(code, a_out, n_out * nl)
        at = out_at
        offset = biases + n_out
    return at


cdef void _net_mean_loss_lanes(const floating* p, const int64_t* sizes, Py_ssize_t n_layers, int hidden,
                               int output, int loss, const floating* data, const floating* targets,
                               Py_ssize_t n, floating* acts, floating* out_sums, floating* one,
                               floating* out) noexcept nogil:
    # _net_mean_loss of every network of a block at once (lane j's into out[j]): each sample's forward
    # pass in vectors across the lanes (_net_forward_lanes), its loss lane by lane (_net_sample_loss,
    # from the lane's output activations and sums, copied into one: n_out of each), the losses summed
    # in numpy's pairwise order in vectors across the lanes.
    cdef Py_ssize_t nl = _lanes(p)
    cdef floating leaf[PW_BLOCKSIZE * MAX_LANES]
    cdef floating total[MAX_LANES]
    cdef LaneWalk walk
    cdef Py_ssize_t lo, m, t, at, i, lane, n_in = sizes[0], n_out = sizes[n_layers]
    _lane_walk_start(&walk, n, sizeof(floating) == sizeof(float), nl)
    while _lane_walk_next(&walk, &lo, &m):
        for t in range(m):
            at = _net_forward_lanes(p, sizes, n_layers, hidden, output, data + (lo + t) * n_in, acts,
                                    out_sums)
            for lane in range(nl):
                for i in range(n_out):
                    one[i] = acts[(at + i) * nl + lane]
                    one[n_out + i] = out_sums[i * nl + lane]
                leaf[t * nl + lane] = _net_sample_loss(output, loss, targets + (lo + t) * n_out, one,
                                                       one + n_out, n_out)
        _pairwise_block_lanes(leaf, m, total)
        _lane_walk_push(&walk, total)
    _lane_walk_total(&walk, out)
    for lane in range(nl):
        out[lane] = out[lane] / n


cdef void _net_step_lanes(floating* p, floating* v, bint use_momentum, const floating* learn_rate,
                          const floating* momentum, const int64_t* s, Py_ssize_t n_layers,
                          Py_ssize_t n_params, Py_ssize_t n_acts, int hidden, int output, int loss,
                          const floating* x, const floating* y, floating* a, floating* g, floating* g_prev,
                          floating* out_sums) noexcept nogil:
    # One step of net_train, on the sample (x, y), in every lane of a block.
    cdef Py_ssize_t nl = _lanes(p)
    cdef Py_ssize_t n_out_net = s[n_layers]
    cdef Py_ssize_t at, layer, i, j, n_in, n_out, w0, b0, a_in, a_out, p_end, a_end
    cdef int code, fp_output, lane
    cdef floating lr[MAX_LANES]
    cdef floating mom[MAX_LANES]
    cdef floating fp[MAX_LANES]
    cdef floating gi[MAX_LANES]
    cdef floating dot[MAX_LANES]
    cdef floating wj, term
    cdef floating* w
    cdef floating* vw
    cdef const floating* ain
    cdef floating* swap
    for lane in range(nl):
        lr[lane] = learn_rate[lane]
        mom[lane] = momentum[lane]
    at = _net_forward_lanes(p, s, n_layers, hidden, output, x, a, out_sums)

    # --- Output layer: g_i = learn_rate * dL/da_i and f'_i (or dL/ds_i and 1)
    if loss == MSE:
        for i in range(n_out_net):
            for lane in range(nl):
                g[i * nl + lane] = lr[lane] * _mse_gradient_t(y[i], a[(at + i) * nl + lane], n_out_net)
        if output == SOFTMAX:
            # through the softmax: dL/ds_i = a_i * (dL/da_i - sum_j dL/da_j * a_j)
            for lane in range(nl):
                dot[lane] = 0.0
            for j in range(n_out_net):
                for lane in range(nl):
                    dot[lane] += (_mse_gradient_t(y[j], a[(at + j) * nl + lane], n_out_net)
                                  * a[(at + j) * nl + lane])
            for i in range(n_out_net):
                for lane in range(nl):
                    g[i * nl + lane] = lr[lane] * (a[(at + i) * nl + lane]
                                                * (_mse_gradient_t(y[i], a[(at + i) * nl + lane], n_out_net)
                                                   - dot[lane]))
            fp_output = IDENTITY
        else:
            fp_output = output
    else:
        # cross-entropy with its own output: dL/ds_i = (a_i - y_i) (/ n_out for sigmoid's mean)
        for i in range(n_out_net):
            if output == SIGMOID:
                for lane in range(nl):
                    g[i * nl + lane] = lr[lane] * _mean_output_error_t(y[i], a[(at + i) * nl + lane], n_out_net)
            else:
                for lane in range(nl):
                    g[i * nl + lane] = lr[lane] * (a[(at + i) * nl + lane] - y[i])
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
        ain = a + a_in * nl
        for i in range(n_out):
            _derivative_each_t(code, a + (a_out + i) * nl, fp, nl)
            for lane in range(nl):
                gi[lane] = g[i * nl + lane]
            w = p + (w0 + i * n_in) * nl
            if layer > 1 and not use_momentum:
                # the previous layer's g, from the weights before this update, and the update, in
                # one pass over the row
                for j in range(n_in):
                    for lane in range(nl):
                        wj = w[j * nl + lane]
                        term = gi[lane] * (wj * fp[lane])
                        g_prev[j * nl + lane] = term if i == 0 else g_prev[j * nl + lane] + term
                        w[j * nl + lane] = _sgd_t(wj, ain[j * nl + lane] * fp[lane], gi[lane])
                for lane in range(nl):
                    p[(b0 + i) * nl + lane] = _sgd_t(p[(b0 + i) * nl + lane], fp[lane], gi[lane])
                continue
            if layer > 1:
                # the previous layer's g, from the weights before this update
                for j in range(n_in):
                    for lane in range(nl):
                        term = gi[lane] * (w[j * nl + lane] * fp[lane])
                        g_prev[j * nl + lane] = term if i == 0 else g_prev[j * nl + lane] + term
            if use_momentum:
                vw = v + (w0 + i * n_in) * nl
                for j in range(n_in):
                    for lane in range(nl):
                        vw[j * nl + lane] = _velocity_t(vw[j * nl + lane], ain[j * nl + lane] * fp[lane],
                                                         mom[lane], gi[lane])
                        w[j * nl + lane] += vw[j * nl + lane]
                for lane in range(nl):
                    v[(b0 + i) * nl + lane] = _velocity_t(v[(b0 + i) * nl + lane], fp[lane], mom[lane],
                                                           gi[lane])
                    p[(b0 + i) * nl + lane] += v[(b0 + i) * nl + lane]
            else:
                for j in range(n_in):
                    for lane in range(nl):
                        w[j * nl + lane] = _sgd_t(w[j * nl + lane], ain[j * nl + lane] * fp[lane], gi[lane])
                for lane in range(nl):
                    p[(b0 + i) * nl + lane] = _sgd_t(p[(b0 + i) * nl + lane], fp[lane], gi[lane])
        swap = g
        g = g_prev
        g_prev = swap
        p_end = w0
        a_end = a_out


def net_train_many(floating[:, :, ::1] params, const int64_t[::1] sizes, int hidden, int output, int loss,
                   const floating[:, ::1] data, const floating[:, ::1] targets,
                   const kernel_options[:, ::1] options,
                   floating[:, :, ::1] velocity, Py_ssize_t epoch_start, Py_ssize_t epoch_stop,
                   Py_ssize_t loss_every, double[:, ::1] losses, floating[:, ::1] acts,
                   floating[:, :, ::1] grads, floating[:, ::1] out_sums, floating[::1] single):
    """:func:`net_train` for blocks of networks of one configuration, stepped together (``LANES``
    float64 networks a block, ``LANES32`` float32 ones: ``_codes.lanes``).

    The arguments are those of ``_python_network.net_train_many``; see its docstring.
    """
    _check_codes(hidden, output)
    _check_loss(loss)
    cdef Py_ssize_t n = data.shape[0], n_layers = sizes.shape[0] - 1, n_blocks = params.shape[0]
    cdef Py_ssize_t n_params = params.shape[1], n_acts = acts.shape[0]
    cdef Py_ssize_t epoch, t, block, lane
    cdef Py_ssize_t nl = _lanes(&params[0, 0, 0])
    cdef floating learn_rate[MAX_LANES]
    cdef floating momentum[MAX_LANES]     # a block's, from its networks' options records
    cdef floating block_losses[MAX_LANES]
    _check_lanes(params.shape[2], nl)
    _check_lanes(options.shape[1], nl)
    for block in range(n_blocks):
        for lane in range(nl):
            _check_per_sample(options[block, lane].optimizer)
    cdef Py_ssize_t column = 0     # the next column of losses
    cdef bint use_momentum
    cdef const int64_t* s = &sizes[0]
    with nogil:
        for epoch in range(epoch_start, epoch_stop):
            for t in range(n):
                for block in range(n_blocks):
                    use_momentum = False
                    for lane in range(nl):
                        learn_rate[lane] = <floating>options[block, lane].learn_rate
                        momentum[lane] = <floating>options[block, lane].momentum
                        use_momentum = use_momentum or momentum[lane] != 0.0
                    _net_step_lanes(&params[block, 0, 0], &velocity[block, 0, 0], use_momentum,
                                    learn_rate, momentum, s, n_layers, n_params,
                                    n_acts, hidden, output, loss, &data[t, 0], &targets[t, 0], &acts[0, 0],
                                    &grads[0, 0, 0], &grads[1, 0, 0], &out_sums[0, 0])
            if loss_every > 0 and epoch % loss_every == 0:
                for block in range(n_blocks):
                    _net_mean_loss_lanes(&params[block, 0, 0], s, n_layers, hidden, output, loss, &data[0, 0],
                                         &targets[0, 0], n, &acts[0, 0], &out_sums[0, 0], &single[0],
                                         block_losses)
                    for lane in range(nl):
                        losses[block * nl + lane, column] = block_losses[lane]
                column += 1
