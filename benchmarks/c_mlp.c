/* tinynet.Network's training loop as plain C: the same arithmetic in the same order as its kernels
 * (sigmoid/tanh/relu hidden layers; sigmoid, identity or softmax output; mse or cross-entropy; no
 * momentum, no shuffling, no loss recording). The benchmarks' yardstick for Network; built with
 * the extension's flags. Not part of the package. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tn_exp.h"      /* tinynet's exp; and, through tn_data.h, the activation and loss codes */

static double sigmoid(double x) { return 1.0 / (1.0 + tn_exp(-x)); }

static double activate(int code, double s)
{
    switch (code) {
    case SIGMOID: return sigmoid(s);
    case TANH: return tanh(s);
    case RELU: return s > 0.0 ? s : 0.0;
    default: return s;
    }
}

static double derivative(int code, double a)
{
    switch (code) {
    case SIGMOID: return a * (1 - a);
    case TANH: return 1 - a * a;
    case RELU: return a > 0.0 ? 1.0 : 0.0;
    default: return 1.0;
    }
}

static ptrdiff_t forward(const double *p, const int64_t *sizes, ptrdiff_t layers, int hidden,
                         int output, const double *x, double *acts)
{
    ptrdiff_t at = 0, offset = 0;
    for (ptrdiff_t j = 0; j < sizes[0]; j++) acts[j] = x[j];
    for (ptrdiff_t layer = 1; layer <= layers; layer++) {
        ptrdiff_t n_in = sizes[layer - 1], n_out = sizes[layer], out_at = at + n_in;
        ptrdiff_t biases = offset + n_out * n_in;
        int code = layer < layers ? hidden : output;
        for (ptrdiff_t i = 0; i < n_out; i++) {
            ptrdiff_t row = offset + i * n_in;
            double s = p[row] * acts[at];
            for (ptrdiff_t j = 1; j < n_in; j++) s += p[row + j] * acts[at + j];
            s += p[biases + i];
            acts[out_at + i] = code == SOFTMAX ? s : activate(code, s);
        }
        if (code == SOFTMAX) {
            double m = acts[out_at], total = 0.0;
            for (ptrdiff_t i = 1; i < n_out; i++) m = fmax(m, acts[out_at + i]);
            for (ptrdiff_t i = 0; i < n_out; i++) {
                double e = tn_exp(acts[out_at + i] - m);
                acts[out_at + i] = e;
                total += e;
            }
            for (ptrdiff_t i = 0; i < n_out; i++) acts[out_at + i] = acts[out_at + i] / total;
        }
        at = out_at;
        offset = biases + n_out;
    }
    return at;
}

/* work: sum(sizes) + 2 * max(sizes) doubles */
void train_plain_c(double *p, const int64_t *sizes, ptrdiff_t layers, int hidden, int output,
                   int loss, const double *data, const double *targets, ptrdiff_t n,
                   double learn_rate, ptrdiff_t epochs, double *work)
{
    ptrdiff_t total = 0, widest = 0, k = sizes[layers];
    ptrdiff_t starts[65], offsets[65];
    for (ptrdiff_t l = 0; l <= layers; l++) {
        total += sizes[l];
        if (sizes[l] > widest) widest = sizes[l];
    }
    double *acts = work, *g = work + total, *g_prev = work + total + widest;
    starts[0] = 0;
    offsets[0] = offsets[1] = 0;
    for (ptrdiff_t l = 1; l <= layers; l++) {
        starts[l] = starts[l - 1] + sizes[l - 1];
        if (l > 1) offsets[l] = offsets[l - 1] + sizes[l - 1] * sizes[l - 2] + sizes[l - 1];
    }
    for (ptrdiff_t epoch = 0; epoch < epochs; epoch++) {
        for (ptrdiff_t t = 0; t < n; t++) {
            const double *y = targets + t * k;
            ptrdiff_t at = forward(p, sizes, layers, hidden, output, data + t * sizes[0], acts);
            int fp_output = IDENTITY;
            if (loss == MSE && output != SOFTMAX) {
                for (ptrdiff_t i = 0; i < k; i++) g[i] = learn_rate * (-2 * (y[i] - acts[at + i]) / k);
                fp_output = output;
            } else if (loss == CROSS_ENTROPY) {
                for (ptrdiff_t i = 0; i < k; i++)
                    g[i] = learn_rate * (output == SIGMOID ? (acts[at + i] - y[i]) / k : acts[at + i] - y[i]);
            }
            for (ptrdiff_t layer = layers; layer >= 1; layer--) {
                ptrdiff_t n_in = sizes[layer - 1], n_out = sizes[layer], w0 = offsets[layer];
                ptrdiff_t b0 = w0 + n_out * n_in, a_in = starts[layer - 1], a_out = starts[layer];
                int code = layer == layers ? fp_output : hidden;
                for (ptrdiff_t i = 0; i < n_out; i++) {
                    double fp = derivative(code, acts[a_out + i]), gi = g[i];
                    ptrdiff_t row = w0 + i * n_in;
                    if (layer > 1)
                        for (ptrdiff_t j = 0; j < n_in; j++) {
                            double term = gi * (p[row + j] * fp);
                            g_prev[j] = i == 0 ? term : g_prev[j] + term;
                        }
                    for (ptrdiff_t j = 0; j < n_in; j++) p[row + j] -= gi * (acts[a_in + j] * fp);
                    p[b0 + i] -= gi * fp;
                }
                double *swap = g;
                g = g_prev;
                g_prev = swap;
            }
        }
    }
}
