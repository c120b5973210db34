"""Network.train's options: mini-batches, L2, every optimizer of the table (SGD with (Nesterov) momentum,
Adam, iRPROP-), and the optimizer state that persists across calls, against an independent numpy
rendering of the formulas."""

import copy
import json
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_network import ReferenceMLP

from tinynet import Network, train_many
from tinynet._backend import BACKENDS
from tinynet._rules import OPTIMIZER_OF, OPTIMIZERS, kernel_options

COMPILED = ["cython", "numba"]
#: Every optimizer of the table: the tests below run each.
OPTIMIZER_NAMES = [row.name for row in OPTIMIZERS]


def _for(optimizer, batch_size, **options):
    """train's options for an optimizer of the table: those it does not take left out (momentum,
    nesterov, beta_1, ...), and a full-batch optimizer's batch size left to it."""
    row = OPTIMIZER_OF[optimizer]
    taken = {"momentum", "nesterov", "beta_1", "beta_2", "epsilon"} - set(row.options)
    return dict({key: value for key, value in options.items() if key not in taken}, optimizer=optimizer,
                batch_size=None if row.full_batch else batch_size)


def _data(n, n_in, n_out, seed=0, softmax=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in))
    if softmax:
        return X, np.eye(n_out)[rng.integers(0, n_out, n)]
    return X, rng.uniform(0.0, 1.0, (n, n_out))


CASES = [
    dict(config=dict(sizes=(5, 8, 3), activation="relu", output="softmax", loss="cross_entropy"),
         train=dict(optimizer="adam", learn_rate=0.01, batch_size=7, alpha=1e-3)),
    dict(config=dict(sizes=(5, 6, 4, 2), activation="tanh", output="sigmoid", loss="mse"),
         train=dict(optimizer="sgd", learn_rate=0.2, momentum=0.9, nesterov=True, batch_size=4, alpha=0.01)),
    dict(config=dict(sizes=(5, 7, 2), activation="sigmoid", output="identity", loss="mse"),
         train=dict(optimizer="sgd", learn_rate=0.05, momentum=0.5, batch_size=1, alpha=0.1)),
    dict(config=dict(sizes=(5, 7, 3), activation="sigmoid", output="softmax", loss="mse"),
         train=dict(optimizer="sgd", learn_rate=0.3, batch_size=40)),
    dict(config=dict(sizes=(5, 9, 3), activation="leaky_relu", output="identity", loss="mse"),
         train=dict(optimizer="sgd", learn_rate=0.05, batch_size=4, momentum=0.9)),
    dict(config=dict(sizes=(5, 9, 3), activation="relu", output="sigmoid", loss="cross_entropy"),
         train=dict(optimizer="adam", learn_rate=0.005, batch_size=1, beta_1=0.8, beta_2=0.99,
                    epsilon=1e-6)),
    dict(config=dict(sizes=(5, 8, 3), activation="tanh", output="softmax", loss="cross_entropy"),
         train=dict(optimizer="irprop", batch_size=None, alpha=1e-3)),
    dict(config=dict(sizes=(5, 6, 2), activation="sigmoid", output="identity", loss="mse"),
         train=dict(optimizer="irprop", batch_size=None)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['config']['output']}-{c['train']['optimizer']}-"
                                                      f"{c['train']['batch_size']}")
def test_agrees_with_an_independent_numpy_rendering(backend, case):
    config, options = case["config"], dict(case["train"])
    X, Y = _data(23, 5, config["sizes"][-1], softmax=config["output"] == "softmax")
    net = Network(seed=1, backend=backend, **config)
    batch_size = options.pop("batch_size")
    reference = ReferenceMLP.of(net)
    reference.train_batches(X, Y, 6, batch_size, **options)
    net.train(X, Y, epochs=6, batch_size=batch_size, **options)
    np.testing.assert_allclose(net.params, reference.flat(), rtol=1e-10, atol=1e-13)
    assert not np.allclose(net.params, Network(seed=1, **config).params)        # it did train


@settings(max_examples=25, deadline=None)
@given(hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2),
       head=st.sampled_from([("sigmoid", "mse", 1), ("identity", "mse", 2), ("softmax", "cross_entropy", 3),
                             ("sigmoid", "cross_entropy", 2), ("softmax", "mse", 2)]),
       activation=st.sampled_from(Network.ACTIVATIONS),
       batch_size=st.integers(1, 12), n=st.integers(1, 15),
       optimizer=st.sampled_from(OPTIMIZER_NAMES), momentum=st.sampled_from([0.0, 0.9]),
       nesterov=st.booleans(), alpha=st.sampled_from([0.0, 0.05]), shuffle=st.booleans())
def test_backends_identical_for_every_option(hidden, head, activation, batch_size, n, optimizer, momentum,
                                             nesterov, alpha, shuffle):
    output, loss, n_out = head
    options = _for(optimizer, batch_size, momentum=momentum, nesterov=nesterov)
    config = dict(sizes=(3, *hidden, n_out), activation=activation, output=output, loss=loss)
    X, Y = _data(n, 3, n_out, seed=n, softmax=output == "softmax")
    results = {}
    for backend in BACKENDS:
        net = Network(seed=n, backend=backend, **config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")           # a diverging case is the same in every backend
            net.train(X, Y, learn_rate=0.1, epochs=3, alpha=alpha, shuffle=shuffle, loss_every=1, **options)
        state = net.optimizer_state
        # as bytes, every NaN as the same NaN: a diverged case's losses hold NaN, which == never
        # equals, and whose sign and payload are the hardware's to choose
        results[backend] = (_canonical(net.params), _canonical([loss for _, loss in net.loss_history]),
                            {key: _canonical(value) if isinstance(value, np.ndarray) else value
                             for key, value in state.items()})
    assert results["cython"] == results["numba"] == results["python"]


def _canonical(values):
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(array), np.nan, array).tobytes()


@settings(max_examples=12, deadline=None)
@given(hidden=st.lists(st.integers(1, 40), min_size=1, max_size=2),
       n_out=st.integers(1, 12), batch_size=st.sampled_from([1, 2, 3, 4, 5, 9, 64, 65, 140]),
       n=st.integers(1, 140), optimizer=st.sampled_from(OPTIMIZER_NAMES), alpha=st.sampled_from([0.0, 0.05]),
       shuffle=st.booleans())
def test_backends_identical_on_wide_layers_and_large_batches(hidden, n_out, batch_size, n, optimizer, alpha,
                                                             shuffle):
    # layers of 8 or more (the compiled kernels' vector tiles), batches of one sample (the fused update),
    # of four or more (the transposed weights), of more than 64 (gradients summed across blocks)
    config = dict(sizes=(6, *hidden, n_out), activation="relu", output="identity")
    _wide_layers_agree(config, batch_size, n, optimizer, alpha, shuffle)


@pytest.mark.parametrize("activation", Network.ACTIVATIONS)
@pytest.mark.parametrize("batch_size", [None, 1, 5, 65])
def test_every_activation_on_every_path(activation, batch_size):
    """Each activation of the table through the per-sample kernel and the batch kernels (one sample,
    a few, more than 64), on narrow layers (below one vector) and wide ones (wider than a tile, with a
    ragged edge): the same bits in every backend."""
    for hidden in [(3,), (37, 19)]:
        config = dict(sizes=(6, *hidden, 3), activation=activation, output="softmax", loss="cross_entropy")
        for optimizer in ("sgd",) if batch_size is None else OPTIMIZER_NAMES:
            _wide_layers_agree(config, batch_size, 70, optimizer, 0.05, True)


def _wide_layers_agree(config, batch_size, n, optimizer, alpha, shuffle):
    """Every backend trains ``config`` to the same bits (batch_size None: the per-sample kernel)."""
    X, Y = _data(n, 6, config["sizes"][-1], seed=n, softmax=config.get("output") == "softmax")
    if batch_size is None:          # the per-sample kernel: SGD's
        options = dict(momentum=0.9, nesterov=True, optimizer=optimizer)
    else:
        options = _for(optimizer, batch_size, momentum=0.9, nesterov=True, alpha=alpha, shuffle=shuffle)
    results = {}
    for backend in BACKENDS:
        net = Network(seed=n, backend=backend, **config)
        with warnings.catch_warnings():     # momentum 0.9 diverges on some draws: the same NaNs everywhere
            warnings.simplefilter("ignore", RuntimeWarning)
            net.train(X, Y, learn_rate=0.01, epochs=2, loss_every=1, **options)
        state = {key: _canonical(value) if isinstance(value, np.ndarray) else value
                 for key, value in net.optimizer_state.items()}
        results[backend] = (_canonical(net.params), _canonical([loss for _, loss in net.loss_history]), state)
    assert results["cython"] == results["numba"] == results["python"]


@pytest.mark.parametrize("options", [dict(optimizer="adam", batch_size=5),
                                     dict(momentum=0.9, nesterov=True, batch_size=3, alpha=0.01),
                                     dict(momentum=0.9),                # the per-sample kernel
                                     dict(optimizer="adam", batch_size=1),
                                     dict(optimizer="irprop", alpha=0.01)])
def test_two_calls_train_as_one(backend, options):
    X, Y = _data(17, 4, 2)
    config = dict(sizes=(4, 5, 2), activation="tanh", output="identity")
    once, twice = Network(seed=3, backend=backend, **config), Network(seed=3, backend=backend, **config)
    once.train(X, Y, learn_rate=0.02, epochs=6, **options)
    twice.train(X, Y, learn_rate=0.02, epochs=2, **options)
    twice.train(X, Y, learn_rate=0.02, epochs=4, **options)
    assert once.params.tobytes() == twice.params.tobytes()
    assert _state_bytes(once) == _state_bytes(twice)


def _state_bytes(net):
    return {key: np.asarray(value).tobytes() for key, value in net.optimizer_state.items()}


def test_the_default_keeps_the_per_sample_arithmetic():
    # batch_size=1, plain SGD: the tutorial's per-sample kernel, with the learning rate folded in;
    # the batch kernel (here through a zero L2 penalty... which takes the other path) computes the same
    # values up to rounding.
    X, Y = _data(30, 2, 1)
    plain, batch = Network((2, 4, 1), seed=0), Network((2, 4, 1), seed=0)
    plain.train(X, Y, epochs=5)
    batch.train(X, Y, epochs=5, nesterov=True)          # momentum 0: Nesterov changes nothing but the path
    np.testing.assert_allclose(plain.params, batch.params, rtol=1e-12)
    assert plain.optimizer_state == {"optimizer": None, "t": 0}


def test_state_is_saved_loaded_and_pickled_bit_for_bit(backend, tmp_path):
    X, Y = _data(20, 3, 3, softmax=True)
    config = dict(sizes=(3, 6, 3), activation="relu", output="softmax", loss="cross_entropy")
    for options in (dict(optimizer="adam", batch_size=4, alpha=1e-3), dict(momentum=0.8, batch_size=6),
                    dict(optimizer="irprop")):
        net = Network(seed=2, backend=backend, **config)
        net.train(X, Y, learn_rate=0.01, epochs=3, **options)
        path = tmp_path / "net.json"
        net.save(path)
        copies = [Network.load(path), pickle.loads(pickle.dumps(net)), copy.deepcopy(net)]
        for other in copies:
            assert _state_bytes(other) == _state_bytes(net)
        for other in [net, *copies]:
            other.train(X, Y, learn_rate=0.01, epochs=2, **options)
        assert len({other.params.tobytes() for other in [net, *copies]}) == 1
        assert json.loads(path.read_text())["version"] == 2


def test_version_1_files_still_load(tmp_path):
    net = Network((2, 3, 1), seed=0)
    net.save(tmp_path / "new.json")
    document = json.loads((tmp_path / "new.json").read_text())
    document["version"] = 1
    del document["optimizer"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    old = Network.load(tmp_path / "old.json")
    assert old.params.tobytes() == net.params.tobytes()
    assert old.optimizer_state == {"optimizer": None, "t": 0}


@pytest.mark.parametrize("state, pattern", [
    ({"optimizer": "rmsprop", "t": 0}, "unknown optimizer"),
    ({"optimizer": "adam", "t": -1, "m": [0.0] * 13, "v": [0.0] * 13}, "step count"),
    ({"optimizer": "adam", "t": 1, "m": [0.0] * 13}, 'lacks "v"'),
    ({"optimizer": "sgd", "t": 0, "velocity": [0.0] * 12}, "must be 13 numbers"),
    ({"optimizer": "irprop", "t": 1, "gradient": [0.0] * 13, "delta": [0.1] * 12 + [-0.1]},
     r"delta must be >= 0, got -0.1 at biases\[1\]\[0\]"),
    ({"optimizer": "adam", "t": 1, "m": [0.0] * 13, "v": [1.0] + [0.0] * 12}, None),
])
def test_load_refuses_a_bad_optimizer_state(tmp_path, state, pattern):
    net = Network((2, 3, 1), seed=0)
    net.save(tmp_path / "net.json")
    document = json.loads((tmp_path / "net.json").read_text())
    document["optimizer"] = state
    (tmp_path / "net.json").write_text(json.dumps(document))
    if pattern is None:         # a good state, for contrast: it loads
        assert Network.load(tmp_path / "net.json").optimizer_state["v"][0] == 1.0
        return
    with pytest.raises(ValueError, match=pattern):
        Network.load(tmp_path / "net.json")


def test_changing_the_optimizer_needs_a_reset():
    X, Y = _data(10, 2, 1)
    net = Network((2, 3, 1), seed=0)
    net.train(X, Y, epochs=2, optimizer="adam", batch_size=3)
    before = (net.params.tobytes(), _state_bytes(net))
    with pytest.raises(ValueError, match=r"holds Adam's optimizer state \(m, v and t\); training it "
                                         r"with optimizer='sgd' needs net.reset_optimizer\(\)"):
        net.train(X, Y, epochs=2, momentum=0.5)
    assert (net.params.tobytes(), _state_bytes(net)) == before
    net.train(X, Y, epochs=1)                   # plain SGD keeps no state: allowed, Adam's state kept
    assert net.optimizer_state["optimizer"] == "adam" and net.optimizer_state["t"] == 8
    net.reset_optimizer()
    assert net.optimizer_state == {"optimizer": None, "t": 0}
    net.train(X, Y, epochs=2, momentum=0.5)
    assert net.optimizer_state["optimizer"] == "sgd" and np.any(net.optimizer_state["velocity"])


def test_adam_counts_its_steps_in_batches():
    X, Y = _data(10, 2, 1)
    net = Network((2, 3, 1), seed=0)
    net.train(X, Y, epochs=3, optimizer="adam", batch_size=4)
    assert net.optimizer_state["t"] == 3 * 3


@pytest.mark.parametrize("options, error, pattern", [
    (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(batch_size=True), TypeError, "batch_size"),
    (dict(alpha=-0.1), ValueError, "alpha must be at least 0"),
    (dict(alpha=float("nan")), ValueError, "alpha"),
    (dict(beta_1=1.0), ValueError, r"beta_1 must be in \[0, 1\)"),
    (dict(beta_2=-0.5), ValueError, r"beta_2 must be in \[0, 1\)"),
    (dict(epsilon=0.0), ValueError, "epsilon must be greater than 0"),
    (dict(optimizer="rmsprop"), ValueError, "unknown optimizer 'rmsprop'"),
    (dict(optimizer=None), ValueError, "unknown optimizer"),
    (dict(nesterov="yes"), TypeError, "nesterov must be True or False"),
    (dict(optimizer="adam", momentum=0.9), ValueError, "momentum is not an option of Adam"),
    (dict(optimizer="irprop", beta_1=0.5), ValueError, r"beta_1 is not an option of iRPROP- \(its options: "
                                                        "learn_rate only"),
    (dict(optimizer="irprop", batch_size=4), ValueError, "iRPROP- steps on the gradient of all the samples: "
                                                         "leave batch_size unset .or give 10., got 4"),
    (dict(optimizer="sgd", epsilon=1e-3), ValueError, "epsilon is not an option of SGD"),
    (dict(momentum=1.0), ValueError, "momentum must be in"),
])
def test_bad_options_are_refused_and_change_nothing(options, error, pattern):
    X, Y = _data(10, 2, 1)
    net = Network((2, 3, 1), seed=0)
    net.train(X, Y, epochs=1, momentum=0.5)
    before = (net.params.tobytes(), _state_bytes(net), net.loss_history)
    with pytest.raises(error, match=pattern):
        net.train(X, Y, epochs=3, **options)
    assert (net.params.tobytes(), _state_bytes(net), net.loss_history) == before


# --- gradients and the full-batch objective -------------------------------------------------------

def test_gradients_agree_with_the_reference_and_across_backends():
    X, Y = _data(13, 4, 3, softmax=True)
    config = dict(sizes=(4, 5, 3), activation="tanh", output="softmax", loss="cross_entropy")
    results = []
    for backend in BACKENDS:
        net = Network(seed=4, backend=backend, **config)
        weights, biases = net.gradients(X, Y, alpha=0.2)
        assert [w.shape for w in weights] == [w.shape for w in net.weights]
        assert [b.shape for b in biases] == [b.shape for b in net.biases]
        results.append(np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(weights, biases)]))
    assert results[0].tobytes() == results[1].tobytes() == results[2].tobytes()
    expected = ReferenceMLP.of(Network(seed=4, **config)).batch_gradient(X, Y, 0.2)
    expected = np.concatenate([np.concatenate([expected[k].ravel(), expected[k + 2]]) for k in range(2)])
    np.testing.assert_allclose(results[0], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", COMPILED)
def test_the_objective_has_its_gradient(backend):
    # Central differences of the objective (mean loss + alpha/(2n) ||W||^2) match its gradient.
    X, Y = _data(11, 3, 2)
    net = Network((3, 4, 2), activation="tanh", output="sigmoid", loss="cross_entropy", seed=5,
                  backend=backend)
    Y = (Y > 0.5).astype(float)
    point = net.params
    loss, gradient = net.loss_and_gradient(X, Y, alpha=0.3, params=point)
    numeric = np.empty_like(point)
    for k in range(point.size):
        step = np.zeros_like(point)
        step[k] = 1e-6
        numeric[k] = (net.loss_and_gradient(X, Y, 0.3, point + step)[0]
                      - net.loss_and_gradient(X, Y, 0.3, point - step)[0]) / 2e-6
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)
    assert loss == pytest.approx(net.loss(X, Y) + 0.3 * sum((w ** 2).sum() for w in net.weights) / (2 * 11))
    assert net.params.tobytes() == point.tobytes()        # evaluating elsewhere changes nothing


def test_lbfgs_through_scipy():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    X, Y = _data(40, 3, 3, softmax=True)
    net = Network((3, 8, 3), activation="tanh", output="softmax", loss="cross_entropy", seed=0)
    start = net.loss_and_gradient(X, Y, 1e-3)[0]
    result = scipy_optimize.minimize(lambda p: net.loss_and_gradient(X, Y, 1e-3, p), net.params, jac=True,
                                     method="L-BFGS-B", options={"maxiter": 200})
    net.params = result.x
    assert net.loss_and_gradient(X, Y, 1e-3)[0] == pytest.approx(result.fun) and result.fun < 0.5 * start


def test_train_many_carries_the_velocities():
    X, Y = _data(12, 2, 1)
    together = [Network((2, 3, 1), seed=seed) for seed in range(3)]
    alone = [Network((2, 3, 1), seed=seed) for seed in range(3)]
    for _ in range(2):                            # the second call starts from the first's velocities
        train_many(together, X, Y, learn_rate=0.05, momentum=0.7, epochs=3, n_jobs=1)
        for net in alone:
            net.train(X, Y, learn_rate=0.05, momentum=0.7, epochs=3)
    for one, other in zip(together, alone):
        assert one.params.tobytes() == other.params.tobytes()
        assert _state_bytes(one) == _state_bytes(other)
    # A network holding Adam's state: momentum is refused as its own train refuses it (nothing
    # trained), plain SGD (which keeps no state) trains it as its own train does.
    adam = Network((2, 3, 1), seed=9)
    adam.train(X, Y, optimizer="adam", epochs=1)
    other = Network((2, 3, 1), seed=10)
    before = [adam.params.tobytes(), other.params.tobytes()]
    with pytest.raises(ValueError, match="network 0: this network holds Adam's optimizer state"):
        train_many([adam, other], X, Y, momentum=0.5)
    assert [adam.params.tobytes(), other.params.tobytes()] == before
    alone = copy.deepcopy(adam)
    train_many([adam], X, Y, epochs=2)
    alone.train(X, Y, epochs=2)
    assert adam.params.tobytes() == alone.params.tobytes() and _state_bytes(adam) == _state_bytes(alone)


def test_the_tutorial_network_trains_on_the_tutorial_kernel(backend):
    # Network((2, 2, 1)), sigmoid/sigmoid/mse, plain per-sample SGD in order: OurNeuralNetwork's
    # kernel, with exactly the results of the general kernel (called here directly).
    from tinynet._codes import net_scratch, net_work
    from tinynet._data import tutorial_data

    data, y = tutorial_data()
    net = Network((2, 2, 1), seed=3, backend=backend)
    start = net.params
    net.train(data, y, learn_rate=0.1, epochs=300, loss_every=7)
    params, velocity, losses = start.copy(), np.zeros(9), np.empty((1, 43))
    targets = np.ascontiguousarray(y.reshape(-1, 1), dtype=np.float64)
    net._kernels.net_train(params, net._sizes, *net._kernel_codes, np.ascontiguousarray(data, dtype=float),
                           targets, np.empty((0, 0), dtype=np.int64), kernel_options(learn_rate=0.1),
                           velocity, 0, 300, 7, losses,
                           *net_scratch(net.sizes), *net_work(net.sizes))
    assert net.params.tobytes() == params.tobytes()
    assert [loss for _, loss in net.loss_history] == losses[0].tolist()
    assert [epoch for epoch, _ in net.loss_history] == list(range(0, 300, 7))
