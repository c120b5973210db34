"""Pure-Python kernels, shared by both model families: tinynet's exp and numpy's pairwise summation
(the sigmoid and tanh, test hooks here, are rules of ``_rules.py``).

Mirrors the shared section of ``_core.pyx`` (``_core_common.pxi``) and ``_numba_common.py``: the same
names, the same arguments in the same order, the same order of arithmetic.

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is tinynet's own :func:`exp`: IEEE multiplications, additions and a table only (no C
  library, no fused multiply-add), within 0.55 ulp of the true value (0.5088 at worst, measured), and
  the same bits in every
  backend and on every machine. Where ``e^x`` overflows it is ``inf``, and ``1 / (1 + inf)`` is
  ``0.0``. (``log`` and ``log1p``, which appear only in reported loss values, are the C library's.)
* Every expression is evaluated left to right, as written; nothing is fused or reordered.
* Sums over samples are summed the way numpy sums (pairwise, 8 lanes, blocks of 128), so given the
  same terms they equal ``np.sum`` bit for bit. The summation is a *walk* over its leaves (ranges
  of at most 128 terms, in order): the caller computes each leaf's terms, sums them with
  :func:`_pairwise_block` and pushes the sum back, so no kernel needs a buffer of n terms.
"""

import functools
import struct
from math import copysign, inf, ldexp, log, log1p, sqrt

from . import _rules
from ._codes import PW_BLOCKSIZE, STACK_SIZE
from ._exp_data import (
    C2,
    C3,
    C4,
    C5,
    D0,
    D1,
    D2,
    D3,
    FAST32_BOUND,
    FAST_BOUND,
    INV_LN2_N,
    INV_LN2_N32,
    LN2_HI_N,
    LN2_LO_N,
    OVERFLOW32,
    OVERFLOW_BOUND,
    SHIFT,
    T32,
    TAIL,
    UNDERFLOW_BOUND,
    H,
)

__all__ = ["exp", "exp32", "exp32_array", "exp_array", "pairwise_sum", "rule32", "sigmoid", "tanh"]


# tinynet's exp (the constants and their derivation: tools/gen_exp_data.py). With N = 128:
#   x = k*ln2/N + r, |r| <= ln2/(2N);  exp(x) = 2^(k>>7) * 2^(j/N) * exp(r), j = k & 127;
#   2^(j/N) = H[j] * (1 + TAIL[j]);    exp(x) ~= scale + scale * (TAIL[j] + P(r)), P(r) ~= exp(r) - 1,
# with scale = H[j] * 2^(k>>7) exact. Every operation is one IEEE rounding, in the order written.

def _exp_reduce(x):
    """(tmp, k) with exp(x) ~= scale * (1 + tmp), scale = H[k & 127] * 2^(k >> 7); for |x| <= 746."""
    # k = round(x * N/ln2): z + SHIFT rounds z to an integer, and subtracting SHIFT is exact.
    z = x * INV_LN2_N
    kd = (z + SHIFT) - SHIFT
    # r = x - k*ln2/N, with ln2/N in two parts (kd * LN2_HI_N and the first subtraction are exact).
    r = x - kd * LN2_HI_N - kd * LN2_LO_N
    k = int(kd)
    # TAIL[j] + P(r), P(r) = r + C2 r^2 + C3 r^3 + C4 r^4 + C5 r^5, in this association.
    r2 = r * r
    return TAIL[k & 127] + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5), k


def exp(x):
    """tinynet's e^x: within 0.55 ulp, the same bits in every backend and on every machine."""
    if -FAST_BOUND <= x <= FAST_BOUND:         # the common path (False for NaN)
        # _exp_reduce, written out here: in pure Python the call and its tuple cost 15% of exp.
        kd = (x * INV_LN2_N + SHIFT) - SHIFT
        r = x - kd * LN2_HI_N - kd * LN2_LO_N
        k = int(kd)
        r2 = r * r
        tmp = TAIL[k & 127] + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5)
        scale = ldexp(H[k & 127], k >> 7)       # exact: 2^-1011 < scale < 2^1011
        return scale + scale * tmp
    return _exp_special(x)


def _exp_special(x):
    """exp of NaN, +-inf and |x| > 700: near overflow, and where the result may be subnormal."""
    if x != x:
        return x + 1.0
    if x > OVERFLOW_BOUND:
        return inf
    if x < UNDERFLOW_BOUND:
        return 0.0
    tmp, k = _exp_reduce(x)
    if x > 0.0:
        # 2^(k>>7) may overflow: scale by 2^-1009, multiply back (exact, or inf as it should be).
        scale = ldexp(H[k & 127], (k >> 7) - 1009)
        return 2.0 ** 1009 * (scale + scale * tmp)
    # The result may be subnormal: work with y = result * 2^1022, a normal number.
    scale = ldexp(H[k & 127], (k >> 7) + 1022)
    y = scale + scale * tmp
    if y < 1.0:
        # y * 2^-1022 would round a second time. Round y once, to a multiple of 2^-52 (2^-1074 after
        # scaling), by adding 1.0 and carrying y's rounding error (exact, Fast2Sum) in lo.
        lo = scale - y + scale * tmp
        hi = 1.0 + y
        lo = 1.0 - hi + y + lo
        y = (hi + lo) - 1.0
    return y * 2.0 ** -1022                     # exact: y is on the 2^-52 grid


def _exp_minus_one(x):
    """e^x - 1 for |x| <= 700: scale - 1 + scale * tmp, accurate near 0 (there scale = 1, tmp = P(x))."""
    tmp, k = _exp_reduce(x)
    scale = ldexp(H[k & 127], k >> 7)
    return scale - 1.0 + scale * tmp


def exp_array(values, out):
    """``out[i] = exp(values[i])`` for float64 arrays of one length (``out`` not ``values``)."""
    out[:] = [exp(x) for x in values.tolist()]


#: float32 has 8 exponent bits and a 24-bit significand: from 2^128 - 2^103 up (halfway between its
#: largest finite value and 2^128) a double rounds to inf in float32.
FLOAT32_INF_EDGE = 2.0 ** 128 - 2.0 ** 103
_FLOAT32 = struct.Struct("<f")


def round32(y):
    """The double y rounded to the nearest float32 (ties to even), as a Python float: what a C cast to
    float does, and numpy's astype(float32) (inf beyond float32's range, where struct would refuse).

    It also emulates float32 arithmetic: a float32 operation (+ - * / sqrt) on float32 values rounds
    exactly as round32 of the same operation done in double (53 >= 2 * 24 + 2: the double rounding is
    innocuous; tests/test_exp.py checks it)."""
    y = float(y)            # (a numpy scalar too: a float32 one would take the edge below in float32)
    if abs(y) >= FLOAT32_INF_EDGE:
        return copysign(inf, y)
    return _FLOAT32.unpack(_FLOAT32.pack(y))[0]


# float32's exp (the constants and their derivation: tools/gen_exp_data.py, "float32"). With N32 = 32:
#   z = x * N32/ln2 = k + r, |r| <= 1/2;  exp(x) = 2^(k>>5) * 2^(j/N32) * 2^(r/N32), j = k & 31;
#   exp32(x) = round32(scale * (D0 + r*(D1 + r*(D2 + r*D3)))), scale = T32[j] * 2^(k>>5) exact,
# in double (every float32 is a double exactly), rounded to float32 once at the end.

def exp32(x):
    """tinynet's e^x in float32 (x a float32 value, as a Python float): within 0.502 ulp, the same bits
    in every backend and on every machine."""
    if -FAST32_BOUND <= x <= OVERFLOW32:       # the common path (False for NaN)
        z = x * INV_LN2_N32
        kd = (z + SHIFT) - SHIFT                # round(z), as exp's k
        r = z - kd                              # exact
        k = int(kd)
        scale = ldexp(T32[k & 31], k >> 5)      # exact: 2^-185 < scale < 2^129
        return round32(scale * (D0 + r * (D1 + r * (D2 + r * D3))))
    if x != x:
        return x + 1.0
    return inf if x > 0.0 else 0.0


def exp32_array(values, out):
    """``out[i] = exp32(values[i])`` for float32 arrays of one length (``out`` not ``values``)."""
    out[:] = [exp32(x) for x in values.tolist()]


def _pairwise_block(values, m):
    """values[0:m] (m <= 128) summed as numpy sums one block: eight running sums, combined as a tree,
    then the remainder one by one."""
    if m < 8:
        total = 0.0
        for i in range(m):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
    r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
    i = 8
    while i < m - m % 8:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < m:
        total += values[i]
        i += 1
    return total


# numpy sums a range of more than 128 terms as sum(first m2) + sum(the rest), m2 being half the
# length rounded down to a multiple of 8, and a shorter range (a leaf) with _pairwise_block. The
# walk runs that recursion on explicit stacks (Numba cannot cache recursive functions): pending
# ranges (start, length, whether both halves are summed) and the sums of finished ones.

def _walk_start(n):
    """A walk over the leaves of the pairwise summation of n >= 1 terms."""
    todo = [[0, 0, 0] for _ in range(STACK_SIZE)]     # start, length, both halves summed
    todo[0][1] = n
    return todo, [0.0] * STACK_SIZE, [1, 0]            # pending ranges, sums, [len(todo), len(sums)]


def _walk_next(walk):
    """(True, lo, m): the next leaf, terms lo .. lo+m-1. (False, 0, 0) when every leaf is summed."""
    todo, sums, counts = walk
    while counts[0] > 0:
        counts[0] -= 1
        lo, m, halves_summed = todo[counts[0]]
        if halves_summed:
            # Both halves done: their sums are the last two.
            counts[1] -= 1
            sums[counts[1] - 1] = sums[counts[1] - 1] + sums[counts[1]]
        elif m <= PW_BLOCKSIZE:
            return True, lo, m
        else:
            m2 = m // 2
            m2 -= m2 % 8
            # Pushed in reverse: the first half is summed first, then the second, then both added.
            top = counts[0]
            todo[top][0], todo[top][1], todo[top][2] = lo, m, 1
            todo[top + 1][0], todo[top + 1][1], todo[top + 1][2] = lo + m2, m - m2, 0
            todo[top + 2][0], todo[top + 2][1], todo[top + 2][2] = lo, m2, 0
            counts[0] += 3
    return False, 0, 0


def _walk_push(walk, leaf_sum):
    """Hand the sum of the leaf :func:`_walk_next` gave back to the walk."""
    _, sums, counts = walk
    sums[counts[1]] = leaf_sum
    counts[1] += 1


def _walk_total(walk):
    """The sum of all the terms, once :func:`_walk_next` has said there are no more leaves."""
    return walk[1][0]


def pairwise_sum(values):
    """Sum of ``values`` (n >= 1 of them) in numpy's pairwise order (a test hook over the walk)."""
    values = values.tolist()
    walk = _walk_start(len(values))
    more, lo, m = _walk_next(walk)
    while more:
        _walk_push(walk, _pairwise_block(values[lo:lo + m], m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk)



#: The per-element rules (_rules.py) with this backend's helpers; sigmoid and tanh are among them.
RULES = _rules.compiled({"abs": abs, "copysign": copysign, "exp": exp, "exp_minus_one": _exp_minus_one,
                         "log": log, "log1p": log1p, "sqrt": sqrt})
sigmoid = RULES.sigmoid
tanh = RULES.tanh


# float32's helpers: each computed in float64 from float32 values and rounded to float32 once (for
# sqrt, float32's own; for e^x - 1, log and log1p, within about half an ulp of float32).

def _exp_minus_one32(x):
    return round32(_exp_minus_one(x))


def _log32(x):
    return round32(log(x))


def _log1p32(x):
    return round32(log1p(x))


def R32(x):
    """x rounded to float32 (:func:`round32`) if it is a float; anything else (an integer) as it is.
    The float32 kernels (tools/gen_float32.py) round every operation's result with it, their index
    arithmetic included."""
    return round32(x) if isinstance(x, float) else x      # (numpy's float64 scalars are floats)


def _sqrt32(x):
    return round32(sqrt(x))


@functools.cache
def rules32():
    """The rules' float32 forms (_rules.py's docstring), every operation rounded by round32: built at
    the first call (from the rules' source), not at import."""
    return _rules.compiled({"abs": abs, "copysign": copysign, "exp": exp32,
                            "exp_minus_one": _exp_minus_one32, "log": _log32, "log1p": _log1p32,
                            "sqrt": _sqrt32, "R": round32, "F": round32}, float32=True)


def rule32(number, a=0.0, b=0.0, c=0.0, d=0.0, e=0.0):
    """The float32 form of rule ``number`` (of ``_rules.rules()``) at its arguments, each rounded to
    float32 first (a test hook)."""
    if not 0 <= number < len(_rules.rules()):
        raise ValueError(f"no rule number {number}")
    name, function = _rules.rules()[number]
    return getattr(rules32(), name)(*[round32(x) for x in (a, b, c, d, e)[:function.__code__.co_argcount]])
