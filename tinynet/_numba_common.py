"""Numba kernels, shared by both model families: the JIT options, tinynet's exp, the per-element rules
of ``_rules.py`` compiled (``RULES``; the sigmoid and tanh among them), numpy's pairwise summation.

Mirrors ``_python_common.py`` (the readable reference) and the shared section of ``_core.pyx``
(``_core_common.pxi``): the same names, the same arguments in the same order, the same order of
arithmetic. The Numba modules are imported only when the ``"numba"`` backend is first used, so
``import tinynet`` never imports Numba.

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is tinynet's own :func:`exp` (see ``_python_common.py``), never ``math.exp``: the same
  operations as the other backends, so the same bits. Where it overflows it returns ``inf`` and the
  sigmoid gives ``0.0``.
* ``fastmath=False``: LLVM may neither fuse ``a*b + c`` into an FMA nor reorder anything, so every
  expression is evaluated left to right, as written.
* ``error_model="numpy"``: division never checks for zero (the sigmoid's denominator is >= 1).
* Sums over samples are summed the way numpy sums, as a walk over the leaves of its pairwise
  summation (see ``_python_common.py``).

The compiled code is cached on disk (``cache=True``) so that later processes skip compiling; where no
cache location is writable (a read-only install, no writable home) the kernels are compiled in memory
instead. Kernels are called with C-contiguous writeable float64 arrays and Python ints only, so each
compiles once.

Numba keys a function's cache on the contents of its own module's file alone. The family modules'
kernels inline this module's helpers and ``_exp_data``'s constants, so after an upgrade (or an edit)
that changed only those, Numba would load stale machine code with the old arithmetic. tinynet's
kernels are therefore cached under a stamp of every file they depend on (:data:`SOURCES`).
"""

import functools
import hashlib
import math
import operator
import os
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import caching
from numba.extending import intrinsic, models, overload, register_model

from . import _rules
from ._codes import EXP_LANES, LANES, PW_BLOCKSIZE, STACK_SIZE
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
    SBITS,
    SBITS32,
    SHIFT,
    TAIL,
    UNDERFLOW_BOUND,
)

__all__ = ["JIT_OPTIONS", "exp", "exp32", "exp32_array", "exp_array", "jit", "pairwise_sum", "rule32",
           "sigmoid", "tanh"]

#: The options of every ``@njit`` of the Numba backend, in one place.
JIT_OPTIONS: dict[str, Any] = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
#: The files whose contents the Numba kernels' machine code depends on: its cache's stamp.
SOURCES = ("_codes.py", "_exp_data.py", "_rules.py", "_numba_common.py", "_numba_tutorial.py",
           "_numba_network.py", "_numba_network32.py", "_numba_tutorial32.py")


def _stamp():
    digest = hashlib.sha256()
    for name in SOURCES:
        try:
            with open(os.path.join(_PACKAGE, name), "rb") as source:
                digest.update(source.read())
        except OSError as exc:       # an install without the .py sources (frozen, .pyc only)
            raise ImportError(f"the Numba kernels need their source files: {exc}") from exc
    return digest.digest()


_STAMP = _stamp()


class _StampOfEverySource:
    """A cache locator for tinynet's kernels only, stamped with all of :data:`SOURCES`."""

    def get_source_stamp(self):
        return _STAMP

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != _PACKAGE:
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]   # Numba's locator


def _numba_class(name):
    """A class of numba.core.caching, by its name in Numba 0.68 or, with a leading underscore, before."""
    found = getattr(caching, name, None) or getattr(caching, "_" + name, None)
    if found is None:
        raise ImportError(f"this Numba has no numba.core.caching.{name}: tinynet supports Numba < 0.69")
    return found


# Numba's own locators (NUMBA_CACHE_DIR, __pycache__ beside the source, the user's cache), in its
# order, each stamped with every source; tried before Numba's, for tinynet's files only.
_LOCATORS = [type(f"Tinynet{base.__name__.lstrip('_')}", (_StampOfEverySource, base), {})
             for base in map(_numba_class, ("UserProvidedCacheLocator", "InTreeCacheLocator",
                                            "UserWideCacheLocator"))]
_numba_class("CacheImpl")._locator_classes[:0] = _LOCATORS


def jit(func=None, *, inline="never"):
    """``njit(**JIT_OPTIONS)``, compiling in memory when no on-disk cache location is writable.

    ``inline="always"`` has Numba inline the function into its callers (before LLVM sees them), so
    that loops calling it can be vectorised.
    """
    if func is None:
        return lambda function: jit(function, inline=inline)
    try:
        return njit(**JIT_OPTIONS, inline=inline)(func)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(**dict(JIT_OPTIONS, cache=False), inline=inline)(func)


def _bitcast(source, target, llvm_type):
    """An intrinsic reinterpreting the bits of a ``source`` value as a ``target`` (one LLVM bitcast:
    no memory, no allocation)."""
    def typer(typingctx, value):
        if value != source:
            return None
        return target(source), lambda context, builder, sig, args: builder.bitcast(args[0], llvm_type)
    return intrinsic(typer)


# --- vectors of a kernel's floats: the register tiles of _tiles.h, for the Network kernels ----------
# LLVM's loop vectoriser keeps a tile's running sums in memory between the rows (and checks at run
# time, before every inner loop, that Numba's arrays do not overlap); a value of LLVM vector type
# (<4 x double>, <8 x float>: 32 bytes, one AVX register) stays in a register. Its operations are IEEE
# multiplications, additions and subtractions lane by lane, with no fast-math flag (never fused into
# an FMA nor reordered): each lane computes, rounded as in the scalar code, what the scalar code
# computes for its element; a float32 vector's lanes round each result to float32, as R does.

#: The floats in a kernel's vector: 4 doubles; 8 floats for the float32 kernels (which import VW32 as
#: VW, tools/gen_float32.py). NET_VEC and NET_VEC32 are two vectors each.
VW = 4
VW32 = 8


class _VectorType(types.Type):
    """Numba's type of ``count`` floats of Numba type ``dtype`` in one LLVM vector value."""

    def __init__(self, dtype, count):
        self.dtype, self.count = dtype, count
        super().__init__(name=f"{dtype}x{count}")


f64x4 = _VectorType(types.float64, VW)
f32x8 = _VectorType(types.float32, VW32)
#: A kernel's vector type, by its floats' Numba type.
_VECTORS = {types.float64: f64x4, types.float32: f32x8}
_LLVM_FLOATS = {types.float64: ir.DoubleType(), types.float32: ir.FloatType()}


def _llvm_vector(vector):
    return ir.VectorType(_LLVM_FLOATS[vector.dtype], vector.count)


@register_model(_VectorType)
class _VectorModel(models.PrimitiveModel):
    """A vector is its LLVM vector value (a register), not a structure in memory."""

    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _llvm_vector(fe_type))


def _vector_array(array, index):
    """The vector type of a 1-D C-contiguous array of a kernel's floats indexed by an integer, or None."""
    if (isinstance(array, types.Array) and array.dtype in _VECTORS and array.ndim == 1
            and array.layout == "C" and isinstance(index, types.Integer)):
        return _VECTORS[array.dtype]
    return None


def _element_pointer(context, builder, sig, args):
    """A pointer to element args[1] of the array args[0], as a pointer to the array's vector type."""
    arrty = sig.args[0]
    data = context.make_array(arrty)(context, builder, args[0]).data
    vector = _llvm_vector(_VECTORS[arrty.dtype])
    return builder.bitcast(builder.gep(data, [args[1]]), vector.as_pointer())


def _vload(typingctx, array, index):
    """array[index:index + VW] as a vector (array: 1-D, C-contiguous; no bounds check)."""
    vector = _vector_array(array, index)
    if vector is None:
        return None

    def codegen(context, builder, sig, args):
        load = builder.load(_element_pointer(context, builder, sig, args))
        load.align = vector.dtype.bitwidth // 8          # aligned as an element, not as the vector
        return load
    return vector(array, index), codegen


def _vstore(typingctx, array, index, value):
    """array[index:index + VW] = value, a vector of the array's floats (no bounds check)."""
    if _vector_array(array, index) is None or value != _VECTORS[array.dtype]:
        return None

    def codegen(context, builder, sig, args):
        store = builder.store(args[2], _element_pointer(context, builder, sig, args))
        store.align = array.dtype.bitwidth // 8
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


def _vsplat(typingctx, x):
    """A vector of x in every lane (x: a float64, or a float32 for a float32 vector)."""
    vector = _VECTORS.get(x)
    if vector is None:
        return None

    def codegen(context, builder, sig, args):
        # x into lane 0, then lane 0 shuffled into every lane
        undefined = ir.Constant(_llvm_vector(vector), ir.Undefined)
        one = builder.insert_element(undefined, args[0], ir.Constant(ir.IntType(32), 0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), vector.count), [0] * vector.count)
        return builder.shuffle_vector(one, undefined, zeros)
    return vector(x), codegen


# (typed Any: mypy would take an intrinsic's typing function's signature for its callers')
vload: Any = intrinsic(_vload)
vstore: Any = intrinsic(_vstore)
vsplat: Any = intrinsic(_vsplat)


def _lanewise(name):
    """An intrinsic of two vectors of one type: LLVM's instruction ``name`` (fmul, fadd, fsub)."""
    def typer(typingctx, a, b):
        if not isinstance(a, _VectorType) or a != b:
            return None
        return a(a, b), lambda context, builder, sig, args: getattr(builder, name)(args[0], args[1])
    return intrinsic(typer)


#: a * b, a + b, a - b lane by lane (IEEE, each rounded to the lanes' type; no FMA).
vmul: Any = _lanewise("fmul")
vadd: Any = _lanewise("fadd")
vsub: Any = _lanewise("fsub")


# ... and as Python's operators on two vectors of one type, so that the rules of _rules.py (sgd,
# velocity: written once for every backend) take vectors as they take numbers: a tile steps a vector
# of weights by the same rule, lane by lane, as the scalar code steps one.
@overload(operator.mul, inline="always")
def _vector_mul(a, b):
    if isinstance(a, _VectorType) and a == b:
        return lambda a, b: vmul(a, b)
    return None


@overload(operator.add, inline="always")
def _vector_add(a, b):
    if isinstance(a, _VectorType) and a == b:
        return lambda a, b: vadd(a, b)
    return None


@overload(operator.sub, inline="always")
def _vector_sub(a, b):
    if isinstance(a, _VectorType) and a == b:
        return lambda a, b: vsub(a, b)
    return None


#: The bits of a float64, as an int64; the float64 with the bits of an int64.
_as_int64: Any = _bitcast(types.float64, types.int64, ir.IntType(64))
_as_float64: Any = _bitcast(types.int64, types.float64, ir.DoubleType())


# The table, as arrays (Numba freezes global arrays into the compiled code).
_TAIL = np.array(TAIL)
_SBITS = np.array(SBITS, dtype=np.int64)


@jit(inline="always")
def _exp_reduce(x):
    """(tmp, sbits): exp(x) ~= scale * (1 + tmp), scale = the double with bits sbits; |x| <= 746."""
    # k = round(x * N/ln2): z + SHIFT rounds z to an integer, whose low bits are k (two's
    # complement); subtracting SHIFT is exact.
    z = x * INV_LN2_N
    shifted = z + SHIFT
    ki = _as_int64(shifted)
    kd = shifted - SHIFT
    # r = x - k*ln2/N, with ln2/N in two parts (kd * LN2_HI_N and the first subtraction are exact).
    r = x - kd * LN2_HI_N - kd * LN2_LO_N
    # scale = H[j] * 2^(k>>7), j = k & 127: SBITS[j] + (ki << 45) = bits(H[j]) + ((k>>7) << 52).
    j = ki & 127
    sbits = _SBITS[j] + (ki << 45)
    # TAIL[j] + P(r), P(r) = r + C2 r^2 + C3 r^3 + C4 r^4 + C5 r^5, in this association.
    r2 = r * r
    return _TAIL[j] + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5), sbits


@jit(inline="always")
def _exp_common(x):
    """exp on the common path, |x| <= 700 (branch-free, so that loops of it vectorise)."""
    tmp, sbits = _exp_reduce(x)
    scale = _as_float64(sbits)
    return scale + scale * tmp


@jit(inline="always")
def exp(x):
    """tinynet's e^x: within 0.55 ulp, the same bits in every backend and on every machine."""
    if -FAST_BOUND <= x <= FAST_BOUND:         # the common path (False for NaN)
        return _exp_common(x)
    return _exp_special(x)


@jit
def _exp_special(x):
    """exp of NaN, +-inf and |x| > 700: near overflow, and where the result may be subnormal."""
    if x != x:
        return x + 1.0
    if x > OVERFLOW_BOUND:
        return np.inf
    if x < UNDERFLOW_BOUND:
        return 0.0
    tmp, sbits = _exp_reduce(x)
    if x > 0.0:
        # 2^(k>>7) may overflow: scale by 2^-1009, multiply back (exact, or inf as it should be).
        scale = _as_float64(sbits - (1009 << 52))
        return 2.0 ** 1009 * (scale + scale * tmp)
    # The result may be subnormal: work with y = result * 2^1022, a normal number, rounded once.
    scale = _as_float64(sbits + (1022 << 52))
    y = scale + scale * tmp
    if y < 1.0:
        lo = scale - y + scale * tmp
        hi = 1.0 + y
        lo = 1.0 - hi + y + lo
        y = (hi + lo) - 1.0
    return y * 2.0 ** -1022


@jit(inline="always")
def _exp_lanes(x, out):
    """out[j] = exp(x[j]) for EXP_LANES values (part of a block's lanes in train_many's kernels, of a
    layer's sums in the per-sample ones): the common path in every lane, then the special path in the
    lanes that need it."""
    for j in range(EXP_LANES):
        out[j] = _exp_common(x[j])
    for j in range(EXP_LANES):
        if not (-FAST_BOUND <= x[j] <= FAST_BOUND):
            out[j] = _exp_special(x[j])


@jit
def _exp_minus_one(x):
    """e^x - 1 for |x| <= 700: scale - 1 + scale * tmp, accurate near 0 (there scale = 1, tmp = P(x))."""
    tmp, sbits = _exp_reduce(x)
    scale = _as_float64(sbits)
    return scale - 1.0 + scale * tmp


@jit
def exp_array(values, out):
    """``out[i] = exp(values[i])`` for float64 arrays of one length (``out`` not ``values``).

    The common path over every element (a loop LLVM vectorises), then the rare elements outside it
    again, on the special path: the same values as :func:`exp`, element by element.
    """
    for i in range(values.shape[0]):
        out[i] = _exp_common(values[i])
    for i in range(values.shape[0]):
        x = values[i]
        if not (-FAST_BOUND <= x <= FAST_BOUND):
            out[i] = _exp_special(x)


_SBITS32 = np.array(SBITS32, dtype=np.int64)


@jit(inline="always")
def _exp32_common(x):
    """float32's exp on its common path, -128 <= x <= OVERFLOW32 (x a float32; branch free): in double,
    rounded to float32 once (see _python_common.exp32)."""
    z = np.float64(x) * INV_LN2_N32
    shifted = z + SHIFT
    ki = _as_int64(shifted)
    kd = shifted - SHIFT
    r = z - kd
    scale = _as_float64(_SBITS32[ki & 31] + (ki << 47))
    return np.float32(scale * (D0 + r * (D1 + r * (D2 + r * D3))))


@jit
def _exp32_special(x):
    """float32's exp of NaN, and beyond its common path: inf above, 0 below."""
    if x != x:
        return np.float32(np.float64(x) + 1.0)
    return np.float32(np.inf) if x > 0.0 else np.float32(0.0)


@jit(inline="always")
def exp32(x):
    """tinynet's e^x in float32: within 0.502 ulp, the same bits in every backend and on every machine."""
    if -FAST32_BOUND <= x <= OVERFLOW32:       # the common path (False for NaN)
        return _exp32_common(x)
    return _exp32_special(x)


@jit(inline="always")
def _exp32_lanes(x, out):
    """out[j] = exp32(x[j]) for EXP_LANES values, as :func:`_exp_lanes` does exp's (the float32 kernels'
    sigmoid and exp EXP_LANES values at a time)."""
    for j in range(EXP_LANES):
        out[j] = _exp32_common(x[j])
    for j in range(EXP_LANES):
        if not (-FAST32_BOUND <= x[j] <= OVERFLOW32):
            out[j] = _exp32_special(x[j])


@jit
def exp32_array(values, out):
    """``out[i] = exp32(values[i])`` for float32 arrays of one length (``out`` not ``values``), as
    :func:`exp_array` computes exp's."""
    for i in range(values.shape[0]):
        out[i] = _exp32_common(values[i])
    for i in range(values.shape[0]):
        x = values[i]
        if not (-FAST32_BOUND <= x <= OVERFLOW32):
            out[i] = _exp32_special(x)


def _jit_rule(function, name):
    """A rule of _rules.py compiled: inlined into its callers (so that loops calling it vectorise, and
    the loops over arrays cost no call), but for tanh (a branchy function, called where it is) and the
    functions of one value over the codes."""
    return jit(function, inline="never" if name in ("tanh", "activate", "derivative", *_rules.CHECKS)
               else "always")


#: The per-element rules (_rules.py), compiled with this backend's helpers.
RULES = _rules.compiled({"abs": abs, "copysign": math.copysign, "exp": exp, "exp_minus_one": _exp_minus_one,
                          "log": math.log, "log1p": math.log1p, "sqrt": math.sqrt},
                        _jit_rule)
sigmoid = RULES.sigmoid
tanh = RULES.tanh


# float32's helpers, as _python_common's: computed in float64, rounded to float32 once.
def _round32(x):
    """x rounded to float32 (the float32 rules' R and F); a vector of float32 lanes as it is (each
    lane's operation has rounded it already). Compiled through its overload below."""
    return np.float32(x)


@overload(_round32, inline="always")
def _round32_typed(x):
    if isinstance(x, _VectorType):
        return lambda x: x
    return lambda x: np.float32(x)


@jit(inline="always")
def _abs32(x):
    return np.float32(abs(x))


@jit(inline="always")
def _copysign32(x, y):
    return np.float32(math.copysign(np.float64(x), np.float64(y)))


@jit(inline="always")
def _exp_minus_one32(x):
    return np.float32(_exp_minus_one(np.float64(x)))


@jit(inline="always")
def _log32(x):
    return np.float32(math.log(np.float64(x)))


@jit(inline="always")
def _log1p32(x):
    return np.float32(math.log1p(np.float64(x)))


@jit(inline="always")
def _sqrt32(x):
    return np.float32(math.sqrt(np.float64(x)))


def R32(x):
    """x rounded to float32 if it is a float; anything else (an integer) as it is (the float32 kernels
    round every operation's result with it, tools/gen_float32.py; compiled through its overload
    below)."""
    return np.float32(x) if isinstance(x, float) else x


@overload(R32, inline="always")
def _r32_typed(x):
    if isinstance(x, types.Float):
        return lambda x: np.float32(x)
    return lambda x: x


@functools.cache
def rules32():
    """The rules' float32 forms (_rules.py's docstring), every operation's result a float32
    (np.float32): built at the first call, not at import."""
    return _rules.compiled({"abs": _abs32, "copysign": _copysign32, "exp": exp32,
                            "exp_minus_one": _exp_minus_one32, "log": _log32, "log1p": _log1p32,
                            "sqrt": _sqrt32, "R": _round32, "F": _round32, "nan": np.float32(np.nan)},
                           _jit_rule, float32=True)


def rule32(number, a=0.0, b=0.0, c=0.0, d=0.0, e=0.0):
    """The float32 form of rule ``number`` (of ``_rules.rules()``) at its arguments, each rounded to
    float32 first (a test hook)."""
    if not 0 <= number < len(_rules.rules()):
        raise ValueError(f"no rule number {number}")
    name, function = _rules.rules()[number]
    arguments = [np.float32(x) for x in (a, b, c, d, e)[:function.__code__.co_argcount]]
    return float(getattr(rules32(), name)(*arguments))


@jit
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


@jit
def _walk_start(n):
    """A walk over the leaves of the pairwise summation of n >= 1 terms."""
    todo = np.zeros((STACK_SIZE, 3), np.int64)     # start, length, both halves summed
    todo[0, 1] = n
    counts = np.zeros(2, np.int64)                 # [len(todo), len(sums)]
    counts[0] = 1
    return todo, np.zeros(STACK_SIZE), counts


@jit
def _walk_next(walk):
    """(True, lo, m): the next leaf, terms lo .. lo+m-1. (False, 0, 0) when every leaf is summed."""
    todo, sums, counts = walk
    while counts[0] > 0:
        counts[0] -= 1
        lo, m, halves_summed = todo[counts[0], 0], todo[counts[0], 1], todo[counts[0], 2]
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
            todo[top, 0], todo[top, 1], todo[top, 2] = lo, m, 1
            todo[top + 1, 0], todo[top + 1, 1], todo[top + 1, 2] = lo + m2, m - m2, 0
            todo[top + 2, 0], todo[top + 2, 1], todo[top + 2, 2] = lo, m2, 0
            counts[0] += 3
    return False, 0, 0


@jit
def _walk_push(walk, leaf_sum):
    """Hand the sum of the leaf :func:`_walk_next` gave back to the walk."""
    _, sums, counts = walk
    sums[counts[1]] = leaf_sum
    counts[1] += 1


@jit
def _walk_total(walk):
    """The sum of all the terms, once :func:`_walk_next` has said there are no more leaves."""
    return walk[1][0]


# The walk for a block's LANES lanes at once (train_many's kernels, whose networks' losses are sums
# over the same samples): one walk over the leaves, which are the same for every lane, and each lane's
# sums beside the walk's, where every addition that the walk makes of its last two sums is repeated
# lane by lane. The leaves' terms: values[t, lane], t < m.

@jit
def _lane_walk_start(n):
    """:func:`_walk_start` for every lane of a block: (the walk, the lanes' sums, the count of the
    walk's sums that the lanes' match)."""
    return _walk_start(n), np.zeros((STACK_SIZE, LANES)), np.zeros(1, np.int64)


@jit
def _lane_walk_next(walk):
    """:func:`_walk_next`, its additions repeated in every lane."""
    base, sums, level = walk
    more, lo, m = _walk_next(base)
    counts = base[2]
    for c in range(level[0], counts[1], -1):
        for lane in range(LANES):
            sums[c - 2, lane] = sums[c - 2, lane] + sums[c - 1, lane]
    level[0] = counts[1]
    return more, lo, m


@jit
def _lane_walk_push(walk, leaf_sums):
    """:func:`_walk_push` of each lane's leaf sum."""
    base, sums, level = walk
    _walk_push(base, 0.0)       # (the walk's own sums: unused)
    level[0] = base[2][1]
    for lane in range(LANES):
        sums[level[0] - 1, lane] = leaf_sums[lane]


@jit
def _lane_walk_total(walk, out):
    """:func:`_walk_total` of each lane, into out."""
    for lane in range(LANES):
        out[lane] = walk[1][0, lane]


@jit
def _pairwise_block_lanes(values, m, out):
    """:func:`_pairwise_block` of each lane of a block (values[t, lane], t < m <= 128) into out[lane]."""
    r = np.empty((8, LANES))
    if m < 8:
        for lane in range(LANES):
            out[lane] = 0.0
        for i in range(m):
            for lane in range(LANES):
                out[lane] += values[i, lane]
        return
    for q in range(8):
        for lane in range(LANES):
            r[q, lane] = values[q, lane]
    i = 8
    while i < m - m % 8:
        for q in range(8):
            for lane in range(LANES):
                r[q, lane] += values[i + q, lane]
        i += 8
    for lane in range(LANES):
        out[lane] = ((r[0, lane] + r[1, lane]) + (r[2, lane] + r[3, lane])) + \
            ((r[4, lane] + r[5, lane]) + (r[6, lane] + r[7, lane]))
    while i < m:
        for lane in range(LANES):
            out[lane] += values[i, lane]
        i += 1


@jit
def pairwise_sum(values):
    """Sum of ``values`` (n >= 1 of them) in numpy's pairwise order (a test hook over the walk)."""
    walk = _walk_start(values.shape[0])
    more, lo, m = _walk_next(walk)
    while more:
        _walk_push(walk, _pairwise_block(values[lo:lo + m], m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk)
