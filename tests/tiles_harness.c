/* A harness over tinynet/_tiles.h for tests/test_tiles_everywhere.py: every tile function on fixed
 * inputs, at every shape that takes another path (strides past whole tiles and their halves and
 * quarters, row counts past the four-row groups, batches past the four-sample passes, every optimizer
 * step of _rules.h), printing one line per case: its name and a hash of the bits it wrote. The same source is built
 * for each x86-64 level, for the plain loops (-DTINYNET_SCALAR_TILES) and for aarch64 NEON (run under
 * qemu); every build must print the same lines.
 *
 * The inputs are exact functions of an integer generator (no libm, no rounding that could differ),
 * finite, of mixed signs and magnitudes, with signed zeros among them; no NaN (its payload is the
 * hardware's to choose). Build with the extension's flags: -ffp-contract=off -fno-fast-math. */
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

static double draw(void) {              /* xorshift64, then an exact double */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
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

static void fill(double *p, ptrdiff_t n, uint64_t seed) {
    ptrdiff_t k;
    state = seed * 0x9E3779B97F4A7C15u + 1;
    for (k = 0; k < n; k++)
        p[k] = draw();
}

static void fill_positive(double *p, ptrdiff_t n, uint64_t seed) {     /* Adam's second moments */
    ptrdiff_t k;
    fill(p, n, seed);
    for (k = 0; k < n; k++)
        p[k] = p[k] < 0 ? -p[k] : p[k];
}

static uint64_t hash;

static void mix(const double *p, ptrdiff_t n) {                 /* FNV-1a over the bytes */
    const unsigned char *b = (const unsigned char *)p;
    ptrdiff_t k;
    for (k = 0; k < n * (ptrdiff_t)sizeof(double); k++) {
        hash ^= b[k];
        hash *= UINT64_C(0x100000001B3);
    }
}

static void report(const char *name, ptrdiff_t st, ptrdiff_t n_in, int variant) {
    printf("%s st=%td n_in=%td v=%d %016llx\n", name, st, n_in, variant, (unsigned long long)hash);
    hash = UINT64_C(0xCBF29CE484222325);
}

#define MAX_ST 136
#define MAX_IN 70
#define MAX_B 9

static double w[(MAX_IN + 1) * MAX_ST], v[(MAX_IN + 1) * MAX_ST], m[(MAX_IN + 1) * MAX_ST];
static double grad[(MAX_IN + 1) * MAX_ST], a[MAX_B * (MAX_IN + 3)], x[MAX_IN + 3];
static double d[MAX_B * (MAX_ST + 8)], out[4 * (MAX_ST + 8)], g[MAX_ST], fp[MAX_ST], acc[TN_VEC];

int main(void) {
    static const ptrdiff_t strides[] = {8, 16, 24, 32, 40, 48, 56, 64, 72, 96, 136};
    static const ptrdiff_t inputs[] = {1, 2, 3, 4, 5, 7, 8, 33, 70};
    size_t si, ii;
    int variant;
    hash = UINT64_C(0xCBF29CE484222325);
    for (si = 0; si < sizeof strides / sizeof *strides; si++) {
        for (ii = 0; ii < sizeof inputs / sizeof *inputs; ii++) {
            ptrdiff_t st = strides[si], n_in = inputs[ii], n = n_in * st, as = n_in + 3, ds = st + 8;
            uint64_t seed = (uint64_t)(st * 1000 + n_in);

            fill(w, (n_in + 1) * st, seed);
            fill(a, 4 * as, seed + 1);
            tn_sums(w, st, a, n_in, out);
            mix(out, st);
            report("sums", st, n_in, 0);
            tn_sums4(w, st, a, as, n_in, out, ds);
            mix(out, 4 * ds);
            report("sums4", st, n_in, 0);

            for (variant = 0; variant < 4; variant++) {         /* fresh or not; 1 or MAX_B samples */
                ptrdiff_t nb = variant & 2 ? MAX_B : 1;
                fill(grad, n, seed + 2);
                fill(d, nb * ds, seed + 3);
                fill(a, nb * as, seed + 4);
                tn_grad(grad, st, n_in, d, ds, a, as, nb, variant & 1);
                mix(grad, n);
                report("grad", st, n_in, variant);
            }

            fill(g, st, seed + 5);
            fill(fp, st, seed + 6);
            fill(a, n_in, seed + 7);
            fill(x, n_in, seed + 8);
            fill(w, n, seed);
            for (variant = 0; variant < 4; variant++) {  /* one column or all but the padding's; fp or not */
                ptrdiff_t n_out = variant & 1 ? st - (ptrdiff_t)(seed % 8) : 1;
                tn_back(w, st, n_in, n_out, g, variant & 2 ? NULL : fp, out);
                mix(out, n_in);
                report("back", st, n_in, variant);
            }
            tn_rows_descend(w, st, n_in, g, fp, a);
            mix(w, n);
            report("descend", st, n_in, 0);
            fill(w, n, seed);
            fill(v, n, seed + 9);
            tn_rows_momentum(w, v, st, n_in, g, fp, a, 0.9);
            mix(w, n);
            mix(v, n);
            report("momentum", st, n_in, 0);
            for (variant = 0; variant < 2; variant++) {
                fill(w, n, seed);
                fill(v, n, seed + 9);
                tn_rows_update_sums(w, variant ? v : NULL, st, n_in, g, fp, a, 0.75, x, out);
                mix(w, n);
                mix(v, n);
                mix(out, st);
                report("update_sums", st, n_in, variant);
            }

            memset(acc, 0, sizeof acc);
            fill(w, n, seed);
            tn_squares(w, n, acc);
            mix(acc, TN_VEC);
            report("squares", st, n_in, 0);

            for (variant = 0; variant < 4 * N_STEPS; variant++) {   /* l2, count, every step */
                int l2 = variant & 1, step = steps[variant >> 2];
                double count = variant & 2 ? 3.0 : 1.0;
                fill(w, (n_in + 1) * st, seed);
                fill(grad, (n_in + 1) * st, seed + 10);
                fill(m, (n_in + 1) * st, seed + 11);
                fill_positive(v, (n_in + 1) * st, seed + 12);
                memset(acc, 0, sizeof acc);
                tn_update(w, grad, m, v, n, l2, 1e-3, count, l2, acc, step, &options);
                tn_update(w + n, grad + n, m + n, v + n, st, 0, 1e-3, count, 0, acc, step, &options);
                mix(w, (n_in + 1) * st);
                mix(m, (n_in + 1) * st);
                mix(v, (n_in + 1) * st);
                mix(acc, TN_VEC);
                report("update", st, n_in, variant);

                fill(w, (n_in + 1) * st, seed);
                fill(m, (n_in + 1) * st, seed + 11);
                fill_positive(v, (n_in + 1) * st, seed + 12);
                fill(d, st, seed + 13);
                fill(a, n_in, seed + 14);
                memset(acc, 0, sizeof acc);
                tn_update_outer(w, m, v, st, n_in, d, a, 1e-3, count, l2, acc, step, &options);
                mix(w, (n_in + 1) * st);
                mix(m, (n_in + 1) * st);
                mix(v, (n_in + 1) * st);
                mix(acc, TN_VEC);
                report("update_outer", st, n_in, variant);
            }
        }
    }
    return 0;
}
