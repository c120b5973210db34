"""Cython kernels: the compiled C of both model families, in one extension module.

The extension is this file and the three it includes, each the mirror of a pure-Python module (the
readable reference) and of a Numba module, with the same names, the same arguments in the same
order and the same order of arithmetic:

* ``_core_common.pxi``: tinynet's exp, numpy's pairwise summation (``_python_common.py``);
* ``_rules.pxi``: the per-element rules (activations and their derivatives), generated from
  ``_rules.py`` by ``tools/gen_rules.py``;
* ``_core_tutorial.pxi``: the tutorial's network, ``OurNeuralNetwork`` (``_python_tutorial.py``);
* ``_core_network.pxi``: ``tinynet.Network``, any layer sizes (``_python_network.py``).

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is tinynet's own exp (``_exp``), the same operations as in the other two backends, so the
  same bits, on every machine. Where it overflows it is ``inf``, and the sigmoid gives
  ``1 / (1 + inf) = 0.0``. ``tanh`` is built on it too. (``log`` and ``log1p``, which appear only in
  reported loss values, are the C library's.)
* Every expression is evaluated left to right, as written. The extension is built with
  ``-ffp-contract=off`` and without ``-ffast-math`` (see ``setup.py``), so the C compiler neither
  fuses ``a*b + c`` into one FMA instruction nor reorders anything.
* Sums over samples are summed the way numpy sums (pairwise, 8 lanes, blocks of 128).
* ``Network``'s kernels are written over the fused type ``floating``: float32 Networks run the float
  specialisation, every operation in C float arithmetic (FLT_EVAL_METHOD 0 on x86-64 and aarch64),
  the same bits as the other backends' float32 kernels.

Kernels trust their inputs (validation happens once, in Python) and run without the GIL. Compiler
directives (bounds checks off, C division) are set in ``setup.py``, in one place.
"""

from cython cimport floating
from libc.math cimport NAN, copysign, fabs, log, log1p, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from tinynet import _codes, _exp_data

# The activation and loss codes, read from tinynet._codes (where they are defined) into C globals.
cdef int SIGMOID = _codes.SIGMOID
cdef int TANH = _codes.TANH
cdef int RELU = _codes.RELU
cdef int IDENTITY = _codes.IDENTITY
cdef int SOFTMAX = _codes.SOFTMAX
cdef int EXP = _codes.EXP
cdef int MSE = _codes.MSE
cdef int CROSS_ENTROPY = _codes.CROSS_ENTROPY
cdef int SQUARED_ERROR = _codes.SQUARED_ERROR
cdef int POISSON = _codes.POISSON
cdef double LOG_EPS = _codes.LOG_EPS
cdef int ADAM = _codes.ADAM
cdef Py_ssize_t NARROW = _codes.NARROW

# C arrays need their sizes when the extension is compiled: the values of tinynet._codes, checked
# when it is imported.
cdef enum:
    PW_BLOCKSIZE = 128
    STACK_SIZE = 128

    EXP_N = 128
    EXP32_N = 32
    LANES = 32          # a block's networks in float64 (_lanes)
    LANES32 = 32        # ... and in float32
    MAX_LANES = 32      # the larger of the two (the local arrays of a block's values)
    EXP_LANES = 16
    NET_VEC = 8         # TN_VEC of _tiles.h
    NET_VEC32 = 16      # TN_VEC32 of _tiles.h
    TRANSPOSE_BLOCK = 16

if (PW_BLOCKSIZE, STACK_SIZE, EXP_N, EXP32_N, LANES, LANES32, MAX_LANES, EXP_LANES, NET_VEC, NET_VEC32,
        TRANSPOSE_BLOCK) != (
        _codes.PW_BLOCKSIZE, _codes.STACK_SIZE, _exp_data.N, _exp_data.N32, _codes.LANES, _codes.LANES32,
        max(_codes.LANES, _codes.LANES32), _codes.EXP_LANES, _codes.NET_VEC, _codes.NET_VEC32,
        _codes.TRANSPOSE_BLOCK):
    raise ImportError("tinynet._core was compiled with other table sizes than tinynet._codes and "
                      "tinynet._exp_data hold: rebuild it (pip install .)")

# tinynet's exp: its constants and table, read from tinynet._exp_data (where they are generated).
cdef double EXP_FAST_BOUND = _exp_data.FAST_BOUND
cdef double EXP_OVERFLOW_BOUND = _exp_data.OVERFLOW_BOUND
cdef double EXP_UNDERFLOW_BOUND = _exp_data.UNDERFLOW_BOUND
cdef double EXP_INV_LN2_N = _exp_data.INV_LN2_N
cdef double EXP_LN2_HI_N = _exp_data.LN2_HI_N
cdef double EXP_LN2_LO_N = _exp_data.LN2_LO_N
cdef double EXP_SHIFT = _exp_data.SHIFT
cdef double EXP_C2 = _exp_data.C2
cdef double EXP_C3 = _exp_data.C3
cdef double EXP_C4 = _exp_data.C4
cdef double EXP_C5 = _exp_data.C5
cdef double EXP_TWO_1009 = 2.0 ** 1009
cdef double EXP_TWO_MINUS_1022 = 2.0 ** -1022
cdef double EXP_TAIL[EXP_N]
cdef uint64_t EXP_SBITS[EXP_N]
for _j in range(EXP_N):
    EXP_TAIL[_j] = _exp_data.TAIL[_j]
    EXP_SBITS[_j] = _exp_data.SBITS[_j] & 0xFFFFFFFFFFFFFFFF     # the same bits, unsigned
# ... and float32's (exp32)
cdef double EXP32_FAST_BOUND = _exp_data.FAST32_BOUND
cdef double EXP32_OVERFLOW = _exp_data.OVERFLOW32
cdef double EXP32_INV_LN2_N = _exp_data.INV_LN2_N32
cdef double EXP32_D0 = _exp_data.D0
cdef double EXP32_D1 = _exp_data.D1
cdef double EXP32_D2 = _exp_data.D2
cdef double EXP32_D3 = _exp_data.D3
cdef uint64_t EXP32_SBITS[EXP32_N]
for _j in range(EXP32_N):
    EXP32_SBITS[_j] = _exp_data.SBITS32[_j] & 0xFFFFFFFFFFFFFFFF

# Which build this is (setup.py compiles this file once per instruction-set level, each defining
# TINYNET_LEVEL), and the width of the vectors of its register tiles (_tiles.h; 1: the plain loops).
cdef extern from "_tiles.h":
    """
    #ifndef TINYNET_LEVEL
    #define TINYNET_LEVEL "unknown"
    #endif
    """
    const char* TINYNET_LEVEL
    int TN_W

#: The instruction-set level this module was compiled for ("v2", "v3", "v4" on x86-64, else "base").
LEVEL = TINYNET_LEVEL.decode()
#: The bits of one vector of the register tiles (64 for the plain loops).
VECTOR_BITS = 64 * TN_W

include "_core_common.pxi"
include "_rules.pxi"
include "_core_tutorial.pxi"
include "_core_network.pxi"
