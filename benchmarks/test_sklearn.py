"""tinynet.sklearn.MLPClassifier against scikit-learn's own MLPClassifier, the class it replaces.

Every entry of a group fits the same estimator settings from scratch on the same data (scikit-learn's
digits), so every entry starts from the same weights and visits the samples in the same order; the
report prints speed-ups over "sklearn". tinynet's entries are its backends, chosen as a user would,
through $TINYNET_BACKEND (read at fit time; the estimator has no backend parameter).
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.7")

from conftest import backend_of, lower_levels  # after the skip: it imports tinynet

EPOCHS = 20
#: What every setting shares: scikit-learn's digits network, every epoch run (its convergence checks
#: out of the way: tol=0 and n_iter_no_change past the epochs), reproducible weights and sample order.
COMMON = dict(hidden_layer_sizes=(100,), activation="relu", max_iter=EPOCHS, tol=0.0,
              n_iter_no_change=EPOCHS + 1, random_state=0, shuffle=True)
#: The settings, scikit-learn's defaults otherwise (learning rate 0.001, alpha 1e-4; sgd: a constant
#: learning rate, Nesterov momentum 0.9; adam: batch size "auto", min(200, n_samples)).
SETTINGS = {
    "sgd, batch 1": dict(solver="sgd", batch_size=1),
    "sgd, batch 32": dict(solver="sgd", batch_size=32),
    "defaults (adam, batch 200)": dict(),
}
#: Timed rounds per setting, (tinynet's backends, scikit-learn): scikit-learn takes ~3-6 s a fit at
#: batch size 1 on this machine.
ROUNDS = {"sgd, batch 1": (5, 3), "sgd, batch 32": (10, 10), "defaults (adam, batch 200)": (10, 10)}


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits: all 1797 rows, the pixels / 16, the 10 classes."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _fit(entry, setting, X, y):
    """A new MLPClassifier of ``setting`` (scikit-learn's for "sklearn", tinynet's otherwise), fitted."""
    from sklearn.exceptions import ConvergenceWarning

    if entry.startswith("sklearn"):
        from sklearn.neural_network import MLPClassifier
    else:
        from tinynet.sklearn import MLPClassifier
    model = MLPClassifier(**COMMON, **SETTINGS[setting])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)    # max_iter reached, on purpose
        return model.fit(X, y)


@pytest.fixture(scope="module")
def sklearn_fit(digits):
    """scikit-learn's own fit of a setting (float64 X, or X of ``dtype``), once per module: the weights
    tinynet's fits must match."""
    fits = {}

    def fit(setting, dtype=np.float64):
        if (setting, dtype) not in fits:
            X, y = digits
            fits[setting, dtype] = _fit("sklearn", setting, X.astype(dtype), y)
        return fits[setting, dtype]
    return fit


def _max_relative_difference(model, reference):
    """max |a - b| / max |b| over the fitted weights and intercepts."""
    mine = np.concatenate([np.ravel(a) for a in model.coefs_ + model.intercepts_])
    theirs = np.concatenate([np.ravel(a) for a in reference.coefs_ + reference.intercepts_])
    return float(np.max(np.abs(mine - theirs)) / np.max(np.abs(theirs)))


def _timed_fit(benchmark, monkeypatch, entry, setting, X, y):
    """The benchmark of an entry's fit of ``setting`` (fitted once untimed first); the fitted model,
    every epoch run. tinynet's backend goes through $TINYNET_BACKEND; "sklearn-1-thread" runs
    scikit-learn under threadpoolctl's one thread."""
    benchmark.extra_info["samples"] = len(X) * EPOCHS
    name, level = backend_of(entry)
    if not entry.startswith("sklearn"):
        monkeypatch.setenv("TINYNET_BACKEND", name)

    def train():
        if entry == "sklearn-1-thread":
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                return _fit(entry, setting, X, y)
        with level():
            return _fit(entry, setting, X, y)

    train()                                            # compile / warm up
    ours, theirs = ROUNDS[setting]
    model = benchmark.pedantic(train, rounds=theirs if entry.startswith("sklearn") else ours, iterations=1)
    assert model.n_iter_ == EPOCHS
    return model


@pytest.mark.parametrize("entry", ["cython", *lower_levels(), "numba", "sklearn", "sklearn-1-thread"])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_mlp_classifier(benchmark, monkeypatch, digits, sklearn_fit, setting, entry):
    """scikit-learn's digits (1797 x 64, pixels / 16), a (64, 100, 10) relu/softmax/log-loss network:
    the time of one ``fit`` of 20 shuffled epochs (random_state=0), from a new estimator, at batch size 1
    and 32 with SGD (learning rate 0.001, Nesterov momentum 0.9, alpha 1e-4: scikit-learn's defaults)
    and at scikit-learn's defaults (Adam, batch size 200). scikit-learn in its documented form,
    ``sklearn.neural_network.MLPClassifier(...)`` with these parameters and its defaults otherwise, its
    convergence checks out of the way (tol=0, n_iter_no_change past the epochs) so that it runs every
    epoch; tinynet's ``tinynet.sklearn.MLPClassifier`` with the same parameters, its backend chosen
    through $TINYNET_BACKEND. Each entry is fitted once untimed first (Numba compiles, the BLAS threads
    start). tinynet's weights must match scikit-learn's to 1e-9 relative. scikit-learn is timed twice:
    with its BLAS's default threads ("sklearn") and with one (threadpoolctl, "sklearn-1-thread"); on
    small shared machines one thread is often the faster, and the faster is the one to beat. "cython"
    is the extension's best level here, "cython-v2" (...) a lower one."""
    X, y = digits
    benchmark.group = f"digits (64, 100, 10), {setting}: {EPOCHS} epochs, MLPClassifier against scikit-learn"
    model = _timed_fit(benchmark, monkeypatch, entry, setting, X, y)
    if not entry.startswith("sklearn"):
        difference = _max_relative_difference(model, sklearn_fit(setting))
        benchmark.extra_info["max_relative_difference"] = difference
        assert difference <= 1e-9


@pytest.mark.parametrize("entry", ["cython", *lower_levels(), "numba", "sklearn", "sklearn-1-thread"])
def test_mlp_classifier_float32(benchmark, monkeypatch, digits, sklearn_fit, entry):
    """test_mlp_classifier's defaults (Adam, batch 200) with float32 ``X``: both estimators train in
    float32 (their ``coefs_`` stay float32), tinynet on its float32 kernels, scikit-learn on its float32
    BLAS. Not bit for bit (scikit-learn's BLAS sums in its own order, with FMA): the weights must agree
    within float32's precision grown over 20 epochs, 1e-4 of the largest (recorded in extra_info)."""
    X, y = digits
    X = X.astype(np.float32)
    setting = "defaults (adam, batch 200)"
    benchmark.group = f"digits (64, 100, 10), float32 X, {setting}: {EPOCHS} epochs, MLPClassifier"
    model = _timed_fit(benchmark, monkeypatch, entry, setting, X, y)
    assert all(coef.dtype == np.float32 for coef in model.coefs_)
    if not entry.startswith("sklearn"):
        difference = _max_relative_difference(model, sklearn_fit(setting, np.float32))
        benchmark.extra_info["max_relative_difference"] = difference
        assert difference <= 1e-4
