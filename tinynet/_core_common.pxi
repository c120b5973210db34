# Cython kernels shared by both model families: tinynet's exp, numpy's pairwise summation, and the
# test hooks over two of the rules (sigmoid, tanh: _rules.pxi). Included by _core.pyx; mirrors _python_common.py (read its docstring and comments) and
# _numba_common.py.


cdef inline uint64_t _bits(double x) noexcept nogil:
    # The bits of a double (memcpy: well defined, compiled to a register move).
    cdef uint64_t bits
    memcpy(&bits, &x, 8)
    return bits


cdef inline double _from_bits(uint64_t bits) noexcept nogil:
    # The double with these bits.
    cdef double x
    memcpy(&x, &bits, 8)
    return x


cdef inline double _exp_reduce(double x, uint64_t* sbits) noexcept nogil:
    # tmp, and the bits of scale, with exp(x) ~= scale * (1 + tmp); for |x| <= 746. For any other x
    # (inf, NaN) it computes nonsense, without undefined behaviour: no double becomes an integer.
    # k = round(x * N/ln2): z + SHIFT rounds z to an integer, whose low bits are k (two's
    # complement); subtracting SHIFT is exact.
    cdef double z = x * EXP_INV_LN2_N
    cdef double shifted = z + EXP_SHIFT
    cdef uint64_t ki = _bits(shifted)
    cdef double kd = shifted - EXP_SHIFT
    # r = x - k*ln2/N, with ln2/N in two parts (kd * LN2_HI_N and the first subtraction are exact).
    cdef double r = x - kd * EXP_LN2_HI_N - kd * EXP_LN2_LO_N
    # scale = H[j] * 2^(k>>7), j = k & 127: SBITS[j] + (ki << 45) = bits(H[j]) + ((k>>7) << 52).
    cdef uint64_t j = ki & 127
    sbits[0] = EXP_SBITS[j] + (ki << 45)
    # TAIL[j] + P(r), P(r) = r + C2 r^2 + C3 r^3 + C4 r^4 + C5 r^5, in this association.
    cdef double r2 = r * r
    return EXP_TAIL[j] + r + r2 * (EXP_C2 + r * EXP_C3) + r2 * r2 * (EXP_C4 + r * EXP_C5)


cdef inline double _exp_common(double x) noexcept nogil:
    # exp on the common path, |x| <= 700 (branch-free, so that loops of it vectorise).
    cdef uint64_t sbits
    cdef double tmp = _exp_reduce(x, &sbits)
    cdef double scale = _from_bits(sbits)
    return scale + scale * tmp


cdef double _exp_special(double x) noexcept nogil:
    # exp of NaN, +-inf and |x| > 700: near overflow, and where the result may be subnormal.
    cdef uint64_t sbits
    cdef double tmp, scale, y, lo, hi
    if x != x:
        return x + 1.0
    if x > EXP_OVERFLOW_BOUND:
        return _from_bits(0x7FF0000000000000)        # inf
    if x < EXP_UNDERFLOW_BOUND:
        return 0.0
    tmp = _exp_reduce(x, &sbits)
    if x > 0.0:
        # 2^(k>>7) may overflow: scale by 2^-1009, multiply back (exact, or inf as it should be).
        scale = _from_bits(sbits - (<uint64_t>1009 << 52))
        return EXP_TWO_1009 * (scale + scale * tmp)
    # The result may be subnormal: work with y = result * 2^1022, a normal number, rounded once.
    scale = _from_bits(sbits + (<uint64_t>1022 << 52))
    y = scale + scale * tmp
    if y < 1.0:
        lo = scale - y + scale * tmp
        hi = 1.0 + y
        lo = 1.0 - hi + y + lo
        y = (hi + lo) - 1.0
    return y * EXP_TWO_MINUS_1022


cdef inline double _exp(double x) noexcept nogil:
    # tinynet's e^x: within 0.55 ulp, the same bits in every backend and on every machine.
    if -EXP_FAST_BOUND <= x <= EXP_FAST_BOUND:     # the common path (False for NaN)
        return _exp_common(x)
    return _exp_special(x)


def exp(double x):
    """tinynet's e^x (a test hook over the kernels' helper)."""
    return _exp(x)


cdef inline void _exp_lanes(const double* x, double* out) noexcept nogil:
    # out[j] = _exp(x[j]) for EXP_LANES values (part of a block's lanes in train_many's kernels, of a
    # layer's sums in the per-sample ones): the common path in every lane (vectorised, with a
    # branch-free integer OR of the lanes it does not serve, which the compiler may reassociate, unlike
    # a sum of doubles), then the special path in the lanes that need it, if any.
    cdef int j
    cdef int unserved = 0
    for j in range(EXP_LANES):
        out[j] = _exp_common(x[j])
        unserved |= not (fabs(x[j]) <= EXP_FAST_BOUND)        # 1 for NaN
    if unserved:
        for j in range(EXP_LANES):
            if not (-EXP_FAST_BOUND <= x[j] <= EXP_FAST_BOUND):
                out[j] = _exp_special(x[j])


cdef inline double _exp_minus_one(double x) noexcept nogil:
    # e^x - 1 for |x| <= 700: scale - 1 + scale * tmp, accurate near 0 (there scale = 1, tmp = P(x)).
    cdef uint64_t sbits
    cdef double tmp = _exp_reduce(x, &sbits)
    cdef double scale = _from_bits(sbits)
    return scale - 1.0 + scale * tmp


def tanh(double s):
    """tanh from tinynet's exp (a test hook over the rule, _rules.pxi)."""
    return _tanh(s)


def exp_array(const double[::1] values, double[::1] out):
    """``out[i] = exp(values[i])`` for float64 arrays of one length (``out`` not ``values``)."""
    cdef Py_ssize_t i, k, n = values.shape[0]
    cdef int j
    cdef double x[EXP_LANES]
    cdef double e[EXP_LANES]
    cdef const double* v
    cdef double* o
    if n == 0:
        return
    v = &values[0]
    o = &out[0]
    with nogil:
        # EXP_LANES values at a time through _exp_lanes, in local arrays (which the compiler knows nothing
        # else touches, so it turns the loops into vector instructions; over the arrays themselves it
        # does not), then the rest one by one: the same values as _exp, element by element.
        for k in range(n // EXP_LANES):
            for j in range(EXP_LANES):
                x[j] = v[k * EXP_LANES + j]
            _exp_lanes(x, e)
            for j in range(EXP_LANES):
                o[k * EXP_LANES + j] = e[j]
        for i in range(n - n % EXP_LANES, n):
            o[i] = _exp(v[i])


cdef inline float _exp32_common(double x) noexcept nogil:
    # float32's exp on its common path, -128 <= x <= OVERFLOW32 (x a float32, exactly a double; branch
    # free): k = round(x * N32/ln2) as in _exp_reduce, r = z - k exact, scale = 2^(k/N32) from the
    # table's bits, 2^(r/N32) a cubic; one rounding to float32 at the end.
    cdef double z = x * EXP32_INV_LN2_N
    cdef double shifted = z + EXP_SHIFT
    cdef uint64_t ki = _bits(shifted)
    cdef double kd = shifted - EXP_SHIFT
    cdef double r = z - kd
    cdef double scale = _from_bits(EXP32_SBITS[ki & 31] + (ki << 47))
    return <float>(scale * (EXP32_D0 + r * (EXP32_D1 + r * (EXP32_D2 + r * EXP32_D3))))


cdef float _exp32_special(double x) noexcept nogil:
    # float32's exp of NaN, and beyond its common path: inf above, 0 below.
    if x != x:
        return <float>(x + 1.0)
    return <float>_from_bits(0x7FF0000000000000) if x > 0.0 else 0.0


cdef inline float _exp32(float x) noexcept nogil:
    # tinynet's e^x in float32: within 0.502 ulp, the same bits in every backend and on every machine.
    if -EXP32_FAST_BOUND <= x <= EXP32_OVERFLOW:     # the common path (False for NaN)
        return _exp32_common(x)
    return _exp32_special(x)


def exp32(float x):
    """tinynet's e^x in float32 (a test hook over the kernels' helper)."""
    return _exp32(x)


# float32's helpers of the rules' float32 forms (_rules.pxi): R, an operation's result, is already a
# float (C's float arithmetic rounds each operation); F, a number as a float; the others computed in
# double from float32 values and rounded to float once (for sqrt, float32's own).
cdef inline float _R32(float x) noexcept nogil:
    return x


cdef inline float _F32(double x) noexcept nogil:
    return <float>x


cdef inline float _fabs32(float x) noexcept nogil:
    return <float>fabs(x)


cdef inline float _copysign32(float x, float y) noexcept nogil:
    return <float>copysign(x, y)


cdef inline float _exp_minus_one32(float x) noexcept nogil:
    return <float>_exp_minus_one(x)


cdef inline float _log32(float x) noexcept nogil:
    return <float>log(x)


cdef inline float _log1p32(float x) noexcept nogil:
    return <float>log1p(x)


cdef inline float _sqrt32(float x) noexcept nogil:
    return <float>sqrt(x)


cdef inline void _exp32_lanes(const float* x, float* out) noexcept nogil:
    # out[j] = _exp32(x[j]) for EXP_LANES values, as _exp_lanes: the common path in every lane (vectorised;
    # which lanes it does not serve, OR-ed branch-free), then the special path where needed.
    cdef int j
    cdef int unserved = 0
    for j in range(EXP_LANES):
        out[j] = _exp32_common(x[j])
        unserved |= (x[j] < -EXP32_FAST_BOUND) | (x[j] > EXP32_OVERFLOW) | (x[j] != x[j])
    if unserved:
        for j in range(EXP_LANES):
            if not (-EXP32_FAST_BOUND <= x[j] <= EXP32_OVERFLOW):
                out[j] = _exp32_special(x[j])


# --- over the kernels' element type (Cython's fused type floating): the double helper for doubles, the
# float32 one for floats

cdef inline floating _exp_t(floating x) noexcept nogil:
    if floating is double:
        return _exp(x)
    else:
        return _exp32(x)


cdef inline floating _log_t(floating x) noexcept nogil:
    if floating is double:
        return log(x)
    else:
        return _log32(x)


cdef inline void _exp_lanes_t(const floating* x, floating* out) noexcept nogil:
    if floating is double:
        _exp_lanes(x, out)
    else:
        _exp32_lanes(x, out)


cdef inline Py_ssize_t _lanes(const floating* like) noexcept nogil:
    # The networks of a train_many block of like's type: LANES doubles or LANES32 floats (_codes.lanes),
    # a constant once the compiler has inlined this, so that the loops over a block's lanes have a
    # constant trip count (and the local arrays of a block's values are the longer of the two).
    if floating is float:
        return LANES32
    else:
        return LANES


cdef inline void _check_lanes(Py_ssize_t given, Py_ssize_t lanes):
    # A block of another width than the kernel's (a bug of the caller's: _many builds the blocks) would
    # be read and written past its end: refused instead.
    if given != lanes:
        raise ValueError(f"a block of another width ({given} networks) than this kernel steps ({lanes})")


def exp32_array(const float[::1] values, float[::1] out):
    """``out[i] = exp32(values[i])`` for float32 arrays of one length (``out`` not ``values``)."""
    cdef Py_ssize_t i, k, n = values.shape[0]
    cdef int j
    cdef float x[EXP_LANES]
    cdef float e[EXP_LANES]
    cdef const float* v
    cdef float* o
    if n == 0:
        return
    v = &values[0]
    o = &out[0]
    with nogil:
        # as exp_array: EXP_LANES values at a time through _exp32_lanes, then the rest one by one
        for k in range(n // EXP_LANES):
            for j in range(EXP_LANES):
                x[j] = v[k * EXP_LANES + j]
            _exp32_lanes(x, e)
            for j in range(EXP_LANES):
                o[k * EXP_LANES + j] = e[j]
        for i in range(n - n % EXP_LANES, n):
            o[i] = _exp32(v[i])


def sigmoid(double s):
    """Sigmoid activation f(s) = 1 / (1 + e^(-s)) (a test hook over the rule, _rules.pxi)."""
    return _sigmoid(s)


cdef floating _pairwise_block(const floating* values, Py_ssize_t m) noexcept nogil:
    # values[0:m] (m <= 128) summed as numpy sums one block: eight running sums, combined as a tree,
    # then the remainder one by one (in the values' type: doubles or float32's).
    cdef floating total, r0, r1, r2, r3, r4, r5, r6, r7
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
    bint single                     # whether the terms are float32's (each sum rounded to float)


cdef inline void _walk_start(Walk* walk, Py_ssize_t n, bint single) noexcept nogil:
    # A walk over the leaves of the pairwise summation of n >= 1 terms (with single, of float32's:
    # the walk's sums, kept in doubles, are then each rounded to float, float32's own additions).
    walk.single = single
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
            if walk.single:
                sums[counts[1] - 1] = <float>sums[counts[1] - 1]
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


# The walk for a block's lanes at once (train_many's kernels, whose networks' losses are sums over
# the same samples): one walk over the leaves, which are the same for every lane, and each lane's sums
# beside the walk's, where every addition that the walk makes of its last two sums is repeated lane by
# lane (rounded to float as the walk's). The leaves' terms: values[t * lanes + lane], t < m.

cdef struct LaneWalk:
    Walk walk
    double sums[STACK_SIZE][MAX_LANES]
    Py_ssize_t level        # the walk's sums the lanes' match (its count when last brought level)
    Py_ssize_t lanes


cdef inline void _lane_walk_start(LaneWalk* walk, Py_ssize_t n, bint single, Py_ssize_t lanes) noexcept nogil:
    # _walk_start for every lane of a block of this many.
    _walk_start(&walk.walk, n, single)
    walk.level = 0
    walk.lanes = lanes


cdef inline bint _lane_walk_next(LaneWalk* walk, Py_ssize_t* lo, Py_ssize_t* m) noexcept nogil:
    # _walk_next, its additions repeated in every lane.
    cdef bint more = _walk_next(&walk.walk, lo, m)
    cdef Py_ssize_t c, lane
    for c in range(walk.level, walk.walk.counts[1], -1):
        for lane in range(walk.lanes):
            walk.sums[c - 2][lane] = walk.sums[c - 2][lane] + walk.sums[c - 1][lane]
            if walk.walk.single:
                walk.sums[c - 2][lane] = <float>walk.sums[c - 2][lane]
    walk.level = walk.walk.counts[1]
    return more


cdef inline void _lane_walk_push(LaneWalk* walk, const floating* leaf_sums) noexcept nogil:
    # _walk_push of each lane's leaf sum.
    cdef Py_ssize_t lane
    _walk_push(&walk.walk, 0.0)     # (the walk's own sums: unused)
    walk.level = walk.walk.counts[1]
    for lane in range(walk.lanes):
        walk.sums[walk.level - 1][lane] = leaf_sums[lane]


cdef inline void _lane_walk_total(LaneWalk* walk, floating* out) noexcept nogil:
    # _walk_total of each lane, in the terms' type.
    cdef Py_ssize_t lane
    for lane in range(walk.lanes):
        out[lane] = <floating>walk.sums[0][lane]


cdef inline void _pairwise_block_lanes(const floating* values, Py_ssize_t m, floating* out) noexcept nogil:
    # _pairwise_block of each lane of a block (values[t * lanes + lane], t < m <= 128) into out[lane].
    cdef Py_ssize_t nl = _lanes(values)
    cdef floating r[8][MAX_LANES]
    cdef Py_ssize_t i, q, lane
    if m < 8:
        for lane in range(nl):
            out[lane] = 0.0
        for i in range(m):
            for lane in range(nl):
                out[lane] += values[i * nl + lane]
        return
    for q in range(8):
        for lane in range(nl):
            r[q][lane] = values[q * nl + lane]
    i = 8
    while i < m - m % 8:
        for q in range(8):
            for lane in range(nl):
                r[q][lane] += values[(i + q) * nl + lane]
        i += 8
    for lane in range(nl):
        out[lane] = ((r[0][lane] + r[1][lane]) + (r[2][lane] + r[3][lane])) + \
            ((r[4][lane] + r[5][lane]) + (r[6][lane] + r[7][lane]))
    while i < m:
        for lane in range(nl):
            out[lane] += values[i * nl + lane]
        i += 1


def pairwise_sum(const double[::1] values):
    """Sum of ``values`` (n >= 1 of them) in numpy's pairwise order (a test hook over the walk)."""
    cdef Walk walk
    cdef Py_ssize_t lo, m
    cdef double total
    with nogil:
        _walk_start(&walk, values.shape[0], False)
        while _walk_next(&walk, &lo, &m):
            _walk_push(&walk, _pairwise_block(&values[lo], m))
        total = _walk_total(&walk)
    return total
