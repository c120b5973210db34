"""tinynet.Network: against OurNeuralNetwork's kernel, a plain C loop, JAX, TorchScript, scikit-learn.

Every entry of a group trains the same network from the same starting weights on the same data; the
report prints speed-ups over "plain-c" (Network's loop in plain C, the same arithmetic) and over
"sklearn" where those are in the group.
"""

import numpy as np
import pytest
from conftest import backend_of, lower_levels

from tinynet import Network, OurNeuralNetwork
from tinynet._backend import BACKENDS
from tinynet._data import synthetic_data, tutorial_data

from baselines import make_mlp_jax, make_mlp_plain_c, make_mlp_torchscript

TUTORIAL = tutorial_data()


DROP_IN_JOBS = {
    # the tutorial's own job, and what a new user tries next: more data, one pass, no loss lines
    "4 x 1000": (TUTORIAL, 1000, 100),
    "50,000 x 1": (synthetic_data(50_000, seed=0), 1, 30),
}


@pytest.mark.parametrize("entry", ["ournet-cython", "ournet-numba", "network-cython", "network-numba"])
@pytest.mark.parametrize("job", list(DROP_IN_JOBS))
def test_221_against_the_drop_in(benchmark, job, entry):
    """The tutorial's network trained by OurNeuralNetwork's kernel and by Network's (loss_every=0)."""
    kind, backend = entry.split("-")
    (data, y), epochs, rounds = DROP_IN_JOBS[job]
    benchmark.group = f"network (2, 2, 1), {job}: OurNeuralNetwork vs Network"
    np.random.seed(0)
    ours = OurNeuralNetwork(backend=backend)
    start = ours.params
    net = Network.from_tutorial(ours)
    net_start = net.params

    def train_ours():
        ours.params = start
        ours.train(data, y, epochs=epochs, verbose=False, loss_every=0)

    def train_network():
        net.params = net_start
        net.train(data, y, epochs=epochs, loss_every=0)

    run = train_ours if kind == "ournet" else train_network
    run()
    benchmark.pedantic(run, rounds=rounds, iterations=1)
    train_ours()
    train_network()
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = ours.params.tolist()
    assert net.weights[0].tolist() == [[w1, w2], [w3, w4]]               # bit for bit
    assert net.weights[1].tolist() == [[w5, w6]]
    assert net.biases[0].tolist() == [b1, b2] and net.biases[1].tolist() == [b3]


CONFIGS = {
    "(2, 16, 16, 1) sigmoid, mse": ((2, 16, 16, 1), "sigmoid", "sigmoid", "mse"),
    "(64, 32, 10) relu, softmax, cross-entropy": ((64, 32, 10), "relu", "softmax", "cross_entropy"),
    "(64, 32, 10) sigmoid, mse": ((64, 32, 10), "sigmoid", "sigmoid", "mse"),
    "(784, 128, 10) sigmoid, mse": ((784, 128, 10), "sigmoid", "sigmoid", "mse"),
}
#: Entries left out where one round would take minutes (pure Python: ~50 s a round at 784-128-10).
SLOW = {"(784, 128, 10) sigmoid, mse": ("python", "torchscript")}
MAKERS = {"plain-c": make_mlp_plain_c, "jax": make_mlp_jax, "torchscript": make_mlp_torchscript}
ROUNDS = {"cython": 10, "numba": 10, "plain-c": 10, "jax": 5, "python": 1, "torchscript": 1}
#: The extension at each level below the best that this CPU runs, beside it (see conftest.lower_levels).
LEVEL_ENTRIES = lower_levels()


def _problem(sizes, output, n=1000, seed=0):
    """Inputs and (n, n_out) targets: one-hot classes for softmax and for several sigmoid outputs, an
    XOR-like 0/1 target for one output."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, sizes[0]))
    if sizes[-1] > 1:
        return X, np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return X, (X[:, :1] * X[:, 1:2] > 0).astype(float)


@pytest.mark.parametrize("entry", ["cython", *LEVEL_ENTRIES, *list(ROUNDS)[1:]])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_network_training(benchmark, config, entry):
    """1,000 samples x 5 epochs of per-sample SGD, learning rate 0.01."""
    name, level = backend_of(entry)
    with level():
        _network_training(benchmark, config, name, entry)


def _network_training(benchmark, config, entry, label):
    sizes, activation, output, loss = CONFIGS[config]
    benchmark.group = f"network {config}: 1,000 samples x 5 epochs"
    if entry in SLOW.get(config, ()):
        pytest.skip(f"{entry} would take minutes a round at {config}")
    X, T = _problem(sizes, output)
    start = Network(sizes, activation, output, loss, seed=0).params
    if entry in BACKENDS:
        net = Network(sizes, activation, output, loss, backend=entry)

        def train(params, X, T, learn_rate, epochs):
            net.params = params
            net.train(X, T, learn_rate=learn_rate, epochs=epochs, loss_every=0)
            return net.params.tolist()
    else:
        train = MAKERS[entry](sizes, activation, output, loss)
    epochs = 5
    train(start, X[:4], T[:4], 0.01, epochs)          # compile / warm up
    if entry == "jax":
        train(start, X, T, 0.01, epochs)
    result = benchmark.pedantic(train, args=(start, X, T, 0.01, epochs), rounds=ROUNDS[entry],
                                iterations=1)
    benchmark.extra_info["level"] = label
    benchmark.extra_info["sample_steps"] = len(X) * epochs
    expected = Network(sizes, activation, output, loss, backend="cython")
    expected.params = start
    expected.train(X, T, learn_rate=0.01, epochs=epochs, loss_every=0)
    if entry in BACKENDS or entry == "plain-c":
        assert result == expected.params.tolist()      # the same arithmetic: bit for bit
    else:                                              # other libraries' arithmetic: close
        np.testing.assert_allclose(result, expected.params, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss_every", [0, 1])
@pytest.mark.parametrize("entry", ["cython", "numba"])
@pytest.mark.parametrize("config", ["(64, 32, 10) relu, softmax, cross-entropy",
                                    "(784, 128, 10) sigmoid, mse"])
def test_network_training_with_losses(benchmark, config, entry, loss_every):
    """test_network_training's job (1,000 samples x 5 epochs; 300 at 784 inputs), recording the mean
    loss after every epoch or never: what a recorded loss costs (a forward pass over the samples)."""
    sizes, activation, output, loss = CONFIGS[config]
    benchmark.group = f"network {config}: per-sample SGD x 5 epochs, with and without losses"
    X, T = _problem(sizes, output, n=1000 if sizes[0] < 784 else 300)
    net = Network(sizes, activation, output, loss, seed=0, backend=entry)
    start = net.params
    net.train(X[:4], T[:4], epochs=1, loss_every=1)                  # compile / warm up

    def train():
        net.params = start
        net.train(X, T, learn_rate=0.01, epochs=5, loss_every=loss_every)

    benchmark.pedantic(train, rounds=5, iterations=1)
    benchmark.extra_info["sample_steps"] = len(X) * 5
    assert len(net.loss_history) == (5 if loss_every else 0)
    assert net.loss_history[-1:] == ([(4, net.loss(X, T))] if loss_every else [])


@pytest.mark.parametrize("entry", ["cython", "numba"])
@pytest.mark.parametrize("config", ["(64, 32, 10) relu, softmax, cross-entropy",
                                    "(784, 128, 10) sigmoid, mse"])
def test_network_predict(benchmark, config, entry):
    """predict on 10,000 samples (2,000 at 784 inputs)."""
    sizes, activation, output, loss = CONFIGS[config]
    benchmark.group = f"network {config}: predict"
    X, _ = _problem(sizes, output, n=10_000 if sizes[0] < 784 else 2_000)
    net = Network(sizes, activation, output, loss, seed=0, backend=entry)
    net.predict(X[:40])                                               # compile / warm up
    out = benchmark.pedantic(net.predict, args=(X,), rounds=10, iterations=1)
    benchmark.extra_info["samples"] = len(X)
    assert out[:20].tobytes() == net.predict(X[:20]).tobytes()       # the tiles' numbers: the plain loops'


@pytest.mark.parametrize("entry", ["cython", *LEVEL_ENTRIES, "numba", "jax", "float64"])
@pytest.mark.parametrize("config", [name for name in CONFIGS if name.startswith(("(64", "(784"))])
def test_network_training_float32(benchmark, config, entry):
    """test_network_training's job in float32: tinynet's Network(dtype="float32") on each backend and
    level, JAX in its fast form in float32 (its default dtype), and the extension in float64 (the
    "float64" entry, the baseline of the float32-over-float64 speed-up)."""
    name, level = backend_of(entry)
    sizes, activation, output, loss = CONFIGS[config]
    benchmark.group = f"network {config}, float32: 1,000 samples x 5 epochs"
    X, T = _problem(sizes, output)
    start = Network(sizes, activation, output, loss, seed=0).params
    dtype = "float64" if entry == "float64" else "float32"
    with level():
        if entry == "jax":
            train = make_mlp_jax(sizes, activation, output, loss, dtype=np.float32)
        else:
            net = Network(sizes, activation, output, loss, backend="cython" if entry == "float64" else name,
                          dtype=dtype)

            def train(params, X, T, learn_rate, epochs):
                net.params = params
                net.train(X, T, learn_rate=learn_rate, epochs=epochs, loss_every=0)
                return net.params.tolist()
        epochs = 5
        train(start, X[:4], T[:4], 0.01, epochs)          # compile / warm up
        if entry == "jax":
            train(start, X, T, 0.01, epochs)
        result = benchmark.pedantic(train, args=(start, X, T, 0.01, epochs), rounds=ROUNDS.get(name, 10),
                                    iterations=1)
    benchmark.extra_info["sample_steps"] = len(X) * epochs
    expected = Network(sizes, activation, output, loss, backend="cython", dtype=dtype)
    expected.params = start
    expected.train(X, T, learn_rate=0.01, epochs=epochs, loss_every=0)
    if entry == "jax":                                  # JAX's own float32 arithmetic: close
        np.testing.assert_allclose(result, expected.params, rtol=1e-3, atol=1e-4)
    else:
        assert result == expected.params.tolist()      # the same arithmetic: bit for bit


@pytest.mark.parametrize("entry", ["cython", "numba", "sklearn"])
def test_digits(benchmark, entry):
    """scikit-learn's digits, 64-32-10 (relu, softmax, cross-entropy), 20 epochs of per-sample SGD."""
    pytest.importorskip("sklearn")
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
    import digits

    benchmark.group = "digits (64, 32, 10): 20 epochs, batch size 1, against scikit-learn"
    X_train, X_test, y_train, y_test = digits.load()
    if entry == "sklearn":
        def train():
            return digits.train_sklearn(X_train, y_train, 20, 0.01)
        rounds = 2
    else:
        def train():
            return digits.train_tinynet(X_train, y_train, 20, 0.01, backend=entry)
        train()
        rounds = 10
    model = benchmark.pedantic(train, rounds=rounds, iterations=1)
    predicted = model.predict(X_test)
    if predicted.ndim == 2:
        predicted = predicted.argmax(axis=1)
    accuracy = float(np.mean(predicted == y_test))
    benchmark.extra_info["test_accuracy"] = accuracy
    assert accuracy > 0.9


@pytest.mark.parametrize("entry", ["cython", *LEVEL_ENTRIES, "numba", "sklearn", "cython-float32"])
@pytest.mark.parametrize("batch_size", [200, 32])
def test_digits_minibatch_adam(benchmark, batch_size, entry):
    """(The "cython-float32" entry: the extension's float32 network, beside its float64 one.)"""
    dtype = "float32" if entry.endswith("float32") else "float64"
    name, level = backend_of(entry.removesuffix("-float32"))
    with level():
        _digits_minibatch_adam(benchmark, batch_size, name, dtype)


def _digits_minibatch_adam(benchmark, batch_size, entry, dtype="float64"):
    """scikit-learn's digits (1797 x 64, pixels / 16), a (64, 100, 10) relu/softmax/cross-entropy
    network trained with Adam (learning rate 0.001, L2 alpha 1e-4, the MLPClassifier defaults) in
    shuffled batches of 200 (the default, "auto") or 32: the time of 5 epochs, from a new model.
    scikit-learn in its documented form, MLPClassifier(batch_size=...) at its defaults otherwise, its
    convergence checks out of the way (tol=0, n_iter_no_change past the epochs) so that it runs every
    epoch; tinynet's Network(...).train(optimizer="adam", batch_size=..., shuffle=True)."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    X = X / 16.0
    epochs = 5
    benchmark.group = f"digits (64, 100, 10), Adam, batch {batch_size}: {epochs} epochs against scikit-learn"
    benchmark.extra_info["samples"] = len(X) * epochs
    if entry == "sklearn":
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        def train():
            model = MLPClassifier(batch_size=batch_size, max_iter=epochs, tol=0.0,
                                  n_iter_no_change=epochs + 1, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return model.fit(X, y)

        model = benchmark.pedantic(train, rounds=10, iterations=1)
        assert model.n_iter_ == epochs
        return

    def train(backend=entry):
        net = Network((64, 100, 10), activation="relu", output="softmax", loss="cross_entropy", seed=0,
                      backend=backend, dtype=dtype)
        net.train(X, y, learn_rate=0.001, epochs=epochs, optimizer="adam", batch_size=batch_size,
                  alpha=1e-4, shuffle=True, loss_every=0)
        return net

    train()                                            # compile / warm up
    net = benchmark.pedantic(train, rounds=10, iterations=1)
    assert net.params.tobytes() == train("cython").params.tobytes()     # every backend, bit for bit
    assert float(np.mean(net.predict(X).argmax(axis=1) == y)) > 0.75
