"""What ``OurNeuralNetwork`` and ``Network`` do the same way, written once.

:class:`Model` holds: the backend (chosen, with a fallback when a saved or pickled model is restored
where its backend cannot load), the lock, the parameter array and its ``params`` property, the train
block (reporter, runner, divergence warning), the JSON envelope of ``save``/``load`` and pickling.
A model family adds its configuration, its parameter names and how its parameters look in JSON.

``train_many`` trains models through :func:`hold`, :func:`parameters_of` and :func:`set_trained`
rather than through their private attributes.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._backend import BACKENDS, resolve_backend
from ._files import read_json, write_json
from ._training import Outcome, Reporter, run_training, warn_divergence

__all__ = ["Model", "hold", "parameters_of", "set_trained"]

M = TypeVar("M", bound="Model")


class Model:
    """The machinery shared by tinynet's model classes (not instantiated itself).

    A subclass sets the class attributes and defines the hooks ``_build``, ``_config``,
    ``_check_params``, ``_param_name``, ``_params_to_json`` and ``_params_from_json``.
    """

    #: Which kernels the model uses (see ``_backend.FAMILIES``).
    _FAMILY: ClassVar[str]
    #: What ``save`` writes in the file's "format" and "version" fields.
    _FILE_FORMAT: ClassVar[str]
    _FILE_VERSION: ClassVar[int]
    #: The versions ``load`` reads (by default only ``_FILE_VERSION``).
    _FILE_VERSIONS_READ: ClassVar[tuple[int, ...] | None] = None
    #: The file's fields besides the envelope and "params", in order.
    _CONFIG_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: Fields of the configuration that a file may lack, with the value they then take.
    _OPTIONAL_CONFIG: ClassVar[dict[str, Any]] = {}
    #: JSON indentation (None: one line).
    _JSON_INDENT: ClassVar[int | None] = None

    _backend: str
    _kernels: ModuleType
    _params: NDArray[np.float64]
    _lock: threading.RLock
    loss_history: list[tuple[int, float]]

    # --- hooks ------------------------------------------------------------------------------------

    def _build(self, config: dict[str, Any]) -> None:
        """Check ``config`` (as ``_config`` gives it) and lay out a zero parameter array for it."""
        raise NotImplementedError

    def _family(self, config: dict[str, Any]) -> str:
        """Which kernels a model of this configuration uses (by default the class's ``_FAMILY``)."""
        return self._FAMILY

    def _file_version(self) -> int:
        """The version ``save`` writes (by default ``_FILE_VERSION``)."""
        return self._FILE_VERSION

    def _config(self) -> dict[str, Any]:
        """What, besides the parameters, defines the model (saved, pickled)."""
        raise NotImplementedError

    def _check_params(self, values: ArrayLike) -> NDArray[np.float64]:
        """``values`` as a float64 array shaped like the parameter array; TypeError/ValueError."""
        raise NotImplementedError

    def _param_name(self, index: int) -> str:
        """The name of element ``index`` of the flat parameter array, for messages."""
        raise NotImplementedError

    def _params_to_json(self, params: list[float]) -> Any:
        raise NotImplementedError

    @classmethod
    def _params_from_json(cls, value: Any, config: dict[str, Any]) -> list[float]:
        """The parameters from a file's "params" field; ValueError saying what is wrong."""
        raise NotImplementedError

    def _more_state(self) -> dict[str, Any]:
        """What pickling keeps besides the configuration, parameters, backend and losses."""
        return {}

    def _set_more_state(self, state: dict[str, Any]) -> None:
        pass

    def _file_extras(self) -> dict[str, Any]:
        """What ``save`` writes after the parameters (JSON values; ValueError if it cannot)."""
        return {}

    def _load_extras(self, document: dict[str, Any]) -> None:
        """Take what ``_file_extras`` wrote from a loaded file's fields; ValueError if it is bad."""

    # --- construction -----------------------------------------------------------------------------

    def _setup(self, config: dict[str, Any], backend: str | None, fallback: bool = False) -> None:
        """Choose the backend (first: a refused one leaves no trace), lay out the parameters."""
        self._backend, self._kernels = resolve_backend(backend, self._family(config), fallback=fallback)
        self._build(config)
        # Re-entrant: train holds it across its checks and its run, and output written during a run
        # (from this thread) may read the model.
        self._lock = threading.RLock()
        self.loss_history = []

    @classmethod
    def _restore(cls: type[M], config: dict[str, Any], params: ArrayLike, backend: str | None,
                 fallback: bool) -> M:
        """A model with the given configuration and parameters, drawing no random numbers."""
        model = cls.__new__(cls)
        model._setup(config, backend if backend in BACKENDS or not fallback else None, fallback)
        model._params[:] = params
        return model

    # --- the parameters ---------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The name of the backend in use: ``"cython"``, ``"numba"`` or ``"python"``."""
        return self._backend

    @property
    def params(self) -> NDArray[np.float64]:
        """A copy of all parameters as a flat float64 array (assignable)."""
        return self._params.copy()

    @params.setter
    def params(self, values: ArrayLike) -> None:
        array = self._check_params(values)
        with self._lock:
            self._params[:] = array

    # --- training ---------------------------------------------------------------------------------

    def _run_training(self, train_chunk: Callable[..., None], state: tuple[np.ndarray, ...], epochs: int,
                      loss_every: int, steps_per_epoch: int, learn_rate: float, verbose: bool,
                      progress: bool, stacklevel: int = 2,
                      begin: Callable[[], None] | None = None,
                      after_epoch: Callable[[int], bool] | None = None,
                      stop: threading.Event | None = None, warn: bool = True) -> Outcome:
        """The end of every ``train``, once its arguments are checked: run the kernel in chunks under
        the lock, report as it goes, record the losses, warn once if the parameters diverged.

        Nothing of the model changes before the reporter exists (its refusal, ``progress`` without
        tqdm, leaves the model as it was); then ``begin`` (the caller's own changes of state, if any)
        runs, under the lock. The lock is re-entrant: the reporter's output may call back into the
        model from this thread (a stdout wrapper, a signal handler) without deadlock.

        ``after_epoch(epoch)``, when given, runs after every epoch (the kernel then runs one epoch at
        a time), after the report; True stops the run there. ``stop`` (train_many's, on its thread
        pool), when set, stops it at the end of a chunk. ``warn=False`` leaves the divergence warning
        to the caller (train_many warns once for all its networks)."""
        reporter = Reporter(verbose, progress, epochs, steps_per_epoch)
        report: Callable[[int, list[tuple[int, float]]], bool] = reporter
        if after_epoch is not None or stop is not None:
            def report(epochs_done: int, recorded: list[tuple[int, float]]) -> bool:
                halt = reporter(epochs_done, recorded)
                if after_epoch is not None:
                    halt |= after_epoch(epochs_done - 1)
                return halt or (stop is not None and stop.is_set())
        history: list[tuple[int, float]] = []
        try:
            with self._lock:
                if begin is not None:
                    begin()
                self.loss_history = history
                outcome = run_training(train_chunk, state, epochs, loss_every, steps_per_epoch,
                                       [history], report, None if after_epoch is None else 1)
        finally:
            reporter.close()
        if outcome.diverged is not None and warn:
            warn_divergence(outcome.diverged, learn_rate, stacklevel=stacklevel + 1)
        return outcome

    # --- saving, loading, pickling ----------------------------------------------------------------

    def save(self, path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> None:
        """Write the model to a small, human-readable JSON file, atomically.

        The file holds a format name and version, the backend, the configuration and the parameters
        as decimal numbers that read back to exactly the same floats. It is written to a temporary
        file in the same directory and renamed over ``path``, so a crash leaves either the old file
        or the new one, whole. A symbolic link is written through to its target; an existing file
        keeps its permissions (a new one follows the umask).

        Parameters
        ----------
        path : str, bytes or os.PathLike

        Raises
        ------
        ValueError
            If a parameter is inf or NaN (after diverging training): JSON cannot hold it exactly.
        OSError
            If the file cannot be written, or ``path`` is not a regular file (a directory, a FIFO,
            a device); the message names ``path``.
        """
        with self._lock:
            params = self._params.tolist()
            for index, value in enumerate(params):
                if not math.isfinite(value):
                    raise ValueError(f"cannot save {os.fsdecode(path)!r}: parameter "
                                     f"{self._param_name(index)} is {value!r}")
            try:
                extras = self._file_extras()
            except ValueError as exc:
                raise ValueError(f"cannot save {os.fsdecode(path)!r}: {exc}") from None
        write_json(path, {"format": self._FILE_FORMAT, "version": self._file_version(),
                          "backend": self._backend, **self._config(),
                          "params": self._params_to_json(params), **extras}, indent=self._JSON_INDENT)

    @classmethod
    def load(cls: type[M], path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
             backend: str | None = None) -> M:
        """Read a model written by :meth:`save`, with exactly the saved parameters.

        Parameters
        ----------
        path : str, bytes or os.PathLike
        backend : {"cython", "numba", "python"} or None
            None takes the saved backend if it loads here, else the default one.

        Returns
        -------
        The model, of the class ``load`` is called on.

        Raises
        ------
        ValueError
            If the file is empty, truncated, not JSON, not of this class's format or version, lacks a
            field, or holds a bad value; the message names the file and the problem.
        OSError
            If the file cannot be read (for example ``FileNotFoundError``).
        """
        name = os.fsdecode(path)
        document = read_json(path, cls._FILE_FORMAT, cls._FILE_VERSIONS_READ or (cls._FILE_VERSION,))
        missing = [key for key in (*cls._CONFIG_FIELDS, "params") if key not in document]
        if len(missing) == 1:
            raise ValueError(f"cannot load {name!r}: the field \"{missing[0]}\" is missing")
        if missing:
            raise ValueError(f"cannot load {name!r}: fields missing: {', '.join(missing)}")
        config = {key: document[key] for key in cls._CONFIG_FIELDS}
        config.update({key: document.get(key, default) for key, default in cls._OPTIONAL_CONFIG.items()})
        if backend is not None:
            resolve_backend(backend, cls._FAMILY)     # one asked for by name: its own error, if any
        try:
            params = cls._params_from_json(document["params"], config)
            if backend is not None:
                model = cls._restore(config, params, backend, fallback=False)
            else:
                model = cls._restore(config, params, document.get("backend"), fallback=True)
            model._load_extras(document)
            return model
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"cannot load {name!r}: {exc}") from None

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            params = self._params.tolist()
        return {"config": self._config(), "backend": self._backend, "params": params,
                "loss_history": list(self.loss_history), **self._more_state()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        restored = self._restore(state["config"], state["params"], state["backend"], fallback=True)
        self.__dict__.update(restored.__dict__)
        self.loss_history = list(state["loss_history"])
        self._set_more_state(state)


# --- for train_many ------------------------------------------------------------------------------

@contextlib.contextmanager
def hold(models: Sequence[Model]) -> Iterator[None]:
    """Hold every model's lock while training them together (taken in one global order, so that two
    callers cannot deadlock)."""
    locked = sorted(models, key=id)
    acquired = []
    try:
        for model in locked:
            model._lock.acquire()
            acquired.append(model)
        yield
    finally:
        for model in acquired:
            model._lock.release()


def parameters_of(models: Iterable[Model]) -> NDArray[np.float64]:
    """The models' parameters as one (n_nets, n_params) array (a copy); hold their locks."""
    return np.array([model._params for model in models])


def set_trained(model: Model, params: ArrayLike, history: list[tuple[int, float]]) -> None:
    """Store a model's trained parameters and loss history; hold its lock."""
    model._params[:] = params
    model.loss_history = history
