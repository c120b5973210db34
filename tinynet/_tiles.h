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
 * tn_back_t, tn_rows_descend_t, tn_rows_momentum_t: tn_back and the updates on a transposed copy of
 *     the weights (neuron-major rows), which the per-sample kernel keeps for the layers after the
 *     first: backpropagation along rows, without transposes.
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
 *
 * Element types. The functions are written once, in _tiles_real.h over TN_REAL, and this file includes
 * it twice: for double (the names above) and for float (the same names ending in 32: tn_sums32, ...,
 * and the vector type tn_vd32), each float operation rounded to float as C's float arithmetic does
 * (FLT_EVAL_METHOD 0 on x86-64's SSE and on aarch64). A vector holds twice as many floats as doubles
 * and the tiles have the same shapes in vectors, so a float tile covers twice the columns; a float
 * row's stride is a multiple of TN_VEC32 (16) columns, a double row's of TN_VEC (8), so that the
 * smallest pass, TN_PARTS vectors, is the same for both.
 */

#ifndef TINYNET_TILES_H
#define TINYNET_TILES_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "_rules.h"

#define TN_RESTRICT __restrict

#if (defined(__GNUC__) || defined(__clang__)) && !defined(TINYNET_SCALAR_TILES)

/* The vector of the level the file is compiled for, and the tiles sized for its register file (the
 * shapes in vectors; a tile's columns are TN_W times as many, TN_W the lanes of a vector: TN_WD
 * doubles, twice as many floats):
 *
 *   level               registers      TN_WD sums  sums4 (x 4 samples)  grad (x 4 rows)
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
#define TN_WD 8
#define TN_SUMS_V 4
#define TN_SUMS4_V 4
#define TN_GRAD_V 4
#elif defined(__AVX__)
#define TN_WD 4
#define TN_SUMS_V 8
#define TN_SUMS4_V 2
#define TN_GRAD_V 2
#elif defined(__aarch64__) || defined(__ARM_NEON)
#define TN_WD 2
#define TN_SUMS_V 8
#define TN_SUMS4_V 4
#define TN_GRAD_V 4
#else
#define TN_WD 2
#define TN_SUMS_V 8
#define TN_SUMS4_V 2
#define TN_GRAD_V 2
#endif
#define TN_PARTS (TN_VEC / TN_W)        /* vectors in TN_VEC columns: the smallest pass (8 / TN_WD) */
#define TN_COVERS(nv) ((nv) * TN_W <= TN_VEC ? TN_VEC % ((nv) * TN_W) == 0 \
                       : ((nv) & ((nv) - 1)) == 0 && (nv) <= 4 * TN_PARTS)

/* A loop over a tile's vectors: its count is a constant where it is used, and it is unrolled, so that
 * the tile's vectors are registers rather than an array. */
#define TN_EACH(c, n) _Pragma("GCC unroll 16") for (c = 0; c < (n); c++)
#define TN_INLINE static inline __attribute__((always_inline))

/* Two vectors' lanes picked by index (below TN_W: a's, from TN_W: b's). */
#if defined(__clang__) || __GNUC__ >= 12
#define TN_BUILTIN_SHUFFLEVECTOR
#define TN_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else                               /* (tn_vi: integers as wide as the lanes, _tiles_real.h's) */
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

/* Calls TILE(column, nv) over columns [0, st): whole tiles of NV vectors, then a pass of NV / 2 vectors
 * and one of NV / 4 where they fit and hold at least TN_PARTS vectors (TN_VEC columns). The stride is a
 * multiple of TN_VEC, so this covers it when a tile's columns divide TN_VEC or are at most 4 TN_VEC
 * (a power of two of vectors; checked in _tiles_real.h for every shape). */
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

/* Weights beyond this many bytes (a layer's, or with momentum its weights' and velocities') do not stay
 * in a core's L2 cache (512 KiB on Zen 2-3, 1-2 MiB on later cores) from one sample to the next: the
 * update then fetches the next group of rows ahead, a cache line of each row at a time. (Measured on
 * Zen 3, v3: the first layer of a (784, 128, 10) network, 24.5 us a sample without, 22.0 us with;
 * at (64, 32, 10), which stays in L1, fetching ahead cost 8%.) Prefetching changes no result. */
#ifndef TN_PREFETCH_BYTES                   /* (the tests set it to 0, to run every path) */
#define TN_PREFETCH_BYTES (512 * 1024)
#endif

/* sqrt of a double, a float or a vector of either (the generated rules call TN_SQRT on any). */
#define TN_SQRT(x) _Generic((x), double: sqrt, float: sqrtf, default: tn_vsqrt)(x)

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

#else

#define TN_WD 1             /* the plain loops: one number at a time */
/* sqrt rounded to the element type (for a float, a double's sqrt rounded to float is float's sqrt:
 * double rounding is innocuous for sqrt, 53 >= 2 * 24 + 2) */
#define TN_SQRT(x) ((TN_REAL)sqrt(x))

#endif


/* TN_RULE(TN_SGD): a rule of _rules.h in the element type's form (TN_SGD for doubles, TN_SGD32 for
 * floats); TN_SFX is the type's suffix. */
#define TN_PASTE_(a, b) a##b
#define TN_PASTE(a, b) TN_PASTE_(a, b)
#define TN_RULE(name) TN_PASTE(name, TN_SFX)

/* The doubles. */
#define TN_REAL double
#define TN_LANE_INT long long
#define TN_SFX
#define TN_W TN_WD
#define TN_VEC 8            /* the rows' stride is a multiple of this (every level's vector divides it) */
#include "_tiles_real.h"
#undef TN_REAL
#undef TN_LANE_INT
#undef TN_SFX
#undef TN_W
#undef TN_VEC

/* The floats: the same functions and vector type under names ending in 32. */
#define TN_REAL float
#define TN_LANE_INT int
#define TN_SFX 32
#define TN_W (2 * TN_WD)
#define TN_VEC 16
#define tn_vd                tn_vd32
#define tn_vi                tn_vi32
#define tn_back_row          tn_back_row32
#define tn_load              tn_load32
#define tn_store             tn_store32
#define tn_splat             tn_splat32
#define tn_transpose         tn_transpose32
#define tn_squares           tn_squares32
#define tn_sums_tile         tn_sums_tile32
#define tn_sums              tn_sums32
#define tn_sums4_tile        tn_sums4_tile32
#define tn_sums4             tn_sums432
#define tn_grad_tile         tn_grad_tile32
#define tn_grad              tn_grad32
#define tn_back_body         tn_back_body32
#define tn_back              tn_back32
#define tn_rows_descend      tn_rows_descend32
#define tn_rows_momentum     tn_rows_momentum32
#define tn_row_step          tn_row_step32
#define tn_fused_rows        tn_fused_rows32
#define tn_rows_update_sums  tn_rows_update_sums32
#define tn_vsqrt             tn_vsqrt32
#define tn_update_vec        tn_update_vec32
#define tn_update_body       tn_update_body32
#define tn_update_outer_body tn_update_outer_body32
#define tn_update            tn_update32
#define tn_update_outer      tn_update_outer32
#define tn_back_t            tn_back_t32
#define tn_back_t_tile       tn_back_t_tile32
#define tn_back_by_copy      tn_back_by_copy32
#define tn_rows_descend_t    tn_rows_descend_t32
#define tn_rows_momentum_t   tn_rows_momentum_t32
#include "_tiles_real.h"
#undef tn_vd
#undef tn_vi
#undef tn_back_row
#undef tn_load
#undef tn_store
#undef tn_splat
#undef tn_transpose
#undef tn_squares
#undef tn_sums_tile
#undef tn_sums
#undef tn_sums4_tile
#undef tn_sums4
#undef tn_grad_tile
#undef tn_grad
#undef tn_back_body
#undef tn_back
#undef tn_rows_descend
#undef tn_rows_momentum
#undef tn_row_step
#undef tn_fused_rows
#undef tn_rows_update_sums
#undef tn_vsqrt
#undef tn_update_vec
#undef tn_update_body
#undef tn_update_outer_body
#undef tn_update
#undef tn_update_outer
#undef tn_back_t
#undef tn_back_t_tile
#undef tn_back_by_copy
#undef tn_rows_descend_t
#undef tn_rows_momentum_t
#undef TN_REAL
#undef TN_LANE_INT
#undef TN_SFX
#undef TN_W
#undef TN_VEC

/* For the kernels: the doubles in a vector, and the multiples of the rows' strides. */
#define TN_W TN_WD
#define TN_VEC 8
#define TN_VEC32 16

#endif /* TINYNET_TILES_H */
