/* A harness over tinynet/_tiles.h for tests/test_tiles_everywhere.py: every tile function, of doubles
 * and of floats (the names ending in 32), on fixed inputs, at every shape that takes another path
 * (strides past whole tiles and their halves and quarters, row counts past the four-row groups, batches
 * past the four-sample passes, every optimizer step of _rules.h), printing one line per case: its name
 * and a hash of the bits it wrote. The same source is built for each x86-64 level, for the plain loops
 * (-DTINYNET_SCALAR_TILES) and for aarch64 NEON (run under qemu); every build must print the same lines.
 *
 * The inputs are exact functions of an integer generator (no libm, no rounding that could differ),
 * finite, of mixed signs and magnitudes, with signed zeros among them; no NaN (its payload is the
 * hardware's to choose). Build with the extension's flags: -ffp-contract=off -fno-fast-math.
 *
 * The cases are written once, below the #else, over REAL; the file includes itself once per type. */
#ifndef REAL

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "_tiles.h"

static uint64_t state;

/* Every optimizer step of _rules.h, and the options they take (momentum 0.9, Adam's defaults with a
 * step size lr_t of 0.0123). */
#define TN_CODE_OF(NAME, CODE, A) CODE,
static const int steps[] = {TN_STEPS(TN_CODE_OF, 0)};
#undef TN_CODE_OF
#define N_STEPS ((int)(sizeof steps / sizeof steps[0]))
static const tn_step_options options = {.learn_rate = 0.01, .momentum = 0.9, .beta_1 = 0.9, .beta_2 = 0.999,
                                        .epsilon = 1e-8, .lr_t = 0.0123};

static void next(void) {                /* xorshift64 */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
}

static double draw(void) {              /* an exact double */
    next();
    switch (state % 23) {
    case 0:
        return -0.0;
    case 1:
        return 0.0;
    case 2:
        return (double)(int64_t)(state >> 40) * 0x1p-1040;     /* subnormal or tiny */
    default:
        return (double)((int64_t)(state >> 11) - (INT64_C(1) << 52)) * 0x1p-52;   /* in [-1, 1) */
    }
}

static float draw32(void) {             /* an exact float */
    next();
    switch (state % 23) {
    case 0:
        return -0.0f;
    case 1:
        return 0.0f;
    case 2:
        return (float)(int32_t)(state >> 48) * 0x1p-140f;      /* subnormal or tiny */
    default:
        return (float)((int32_t)(state >> 40) - (INT32_C(1) << 23)) * 0x1p-23f;  /* in [-1, 1) */
    }
}

static uint64_t hash;

static void mix_bytes(const void *p, size_t n) {                /* FNV-1a over the bytes */
    const unsigned char *b = (const unsigned char *)p;
    size_t k;
    for (k = 0; k < n; k++) {
        hash ^= b[k];
        hash *= UINT64_C(0x100000001B3);
    }
}

static void report(const char *name, ptrdiff_t st, ptrdiff_t n_in, int variant) {
    printf("%s st=%td n_in=%td v=%d %016llx\n", name, st, n_in, variant, (unsigned long long)hash);
    hash = UINT64_C(0xCBF29CE484222325);
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define MAX_IN 70
#define MAX_B 9

#define REAL double
#define SFX
#define DRAW draw
#define VEC TN_VEC
#include "tiles_harness.c"
#undef REAL
#undef SFX
#undef DRAW
#undef VEC

#define REAL float
#define SFX 32
#define DRAW draw32
#define VEC TN_VEC32
#include "tiles_harness.c"

int main(void) {
    hash = UINT64_C(0xCBF29CE484222325);
    run();
    run32();
    return 0;
}

#else   /* the cases, for one element type: REAL, its suffix SFX, its VEC */

#define T(name) TN_PASTE(name, SFX)
#define NAME(name) #name STR(SFX)
#define MAX_ST (136 * (VEC / 8))

static void T(fill)(REAL *p, ptrdiff_t n, uint64_t seed) {
    ptrdiff_t k;
    state = seed * 0x9E3779B97F4A7C15u + 1;
    for (k = 0; k < n; k++)
        p[k] = DRAW();
}

static void T(fill_positive)(REAL *p, ptrdiff_t n, uint64_t seed) {     /* Adam's second moments */
    ptrdiff_t k;
    T(fill)(p, n, seed);
    for (k = 0; k < n; k++)
        p[k] = p[k] < 0 ? -p[k] : p[k];
}

static void T(mix)(const REAL *p, ptrdiff_t n) {
    mix_bytes(p, (size_t)n * sizeof(REAL));
}

static void T(run)(void) {
    static REAL w[(MAX_IN + 1) * MAX_ST], v[(MAX_IN + 1) * MAX_ST], m[(MAX_IN + 1) * MAX_ST];
    static REAL grad[(MAX_IN + 1) * MAX_ST], a[MAX_B * (MAX_IN + 3)], x[MAX_IN + 3];
    static REAL d[MAX_B * (MAX_ST + VEC)], out[4 * (MAX_ST + VEC)], g[MAX_ST], fp[MAX_ST], acc[VEC];
    /* the strides in units of TN_VEC doubles' columns (a float stride twice as many columns) */
    static const ptrdiff_t strides[] = {8, 16, 24, 32, 40, 48, 56, 64, 72, 96, 136};
    static const ptrdiff_t inputs[] = {1, 2, 3, 4, 5, 7, 8, 33, 70};
    size_t si, ii;
    int variant;
    for (si = 0; si < sizeof strides / sizeof *strides; si++) {
        for (ii = 0; ii < sizeof inputs / sizeof *inputs; ii++) {
            ptrdiff_t st = strides[si] * (VEC / 8), n_in = inputs[ii], n = n_in * st, as = n_in + 3, ds = st + VEC;
            uint64_t seed = (uint64_t)(st * 1000 + n_in);

            T(fill)(w, (n_in + 1) * st, seed);
            T(fill)(a, 4 * as, seed + 1);
            T(tn_sums)(w, st, a, n_in, out);
            T(mix)(out, st);
            report(NAME(sums), st, n_in, 0);
            T(tn_sums4)(w, st, a, as, n_in, out, ds);
            T(mix)(out, 4 * ds);
            report(NAME(sums4), st, n_in, 0);

            for (variant = 0; variant < 4; variant++) {         /* fresh or not; 1 or MAX_B samples */
                ptrdiff_t nb = variant & 2 ? MAX_B : 1;
                T(fill)(grad, n, seed + 2);
                T(fill)(d, nb * ds, seed + 3);
                T(fill)(a, nb * as, seed + 4);
                T(tn_grad)(grad, st, n_in, d, ds, a, as, nb, variant & 1);
                T(mix)(grad, n);
                report(NAME(grad), st, n_in, variant);
            }

            T(fill)(g, st, seed + 5);
            T(fill)(fp, st, seed + 6);
            T(fill)(a, n_in, seed + 7);
            T(fill)(x, n_in, seed + 8);
            T(fill)(w, n, seed);
            for (variant = 0; variant < 4; variant++) {  /* one column or all but the padding's; fp or not */
                ptrdiff_t n_out = variant & 1 ? st - (ptrdiff_t)(seed % 8) : 1;
                T(tn_back)(w, st, n_in, n_out, g, variant & 2 ? NULL : fp, out);
                T(mix)(out, n_in);
                report(NAME(back), st, n_in, variant);
            }
            T(tn_rows_descend)(w, st, n_in, g, fp, a);
            T(mix)(w, n);
            report(NAME(descend), st, n_in, 0);
            T(fill)(w, n, seed);
            T(fill)(v, n, seed + 9);
            T(tn_rows_momentum)(w, v, st, n_in, g, fp, a, 0.9);
            T(mix)(w, n);
            T(mix)(v, n);
            report(NAME(momentum), st, n_in, 0);
            for (variant = 0; variant < 2; variant++) {
                T(fill)(w, n, seed);
                T(fill)(v, n, seed + 9);
                T(tn_rows_update_sums)(w, variant ? v : NULL, st, n_in, g, fp, a, 0.75, x, out);
                T(mix)(w, n);
                T(mix)(v, n);
                T(mix)(out, st);
                report(NAME(update_sums), st, n_in, variant);
            }

            /* the transposed copy (rows of stride st): n_in rows of its n_col columns (all but the padding's) */
            {
                ptrdiff_t n_col = st - (ptrdiff_t)(seed % 8);
                T(fill)(w, n, seed + 15);
                T(fill)(g, MAX_ST, seed + 16);
                T(fill)(fp, MAX_ST, seed + 17);
                T(fill)(a, st, seed + 18);
                for (variant = 0; variant < 2; variant++) {     /* one row or n_in */
                    T(tn_back_t)(w, st, variant ? n_in : 1, g, fp, out);
                    T(mix)(out, st);
                    report(NAME(back_t), st, n_in, variant);
                }
                T(tn_rows_descend_t)(w, st, n_col, n_in, g, fp, a);
                T(mix)(w, n);
                report(NAME(descend_t), st, n_in, 0);
                T(fill)(v, n, seed + 19);
                T(tn_rows_momentum_t)(w, v, st, n_col, n_in, g, fp, a, 0.9);
                T(mix)(w, n);
                T(mix)(v, n);
                report(NAME(momentum_t), st, n_in, 0);
            }

            memset(acc, 0, sizeof acc);
            T(fill)(w, n, seed);
            T(tn_squares)(w, n, acc);
            T(mix)(acc, VEC);
            report(NAME(squares), st, n_in, 0);

            for (variant = 0; variant < 6 * N_STEPS; variant++) {   /* l2, count, every step */
                /* a count of 1 (no division), 3, or 4 (a power of two: the vectors multiply by 1/4) */
                static const REAL counts[] = {1.0, 3.0, 4.0};
                int l2 = variant & 1, step = steps[variant / 6];
                REAL count = counts[(variant >> 1) % 3];
                T(fill)(w, (n_in + 1) * st, seed);
                T(fill)(grad, (n_in + 1) * st, seed + 10);
                T(fill)(m, (n_in + 1) * st, seed + 11);
                T(fill_positive)(v, (n_in + 1) * st, seed + 12);
                memset(acc, 0, sizeof acc);
                T(tn_update)(w, grad, m, v, n, l2, 1e-3, count, l2, acc, step, &options);
                T(tn_update)(w + n, grad + n, m + n, v + n, st, 0, 1e-3, count, 0, acc, step, &options);
                T(mix)(w, (n_in + 1) * st);
                T(mix)(m, (n_in + 1) * st);
                T(mix)(v, (n_in + 1) * st);
                T(mix)(acc, VEC);
                report(NAME(update), st, n_in, variant);

                T(fill)(w, (n_in + 1) * st, seed);
                T(fill)(m, (n_in + 1) * st, seed + 11);
                T(fill_positive)(v, (n_in + 1) * st, seed + 12);
                T(fill)(d, st, seed + 13);
                T(fill)(a, n_in, seed + 14);
                memset(acc, 0, sizeof acc);
                T(tn_update_outer)(w, m, v, st, n_in, d, a, 1e-3, count, l2, acc, step, &options);
                T(mix)(w, (n_in + 1) * st);
                T(mix)(m, (n_in + 1) * st);
                T(mix)(v, (n_in + 1) * st);
                T(mix)(acc, VEC);
                report(NAME(update_outer), st, n_in, variant);
            }
        }
    }
}

#undef T
#undef NAME
#undef MAX_ST

#endif
