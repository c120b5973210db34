"""tinynet.sklearn against scikit-learn itself: the same model for the same random_state.

Each test fits scikit-learn's estimator and tinynet's with the same parameters and compares what they
learned: ``coefs_`` and ``intercepts_`` within 1e-9 of the largest weight (normwise), ``loss_curve_``
within 1e-9 relative, and the bookkeeping (``n_iter_``, ``t_``, ``best_loss_``, the validation scores)
exactly or to the same tolerance. Matrix products cannot match scikit-learn's BLAS bit for bit; in
these well-conditioned settings the differences are about 1e-15. The settings avoid the two regimes in
which last-bit differences grow exponentially (in scikit-learn itself, from one BLAS to another): a
high learning rate with momentum at batch size 1, and Adam with alpha > 0 at tiny batch sizes.
"""

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from tinynet import sklearn as tn  # noqa: E402

RTOL = 1e-9

# The fits are deliberately short: 5 epochs without converging.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(200, 6, noise=0.1, random_state=0)
    return X, (y - y.mean()) / y.std()


def fit_both(kind, X, y, calls=("fit",), sample_weight=None, **params):
    """scikit-learn's and tinynet's estimator of one kind, each through the same calls."""
    models = []
    for module in (sk, tn):
        model = getattr(module, kind)(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for call in calls:
                if call == "fit":
                    model.fit(X, y, sample_weight=sample_weight)
                else:
                    call(model)
        models.append(model)
    return models


def normwise(ours, theirs):
    """max |difference| / max |value| over a list of arrays."""
    scale = max(np.max(np.abs(a)) for a in theirs)
    return max(np.max(np.abs(np.asarray(a) - b)) for a, b in zip(theirs, ours)) / scale


def assert_same_model(theirs, ours):
    assert type(ours).__mro__[1:].count(type(theirs)) == 1       # ours subclasses theirs
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [c.dtype for c in ours.coefs_] == [c.dtype for c in theirs.coefs_]
    assert normwise(ours.coefs_, theirs.coefs_) <= RTOL
    assert normwise(ours.intercepts_, theirs.intercepts_) <= RTOL
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_
    if theirs.solver == "lbfgs":
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=RTOL)
        return
    assert ours.t_ == theirs.t_
    assert len(ours.loss_curve_) == len(theirs.loss_curve_)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL, atol=0)
    assert np.array_equal([ours.loss_], ours.loss_curve_[-1:], equal_nan=True)
    if theirs.best_loss_ is None:
        assert ours.best_loss_ is None
    else:
        assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=RTOL)
    if theirs.validation_scores_ is None:
        assert ours.validation_scores_ is None
    else:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=RTOL)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=RTOL)
    assert ours._no_improvement_count == theirs._no_improvement_count


FIVE = dict(max_iter=5, tol=0.0, n_iter_no_change=1000, random_state=0)

CLASSIFIER_CASES = {
    "sgd-momentum-batch1": dict(solver="sgd", batch_size=1, learning_rate_init=1e-3,
                                nesterovs_momentum=False),
    "sgd-nesterov-batch1": dict(solver="sgd", batch_size=1, learning_rate_init=1e-3),
    "sgd-nesterov-batch32-alpha": dict(solver="sgd", batch_size=32, learning_rate_init=0.05, alpha=1e-2),
    "sgd-plain-auto": dict(solver="sgd", momentum=0.0, learning_rate_init=0.1),
    "sgd-invscaling-tanh": dict(solver="sgd", batch_size=16, learning_rate="invscaling",
                                learning_rate_init=0.05, power_t=0.3, activation="tanh"),
    "adam-batch1": dict(solver="adam", batch_size=1, alpha=0.0),
    "adam-batch32-alpha": dict(solver="adam", batch_size=32, alpha=1e-2),
    "adam-auto": dict(solver="adam"),
    "adam-logistic-two-layers": dict(solver="adam", activation="logistic", hidden_layer_sizes=(12, 7),
                                     batch_size=50),
    "adam-identity-no-shuffle": dict(solver="adam", activation="identity", shuffle=False, batch_size=64),
    "no-hidden-layer": dict(solver="sgd", hidden_layer_sizes=(), batch_size=20, learning_rate_init=0.05),
}


@pytest.mark.parametrize("case", CLASSIFIER_CASES)
def test_multiclass_classifier_is_scikit_learns_model(case, digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(24,), **FIVE)
    params.update(CLASSIFIER_CASES[case])
    theirs, ours = fit_both("MLPClassifier", X, y, **params)
    assert_same_model(theirs, ours)
    assert np.array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_binary_classifier_with_string_labels(digits):
    X, y = digits
    labels = np.where(y > 4, "big", "small")
    theirs, ours = fit_both("MLPClassifier", X, labels, hidden_layer_sizes=(10,), batch_size=16, **FIVE)
    assert_same_model(theirs, ours)
    assert ours.out_activation_ == "logistic" and list(ours.classes_) == ["big", "small"]
    assert np.array_equal(ours.predict(X), theirs.predict(X))


def test_multilabel_classifier(digits):
    X, y = digits
    Y = np.column_stack([y > 4, y % 2 == 0, y < 2]).astype(int)
    theirs, ours = fit_both("MLPClassifier", X, Y, hidden_layer_sizes=(16,), solver="sgd",
                            learning_rate_init=0.05, **FIVE)
    assert_same_model(theirs, ours)
    assert ours.predict(X).shape == Y.shape


REGRESSOR_CASES = {
    "sgd-nesterov-batch1": dict(solver="sgd", batch_size=1, learning_rate_init=1e-3),
    "sgd-momentum-batch32-alpha": dict(solver="sgd", batch_size=32, nesterovs_momentum=False, alpha=1e-2,
                                       learning_rate_init=0.01),
    "adam-batch1": dict(solver="adam", batch_size=1, alpha=0.0),
    "adam-auto": dict(solver="adam", learning_rate_init=0.01),
    "adam-tanh-batch7": dict(solver="adam", activation="tanh", batch_size=7),
}


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("case", REGRESSOR_CASES)
def test_regressor_is_scikit_learns_model(case, outputs, regression):
    X, y = regression
    if outputs == 2:
        y = np.column_stack([y, np.sin(y)])
    params = dict(hidden_layer_sizes=(16, 8), **FIVE)
    params.update(REGRESSOR_CASES[case])
    theirs, ours = fit_both("MLPRegressor", X, y, **params)
    assert_same_model(theirs, ours)
    assert ours.predict(X).shape == y.shape
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-12)


def test_poisson_regressor(regression):
    X, y = regression
    theirs, ours = fit_both("MLPRegressor", X, np.exp(y / 2), loss="poisson", hidden_layer_sizes=(12,),
                            batch_size=10, **FIVE)
    assert_same_model(theirs, ours)
    assert ours.out_activation_ == "exp"


def test_sample_weights(digits, regression):
    X, y = digits
    weights = np.random.default_rng(0).uniform(0.1, 3.0, size=len(y))
    for params in (dict(solver="sgd", batch_size=1, learning_rate_init=1e-3),
                   dict(solver="adam", batch_size=32)):
        theirs, ours = fit_both("MLPClassifier", X, y, sample_weight=weights, hidden_layer_sizes=(16,),
                                **params, **FIVE)
        assert_same_model(theirs, ours)
        unweighted = tn.MLPClassifier(hidden_layer_sizes=(16,), **params, **FIVE).fit(X, y)
        assert normwise(unweighted.coefs_, ours.coefs_) > 1e-3       # the weights change the model
    X, y = regression
    theirs, ours = fit_both("MLPRegressor", X, y, sample_weight=weights[:len(y)], hidden_layer_sizes=(8,),
                            solver="sgd", batch_size=8, learning_rate_init=0.01, **FIVE)
    assert_same_model(theirs, ours)


@pytest.mark.parametrize("kind", ["multiclass", "binary", "regressor"])
def test_early_stopping_restores_the_best_weights(kind, digits, regression):
    params = dict(early_stopping=True, validation_fraction=0.2, max_iter=60, n_iter_no_change=4,
                  random_state=3, hidden_layer_sizes=(16,))
    if kind == "regressor":
        X, y = regression
        theirs, ours = fit_both("MLPRegressor", X, y, solver="sgd", learning_rate_init=0.05, tol=1e-3,
                                **params)
    else:
        X, y = digits
        theirs, ours = fit_both("MLPClassifier", X, y > 4 if kind == "binary" else y, batch_size=32,
                                **params)
    assert_same_model(theirs, ours)
    assert ours.n_iter_ < 60                           # it stopped early ...
    assert ours.coefs_ is ours._best_coefs             # ... and restored the best weights
    assert ours.best_validation_score_ == max(ours.validation_scores_)


def test_adaptive_rate_and_stopping_on_tol(digits):
    X, y = digits
    theirs, ours = fit_both("MLPClassifier", X, y, solver="sgd", learning_rate="adaptive",
                            learning_rate_init=0.3, hidden_layer_sizes=(16,), tol=1e-2, n_iter_no_change=2,
                            max_iter=200, random_state=0)
    assert_same_model(theirs, ours)
    assert ours._optimizer.learning_rate == theirs._optimizer.learning_rate < 0.3   # it decayed
    assert ours.n_iter_ < 200


def test_stopping_on_tol_without_warning(digits):
    X, y = digits
    models = []
    for module in (sk, tn):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            models.append(module.MLPClassifier(hidden_layer_sizes=(16,), tol=1e-2, random_state=0,
                                               max_iter=300).fit(X, y))
    assert_same_model(*models)
    assert models[1].n_iter_ < 300


def test_the_same_convergence_warning(digits):
    X, y = digits
    for module in (sk, tn):
        with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
            module.MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)


def test_partial_fit(digits, regression):
    X, y = digits
    halves = (slice(0, 150), slice(150, 400))

    def batches(model):
        for _ in range(3):
            for half in halves:
                model.partial_fit(X[half], y[half], classes=np.arange(10))

    theirs, ours = fit_both("MLPClassifier", X, y, calls=[batches], hidden_layer_sizes=(16,), solver="sgd",
                            learning_rate_init=0.05, random_state=0)
    assert_same_model(theirs, ours)
    assert len(ours.loss_curve_) == 6 and ours.t_ == 3 * 400
    X, y = regression

    def fit_then_batches(model):
        model.fit(X, y)
        for _ in range(3):
            model.partial_fit(X[:100], y[:100])

    theirs, ours = fit_both("MLPRegressor", X, y, calls=[fit_then_batches], hidden_layer_sizes=(8,),
                            batch_size=16, **FIVE)
    assert_same_model(theirs, ours)
    assert ours._optimizer.t == theirs._optimizer.t == 5 * 13 + 3 * 7    # Adam's step count carries on


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_warm_start(solver, digits):
    X, y = digits

    def twice(model):
        model.fit(X, y)
        model.fit(X, y)

    theirs, ours = fit_both("MLPClassifier", X, y, calls=[twice], warm_start=True, solver=solver,
                            hidden_layer_sizes=(16,), batch_size=32, learning_rate_init=0.01, **FIVE)
    assert_same_model(theirs, ours)
    assert len(ours.loss_curve_) == 10 and ours.t_ == 10 * 400


@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_lbfgs(kind, digits, regression):
    X, y = digits if kind == "MLPClassifier" else regression
    theirs, ours = fit_both(kind, X, y, solver="lbfgs", hidden_layer_sizes=(12,), alpha=1e-3, max_iter=25,
                            random_state=0)
    assert_same_model(theirs, ours)


@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_the_lbfgs_objective_hook_called_outside_a_fit(kind, digits, regression):
    """scikit-learn's private _loss_grad_lbfgs, called after a fit as scikit-learn's own tests call it:
    the same loss and gradient from its arguments, and the same side effects (the model's weights
    become the packed vector's; coef_grads and intercept_grads the gradient's)."""
    from sklearn.preprocessing import LabelBinarizer

    X, y = digits if kind == "MLPClassifier" else regression
    Y = LabelBinarizer().fit_transform(y).astype(float) if kind == "MLPClassifier" else y.reshape(-1, 1)
    theirs, ours = fit_both(kind, X, y, solver="lbfgs", hidden_layer_sizes=(10,), alpha=1e-3, max_iter=3,
                            random_state=1)
    theta = np.hstack([a.ravel() for a in theirs.coefs_ + theirs.intercepts_])
    theta = theta + np.random.default_rng(0).normal(0, 0.01, theta.size)     # not the fitted weights
    results = []
    for model in (theirs, ours):
        coef_grads, intercept_grads = [None] * 2, [None] * 2
        activations = [X] + [np.empty((len(X), n)) for n in (10, Y.shape[1])]
        deltas = [np.empty((len(X), n)) for n in (10, Y.shape[1])]
        loss, grad = model._loss_grad_lbfgs(theta, X, Y, None, activations, deltas, coef_grads,
                                            intercept_grads)
        assert np.hstack([a.ravel() for a in model.coefs_ + model.intercepts_]).tolist() == theta.tolist()
        assert np.hstack([a.ravel() for a in coef_grads + intercept_grads]).tolist() == grad.tolist()
        results.append((loss, grad))
    (their_loss, their_grad), (our_loss, our_grad) = results
    assert our_loss == pytest.approx(their_loss, rel=RTOL)
    assert np.max(np.abs(our_grad - their_grad)) <= RTOL * np.max(np.abs(their_grad))
    # and it is the gradient of the loss: central differences along a few coordinates
    for k in (0, 17, theta.size - 1):
        step = np.zeros(theta.size)
        step[k] = 1e-6
        ahead = ours._loss_grad_lbfgs(theta + step, X, Y, None, None, None, [None] * 2, [None] * 2)[0]
        behind = ours._loss_grad_lbfgs(theta - step, X, Y, None, None, None, [None] * 2, [None] * 2)[0]
        assert (ahead - behind) / 2e-6 == pytest.approx(our_grad[k], rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("solver, bound", [("sgd", 1e-6), ("adam", 3e-6)])
def test_float32_input_trains_in_float32_close_to_scikit_learns(digits, solver, bound):
    """float32 X trains in float32, as scikit-learn does: not bit for bit with it (its products are
    summed by the BLAS, with FMA, in its order), but within float32's rounding of it after 5 epochs:
    measured 1.8e-7 (sgd) and 6.7e-7 (adam), where scikit-learn's own float32 and float64 fits differ
    by 1.1e-6 and 9.3e-7. (With 1 - beta_2 computed in float32, 1 - float32(0.999) = 0.00099998713
    rather than scikit-learn's float32(0.001), Adam's was 3.5e-6.)"""
    X, y = digits
    settings = dict(solver=solver, hidden_layer_sizes=(16,), batch_size=32, learning_rate_init=0.01, **FIVE)
    theirs, ours = fit_both("MLPClassifier", X.astype(np.float32), y, **settings)
    assert all(c.dtype == np.float32 for c in ours.coefs_ + ours.intercepts_ + theirs.coefs_)
    assert 0 < normwise(ours.coefs_, theirs.coefs_) < bound
    # trained in float32, not in float64 and rounded: other bits than the float64 fit's, rounded
    ours64 = fit_both("MLPClassifier", X, y, **settings)[1]
    assert any((a != b.astype(np.float32)).any() for a, b in zip(ours.coefs_, ours64.coefs_))
    assert ours.loss_curve_ != ours64.loss_curve_


def test_sparse_input_trains_as_dense(digits):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = digits
    dense = tn.MLPClassifier(hidden_layer_sizes=(8,), **FIVE).fit(X, y)
    sparse = tn.MLPClassifier(hidden_layer_sizes=(8,), **FIVE).fit(scipy_sparse.csr_matrix(X), y)
    assert all(np.array_equal(a, b) for a, b in zip(dense.coefs_, sparse.coefs_))


def test_a_fitted_estimator_pickles_with_its_optimizer_state(digits):
    X, y = digits
    model = tn.MLPClassifier(hidden_layer_sizes=(8,), **FIVE).fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    for m in (model, copy):
        m.partial_fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(model.coefs_, copy.coefs_))
    assert copy._optimizer.t == model._optimizer.t > 0


BACKEND_CASES = {
    "sgd-batch1-weighted": dict(solver="sgd", batch_size=1, learning_rate_init=1e-3, alpha=1e-3),
    "adam-batch1": dict(solver="adam", batch_size=1, alpha=1e-3),
    "adam-batch3": dict(solver="adam", batch_size=3),
    "sgd-batch70": dict(solver="sgd", batch_size=70, learning_rate_init=0.05),
    "adam-two-layers-batch1": dict(solver="adam", batch_size=1, hidden_layer_sizes=(20, 9)),
}


@pytest.mark.parametrize("case", BACKEND_CASES)
def test_every_backend_gives_the_same_bits(case, digits, monkeypatch):
    """The kernels' paths for a batch of one sample (the fused update, the loss and L2 bookkeeping), of
    fewer than four, and of more than 64 samples, on layers wider than a vector: == across backends."""
    from tinynet import available_backends

    X, y = digits[0][:100], digits[1][:100]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y)) if "weighted" in case else None
    params = dict(hidden_layer_sizes=(24,), max_iter=2, tol=0.0, random_state=0)
    params.update(BACKEND_CASES[case])
    results = {}
    for backend in available_backends():
        monkeypatch.setenv("TINYNET_BACKEND", backend)
        model = tn.MLPClassifier(**params).fit(X, y, sample_weight=weights)
        results[backend] = ([a.tobytes() for a in model.coefs_ + model.intercepts_],
                            np.array(model.loss_curve_).tobytes())
    assert len(results) == 3 and all(result == results["python"] for result in results.values())


def test_changing_the_layers_between_calls_is_refused(regression):
    X, y = regression
    model = tn.MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", random_state=0)
    model.partial_fit(X, np.c_[y, -y])
    before = [a.copy() for a in model.coefs_ + model.intercepts_]
    with pytest.raises(ValueError, match=r"layers are \[6, 8, 2\].*asks for \[6, 8, 1\]"):
        model.partial_fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.coefs_ + model.intercepts_))
    assert model.n_outputs_ == 2
    model.set_params(hidden_layer_sizes=(5,), warm_start=True)
    with pytest.raises(ValueError, match="hidden_layer_sizes must stay"):
        model.fit(X, np.c_[y, -y])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.coefs_ + model.intercepts_))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_integer_weights_set_by_hand_are_refused_as_scikit_learn_refuses_them(regression, solver):
    """scikit-learn's stochastic solvers fail on integer coefs_ at their first in-place update (numpy's
    UFuncTypeError, a TypeError); ours refuse them before training rather than truncate them."""
    X, y = regression
    for module in (sk, tn):
        model = module.MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=2, warm_start=True,
                                    random_state=0)
        model.fit(X, y)
        model.coefs_ = [np.round(coef * 10).astype(np.int64) for coef in model.coefs_]
        before = [a.copy() for a in model.coefs_ + model.intercepts_]
        with pytest.raises(TypeError, match="int64" if module is sk else
                           r"coefs_\[0\] is dtype int64: the stochastic solvers update the weights in place"):
            model.fit(X, y)
        if module is tn:
            assert all(a.dtype == b.dtype and np.array_equal(a, b)
                       for a, b in zip(before, model.coefs_ + model.intercepts_))


def test_a_batch_of_zero_weight_raises_scikit_learns_error(digits):
    X, y = digits
    weights = (np.arange(len(y)) % 3).astype(float)
    for module in (sk, tn):
        with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
            module.MLPClassifier(solver="sgd", batch_size=1, random_state=0).fit(X, y, sample_weight=weights)


def test_the_reported_loss_follows_the_loss_parameter(regression):
    X, y = regression
    positive = np.exp(y / 3)

    def refit_as_poisson(model):
        model.fit(X, positive)
        model.set_params(loss="poisson", warm_start=True)
        model.fit(X, positive)

    theirs, ours = fit_both("MLPRegressor", X, positive, calls=[refit_as_poisson], hidden_layer_sizes=(8,),
                            **FIVE)
    assert_same_model(theirs, ours)                     # NaN where a prediction is negative, in both
    assert ours.out_activation_ == "identity"          # fixed by the first fit
    squared = tn.MLPRegressor(hidden_layer_sizes=(8,), warm_start=True, **FIVE).fit(X, positive)
    squared.fit(X, positive)
    assert np.array_equal(squared.loss_curve_[:5], ours.loss_curve_[:5])
    assert not np.array_equal(squared.loss_curve_[5:], ours.loss_curve_[5:], equal_nan=True)


def test_a_failing_fit_raises_scikit_learns_error(digits):
    X, y = digits
    bad = X.copy()
    bad[0, 0] = np.inf
    model = tn.MLPClassifier()
    with pytest.raises(ValueError, match="infinity"):
        model.fit(bad, y)
    assert not hasattr(model, "coefs_")
    diverging = tn.MLPRegressor(solver="sgd", learning_rate_init=1e10, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            diverging.fit(X * 1e10, y * 1e10)
