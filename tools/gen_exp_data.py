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

Measured (tests/test_exp.py and a 200,000,000-input screen): worst error 0.5088 ulp, at
x = -0x1.207ee6fed19acp+7; subnormal results 0.5005 ulp; 0.08% of results not correctly rounded.
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


def poly_eval(c, r):
    return sum(ci * r**p for ci, p in zip(c, POWERS))


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


def remez(a, iters=40, verbose=False):
    n = len(POWERS)
    # initial reference: n+1 points avoiding r = 0 (where the error is
    # identically 0 for every candidate polynomial)
    ref = [a * mpf(t) for t in ('-1', '-0.7', '-0.25', '0.5', '1')]
    for it in range(iters):
        A = mp.matrix(n + 1, n + 1)
        rhs = mp.matrix(n + 1, 1)
        for jj, x in enumerate(ref):
            for i, p in enumerate(POWERS):
                A[jj, i] = x**p
            A[jj, n] = (-1)**jj
            rhs[jj] = target(x)
        sol = mp.lu_solve(A, rhs)
        c = [sol[i] for i in range(n)]
        E = abs(sol[n])

        def err(r, c=c):
            return target(r) - poly_eval(c, r)

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


def max_abs_err(coeffs, a, npts=20001):
    """max |exp(r)-1-(r + sum c_i r^i)| over a dense grid + refinement."""
    def err(r):
        return target(r) - poly_eval([mpf(c) for c in coeffs], r)
    return max(abs(e) for _, e in local_extrema(err, -a, a, npts))


def compute_poly(verbose=False):
    c_exact, emax, ref = remez(R_MAX, verbose=verbose)
    c_dbl = [rnd(ci) for ci in c_exact]
    return c_exact, emax, ref, c_dbl


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
FAST_BOUND, OVERFLOW_BOUND, UNDERFLOW_BOUND = 700.0, 710.0, -746.0


def render(consts, c_dbl, e_rounded):
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
    lines.append("# H[j] = 2^(j/N) rounded to nearest double")
    lines.append("H = tuple(float.fromhex(s) for s in (")
    for j in range(0, N, 4):
        lines.append("    " + " ".join(f"'{h.hex()}'," for h in H[j:j + 4]))
    lines.append("))")
    lines.append("# TAIL[j] = 2^(j/N)/H[j] - 1 rounded to nearest double")
    lines.append("TAIL = tuple(float.fromhex(s) for s in (")
    for j in range(0, N, 4):
        lines.append("    " + " ".join(f"'{t.hex()}'," for t in TAIL[j:j + 4]))
    lines.append("))")
    lines.append("# SBITS[j] = bits(H[j]) - (j << 45) (mod 2^64), as a signed 64-bit integer")
    lines.append("SBITS = (")
    for j in range(0, N, 4):
        lines.append("    " + " ".join(f"{b - 2**64 if b >= 2**63 else b}," for b in SBITS[j:j + 4]))
    lines.append(")")
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
    text = render(consts, c_dbl, e_rounded)
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
