"""``tinynet.Network``: any layer sizes, activations and losses, trained per sample on the same kernels."""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import os
import threading
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._backend import load_backend
from ._codes import BATCH_ROWS, LOSSES, OUTPUT, net_forward_scratch, net_room
from ._model import Model
from ._rules import HIDDEN, INITS_OF, OPTIMIZER_OF, STEP_OF, adam_step_sizes, kernel_options, step_code
from ._training import Outcome
from ._validation import (
    as_choice,
    as_count,
    as_features,
    as_flag,
    as_nonnegative,
    as_real,
    as_real_array,
    as_schedule,
    check_finite,
    contiguous_writeable,
    in_dtype,
    network_dtype,
)
from ._watch import TrainingRecord, Watch, check_watch_options

#: The most parameters a Network may have (16 GiB of them, 48 GiB with Adam's moments): a larger one is
#: a mistake in its sizes, refused rather than allocated.
MAX_PARAMS = 2**31

__all__ = ["Network"]

INITS = ("auto", "glorot", "he", "normal")
#: A Network((2, 2, 1))'s parameters in the tutorial's order (OurNeuralNetwork's w1..w6, b1..b3):
#: ``net.params[TUTORIAL_ORDER]``.
TUTORIAL_ORDER = [0, 1, 2, 3, 6, 7, 4, 5, 8]
#: The kernels' "none" for the running losses (scikit-learn's, not recorded here) and Adam's step sizes.
_EMPTY = np.empty(0)


#: ``train``'s defaults of the options that not every optimizer takes (``_rules.Optimizer.options``).
_OPTION_DEFAULTS = {"momentum": 0.0, "nesterov": False, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}


def _optimizer_options(optimizer: Any, momentum: Any, nesterov: Any, alpha: Any, beta_1: Any, beta_2: Any,
                       epsilon: Any) -> dict[str, Any]:
    """``train``'s optimizer options, checked: TypeError or ValueError naming the one refused (an
    option its optimizer does not take, given another value than its default, included)."""
    name = as_choice(optimizer, OPTIMIZER_OF, "optimizer")
    momentum = as_real(momentum, "momentum")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    nesterov = as_flag(nesterov, "nesterov")
    alpha = as_nonnegative(alpha, "alpha")
    beta_1, beta_2 = as_real(beta_1, "beta_1"), as_real(beta_2, "beta_2")
    for value, label in ((beta_1, "beta_1"), (beta_2, "beta_2")):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{label} must be in [0, 1), got {value!r}")
    epsilon = as_real(epsilon, "epsilon")
    if not epsilon > 0.0:
        raise ValueError(f"epsilon must be greater than 0, got {epsilon!r}")
    given = {"momentum": momentum, "nesterov": nesterov, "beta_1": beta_1, "beta_2": beta_2,
             "epsilon": epsilon}
    row = OPTIMIZER_OF[name]
    for option, value in given.items():
        if option not in row.options and value != _OPTION_DEFAULTS[option]:
            raise ValueError(f"{option} is not an option of {row.label} (its options: "
                             f"{', '.join(row.options) or 'learn_rate only'})")
    return {"optimizer": name, "alpha": alpha, **given}


class _Plan(NamedTuple):
    """A ``train`` call's arguments, checked (:meth:`Network._plan`)."""

    data: NDArray[Any]
    targets: NDArray[Any]
    validation: tuple[NDArray[Any], NDArray[Any]] | None
    learn_rate: float
    epochs: int
    loss_every: int
    shuffle: bool
    batch_size: int
    optimizer: dict[str, Any]
    watch: dict[str, Any]

    @property
    def stateful(self) -> bool:
        """Whether the step keeps state (every step but plain SGD's)."""
        return step_code(self.optimizer["optimizer"], self.optimizer["momentum"],
                         self.optimizer["nesterov"]) != STEP_OF["sgd"].code

    @property
    def per_sample(self) -> bool:
        """Whether it is per-sample SGD (momentum or none; no mini-batch, L2 or Nesterov): the
        per-sample kernels' step, the learning rate folded into g."""
        options = self.optimizer
        return (self.batch_size == 1 and options["optimizer"] == "sgd" and options["alpha"] == 0.0
                and not options["nesterov"])

    @property
    def watches_loss(self) -> bool:
        """Whether a loss is computed after every epoch: the validation set's, or for patience,
        restore_best or the adaptive schedule the training set's."""
        return (self.validation is not None or self.watch["patience"] is not None
                or self.watch["restore_best"] or self.watch["schedule"] == "adaptive")

    @property
    def stepwise(self) -> bool:
        """Whether the kernel runs one epoch at a time: a watched loss, or a rate that changes."""
        return self.watches_loss or self.watch["schedule"] != "constant"


class Network(Model):
    """A multilayer perceptron of any layer sizes, trained on tinynet's kernels.

    Every layer is fully connected; the hidden layers share one activation, the output layer has its
    own. Training is per-sample SGD by default, the tutorial's arithmetic layer by layer:
    ``Network((2, 2, 1))`` with sigmoid and mse, started from an ``OurNeuralNetwork``'s weights
    (:meth:`from_tutorial`), trains to bit-identical weights; mini-batches, L2, momentum and Adam are
    options of :meth:`train`. All three backends agree bit for bit.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, inputs first, e.g. ``(2, 2, 1)``, ``(4, 16, 3)``, ``(64, 32, 10)``; at least two.
    activation : str
        Of the hidden layers, by name: one of :attr:`ACTIVATIONS` (``"sigmoid"``, ``"tanh"``,
        ``"relu"``, ...), the named rows of the table of rules (``tinynet/_rules.py``).
    output : {"sigmoid", "identity", "softmax"}
        Of the output layer.
    loss : {"mse", "cross_entropy"}
        ``"mse"``: the mean over the outputs of the squared error (the tutorial's, for one output).
        ``"cross_entropy"``: binary (per output) with a sigmoid output, categorical with softmax;
        computed stably from the output's pre-activations.
    init : {"auto", "glorot", "he", "normal"}
        ``"glorot"``: weights uniform in +-sqrt(6 / (fan_in + fan_out)); ``"he"``: normal with standard
        deviation sqrt(2 / fan_in); both with zero biases (as Keras; scikit-learn and PyTorch use
        similar scales). ``"auto"``: the activation's own (he for the relu family, glorot otherwise).
        ``"normal"``: every weight and bias standard normal, as the tutorial draws them.
    seed : int or None
        Seeds the generator of the initial weights and of the shuffling order.
    backend : {"cython", "numba", "python"} or None
        As for ``OurNeuralNetwork``.
    dtype : {"float64", "float32"}
        The type of the parameters, of the optimizer's state and of every operation of the kernels
        (numpy's dtypes and names work too: ``np.float32``, ``"f4"``). A float32 network computes each
        operation in float32, in the same order as a float64 one (no fused multiply-add), with tinynet's
        float32 exp: the same bits in every backend and on every CPU. (The options' own arithmetic,
        Adam's ``1 - beta_2``, is done in double and rounded once, as the peers do.) Input of another
        type is converted once: float64 values are rounded to the nearest float32, and one beyond
        float32's range (say 1e39) is refused. Its :meth:`predict`, :meth:`gradients` and :attr:`params`
        are float32; :meth:`loss` and the recorded losses are Python floats (of float32 values).

    Attributes
    ----------
    sizes, activation, output, loss_name
        The structure, read-only (a network of another structure is a new ``Network``).
    weights : tuple of ndarray, shapes (sizes[i + 1], sizes[i])
        Views into the parameter array: their elements are readable and writable
        (``net.weights[0][...] = M``); the tuple itself is fixed.
    biases : tuple of ndarray, shapes (sizes[i + 1],)
        Views into the parameter array, likewise.
    params : ndarray of dtype
        A copy of all parameters, flat (layer by layer: weights row by row, then biases); assignable.
    dtype : numpy.dtype
        The network's element type, float64 or float32 (read-only).
    loss_history : list of (int, float)
        ``(epoch, loss)`` pairs recorded by the last call of :meth:`train`.
    validation_history : list of (int, float)
        ``(epoch, loss)`` pairs of the validation set after every epoch of the last call of
        :meth:`train` (empty when that call had none).
    optimizer_state : dict
        A copy of the optimizer's state, which persists from one :meth:`train` to the next.
    backend : str
        The name of the backend in use.

    Raises
    ------
    ValueError
        If ``sizes`` is not at least two positive integers, a name is unknown, ``"cross_entropy"`` is
        asked of an ``"identity"`` output, a ``"softmax"`` output has one neuron, ``dtype`` is another
        than float64 or float32, or the backend (given or from ``$TINYNET_BACKEND``) is not a known
        name.
    TypeError
        If ``seed`` is not an integer or None, or ``dtype`` is not a dtype.
    ImportError
        If the backend asked for cannot be loaded here; the message says why and how to fix it.
    """

    #: The hidden activations, by name (from the table of rules, ``tinynet/_rules.py``).
    ACTIVATIONS: tuple[str, ...] = tuple(HIDDEN)

    _FAMILY = "network"
    _FILE_FORMAT = "tinynet.Network"
    #: Version 2 adds the optimizer's state; version 3, the dtype (float32 networks' files only: a
    #: float64 network's file stays version 2, which tinynet versions before float32 read). Versions
    #: 1 and 2 load as float64.
    _FILE_VERSION = 2
    _FILE_VERSIONS_READ = (1, 2, 3)
    _CONFIG_FIELDS = ("sizes", "activation", "output", "loss")
    _OPTIONAL_CONFIG: ClassVar[dict[str, Any]] = {"dtype": "float64"}

    _layer_sizes: tuple[int, ...]
    _activation: str
    _output: str
    _loss_name: str
    _weights: tuple[NDArray[np.float64], ...]
    _biases: tuple[NDArray[np.float64], ...]

    def __init__(self, sizes: ArrayLike, activation: str = "sigmoid", output: str = "sigmoid",
                 loss: str = "mse", init: str = "auto", seed: int | None = None,
                 backend: str | None = None, dtype: Any = "float64") -> None:
        as_choice(init, INITS, "init")
        if seed is not None and (isinstance(seed, (bool, np.bool_))
                                 or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None, not {type(seed).__name__}")
        seed = None if seed is None else int(seed)
        self._setup({"sizes": sizes, "activation": activation, "output": output, "loss": loss,
                     "dtype": network_dtype(dtype).name}, backend)
        self._rng = np.random.default_rng(seed)
        self._initialise(init)

    # --- what Model asks of a model family (see tinynet._model) -----------------------------------

    def _family(self, config: dict[str, Any]) -> str:
        """The kernels of the network's dtype: the float32 ones are the "network32" family."""
        return "network32" if network_dtype(config.get("dtype", "float64")) == np.float32 else "network"

    def _file_version(self) -> int:
        return 3 if self._dtype == np.float32 else 2

    def _build(self, config: dict[str, Any]) -> None:
        """Check the configuration; lay out the flat parameter array and the views into it."""
        sizes = config["sizes"]
        sizes_array = np.asarray(sizes)
        if (sizes_array.ndim != 1 or sizes_array.size < 2 or sizes_array.dtype.kind not in "iu"
                or (sizes_array < 1).any()
                or any(isinstance(size, (bool, np.bool_)) for size in sizes)):     # (True, 2, 1)
            raise ValueError(f"sizes must be at least two positive integers (inputs first), got {sizes!r}")
        n_params = sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(sizes_array.tolist()))
        if n_params > MAX_PARAMS:
            raise ValueError(f"sizes {tuple(sizes_array.tolist())} need {n_params:,} parameters "
                             f"({n_params * 24 / 2**30:,.0f} GiB with the optimizer's state): more than "
                             f"tinynet's limit of {MAX_PARAMS:,}")
        layer_sizes = tuple(int(size) for size in sizes_array)
        dtype = network_dtype(config.get("dtype", "float64"))
        activation = as_choice(config["activation"], HIDDEN, "activation")
        output = as_choice(config["output"], OUTPUT, "output")
        loss_name = as_choice(config["loss"], LOSSES, "loss")
        if loss_name == "cross_entropy" and output == "identity":
            raise ValueError("loss 'cross_entropy' needs a 'sigmoid' or 'softmax' output, not 'identity'")
        if output == "softmax" and layer_sizes[-1] < 2:
            raise ValueError("a 'softmax' output needs at least 2 outputs")
        # The structure is read-only (properties below): the kernels size their buffers from it, so a
        # write behind the network's back would reach them unchecked.
        self._layer_sizes, self._activation, self._output, self._loss_name, self._dtype = (
            layer_sizes, activation, output, loss_name, dtype)
        self._sizes = np.array(self.sizes, dtype=np.int64)
        self._kernel_codes = (HIDDEN[self.activation], OUTPUT[self.output], LOSSES[self.loss_name])
        pairs = list(itertools.pairwise(self.sizes))
        self._params = np.zeros(sum(n_out * n_in + n_out for n_in, n_out in pairs), dtype)
        weights, biases = self._layer_views(self._params)
        self._weights, self._biases = tuple(weights), tuple(biases)
        # The optimizer's state: its two numbers per parameter m and v (rows 0, 1; _rules.OPTIMIZERS
        # names them: SGD's velocities, Adam's moments, ...), its step count, and which optimizer it
        # belongs to (None: no state).
        self._moments = np.zeros((2, self._params.size), dtype)
        self._no_weights = np.empty(0, dtype)     # the kernels' "none" for sample weights
        self._step = np.zeros(1, dtype=np.int64)
        self._optimizer: str | None = None
        self.validation_history: list[tuple[int, float]] = []

    @property
    def sizes(self) -> tuple[int, ...]:
        """The number of neurons of each layer, inputs first (read-only: make a new network)."""
        return self._layer_sizes

    @property
    def activation(self) -> str:
        """The hidden layers' activation (read-only)."""
        return self._activation

    @property
    def output(self) -> str:
        """The output layer's activation (read-only)."""
        return self._output

    @property
    def loss_name(self) -> str:
        """The loss that ``train`` minimises and ``loss`` reports (read-only)."""
        return self._loss_name

    @property
    def dtype(self) -> np.dtype[Any]:
        """The network's element type, float64 or float32 (read-only: make a new network)."""
        return self._dtype

    @property
    def weights(self) -> tuple[NDArray[np.float64], ...]:
        """Each layer's weights, shape ``(sizes[i + 1], sizes[i])``: writable views into the parameters,
        in a tuple (write into them, ``net.weights[0][...] = M``, or assign ``params``)."""
        return self._weights

    @property
    def biases(self) -> tuple[NDArray[np.float64], ...]:
        """Each layer's biases, shape ``(sizes[i + 1],)``: writable views into the parameters."""
        return self._biases

    def _config(self) -> dict[str, Any]:
        config = {"sizes": list(self.sizes), "activation": self.activation, "output": self.output,
                  "loss": self.loss_name}
        return config if self._dtype == np.float64 else {**config, "dtype": self._dtype.name}

    def _check_params(self, values: ArrayLike) -> NDArray[np.float64]:
        array = as_real_array(values, "params")
        if array.shape != self._params.shape:
            raise ValueError(f"params must be {self._params.size} numbers, got shape {array.shape}")
        return in_dtype(array, self._dtype, "params", check_finite(array, "params"))

    def _param_name(self, index: int) -> str:
        for layer, (weights, biases) in enumerate(zip(self.weights, self.biases)):
            if index < weights.size:
                row, column = divmod(index, weights.shape[1])
                return f"weights[{layer}][{row}, {column}]"
            index -= weights.size
            if index < biases.size:
                return f"biases[{layer}][{index}]"
            index -= biases.size
        raise IndexError(index)

    def _params_to_json(self, params: list[float]) -> Any:
        return params

    @classmethod
    def _params_from_json(cls, value: Any, config: dict[str, Any]) -> list[float]:
        array = as_real_array(value, "params")
        check_finite(array, "params")
        expected = sum(n_out * n_in + n_out for n_in, n_out in itertools.pairwise(config["sizes"]))
        if array.shape != (expected,):
            raise ValueError(f"params must be {expected} numbers for sizes {config['sizes']}, "
                             f"got shape {array.shape}")
        return array.tolist()

    def _more_state(self) -> dict[str, Any]:
        return {"rng": self._rng.bit_generator.state, "optimizer": self._state_to_json(),
                "validation_history": list(self.validation_history)}

    def _set_more_state(self, state: dict[str, Any]) -> None:
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = state["rng"]
        if "optimizer" in state:           # pickles from before the optimizer's state have none
            self._set_state(state["optimizer"])
        self.validation_history = list(state.get("validation_history", []))

    def __deepcopy__(self, memo: dict[int, Any]) -> Network:
        """A copy as a pickle round trip makes it (its own lock, the same backend, parameters,
        optimizer state, generator and histories), array to array."""
        with self._lock:
            twin = self._restore(self._config(), self._params, self._backend, fallback=False)
            twin._take_state(self)
        return twin

    def _take_state(self, other: Network) -> None:
        """Take everything but the configuration from ``other`` (a network of this configuration, a
        copy trained elsewhere by train_many); hold this network's lock."""
        self._params[:] = other._params
        self._moments[:] = other._moments
        self._step[:] = other._step
        self._optimizer = other._optimizer
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = other._rng.bit_generator.state
        self.loss_history = list(other.loss_history)
        self.validation_history = list(other.validation_history)

    def _file_extras(self) -> dict[str, Any]:
        state = self._state_to_json()
        for key, _, _ in OPTIMIZER_OF[state["optimizer"]].state if state["optimizer"] else ():
            if not all(map(math.isfinite, state[key])):
                raise ValueError(f"the optimizer's {key} holds inf or NaN")
        return {"optimizer": state}

    def _load_extras(self, document: dict[str, Any]) -> None:
        if "optimizer" in document:        # version 1 files have none
            self._set_state(document["optimizer"])

    def _set_state(self, state: Any) -> None:
        """The optimizer's state from ``_state_to_json``'s form; ValueError naming what is wrong."""
        if not isinstance(state, dict):
            raise ValueError("the optimizer's state must be a JSON object")
        name = state.get("optimizer")
        if name is not None and name not in OPTIMIZER_OF:
            raise ValueError(f"unknown optimizer {name!r} in the optimizer's state")
        t = state.get("t", 0)
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= 2**63 - 1:
            raise ValueError(f"the optimizer's step count t must be a count below 2**63, got {t!r}")
        moments = np.zeros_like(self._moments)
        for row, (key, _, least) in enumerate(OPTIMIZER_OF[name].state if name is not None else ()):
            if key not in state:
                raise ValueError(f"the optimizer's state lacks \"{key}\"")
            array = as_real_array(state[key], key)
            if array.shape != (self._params.size,):
                raise ValueError(f"the optimizer's {key} must be {self._params.size} numbers, "
                                 f"got shape {array.shape}")
            array = in_dtype(array, self._dtype, key, check_finite(array, key))
            if least is not None and (array < least).any():      # Adam's v (means of squares), ...
                raise ValueError(f"the optimizer's {key} must be >= {least:g}, got "
                                 f"{float(array[array < least][0])!r} at "
                                 f"{self._param_name(int(np.flatnonzero(array < least)[0]))}")
            moments[row] = array
        self._moments[:] = moments
        self._step[0] = t
        self._optimizer = name

    # --- parameters -------------------------------------------------------------------------------

    def _initialise(self, init: str) -> None:
        if init == "normal":
            self._params[:] = self._rng.standard_normal(self._params.size)
            return
        if init == "auto":
            init = INITS_OF[self.activation]
        for weights in self.weights:
            fan_out, fan_in = weights.shape
            if init == "he":
                weights[:] = self._rng.normal(0.0, math.sqrt(2.0 / fan_in), weights.shape)
            else:
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                weights[:] = self._rng.uniform(-limit, limit, weights.shape)

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
        from ._tutorial import OurNeuralNetwork

        if not isinstance(net, OurNeuralNetwork):
            raise TypeError(f"from_tutorial takes an OurNeuralNetwork, not {type(net).__name__}"
                            + (" (a Network is one already: copy.deepcopy it)" if isinstance(net, Network)
                               else ""))
        new = cls((2, 2, 1), backend=backend if backend is not None else net.backend)
        w1, w2, w3, w4, w5, w6, b1, b2, b3 = net.params
        new.params = [w1, w2, w3, w4, b1, b2, w5, w6, b3]
        return new

    def to_onnx(self, path: str | os.PathLike[str] | None = None) -> Any:
        """The network's forward pass as an ONNX model, of its dtype (float64 or float32; needs
        ``pip install 'tinynet[onnx]'``).

        The graph takes ``X`` (of the network's dtype, shape (n, sizes[0])) and gives ``Y`` (likewise,
        shape (n, n_out)): :meth:`predict` as a 2-D array. Each layer is a ``Gemm`` and its activation
        (``Sigmoid``, ``Tanh``, ``Relu``, ``Softmax``). A runtime sums the products in its own order
        and uses its own ``exp``: onnxruntime's outputs agree with :meth:`predict` within 1e-12 in
        float64, within a few float32 ulps in float32 (tested), not bit for bit.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the model there.

        Returns
        -------
        onnx.ModelProto

        Raises
        ------
        ImportError
            If the onnx package is not installed.
        """
        from ._onnx import network_to_onnx

        with self._lock:
            return network_to_onnx(self, path)

    # --- input ----------------------------------------------------------------------------------

    def _features(self, data: ArrayLike, allow_empty: bool = False, name: str = "X") -> NDArray[np.float64]:
        return as_features(data, name, allow_empty=allow_empty, columns=self.sizes[0], dtype=self._dtype)

    def _targets(self, targets: ArrayLike, n: int, name: str = "Y",
                 data_name: str = "X") -> NDArray[np.float64]:
        """Y as a C-contiguous (n, n_out) array of the network's dtype, checked; class labels become
        one-hot rows.

        ``name`` and ``data_name`` name the targets and the samples in messages."""
        n_out = self.sizes[-1]
        array = as_real_array(targets, name)
        if array.shape[:1] != (n,):
            raise ValueError(f"{name} has {array.shape[0] if array.ndim else 0} rows but {data_name} has "
                             f"{n} samples: they must match")
        raw = np.asarray(targets)
        if self.output == "softmax" and array.ndim == 1 and raw.dtype.kind in "iu":
            if raw.size and (raw.min() < 0 or raw.max() >= n_out):
                raise ValueError(f"{name}'s class labels must be in 0..{n_out - 1}, "
                                 f"got {raw.min()}..{raw.max()}")
            return np.eye(n_out, dtype=self._dtype)[raw]      # one-hot rows: nothing more to check
        if array.ndim == 1 and n_out == 1:
            array = array.reshape(n, 1)
        if array.shape != (n, n_out):
            hint = " (integer class labels work with a softmax output)" if array.ndim == 1 else ""
            raise ValueError(f"{name} must have shape ({n}, {n_out}) for {n_out} outputs, "
                             f"got {array.shape}{hint}")
        extremes = check_finite(array, name)
        if self.loss_name == "cross_entropy" and array.size:
            # (finite, checked above: the extremes and the rows' distance from 1 say it all)
            extremes = extremes or (float(array.min()), float(array.max()))
            if extremes[0] < 0 or extremes[1] > 1:
                raise ValueError(f"{name} must be between 0 and 1 for the cross-entropy loss")
            # (each row summed left to right: a third of the time of numpy's pairwise sum along rows)
            if self.output == "softmax" and not (np.abs(np.einsum("ij->i", array) - 1.0) <= 1e-9).all():
                raise ValueError(f"{name}'s rows must sum to 1 (class probabilities) for softmax "
                                 "cross-entropy")
        return contiguous_writeable(in_dtype(array, self._dtype, name, extremes))

    # --- evaluation -----------------------------------------------------------------------------

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The network's outputs for many samples at once, computed in the kernel.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
            n samples; n may be 0.

        Returns
        -------
        ndarray of the network's dtype, shape (n, n_out), or (n,) when the network has one output
        (n_out = sizes[-1])

        Raises
        ------
        TypeError, ValueError
            If ``X`` is not an (n, sizes[0]) array of finite real numbers.
        """
        data = self._features(X, allow_empty=True)
        out = np.empty((data.shape[0], self.sizes[-1]), self._dtype)
        if data.shape[0]:
            hidden, output, _ = self._kernel_codes
            scratch = net_forward_scratch(self.sizes, data.shape[0], self._dtype)
            with self._lock:
                self._kernels.net_feedforward(self._params, self._sizes, hidden, output, data, out, *scratch)
        return out[:, 0] if self.sizes[-1] == 1 else out

    def loss(self, X: ArrayLike, Y: ArrayLike) -> float:
        """The network's mean loss over the samples (summed in numpy's pairwise order).

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, n_out) or (n,)
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
            return self._loss_at(self._params, data, targets)

    def gradients(self, X: ArrayLike, Y: ArrayLike,
                  alpha: float = 0.0) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
        """The mean gradient of the loss over the samples, from the training kernels.

        For the weights, (sum over the samples of each one's gradient + alpha * W) / n; for the
        biases, the sum / n: the gradient a batch of all n rows trains on (see :meth:`train`).

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, n_out) or (n,)
            As for :meth:`train`.
        alpha : float
            L2 penalty on the weights, >= 0.

        Returns
        -------
        (weights, biases) : two lists of ndarray
            Shaped like :attr:`weights` and :attr:`biases`.

        Raises
        ------
        TypeError, ValueError
            As for :meth:`train`.
        """
        data = self._features(X)
        targets = self._targets(Y, data.shape[0])
        return self._layer_views(self._gradient(data, targets, as_nonnegative(alpha, "alpha"), self._params))

    def loss_and_gradient(self, X: ArrayLike, Y: ArrayLike, alpha: float = 0.0,
                          params: ArrayLike | None = None) -> tuple[float, NDArray[np.float64]]:
        """The full-batch objective and its gradient in one call, for optimizers such as L-BFGS.

        The objective is the mean loss plus ``alpha / (2 n)`` times the sum of the squared weights (the
        biases are not penalised); its gradient, flat in the layout of :attr:`params`, is that of
        :meth:`gradients`. Evaluated at ``params`` when given (the network is not changed), else at
        the network's parameters. For example, with scipy::

            result = scipy.optimize.minimize(net.loss_and_gradient, net.params, args=(X, Y, 1e-4),
                                             jac=True, method="L-BFGS-B")

        takes the arguments in another order; write
        ``lambda p: net.loss_and_gradient(X, Y, 1e-4, p)`` and then ``net.params = result.x``.

        Returns
        -------
        (float, ndarray of float64)

        Raises
        ------
        TypeError, ValueError
            As for :meth:`train`, or if ``params`` is not ``len(net.params)`` finite numbers.
        """
        data = self._features(X)
        targets = self._targets(Y, data.shape[0])
        alpha = as_nonnegative(alpha, "alpha")
        point = self._params if params is None else contiguous_writeable(self._check_params(params))
        return self._loss_and_gradient(data, targets, alpha, point)

    def _loss_and_gradient(self, data: NDArray[np.float64], targets: NDArray[np.float64], alpha: float,
                           point: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        """:meth:`loss_and_gradient` of checked arrays."""
        with self._lock:
            loss = self._loss_at(point, data, targets)
        if alpha:
            squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in self._layer_views(point)[0])
            loss += alpha * squares / (2 * data.shape[0])
        return loss, self._gradient(data, targets, alpha, point)

    def _gradient(self, data: NDArray[np.float64], targets: NDArray[np.float64], alpha: float,
                  point: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty(self._params.size, self._dtype)
        scratch = net_room(self.sizes, self._dtype)
        with self._lock:
            self._kernels.net_gradient(point, self._sizes, *self._kernel_codes, data, targets,
                                       self._no_weights,
                                       kernel_options(alpha=alpha), out, *scratch)
        return out

    def _layer_views(self, flat: NDArray[np.float64]) -> tuple[list[NDArray[np.float64]],
                                                                  list[NDArray[np.float64]]]:
        """Each layer's weights (sizes[i + 1], sizes[i]) and biases as views into a flat array laid out
        as the parameters."""
        weights, biases, at = [], [], 0
        for n_in, n_out in itertools.pairwise(self.sizes):
            weights.append(flat[at:at + n_out * n_in].reshape(n_out, n_in))
            biases.append(flat[at + n_out * n_in:at + n_out * n_in + n_out])
            at += n_out * n_in + n_out
        return weights, biases

    # --- training -------------------------------------------------------------------------------

    def train(self, X: ArrayLike, Y: ArrayLike, learn_rate: float = 0.1, epochs: int = 100,
              shuffle: bool = False, momentum: float = 0.0, verbose: bool = False,
              loss_every: int | None = 10, progress: bool = False, *, batch_size: int | None = None,
              optimizer: str = "sgd", nesterov: bool = False, alpha: float = 0.0, beta_1: float = 0.9,
              beta_2: float = 0.999, epsilon: float = 1e-8,
              validation: tuple[ArrayLike, ArrayLike] | None = None, patience: int | None = None,
              tol: float = 1e-4, restore_best: bool = False,
              schedule: str = "constant", power_t: float = 0.5) -> TrainingRecord:
        """Train by stochastic gradient descent or Adam, one sample or one mini-batch at a time, or by
        iRPROP-, one epoch at a time.

        With the defaults (``batch_size=1``, plain SGD, no L2) this is the tutorial's per-sample SGD,
        bit for bit. The options follow scikit-learn's MLP: for each batch of B rows, every row's
        gradient is computed with the weights from before the batch and summed in row order; then
        g = (sum + alpha * W) / B for the weights and sum / B for the biases, and

        * SGD: ``v = momentum * v - learn_rate * g``, the step ``v`` (Nesterov:
          ``momentum * v - learn_rate * g``), ``param += step``; with momentum 0 simply
          ``param -= learn_rate * g``;
        * Adam: ``t += 1``, ``m = beta_1 * m + (1 - beta_1) * g``,
          ``v = beta_2 * v + (1 - beta_2) * g * g``,
          ``lr_t = learn_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``,
          ``param += -lr_t * m / (sqrt(v) + epsilon)``;
        * iRPROP- (Igel and Huesken's, with FANN's constants; a full-batch method: one step per epoch,
          from the gradient of all the samples, and no ``learn_rate``): each parameter has its own step
          size ``delta`` (from 0.1), times 1.2 (at most 50) while its gradient keeps its sign, times 0.5
          when the sign flips (and then no step, and the gradient is remembered as 0);
          ``param -= sign(g) * delta``.

        With ``batch_size=1``, SGD and no L2 or Nesterov, the learning rate is folded into the error
        before it is propagated back, as the tutorial folds it (the same values up to rounding).

        The optimizer's state (velocities; Adam's m, v and t; iRPROP-'s last gradients and step
        sizes) persists from one call to the next,
        so that two calls train as one call of their epochs together (without shuffling), and it is
        saved, loaded and pickled with the network; :meth:`reset_optimizer` clears it. Training with
        another optimizer than the one whose state the network holds is refused: reset it first.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        Y : array_like, shape (n, n_out) or (n,)
            The targets; (n,) when n_out == 1, or integer class labels 0..n_out-1 with a softmax
            output.
        learn_rate : float
        epochs : int
        shuffle : bool
            Visit the samples in a new random order every epoch, drawn from the network's seeded
            generator in Python, so that every backend sees the same order.
        momentum : float
            SGD's momentum, 0 <= momentum < 1.
        verbose : bool
            Print ``Epoch N loss: L`` lines as ``OurNeuralNetwork.train`` does.
        loss_every : int or None
            Record the mean loss after every epoch that is a multiple of this (0 or None: never).
        progress : bool
            A progress bar on stderr, where it is a terminal (needs tqdm).
        batch_size : int or None, keyword-only
            Rows per update, >= 1; the last batch of an epoch may be shorter. None: 1, or for iRPROP-
            all of them (the only batch size it takes).
        optimizer : {"sgd", "adam", "irprop"}, keyword-only
        nesterov : bool, keyword-only
            Nesterov's momentum (SGD).
        alpha : float, keyword-only
            L2 penalty on the weights (not the biases), >= 0.
        beta_1, beta_2 : float, keyword-only
            Adam's decay rates, in [0, 1).
        epsilon : float, keyword-only
            Adam's epsilon, > 0.
        validation : (X_val, Y_val) or None, keyword-only
            A validation set (shaped as ``X`` and ``Y``): its mean loss is computed after every epoch
            and recorded in :attr:`validation_history` as ``(epoch, loss)`` pairs; it is the loss that
            ``patience``, ``restore_best`` and the ``adaptive`` schedule watch. Without one they watch
            the mean training loss, computed after every epoch (the same as ``loss_history``'s).
        patience : int or None, keyword-only
            Stop after this many epochs in a row in which the watched loss did not improve on its best
            by more than ``tol``. None: never stop early. (With ``schedule="adaptive"``, the epochs
            after which the rate is divided by 5 instead, 10 when None.)
        tol : float, keyword-only
            The least improvement that counts, >= 0.
        restore_best : bool, keyword-only
            At the end, bring back the parameters of the epoch with the lowest watched loss (the
            optimizer's state stays that of the last epoch, as in scikit-learn).
        schedule : {"constant", "invscaling", "adaptive", "cosine"}, keyword-only
            The learning rate of each epoch ``e`` (from 0, in this call) of ``epochs`` over ``n``
            samples: ``learn_rate``; ``learn_rate / (e * n + 1) ** power_t`` (scikit-learn's
            invscaling within one fit); ``learn_rate``, divided by 5 whenever the watched loss has not
            improved for ``patience`` epochs, stopping once it is at most 1e-6 (scikit-learn's
            adaptive); ``learn_rate * (1 + cos(pi * e / epochs)) / 2``. For every optimizer (Adam
            included, unlike scikit-learn).
        power_t : float, keyword-only
            invscaling's exponent, >= 0.

        Returns
        -------
        TrainingRecord
            The epochs run, why the run stopped (``"completed"``, ``"patience"`` or
            ``"learning_rate"``), the best watched loss and its epoch (None when nothing was watched),
            and the last epoch's learning rate.

        Raises
        ------
        TypeError, ValueError
            For input of the wrong kind, shape or value, naming the argument, or an optimizer other
            than the one whose state the network holds; nothing is changed.

        Warns
        -----
        RuntimeWarning
            Once, if the parameters become inf or NaN, naming the epoch.

        Notes
        -----
        With a validation set, a schedule other than ``constant``, ``patience`` or ``restore_best``, the
        kernel runs one epoch at a time (the same arithmetic: the bits do not depend on it).
        """
        verbose, progress = as_flag(verbose, "verbose"), as_flag(progress, "progress")
        data = self._features(X)
        plan = self._plan(data, self._targets(Y, data.shape[0]), self._validation(validation),
                          learn_rate=learn_rate, epochs=epochs, loss_every=loss_every, shuffle=shuffle,
                          momentum=momentum, batch_size=batch_size, optimizer=optimizer, nesterov=nesterov,
                          alpha=alpha, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, patience=patience,
                          tol=tol, restore_best=restore_best, schedule=schedule, power_t=power_t)
        # Everything below reads or changes the network's state: under its lock (re-entrant: the
        # run takes it again), so that a concurrent train, reset_optimizer or params assignment
        # waits rather than interleaving with this call's checks.
        with self._lock:
            self._check_optimizer(plan)
            return self._train_locked(plan, verbose, progress)[0]

    def _validation(self, validation: Any) -> tuple[NDArray[Any], NDArray[Any]] | None:
        """``train``'s validation set, checked: (features, targets) as the kernels take them, or None."""
        if validation is None:
            return None
        if not isinstance(validation, (tuple, list)):
            raise TypeError(f"validation must be a pair (X_val, Y_val) or None, not "
                            f"{type(validation).__name__}")
        if len(validation) != 2:
            raise ValueError(f"validation must be a pair (X_val, Y_val), got {len(validation)} items")
        data = self._features(validation[0], name="validation X")
        return data, self._targets(validation[1], data.shape[0], name="validation Y",
                                   data_name="validation X")

    def _plan(self, data: NDArray[Any], targets: NDArray[Any],
              validation: tuple[NDArray[Any], NDArray[Any]] | None, **options: Any) -> _Plan:
        """``train``'s options checked against this network (TypeError or ValueError naming the one
        refused), with its checked arrays: a plan that :meth:`_train_locked` runs. ``train_many``
        makes one per network, so that every check happens before any network trains."""
        learn_rate, epochs, loss_every = as_schedule(options["learn_rate"], options["epochs"],
                                                     options["loss_every"])
        shuffle = as_flag(options["shuffle"], "shuffle")
        optimizer = _optimizer_options(options["optimizer"], options["momentum"], options["nesterov"],
                                       options["alpha"], options["beta_1"], options["beta_2"],
                                       options["epsilon"])
        watch = check_watch_options(options["schedule"], options["power_t"], options["patience"],
                                    options["tol"], options["restore_best"])
        name = optimizer["optimizer"]
        n = data.shape[0]
        row = OPTIMIZER_OF[name]
        batch_size = options["batch_size"]
        if batch_size is None:
            batch_size = n if row.full_batch else 1
        batch_size = as_count(batch_size, "batch_size", minimum=1)
        if row.full_batch and batch_size < n:
            raise ValueError(f"{row.label} steps on the gradient of all the samples: leave batch_size "
                             f"unset (or give {n}), got {batch_size}")
        return _Plan(data, targets, validation, learn_rate, epochs, loss_every, shuffle, batch_size,
                     optimizer, watch)

    def _check_optimizer(self, plan: _Plan) -> None:
        """Refuse to train with another optimizer than the one whose state the network holds (every
        step but plain SGD's keeps state); hold the lock."""
        name = plan.optimizer["optimizer"]
        # (the state held first: it is None or the plan's optimizer for most networks, and train_many
        # checks every network of a sweep, while plan.stateful works out the step's code)
        if self._optimizer not in (None, name) and plan.stateful:
            held = OPTIMIZER_OF[self._optimizer]
            names = ", ".join(key for key, _, _ in held.state)
            raise ValueError(f"this network holds {held.label}'s optimizer state ({names} and t); "
                             f"training it with optimizer={name!r} needs net.reset_optimizer() first")

    def _loss_at(self, point: NDArray[Any], data: NDArray[Any], targets: NDArray[Any]) -> float:
        """The mean loss of checked arrays at the parameters ``point``; hold the lock."""
        scratch = net_forward_scratch(self.sizes, data.shape[0], self._dtype)
        return float(self._kernels.net_loss(point, self._sizes, *self._kernel_codes, data, targets, *scratch))

    def _train_locked(self, plan: _Plan, verbose: bool, progress: bool,
                      stop: threading.Event | None = None,
                      warn: bool = True) -> tuple[TrainingRecord, Outcome]:
        """Run a plan of ``train``'s, holding the lock. Nothing changes until the run starts
        (``begin``): a refusal on the way (``progress`` without tqdm) leaves the network as it was, its
        generator and optimizer state included. ``stop`` and ``warn`` are train_many's (see
        ``Model._run_training``). Returns the run's record and its outcome."""
        data, targets, learn_rate, epochs, n = plan.data, plan.targets, plan.learn_rate, plan.epochs, \
            plan.data.shape[0]
        options = plan.optimizer
        name = options["optimizer"]
        history: list[tuple[int, float]] = []
        monitor = None
        if plan.watches_loss:
            watched = plan.validation if plan.validation is not None else (data, targets)
            monitor = functools.partial(self._loss_at, data=watched[0], targets=watched[1])
        watch = Watch(learn_rate, epochs, n, plan.watch, monitor, history)
        # Shuffling: each epoch's order comes from a generator seeded by (a number drawn once per
        # call from the network's generator, the epoch), so it does not depend on how the epochs
        # are split into kernel calls.
        base = 0

        def begin() -> None:
            nonlocal base
            if plan.shuffle:
                base = int(self._rng.integers(2**63))
            if plan.stateful:
                if self._optimizer is None:         # a fresh state: the optimizer's initial values
                    for index, (_, initial, _) in enumerate(OPTIMIZER_OF[name].state):
                        self._moments[index] = initial
                self._optimizer = name
            self.validation_history = history if plan.validation is not None else []

        def orders(start, stop):
            if not plan.shuffle:
                return np.empty((0, 0), dtype=np.int64)
            return np.array([np.random.default_rng([base, epoch]).permutation(n)
                             for epoch in range(start, stop)], dtype=np.int64)

        if (plan.per_sample and options["momentum"] == 0.0 and not plan.shuffle and not plan.stepwise
                and self._is_tutorial_network()):
            # The tutorial's own network and method: its specialised kernel, the same operations.
            outcome = self._train_as_tutorial(data, targets, learn_rate, epochs, plan.loss_every, verbose,
                                              progress, begin, stop, warn)
            return watch.finish(self._params, outcome), outcome
        scratch = net_room(self.sizes, self._dtype, 0 if plan.per_sample else BATCH_ROWS)
        if plan.per_sample:
            def train_chunk(state, start, stop, every, losses):
                params, moments, _ = state
                record = kernel_options(learn_rate=watch.rate_of(start), momentum=options["momentum"])
                self._kernels.net_train(params[0], self._sizes, *self._kernel_codes, data, targets,
                                        orders(start, stop), record, moments[0], start, stop, every, losses,
                                        *scratch)
        else:
            batches = -(-n // plan.batch_size)

            def train_chunk(state, start, stop, every, losses):
                params, moments, step = state
                rate = watch.rate_of(start)
                record = kernel_options(batch_size=plan.batch_size, learn_rate=rate, **options)
                first = int(step[0]) + 1
                lr_t = (adam_step_sizes(rate, options["beta_1"], options["beta_2"], first,
                                        (stop - start) * batches) if name == "adam" else _EMPTY)
                self._kernels.net_train_batch(
                    params[0], self._sizes, *self._kernel_codes, data, targets, self._no_weights,
                    orders(start, stop), record, lr_t, moments, step, start, stop, every, losses, _EMPTY,
                    *scratch)

        # The work of an epoch, in tutorial-network steps (9 parameters each), sets the chunk size.
        outcome = self._run_training(train_chunk, (self._params.reshape(1, -1), self._moments, self._step),
                                     epochs, plan.loss_every, n * max(1, self._params.size // 9), learn_rate,
                                     verbose, progress, stacklevel=3, begin=begin,
                                     after_epoch=functools.partial(watch, params=self._params)
                                     if plan.stepwise else None, stop=stop, warn=warn)
        return watch.finish(self._params, outcome), outcome

    def _is_tutorial_network(self) -> bool:
        return self.sizes == (2, 2, 1) and (self.activation, self.output, self.loss_name) == (
            "sigmoid", "sigmoid", "mse")

    def _train_as_tutorial(self, data: NDArray[np.float64], targets: NDArray[np.float64], learn_rate: float,
                           epochs: int, loss_every: int, verbose: bool, progress: bool,
                           begin: Callable[[], None], stop: threading.Event | None, warn: bool) -> Outcome:
        """Per-sample SGD of ``Network((2, 2, 1))`` (sigmoid, sigmoid, mse) on ``OurNeuralNetwork``'s
        kernel: the same arithmetic (``from_tutorial`` is tested to train bit for bit alike), in the
        tutorial's straight-line code rather than the general loops. Its parameters go in the
        tutorial's order (w1..w6, b1..b3) for the run and come back in this network's, all under the
        lock (held by ``train``), so that no other call's update falls between the two copies."""
        tutorial = load_backend(self._backend, "tutorial32" if self._dtype == np.float32 else "tutorial")
        labels = np.ascontiguousarray(targets[:, 0])
        order = TUTORIAL_ORDER
        with self._lock:
            params = self._params[order].reshape(1, 9)

            def train_chunk(state, start, stop, every, losses):
                tutorial.train(state[0], data, labels, learn_rate, start, stop, every, losses)

            try:
                return self._run_training(train_chunk, (params,), epochs, loss_every, data.shape[0],
                                          learn_rate, verbose, progress, stacklevel=4, begin=begin, stop=stop,
                                          warn=warn)
            finally:
                self._params[order] = params[0]

    def reset_optimizer(self) -> None:
        """Clear the optimizer's state: velocities, Adam's moments, iRPROP-'s gradients and step sizes
        (they start again from their initial values), its step count to 0."""
        with self._lock:
            self._moments[:] = 0.0
            self._step[:] = 0
            self._optimizer = None

    @property
    def optimizer_state(self) -> dict[str, Any]:
        """A copy of the optimizer's state: ``{"optimizer": None, "sgd", "adam" or "irprop", "t": int,
        ...}`` with ``"velocity"`` (SGD), ``"m"`` and ``"v"`` (Adam) or ``"gradient"`` and ``"delta"``
        (iRPROP-), each a flat array like ``params``."""
        return self._state_to_json(arrays=True)

    def _state_to_json(self, arrays: bool = False) -> dict[str, Any]:
        convert = (lambda row: row.copy()) if arrays else (lambda row: row.tolist())
        state: dict[str, Any] = {"optimizer": self._optimizer, "t": int(self._step[0])}
        if self._optimizer is not None:
            for index, (key, _, _) in enumerate(OPTIMIZER_OF[self._optimizer].state):
                state[key] = convert(self._moments[index])
        return state

    def __repr__(self) -> str:
        dtype = "" if self._dtype == np.float64 else f", dtype={self._dtype.name!r}"
        return (f"Network({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
                f"loss={self.loss_name!r}, backend={self._backend!r}{dtype})")
