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
 *     public layout; a tile of neurons advances together in vectors that stay in registers.
 * tn_sums4: the same for four samples, each weight loaded once for the four.
 * tn_grad: a layer's gradient summed over a block of samples, sample after sample,
 *     gt[j * st + k] += delta[0][k] * a[0][j], then + delta[1][k] * a[1][j], ... (fresh: from zero);
 *     four rows j by a tile of columns k stay in registers across the samples.
 * tn_rows_descend, tn_rows_momentum: the per-sample update of a layer's weight rows,
 *     w[j][k] -= g[k] * (a[j] * fp[k]), or through the velocities v, along the rows, four at a time
 *     (_rules.h's TN_SGD and TN_VELOCITY, the learning rate folded into g);
 *     tn_rows_update_sums the same fused with the next sample's sums of the layer.
 * tn_back: backpropagation through a layer's weight rows, for one sample,
 *     out[j] = g[0] * (w[j][0] * fp[0]) + g[1] * (w[j][1] * fp[1]) + ... + g[n_out - 1] * (...),
 *     or with fp NULL (g the deltas) out[j] = g[0] * w[j][0] + g[1] * w[j][1] + ..., summed left to
 *     right; TN_W rows at a time, each block of their terms transposed (tn_transpose) so that the
 *     rows' sums advance side by side in one vector.
 * tn_squares: the squares of the weights, summed into TN_VEC partial sums (acc[k % TN_VEC]), for the
 *     L2 term of scikit-learn's reported loss.
 * tn_update: the batch kernels' whole update of a layer's parameters in one pass (the batch's gradient
 *     with L2, the squares of the weights, the optimizer's step), over arrays said not to overlap
 *     (restrict), so that the loops vectorise (sqrt and division included: the extension is built
 *     with -fno-math-errno, which changes no result). The steps themselves are _rules.h's, generated
 *     from tinynet/_rules.py: the same macros serve the vectors and the plain loops.
 *
 * Vectors are GCC/Clang vector extensions as wide as the registers of the level the file is compiled for
 * (setup.py compiles it once per level), tiles shaped for that level's register file (below): IEEE
 * multiplications and additions lane by lane (no FMA: the extension is built with -ffp-contract=off),
 * so every level computes the same bits. Elsewhere (MSVC), or with TINYNET_SCALAR_TILES defined, plain
 * loops do the same arithmetic.
 */
#ifndef TINYNET_TILES_H
#define TINYNET_TILES_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "_rules.h"

#define TN_VEC 8            /* the rows' stride is a multiple of this (every level's vector divides it) */
#define TN_RESTRICT __restrict

/* tn_back's sum for one row r (the rows past its whole vectors, and every row in the plain loops). */
static inline double tn_back_row(const double *r, ptrdiff_t n_out, const double *g, const double *fp) {
    ptrdiff_t i;
    double sum = fp ? g[0] * (r[0] * fp[0]) : g[0] * r[0];
    for (i = 1; i < n_out; i++)
        sum = sum + (fp ? g[i] * (r[i] * fp[i]) : g[i] * r[i]);
    return sum;
}

#if (defined(__GNUC__) || defined(__clang__)) && !defined(TINYNET_SCALAR_TILES)

/* The vector of the level the file is compiled for, and the tiles sized for its register file (the
 * shapes in vectors; a tile's columns are TN_W times as many):
 *
 *   level               registers      TN_W  sums  sums4 (x 4 samples)  grad (x 4 rows)
 *   x86-64-v4 AVX-512   32 x 512 bit   8     4     4                    4
 *   x86-64-v3 AVX2      16 x 256 bit   4     8     2                    2
 *   aarch64 NEON        32 x 128 bit   2     8     4                    4
 *   x86-64(-v2) SSE2    16 x 128 bit   2     8     2                    2
 *
 * tn_sums keeps its accumulators and one broadcast input in registers (4-8 chains of additions, enough
 * to hide their latency); tn_sums4 and tn_grad keep 4 x n accumulators, n weights or deltas and four
 * broadcasts (16 + 8 of 32 registers, 8 + 6 of 16). Columns past the whole tiles go in passes of half
 * as many vectors, then a quarter (the stride is a multiple of TN_VEC columns, so the last pass is at
 * least TN_VEC / TN_W vectors). The updates, which store, walk along the rows rather than down the
 * columns (see tn_fused_rows). */
#if defined(__AVX512F__) || defined(TINYNET_WIDE_TILES)    /* (the latter: AVX-512's shapes anywhere) */
#define TN_W 8
#define TN_SUMS_V 4
#define TN_SUMS4_V 4
#define TN_GRAD_V 4
#elif defined(__AVX__)
#define TN_W 4
#define TN_SUMS_V 8
#define TN_SUMS4_V 2
#define TN_GRAD_V 2
#elif defined(__aarch64__) || defined(__ARM_NEON)
#define TN_W 2
#define TN_SUMS_V 8
#define TN_SUMS4_V 4
#define TN_GRAD_V 4
#else
#define TN_W 2
#define TN_SUMS_V 8
#define TN_SUMS4_V 2
#define TN_GRAD_V 2
#endif
#define TN_PARTS (TN_VEC / TN_W)        /* vectors in TN_VEC columns: the smallest pass */
#define TN_COVERS(nv) ((nv) * TN_W <= TN_VEC ? TN_VEC % ((nv) * TN_W) == 0 \
                       : ((nv) & ((nv) - 1)) == 0 && (nv) <= 4 * TN_PARTS)
_Static_assert(TN_COVERS(TN_SUMS_V) && TN_COVERS(TN_SUMS4_V) && TN_COVERS(TN_GRAD_V),
               "a tile shape that TN_TILES cannot cover every stride with");

typedef double tn_vd __attribute__((vector_size(TN_W * sizeof(double))));

/* A loop over a tile's vectors: its count is a constant where it is used, and it is unrolled, so that
 * the tile's vectors are registers rather than an array. */
#define TN_EACH(c, n) _Pragma("GCC unroll 16") for (c = 0; c < (n); c++)
#define TN_INLINE static inline __attribute__((always_inline))

TN_INLINE tn_vd tn_load(const double *p) {
    tn_vd v;
    memcpy(&v, p, sizeof v);            /* an unaligned load */
    return v;
}

TN_INLINE void tn_store(double *p, tn_vd v) {
    memcpy(p, &v, sizeof v);
}

TN_INLINE tn_vd tn_splat(double x) {  /* a broadcast (not 0.0 + x, which turns -0.0 into 0.0) */
#if TN_W == 8
    return (tn_vd){x, x, x, x, x, x, x, x};
#elif TN_W == 4
    return (tn_vd){x, x, x, x};
#else
    return (tn_vd){x, x};
#endif
}

/* Two vectors' lanes picked by index (below TN_W: a's, from TN_W: b's). */
#if defined(__clang__) || __GNUC__ >= 12
#define TN_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
typedef long long tn_vi __attribute__((vector_size(TN_W * sizeof(double))));
#define TN_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (tn_vi){__VA_ARGS__})
#endif

/* Rows r and r + h of a square block, with the block of h lanes right of the diagonal of the one and
 * the block left of it of the other swapped (IA, IB: the lanes each row takes, in parentheses). */
#define TN_LANES(...) __VA_ARGS__
#define TN_SWAP_BLOCKS(t, r, h, IA, IB)                                                              \
    do {                                                                                            \
        tn_vd top_ = (t)[r], bottom_ = (t)[(r) + (h)];                                              \
        (t)[r] = TN_SHUFFLE(top_, bottom_, TN_LANES IA);                                            \
        (t)[(r) + (h)] = TN_SHUFFLE(top_, bottom_, TN_LANES IB);                                    \
    } while (0)

/* The TN_W x TN_W block t[0..TN_W) transposed in place: lane c of t[r] goes to lane r of t[c]. The
 * off-diagonal halves swap, then the quarters within each half, and so on down to single lanes. */
TN_INLINE void tn_transpose(tn_vd *t) {
#if TN_W == 8
    int r;
    for (r = 0; r < 4; r++)
        TN_SWAP_BLOCKS(t, r, 4, (0, 1, 2, 3, 8, 9, 10, 11), (4, 5, 6, 7, 12, 13, 14, 15));
    for (r = 0; r < 8; r += r % 4 == 1 ? 3 : 1)
        TN_SWAP_BLOCKS(t, r, 2, (0, 1, 8, 9, 4, 5, 12, 13), (2, 3, 10, 11, 6, 7, 14, 15));
    for (r = 0; r < 8; r += 2)
        TN_SWAP_BLOCKS(t, r, 1, (0, 8, 2, 10, 4, 12, 6, 14), (1, 9, 3, 11, 5, 13, 7, 15));
#elif TN_W == 4
    TN_SWAP_BLOCKS(t, 0, 2, (0, 1, 4, 5), (2, 3, 6, 7));
    TN_SWAP_BLOCKS(t, 1, 2, (0, 1, 4, 5), (2, 3, 6, 7));
    TN_SWAP_BLOCKS(t, 0, 1, (0, 4, 2, 6), (1, 5, 3, 7));
    TN_SWAP_BLOCKS(t, 2, 1, (0, 4, 2, 6), (1, 5, 3, 7));
#else
    TN_SWAP_BLOCKS(t, 0, 1, (0, 2), (1, 3));
#endif
}

/* acc[k % TN_VEC] += w[k] * w[k] for k < n, n a multiple of TN_VEC: squares into TN_VEC partial sums,
   TN_PARTS vectors of them. */
static inline void tn_squares(const double *w, ptrdiff_t n, double *acc) {
    ptrdiff_t k;
    int c;
    tn_vd s[TN_PARTS];
    TN_EACH(c, TN_PARTS) s[c] = tn_load(acc + c * TN_W);
    for (k = 0; k < n; k += TN_VEC) {
        TN_EACH(c, TN_PARTS) {
            tn_vd x = tn_load(w + k + c * TN_W);
            s[c] = s[c] + x * x;
        }
    }
    TN_EACH(c, TN_PARTS) tn_store(acc + c * TN_W, s[c]);
}

/* nv vectors of columns (a constant) of tn_sums: out[k] = a[0] * w[k] + a[1] * w[st + k] + ... */
TN_INLINE void tn_sums_tile(const double *w, ptrdiff_t st, const double *a, ptrdiff_t n_in, double *out,
                            const int nv) {
    ptrdiff_t j;
    int c;
    tn_vd s[TN_SUMS_V], x = tn_splat(a[0]);
    TN_EACH(c, nv) s[c] = tn_load(w + c * TN_W) * x;
    for (j = 1; j < n_in; j++) {
        w += st;
        x = tn_splat(a[j]);
        TN_EACH(c, nv) s[c] = s[c] + tn_load(w + c * TN_W) * x;
    }
    TN_EACH(c, nv) tn_store(out + c * TN_W, s[c]);
}

/* Calls TILE(column, nv) over columns [0, st): whole tiles of NV vectors, then a pass of NV / 2 vectors
 * and one of NV / 4 where they fit and hold at least TN_PARTS vectors (TN_VEC columns). The stride is a
 * multiple of TN_VEC, so this covers it when a tile's columns divide TN_VEC or are at most 4 TN_VEC
 * (a power of two of vectors; checked below for every shape). */
#define TN_TILES(st, NV, TILE)                                                                  \
    do {                                                                                        \
        ptrdiff_t col_ = 0;                                                                     \
        for (; col_ + (NV) * TN_W <= (st); col_ += (NV) * TN_W)                                 \
            TILE(col_, (NV));                                                                   \
        if ((NV) / 2 >= TN_PARTS && col_ + (NV) / 2 * TN_W <= (st)) {                           \
            TILE(col_, (NV) / 2 >= TN_PARTS ? (NV) / 2 : (NV));                                 \
            col_ += (NV) / 2 * TN_W;                                                            \
        }                                                                                       \
        if ((NV) / 4 >= TN_PARTS && col_ + (NV) / 4 * TN_W <= (st)) {                           \
            TILE(col_, (NV) / 4 >= TN_PARTS ? (NV) / 4 : (NV));                                 \
            col_ += (NV) / 4 * TN_W;                                                            \
        }                                                                                       \
    } while (0)

static inline void tn_sums(const double *wt, ptrdiff_t st, const double *a, ptrdiff_t n_in, double *out) {
#define TN_SUMS_AT(col, nv) tn_sums_tile(wt + (col), st, a, n_in, out + (col), (nv))
    TN_TILES(st, TN_SUMS_V, TN_SUMS_AT);
#undef TN_SUMS_AT
}

/* nv vectors of columns of tn_sums for four samples (a, a + as, ...; out, out + os, ...), each weight
   loaded once for the four. */
TN_INLINE void tn_sums4_tile(const double *w, ptrdiff_t st, const double *a, ptrdiff_t as, ptrdiff_t n_in,
                             double *out, ptrdiff_t os, const int nv) {
    ptrdiff_t j;
    int c, r;
    tn_vd s[4][TN_SUMS4_V], wc[TN_SUMS4_V], x[4];
    TN_EACH(c, nv) wc[c] = tn_load(w + c * TN_W);
    TN_EACH(r, 4) x[r] = tn_splat(a[r * as]);
    TN_EACH(r, 4) TN_EACH(c, nv) s[r][c] = wc[c] * x[r];
    for (j = 1; j < n_in; j++) {
        w += st;
        TN_EACH(c, nv) wc[c] = tn_load(w + c * TN_W);
        TN_EACH(r, 4) x[r] = tn_splat(a[r * as + j]);
        TN_EACH(r, 4) TN_EACH(c, nv) s[r][c] = s[r][c] + wc[c] * x[r];
    }
    TN_EACH(r, 4) TN_EACH(c, nv) tn_store(out + r * os + c * TN_W, s[r][c]);
}

static inline void tn_sums4(const double *wt, ptrdiff_t st, const double *a, ptrdiff_t as, ptrdiff_t n_in,
                            double *out, ptrdiff_t os) {
#define TN_SUMS4_AT(col, nv) tn_sums4_tile(wt + (col), st, a, as, n_in, out + (col), os, (nv))
    TN_TILES(st, TN_SUMS4_V, TN_SUMS4_AT);
#undef TN_SUMS4_AT
}

/* nv vectors of columns by nr rows (constants) of tn_grad, from row j:
   g[j + r][k] (+)= delta[0][k] * a[0][j + r] + delta[1][k] * a[1][j + r] + ... (fresh: from 0.0). */
TN_INLINE void tn_grad_tile(double *g, ptrdiff_t st, const double *delta, ptrdiff_t ds, const double *a,
                            ptrdiff_t as, ptrdiff_t nb, int fresh, const int nr, const int nv) {
    ptrdiff_t b;
    int c, r;
    tn_vd s[4][TN_GRAD_V], d[TN_GRAD_V], x[4];
    TN_EACH(r, nr) TN_EACH(c, nv) s[r][c] = fresh ? tn_splat(0.0) : tn_load(g + r * st + c * TN_W);
    for (b = 0; b < nb; b++) {
        TN_EACH(c, nv) d[c] = tn_load(delta + b * ds + c * TN_W);
        TN_EACH(r, nr) x[r] = tn_splat(a[b * as + r]);
        TN_EACH(r, nr) TN_EACH(c, nv) s[r][c] = s[r][c] + d[c] * x[r];
    }
    TN_EACH(r, nr) TN_EACH(c, nv) tn_store(g + r * st + c * TN_W, s[r][c]);
}

static inline void tn_grad(double *gt, ptrdiff_t st, ptrdiff_t n_in, const double *delta, ptrdiff_t ds,
                           const double *a, ptrdiff_t as, ptrdiff_t nb, int fresh) {
    ptrdiff_t j;
    for (j = 0; j + 4 <= n_in; j += 4) {
#define TN_GRAD4_AT(col, nv) tn_grad_tile(gt + j * st + (col), st, delta + (col), ds, a + j, as, nb, fresh, 4, (nv))
        TN_TILES(st, TN_GRAD_V, TN_GRAD4_AT);
#undef TN_GRAD4_AT
    }
    for (; j < n_in; j++) {
#define TN_GRAD1_AT(col, nv) tn_grad_tile(gt + j * st + (col), st, delta + (col), ds, a + j, as, nb, fresh, 1, (nv))
        TN_TILES(st, TN_GRAD_V, TN_GRAD1_AT);
#undef TN_GRAD1_AT
    }
}

/* tn_back (g and fp padded with zeros to the stride: the padding's terms are computed, never added,
 * since adding a 0.0 would turn a sum of -0.0 into 0.0). */
TN_INLINE void tn_back_body(const double *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in, ptrdiff_t n_out,
                            const double *TN_RESTRICT g, const double *TN_RESTRICT fp, double *TN_RESTRICT out) {
    ptrdiff_t j, i;
    int r;
    for (j = 0; j + TN_W <= n_in; j += TN_W) {
        tn_vd t[TN_W], sums = tn_splat(0.0);
        for (i = 0; i < n_out; i += TN_W) {
            tn_vd gi = tn_load(g + i), fi = fp ? tn_load(fp + i) : gi;       /* (fi unused without fp) */
            TN_EACH(r, TN_W) {
                tn_vd wr = tn_load(w + (j + r) * st + i);
                t[r] = fp ? gi * (wr * fi) : gi * wr;
            }
            tn_transpose(t);                    /* t[c]: the terms of column i + c, row by row */
            sums = i == 0 ? t[0] : sums + t[0];
            TN_EACH(r, TN_W - 1) {
                if (i + r + 1 < n_out)
                    sums = sums + t[r + 1];
            }
        }
        tn_store(out + j, sums);
    }
    for (; j < n_in; j++)
        out[j] = tn_back_row(w + j * st, n_out, g, fp);
}

static inline void tn_back(const double *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in, ptrdiff_t n_out,
                           const double *TN_RESTRICT g, const double *TN_RESTRICT fp, double *TN_RESTRICT out) {
    if (fp)         /* two copies, each with its branch on fp decided */
        tn_back_body(w, st, n_in, n_out, g, fp, out);
    else
        tn_back_body(w, st, n_in, n_out, g, NULL, out);
}

static inline void tn_rows_descend(double *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in,
                                   const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                                   const double *TN_RESTRICT a) {
    ptrdiff_t j, q;
    for (j = 0; j + 4 <= n_in; j += 4) {        /* four rows at a time, each swept along its length */
        double *r0 = w + j * st, *r1 = r0 + st, *r2 = r1 + st, *r3 = r2 + st;
        tn_vd a0 = tn_splat(a[j]), a1 = tn_splat(a[j + 1]), a2 = tn_splat(a[j + 2]), a3 = tn_splat(a[j + 3]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd gq = tn_load(g + q), fq = tn_load(fp + q);
            tn_store(r0 + q, TN_SGD(tn_load(r0 + q), a0 * fq, gq));
            tn_store(r1 + q, TN_SGD(tn_load(r1 + q), a1 * fq, gq));
            tn_store(r2 + q, TN_SGD(tn_load(r2 + q), a2 * fq, gq));
            tn_store(r3 + q, TN_SGD(tn_load(r3 + q), a3 * fq, gq));
        }
    }
    for (; j < n_in; j++) {
        double *r = w + j * st;
        tn_vd aj = tn_splat(a[j]);
        for (q = 0; q < st; q += TN_W)
            tn_store(r + q, TN_SGD(tn_load(r + q), aj * tn_load(fp + q), tn_load(g + q)));
    }
}

static inline void tn_rows_momentum(double *TN_RESTRICT w, double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                    const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                                    const double *TN_RESTRICT a, double momentum) {
    ptrdiff_t j, q;
    tn_vd mu = tn_splat(momentum);
    for (j = 0; j < n_in; j++) {
        double *r = w + j * st, *u = v + j * st;
        tn_vd aj = tn_splat(a[j]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd vel = TN_VELOCITY(tn_load(u + q), aj * tn_load(fp + q), mu, tn_load(g + q));
            tn_store(u + q, vel);
            tn_store(r + q, tn_load(r + q) + vel);
        }
    }
}

/* One row's update at q (with momentum when v is not NULL), returning the updated weights. */
TN_INLINE tn_vd tn_row_step(double *TN_RESTRICT r, double *TN_RESTRICT u, tn_vd mu, tn_vd gq, tn_vd aj, tn_vd fq) {
    tn_vd wq;
    if (u) {
        tn_vd vq = TN_VELOCITY(tn_load(u), aj * fq, mu, gq);
        tn_store(u, vq);
        wq = tn_load(r) + vq;
    } else {
        wq = TN_SGD(tn_load(r), aj * fq, gq);
    }
    tn_store(r, wq);
    return wq;
}

/* tn_rows_update_sums in the order of the memory: the rows four at a time, each group swept along its width, the
 * sums of its columns carried in out from group to group (each still adds its terms in the order
 * j = 0, 1, ...). Walking down a column instead, a row's load would wait on the store to the row four
 * (or sixteen) above whenever the stride is a multiple of 1 KiB (256 B): the processor takes addresses
 * 4 KiB apart for the same until it has the whole address (4K aliasing). */
TN_INLINE void tn_fused_rows(double *TN_RESTRICT w, double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                             const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                             const double *TN_RESTRICT a, double momentum, const double *TN_RESTRICT x,
                             double *TN_RESTRICT out, const int prefetch) {
    ptrdiff_t j, q, k;
    int c;
    tn_vd mu = tn_splat(momentum);
    for (j = 0; j + 4 <= n_in; j += 4) {
        double *r = w + j * st, *u = v ? v + j * st : NULL;
        const int ahead = prefetch && j + 8 <= n_in;        /* the next group's rows, if whole */
        tn_vd a0 = tn_splat(a[j]), a1 = tn_splat(a[j + 1]), a2 = tn_splat(a[j + 2]), a3 = tn_splat(a[j + 3]);
        tn_vd x0 = tn_splat(x[j]), x1 = tn_splat(x[j + 1]), x2 = tn_splat(x[j + 2]), x3 = tn_splat(x[j + 3]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd gq = tn_load(g + q), fq = tn_load(fp + q), sq;
            if (ahead && q % 8 == 0) {                      /* a cache line of each, for writing */
                TN_EACH(c, 4) {
                    __builtin_prefetch(r + (4 + c) * st + q, 1, 3);
                    if (u)
                        __builtin_prefetch(u + (4 + c) * st + q, 1, 3);
                }
            }
            tn_vd w0 = tn_row_step(r + q, u ? u + q : NULL, mu, gq, a0, fq);
            tn_vd w1 = tn_row_step(r + st + q, u ? u + st + q : NULL, mu, gq, a1, fq);
            tn_vd w2 = tn_row_step(r + 2 * st + q, u ? u + 2 * st + q : NULL, mu, gq, a2, fq);
            tn_vd w3 = tn_row_step(r + 3 * st + q, u ? u + 3 * st + q : NULL, mu, gq, a3, fq);
            sq = j == 0 ? w0 * x0 : tn_load(out + q) + w0 * x0;
            tn_store(out + q, ((sq + w1 * x1) + w2 * x2) + w3 * x3);
        }
    }
    for (k = j; k < n_in; k++) {
        double *r = w + k * st, *u = v ? v + k * st : NULL;
        tn_vd ak = tn_splat(a[k]), xk = tn_splat(x[k]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd wq = tn_row_step(r + q, u ? u + q : NULL, mu, tn_load(g + q), ak, tn_load(fp + q));
            tn_store(out + q, k == 0 ? wq * xk : tn_load(out + q) + wq * xk);
        }
    }
}

/* Weights beyond this many bytes (a layer's, or with momentum its weights' and velocities') do not stay
 * in a core's L2 cache (512 KiB on Zen 2-3, 1-2 MiB on later cores) from one sample to the next: the
 * update then fetches the next group of rows ahead, a cache line of each row at a time. (Measured on
 * Zen 3, v3: the first layer of a (784, 128, 10) network, 24.5 us a sample without, 22.0 us with;
 * at (64, 32, 10), which stays in L1, fetching ahead cost 8%.) Prefetching changes no result. */
#ifndef TN_PREFETCH_BYTES                   /* (the tests set it to 0, to run every path) */
#define TN_PREFETCH_BYTES (512 * 1024)
#endif

/* tn_rows_descend (or tn_rows_momentum, when v is not NULL) of the first layer fused with the next
 * sample's sums of that layer, from the rows just updated:
 *     out[k] = x[0] * w[0][k] + x[1] * w[1][k] + ...   (x the next sample; left to right, as tn_sums)
 * so that the layer's weights pass through the registers once per step instead of twice. */
static inline void tn_rows_update_sums(double *TN_RESTRICT w, double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                       const double *TN_RESTRICT g, const double *TN_RESTRICT fp,
                                       const double *TN_RESTRICT a, double momentum,
                                       const double *TN_RESTRICT x, double *TN_RESTRICT out) {
    const int big = (size_t)n_in * (size_t)st * sizeof(double) * (v ? 2 : 1) > TN_PREFETCH_BYTES;
    /* a copy for each case, each with its branches on v and prefetch decided */
    if (v && big)
        tn_fused_rows(w, v, st, n_in, g, fp, a, momentum, x, out, 1);
    else if (v)
        tn_fused_rows(w, v, st, n_in, g, fp, a, momentum, x, out, 0);
    else if (big)
        tn_fused_rows(w, NULL, st, n_in, g, fp, a, momentum, x, out, 1);
    else
        tn_fused_rows(w, NULL, st, n_in, g, fp, a, momentum, x, out, 0);
}

/* sqrt of a vector, lane by lane (the generated rules call TN_SQRT on vectors and doubles alike). */
TN_INLINE tn_vd tn_vsqrt(tn_vd x) {
    int q;
    for (q = 0; q < TN_W; q++)
        x[q] = sqrt(x[q]);
    return x;
}
#define TN_SQRT(x) _Generic((x), double: sqrt, default: tn_vsqrt)(x)

/* One vector of tn_update's work: the parameters at p, their summed gradient g (before the mean), their
 * optimizer state at m and v; the squares into *s; the step of code `step` (_rules.h's TN_DO_VEC_*),
 * which stores m and v only where it changes them. Inlined into loops whose every flag is invariant. */
TN_INLINE void tn_update_vec(double *TN_RESTRICT p, tn_vd g, double *TN_RESTRICT m, double *TN_RESTRICT v,
                             int l2, double alpha, double count, int squares, tn_vd *s, int step,
                             const tn_step_options *o) {
    tn_vd x = tn_load(p), mk = tn_load(m), vk = tn_load(v);
    if (l2) {
        if (squares)
            *s = *s + x * x;
        g = g + tn_splat(alpha) * x;
    }
    if (count != 1.0)
        g = g / tn_splat(count);
    switch (step) {
#define TN_STEP_CASE(NAME, CODE, A)                                                                  \
    case CODE:                                                                                      \
        TN_DO_VEC_##NAME(x, mk, vk, g, o);                                                          \
        if (TN_WRITES_M_##NAME)                                                                     \
            tn_store(m, mk);                                                                        \
        if (TN_WRITES_V_##NAME)                                                                     \
            tn_store(v, vk);                                                                        \
        break;
        TN_STEPS(TN_STEP_CASE, 0)
#undef TN_STEP_CASE
    }
    tn_store(p, x);
}

/* The batch kernels' whole update of n parameters (n a multiple of TN_VEC: a layer's weight rows, with
 * l2, or its bias row) in one pass over them, element by element what _net_mean_gradient, _net_squares
 * and the step do one after another in the other backends: the batch's gradient
 * g = (grad + alpha * p) / count (l2) or grad / count (the division skipped when count is 1: it changes
 * no bit); with squares, p * p (before the step) added into acc[k % TN_VEC]; then the step of code
 * `step`. One pass instead of four: at batch size 1 the update is most of the work, and the passes
 * over the parameters, not the arithmetic, bound it. */
TN_INLINE void tn_update_body(double *TN_RESTRICT p, const double *TN_RESTRICT grad, double *TN_RESTRICT m,
                              double *TN_RESTRICT v, ptrdiff_t n, int l2, double alpha, double count,
                              int squares, double *TN_RESTRICT acc, int step, const tn_step_options *o) {
    ptrdiff_t k;
    int c;
    tn_vd s[TN_PARTS];
    TN_EACH(c, TN_PARTS) s[c] = tn_load(acc + c * TN_W);
    for (k = 0; k < n; k += TN_VEC)
        TN_EACH(c, TN_PARTS) {
            ptrdiff_t e = k + c * TN_W;
            tn_update_vec(p + e, tn_load(grad + e), m + e, v + e, l2, alpha, count, squares, &s[c], step, o);
        }
    TN_EACH(c, TN_PARTS) tn_store(acc + c * TN_W, s[c]);
}

/* tn_update of a layer's weight rows and then its bias row, for a batch of one sample, from its deltas d
 * and its inputs' activations a rather than a gradient array: weight (j, k)'s gradient is
 * 0.0 + d[k] * a[j] and bias k's 0.0 + d[k], tn_grad's sums for one sample (from zero). */
TN_INLINE void tn_update_outer_body(double *TN_RESTRICT p, double *TN_RESTRICT m, double *TN_RESTRICT v,
                                    ptrdiff_t st, ptrdiff_t n_in, const double *TN_RESTRICT d,
                                    const double *TN_RESTRICT a, double alpha, double count, int squares,
                                    double *TN_RESTRICT acc, int step, const tn_step_options *o) {
    ptrdiff_t j, k;
    int c;
    tn_vd s[TN_PARTS], zero = tn_splat(0.0);
    TN_EACH(c, TN_PARTS) s[c] = tn_load(acc + c * TN_W);
    for (j = 0; j < n_in; j++) {
        tn_vd x = tn_splat(a[j]);
        for (k = 0; k < st; k += TN_VEC)
            TN_EACH(c, TN_PARTS) {
                ptrdiff_t e = j * st + k + c * TN_W;
                tn_update_vec(p + e, zero + tn_load(d + k + c * TN_W) * x, m + e, v + e, 1, alpha, count,
                              squares, &s[c], step, o);
            }
    }
    for (k = 0; k < st; k += TN_VEC)
        TN_EACH(c, TN_PARTS) {
            ptrdiff_t e = n_in * st + k + c * TN_W;
            tn_update_vec(p + e, zero + tn_load(d + k + c * TN_W), m + e, v + e, 0, alpha, count, 0, &s[c],
                          step, o);
        }
    TN_EACH(c, TN_PARTS) tn_store(acc + c * TN_W, s[c]);
}

/* Calls BODY(STEP, SQUARES) with the step's code and squares constants where they are used: a copy of
 * the loop per step (every step of _rules.h) and per squares, without a branch on them inside. */
#define TN_SPECIALISED_CASE(NAME, CODE, BODY)                                                        \
    case CODE:                                                                                      \
        if (squares) BODY(CODE, 1); else BODY(CODE, 0);                                             \
        break;
#define TN_SPECIALISED(BODY)                                                                        \
    do {                                                                                            \
        switch (step) { TN_STEPS(TN_SPECIALISED_CASE, BODY) }                                       \
    } while (0)

/* Not inlined: on its own the compiler keeps its accumulators in registers. */
__attribute__((noinline)) static void tn_update(double *TN_RESTRICT p, const double *TN_RESTRICT grad,
                                                double *TN_RESTRICT m, double *TN_RESTRICT v, ptrdiff_t n,
                                                int l2, double alpha, double count, int squares,
                                                double *TN_RESTRICT acc, int step, const tn_step_options *o) {
    tn_step_options options = *o;       /* a copy the loops can keep in registers */
#define TN_UPDATE(STEP, SQUARES)                                                                      \
    (l2 ? tn_update_body(p, grad, m, v, n, 1, alpha, count, SQUARES, acc, STEP, &options)            \
        : tn_update_body(p, grad, m, v, n, 0, alpha, count, 0, acc, STEP, &options))
    TN_SPECIALISED(TN_UPDATE);
#undef TN_UPDATE
}

__attribute__((noinline)) static void tn_update_outer(double *TN_RESTRICT p, double *TN_RESTRICT m,
                                                      double *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                                      const double *TN_RESTRICT d,
                                                      const double *TN_RESTRICT a, double alpha, double count,
                                                      int squares, double *TN_RESTRICT acc, int step,
                                                      const tn_step_options *o) {
    tn_step_options options = *o;
#define TN_UPDATE_OUTER(STEP, SQUARES)                                                                \
    tn_update_outer_body(p, m, v, st, n_in, d, a, alpha, count, SQUARES, acc, STEP, &options)
    TN_SPECIALISED(TN_UPDATE_OUTER);
#undef TN_UPDATE_OUTER
}

#else

#define TN_W 1              /* the plain loops: one double at a time */

#define TN_SQRT(x) sqrt(x)

static void tn_update(double *p, const double *grad, double *m, double *v, ptrdiff_t n, int l2,
                      double alpha, double count, int squares, double *acc, int step,
                      const tn_step_options *o) {
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
        switch (step) {
#define TN_STEP_CASE(NAME, CODE, A)                                                                  \
        case CODE:                                                                                  \
            TN_DO_##NAME(p[k], m[k], v[k], g, o);                                                   \
            break;
            TN_STEPS(TN_STEP_CASE, 0)
#undef TN_STEP_CASE
        }
    }
}

static void tn_update_outer(double *p, double *m, double *v, ptrdiff_t st, ptrdiff_t n_in, const double *d,
                            const double *a, double alpha, double count, int squares, double *acc, int step,
                            const tn_step_options *o) {
    double g[TN_VEC];
    ptrdiff_t j, k;
    int q;
    for (j = 0; j <= n_in; j++) {
        for (k = 0; k < st; k += TN_VEC) {
            for (q = 0; q < TN_VEC; q++)
                g[q] = j < n_in ? 0.0 + d[k + q] * a[j] : 0.0 + d[k + q];
            tn_update(p + j * st + k, g, m + j * st + k, v + j * st + k, TN_VEC, j < n_in, alpha, count,
                      squares && j < n_in, acc, step, o);
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

static void tn_back(const double *w, ptrdiff_t st, ptrdiff_t n_in, ptrdiff_t n_out, const double *g,
                    const double *fp, double *out) {
    ptrdiff_t j;
    for (j = 0; j < n_in; j++)
        out[j] = tn_back_row(w + j * st, n_out, g, fp);
}

static void tn_rows_descend(double *w, ptrdiff_t st, ptrdiff_t n_in, const double *g, const double *fp,
                            const double *a) {
    ptrdiff_t j, k;
    for (j = 0; j < n_in; j++)
        for (k = 0; k < st; k++)
            w[j * st + k] = TN_SGD(w[j * st + k], a[j] * fp[k], g[k]);
}

static void tn_rows_momentum(double *w, double *v, ptrdiff_t st, ptrdiff_t n_in, const double *g,
                             const double *fp, const double *a, double momentum) {
    ptrdiff_t j, k;
    for (j = 0; j < n_in; j++)
        for (k = 0; k < st; k++) {
            v[j * st + k] = TN_VELOCITY(v[j * st + k], a[j] * fp[k], momentum, g[k]);
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
