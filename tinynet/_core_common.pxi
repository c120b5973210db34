# Cython kernels shared by both model families: the sigmoid and numpy's pairwise summation.
# Included by _core.pyx; mirrors _python_common.py (read its docstring) and _numba_common.py.


cdef inline double _sigmoid(double x) noexcept nogil:
    # f(x) = 1 / (1 + e^(-x)); 0.0 where e^(-x) overflows to inf
    return 1.0 / (1.0 + exp(-x))


def sigmoid(double x):
    """Sigmoid activation f(x) = 1 / (1 + e^(-x)) (a test hook over the kernels' helper)."""
    return _sigmoid(x)


cdef double _pairwise_block(const double* values, Py_ssize_t m) noexcept nogil:
    # values[0:m] (m <= 128) summed as numpy sums one block: eight running sums, combined as a tree,
    # then the remainder one by one.
    cdef double total, r0, r1, r2, r3, r4, r5, r6, r7
    cdef Py_ssize_t i
    if m < 8:
        total = 0.0
        for i in range(m):
            total += values[i]
        return total
    r0 = values[0]; r1 = values[1]; r2 = values[2]; r3 = values[3]
    r4 = values[4]; r5 = values[5]; r6 = values[6]; r7 = values[7]
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
# walk runs that recursion on explicit stacks: pending ranges (start, length, whether both halves
# are summed) and the sums of finished ones.

cdef struct Walk:
    int64_t todo[STACK_SIZE][3]     # start, length, both halves summed
    double sums[STACK_SIZE]
    Py_ssize_t counts[2]            # [len(todo), len(sums)]


cdef inline void _walk_start(Walk* walk, Py_ssize_t n) noexcept nogil:
    # A walk over the leaves of the pairwise summation of n >= 1 terms.
    walk.todo[0][0] = 0
    walk.todo[0][1] = n
    walk.todo[0][2] = 0
    walk.counts[0] = 1
    walk.counts[1] = 0


cdef bint _walk_next(Walk* walk, Py_ssize_t* lo, Py_ssize_t* m) noexcept nogil:
    # True and the next leaf (terms lo .. lo+m-1); False when every leaf is summed.
    cdef Py_ssize_t top, start, length, m2
    cdef Py_ssize_t* counts = walk.counts
    cdef double* sums = walk.sums
    while counts[0] > 0:
        counts[0] -= 1
        top = counts[0]
        start = walk.todo[top][0]
        length = walk.todo[top][1]
        if walk.todo[top][2]:
            # Both halves done: their sums are the last two.
            counts[1] -= 1
            sums[counts[1] - 1] = sums[counts[1] - 1] + sums[counts[1]]
        elif length <= PW_BLOCKSIZE:
            lo[0] = start
            m[0] = length
            return True
        else:
            m2 = length // 2
            m2 -= m2 % 8
            # Pushed in reverse: the first half is summed first, then the second, then both added.
            walk.todo[top][0] = start; walk.todo[top][1] = length; walk.todo[top][2] = 1
            walk.todo[top + 1][0] = start + m2; walk.todo[top + 1][1] = length - m2
            walk.todo[top + 1][2] = 0
            walk.todo[top + 2][0] = start; walk.todo[top + 2][1] = m2; walk.todo[top + 2][2] = 0
            counts[0] += 3
    return False


cdef inline void _walk_push(Walk* walk, double leaf_sum) noexcept nogil:
    # Hand the sum of the leaf _walk_next gave back to the walk.
    walk.sums[walk.counts[1]] = leaf_sum
    walk.counts[1] += 1


cdef inline double _walk_total(Walk* walk) noexcept nogil:
    # The sum of all the terms, once _walk_next has said there are no more leaves.
    return walk.sums[0]


def pairwise_sum(const double[::1] values):
    """Sum of ``values`` (n >= 1 of them) in numpy's pairwise order (a test hook over the walk)."""
    cdef Walk walk
    cdef Py_ssize_t lo, m
    cdef double total
    with nogil:
        _walk_start(&walk, values.shape[0])
        while _walk_next(&walk, &lo, &m):
            _walk_push(&walk, _pairwise_block(&values[lo], m))
        total = _walk_total(&walk)
    return total
