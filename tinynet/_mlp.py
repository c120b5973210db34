"""``tinynet.Network``: any layer sizes, activations and losses, trained per sample on the same kernels."""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._backend import resolve_backend
from ._files import read_json, write_json
from ._network import _Reporter
from ._python import CROSS_ENTROPY, IDENTITY, MSE, RELU, SIGMOID, SOFTMAX, TANH
from ._training import run_training, warn_divergence
from ._validation import (
    as_count,
    as_features,
    as_real,
    as_real_array,
    check_finite,
    contiguous_writeable,
)

__all__ = ["Network"]

HIDDEN = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}
OUTPUT = {"sigmoid": SIGMOID, "identity": IDENTITY, "softmax": SOFTMAX}
LOSSES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY}
INITS = ("auto", "glorot", "he", "normal")

FILE_FORMAT = "tinynet.Network"
FILE_VERSION = 1


def _choice(value: Any, options: Any, name: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(map(repr, options))}")
    return value


class Network:
    """A multilayer perceptron of any layer sizes, trained by per-sample SGD on tinynet's kernels.

    Every layer is fully connected; the hidden layers share one activation, the output layer has its
    own. The arithmetic is the tutorial's, layer by layer: ``Network((2, 2, 1))`` with sigmoid and mse,
    started from an ``OurNeuralNetwork``'s weights (:meth:`from_tutorial`), trains to bit-identical
    weights. All three backends agree bit for bit.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, inputs first, e.g. ``(2, 2, 1)``, ``(4, 16, 3)``, ``(64, 32, 10)``; at least two.
    activation : {"sigmoid", "tanh", "relu"}
        Of the hidden layers.
    output : {"sigmoid", "identity", "softmax"}
        Of the output layer.
    loss : {"mse", "cross_entropy"}
        ``"mse"``: the mean over the outputs of the squared error (the tutorial's, for one output).
        ``"cross_entropy"``: binary (per output) with a sigmoid output, categorical with softmax;
        computed stably from the output's pre-activations.
    init : {"auto", "glorot", "he", "normal"}
        ``"glorot"``: weights uniform in +-sqrt(6 / (fan_in + fan_out)); ``"he"``: normal with standard
        deviation sqrt(2 / fan_in); both with zero biases (as Keras; scikit-learn and PyTorch use
        similar scales). ``"auto"``: he for relu, glorot otherwise. ``"normal"``: every weight and
        bias standard normal, as the tutorial draws them.
    seed : int or None
        Seeds the generator of the initial weights and of the shuffling order.
    backend : {"cython", "numba", "python"} or None
        As for ``OurNeuralNetwork``.

    Attributes
    ----------
    weights : list of ndarray, shapes (sizes[i + 1], sizes[i])
        Views into the parameter array: readable and writable.
    biases : list of ndarray, shapes (sizes[i + 1],)
        Views into the parameter array.
    params : ndarray of float64
        A copy of all parameters, flat (layer by layer: weights row by row, then biases); assignable.
    loss_history : list of (int, float)
        ``(epoch, loss)`` pairs recorded by the last call of :meth:`train`.
    """

    loss_history: list[tuple[int, float]]

    def __init__(self, sizes: ArrayLike, activation: str = "sigmoid", output: str = "sigmoid",
                 loss: str = "mse", init: str = "auto", seed: int | None = None,
                 backend: str | None = None) -> None:
        sizes_array = np.asarray(sizes)
        if (sizes_array.ndim != 1 or sizes_array.size < 2 or sizes_array.dtype.kind not in "iu"
                or (sizes_array < 1).any()):
            raise ValueError(f"sizes must be at least two positive integers (inputs first), got {sizes!r}")
        if sizes_array.size > 65:
            raise ValueError(f"sizes can have at most 65 entries (64 layers), got {sizes_array.size}")
        self.sizes = tuple(int(size) for size in sizes_array)
        self.activation = _choice(activation, HIDDEN, "activation")
        self.output = _choice(output, OUTPUT, "output")
        self.loss_name = _choice(loss, LOSSES, "loss")
        _choice(init, INITS, "init")
        if self.loss_name == "cross_entropy" and self.output == "identity":
            raise ValueError("loss 'cross_entropy' needs a 'sigmoid' or 'softmax' output, not 'identity'")
        if self.output == "softmax" and self.sizes[-1] < 2:
            raise ValueError("a 'softmax' output needs at least 2 outputs")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an integer or None, not {type(seed).__name__}")
        self._backend, self._kernels = resolve_backend(backend)
        self._rng = np.random.default_rng(seed)
        self._layout()
        self._initialise(init)
        self._lock = threading.Lock()
        self.loss_history = []

    # --- parameters -----------------------------------------------------------------------------

    def _layout(self) -> None:
        """The flat parameter array and the views of each layer's weights and biases into it."""
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        self._params = np.zeros(sum(n_out * n_in + n_out for n_in, n_out in pairs))
        self._sizes = np.array(self.sizes, dtype=np.int64)
        self.weights: list[NDArray[np.float64]] = []
        self.biases: list[NDArray[np.float64]] = []
        at = 0
        for n_in, n_out in pairs:
            self.weights.append(self._params[at:at + n_out * n_in].reshape(n_out, n_in))
            at += n_out * n_in
            self.biases.append(self._params[at:at + n_out])
            at += n_out

    def _initialise(self, init: str) -> None:
        if init == "normal":
            self._params[:] = self._rng.standard_normal(self._params.size)
            return
        if init == "auto":
            init = "he" if self.activation == "relu" else "glorot"
        for weights in self.weights:
            fan_out, fan_in = weights.shape
            if init == "he":
                weights[:] = self._rng.normal(0.0, math.sqrt(2.0 / fan_in), weights.shape)
            else:
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                weights[:] = self._rng.uniform(-limit, limit, weights.shape)

    @property
    def backend(self) -> str:
        """The name of the backend in use."""
        return self._backend

    @property
    def params(self) -> NDArray[np.float64]:
        """A copy of all parameters, flat: layer by layer, weights row by row, then biases."""
        return self._params.copy()

    @params.setter
    def params(self, values: ArrayLike) -> None:
        array = as_real_array(values, "params")
        if array.shape != self._params.shape:
            raise ValueError(f"params must be {self._params.size} numbers, got shape {array.shape}")
        check_finite(array, "params")
        with self._lock:
            self._params[:] = array

    @classmethod
    def from_tutorial(cls, net: Any, backend: str | None = None) -> Network:
        """The ``Network((2, 2, 1))`` (sigmoid, sigmoid, mse) with an ``OurNeuralNetwork``'s weights.

        Trained on the same data, it reaches the same weights as ``net.train`` would, bit for bit.

        Parameters
        ----------
        net : OurNeuralNetwork
        backend : str or None
            None takes ``net``'s backend.

        Returns
        -------
        Network
        """
        new = cls((2, 2, 1), backend=backend if backend is not None else net.backend)
        w1, w2, w3, w4, w5, w6, b1, b2, b3 = net.params
        new.params = [w1, w2, w3, w4, b1, b2, w5, w6, b3]
        return new

    # --- input ----------------------------------------------------------------------------------

    def _features(self, data: ArrayLike, allow_empty: bool = False) -> NDArray[np.float64]:
        return as_features(data, "X", allow_empty=allow_empty, columns=self.sizes[0])

    def _targets(self, targets: ArrayLike, n: int) -> NDArray[np.float64]:
        """Y as a C-contiguous (n, k) float64 array, checked; class labels become one-hot rows."""
        k = self.sizes[-1]
        array = as_real_array(targets, "Y")
        if array.shape[:1] != (n,):
            raise ValueError(f"Y has {array.shape[0] if array.ndim else 0} rows but X has {n} samples: "
                             "they must match")
        raw = np.asarray(targets)
        if self.output == "softmax" and array.ndim == 1 and raw.dtype.kind in "iu":
            if raw.size and (raw.min() < 0 or raw.max() >= k):
                raise ValueError(f"Y's class labels must be in 0..{k - 1}, got {raw.min()}..{raw.max()}")
            array = np.eye(k)[raw]
        elif array.ndim == 1 and k == 1:
            array = array.reshape(n, 1)
        if array.shape != (n, k):
            hint = " (integer class labels work with a softmax output)" if array.ndim == 1 else ""
            raise ValueError(f"Y must have shape ({n}, {k}) for {k} outputs, got {array.shape}{hint}")
        check_finite(array, "Y")
        if self.loss_name == "cross_entropy":
            if (array < 0).any() or (array > 1).any():
                raise ValueError("Y must be between 0 and 1 for the cross-entropy loss")
            if self.output == "softmax" and not np.allclose(array.sum(axis=1), 1.0, rtol=0, atol=1e-9):
                raise ValueError("Y's rows must sum to 1 (class probabilities) for softmax cross-entropy")
        return contiguous_writeable(array)

    def _work(self, n: int) -> NDArray[np.float64]:
        return np.empty(sum(self.sizes) + 2 * max(self.sizes) + self.sizes[-1] + n)

    # --- evaluation -----------------------------------------------------------------------------

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The network's outputs for many samples at once, computed in the kernel.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            n samples; n may be 0.

        Returns
        -------
        ndarray of float64, shape (n, k), or (n,) when the network has one output

        Raises
        ------
        TypeError, ValueError
            If ``X`` is not an (n, sizes[0]) array of finite real numbers.
        """
        data = self._features(X, allow_empty=True)
        out = np.empty((data.shape[0], self.sizes[-1]))
        if data.shape[0]:
            with self._lock:
                self._kernels.net_feedforward(self._params, self._sizes, HIDDEN[self.activation],
                                              OUTPUT[self.output], data, out, self._work(0))
        return out[:, 0] if self.sizes[-1] == 1 else out

    def loss(self, X: ArrayLike, Y: ArrayLike) -> float:
        """The network's mean loss over the samples (summed in numpy's pairwise order).

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, k) or (n,)
            As for :meth:`train`.

        Returns
        -------
        float

        Raises
        ------
        TypeError, ValueError
            As for :meth:`train`.
        """
        data = self._features(X)
        targets = self._targets(Y, data.shape[0])
        with self._lock:
            return float(self._kernels.net_loss(
                self._params, self._sizes, HIDDEN[self.activation], OUTPUT[self.output],
                LOSSES[self.loss_name], data, targets, self._work(data.shape[0])))

    # --- training -------------------------------------------------------------------------------

    def train(self, X: ArrayLike, Y: ArrayLike, learn_rate: float = 0.1, epochs: int = 100,
              shuffle: bool = False, momentum: float = 0.0, verbose: bool = False,
              loss_every: int | None = 10, progress: bool = False) -> None:
        """Stochastic gradient descent, one sample at a time (batch size 1).

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, k) or (n,)
            Targets; (n,) when k == 1, or integer class labels 0..k-1 with a softmax output.
        learn_rate : float
        epochs : int
        shuffle : bool
            Visit the samples in a new random order every epoch, drawn from the network's seeded
            generator in Python, so that every backend sees the same order.
        momentum : float
            Classical momentum, 0 <= momentum < 1: v = momentum * v - step, w += v. The velocities
            start at zero in each call.
        verbose : bool
            Print ``Epoch N loss: L`` lines as ``OurNeuralNetwork.train`` does.
        loss_every : int or None
            Record the mean loss after every epoch that is a multiple of this (0 or None: never).
        progress : bool
            A progress bar on stderr, where it is a terminal (needs tqdm).

        Raises
        ------
        TypeError, ValueError
            For input of the wrong kind, shape or value, naming the argument; nothing is changed.

        Warns
        -----
        RuntimeWarning
            Once, if the parameters become inf or NaN, naming the epoch.
        """
        data = self._features(X)
        targets = self._targets(Y, data.shape[0])
        learn_rate = as_real(learn_rate, "learn_rate")
        momentum = as_real(momentum, "momentum")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        epochs = as_count(epochs, "epochs")
        loss_every = 0 if loss_every is None else as_count(loss_every, "loss_every")
        n = data.shape[0]
        codes = (self._sizes, HIDDEN[self.activation], OUTPUT[self.output], LOSSES[self.loss_name])
        work = self._work(n)
        # Shuffling: each epoch's order comes from a generator seeded by (a number drawn once per
        # call from the network's generator, the epoch), so it does not depend on how the epochs
        # are split into kernel calls.
        base = int(self._rng.integers(2**63)) if shuffle else 0

        def train_chunk(state, start, stop, every, losses):
            params, velocity = state
            order = (np.array([np.random.default_rng([base, epoch]).permutation(n)
                               for epoch in range(start, stop)], dtype=np.int64)
                     if shuffle else np.empty((0, 0), dtype=np.int64))
            self._kernels.net_train(params[0], *codes, data, targets, order, learn_rate, momentum,
                                    velocity[0], start, stop, every, losses, work)

        history: list[tuple[int, float]] = []
        self.loss_history = history
        reporter = _Reporter(verbose, progress, epochs, n)
        try:
            with self._lock:
                diverged = run_training(
                    train_chunk, (self._params.reshape(1, -1), np.zeros((1, self._params.size))),
                    epochs, loss_every, n * max(1, self._params.size // 9), [history], reporter)
        finally:
            reporter.close()
        if diverged is not None:
            warn_divergence(diverged, learn_rate, stacklevel=2)

    # --- saving ---------------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {"sizes": list(self.sizes), "activation": self.activation, "output": self.output,
                "loss": self.loss_name}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network (configuration and exact parameters) to a JSON file, atomically.

        Raises
        ------
        ValueError
            If a parameter is inf or NaN (JSON cannot hold it exactly).
        OSError
            If the file cannot be written.
        """
        params = self.params.tolist()
        if not all(math.isfinite(value) for value in params):
            raise ValueError(f"cannot save {os.fspath(path)!r}: some parameters are inf or NaN")
        write_json(path, {"format": FILE_FORMAT, "version": FILE_VERSION, "backend": self._backend,
                          **self._config(), "params": params}, indent=None)

    @classmethod
    def load(cls, path: str | os.PathLike[str], backend: str | None = None) -> Network:
        """Read a network written by :meth:`save`, with exactly the saved parameters.

        Parameters
        ----------
        path : str or os.PathLike
        backend : {"cython", "numba", "python"} or None
            As for the constructor (the saved backend is not forced on the machine that loads).

        Returns
        -------
        Network

        Raises
        ------
        ValueError
            If the file is empty, truncated, not JSON, of another format or version, or lacks a
            field; the message names the file and the problem.
        OSError
            If the file cannot be read.
        """
        name = os.fspath(path)
        document = read_json(path, FILE_FORMAT, FILE_VERSION)
        missing = [key for key in ("sizes", "activation", "output", "loss", "params") if key not in document]
        if missing:
            raise ValueError(f"cannot load {name!r}: fields missing: {', '.join(missing)}")
        try:
            net = cls(document["sizes"], document["activation"], document["output"], document["loss"],
                      backend=backend)
            net.params = document["params"]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot load {name!r}: {exc}") from None
        return net

    def __repr__(self) -> str:
        return (f"Network({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
                f"loss={self.loss_name!r}, backend={self._backend!r})")

    def __getstate__(self) -> dict[str, Any]:
        return {**self._config(), "backend": self._backend, "params": self._params.tolist(),
                "rng": self._rng.bit_generator.state, "loss_history": list(self.loss_history)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.sizes = tuple(state["sizes"])
        self.activation, self.output, self.loss_name = state["activation"], state["output"], state["loss"]
        try:
            self._backend, self._kernels = resolve_backend(state["backend"])
        except ImportError:
            self._backend, self._kernels = resolve_backend(None)
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = state["rng"]
        self._layout()
        self._params[:] = state["params"]
        self._lock = threading.Lock()
        self.loss_history = list(state["loss_history"])
