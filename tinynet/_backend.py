"""Choosing a backend: which kernels train and evaluate a model.

Each backend has kernels for each model family, with the same names and arguments everywhere:

=========  ======================================  ====================  =====================
family     cython                                  numba                 python
=========  ======================================  ====================  =====================
common     ``_core`` (from ``_core_common.pxi``)   ``_numba_common``     ``_python_common``
tutorial   ``_core`` (from ``_core_tutorial.pxi``) ``_numba_tutorial``   ``_python_tutorial``
network    ``_core`` (from ``_core_network.pxi``)  ``_numba_network``    ``_python_network``
=========  ======================================  ====================  =====================

* ``"cython"``: the extension, compiled when the package is installed, once per instruction-set level
  (``tinynet._core_v2``, ``_core_v3``, ``_core_v4`` on x86-64: SSE4.2, AVX2, AVX-512; ``_core_base``
  elsewhere). The best level that the CPU runs is loaded, or the one ``$TINYNET_CPU`` names (a lower
  one, for tests and measurements); every level computes the same bits;
* ``"numba"``: compiled by Numba the first time it is used (then cached on disk);
* ``"python"``: plain Python, always available.

A module is imported only when its backend is first asked for, so ``import tinynet`` stays light.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import platform
from collections.abc import Iterator
from types import ModuleType

__all__ = ["BACKENDS", "CPU_ENV_VAR", "ENV_VAR", "FAMILIES", "LEVELS", "available_backends", "built_levels",
           "cpu_levels", "load_backend", "load_level", "resolve_backend", "runnable_levels", "show_config",
           "using_level"]

#: Every backend tinynet knows, fastest first.
BACKENDS = ("cython", "numba", "python")

#: The kernel families: what both model families share, the tutorial's network, ``Network``.
FAMILIES = ("common", "tutorial", "network")

#: The environment variable that names the default backend.
ENV_VAR = "TINYNET_BACKEND"

#: The environment variable that names the level of the compiled kernels to load (else the best).
CPU_ENV_VAR = "TINYNET_CPU"

#: The levels the extension is compiled for, lowest first, with what each needs of the CPU: x86-64's
#: microarchitecture levels, and elsewhere the architecture's baseline.
LEVELS = {
    "v2": "x86-64-v2 (SSE4.2, 128-bit vectors)",
    "v3": "x86-64-v3 (AVX2, 256-bit vectors)",
    "v4": "x86-64-v4 (AVX-512, 512-bit vectors)",
    "base": "the architecture's baseline",
}

_MODULES = {(backend, family): f"tinynet._{backend}_{family}"
            for backend in BACKENDS if backend != "cython" for family in FAMILIES}

_HOW_TO_FIX = {
    "cython": (
        "The compiled extension tinynet._core_* is missing: tinynet was installed without it "
        "(TINYNET_PURE_PYTHON=1), or is being imported from a source tree where it was never built. "
        "Reinstall with a C compiler present: pip install --force-reinstall --no-deps ."
    ),
    "numba": "Install Numba (pip install numba), which tinynet normally installs with itself.",
    "python": "The pure-Python backend has no dependencies beyond numpy; this should not happen.",
}

_loaded: dict[tuple[str, str], ModuleType] = {}
_levels: dict[str, ModuleType] = {}


def cpu_levels() -> list[str]:
    """The levels of :data:`LEVELS` that this CPU (and its operating system) can run, lowest first.

    Read by the small extension ``tinynet._cpu`` through the compiler's builtins (cpuid, and XGETBV for
    the registers that the OS saves); ``["base"]`` off x86-64, ``[]`` on an x86-64 CPU below v2 or
    when tinynet was installed without its extension.
    """
    try:
        cpu = importlib.import_module("tinynet._cpu")
    except ImportError:
        return []
    level = cpu.x86_64_level()
    return ["base"] if level == 0 else [f"v{k}" for k in range(2, level + 1)]


def built_levels() -> list[str]:
    """The levels whose build of the kernels this installation holds, lowest first."""
    return [level for level in LEVELS if _found(f"tinynet._core_{level}")]


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ValueError, AttributeError):      # set to None in sys.modules: hidden on purpose
        return False


def runnable_levels() -> list[str]:
    """The levels built here that this CPU runs, lowest first (the last is the default)."""
    runs = cpu_levels()
    return [level for level in built_levels() if level in runs]


def _chosen_level() -> str:
    """The level to load: ``$TINYNET_CPU`` if set (checked), else the best one built that the CPU runs."""
    runs, built = cpu_levels(), built_levels()
    wanted = os.environ.get(CPU_ENV_VAR, "").strip()
    if wanted:
        if wanted not in LEVELS:
            raise ValueError(f"unknown level {wanted!r} in ${CPU_ENV_VAR}: choose one of "
                             f"{', '.join(map(repr, LEVELS))} (this CPU runs {_listed(runs)})")
        if wanted not in runs:
            raise ValueError(f"${CPU_ENV_VAR}={wanted} asks for {LEVELS[wanted]}, which this CPU does not "
                             f"support (it runs {_listed(runs)}); unset it to load the best level")
        return wanted
    usable = runnable_levels()
    if not usable:
        raise ImportError(f"no build of the kernels runs on this CPU (built: {_listed(built)}; the CPU runs "
                          f"{_listed(runs)})")
    return usable[-1]


def _listed(levels: list[str]) -> str:
    return ", ".join(levels) if levels else "none"


def load_level(level: str) -> ModuleType:
    """The compiled kernels of one level (a module ``tinynet._core_<level>``), checked against the CPU.

    Parameters
    ----------
    level : str
        One of :data:`LEVELS`.

    Raises
    ------
    ValueError
        If ``level`` is unknown, or this CPU cannot run it (it is then never loaded).
    ImportError
        If this installation holds no build of that level.
    """
    module = _levels.get(level)
    if module is not None:
        return module
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: choose one of {', '.join(map(repr, LEVELS))}")
    if level not in cpu_levels():
        raise ValueError(f"this CPU cannot run the {level} build of the kernels ({LEVELS[level]}); it runs "
                         f"{_listed(cpu_levels())}")
    module = importlib.import_module(f"tinynet._core_{level}")
    _levels[level] = module
    return module


@contextlib.contextmanager
def using_level(level: str) -> Iterator[ModuleType]:
    """Within the block, the "cython" backend is ``level``'s build (for tests and benchmarks, which
    compare the levels in one process; not thread-safe). Models made in the block keep it.

    Raises the errors of :func:`load_level`.
    """
    module = load_level(level)
    saved = {family: _loaded.get(("cython", family)) for family in FAMILIES}
    for family in FAMILIES:
        _loaded["cython", family] = module
    try:
        yield module
    finally:
        for family, previous in saved.items():
            if previous is None:
                _loaded.pop(("cython", family), None)
            else:
                _loaded["cython", family] = previous


def load_backend(name: str, family: str = "common") -> ModuleType:
    """Return backend ``name``'s kernels of ``family``, importing them on first use.

    Parameters
    ----------
    name : str
        One of :data:`BACKENDS`.
    family : str
        One of :data:`FAMILIES`.

    Returns
    -------
    module
        A module with the family's kernels (for the Cython backend, the extension, which holds all).

    Raises
    ------
    ValueError
        If ``name`` is not a known backend.
    ImportError
        If the backend is known but cannot be loaded here; the message says why and how to fix it.
    """
    if name not in BACKENDS:
        raise ValueError(
            f"unknown backend {name!r}: choose one of {', '.join(map(repr, BACKENDS))} "
            f"(available here: {', '.join(map(repr, available_backends()))})"
        )
    module = _loaded.get((name, family))
    if module is None:
        try:
            module = load_level(_chosen_level()) if name == "cython" else importlib.import_module(
                _MODULES[name, family])
        except ImportError as exc:
            raise ImportError(
                f"the {name!r} backend cannot be loaded: {exc}. {_HOW_TO_FIX[name]}"
            ) from exc
        _loaded[name, family] = module
    return module


def available_backends() -> list[str]:
    """The names of the backends that load on this machine, fastest first.

    Importing a backend that has not been used yet (Numba above all) takes a moment the first time.

    Returns
    -------
    list of str
        A sub-list of ``["cython", "numba", "python"]``.
    """
    names = []
    for name in BACKENDS:
        try:
            load_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names


def resolve_backend(backend: str | None = None, family: str = "common",
                    fallback: bool = False) -> tuple[str, ModuleType]:
    """The backend to use: ``backend`` if given, else ``$TINYNET_BACKEND``, else the fastest that loads.

    Parameters
    ----------
    backend : str or None
    family : str
        Whose kernels to return, one of :data:`FAMILIES`.
    fallback : bool
        Take the default backend instead when ``backend`` is known but cannot load here (a model
        saved where it loads, restored where it does not).

    Returns
    -------
    (str, module)
        The backend's name and its kernels of ``family``.

    Raises
    ------
    TypeError
        If ``backend`` is neither None nor a string.
    ValueError
        If the name (given or from the environment) is not a known backend.
    ImportError
        If a backend named explicitly cannot be loaded.
    """
    if backend is None:
        backend = os.environ.get(ENV_VAR, "").strip() or None
        if backend is not None and backend not in BACKENDS:
            raise ValueError(
                f"unknown backend {backend!r} in ${ENV_VAR}: choose one of "
                f"{', '.join(map(repr, BACKENDS))}"
            )
    if backend is None:
        for name in BACKENDS:
            try:
                return name, load_backend(name, family)
            except ImportError:
                continue
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string or None, not {type(backend).__name__}")
    try:
        return backend, load_backend(backend, family)
    except ImportError:
        if not fallback:
            raise
        return resolve_backend(None, family)


def show_config() -> str:
    """What runs here: each backend, and for the compiled one the level loaded and the CPU's levels.

    Also printed by ``tinynet --config`` (and at the head of ``tinynet bench``).

    Returns
    -------
    str
        A few lines of text.
    """
    lines = [f"tinynet on {platform.machine()}, Python {platform.python_version()}"]
    runs = cpu_levels()
    lines.append(f"CPU levels: {_listed(runs)} (best: {LEVELS[runs[-1]] if runs else 'none'})")
    lines.append(f"compiled levels installed: {_listed(built_levels())}")
    for name in BACKENDS:
        try:
            module = load_backend(name)
        except (ImportError, ValueError) as exc:
            lines.append(f"backend {name}: unavailable ({exc})")
            continue
        if name == "cython":
            forced = f", forced by ${CPU_ENV_VAR}" if os.environ.get(CPU_ENV_VAR, "").strip() else ""
            lines.append(f"backend cython: tinynet._core_{module.LEVEL}, {LEVELS[module.LEVEL]}, "
                         f"{module.VECTOR_BITS}-bit vector tiles{forced}")
        elif name == "numba":
            import numba

            lines.append(f"backend numba: Numba {numba.__version__}, compiled for this CPU")
        else:
            lines.append("backend python: plain Python")
    return "\n".join(lines)
