"""Numba kernels, shared by both model families: the JIT options, the sigmoid, numpy's pairwise summation.

Mirrors ``_python_common.py`` (the readable reference) and the shared section of ``_core.pyx``
(``_core_common.pxi``): the same names, the same arguments in the same order, the same order of
arithmetic. The Numba modules are imported only when the ``"numba"`` backend is first used, so
``import tinynet`` never imports Numba.

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is ``math.exp``, which Numba compiles to a call of the C library's ``exp``, as in the
  other two backends. Where it overflows it returns ``inf`` and the sigmoid gives ``0.0``.
* ``fastmath=False``: LLVM may neither fuse ``a*b + c`` into an FMA nor reorder anything, so every
  expression is evaluated left to right, as written.
* ``error_model="numpy"``: division never checks for zero (the sigmoid's denominator is >= 1).
* Sums over samples are summed the way numpy sums, as a walk over the leaves of its pairwise
  summation (see ``_python_common.py``).

The compiled code is cached on disk (``cache=True``) so that later processes skip compiling; where no
cache location is writable (a read-only install, no writable home) the kernels are compiled in memory
instead. Kernels are called with C-contiguous writeable float64 arrays and Python ints only, so each
compiles once. (Numba keys a function's cache on its own module's file: after editing this module in
a source checkout, clear ``__pycache__`` so that the family modules that call it recompile.)
"""

import math
from typing import Any

import numpy as np
from numba import njit

from ._codes import PW_BLOCKSIZE, STACK_SIZE

__all__ = ["JIT_OPTIONS", "jit", "pairwise_sum", "sigmoid"]

#: The options of every ``@njit`` of the Numba backend, in one place.
JIT_OPTIONS: dict[str, Any] = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")


def jit(func):
    """``njit(**JIT_OPTIONS)``, compiling in memory when no on-disk cache location is writable."""
    try:
        return njit(**JIT_OPTIONS)(func)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(**dict(JIT_OPTIONS, cache=False))(func)


@jit
def sigmoid(x):
    """Sigmoid activation f(x) = 1 / (1 + e^(-x)); 0.0 where e^(-x) overflows to inf."""
    return 1.0 / (1.0 + math.exp(-x))


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


@jit
def pairwise_sum(values):
    """Sum of ``values`` (n >= 1 of them) in numpy's pairwise order (a test hook over the walk)."""
    walk = _walk_start(values.shape[0])
    more, lo, m = _walk_next(walk)
    while more:
        _walk_push(walk, _pairwise_block(values[lo:lo + m], m))
        more, lo, m = _walk_next(walk)
    return _walk_total(walk)
