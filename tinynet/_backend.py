"""Choosing a backend: which kernels train and evaluate a model.

Each backend has kernels for each model family, with the same names and arguments everywhere:

=========  ======================================  ====================  =====================
family     cython                                  numba                 python
=========  ======================================  ====================  =====================
common     ``_core`` (from ``_core_common.pxi``)   ``_numba_common``     ``_python_common``
tutorial   ``_core`` (from ``_core_tutorial.pxi``) ``_numba_tutorial``   ``_python_tutorial``
network    ``_core`` (from ``_core_network.pxi``)  ``_numba_network``    ``_python_network``
=========  ======================================  ====================  =====================

* ``"cython"``: the extension ``tinynet._core``, compiled when the package is installed;
* ``"numba"``: compiled by Numba the first time it is used (then cached on disk);
* ``"python"``: plain Python, always available.

A module is imported only when its backend is first asked for, so ``import tinynet`` stays light.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["BACKENDS", "ENV_VAR", "FAMILIES", "available_backends", "load_backend", "resolve_backend"]

#: Every backend tinynet knows, fastest first.
BACKENDS = ("cython", "numba", "python")

#: The kernel families: what both model families share, the tutorial's network, ``Network``.
FAMILIES = ("common", "tutorial", "network")

#: The environment variable that names the default backend.
ENV_VAR = "TINYNET_BACKEND"

_MODULES = {(backend, family): "tinynet._core" if backend == "cython" else f"tinynet._{backend}_{family}"
            for backend in BACKENDS for family in FAMILIES}

_HOW_TO_FIX = {
    "cython": (
        "The compiled extension tinynet._core is missing: tinynet was installed without it "
        "(TINYNET_PURE_PYTHON=1), or is being imported from a source tree where it was never built. "
        "Reinstall with a C compiler present: pip install --force-reinstall --no-deps ."
    ),
    "numba": "Install Numba (pip install numba), which tinynet normally installs with itself.",
    "python": "The pure-Python backend has no dependencies beyond numpy; this should not happen.",
}

_loaded: dict[tuple[str, str], ModuleType] = {}


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
            module = importlib.import_module(_MODULES[name, family])
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
