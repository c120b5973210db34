"""``OurNeuralNetwork``: the tutorial's class, as a drop-in trained by compiled kernels."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._backend import BACKENDS, resolve_backend
from ._files import read_json, write_json
from ._training import run_training, warn_divergence
from ._validation import as_count, as_features, as_labels, as_params, as_real, as_sample

__all__ = ["PARAM_NAMES", "OurNeuralNetwork"]

#: The nine parameters, in the order of the reference's ``__init__`` and of the parameter array.
PARAM_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")

#: What :meth:`OurNeuralNetwork.save` writes in the file's "format" and "version" fields.
FILE_FORMAT = "tinynet.OurNeuralNetwork"
FILE_VERSION = 1


def _param_property(index: int, name: str) -> property:
    def fget(self: OurNeuralNetwork) -> float:
        return float(self._params[index])

    def fset(self: OurNeuralNetwork, value: float) -> None:
        value = as_real(value, name)
        with self._lock:
            self._params[index] = value

    return property(fget, fset, doc=f"Parameter {name} (a float), element {index} of ``params``.")


class _Reporter:
    """What ``train`` shows between chunks: the reference's loss lines and, optionally, a progress bar.

    The lines are written at once for each chunk of epochs. The bar (tqdm, on stderr, only on a
    terminal) shows the epoch, the latest loss and the SGD steps per second; the lines are then
    written above it.
    """

    def __init__(self, verbose, progress, epochs, steps_per_epoch):
        self.verbose = verbose
        self.bar = None
        self.steps_per_epoch = steps_per_epoch
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                raise ImportError("progress=True needs tqdm: pip install 'tinynet[progress]' "
                                  "(or pip install tqdm)") from None
            # disable=None: no bar where stderr is not a terminal (logs, pipes, CI)
            self.bar = tqdm(total=epochs, unit="epoch", disable=None, dynamic_ncols=True)
            self.started = time.perf_counter()

    def __call__(self, epochs_done, recorded):
        if self.verbose and recorded:
            text = "".join(["Epoch %d loss: %.3f\n" % pair for pair in recorded])
            if self.bar is not None and not self.bar.disable:
                self.bar.write(text.rstrip("\n"), file=sys.stdout)
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
        if self.bar is not None and not self.bar.disable:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            postfix = {"steps/s": f"{epochs_done * self.steps_per_epoch / elapsed:.3g}"}
            if recorded:
                postfix["loss"] = f"{recorded[-1][1]:.4g}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(epochs_done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class OurNeuralNetwork:
    """The 2-2-1 sigmoid network of the tutorial, trained by per-sample SGD on compiled kernels.

    A drop-in for the tutorial's ``OurNeuralNetwork``: 2 inputs, a hidden layer of 2 sigmoid neurons
    (h1, h2) and one sigmoid output (o1), mean squared error loss, stochastic gradient descent one
    sample at a time. Given the same starting weights it prints the same lines and reaches the same
    weights as the tutorial's class, on every backend, and the backends agree bit for bit.

    Parameters
    ----------
    backend : {"cython", "numba", "python"} or None
        The kernels to use. None takes ``$TINYNET_BACKEND`` if set, else the fastest backend that
        loads here (see :func:`tinynet.available_backends`).

    Attributes
    ----------
    w1, w2, w3, w4, w5, w6, b1, b2, b3 : float
        The weights and biases, readable and writable as in the tutorial.
    params : ndarray of float64, shape (9,)
        A copy of all nine, in the order w1..w6, b1..b3 (assignable).
    backend : str
        The name of the backend in use.
    loss_history : list of (int, float)
        ``(epoch, loss)`` pairs recorded by the last call of :meth:`train`.

    Raises
    ------
    ValueError
        If ``backend`` (or ``$TINYNET_BACKEND``) is not a known backend name.
    ImportError
        If the backend asked for cannot be loaded here; the message says why and how to fix it.

    Notes
    -----
    Construction draws the nine parameters with ``np.random.normal()``, one call each, in the order
    w1..w6, b1..b3, exactly as the tutorial does, so ``np.random.seed(s)`` beforehand gives the
    tutorial's starting point.

    Each network has a lock: two threads training the same network take turns, while different
    networks train in parallel (the compiled kernels release the GIL).
    """

    loss_history: list[tuple[int, float]]

    def __init__(self, backend: str | None = None) -> None:
        self._backend, self._kernels = resolve_backend(backend)
        # One np.random.normal() call each, in the reference's order.
        self._params = np.array([np.random.normal() for _ in PARAM_NAMES], dtype=np.float64)
        self._lock = threading.Lock()
        self.loss_history = []

    @classmethod
    def _restore(cls, params: ArrayLike, backend: str | None,
                 loss_history: Iterable[tuple[int, float]] = (), strict: bool = False) -> OurNeuralNetwork:
        """A network with the given parameters, drawing no random numbers.

        A ``backend`` that cannot load here is replaced by the default one, unless ``strict``.
        """
        net = cls.__new__(cls)
        try:
            net._backend, net._kernels = resolve_backend(backend)
        except ImportError:  # saved where that backend loads, restored where it does not
            if strict:
                raise
            net._backend, net._kernels = resolve_backend(None)
        net._params = np.array(params, dtype=np.float64)
        net._lock = threading.Lock()
        net.loss_history = list(loss_history)
        return net

    w1 = _param_property(0, "w1")
    w2 = _param_property(1, "w2")
    w3 = _param_property(2, "w3")
    w4 = _param_property(3, "w4")
    w5 = _param_property(4, "w5")
    w6 = _param_property(5, "w6")
    b1 = _param_property(6, "b1")
    b2 = _param_property(7, "b2")
    b3 = _param_property(8, "b3")

    @property
    def backend(self) -> str:
        """The name of the backend in use: ``"cython"``, ``"numba"`` or ``"python"``."""
        return self._backend

    @property
    def params(self) -> NDArray[np.float64]:
        """A copy of the nine parameters as a float64 array, in the order w1..w6, b1..b3."""
        return self._params.copy()

    @params.setter
    def params(self, values: ArrayLike) -> None:
        array = as_params(values)
        with self._lock:
            self._params[:] = array

    def feedforward(self, x: ArrayLike) -> np.float64:
        """The network's output o1 for one sample.

        Parameters
        ----------
        x : array_like of 2 real numbers
            The two features (in the tutorial: weight - 135 lb, height - 66 in).

        Returns
        -------
        numpy.float64
            o1, between 0 and 1.

        Raises
        ------
        TypeError
            If ``x`` does not hold real numbers.
        ValueError
            If ``x`` is not 2 finite numbers.
        """
        sample = as_sample(x)
        out = np.empty(1)
        with self._lock:
            self._kernels.feedforward(self._params, sample, out)
        return out[0]

    def predict(self, data: ArrayLike) -> NDArray[np.float64]:
        """The network's output for many samples at once, computed in the kernel.

        Parameters
        ----------
        data : array_like, shape (n, 2)
            n samples of 2 real numbers; n may be 0.

        Returns
        -------
        ndarray of float64, shape (n,)

        Raises
        ------
        TypeError
            If ``data`` does not hold real numbers.
        ValueError
            If ``data`` is not of shape (n, 2) or holds NaN or inf.
        """
        array = as_features(data, allow_empty=True)
        out = np.empty(array.shape[0])
        if array.shape[0]:
            with self._lock:
                self._kernels.feedforward(self._params, array, out)
        return out

    def gradients(self, x: ArrayLike, y_true: float) -> dict[str, float]:
        """The nine partial derivatives of the loss L = (y_true - y_pred)^2 for one sample.

        Computed by the backend with the same factors as a training step, as the tutorial derives
        them by the chain rule: dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1, and so on. (A training
        step subtracts ``learn_rate * dL/dy_pred * dy_pred/dh1 * dh1/dw1`` from w1.)

        Parameters
        ----------
        x : array_like of 2 real numbers
        y_true : real number

        Returns
        -------
        dict
            ``{"dL/dw1": ..., ..., "dL/db3": ...}`` in the order w1..w6, b1..b3, of Python floats.

        Raises
        ------
        TypeError, ValueError
            If ``x`` is not 2 finite real numbers or ``y_true`` not a finite real number.

        Examples
        --------
        The tutorial's example: every weight 1, every bias 0, Alice (-2, -1), female (1).

        >>> net = OurNeuralNetwork()
        >>> net.params = [1, 1, 1, 1, 1, 1, 0, 0, 0]
        >>> round(net.gradients([-2, -1], 1)["dL/dw1"], 5)
        0.02147
        """
        sample = as_sample(x)
        y_true = as_real(y_true, "y_true")
        out = np.empty(9)
        with self._lock:
            self._kernels.gradients(self._params, float(sample[0, 0]), float(sample[0, 1]), y_true, out)
        return {f"dL/d{name}": value for name, value in zip(PARAM_NAMES, out.tolist())}

    def loss(self, data: ArrayLike, all_y_trues: ArrayLike) -> float:
        """Mean squared error on a data set, ``mean((all_y_trues - predict(data)) ** 2)``.

        Summed in numpy's order, so it equals that numpy expression bit for bit.

        Parameters
        ----------
        data : array_like, shape (n, 2)
        all_y_trues : array_like, shape (n,)

        Returns
        -------
        float

        Raises
        ------
        TypeError, ValueError
            As for :meth:`train`.
        """
        array = as_features(data)
        labels = as_labels(all_y_trues, array.shape[0])
        with self._lock:
            return float(self._kernels.mse_loss(self._params, array, labels))

    def train(self, data: ArrayLike, all_y_trues: ArrayLike, learn_rate: float = 0.1,
              epochs: int = 1000, verbose: bool = True, loss_every: int | None = 10,
              progress: bool = False) -> None:
        """Train by stochastic gradient descent, one sample at a time, as the tutorial does.

        Every epoch visits the samples in the given order; for each sample all partial derivatives
        are computed from the parameters as they were before it, then all nine are updated.

        Parameters
        ----------
        data : array_like, shape (n, 2)
            n >= 1 samples of 2 real numbers.
        all_y_trues : array_like, shape (n,)
            One label per sample.
        learn_rate : float, default 0.1
            The step size (the tutorial's fixed value by default).
        epochs : int, default 1000
            How many passes over the data (the tutorial's fixed value by default).
        verbose : bool, default True
            Print the tutorial's lines ``Epoch N loss: L`` as training goes.
        loss_every : int or None, default 10
            After each epoch that is a multiple of this, compute the loss over the whole data set
            (with the updated parameters), record it in :attr:`loss_history` and, with ``verbose``,
            print it. ``0`` or None records nothing: the fastest training.
        progress : bool, default False
            Show a progress bar (epoch, latest loss, SGD steps per second) on stderr while training,
            when stderr is a terminal. Needs tqdm (``pip install 'tinynet[progress]'``).

        Raises
        ------
        TypeError
            If ``data`` or ``all_y_trues`` do not hold real numbers, ``learn_rate`` is not a real
            number, or ``epochs``/``loss_every`` are not integers.
        ValueError
            If ``data`` is not of shape (n, 2) with n >= 1, ``all_y_trues`` is not of length n, either
            holds NaN or inf, ``learn_rate`` is not finite or ``epochs``/``loss_every`` are negative.

        Warns
        -----
        RuntimeWarning
            Once, if the parameters become inf or NaN (the learning rate is too large for the data),
            naming the epoch where it happened. Training goes on; every backend gives the same values.

        Notes
        -----
        Nothing is changed when an argument is refused. Ctrl-C stops training within milliseconds
        (compiled backends: at the end of a chunk of epochs; pure Python: at the end of an epoch),
        raising ``KeyboardInterrupt``: the parameters are then those at the end of a whole epoch, and
        :attr:`loss_history` holds the losses recorded before (those of the last chunk may be missing).
        """
        array = as_features(data)
        labels = as_labels(all_y_trues, array.shape[0])
        learn_rate = as_real(learn_rate, "learn_rate")
        epochs = as_count(epochs, "epochs")
        loss_every = 0 if loss_every is None else as_count(loss_every, "loss_every")

        history: list[tuple[int, float]] = []
        self.loss_history = history
        reporter = _Reporter(verbose, progress, epochs, array.shape[0])
        try:
            with self._lock:
                diverged = run_training(
                    lambda state, *epochs_and_losses: self._kernels.train(
                        state[0], array, labels, learn_rate, *epochs_and_losses),
                    (self._params.reshape(1, 9),),   # the kernel trains k networks; here k = 1
                    epochs, loss_every, array.shape[0], [history], reporter)
        finally:
            reporter.close()
        if diverged is not None:
            warn_divergence(diverged, learn_rate, stacklevel=2)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to a small, human-readable JSON file, atomically.

        The file holds a format name and version, the backend, and the nine parameters as decimal
        numbers that read back to exactly the same floats. It is written to a temporary file in the
        same directory and renamed over ``path``, so a crash leaves either the old file or the new
        one, whole.

        Parameters
        ----------
        path : str or os.PathLike

        Raises
        ------
        ValueError
            If a parameter is inf or NaN (after diverging training): JSON cannot hold it exactly.
        OSError
            If the file cannot be written.
        """
        with self._lock:
            params = self._params.tolist()
        for name, value in zip(PARAM_NAMES, params):
            if not math.isfinite(value):
                raise ValueError(f"cannot save {os.fspath(path)!r}: parameter {name} is {value!r}")
        write_json(path, {"format": FILE_FORMAT, "version": FILE_VERSION, "backend": self._backend,
                          "params": dict(zip(PARAM_NAMES, params))})

    @classmethod
    def load(cls, path: str | os.PathLike[str], backend: str | None = None) -> OurNeuralNetwork:
        """Read a network written by :meth:`save`, with exactly the saved parameters.

        Parameters
        ----------
        path : str or os.PathLike
        backend : {"cython", "numba", "python"} or None
            None takes the saved backend if it loads here, else the default one.

        Returns
        -------
        OurNeuralNetwork

        Raises
        ------
        ValueError
            If the file is empty, truncated, not JSON, not a tinynet network, of another format
            version, or lacks a parameter; the message names the file and the problem.
        OSError
            If the file cannot be read (for example ``FileNotFoundError``).
        """
        name = os.fspath(path)
        document = read_json(path, FILE_FORMAT, FILE_VERSION)
        params = document.get("params")
        if not isinstance(params, dict):
            raise ValueError(f"cannot load {name!r}: the field \"params\" is missing")
        missing = [key for key in PARAM_NAMES if key not in params]
        if missing:
            raise ValueError(f"cannot load {name!r}: parameters missing: {', '.join(missing)}")
        values = []
        for key in PARAM_NAMES:
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"cannot load {name!r}: parameter {key} is {value!r}, "
                                 "not a finite number")
            values.append(float(value))
        if backend is not None:
            return cls._restore(values, backend, strict=True)
        saved = document.get("backend")
        return cls._restore(values, saved if saved in BACKENDS else None)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in zip(PARAM_NAMES, self._params.tolist()))
        return f"{type(self).__name__}(backend={self._backend!r}, {values})"

    def __getstate__(self) -> dict[str, Any]:
        return {"backend": self._backend, "params": self._params.tolist(),
                "loss_history": list(self.loss_history)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        restored = self._restore(state["params"], state["backend"], state["loss_history"])
        self.__dict__.update(restored.__dict__)
