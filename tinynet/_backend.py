"""Choosing a backend: which kernel module trains and evaluates a network.

Three modules define the same kernels (``sigmoid``, ``feedforward``, ``mse_loss``, ``train``):

* ``"cython"``: ``tinynet._core``, compiled when the package is installed;
* ``"numba"``: ``tinynet._numba``, compiled by Numba the first time it is used (then cached on disk);
* ``"python"``: ``tinynet._python``, plain Python, always available.

A module is imported only when its backend is first asked for, so ``import tinynet`` stays light.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["BACKENDS", "ENV_VAR", "available_backends", "load_backend", "resolve_backend"]

#: Every backend tinynet knows, fastest first.
BACKENDS = ("cython", "numba", "python")

#: The environment variable that names the default backend.
ENV_VAR = "TINYNET_BACKEND"

_MODULES = {"cython": "tinynet._core", "numba": "tinynet._numba", "python": "tinynet._python"}

_HOW_TO_FIX = {
    "cython": (
        "The compiled extension tinynet._core is missing: tinynet was installed without it "
        "(TINYNET_PURE_PYTHON=1), or is being imported from a source tree where it was never built. "
        "Reinstall with a C compiler present: pip install --force-reinstall --no-deps ."
    ),
    "numba": "Install Numba (pip install numba), which tinynet normally installs with itself.",
    "python": "The pure-Python backend has no dependencies beyond numpy; this should not happen.",
}

_loaded: dict[str, ModuleType] = {}


def load_backend(name: str) -> ModuleType:
    """Return the kernel module of backend ``name``, importing it on first use.

    Parameters
    ----------
    name : str
        One of :data:`BACKENDS`.

    Returns
    -------
    module
        A module with the kernels ``sigmoid``, ``feedforward``, ``mse_loss`` and ``train``.

    Raises
    ------
    ValueError
        If ``name`` is not a known backend.
    ImportError
        If the backend is known but cannot be loaded here; the message says why and how to fix it.
    """
    if name not in _MODULES:
        raise ValueError(
            f"unknown backend {name!r}: choose one of {', '.join(map(repr, BACKENDS))} "
            f"(available here: {', '.join(map(repr, available_backends()))})"
        )
    module = _loaded.get(name)
    if module is None:
        try:
            module = importlib.import_module(_MODULES[name])
        except ImportError as exc:
            raise ImportError(
                f"the {name!r} backend cannot be loaded: {exc}. {_HOW_TO_FIX[name]}"
            ) from exc
        _loaded[name] = module
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


def resolve_backend(backend: str | None = None) -> tuple[str, ModuleType]:
    """The backend to use: ``backend`` if given, else ``$TINYNET_BACKEND``, else the fastest that loads.

    Parameters
    ----------
    backend : str or None

    Returns
    -------
    (str, module)
        The backend's name and its kernel module.

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
        if backend is not None and backend not in _MODULES:
            raise ValueError(
                f"unknown backend {backend!r} in ${ENV_VAR}: choose one of "
                f"{', '.join(map(repr, BACKENDS))}"
            )
    if backend is None:
        for name in BACKENDS:
            try:
                return name, load_backend(name)
            except ImportError:
                continue
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string or None, not {type(backend).__name__}")
    return backend, load_backend(backend)
