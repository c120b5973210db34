"""Build of tinynet's Cython extension; the project's metadata lives in pyproject.toml.

Environment switches:

* ``TINYNET_PURE_PYTHON=1`` installs without the extension, on purpose (the "cython" backend is then
  unavailable; "numba" and "python" remain). Without it, a failed compile fails the install loudly.
* ``TINYNET_PORTABLE=1`` builds for any CPU of the architecture, for wheels meant for other machines.
  Without it the extension is compiled for the CPU of the machine that builds it (``-march=native``:
  pip builds it from source there), so that its loops use that CPU's full vector width. The results
  are the same bits either way: no fused multiply-add and no fast-math in both.
* ``TINYNET_CYTHON_DEBUG=1`` turns bounds and wraparound checks back on, for debugging the kernels.
"""

import os
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: The C compiler flags of the extension on gcc and clang (tests/test_packaging.py pins them): no
#: fused multiply-add, no fast-math; no errno from sqrt (which changes no result, and lets it vectorise).
UNIX_FLAGS = ["-fno-fast-math", "-ffp-contract=off", "-fno-math-errno"]
#: The same for MSVC: no contraction into FMA, no reassociation.
MSVC_FLAGS = ["/fp:precise", "/fp:contract-"]
#: Added unless TINYNET_PORTABLE=1, where the compiler accepts it: the vector width of the host.
HOST_FLAGS = ["-march=native"]


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


class BuildForTheHost(build_ext):
    """``build_ext`` adding :data:`HOST_FLAGS` when the compiler accepts them (unless portable)."""

    def build_extensions(self):
        if self.compiler.compiler_type != "msvc" and not _flag("TINYNET_PORTABLE"):
            if self._accepts(HOST_FLAGS):
                for ext in self.extensions:
                    ext.extra_compile_args = HOST_FLAGS + ext.extra_compile_args
            else:
                print(f"tinynet: the C compiler refuses {' '.join(HOST_FLAGS)}: building a portable "
                      "extension", file=sys.stderr)
        super().build_extensions()

    def _accepts(self, flags):
        with tempfile.TemporaryDirectory() as scratch:
            source = os.path.join(scratch, "probe.c")
            with open(source, "w") as handle:
                handle.write("int main(void) { return 0; }\n")
            try:
                self.compiler.compile([source], output_dir=scratch, extra_postargs=flags)
            except Exception:   # CompileError, or the compiler's own complaint
                return False
        return True


def extensions():
    if _flag("TINYNET_PURE_PYTHON"):
        return []
    from Cython.Build import cythonize

    # The same arithmetic, in the same order, as the other backends: no fused multiply-add (gcc's
    # default for GNU C is -ffp-contract=fast), no fast-math. These come after any user CFLAGS on
    # the command line, so they win over -march=native or -ffast-math there.
    flags = MSVC_FLAGS if sys.platform == "win32" else UNIX_FLAGS
    # _core.pyx includes the per-family kernels (and they a C header): a change to any of them
    # rebuilds the extension.
    included = ["tinynet/_core_common.pxi", "tinynet/_core_tutorial.pxi", "tinynet/_core_network.pxi",
                "tinynet/_tiles.h"]
    ext = Extension("tinynet._core", ["tinynet/_core.pyx"], depends=included, extra_compile_args=flags)
    return cythonize([ext], compiler_directives=directives(_flag("TINYNET_CYTHON_DEBUG")))


if __name__ == "__main__":
    setup(ext_modules=extensions(), cmdclass={"build_ext": BuildForTheHost})
