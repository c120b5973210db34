"""``OurNeuralNetwork``: the tutorial's class, as a drop-in trained by compiled kernels."""

import sys
import threading

import numpy as np

from ._backend import resolve_backend
from ._training import run_training, warn_divergence
from ._validation import as_count, as_features, as_labels, as_params, as_real, as_sample

__all__ = ["OurNeuralNetwork", "PARAM_NAMES"]

#: The nine parameters, in the order of the reference's ``__init__`` and of the parameter array.
PARAM_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")

def _param_property(index, name):
    def fget(self):
        return float(self._params[index])

    def fset(self, value):
        value = as_real(value, name)
        with self._lock:
            self._params[index] = value

    return property(fget, fset, doc=f"Parameter {name} (a float), element {index} of ``params``.")


def _print_loss_lines(recorded, more_follow):
    """The reference's lines, written at once for a chunk of epochs (and shown now if more follow)."""
    sys.stdout.write("".join(["Epoch %d loss: %.3f\n" % pair for pair in recorded]))
    if more_follow:
        sys.stdout.flush()


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

    def __init__(self, backend=None):
        self._backend, self._kernels = resolve_backend(backend)
        # One np.random.normal() call each, in the reference's order.
        self._params = np.array([np.random.normal() for _ in PARAM_NAMES], dtype=np.float64)
        self._lock = threading.Lock()
        self.loss_history = []

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
    def backend(self):
        """The name of the backend in use: ``"cython"``, ``"numba"`` or ``"python"``."""
        return self._backend

    @property
    def params(self):
        """A copy of the nine parameters as a float64 array, in the order w1..w6, b1..b3."""
        return self._params.copy()

    @params.setter
    def params(self, values):
        array = as_params(values)
        with self._lock:
            self._params[:] = array

    def feedforward(self, x):
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

    def predict(self, data):
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

    def loss(self, data, all_y_trues):
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

    def train(self, data, all_y_trues, learn_rate=0.1, epochs=1000, verbose=True, loss_every=10):
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
        Nothing is changed when an argument is refused. If interrupted (Ctrl-C), the parameters are
        those at the end of a whole sample step and :attr:`loss_history` holds the losses so far.
        """
        array = as_features(data)
        labels = as_labels(all_y_trues, array.shape[0])
        learn_rate = as_real(learn_rate, "learn_rate")
        epochs = as_count(epochs, "epochs")
        loss_every = 0 if loss_every is None else as_count(loss_every, "loss_every")

        self.loss_history = history = []
        with self._lock:
            diverged = run_training(self._kernels, self._params.reshape(1, 9), array, labels,
                                    learn_rate, epochs, loss_every, [history],
                                    _print_loss_lines if verbose else None)
        if diverged is not None:
            warn_divergence(diverged, learn_rate, stacklevel=2)

    def __repr__(self):
        values = ", ".join(f"{name}={value!r}" for name, value in zip(PARAM_NAMES, self._params.tolist()))
        return f"{type(self).__name__}(backend={self._backend!r}, {values})"

    def __getstate__(self):
        return {"backend": self._backend, "params": self._params.tolist(),
                "loss_history": list(self.loss_history)}

    def __setstate__(self, state):
        try:
            self._backend, self._kernels = resolve_backend(state["backend"])
        except ImportError:  # unpickled where that backend cannot load: use the best one here
            self._backend, self._kernels = resolve_backend(None)
        self._params = np.array(state["params"], dtype=np.float64)
        self._lock = threading.Lock()
        self.loss_history = list(state["loss_history"])
