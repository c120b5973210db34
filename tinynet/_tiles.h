/* Register tiles of tinynet.Network's Cython kernels (included by _core_network.pxi).
 *
 * The weights are in the kernels' working layout: input-major, row j holding the weights from input j
 * to every neuron of the layer, `st` of them (the layer's width rounded up to a multiple of TN_VEC,
 * the padding zero). Each function does, element by element, the operations the other backends do
 * one element at a time, in the same order:
 *
 * tn_sums: a layer's sums for one sample,
 *     out[k] = a[0] * wt[k] + a[1] * wt[st + k] + ... + a[n_in - 1] * wt[(n_in - 1) * st + k],
 *     summed left to right (each product rounded, then each sum), as the row-by-row sums of the
 *     public layout; TN_TILE neurons advance together in four vectors that stay in registers.
 * tn_sums4: the same for four samples, each weight loaded once for the four.
 * tn_grad: a layer's gradient summed over a block of samples, sample after sample,
 *     gt[j * st + k] += delta[0][k] * a[0][j], then + delta[1][k] * a[1][j], ... (fresh: from zero);
 *     four rows j by TN_TILE columns k stay in registers across the samples.
 * tn_rows_descend, tn_rows_momentum: the per-sample update of a layer's weight rows,
 *     w[j][k] -= g[k] * (a[j] * fp[k]), or through the velocities v, with g and fp in registers.
 * tn_squares: the squares of the weights, summed into TN_VEC partial sums (acc[k % TN_VEC]), for the
 *     L2 term of scikit-learn's reported loss.
 * tn_update: the batch kernels' whole update of a layer's parameters in one pass (the batch's gradient
 *     with L2, the squares of the weights, the optimizer's step), over arrays said not to overlap
 *     (restrict), so that the loops vectorise (sqrt and division included: the extension is built
 *     with -fno-math-errno, which changes no result).
 *
 * Vectors are GCC/Clang vector extensions: IEEE multiplications and additions lane by lane (no FMA:
 * the extension is built with -ffp-contract=off). Elsewhere (MSVC) plain loops do the same arithmetic.
 */
#ifndef TINYNET_TILES_H
#define TINYNET_TILES_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#define TN_VEC 8            /* doubles in a vector; the rows' stride is a multiple of this */
#define TN_TILE 32          /* columns of the wide tiles */
#define TN_RESTRICT __restrict

#if defined(__GNUC__) || defined(__clang__)

typedef double tn_v8 __attribute__((vector_size(8 * sizeof(double))));

static inline tn_v8 tn_load(const double *p) {
    tn_v8 v;
    memcpy(&v, p, sizeof v);            /* an unaligned load */
    return v;
}

static inline void tn_store(double *p, tn_v8 v) {
    memcpy(p, &v, sizeof v);
}

static inline tn_v8 tn_splat(double x) {
    tn_v8 v = {x, x, x, x, x, x, x, x};
    return v;
}

/* acc[k % TN_VEC] += w[k] * w[k] for k < n, n a multiple of TN_VEC: squares into TN_VEC partial sums,
   a vector of them. */
static inline void tn_squares(const double *w, ptrdiff_t n, double *acc) {
    ptrdiff_t k;
    tn_v8 s = tn_load(acc);
    for (k = 0; k < n; k += TN_VEC) {
        tn_v8 x = tn_load(w + k);
        s = s + x * x;
    }
    tn_store(acc, s);
}

static inline void tn_sums(const double *wt, ptrdiff_t st, const double *a, ptrdiff_t n_in, double *out) {
    ptrdiff_t tile, j;
    for (tile = 0; tile + TN_TILE <= st; tile += TN_TILE) {
        const double *w = wt + tile;
        tn_v8 x = tn_splat(a[0]);
        tn_v8 s0 = tn_load(w) * x, s1 = tn_load(w + 8) * x;
        tn_v8 s2 = tn_load(w + 16) * x, s3 = tn_load(w + 24) * x;
        for (j = 1; j < n_in; j++) {
            w += st;
            x = tn_splat(a[j]);
            s0 = s0 + tn_load(w) * x;
            s1 = s1 + tn_load(w + 8) * x;
            s2 = s2 + tn_load(w + 16) * x;
            s3 = s3 + tn_load(w + 24) * x;
        }
        tn_store(out + tile, s0);
        tn_store(out + tile + 8, s1);
        tn_store(out + tile + 16, s2);
        tn_store(out + tile + 24, s3);
    }
    if (tile < st) {            /* the last 8, 16 or 24 columns: up to three vectors */
        ptrdiff_t left = st - tile;
        const double *w = wt + tile;
        tn_v8 x = tn_splat(a[0]);
        tn_v8 s0 = tn_load(w) * x;
        tn_v8 s1 = left > 8 ? tn_load(w + 8) * x : s0;
        tn_v8 s2 = left > 16 ? tn_load(w + 16) * x : s0;
        for (j = 1; j < n_in; j++) {
            w += st;
            x = tn_splat(a[j]);
            s0 = s0 + tn_load(w) * x;
            if (left > 8)
                s1 = s1 + tn_load(w + 8) * x;
            if (left > 16)
                s2 = s2 + tn_load(w + 16) * x;
        }
        tn_store(out + tile, s0);
        if (left > 8)
            tn_store(out + tile + 8, s1);
        if (left > 16)
            tn_store(out + tile + 16, s2);
    }
}

static inline void tn_sums4(const double *wt, ptrdiff_t st, const double *a, ptrdiff_t as, ptrdiff_t n_in,
                            double *out, ptrdiff_t os) {
    ptrdiff_t tile, j;
    for (tile = 0; tile + TN_TILE <= st; tile += TN_TILE) {
        const double *w = wt + tile;
        tn_v8 w0 = tn_load(w), w1 = tn_load(w + 8), w2 = tn_load(w + 16), w3 = tn_load(w + 24);
        tn_v8 x0 = tn_splat(a[0]), x1 = tn_splat(a[as]), x2 = tn_splat(a[2 * as]), x3 = tn_splat(a[3 * as]);
        tn_v8 s00 = w0 * x0, s01 = w1 * x0, s02 = w2 * x0, s03 = w3 * x0;
        tn_v8 s10 = w0 * x1, s11 = w1 * x1, s12 = w2 * x1, s13 = w3 * x1;
        tn_v8 s20 = w0 * x2, s21 = w1 * x2, s22 = w2 * x2, s23 = w3 * x2;
        tn_v8 s30 = w0 * x3, s31 = w1 * x3, s32 = w2 * x3, s33 = w3 * x3;
        for (j = 1; j < n_in; j++) {
            w += st;
            w0 = tn_load(w); w1 = tn_load(w + 8); w2 = tn_load(w + 16); w3 = tn_load(w + 24);
            x0 = tn_splat(a[j]); x1 = tn_splat(a[as + j]); x2 = tn_splat(a[2 * as + j]);
            x3 = tn_splat(a[3 * as + j]);
            s00 = s00 + w0 * x0; s01 = s01 + w1 * x0; s02 = s02 + w2 * x0; s03 = s03 + w3 * x0;
            s10 = s10 + w0 * x1; s11 = s11 + w1 * x1; s12 = s12 + w2 * x1; s13 = s13 + w3 * x1;
            s20 = s20 + w0 * x2; s21 = s21 + w1 * x2; s22 = s22 + w2 * x2; s23 = s23 + w3 * x2;
            s30 = s30 + w0 * x3; s31 = s31 + w1 * x3; s32 = s32 + w2 * x3; s33 = s33 + w3 * x3;
        }
        tn_store(out + tile, s00); tn_store(out + tile + 8, s01);
        tn_store(out + tile + 16, s02); tn_store(out + tile + 24, s03);
        tn_store(out + os + tile, s10); tn_store(out + os + tile + 8, s11);
        tn_store(out + os + tile + 16, s12); tn_store(out + os + tile + 24, s13);
        tn_store(out + 2 * os + tile, s20); tn_store(out + 2 * os + tile + 8, s21);
        tn_store(out + 2 * os + tile + 16, s22); tn_store(out + 2 * os + tile + 24, s23);
        tn_store(out + 3 * os + tile, s30); tn_store(out + 3 * os + tile + 8, s31);
        tn_store(out + 3 * os + tile + 16, s32); tn_store(out + 3 * os + tile + 24, s33);
    }
    for (; tile < st; tile += TN_VEC) {     /* the rest, a vector of each of the four samples */
        const double *w = wt + tile;
        tn_v8 w0 = tn_load(w);
        tn_v8 s0 = w0 * tn_splat(a[0]), s1 = w0 * tn_splat(a[as]);
        tn_v8 s2 = w0 * tn_splat(a[2 * as]), s3 = w0 * tn_splat(a[3 * as]);
        for (j = 1; j < n_in; j++) {
            w += st;
            w0 = tn_load(w);
            s0 = s0 + w0 * tn_splat(a[j]);
            s1 = s1 + w0 * tn_splat(a[as + j]);
            s2 = s2 + w0 * tn_splat(a[2 * as + j]);
            s3 = s3 + w0 * tn_splat(a[3 * as + j]);
        }
        tn_store(out + tile, s0);
        tn_store(out + os + tile, s1);
        tn_store(out + 2 * os + tile, s2);
        tn_store(out + 3 * os + tile, s3);
    }
}

/* A tile's sums as they start: zero (a fresh gradient: 0.0 + the first term, the bits of summing into
   zeros) or what the rows hold. */
#define TN_START(p) (fresh ? tn_splat(0.0) : tn_load(p))

static inline void tn_grad(double *gt, ptrdiff_t st, ptrdiff_t n_in, const double *delta, ptrdiff_t ds,
                           const double *a, ptrdiff_t as, ptrdiff_t nb, int fresh) {
    ptrdiff_t tile, j, b;
    for (tile = 0; tile + TN_TILE <= st; tile += TN_TILE) {
        for (j = 0; j + 4 <= n_in; j += 4) {
            double *g0 = gt + j * st + tile, *g1 = g0 + st, *g2 = g1 + st, *g3 = g2 + st;
            tn_v8 s00 = TN_START(g0), s01 = TN_START(g0 + 8), s02 = TN_START(g0 + 16), s03 = TN_START(g0 + 24);
            tn_v8 s10 = TN_START(g1), s11 = TN_START(g1 + 8), s12 = TN_START(g1 + 16), s13 = TN_START(g1 + 24);
            tn_v8 s20 = TN_START(g2), s21 = TN_START(g2 + 8), s22 = TN_START(g2 + 16), s23 = TN_START(g2 + 24);
            tn_v8 s30 = TN_START(g3), s31 = TN_START(g3 + 8), s32 = TN_START(g3 + 16), s33 = TN_START(g3 + 24);
            for (b = 0; b < nb; b++) {
                const double *d = delta + b * ds + tile;
                const double *x = a + b * as + j;
                tn_v8 d0 = tn_load(d), d1 = tn_load(d + 8), d2 = tn_load(d + 16), d3 = tn_load(d + 24);
                tn_v8 x0 = tn_splat(x[0]), x1 = tn_splat(x[1]), x2 = tn_splat(x[2]), x3 = tn_splat(x[3]);
                s00 = s00 + d0 * x0; s01 = s01 + d1 * x0; s02 = s02 + d2 * x0; s03 = s03 + d3 * x0;
                s10 = s10 + d0 * x1; s11 = s11 + d1 * x1; s12 = s12 + d2 * x1; s13 = s13 + d3 * x1;
                s20 = s20 + d0 * x2; s21 = s21 + d1 * x2; s22 = s22 + d2 * x2; s23 = s23 + d3 * x2;
                s30 = s30 + d0 * x3; s31 = s31 + d1 * x3; s32 = s32 + d2 * x3; s33 = s33 + d3 * x3;
            }
            tn_store(g0, s00); tn_store(g0 + 8, s01); tn_store(g0 + 16, s02); tn_store(g0 + 24, s03);
            tn_store(g1, s10); tn_store(g1 + 8, s11); tn_store(g1 + 16, s12); tn_store(g1 + 24, s13);
            tn_store(g2, s20); tn_store(g2 + 8, s21); tn_store(g2 + 16, s22); tn_store(g2 + 24, s23);
            tn_store(g3, s30); tn_store(g3 + 8, s31); tn_store(g3 + 16, s32); tn_store(g3 + 24, s33);
        }
        for (; j < n_in; j++) {
            double *g = gt + j * st + tile;
            tn_v8 s0 = TN_START(g), s1 = TN_START(g + 8), s2 = TN_START(g + 16), s3 = TN_START(g + 24);
            for (b = 0; b < nb; b++) {
                const double *d = delta + b * ds + tile;
                tn_v8 xr = tn_splat(a[b * as + j]);
                s0 = s0 + tn_load(d) * xr;
                s1 = s1 + tn_load(d + 8) * xr;
                s2 = s2 + tn_load(d + 16) * xr;
                s3 = s3 + tn_load(d + 24) * xr;
            }
            tn_store(g, s0); tn_store(g + 8, s1); tn_store(g + 16, s2); tn_store(g + 24, s3);
        }
    }
    for (; tile < st; tile += TN_VEC) {     /* the rest, a vector of four rows at a time */
        for (j = 0; j + 4 <= n_in; j += 4) {
            double *g0 = gt + j * st + tile;
            tn_v8 s0 = TN_START(g0), s1 = TN_START(g0 + st), s2 = TN_START(g0 + 2 * st), s3 = TN_START(g0 + 3 * st);
            for (b = 0; b < nb; b++) {
                tn_v8 d0 = tn_load(delta + b * ds + tile);
                const double *x = a + b * as + j;
                s0 = s0 + d0 * tn_splat(x[0]);
                s1 = s1 + d0 * tn_splat(x[1]);
                s2 = s2 + d0 * tn_splat(x[2]);
                s3 = s3 + d0 * tn_splat(x[3]);
            }
            tn_store(g0, s0); tn_store(g0 + st, s1); tn_store(g0 + 2 * st, s2); tn_store(g0 + 3 * st, s3);
        }
        for (; j < n_in; j++) {
            double *g = gt + j * st + tile;
            tn_v8 s0 = TN_START(g);
            for (b = 0; b < nb; b++)
                s0 = s0 + tn_load(delta + b * ds + tile) * tn_splat(a[b * as + j]);
            tn_store(g, s0);
        }
    }
}

#define TN_ROWS 16          /* rows of the per-sample update that take one vector of g and fp */

static inline void tn_rows_descend(double *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in,
                                   const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                                   const double *TN_RESTRICT a) {
    ptrdiff_t j0, j1, q, j;
    for (j0 = 0; j0 < n_in; j0 += TN_ROWS) {          /* rows a block at a time: they stay in L1 */
        j1 = j0 + TN_ROWS < n_in ? j0 + TN_ROWS : n_in;
        for (q = 0; q < st; q += TN_VEC) {
            tn_v8 gq = tn_load(g + q), fq = tn_load(fp + q);
            for (j = j0; j < j1; j++) {
                double *r = w + j * st + q;
                tn_store(r, tn_load(r) - gq * (tn_splat(a[j]) * fq));
            }
        }
    }
}

static inline void tn_rows_momentum(double *TN_RESTRICT w, double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                    const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                                    const double *TN_RESTRICT a, double momentum) {
    ptrdiff_t j0, j1, q, j;
    tn_v8 mu = tn_splat(momentum);
    for (j0 = 0; j0 < n_in; j0 += TN_ROWS) {
        j1 = j0 + TN_ROWS < n_in ? j0 + TN_ROWS : n_in;
        for (q = 0; q < st; q += TN_VEC) {
            tn_v8 gq = tn_load(g + q), fq = tn_load(fp + q);
            for (j = j0; j < j1; j++) {
                double *r = w + j * st + q, *u = v + j * st + q;
                tn_v8 vel = mu * tn_load(u) - gq * (tn_splat(a[j]) * fq);
                tn_store(u, vel);
                tn_store(r, tn_load(r) + vel);
            }
        }
    }
}

/* tn_rows_descend (or tn_rows_momentum, when v is not NULL) of the first layer fused with the next
 * sample's sums of that layer, from the rows just updated:
 *     out[k] = x[0] * w[0][k] + x[1] * w[1][k] + ...   (x the next sample; left to right, as tn_sums)
 * so that the layer's weights pass through the registers once per step instead of twice. */
static inline void tn_rows_update_sums(double *TN_RESTRICT w, double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                       const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                                       const double *TN_RESTRICT a, double momentum,
                                       const double *TN_RESTRICT x, double *TN_RESTRICT out) {
    ptrdiff_t q, j;
    tn_v8 mu = tn_splat(momentum);
    for (q = 0; q + 2 * TN_VEC <= st; q += 2 * TN_VEC) {       /* two vectors of columns at a time */
        tn_v8 g0 = tn_load(g + q), g1 = tn_load(g + q + 8), f0 = tn_load(fp + q), f1 = tn_load(fp + q + 8);
        tn_v8 s0 = g0, s1 = g1;
        for (j = 0; j < n_in; j++) {
            double *r = w + j * st + q;
            tn_v8 aj = tn_splat(a[j]), xj = tn_splat(x[j]), w0, w1;
            if (v) {
                double *u = v + j * st + q;
                tn_v8 v0 = mu * tn_load(u) - g0 * (aj * f0), v1 = mu * tn_load(u + 8) - g1 * (aj * f1);
                tn_store(u, v0);
                tn_store(u + 8, v1);
                w0 = tn_load(r) + v0;
                w1 = tn_load(r + 8) + v1;
            } else {
                w0 = tn_load(r) - g0 * (aj * f0);
                w1 = tn_load(r + 8) - g1 * (aj * f1);
            }
            tn_store(r, w0);
            tn_store(r + 8, w1);
            if (j == 0) {
                s0 = w0 * xj;
                s1 = w1 * xj;
            } else {
                s0 = s0 + w0 * xj;
                s1 = s1 + w1 * xj;
            }
        }
        tn_store(out + q, s0);
        tn_store(out + q + 8, s1);
    }
    for (; q < st; q += TN_VEC) {
        tn_v8 g0 = tn_load(g + q), f0 = tn_load(fp + q), s0 = g0;
        for (j = 0; j < n_in; j++) {
            double *r = w + j * st + q;
            tn_v8 aj = tn_splat(a[j]), w0;
            if (v) {
                double *u = v + j * st + q;
                tn_v8 v0 = mu * tn_load(u) - g0 * (aj * f0);
                tn_store(u, v0);
                w0 = tn_load(r) + v0;
            } else {
                w0 = tn_load(r) - g0 * (aj * f0);
            }
            tn_store(r, w0);
            s0 = j == 0 ? w0 * tn_splat(x[j]) : s0 + w0 * tn_splat(x[j]);
        }
        tn_store(out + q, s0);
    }
}

/* One vector of tn_update's work: the parameters at p, their summed gradient g (before the mean), their
 * optimizer state at m and v; the squares into *s. Inlined into loops whose every flag is invariant. */
static inline void tn_update8(double *TN_RESTRICT p, tn_v8 g, double *TN_RESTRICT m, double *TN_RESTRICT v,
                              int l2, double alpha, double count, int squares, tn_v8 *s, int adam,
                              double learn_rate, double momentum, int nesterov, double beta_1, double beta_2,
                              double lr_t, double epsilon) {
    int q;
    tn_v8 x = tn_load(p), mk, vk, root;
    if (l2) {
        if (squares)
            *s = *s + x * x;
        g = g + tn_splat(alpha) * x;
    }
    if (count != 1.0)
        g = g / tn_splat(count);
    if (adam) {
        mk = tn_splat(beta_1) * tn_load(m) + tn_splat(1 - beta_1) * g;
        vk = tn_splat(beta_2) * tn_load(v) + tn_splat(1 - beta_2) * (g * g);
        for (q = 0; q < TN_VEC; q++)
            root[q] = sqrt(vk[q]);
        x = x + tn_splat(-lr_t) * mk / (root + tn_splat(epsilon));
        tn_store(m, mk);
        tn_store(v, vk);
    } else if (momentum != 0.0) {
        tn_v8 mu = tn_splat(momentum), lr = tn_splat(learn_rate);
        mk = mu * tn_load(m) - lr * g;
        x = x + (nesterov ? mu * mk - lr * g : mk);
        tn_store(m, mk);
    } else {
        x = x - tn_splat(learn_rate) * g;
    }
    tn_store(p, x);
}

/* The batch kernels' whole update of n parameters (n a multiple of TN_VEC: a layer's weight rows, with
 * l2, or its bias row) in one pass over them, element by element what _net_mean_gradient, _net_squares
 * and _net_step do one after another in the other backends: the batch's gradient
 * g = (grad + alpha * p) / count (l2) or grad / count (the division skipped when count is 1: it changes
 * no bit); with squares, p * p (before the step) added into acc[k % TN_VEC]; then the step: Adam (adam),
 * SGD with momentum (momentum != 0; Nesterov's with nesterov) or plain SGD. One pass instead of four: at
 * batch size 1 the update is most of the work, and the passes over the parameters, not the arithmetic,
 * bound it. Not inlined: on its own the compiler keeps its accumulators in registers. */
__attribute__((noinline)) static void tn_update(double *TN_RESTRICT p, const double *TN_RESTRICT grad,
                                                double *TN_RESTRICT m, double *TN_RESTRICT v, ptrdiff_t n,
                                                int l2, double alpha, double count, int squares,
                                                double *TN_RESTRICT acc, int adam, double learn_rate,
                                                double momentum, int nesterov, double beta_1, double beta_2,
                                                double lr_t, double epsilon) {
    ptrdiff_t k;
    tn_v8 s = tn_load(acc);
    for (k = 0; k < n; k += TN_VEC)
        tn_update8(p + k, tn_load(grad + k), m + k, v + k, l2, alpha, count, squares, &s, adam, learn_rate,
                   momentum, nesterov, beta_1, beta_2, lr_t, epsilon);
    tn_store(acc, s);
}

/* tn_update of a layer's weight rows and then its bias row, for a batch of one sample, from its deltas d
 * and its inputs' activations a rather than a gradient array: weight (j, k)'s gradient is
 * 0.0 + d[k] * a[j] and bias k's 0.0 + d[k], tn_grad's sums for one sample (from zero). */
__attribute__((noinline)) static void tn_update_outer(double *TN_RESTRICT p, double *TN_RESTRICT m,
                                                      double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                                      const double *TN_RESTRICT d,
                                                      const double *TN_RESTRICT a, double alpha, double count,
                                                      int squares, double *TN_RESTRICT acc, int adam,
                                                      double learn_rate, double momentum, int nesterov,
                                                      double beta_1, double beta_2, double lr_t,
                                                      double epsilon) {
    ptrdiff_t j, k;
    tn_v8 s = tn_load(acc), zero = tn_splat(0.0);
    for (j = 0; j < n_in; j++) {
        tn_v8 x = tn_splat(a[j]);
        for (k = 0; k < st; k += TN_VEC)
            tn_update8(p + j * st + k, zero + tn_load(d + k) * x, m + j * st + k, v + j * st + k, 1, alpha,
                       count, squares, &s, adam, learn_rate, momentum, nesterov, beta_1, beta_2, lr_t,
                       epsilon);
    }
    for (k = 0; k < st; k += TN_VEC)
        tn_update8(p + n_in * st + k, zero + tn_load(d + k), m + n_in * st + k, v + n_in * st + k, 0, alpha,
                   count, 0, &s, adam, learn_rate, momentum, nesterov, beta_1, beta_2, lr_t, epsilon);
    tn_store(acc, s);
}

#else

static void tn_update(double *p, const double *grad, double *m, double *v, ptrdiff_t n, int l2,
                      double alpha, double count, int squares, double *acc, int adam, double learn_rate,
                      double momentum, int nesterov, double beta_1, double beta_2, double lr_t,
                      double epsilon) {
    ptrdiff_t k;
    for (k = 0; k < n; k++) {
        double g = grad[k];
        if (l2) {
            if (squares)
                acc[k % TN_VEC] = acc[k % TN_VEC] + p[k] * p[k];
            g = g + alpha * p[k];
        }
        if (count != 1.0)
            g = g / count;
        if (adam) {
            m[k] = beta_1 * m[k] + (1 - beta_1) * g;
            v[k] = beta_2 * v[k] + (1 - beta_2) * (g * g);
            p[k] = p[k] + -lr_t * m[k] / (sqrt(v[k]) + epsilon);
        } else if (momentum != 0.0) {
            m[k] = momentum * m[k] - learn_rate * g;
            p[k] = p[k] + (nesterov ? momentum * m[k] - learn_rate * g : m[k]);
        } else {
            p[k] = p[k] - learn_rate * g;
        }
    }
}

static void tn_update_outer(double *p, double *m, double *v, ptrdiff_t st, ptrdiff_t n_in, const double *d,
                            const double *a, double alpha, double count, int squares, double *acc, int adam,
                            double learn_rate, double momentum, int nesterov, double beta_1, double beta_2,
                            double lr_t, double epsilon) {
    double g[TN_VEC];
    ptrdiff_t j, k;
    int q;
    for (j = 0; j <= n_in; j++) {
        for (k = 0; k < st; k += TN_VEC) {
            for (q = 0; q < TN_VEC; q++)
                g[q] = j < n_in ? 0.0 + d[k + q] * a[j] : 0.0 + d[k + q];
            tn_update(p + j * st + k, g, m + j * st + k, v + j * st + k, TN_VEC, j < n_in, alpha, count,
                      squares && j < n_in, acc, adam, learn_rate, momentum, nesterov, beta_1, beta_2, lr_t,
                      epsilon);
        }
    }
}

static void tn_squares(const double *w, ptrdiff_t n, double *acc) {
    ptrdiff_t k;
    for (k = 0; k < n; k++)
        acc[k % TN_VEC] = acc[k % TN_VEC] + w[k] * w[k];
}

static void tn_sums(const double *wt, ptrdiff_t st, const double *a, ptrdiff_t n_in, double *out) {
    ptrdiff_t j, k;
    for (k = 0; k < st; k++)
        out[k] = wt[k] * a[0];
    for (j = 1; j < n_in; j++)
        for (k = 0; k < st; k++)
            out[k] = out[k] + wt[j * st + k] * a[j];
}

static void tn_sums4(const double *wt, ptrdiff_t st, const double *a, ptrdiff_t as, ptrdiff_t n_in,
                     double *out, ptrdiff_t os) {
    ptrdiff_t r;
    for (r = 0; r < 4; r++)
        tn_sums(wt, st, a + r * as, n_in, out + r * os);
}

static void tn_grad(double *gt, ptrdiff_t st, ptrdiff_t n_in, const double *delta, ptrdiff_t ds,
                    const double *a, ptrdiff_t as, ptrdiff_t nb, int fresh) {
    ptrdiff_t j, k, b;
    if (fresh)
        for (k = 0; k < n_in * st; k++)
            gt[k] = 0.0;
    for (b = 0; b < nb; b++)
        for (j = 0; j < n_in; j++)
            for (k = 0; k < st; k++)
                gt[j * st + k] = gt[j * st + k] + delta[b * ds + k] * a[b * as + j];
}

static void tn_rows_descend(double *w, ptrdiff_t st, ptrdiff_t n_in, const double *g, const double *fp,
                            const double *a) {
    ptrdiff_t j, k;
    for (j = 0; j < n_in; j++)
        for (k = 0; k < st; k++)
            w[j * st + k] = w[j * st + k] - g[k] * (a[j] * fp[k]);
}

static void tn_rows_momentum(double *w, double *v, ptrdiff_t st, ptrdiff_t n_in, const double *g,
                             const double *fp, const double *a, double momentum) {
    ptrdiff_t j, k;
    for (j = 0; j < n_in; j++)
        for (k = 0; k < st; k++) {
            v[j * st + k] = momentum * v[j * st + k] - g[k] * (a[j] * fp[k]);
            w[j * st + k] = w[j * st + k] + v[j * st + k];
        }
}

static void tn_rows_update_sums(double *w, double *v, ptrdiff_t st, ptrdiff_t n_in, const double *g,
                                const double *fp, const double *a, double momentum, const double *x,
                                double *out) {
    if (v)
        tn_rows_momentum(w, v, st, n_in, g, fp, a, momentum);
    else
        tn_rows_descend(w, st, n_in, g, fp, a);
    tn_sums(w, st, x, n_in, out);
}

#endif

#endif /* TINYNET_TILES_H */
