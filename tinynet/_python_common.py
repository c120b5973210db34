"""Pure-Python kernels, shared by both model families: the sigmoid and numpy's pairwise summation.

Mirrors the shared section of ``_core.pyx`` (``_core_common.pxi``) and ``_numba_common.py``: the same
names, the same arguments in the same order, the same order of arithmetic.

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is the C library's ``exp`` (``math.exp`` here). Where ``exp`` overflows C returns ``inf``
  and ``1 / (1 + inf)`` is ``0.0``; ``math.exp`` raises ``OverflowError`` instead, so :func:`sigmoid`
  catches it and returns that same ``0.0``.
* Every expression is evaluated left to right, as written; nothing is fused or reordered.
* Sums over samples are summed the way numpy sums (pairwise, 8 lanes, blocks of 128), so given the
  same terms they equal ``np.sum`` bit for bit. The summation is a *walk* over its leaves (ranges
  of at most 128 terms, in order): the caller computes each leaf's terms, sums them with
  :func:`_pairwise_block` and pushes the sum back, so no kernel needs a buffer of n terms.
"""

from math import exp

from ._codes import PW_BLOCKSIZE, STACK_SIZE

__all__ = ["pairwise_sum", "sigmoid"]


def sigmoid(x):
    """Sigmoid activation f(x) = 1 / (1 + e^(-x)), giving 0.0 where e^(-x) overflows (as C does)."""
    try:
        return 1.0 / (1.0 + exp(-x))
    except OverflowError:
        return 0.0


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
