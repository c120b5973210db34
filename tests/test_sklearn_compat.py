"""tinynet.sklearn's MLPClassifier and MLPRegressor work wherever scikit-learn's do: scikit-learn's
estimator checks, Pipelines, model selection on threads, processes and Dask, clone and pickles, pandas
input, the same parameters, clear errors on bad input, and every backend giving the same bits."""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse
import sklearn.neural_network
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

import tinynet
import tinynet.sklearn
from tinynet._backend import BACKENDS
from tinynet.sklearn import MLPClassifier, MLPRegressor

#: Fits cut short on purpose (a few epochs) warn that they did not converge.
SHORT = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=60, n_features=4, seed=0):
    """Features, 3-class labels, 2 regression targets, Poisson counts and sample weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    classes = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    targets = np.c_[X[:, 0] - X[:, 1], X[:, 2] * X[:, 3]]
    counts = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    weights = rng.uniform(0.5, 2.0, n)
    return X, classes, targets, counts, weights


def _params(model):
    """The fitted weights and biases, as one list of arrays."""
    return model.coefs_ + model.intercepts_


def _same_params(a, b):
    return len(_params(a)) == len(_params(b)) and all(
        p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(_params(a), _params(b)))


# --- scikit-learn's own estimator checks ----------------------------------------------------------

def _with_checks(estimators):
    """parametrize_with_checks with its cases as a list: scikit-learn 1.7 gives pytest a generator,
    which pytest 9 deprecates (an error under this suite's filterwarnings)."""
    mark = parametrize_with_checks(estimators).mark
    return pytest.mark.parametrize(mark.args[0], list(mark.args[1]), **mark.kwargs)


@SHORT                                  # as scikit-learn's own MLPs, on some checks' data
@_with_checks([MLPClassifier(), MLPRegressor(), MLPClassifier(solver="sgd"), MLPRegressor(solver="sgd")])
def test_sklearn_estimator_checks(estimator, check):
    """Each of scikit-learn's estimator checks passes, for the estimators as a user constructs them
    (scikit-learn's defaults: adam), and with the sgd solver."""
    check(estimator)


# --- Pipelines ------------------------------------------------------------------------------------

@SHORT
def test_pipeline_fits_predicts_scores_and_agrees_with_sklearn():
    """In a Pipeline after a StandardScaler, fit/predict/score work, and predict_proba agrees with the same
    pipeline around scikit-learn's own MLPClassifier to 1e-9 (predictions and scores equal)."""
    X, y, *_ = _data(150, 6, seed=1)
    X = 3.0 * X + 10.0                      # something for the scaler to do
    settings = dict(hidden_layer_sizes=(8,), solver="adam", batch_size=32, max_iter=10, random_state=0)
    ours = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(**settings))]).fit(X, y)
    theirs = Pipeline([("scale", StandardScaler()),
                       ("mlp", sklearn.neural_network.MLPClassifier(**settings))]).fit(X, y)
    assert isinstance(ours[-1], MLPClassifier) and ours[-1].n_iter_ == 10
    proba = ours.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba, theirs.predict_proba(X), rtol=0, atol=1e-9)
    assert not np.allclose(proba, proba.mean(axis=0))           # the model learned something per row
    predicted = ours.predict(X)
    assert np.array_equal(predicted, theirs.predict(X))
    assert ours.score(X, y) == np.mean(predicted == y) == theirs.score(X, y)


# --- model selection in parallel ------------------------------------------------------------------

def _grid_search(n_jobs):
    X, y, *_ = _data(90, 4, seed=2)
    grid = GridSearchCV(MLPClassifier(max_iter=15, batch_size=16, random_state=0),
                        {"hidden_layer_sizes": [(4,), (6,)], "alpha": [1e-4, 1e-1]},
                        cv=KFold(3), n_jobs=n_jobs, error_score="raise")
    return grid.fit(X, y).cv_results_["mean_test_score"]


def _cross_val(n_jobs):
    X, _, targets, *_ = _data(90, 4, seed=3)
    model = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", batch_size=10, max_iter=15, random_state=0)
    return cross_val_score(model, X, targets, cv=KFold(3), n_jobs=n_jobs, error_score="raise")


@pytest.fixture(scope="module")
def serial_scores():
    """Every score computed with n_jobs=1, for the parallel runs to reproduce."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _grid_search(1), _cross_val(1)


@SHORT
@pytest.mark.parametrize("joblib_backend", ["threading", "loky"])
def test_model_selection_in_parallel_gives_the_serial_scores(joblib_backend, serial_scores):
    """GridSearchCV and cross_val_score with n_jobs=2 on threads and on processes give exactly the
    scores of n_jobs=1 (all finite, and the grid's differ from one another)."""
    grid_serial, cross_serial = serial_scores
    assert np.isfinite(grid_serial).all() and np.isfinite(cross_serial).all()
    assert len(set(grid_serial)) > 1
    with joblib.parallel_config(backend=joblib_backend):
        grid, cross = _grid_search(2), _cross_val(2)
    assert np.array_equal(grid, grid_serial)
    assert np.array_equal(cross, cross_serial)


@SHORT
def test_model_selection_on_dask_gives_the_serial_scores(serial_scores):
    """On a Dask cluster (joblib's dask backend) GridSearchCV and cross_val_score give exactly the scores
    of n_jobs=1."""
    distributed = pytest.importorskip("distributed")
    with (distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                             dashboard_address=None) as client,
          joblib.parallel_config(backend="dask"),
          distributed.get_task_stream(client) as tasks):
        grid, cross = _grid_search(-1), _cross_val(-1)
    assert len(tasks.data) >= 2                           # the fits ran as the cluster's tasks
    assert np.array_equal(grid, serial_scores[0])
    assert np.array_equal(cross, serial_scores[1])


# --- clone and pickles ----------------------------------------------------------------------------

@SHORT
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_clone_is_unfitted_with_equal_params(cls):
    """clone of a fitted estimator: the same class, equal parameters, unfitted; fitted, it gives the
    original's weights."""
    X, classes, targets, *_ = _data()
    y = classes if cls is MLPClassifier else targets
    model = cls(hidden_layer_sizes=(5,), alpha=1e-3, max_iter=5, random_state=0).fit(X, y)
    copy = clone(model)
    assert type(copy) is cls and copy is not model
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "coefs_")
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert _same_params(copy.fit(X, y), model)


@SHORT
@pytest.mark.parametrize("cls, solver", [(MLPClassifier, "adam"), (MLPClassifier, "sgd"),
                                         (MLPRegressor, "adam"), (MLPRegressor, "sgd")])
def test_pickle_round_trip_predicts_and_continues_identically(cls, solver):
    """A fitted estimator, pickled and restored, predicts exactly as the original, and partial_fit
    continues both (optimizer state included) to the same weights and predictions."""
    X, classes, targets, *_ = _data()
    y = classes if cls is MLPClassifier else targets
    model = cls(hidden_layer_sizes=(6,), solver=solver, batch_size=8, max_iter=4, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    predict = "predict_proba" if cls is MLPClassifier else "predict"
    assert np.array_equal(getattr(restored, predict)(X), getattr(model, predict)(X))
    before = [p.copy() for p in _params(model)]
    for _ in range(2):
        model.partial_fit(X, y)
        restored.partial_fit(X, y)
    assert not all(np.array_equal(p, q) for p, q in zip(before, _params(model)))     # training went on
    assert _same_params(restored, model)
    assert restored.loss_curve_ == model.loss_curve_
    assert np.array_equal(getattr(restored, predict)(X), getattr(model, predict)(X))


# --- pandas ---------------------------------------------------------------------------------------

@SHORT
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_dataframe_input_sets_feature_names_and_predicts_as_numpy(cls):
    """A DataFrame with string column names sets feature_names_in_, and the model fitted on it is the one
    fitted on the numpy array: the same weights and predictions."""
    pd = pytest.importorskip("pandas")
    X, classes, targets, *_ = _data()
    y = classes if cls is MLPClassifier else targets
    frame = pd.DataFrame(X, columns=["alpha", "beta", "gamma", "delta"])
    on_frame = cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(frame, y)
    on_array = cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    assert list(on_frame.feature_names_in_) == ["alpha", "beta", "gamma", "delta"]
    assert not hasattr(on_array, "feature_names_in_")
    assert _same_params(on_frame, on_array)
    assert np.array_equal(on_frame.predict(frame), on_array.predict(X))


@SHORT
def test_series_of_string_labels():
    """y as a pandas Series of strings: classes_ are the strings (sorted), and predict returns them."""
    pd = pytest.importorskip("pandas")
    X, classes, *_ = _data()
    names = np.array(["cat", "dog", "emu"])
    labels = pd.Series(names[classes], name="animal")
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, labels)
    assert list(model.classes_) == ["cat", "dog", "emu"]
    predicted = model.predict(X)
    assert set(predicted) <= {"cat", "dog", "emu"}
    by_integers = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, classes)
    assert np.array_equal(predicted, names[by_integers.predict(X)])


# --- scikit-learn's classes -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_subclass_with_sklearns_parameters(name):
    """Each estimator is an instance of scikit-learn's class of the same name, with the same parameter
    names and defaults."""
    ours, theirs = getattr(tinynet.sklearn, name), getattr(sklearn.neural_network, name)
    assert isinstance(ours(), theirs)
    assert ours().get_params() == theirs().get_params()
    assert ours(alpha=0.5, hidden_layer_sizes=(3, 2)).get_params() == \
        theirs(alpha=0.5, hidden_layer_sizes=(3, 2)).get_params()


# --- imports --------------------------------------------------------------------------------------

def _run(script, cwd):
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


BLOCK_SKLEARN = {
    "meta-path finder": """
import importlib.abc, sys
class NoSklearn(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoSklearn())
""",
    "sys.modules": "import sys; sys.modules['sklearn'] = None",
}


@pytest.mark.parametrize("how", list(BLOCK_SKLEARN))
def test_without_sklearn_a_clear_import_error(how, tmp_path):
    """Without scikit-learn, importing tinynet.sklearn raises ImportError naming the extra to install."""
    script = BLOCK_SKLEARN[how] + """
try:
    import tinynet.sklearn
except ImportError as error:
    print(type(error).__name__ + ": " + str(error))
else:
    print("imported")
"""
    out = _run(script, tmp_path)
    assert out.startswith("ImportError: ")
    assert "pip install 'tinynet[sklearn]'" in out


def test_import_tinynet_does_not_import_sklearn(tmp_path):
    """`import tinynet` leaves scikit-learn unimported (it is tinynet.sklearn's dependency only)."""
    out = _run("import sys, tinynet; print(tinynet.__name__, 'sklearn' in sys.modules)", tmp_path)
    assert out.split() == ["tinynet", "False"]


# --- bad input ------------------------------------------------------------------------------------

def _with_nan(X):
    X = X.copy()
    X[3, 1] = np.nan
    return X


BAD_INPUT = [
    ("NaN in X", MLPClassifier, lambda m, X, y: m.fit(_with_nan(X), y), ValueError, "Input X contains NaN"),
    ("inf in X", MLPRegressor, lambda m, X, y: m.fit(np.where(X > 1.5, np.inf, X), y), ValueError,
     "Input X contains infinity"),
    ("NaN in X, partial_fit", MLPRegressor, lambda m, X, y: m.partial_fit(_with_nan(X), y), ValueError,
     "Input X contains NaN"),
    ("no classes on partial_fit's first call", MLPClassifier, lambda m, X, y: m.partial_fit(X, y),
     ValueError, "classes must be passed on the first call to partial_fit"),
    ("a string for alpha", lambda: MLPClassifier(alpha="small"), lambda m, X, y: m.fit(X, y),
     InvalidParameterError, "The 'alpha' parameter of MLPClassifier must be a float"),
    ("a string for max_iter", lambda: MLPRegressor(max_iter="10"), lambda m, X, y: m.fit(X, y),
     InvalidParameterError, "The 'max_iter' parameter of MLPRegressor must be an int"),
    ("an unknown solver", lambda: MLPClassifier(solver="rmsprop"), lambda m, X, y: m.fit(X, y),
     InvalidParameterError, "The 'solver' parameter of MLPClassifier must be a str among"),
    ("strings in X", MLPClassifier, lambda m, X, y: m.fit(X.astype(str).astype(object) + "kg", y),
     ValueError, "could not convert string to float"),
    ("sample weights of the wrong length", MLPRegressor,
     lambda m, X, y: m.fit(X, y, sample_weight=np.ones(len(X) - 1)), ValueError,
     r"sample_weight.shape == \(59,\), expected \(60,\)"),
    ("y of the wrong length", MLPClassifier, lambda m, X, y: m.fit(X, y[:-1]), ValueError,
     "inconsistent numbers of samples"),
]


@pytest.mark.parametrize("make, call, error, pattern", [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_fails_before_training(make, call, error, pattern):
    """Bad data or parameters raise a clear error (InvalidParameterError is a ValueError) before
    training: the estimator has no weights, and no attribute that scikit-learn's own would not have."""
    X, classes, *_ = _data()
    model = make()
    with pytest.raises(error, match=pattern) as caught:
        call(model, X, classes)
    assert isinstance(caught.value, ValueError)
    assert not hasattr(model, "coefs_") and not hasattr(model, "_optimizer")
    twin = getattr(sklearn.neural_network, type(model).__name__)(**model.get_params())
    with pytest.raises(error, match=pattern):
        call(twin, X, classes)
    assert vars(model).keys() == vars(twin).keys()


@SHORT
def test_partial_fit_with_other_features_leaves_the_weights_alone():
    """partial_fit on data with another number of features raises and leaves the fitted weights as they
    were."""
    X, classes, *_ = _data()
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, classes)
    before = [p.copy() for p in _params(model)]
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        model.partial_fit(X[:, :3], classes)
    assert all(np.array_equal(p, q) for p, q in zip(before, _params(model)))


# --- every backend, the same bits ----------------------------------------------------------------

X_, CLASSES_, TARGETS_, COUNTS_, WEIGHTS_ = _data()
MULTILABEL_ = np.c_[X_[:, 0] > 0, X_[:, 1] > 0, X_[:, 2] > 0].astype(int)

#: name: (class, settings, X, y, sample_weight); each fit 60 rows, hidden (7,), 10 epochs.
BACKEND_CASES = {
    "adam batch 8": (MLPClassifier, dict(solver="adam", batch_size=8), X_, CLASSES_, None),
    "sgd nesterov batch 5, alpha, weights": (
        MLPClassifier, dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, batch_size=5, alpha=1e-3,
                            learning_rate_init=0.05), X_, CLASSES_, WEIGHTS_),
    "regressor, 2 outputs": (MLPRegressor, dict(solver="adam", batch_size=8), X_, TARGETS_, None),
    "poisson regressor": (MLPRegressor, dict(solver="adam", batch_size=8, loss="poisson"), X_, COUNTS_,
                          None),
    "lbfgs classifier": (MLPClassifier, dict(solver="lbfgs"), X_, CLASSES_, None),
    "lbfgs regressor, tanh, weights": (MLPRegressor, dict(solver="lbfgs", activation="tanh"), X_, TARGETS_,
                                       WEIGHTS_),
    "multilabel, logistic, 2 layers": (
        MLPClassifier, dict(solver="adam", batch_size=8, activation="logistic", hidden_layer_sizes=(7, 3)),
        X_, MULTILABEL_, None),
    "sgd invscaling, identity, unshuffled": (
        MLPRegressor, dict(solver="sgd", learning_rate="invscaling", activation="identity", shuffle=False,
                           batch_size=7), X_, TARGETS_[:, 0], WEIGHTS_),
    "early stopping, weights": (MLPClassifier, dict(solver="adam", batch_size=8, early_stopping=True), X_,
                                CLASSES_, WEIGHTS_),
    "float32 X": (MLPRegressor, dict(solver="adam", batch_size=8), X_.astype(np.float32), TARGETS_, None),
    "sparse X": (MLPClassifier, dict(solver="sgd", batch_size=8),
                 scipy.sparse.csr_matrix(np.where(np.abs(X_) > 0.7, X_, 0.0)), CLASSES_, None),
}


def _fit_on(backend, case, monkeypatch):
    """The case's model fitted with $TINYNET_BACKEND=backend, and the backends that trained it."""
    cls, settings, X, y, weights = BACKEND_CASES[case]
    used, resolve_backend = [], tinynet.sklearn.resolve_backend

    def resolve(*args, **kwargs):
        name, kernels = resolve_backend(*args, **kwargs)
        used.append(name)
        return name, kernels

    monkeypatch.setenv("TINYNET_BACKEND", backend)
    with monkeypatch.context() as patch:
        patch.setattr(tinynet.sklearn, "resolve_backend", resolve)
        settings = dict(dict(hidden_layer_sizes=(7,), max_iter=10, random_state=0), **settings)
        model = cls(**settings).fit(X, y, sample_weight=weights)
    return model, used


@SHORT
@pytest.mark.parametrize("backend", [name for name in BACKENDS if name != "python"])
@pytest.mark.parametrize("case", list(BACKEND_CASES))
def test_every_backend_gives_the_same_bits(case, backend, monkeypatch):
    """With $TINYNET_BACKEND naming a compiled backend, the fit runs on that backend's kernels and gives
    bit for bit the weights, loss curve and final loss of the pure-Python backend."""
    if backend not in tinynet.available_backends():
        pytest.skip(f"the {backend!r} backend does not load here")
    model, used = _fit_on(backend, case, monkeypatch)
    reference, used_reference = _fit_on("python", case, monkeypatch)
    assert used and set(used) == {backend}
    assert used_reference and set(used_reference) == {"python"}
    assert model.n_iter_ == reference.n_iter_ > 1
    assert _same_params(model, reference)
    assert model.loss_ == reference.loss_
    if model.solver != "lbfgs":
        assert model.loss_curve_ == reference.loss_curve_
    if model.early_stopping:
        assert model.validation_scores_ == reference.validation_scores_
