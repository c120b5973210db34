/* tinynet's own exp in plain C, for the benchmarks' C yardsticks: the same operations, in the same
 * order, as tinynet/_core_common.pxi (read tinynet/_python_common.py for the commentary), so that the
 * yardsticks do the kernels' arithmetic bit for bit. Its constants and table come from tn_data.h,
 * which baselines.py writes from tinynet._exp_data when it builds a yardstick. Not part of the package. */
#ifndef TN_EXP_H
#define TN_EXP_H
#include <stdint.h>
#include <string.h>

#include "tn_data.h"

static inline uint64_t tn_bits(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static inline double tn_from_bits(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }

/* tmp and the bits of scale, with exp(x) ~= scale * (1 + tmp), for |x| <= 746 */
static inline double tn_exp_reduce(double x, uint64_t *sbits)
{
    double z = x * TN_EXP_INV_LN2_N;
    double shifted = z + TN_EXP_SHIFT;
    uint64_t ki = tn_bits(shifted);
    double kd = shifted - TN_EXP_SHIFT;
    double r = x - kd * TN_EXP_LN2_HI_N - kd * TN_EXP_LN2_LO_N;
    uint64_t j = ki & 127;
    *sbits = TN_EXP_SBITS[j] + (ki << 45);
    double r2 = r * r;
    return TN_EXP_TAIL[j] + r + r2 * (TN_EXP_C2 + r * TN_EXP_C3) + r2 * r2 * (TN_EXP_C4 + r * TN_EXP_C5);
}

static double tn_exp_special(double x)
{
    uint64_t sbits;
    if (x != x) return x + 1.0;
    if (x > TN_EXP_OVERFLOW_BOUND) return tn_from_bits(UINT64_C(0x7FF0000000000000));
    if (x < TN_EXP_UNDERFLOW_BOUND) return 0.0;
    double tmp = tn_exp_reduce(x, &sbits);
    if (x > 0.0) {
        double scale = tn_from_bits(sbits - (UINT64_C(1009) << 52));
        return 0x1p1009 * (scale + scale * tmp);
    }
    double scale = tn_from_bits(sbits + (UINT64_C(1022) << 52));
    double y = scale + scale * tmp;
    if (y < 1.0) {
        double lo = scale - y + scale * tmp;
        double hi = 1.0 + y;
        lo = 1.0 - hi + y + lo;
        y = (hi + lo) - 1.0;
    }
    return y * 0x1p-1022;
}

static inline double tn_exp(double x)
{
    if (-TN_EXP_FAST_BOUND <= x && x <= TN_EXP_FAST_BOUND) {
        uint64_t sbits;
        double tmp = tn_exp_reduce(x, &sbits);
        double scale = tn_from_bits(sbits);
        return scale + scale * tmp;
    }
    return tn_exp_special(x);
}

#endif
