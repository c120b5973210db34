#!/usr/bin/env python3
"""Compute every constant of tinynet's own exp and write them to ``tinynet/_exp_data.py``.

Everything is computed here from first principles with mpmath (pip install mpmath); nothing is
copied from another libm. Run from the repository's root:

    python tools/gen_exp_data.py            # compute, print a summary, write tinynet/_exp_data.py
    python tools/gen_exp_data.py --check    # recompute, and fail if the file differs

The three backends read the one generated module: the pure-Python and Numba kernels import it (Numba
freezes the values into its compiled code: after regenerating, clear ``tinynet/__pycache__``), and
the Cython extension copies them into C arrays when it is imported.

Design (the algorithm is in ``tinynet/_python_common.py``)
----------------------------------------------------------
    x = k*ln2/N + r,   N = 128,  |r| <= ln2/(2N) (+ a hair)
    exp(x) = 2^(k>>7) * 2^(j/N) * exp(r),  j = k & 127
    2^(j/N) = H[j] * (1 + TAIL[j])      H[j] = 2^(j/N) rounded to double
    exp(x) ~= scale + scale*(TAIL[j] + P(r)),   scale = H[j] * 2^(k>>7)
    P(r) = r + C2 r^2 + C3 r^3 + C4 r^4 + C5 r^5  ~=  exp(r) - 1

How each constant is derived
----------------------------
N            128 (7 index bits).
INV_LN2_N    N/ln2 rounded to nearest double. Only used to choose k, so its rounding error merely
             widens the |r| interval by ~2^-35 relative.
SHIFT        0x1.8p52 = 1.5*2^52. For |z| < 2^51, z + SHIFT is rounded (to nearest, ties to even) to
             an integer, so (z + SHIFT) - SHIFT is round(z) as an exact integer-valued double, and
             the low bits of the double z + SHIFT hold k in two's complement.
LN2_HI_N     ln2/N rounded to nearest with only HI_BITS = 35 significant bits, so that k*LN2_HI_N
             is exact for every |k| < 2^18 (we need |k| <= 746*N/ln2 < 137,800 < 2^18), and so is
             x - k*LN2_HI_N.
LN2_LO_N     ln2/N - LN2_HI_N rounded to nearest double (the Cody-Waite tail).
H[j]         2^(j/N) rounded to nearest double (128 values in [1, 2)).
TAIL[j]      2^(j/N)/H[j] - 1 rounded to nearest double (|TAIL| < 2^-53), so that H[j]*(1+TAIL[j])
             equals 2^(j/N) to ~2^-106 relative.
SBITS[j]     bits(H[j]) - (j << 45) (mod 2^64): the compiled kernels build scale from the raw
             bits ki of z + SHIFT as the double with bits SBITS[j] + (ki << 45) = H[j]*2^(k>>7),
             without converting a double to an integer.
C2..C5       Minimax (Remez exchange, mpmath at 256 bits) fit of exp(r) - 1 - r by
             C2 r^2 + ... + C5 r^5 on |r| <= R_MAX, minimising the ABSOLUTE error (the result is
             scale*(1 + TAIL + P), so an absolute error in P is a relative error of the result).
             The coefficient 1 of r is kept exact. The coefficients are rounded to nearest double
             and the error of the ROUNDED polynomial is measured again on a dense grid. (A Taylor
             polynomial of the same degree would have ~40x the error: r^6/720 ~ 2^-60.6 at
             |r| = ln2/256, ~0.005 ulp instead of ~0.0001 ulp.)
FAST_BOUND   700: the common path serves |x| <= 700, where 2^-1010 < scale < 2^1010, so neither
             scale*tmp nor the result can underflow or overflow. (With 708, scale*tmp can be
             subnormal for x < -703.5: measured 0.75 ulp at x = -707.54.)
OVERFLOW_BOUND, UNDERFLOW_BOUND
             710 and -746: beyond them exp(x) rounds to inf and to 0 (the edges are 709.78 and
             -745.13).

float32 (exp32)
---------------
float32's exp is computed in double and rounded to float32 once, the design of the C libraries'
expf (glibc since 2.27, ARM's optimized-routines): every float32 x is a double exactly, and
double's 29 extra bits leave the one final rounding as the only one that matters.

    z = x * N32/ln2,  k = round(z),  r = z - k (exact),  N32 = 32,  |r| <= 1/2 (+ a hair)
    exp(x) = 2^(k>>5) * 2^(j/N32) * 2^(r/N32),  j = k & 31
    exp32(x) = float32(scale * (D0 + r*(D1 + r*(D2 + r*D3)))),   scale = T32[j] * 2^(k>>5)

INV_LN2_N32  N32/ln2 rounded to double. z's rounding error (< 2^-39 for |x| <= 128) and the
             constant's move r by < 2^-38: 2^-43 relative in the result.
T32, SBITS32 2^(j/N32) rounded to double, and bits(T32[j]) - (j << 47), as for float64.
D0..D3       Minimax (Remez) fit of 2^(r/N32) by a cubic on |r| <= 1/2 + 2^-30 (absolute error,
             2^-33.7, with the coefficients rounded to double). With the table's and the double
             operations' roundings (a few 2^-53), the double result is within 2^-33.6 of e^x
             relative, so the float32 result is within 0.5 + 2^-33.6 * 2^24 = 0.5013 ulp.
FAST32_BOUND 128: the common path serves -128 <= x <= OVERFLOW32, where scale and the double
             result are normal doubles (subnormal and zero float32 results come from the one
             final rounding).
OVERFLOW32   the largest float32 whose e^x rounds to a finite float32 (x = 88.72283); above it
             the result is inf, below -128 it is 0.0.

Measured (tests/test_exp.py and a 200,000,000-input screen), float64: worst error 0.5088 ulp, at
x = -0x1.207ee6fed19acp+7; subnormal results 0.5005 ulp; 0.08% of results not correctly rounded.
float32, every one of the 2,239,853,081 float32s in [-104, 88.73] against numpy's float64 exp:
worst error 0.50120 ulp, at x = -0x1.fec4d6p-26; 0.018% of results not the float32 nearest to it.
"""
import struct
import sys

import mpmath
from mpmath import mp, mpf

mp.prec = 256

N = 128
TABLE_BITS = 7
HI_BITS = 35          # significant bits kept in LN2_HI_N
K_BITS = 18           # |k| < 2^K_BITS must hold; HI_BITS + K_BITS <= 53
SHIFT = float.fromhex("0x1.8p52")   # 1.5 * 2^52


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def rnd(v, bits=53):
    """Round an mpf to `bits` significant bits, to nearest (ties to even),
    and return it as a Python float (exact, since bits <= 53 and the values
    used here are normal doubles)."""
    with mp.workprec(bits):
        y = +mpf(v)          # unary plus rounds to the context precision
    f = float(y)             # exact: y already has <= 53 bits
    assert mpf(f) == y
    return f


def f2bits(f):
    return struct.unpack('<Q', struct.pack('<d', f))[0]


def bits2f(b):
    return struct.unpack('<d', struct.pack('<Q', b & 0xFFFFFFFFFFFFFFFF))[0]


# --------------------------------------------------------------------------
# reduction constants
# --------------------------------------------------------------------------
LN2 = mp.log(2)
INV_LN2_N = rnd(N / LN2)
LN2_HI_N = rnd(LN2 / N, HI_BITS)
LN2_LO_N = rnd(LN2 / N - mpf(LN2_HI_N))
# k*LN2_HI_N exact for |k| < 2^K_BITS: LN2_HI_N has <= HI_BITS bits.
_m, _e = mpmath.frexp(mpf(LN2_HI_N))
assert (mpf(_m) * 2**HI_BITS) == int(mpf(_m) * 2**HI_BITS)
assert HI_BITS + K_BITS <= 53
assert 746 * N / 0.69 < 2**K_BITS

# --------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------
H, TAIL, SBITS, TAILBITS = [], [], [], []
for j in range(N):
    t = mpf(2) ** (mpf(j) / N)
    h = rnd(t)
    tail = rnd(t / mpf(h) - 1)
    assert abs(tail) < 2.0**-53
    H.append(h)
    TAIL.append(tail)
    SBITS.append((f2bits(h) - (j << (52 - TABLE_BITS))) % 2**64)
    TAILBITS.append(f2bits(tail))

# --------------------------------------------------------------------------
# polynomial: Remez exchange for exp(r) - 1 - r ~ C2 r^2 + ... + C5 r^5
# --------------------------------------------------------------------------
# |r| bound: |z - kd| <= 1/2 + (rounding error of z = x*INV_LN2_N, which is
# < 2^-34 for |z| < 2^18), and r itself carries a rounding error; 2^-30
# relative slack is ample.
R_MAX = (mpf(1) / 2 + mpf(2)**-30) * LN2 / N
POWERS = [2, 3, 4, 5]


def target(r):
    return mp.expm1(r) - r


def poly_eval(c, r, powers=POWERS):
    return sum(ci * r**p for ci, p in zip(c, powers))


def local_extrema(err, a, b, npts=4001):
    """Signed local extrema of err on [a, b]: dense grid, then golden-section
    refinement of each interior extremum.  Returns [(x, err(x))] sorted by x,
    with near-zero extrema (|e| < 1e-3 max) dropped (e(0) = 0 always)."""
    xs = [a + (b - a) * i / (npts - 1) for i in range(npts)]
    es = [err(x) for x in xs]
    out = []
    for i in range(npts):
        if i in (0, npts - 1):
            out.append((xs[i], es[i]))
            continue
        if (es[i] - es[i - 1]) * (es[i + 1] - es[i]) <= 0:   # slope changes
            sgn = 1 if es[i] > 0 else -1
            lo, hi = xs[i - 1], xs[i + 1]
            g = (mp.sqrt(5) - 1) / 2
            for _ in range(80):                 # golden section on sgn*err
                m1 = hi - g * (hi - lo)
                m2 = lo + g * (hi - lo)
                if sgn * err(m1) > sgn * err(m2):
                    hi = m2
                else:
                    lo = m1
            xm = (lo + hi) / 2
            out.append((xm, err(xm)))
    big = max(abs(e) for _, e in out)
    return [(x, e) for x, e in out if abs(e) > big * mpf('1e-3')]


def remez(a, iters=40, verbose=False, target=target, powers=POWERS):
    """Minimax fit of target(r) by sum of c_i r^powers[i] on [-a, a] (absolute error)."""
    n = len(powers)
    # initial reference: n+1 points avoiding r = 0 (where the error is
    # identically 0 for every candidate polynomial)
    ref = [a * mpf(t) for t in ('-1', '-0.7', '-0.25', '0.5', '1')]
    assert len(ref) == n + 1
    for it in range(iters):
        A = mp.matrix(n + 1, n + 1)
        rhs = mp.matrix(n + 1, 1)
        for jj, x in enumerate(ref):
            for i, p in enumerate(powers):
                A[jj, i] = x**p
            A[jj, n] = (-1)**jj
            rhs[jj] = target(x)
        sol = mp.lu_solve(A, rhs)
        c = [sol[i] for i in range(n)]
        E = abs(sol[n])

        def err(r, c=c):
            return target(r) - poly_eval(c, r, powers)

        ext = local_extrema(err, -a, a)
        # enforce sign alternation: merge neighbours of equal sign
        alt = []
        for x, e in ext:
            if alt and (alt[-1][1] > 0) == (e > 0):
                if abs(e) > abs(alt[-1][1]):
                    alt[-1] = (x, e)
            else:
                alt.append((x, e))
        while len(alt) > n + 1:               # trim the smaller end
            if abs(alt[0][1]) < abs(alt[-1][1]):
                alt.pop(0)
            else:
                alt.pop()
        emax = max(abs(e) for _, e in ext)
        if verbose:
            print(f"  remez it {it}: |E| = {mpmath.nstr(E, 8)}, "
                  f"max|err| = {mpmath.nstr(emax, 8)}, "
                  f"{len(alt)} alternation pts")
        if len(alt) < n + 1:
            raise RuntimeError("lost alternation")
        if emax / E - 1 < mpf('1e-12'):
            return c, emax, [x for x, _ in alt]
        ref = [x for x, _ in alt]
    raise RuntimeError("Remez did not converge")


def max_abs_err(coeffs, a, npts=20001, target=target, powers=POWERS):
    """max |target(r) - sum c_i r^powers[i]| over a dense grid + refinement."""
    def err(r):
        return target(r) - poly_eval([mpf(c) for c in coeffs], r, powers)
    return max(abs(e) for _, e in local_extrema(err, -a, a, npts))


def compute_poly(verbose=False):
    c_exact, emax, ref = remez(R_MAX, verbose=verbose)
    c_dbl = [rnd(ci) for ci in c_exact]
    return c_exact, emax, ref, c_dbl


# --------------------------------------------------------------------------
# float32: exp32, computed in double and rounded to float32 once
# --------------------------------------------------------------------------
N32 = 32
TABLE_BITS32 = 5
INV_LN2_N32 = rnd(N32 / LN2)
T32, SBITS32 = [], []
for j in range(N32):
    t32 = rnd(mpf(2) ** (mpf(j) / N32))
    T32.append(t32)
    SBITS32.append((f2bits(t32) - (j << (52 - TABLE_BITS32))) % 2**64)
# |r| = |z - round(z)| <= 1/2 + the rounding error of z = x*INV_LN2_N32 (< 2^-39 for |z| < 2^13)
R32_MAX = mpf(1) / 2 + mpf(2)**-30
POWERS32 = [0, 1, 2, 3]


def target32(r):
    return mpf(2) ** (r / N32)


def float32_bits(f):
    return struct.unpack('<I', struct.pack('<f', f))[0]


def float32_of(b):
    return struct.unpack('<f', struct.pack('<I', b))[0]


def compute_poly32(verbose=False):
    c_exact, emax, _ = remez(R32_MAX, verbose=verbose, target=target32, powers=POWERS32)
    c_dbl = [rnd(ci) for ci in c_exact]
    return emax, c_dbl


# The largest float32 x whose e^x rounds to a finite float32 (2^128 - 2^103 and above round to inf):
# found by bisection on the bit patterns of positive float32s, whose order is their values'.
INF_EDGE = mpf(2)**128 - mpf(2)**103


def _largest_finite32():
    lo, hi = float32_bits(88.0), float32_bits(89.0)        # e^88 is finite, e^89 is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if mp.exp(mpf(float32_of(mid))) < INF_EDGE else (lo, mid)
    return float32_of(lo)


OVERFLOW32 = _largest_finite32()
# The common path serves -FAST32_BOUND <= x <= OVERFLOW32: there 2^-185 < scale < 2^129 and the
# double result is normal, so the one rounding to float32 is the only one that can meet the float32
# range's edges (subnormal or zero results below x = -87.3, exactly rounded from the double).
FAST32_BOUND = 128.0


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
FAST_BOUND, OVERFLOW_BOUND, UNDERFLOW_BOUND = 700.0, 710.0, -746.0


def _float_table(name, comment, values):
    """Lines defining a tuple of doubles, exactly (float.hex), four to a line."""
    return [f"# {comment}", f"{name} = tuple(float.fromhex(s) for s in (",
            *["    " + " ".join(f"'{v.hex()}'," for v in values[j:j + 4]) for j in range(0, len(values), 4)],
            "))"]


def _bits_table(name, comment, values):
    """Lines defining a tuple of 64-bit patterns, as signed integers, four to a line."""
    return [f"# {comment}, as a signed 64-bit integer", f"{name} = (",
            *["    " + " ".join(f"{b - 2**64 if b >= 2**63 else b}," for b in values[j:j + 4])
              for j in range(0, len(values), 4)],
            ")"]


def render(consts, c_dbl, e_rounded, d_dbl, e32_rounded):
    lines = [
        '"""tinynet\'s own exp: its constants. GENERATED by tools/gen_exp_data.py: do not edit.',
        "",
        "Read by every backend (see tools/gen_exp_data.py for how each value is derived). The values",
        'are exact: float.hex for the floats, integers for the bit patterns."""',
        "",
        f"N = {N}",
        f"TABLE_BITS = {TABLE_BITS}",
        f"FAST_BOUND = {FAST_BOUND!r}",
        f"OVERFLOW_BOUND = {OVERFLOW_BOUND!r}",
        f"UNDERFLOW_BOUND = {UNDERFLOW_BOUND!r}",
    ]
    for name, v in consts:
        lines.append(f"{name} = float.fromhex('{v.hex()}')  # {v!r}")
    lines.append("# the polynomial's absolute error (rounded minimax coefficients) on")
    lines.append(f"# |r| <= {mpmath.nstr(R_MAX, 17)}: {mpmath.nstr(e_rounded, 6)}"
                 f" = {mpmath.nstr(e_rounded * 2**66, 5)} * 2^-66")
    for i, c in enumerate(c_dbl):
        lines.append(f"C{i + 2} = float.fromhex('{c.hex()}')  # {c!r}")
    lines.append("")
    lines += _float_table("H", "H[j] = 2^(j/N) rounded to nearest double", H)
    lines += _float_table("TAIL", "TAIL[j] = 2^(j/N)/H[j] - 1 rounded to nearest double", TAIL)
    lines += _bits_table("SBITS", "SBITS[j] = bits(H[j]) - (j << 45) (mod 2^64)", SBITS)
    lines.append("")
    lines.append("# float32's exp (exp32): computed in double, rounded to float32 once")
    lines.append(f"N32 = {N32}")
    lines.append(f"TABLE_BITS32 = {TABLE_BITS32}")
    lines.append(f"FAST32_BOUND = {FAST32_BOUND!r}")
    lines.append(f"OVERFLOW32 = float.fromhex('{OVERFLOW32.hex()}')  # {OVERFLOW32!r}: the largest finite")
    lines.append(f"INV_LN2_N32 = float.fromhex('{INV_LN2_N32.hex()}')  # {INV_LN2_N32!r}")
    lines.append("# the polynomial's absolute error (rounded minimax coefficients) for 2^(r/N32) on")
    lines.append(f"# |r| <= {mpmath.nstr(R32_MAX, 17)}: {mpmath.nstr(e32_rounded, 6)}"
                 f" = {mpmath.nstr(e32_rounded * 2**34, 5)} * 2^-34")
    for i, d in enumerate(d_dbl):
        lines.append(f"D{i} = float.fromhex('{d.hex()}')  # {d!r}")
    lines += _float_table("T32", "T32[j] = 2^(j/N32) rounded to nearest double", T32)
    lines += _bits_table("SBITS32", "SBITS32[j] = bits(T32[j]) - (j << 47) (mod 2^64)", SBITS32)
    lines.append("")
    return "\n".join(lines)


def main():
    import os

    check = "--check" in sys.argv
    print(f"N = {N}")
    print(f"INV_LN2_N = {INV_LN2_N.hex()}")
    print(f"LN2_HI_N  = {LN2_HI_N.hex()}  ({HI_BITS} significant bits)")
    print(f"LN2_LO_N  = {LN2_LO_N.hex()}")
    resid = LN2 / N - mpf(LN2_HI_N) - mpf(LN2_LO_N)
    print(f"  |ln2/N - hi - lo| = {mpmath.nstr(abs(resid), 3)}")
    print(f"SHIFT     = {SHIFT.hex()}")
    print(f"R_MAX     = {mpmath.nstr(R_MAX, 17)}")
    print("Remez fit of exp(r)-1-r by C2 r^2 + ... + C5 r^5 (absolute error):")
    _, emax, _, c_dbl = compute_poly(verbose=False)
    print(f"  minimax error (exact coeffs)  : {mpmath.nstr(emax * 2**66, 5)} * 2^-66")
    e_rounded = max_abs_err(c_dbl, R_MAX)
    print(f"  error with rounded coeffs     : {mpmath.nstr(e_rounded * 2**66, 5)} * 2^-66")
    consts = [("INV_LN2_N", INV_LN2_N), ("LN2_HI_N", LN2_HI_N), ("LN2_LO_N", LN2_LO_N), ("SHIFT", SHIFT)]
    print(f"float32: N32 = {N32}, INV_LN2_N32 = {INV_LN2_N32.hex()}, OVERFLOW32 = {OVERFLOW32.hex()}")
    e32_exact, d_dbl = compute_poly32()
    e32_rounded = max_abs_err(d_dbl, R32_MAX, target=target32, powers=POWERS32)
    print(f"  minimax fit of 2^(r/N32), |r| <= 1/2: {mpmath.nstr(e32_exact * 2**34, 5)} * 2^-34 "
          f"(rounded coefficients: {mpmath.nstr(e32_rounded * 2**34, 5)} * 2^-34)")
    text = render(consts, c_dbl, e_rounded, d_dbl, e32_rounded)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tinynet", "_exp_data.py")
    if check:
        try:
            with open(path) as handle:
                same = handle.read() == text
        except OSError:
            same = False
        print(f"tinynet/_exp_data.py: {'up to date' if same else 'DIFFERS'}")
        sys.exit(0 if same else 1)
    with open(path, "w") as handle:
        handle.write(text)
    print("wrote tinynet/_exp_data.py")


if __name__ == "__main__":
    main()
