"""Build of tinynet's Cython extension; the project's metadata lives in pyproject.toml.

Environment switches:

* ``TINYNET_PURE_PYTHON=1`` installs without the extension, on purpose (the "cython" backend is then
  unavailable; "numba" and "python" remain). Without it, a failed compile fails the install loudly.
* ``TINYNET_CYTHON_DEBUG=1`` turns bounds and wraparound checks back on, for debugging the kernels.
"""

import os
import sys

from setuptools import Extension, setup


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def extensions():
    if _flag("TINYNET_PURE_PYTHON"):
        return []
    from Cython.Build import cythonize

    debug = _flag("TINYNET_CYTHON_DEBUG")
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "embedsignature": True,
    }
    if sys.platform == "win32":
        # MSVC: no contraction into FMA, no reassociation.
        flags = ["/fp:precise", "/fp:contract-"]
    else:
        # The same arithmetic, in the same order, as the other backends: no fused multiply-add
        # (gcc's default for GNU C is -ffp-contract=fast), no fast-math. These come after any
        # user CFLAGS on the command line, so they win over -march=native or -ffast-math there.
        flags = ["-fno-fast-math", "-ffp-contract=off"]
    ext = Extension("tinynet._core", ["tinynet/_core.pyx"], extra_compile_args=flags)
    return cythonize([ext], compiler_directives=directives)


setup(ext_modules=extensions())
