"""Build of tinynet's Cython extension; the project's metadata lives in pyproject.toml.

Environment switches:

* ``TINYNET_PURE_PYTHON=1`` installs without the extension, on purpose (the "cython" backend is then
  unavailable; "numba" and "python" remain). Without it, a failed compile fails the install loudly.
* ``TINYNET_CYTHON_DEBUG=1`` turns bounds and wraparound checks back on, for debugging the kernels.
"""

import os
import sys

from setuptools import Extension, setup

#: The C compiler flags of the extension on gcc and clang (tests/test_packaging.py pins them).
UNIX_FLAGS = ["-fno-fast-math", "-ffp-contract=off"]
#: The same for MSVC: no contraction into FMA, no reassociation.
MSVC_FLAGS = ["/fp:precise", "/fp:contract-"]


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def directives(debug):
    """Cython's compiler directives, in this one place (a ``# cython:`` header would override them)."""
    return {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "embedsignature": True,
    }


def extensions():
    if _flag("TINYNET_PURE_PYTHON"):
        return []
    from Cython.Build import cythonize

    # The same arithmetic, in the same order, as the other backends: no fused multiply-add (gcc's
    # default for GNU C is -ffp-contract=fast), no fast-math. These come after any user CFLAGS on
    # the command line, so they win over -march=native or -ffast-math there.
    flags = MSVC_FLAGS if sys.platform == "win32" else UNIX_FLAGS
    # _core.pyx includes the per-family kernels: a change to any of them rebuilds the extension.
    included = ["tinynet/_core_common.pxi", "tinynet/_core_tutorial.pxi", "tinynet/_core_network.pxi"]
    ext = Extension("tinynet._core", ["tinynet/_core.pyx"], depends=included, extra_compile_args=flags)
    return cythonize([ext], compiler_directives=directives(_flag("TINYNET_CYTHON_DEBUG")))


if __name__ == "__main__":
    setup(ext_modules=extensions())
