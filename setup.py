"""Build of tinynet's Cython extension; the project's metadata lives in pyproject.toml.

One install serves every CPU of its architecture: the kernels (``tinynet/_core.pyx``) are compiled
once per instruction-set level, each as its own module, and ``tinynet._backend`` loads the best one
that the running CPU supports, as told by the small ``tinynet._cpu`` (compiled for the baseline):

=========  ==================  ============================================================
arch       module              compiled for
=========  ==================  ============================================================
x86-64     ``_core_v2``        x86-64-v2 (SSE4.2): 16 x 128-bit vector registers
x86-64     ``_core_v3``        x86-64-v3 (AVX2): 16 x 256-bit
x86-64     ``_core_v4``        x86-64-v4 (AVX-512): 32 x 512-bit
other      ``_core_base``      the architecture's baseline (aarch64: NEON, 32 x 128-bit)
=========  ==================  ============================================================

Each module is the same Cython source under another name (a two-line ``.pyx`` generated into
``build/levels/`` that includes ``_core.pyx``), so that they can be imported side by side; its register
tiles are shaped for its level (``_tiles.h``). Every level computes the same bits: no fused
multiply-add and no fast-math anywhere.

Environment switches:

* ``TINYNET_PURE_PYTHON=1`` installs without the extension, on purpose (the "cython" backend is then
  unavailable; "numba" and "python" remain). Without it, a failed compile fails the install loudly.
* ``TINYNET_LEVELS=v2,v3`` builds only those levels (a quicker build while developing; the default is
  every level of the architecture).
* ``TINYNET_SCALAR_TILES=1`` builds the plain-C loops of ``_tiles.h`` instead of its vector tiles (the
  path of compilers without GCC's vector extensions), to test it: the same bits.
* ``TINYNET_CYTHON_DEBUG=1`` turns bounds and wraparound checks back on, for debugging the kernels.
"""

import os
import platform
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: The C compiler flags of the extension on gcc and clang (tests/test_packaging.py pins them): no
#: fused multiply-add, no fast-math; no errno from sqrt (which changes no result, and lets it vectorise).
UNIX_FLAGS = ["-fno-fast-math", "-ffp-contract=off", "-fno-math-errno"]
#: The same for MSVC: no contraction into FMA, no reassociation.
MSVC_FLAGS = ["/fp:precise", "/fp:contract-"]

#: The instruction-set levels of x86-64 (the psABI's microarchitecture levels), each with the flags
#: that select it: the level's name where the compiler knows it (gcc 11, clang 12), else its features.
#: No -mtune: the wheel is for every CPU of the level.
X86_LEVELS = {
    "v2": (["-march=x86-64-v2"], ["-msse4.2", "-mpopcnt", "-mcx16", "-msahf"]),
    "v3": (["-march=x86-64-v3"], ["-mavx2", "-mfma", "-mbmi", "-mbmi2", "-mf16c", "-mlzcnt", "-mmovbe"]),
    "v4": (["-march=x86-64-v4"], ["-mavx512f", "-mavx512bw", "-mavx512cd", "-mavx512dq", "-mavx512vl"]),
}
#: Elsewhere one module, for the architecture's baseline (on aarch64 that includes NEON).
BASE_LEVEL = "base"


def optimization(cflags=None):
    """The optimisation flag to add to the extension's: none if the user's ``CFLAGS`` (which replace
    Python's own, its -O3 included) name one, else -O3. Without it, ``CFLAGS=-g pip install .`` built
    unoptimised kernels, ten times slower. The level changes no result (no fast-math, no contraction)."""
    cflags = os.environ.get("CFLAGS", "") if cflags is None else cflags
    return [] if any(flag.startswith("-O") for flag in cflags.split()) else ["-O3"]


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


def levels(machine=None, compiler_type="unix"):
    """The levels to build for a machine (``platform.machine()``) and compiler, lowest first."""
    machine = (machine or platform.machine()).lower()
    if machine in ("x86_64", "amd64") and compiler_type != "msvc":
        names = list(X86_LEVELS)
    elif machine in ("x86_64", "amd64"):
        names = ["v2"]          # MSVC: its own x64 baseline, the plain loops of _tiles.h
    else:
        names = [BASE_LEVEL]
    wanted = os.environ.get("TINYNET_LEVELS", "").replace(",", " ").split()
    if wanted:
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise SystemExit(f"tinynet: TINYNET_LEVELS names {', '.join(unknown)}, not a level of this "
                             f"machine ({', '.join(names)})")
        names = [name for name in names if name in wanted]
    return names


class BuildLevels(build_ext):
    """``build_ext`` giving each level's module the flags of its level, the modules compiled in parallel."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        for ext in self.extensions:
            level = getattr(ext, "tinynet_level", None)
            if level in X86_LEVELS and self.compiler.compiler_type != "msvc":
                by_name, by_features = X86_LEVELS[level]
                flags = by_name if self._accepts(by_name) else by_features
                if not self._accepts(flags):
                    raise SystemExit(f"tinynet: the C compiler accepts neither {' '.join(by_name)} nor "
                                     f"{' '.join(by_features)}: set TINYNET_LEVELS to the levels it can "
                                     "build")
                ext.extra_compile_args = flags + ext.extra_compile_args
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


#: Where the generated per-level sources go.
LEVELS_DIR = os.path.join("build", "levels", "tinynet")


def _level_source(level):
    """The two-line module of one level: a docstring and the include of ``_core.pyx``."""
    os.makedirs(LEVELS_DIR, exist_ok=True)
    path = os.path.join(LEVELS_DIR, f"_core_{level}.pyx")
    text = (f'"""tinynet\'s kernels compiled for the {level} level (the source: tinynet/_core.pyx)."""\n'
            'include "_core.pyx"\n')
    current = open(path).read() if os.path.exists(path) else None
    if current != text:
        with open(path, "w") as handle:
            handle.write(text)
    return path


def extensions():
    if _flag("TINYNET_PURE_PYTHON"):
        return []
    from Cython.Build import cythonize

    # The same arithmetic, in the same order, as the other backends: no fused multiply-add (gcc's
    # default for GNU C is -ffp-contract=fast), no fast-math. These come after any user CFLAGS on
    # the command line, so they win over -march=native or -ffast-math there.
    msvc = sys.platform == "win32"
    flags = MSVC_FLAGS if msvc else optimization() + UNIX_FLAGS
    # _core.pyx includes the per-family kernels (and they a C header): a change to any of them
    # rebuilds every level.
    included = ["tinynet/_core.pyx", "tinynet/_core_common.pxi", "tinynet/_core_tutorial.pxi",
                "tinynet/_core_network.pxi", "tinynet/_rules.pxi", "tinynet/_rules.h", "tinynet/_tiles.h",
                "tinynet/_tiles_real.h"]
    macros = [("TINYNET_SCALAR_TILES", "1")] if _flag("TINYNET_SCALAR_TILES") else []
    modules = []
    for level in levels(compiler_type="msvc" if msvc else "unix"):
        ext = Extension(f"tinynet._core_{level}", [_level_source(level)], depends=included,
                        include_dirs=["tinynet"], define_macros=[("TINYNET_LEVEL", f'"{level}"'), *macros],
                        extra_compile_args=flags)
        ext.tinynet_level = level
        modules.append(ext)
    # The CPU's levels, read by the baseline (no level flags), so that it runs on any CPU.
    modules.append(Extension("tinynet._cpu", ["tinynet/_cpu.pyx"], depends=["tinynet/_cpu.h"],
                             include_dirs=["tinynet"]))
    compiled = cythonize(modules, include_path=["tinynet"],
                         compiler_directives=directives(_flag("TINYNET_CYTHON_DEBUG")))
    for ext, source in zip(compiled, modules):
        ext.tinynet_level = getattr(source, "tinynet_level", None)
    return compiled


if __name__ == "__main__":
    setup(ext_modules=extensions(), cmdclass={"build_ext": BuildLevels})
