"""Cython kernels: the compiled C of both model families, in one extension module.

The extension is this file and the three it includes, each the mirror of a pure-Python module (the
readable reference) and of a Numba module, with the same names, the same arguments in the same
order and the same order of arithmetic:

* ``_core_common.pxi``: the sigmoid and numpy's pairwise summation (``_python_common.py``);
* ``_core_tutorial.pxi``: the tutorial's network, ``OurNeuralNetwork`` (``_python_tutorial.py``);
* ``_core_network.pxi``: ``tinynet.Network``, any layer sizes (``_python_network.py``).

Floating-point rules shared by all three backends (they are what makes results identical bit for bit):

* ``e^x`` is the C library's ``exp`` (``libc.math``), as are ``math.exp`` in the other two backends.
  Where it overflows it returns ``inf`` and the sigmoid gives ``1 / (1 + inf) = 0.0``.
* Every expression is evaluated left to right, as written. The extension is built with
  ``-ffp-contract=off`` and without ``-ffast-math`` (see ``setup.py``), so the C compiler neither
  fuses ``a*b + c`` into one FMA instruction nor reorders anything.
* Sums over samples are summed the way numpy sums (pairwise, 8 lanes, blocks of 128).

Kernels trust their inputs (validation happens once, in Python) and run without the GIL. Compiler
directives (bounds checks off, C division) are set in ``setup.py``, in one place.
"""

from libc.math cimport exp, fabs, log, log1p, tanh
from libc.stdint cimport int64_t

from tinynet import _codes

# The activation and loss codes, read from tinynet._codes (where they are defined) into C globals.
cdef int SIGMOID = _codes.SIGMOID
cdef int TANH = _codes.TANH
cdef int RELU = _codes.RELU
cdef int IDENTITY = _codes.IDENTITY
cdef int SOFTMAX = _codes.SOFTMAX
cdef int MSE = _codes.MSE

# C arrays need their sizes when the extension is compiled: the values of tinynet._codes, checked
# when it is imported.
cdef enum:
    PW_BLOCKSIZE = 128
    STACK_SIZE = 128

if (PW_BLOCKSIZE, STACK_SIZE) != (_codes.PW_BLOCKSIZE, _codes.STACK_SIZE):
    raise ImportError("tinynet._core was compiled with other summation sizes than tinynet._codes "
                      "holds: rebuild it (pip install .)")

include "_core_common.pxi"
include "_core_tutorial.pxi"
include "_core_network.pxi"
