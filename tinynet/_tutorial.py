"""``OurNeuralNetwork``: the tutorial's class, as a drop-in trained by compiled kernels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._model import Model
from ._validation import as_features, as_labels, as_params, as_real, as_sample, as_schedule

__all__ = ["PARAM_NAMES", "OurNeuralNetwork"]

#: The nine parameters, in the order of the reference's ``__init__`` and of the parameter array.
PARAM_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")


def _param_property(index: int, name: str) -> property:
    def fget(self: OurNeuralNetwork) -> float:
        return float(self._params[index])

    def fset(self: OurNeuralNetwork, value: float) -> None:
        value = as_real(value, name)
        with self._lock:
            self._params[index] = value

    return property(fget, fset, doc=f"Parameter {name} (a float), element {index} of ``params``.")


class OurNeuralNetwork(Model):
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

    _FAMILY = "tutorial"
    _FILE_FORMAT = "tinynet.OurNeuralNetwork"
    _FILE_VERSION = 1
    _JSON_INDENT = 2

    def __init__(self, backend: str | None = None) -> None:
        self._setup({}, backend)
        # One np.random.normal() call each, in the reference's order.
        self._params[:] = [np.random.normal() for _ in PARAM_NAMES]

    # --- what Model asks of a model family (see tinynet._model) -----------------------------------

    def _build(self, config: dict[str, Any]) -> None:
        self._params = np.zeros(len(PARAM_NAMES))

    def _config(self) -> dict[str, Any]:
        return {}

    def _check_params(self, values: ArrayLike) -> NDArray[np.float64]:
        return as_params(values)

    def _param_name(self, index: int) -> str:
        return PARAM_NAMES[index]

    def _params_to_json(self, params: list[float]) -> Any:
        return dict(zip(PARAM_NAMES, params))

    @classmethod
    def _params_from_json(cls, value: Any, config: dict[str, Any]) -> list[float]:
        if not isinstance(value, dict):
            raise ValueError(f"the field \"params\" is not an object of {', '.join(PARAM_NAMES)}")
        missing = [name for name in PARAM_NAMES if name not in value]
        if missing:
            raise ValueError(f"parameters missing: {', '.join(missing)}")
        values = []
        for name in PARAM_NAMES:
            number = value[name]
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                raise ValueError(f"parameter {name} is {number!r}, not a finite number")
            values.append(float(number))
        return values

    # --- the tutorial's interface -----------------------------------------------------------------

    w1 = _param_property(0, "w1")
    w2 = _param_property(1, "w2")
    w3 = _param_property(2, "w3")
    w4 = _param_property(3, "w4")
    w5 = _param_property(4, "w5")
    w6 = _param_property(5, "w6")
    b1 = _param_property(6, "b1")
    b2 = _param_property(7, "b2")
    b3 = _param_property(8, "b3")

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
        learn_rate, epochs, loss_every = as_schedule(learn_rate, epochs, loss_every)

        def train_chunk(state, *epochs_and_losses):
            self._kernels.train(state[0], array, labels, learn_rate, *epochs_and_losses)

        # The kernel trains n_nets networks; here n_nets = 1.
        self._run_training(train_chunk, (self._params.reshape(1, 9),), epochs, loss_every,
                           array.shape[0], learn_rate, verbose, progress)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in zip(PARAM_NAMES, self._params.tolist()))
        return f"{type(self).__name__}(backend={self._backend!r}, {values})"
