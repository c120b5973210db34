"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by tinynet's kernels.

Change one import::

    from tinynet.sklearn import MLPClassifier, MLPRegressor   # was: from sklearn.neural_network import ...

and keep everything else: the parameters and their defaults, the fitted attributes, ``partial_fit``,
``warm_start``, early stopping, sample weights, Pipelines, ``GridSearchCV``, ``clone`` and pickles. The
classes *are* scikit-learn's (subclasses: ``isinstance(model, sklearn.neural_network.MLPClassifier)``
holds), with the work of training done by tinynet's compiled kernels instead of numpy, a mini-batch at
a time. Needs scikit-learn 1.7 or later (``pip install 'tinynet[sklearn]'``).

What is scikit-learn's own code: parameter and input validation, label encoding, the initial weights
(the same numpy ``RandomState`` draws), the early-stopping split, each epoch's sample order, the
bookkeeping between epochs (``loss_curve_``, ``tol`` and ``n_iter_no_change``, the learning-rate
schedules, the validation score and the best weights), the optimizers' state (scikit-learn's own
``SGDOptimizer`` and ``AdamOptimizer`` objects), L-BFGS (scipy), and prediction.

What is tinynet's: every epoch's forward passes, losses, backward passes and optimizer steps, in one
kernel call that releases the GIL (``sgd`` and ``adam``), and L-BFGS's objective and gradient
(``lbfgs``). Their element-wise arithmetic is scikit-learn's, operation for operation; the sums of
products run in tinynet's order rather than the BLAS's, so that, in well-conditioned settings, the
weights and loss curve agree with scikit-learn's to about 1e-15 relative (tested to 1e-9 after 5
epochs). Two regimes magnify last-bit differences exponentially, in scikit-learn itself from one BLAS
to another: a high learning rate with momentum at batch size 1, and Adam with ``alpha > 0`` at small
batch sizes (the weights of dead units). There no implementation can follow scikit-learn's
trajectory, only its statistics.

float32 ``X`` trains in float32, as scikit-learn does (its ``coefs_`` stay float32), on tinynet's
float32 kernels: every operation on the network's numbers in float32. Not bit for bit with
scikit-learn's float32 fit (the BLAS sums in its own order, with FMA): within float32's rounding of it,
2e-7 to 7e-7 relative after 5 epochs on digits (tested), less than its own float32 and float64 fits
differ.

Deviations, all documented choices:

* A warm-start ``fit`` or a ``partial_fit`` whose targets have another number of columns, or whose
  ``hidden_layer_sizes`` changed, is refused with a ``ValueError`` before any training (scikit-learn
  keeps training the old network, or fails part-way).
* Where a batch's sample weights sum to zero, scikit-learn's ``ZeroDivisionError`` comes before the
  epoch rather than at that batch.
* Sparse ``X`` is accepted and densified for training (prediction keeps scikit-learn's sparse
  products): memory grows with n_samples * n_features.
* The kernels are those of the default backend (``$TINYNET_BACKEND``, else the fastest installed):
  every backend gives the same bits.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    import scipy.sparse
    import sklearn
    from sklearn.base import is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
    from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
    from sklearn.utils import shuffle
    from sklearn.utils.fixes import parse_version
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("tinynet.sklearn needs scikit-learn 1.7 or later: pip install 'tinynet[sklearn]' "
                      f"(or pip install scikit-learn); importing it failed: {error}") from error

from ._backend import resolve_backend
from ._codes import (
    EXP,
    IDENTITY,
    LOG_LOSS,
    POISSON,
    RELU,
    SIGMOID,
    SOFTMAX,
    SQUARED_ERROR,
    TANH,
    net_room,
)
from ._rules import adam_step_sizes, kernel_options

__all__ = ["MLPClassifier", "MLPRegressor"]

#: The oldest scikit-learn whose MLP this module follows (sample weights came in 1.7).
MIN_SKLEARN = (1, 7)


# (the test extra pins a newer one)
if parse_version(sklearn.__version__).release[:2] < MIN_SKLEARN:  # pragma: no cover
    raise ImportError(f"tinynet.sklearn needs scikit-learn {'.'.join(map(str, MIN_SKLEARN))} or later, "
                      f"found {sklearn.__version__}: pip install -U scikit-learn")

#: scikit-learn's hidden activations, as kernel codes.
_HIDDEN = {"identity": IDENTITY, "logistic": SIGMOID, "tanh": TANH, "relu": RELU}
#: scikit-learn's output activations (``out_activation_``) and losses (``loss``), as kernel codes.
_OUTPUT = {"identity": IDENTITY, "exp": EXP, "logistic": SIGMOID, "softmax": SOFTMAX}
_LOSSES = {"squared_error": SQUARED_ERROR, "poisson": POISSON, "log_loss": LOG_LOSS}
_EMPTY = np.empty(0)
_NO_ORDER = np.empty((0, 0), dtype=np.int64)


def _dense(values: Any, dtype: Any) -> NDArray[Any]:
    """A validated array (or sparse matrix) as the kernels take it: dense, of the network's dtype
    (float64, or float32 where scikit-learn keeps float32), C-contiguous."""
    if scipy.sparse.issparse(values):
        values = values.toarray()
    return np.ascontiguousarray(values, dtype=dtype)


class _Layout:
    """Between scikit-learn's parameters and tinynet's flat array, for one list of layer sizes.

    scikit-learn packs ``coefs_ + intercepts_`` (weights (n_in, n_out) each, input-major) into one vector,
    every weight matrix first, then every intercept vector (its ``_pack``); tinynet's flat layout is,
    layer by layer, the weights neuron-major (n_out, n_in) and then the biases. ``order`` maps one to the
    other: ``flat = packed[order]``, ``packed = flat[inverse]``.
    """

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = np.array(sizes, dtype=np.int64)
        pairs = list(itertools.pairwise(sizes))
        n_weights = sum(n_in * n_out for n_in, n_out in pairs)
        pieces, w_at, b_at = [], 0, n_weights
        for n_in, n_out in pairs:
            pieces.append(np.arange(w_at, w_at + n_in * n_out).reshape(n_in, n_out).T.ravel())
            pieces.append(np.arange(b_at, b_at + n_out))
            w_at += n_in * n_out
            b_at += n_out
        self.order = np.concatenate(pieces)
        self.inverse = np.argsort(self.order)
        self.shapes = [(n_in, n_out) for n_in, n_out in pairs] + [(n_out,) for _, n_out in pairs]

    def to_flat(self, arrays: Sequence[NDArray[Any]], dtype: Any = np.float64) -> NDArray[Any]:
        """``coefs_ + intercepts_`` (or arrays shaped like them) as one new flat array of ``dtype``."""
        packed = np.concatenate([np.asarray(a, dtype=dtype).ravel() for a in arrays])
        return np.ascontiguousarray(packed[self.order])

    def split(self, packed: NDArray[np.float64]) -> list[NDArray[np.float64]]:
        """A vector packed as scikit-learn packs it, as views shaped like ``coefs_ + intercepts_``."""
        pieces, at = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            pieces.append(packed[at:at + size].reshape(shape))
            at += size
        return pieces

    def from_flat(self, flat: NDArray[np.float64], arrays: Sequence[NDArray[Any]]) -> None:
        """Write a flat array into ``coefs_ + intercepts_`` (or arrays shaped like them), in place."""
        for array, piece in zip(arrays, self.split(flat[self.inverse])):
            array[...] = piece


class _Kernels:
    """tinynet's side of one fit: the network's description, the kernels and their scratch, in the
    dtype of the model's weights: float32 where scikit-learn keeps float32 (float32 ``X``), so that
    tinynet computes in float32 as scikit-learn does; float64 otherwise."""

    def __init__(self, model: Any, sizes: Sequence[int]) -> None:
        self.dtype = np.dtype(np.float32 if model.coefs_[0].dtype == np.float32 else np.float64)
        _, self.kernels = resolve_backend(None, "network32" if self.dtype == np.float32 else "network")
        self.layout = _Layout(sizes)
        # the output activation fixed at initialisation, the loss as the parameter says now (their
        # gradient is the output's error either way, as in scikit-learn)
        self.codes = (_HIDDEN[model.activation], _OUTPUT[model.out_activation_], _LOSSES[model.loss])
        self.scratch = net_room(list(sizes), self.dtype)
        self.no_weights = np.empty(0, self.dtype)


class _Epochs(_Kernels):
    """Stochastic training (``sgd``, ``adam``): one epoch per call of the batch kernel, on the model's
    weights and its optimizer's state (scikit-learn's ``SGDOptimizer`` or ``AdamOptimizer``), read
    from them once and written back into them after every epoch. (Without momentum the kernels keep no
    velocities: scikit-learn's, then ``-learning_rate * gradient`` of the last batch, which its
    optimizer multiplies by a momentum of 0, stay as they were.)"""

    def __init__(self, model: Any, sizes: Sequence[int], X: Any, y: Any, sample_weight: Any,
                 batch_size: int) -> None:
        super().__init__(model, sizes)
        self.model = model
        self.params = model.coefs_ + model.intercepts_
        self.data = _dense(X, self.dtype)
        self.targets = _dense(y, self.dtype)
        self.weights = self.no_weights if sample_weight is None else _dense(sample_weight, self.dtype)
        self.batch_size = int(batch_size)
        self.batches = -(-self.data.shape[0] // self.batch_size)
        optimizer = model._optimizer
        self.adam = isinstance(optimizer, AdamOptimizer)
        self.flat = self.layout.to_flat(self.params, self.dtype)
        self.moments = np.zeros((2, self.flat.size), self.dtype)
        self.step = np.zeros(1, dtype=np.int64)
        if self.adam:
            self.moments[0] = self.layout.to_flat(optimizer.ms, self.dtype)
            self.moments[1] = self.layout.to_flat(optimizer.vs, self.dtype)
            self.step[0] = optimizer.t
        else:
            self.moments[0] = self.layout.to_flat(optimizer.velocities, self.dtype)
        self.running = np.zeros(1)

    def _check_weights(self, order: NDArray[np.int64]) -> None:
        """scikit-learn's error where a batch's sample weights sum to zero (from numpy's average, as the
        batch's loss is computed), before the epoch rather than at that batch."""
        weights = self.weights if order.size == 0 else self.weights[order[0]]
        sums = np.add.reduceat(weights, np.arange(0, weights.size, self.batch_size))
        if (sums == 0.0).any():
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")

    def epoch(self, sample_idx: NDArray[np.intp] | None) -> np.float64:
        """Train one epoch, visiting the rows in ``sample_idx`` order (None: as given); returns its loss
        as scikit-learn reports it."""
        opt = self.model._optimizer
        order = _NO_ORDER if sample_idx is None else np.ascontiguousarray(sample_idx, dtype=np.int64)[None]
        if self.weights.size:
            self._check_weights(order)
        # the optimizer's own hyperparameters, fixed when scikit-learn created it
        if self.adam:
            first = int(self.step[0]) + 1
            lr_t = adam_step_sizes(opt.learning_rate_init, opt.beta_1, opt.beta_2, first, self.batches)
            options = kernel_options(optimizer="adam", batch_size=self.batch_size,
                                     learn_rate=opt.learning_rate_init, alpha=float(self.model.alpha),
                                     beta_1=opt.beta_1, beta_2=opt.beta_2, epsilon=opt.epsilon)
        else:
            lr_t = _EMPTY
            options = kernel_options(optimizer="sgd", batch_size=self.batch_size,
                                     learn_rate=float(opt.learning_rate), momentum=float(opt.momentum),
                                     nesterov=bool(opt.nesterov), alpha=float(self.model.alpha))
        self.kernels.net_train_batch(
            self.flat, self.layout.sizes, *self.codes, self.data, self.targets, self.weights, order,
            options, lr_t, self.moments, self.step, 0, 1, 0, np.zeros((1, 1)), self.running,
            *self.scratch)
        self.layout.from_flat(self.flat, self.params)
        if self.adam:
            self.layout.from_flat(self.moments[0], opt.ms)
            self.layout.from_flat(self.moments[1], opt.vs)
            opt.t = int(self.step[0])
            opt.learning_rate = lr_t[-1]
        elif opt.momentum != 0.0:
            self.layout.from_flat(self.moments[0], opt.velocities)
        return np.float64(self.running[0])


class _Objective(_Kernels):
    """L-BFGS's objective and gradient, as scikit-learn's ``_loss_grad_lbfgs`` computes them (the same
    packed vector in and out), from tinynet's full-batch kernel."""

    def __init__(self, model: Any, sizes: Sequence[int], X: Any, y: Any, sample_weight: Any) -> None:
        super().__init__(model, sizes)
        self.data = _dense(X, self.dtype)
        self.targets = _dense(y, self.dtype)
        self.weights = self.no_weights if sample_weight is None else _dense(sample_weight, self.dtype)
        self.options = kernel_options(alpha=float(model.alpha))
        self.gradient = np.empty(self.layout.order.size, self.dtype)

    def __call__(self, packed: NDArray[np.float64]) -> tuple[float, NDArray[Any]]:
        flat = np.ascontiguousarray(np.asarray(packed, dtype=self.dtype)[self.layout.order])
        loss = self.kernels.net_gradient(flat, self.layout.sizes, *self.codes, self.data, self.targets,
                                         self.weights, self.options, self.gradient, *self.scratch)
        return float(loss), self.gradient[self.layout.inverse]


def _check_layers(model: Any, layer_units: Sequence[int]) -> None:
    """Refuse, before any training, a warm-start fit or partial_fit whose data or hidden_layer_sizes do
    not fit the network it continues (scikit-learn trains on regardless, or fails later): a clear error,
    the weights untouched."""
    wanted = [tuple(pair) for pair in itertools.pairwise(layer_units)]
    held = [coef.shape for coef in model.coefs_]
    if held != wanted:
        model.n_outputs_ = held[-1][1]           # as it was: scikit-learn has just set it from y
        raise ValueError(f"this model's layers are {[n_in for n_in, _ in held] + [held[-1][1]]} (inputs, "
                         f"hidden, outputs), but this call asks for {list(layer_units)}: the targets' "
                         "columns and hidden_layer_sizes must stay those of the first fit (fit anew with "
                         "warm_start=False)")


def _check_arrays(model: Any) -> None:
    """Refuse, before any training, weights that the stochastic solvers cannot update in place: arrays
    that are not numpy arrays of floating point (hand-set integer ``coefs_``, say). scikit-learn fails on
    these at its first update, with numpy's UFuncTypeError (a TypeError); written back as they are,
    they would be truncated after every epoch."""
    for name in ("coefs_", "intercepts_"):
        for i, array in enumerate(getattr(model, name)):
            if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
                kind = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
                raise TypeError(f"{name}[{i}] is {kind}: the stochastic solvers update the weights in "
                                f"place, which needs numpy arrays of floating point (as scikit-learn's "
                                f"do); set {name}[{i}] = {name}[{i}].astype(float) or fit anew")


class _TinynetMLP:
    """What both estimators do the same way: scikit-learn's solvers' inner loops replaced by tinynet's
    kernels (everything else is scikit-learn's code, inherited)."""

    # (self: Any: the attributes are scikit-learn's estimator's, which this class is mixed into)

    def _fit_stochastic(self: Any, X, y, sample_weight, activations, deltas, coef_grads, intercept_grads,
                        layer_units, incremental):
        # scikit-learn's _fit_stochastic (1.7-1.9), step for step, with each epoch's batches in one
        # kernel call.
        _check_layers(self, layer_units)
        _check_arrays(self)
        params = self.coefs_ + self.intercepts_
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(params, self.learning_rate_init, self.learning_rate,
                                               self.momentum, self.nesterovs_momentum, self.power_t)
            elif self.solver == "adam":
                self._optimizer = AdamOptimizer(params, self.learning_rate_init, self.beta_1, self.beta_2,
                                                self.epsilon)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            # stratified for binary classification only, as scikit-learn does
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X, y, random_state=self._random_state, test_size=self.validation_fraction,
                    stratify=stratify)
                sample_weight_train = sample_weight_val = None
            else:
                (X_train, X_val, y_train, y_val, sample_weight_train,
                 sample_weight_val) = train_test_split(
                    X, y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the "
                                 "size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be "  # noqa: B028
                              "clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        epochs = _Epochs(self, layer_units, X_train, y_train, sample_weight_train, batch_size)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    # the permutations compose, as scikit-learn's do
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                loss = epochs.epoch(sample_idx if self.shuffle else None)
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(early_stopping, X_val, y_val, sample_weight_val)
                self._optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = ("Validation score did not improve more than tol=%f for %d consecutive "
                               "epochs." % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    if self._optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    # scikit-learn's warnings, as it raises them
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "  # noqa: B028
                                  "optimization hasn't converged yet." % self.max_iter, ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")  # noqa: B028

        if early_stopping:
            # the best weights, as scikit-learn restores them (the lists themselves)
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    def _fit_lbfgs(self: Any, X, y, sample_weight, activations, deltas, coef_grads, intercept_grads,
                   layer_units):
        # scikit-learn's own L-BFGS driver (scipy), with tinynet's objective behind _loss_grad_lbfgs
        _check_layers(self, layer_units)
        self._tinynet_objective = _Objective(self, layer_units, X, y, sample_weight)
        try:
            super()._fit_lbfgs(X, y, sample_weight, activations, deltas, coef_grads,  # type: ignore[misc]
                               intercept_grads, layer_units)
        finally:
            del self._tinynet_objective

    def _loss_grad_lbfgs(self: Any, packed_coef_inter, X, y, sample_weight, activations, deltas, coef_grads,
                         intercept_grads):
        # scikit-learn's private hook: during a fit, L-BFGS's objective over the fit's data (_fit_lbfgs);
        # called outside one (scikit-learn's own tests do, after a fit), from its arguments, with
        # scikit-learn's side effects: the model's coefs_ and intercepts_ become the packed vector's,
        # coef_grads and intercept_grads the gradient's (activations and deltas are left as given)
        objective = getattr(self, "_tinynet_objective", None)
        if objective is not None:
            return objective(packed_coef_inter)
        self._unpack(packed_coef_inter)
        y = np.asarray(y)
        layer_units = [self.coefs_[0].shape[0]] + [coef.shape[1] for coef in self.coefs_]
        objective = _Objective(self, layer_units, X, y.reshape(-1, 1) if y.ndim == 1 else y, sample_weight)
        loss, grad = objective(packed_coef_inter)
        pieces = objective.layout.split(grad)
        n_layers = len(self.coefs_)
        coef_grads[:n_layers], intercept_grads[:n_layers] = pieces[:n_layers], pieces[n_layers:]
        return loss, grad

    def to_onnx(self: Any, path: str | os.PathLike[str] | None = None) -> Any:
        """The fitted model's prediction as an ONNX model, float64 (needs ``pip install 'tinynet[onnx]'``).

        The graph takes ``X`` (float64, shape (n, n_features_in_)). A regressor's gives ``variable``,
        :meth:`predict`'s values (shape (n,) for one output, else (n, n_outputs_)). A classifier's gives
        ``label`` (:meth:`predict`: ``classes_``'s labels, or for multilabel a (n, n_classes) int64
        indicator matrix) and ``probabilities`` (:meth:`predict_proba`). Each layer is a ``Gemm`` and
        its activation. onnxruntime's values agree with the model's within 1e-12 (tested).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the model there.

        Returns
        -------
        onnx.ModelProto

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the model is not fitted.
        ImportError
            If the onnx package is not installed.
        """
        from sklearn.utils.validation import check_is_fitted

        from ._onnx import estimator_to_onnx

        check_is_fitted(self)
        return estimator_to_onnx(self, path)


_NOTE = """

    tinynet's: the same class as scikit-learn's (a subclass), trained by tinynet's kernels; see
    :mod:`tinynet.sklearn` for what that changes (nothing but speed, in float64; float32 within its
    rounding), and scikit-learn's
    documentation of ``sklearn.neural_network.{name}`` for the parameters, attributes and methods, which
    are scikit-learn's. Adds :meth:`to_onnx`.
"""


class MLPClassifier(_TinynetMLP, _SkMLPClassifier):
    __doc__ = ("Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, trained by tinynet's "
               "kernels." + _NOTE.format(name="MLPClassifier"))


class MLPRegressor(_TinynetMLP, _SkMLPRegressor):
    __doc__ = ("Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor``, trained by tinynet's "
               "kernels." + _NOTE.format(name="MLPRegressor"))
