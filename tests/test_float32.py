"""float32 Networks: every operation in float32, the same bits in every backend and at every level of
the extension, checked against float32 arithmetic written out by hand; input conversion, files, pickles,
ONNX, and what is refused."""

import copy
import json
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet
from tinynet import Network
from tinynet._backend import runnable_levels, using_level
from tinynet._codes import lanes

F = np.float32


def _problem(sizes, output, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, sizes[0]))
    if output == "softmax":
        return X, rng.integers(0, sizes[-1], n)
    return X, (rng.random((n, sizes[-1])) < 0.5).astype(float)


#: Configurations whose kernels take every path: narrow layers (the public layout), wide ones (the
#: working layout and its tiles: rows of one stride of 16 floats, mostly padding at widths 8 to 15, and
#: past it), softmax, scikit-learn's losses.
CONFIGS = [
    ((3, 5, 2), "sigmoid", "sigmoid", "mse"),
    ((6, 12, 9, 3), "tanh", "softmax", "cross_entropy"),
    ((5, 20, 17, 3), "tanh", "softmax", "cross_entropy"),
    ((9, 33, 1), "relu", "identity", "mse"),
    ((4, 40, 3), "leaky_relu", "sigmoid", "cross_entropy"),
]
#: Training options of every kernel: per sample (with and without momentum, shuffled), batches of
#: every optimizer with L2, a batch of one (the fused sample update), full batch.
OPTIONS = [
    dict(learn_rate=0.02, epochs=3, loss_every=1),
    dict(learn_rate=0.005, epochs=2, momentum=0.5, shuffle=True, loss_every=1),
    dict(learn_rate=0.01, epochs=2, batch_size=7, momentum=0.9, nesterov=True, alpha=1e-3),
    dict(learn_rate=0.01, epochs=3, batch_size=16, optimizer="adam", alpha=1e-3, loss_every=1),
    dict(learn_rate=0.01, epochs=2, batch_size=1, optimizer="adam", alpha=1e-2),
    dict(epochs=3, optimizer="irprop", loss_every=1),
]


def _run(config, options, backend, seed=3):
    sizes, activation, output, loss = config
    X, Y = _problem(sizes, output)
    net = Network(sizes, activation, output, loss, seed=seed, backend=backend, dtype="float32")
    net.train(X, Y, **options)
    return (net.params, net.loss_history, net.optimizer_state, net.predict(X), net.loss(X, Y),
            net.gradients(X, Y, alpha=1e-3))


def _same(a, b):
    """Equal bit for bit (float32 arrays of one dtype), through tuples, lists and dicts; any NaN equals
    any NaN (its payload is the hardware's to choose)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, float)):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        same_bits = a.view(f"u{a.itemsize}") == b.view(f"u{b.itemsize}")
        return bool((same_bits | (np.isnan(a) & np.isnan(b))).all())
    return a == b


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}")
def test_every_backend_and_level_computes_the_same_float32_bits(config, options):
    expected = _run(config, options, "python")
    assert expected[0].dtype == np.float32 and expected[3].dtype == np.float32
    assert _same(_run(config, options, "numba"), expected)
    for level in runnable_levels():
        with using_level(level):
            assert _same(_run(config, options, "cython"), expected), level


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=2, max_size=4),
       combo=st.sampled_from([(activation, output, loss) for _, activation, output, loss in CONFIGS]),
       options=st.sampled_from(OPTIONS), seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 30.0]))
def test_random_float32_networks_identical_on_every_backend(sizes, combo, options, seed, scale):
    """Random layer sizes (narrow and wide, strides of 16 floats and past them), activations, training
    options and input scales (30: saturating sigmoids and tanhs, exps near their edges)."""
    if combo[1] == "softmax" and sizes[-1] < 2:
        sizes = [*sizes[:-1], 2]
    rng = np.random.default_rng(seed)
    X = rng.normal(0, scale, (12, sizes[0]))
    Y = rng.integers(0, sizes[-1], 12) if combo[1] == "softmax" else rng.uniform(0, 1, (12, sizes[-1]))
    results = []
    for backend in ("python", "numba", "cython"):
        net = Network(tuple(sizes), *combo, seed=seed, backend=backend, dtype="float32")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # a run that diverges: still the same bits
            net.train(X, Y, **options)
        results.append((net.params, net.loss_history, net.optimizer_state, net.predict(X)))
    assert _same(results[1], results[0]) and _same(results[2], results[0])


def _sigmoid32(s):
    return F(1) / (F(1) + tinynet.exp(np.array([-s], F))[0])


def test_the_forward_pass_and_a_step_are_float32_arithmetic_written_out(backend):
    """The tutorial's network in float32, one sample: its output and one SGD step, each operation a
    numpy float32 scalar operation in the tutorial's order (tinynet's float32 exp for e^x)."""
    net = Network((2, 2, 1), seed=0, backend=backend, dtype="float32")
    w1, w2, w3, w4, b1, b2, w5, w6, b3 = (F(v) for v in net.params)
    x0, x1, y, lr = F(0.7), F(-1.3), F(1), F(0.1)
    # forward: s = w * x summed in order, plus the bias
    h1 = _sigmoid32(w1 * x0 + w2 * x1 + b1)
    h2 = _sigmoid32(w3 * x0 + w4 * x1 + b2)
    o1 = _sigmoid32(w5 * h1 + w6 * h2 + b3)
    assert net.predict([[x0, x1]])[0] == o1
    # one step: g = learn_rate * dL/da (mse of one output: 2 (a - y) / 1), f' = a (1 - a)
    g = lr * ((F(2) * (o1 - y)) / F(1))
    fo, f1, f2 = o1 * (F(1) - o1), h1 * (F(1) - h1), h2 * (F(1) - h2)
    g1, g2 = g * (w5 * fo), g * (w6 * fo)            # back through the weights before the step
    expected = [w1 - g1 * (x0 * f1), w2 - g1 * (x1 * f1), w3 - g2 * (x0 * f2), w4 - g2 * (x1 * f2),
                b1 - g1 * f1, b2 - g2 * f2, w5 - g * (h1 * fo), w6 - g * (h2 * fo), b3 - g * fo]
    net.train([[x0, x1]], [y], learn_rate=0.1, epochs=1, loss_every=0)
    assert net.params.tolist() == [float(v) for v in expected]


def test_hyperparameters_arithmetic_is_in_double_as_the_peers_do(backend):
    """Adam's first step in float32: m = (1 - beta_1) g and v = (1 - beta_2) g * g, each 1 - beta computed
    from the double hyperparameter and rounded once (as numpy, scikit-learn, PyTorch and JAX compute
    a Python float's arithmetic): float32(0.001), not 1 - float32(0.999) = 0.00099998713."""
    X, Y = _problem((3, 20, 2), "sigmoid")
    net = Network((3, 20, 2), seed=0, backend=backend, dtype="float32")
    weights, biases = net.gradients(X, Y)
    g = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(weights, biases)])
    net.train(X, Y, epochs=1, batch_size=len(X), optimizer="adam", beta_1=0.9, beta_2=0.999)
    state = net.optimizer_state
    assert _same(state["m"], F(1 - 0.9) * g)
    assert _same(state["v"], F(1 - 0.999) * (g * g))
    assert F(1 - 0.999) != F(1) - F(0.999)                  # (what a float32 subtraction would give)


def test_float32_training_follows_float64_training():
    """The same network trained in float32 and in float64 from the same start stays within float32's
    precision of it (a check of the arithmetic's meaning; the bits are float32's own)."""
    X, Y = _problem((5, 20, 17, 3), "softmax")
    start = Network((5, 20, 17, 3), "tanh", "softmax", "cross_entropy", seed=1).params
    nets = []
    for dtype in ("float64", "float32"):
        net = Network((5, 20, 17, 3), "tanh", "softmax", "cross_entropy", dtype=dtype)
        net.params = start
        net.train(X, Y, learn_rate=0.05, epochs=5, batch_size=8, optimizer="adam")
        nets.append(net)
    assert nets[1].params.dtype == np.float32
    np.testing.assert_allclose(nets[1].params, nets[0].params, rtol=1e-4, atol=1e-5)
    assert not np.array_equal(nets[1].params, nets[0].params.astype(F))      # float32's own rounding


def test_input_of_another_type_is_converted_once(backend):
    net = Network((3, 4, 2), seed=0, backend=backend, dtype=np.float32)
    X = np.random.default_rng(0).normal(0, 1, (6, 3))          # float64: rounded to float32
    assert net.predict(X).dtype == np.float32
    assert np.array_equal(net.predict(X), net.predict(X.astype(F)))
    assert np.array_equal(net.predict(X.tolist()), net.predict(X.astype(F)))
    net.params = np.full(net.params.size, 0.1)                  # float64 0.1, rounded
    assert net.params.dtype == np.float32 and (net.params == F(0.1)).all()


@pytest.mark.parametrize("where", ["X", "Y", "params", "optimizer state"])
def test_values_beyond_float32s_range_are_refused(where):
    net = Network((3, 4, 1), seed=0, dtype="float32")
    net.train(np.ones((4, 3)), np.ones(4), epochs=1, batch_size=2, optimizer="adam")
    before = (net.params, net.optimizer_state, list(net.loss_history))
    X, Y = np.ones((4, 3)), np.ones(4)
    with pytest.raises(ValueError, match="beyond float32's range"):
        if where == "X":
            X[2, 1] = 1e39
            net.train(X, Y, epochs=1)
        elif where == "Y":
            Y[3] = -1e39
            net.loss(X, Y)
        elif where == "params":
            net.params = np.full(net.params.size, 3.5e38)
        else:
            state = net.optimizer_state         # as a file or a pickle holds it
            net._set_state({**state, "m": [1e40, *state["m"][1:].tolist()], "v": state["v"].tolist()})
    assert _same((net.params, net.optimizer_state, list(net.loss_history)), before)


def test_the_largest_float32_is_accepted():
    net = Network((1, 1), "sigmoid", "identity", seed=0, dtype="float32")
    largest = float(np.finfo(F).max)
    net.params = [largest, -largest]
    assert net.params.tolist() == [largest, -largest]


@pytest.mark.parametrize("dtype, error", [("float16", ValueError), ("int32", ValueError),
                                          (np.complex64, ValueError), ("float", None),
                                          ("no such type", TypeError), (object(), TypeError)])
def test_the_dtype_argument(dtype, error):
    if error is None:                           # numpy's "float" is float64
        assert Network((2, 1), dtype=dtype).dtype == np.float64
        return
    with pytest.raises(error, match="dtype must be 'float64' or 'float32'"):
        Network((2, 1), dtype=dtype)


def test_dtype_is_shown_and_read_only():
    net = Network((2, 3, 1), dtype="f4")
    assert net.dtype == np.float32 and "dtype='float32'" in repr(net)
    assert "dtype" not in repr(Network((2, 3, 1)))
    with pytest.raises(AttributeError):
        net.dtype = np.float64
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)


def test_files_and_pickles_keep_the_dtype(tmp_path):
    X, Y = _problem((4, 20, 3), "softmax")
    net = Network((4, 20, 3), "relu", "softmax", "cross_entropy", seed=0, dtype="float32")
    net.train(X, Y, epochs=2, batch_size=8, optimizer="adam")
    net.save(tmp_path / "net.json")
    document = json.loads((tmp_path / "net.json").read_text())
    assert document["version"] == 3 and document["dtype"] == "float32"
    for restored in (Network.load(tmp_path / "net.json"), pickle.loads(pickle.dumps(net))):
        assert restored.dtype == np.float32 and _same(restored.params, net.params)
        assert _same(restored.optimizer_state, net.optimizer_state)
        restored.train(X, Y, epochs=1, batch_size=8, optimizer="adam")
    # a float64 network's file is as before: version 2, no dtype (older tinynets read it)
    Network((2, 1)).save(tmp_path / "net64.json")
    document = json.loads((tmp_path / "net64.json").read_text())
    assert document["version"] == 2 and "dtype" not in document
    assert Network.load(tmp_path / "net64.json").dtype == np.float64


@pytest.mark.parametrize("config", [((2, 2, 1), "sigmoid", "sigmoid", "mse"),
                                    ((4, 20, 3), "relu", "softmax", "cross_entropy")], ids=str)
def test_train_many_of_float32_networks_trains_each_as_alone(backend, config):
    sizes, _, output, _ = config
    X, Y = _problem(sizes, output)
    # compiled: a whole block (of the float32 kernels' width) and a padded one
    count = lanes(np.float32) + 3 if backend != "python" else 5
    rates = np.linspace(0.01, 0.1, count)
    together = [Network(*config, seed=seed, backend=backend, dtype="float32") for seed in range(count)]
    tinynet.train_many(together, X, Y, learn_rate=rates, momentum=0.5, epochs=3, loss_every=1)
    for seed, (net, rate) in enumerate(zip(together, rates)):
        alone = Network(*config, seed=seed, backend="python", dtype="float32")
        alone.train(X, Y, learn_rate=float(rate), momentum=0.5, epochs=3, loss_every=1)
        assert _same((net.params, net.optimizer_state, net.loss_history),
                     (alone.params, alone.optimizer_state, alone.loss_history))


@pytest.mark.parametrize("n", [5, 60, 300])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_train_many_of_tutorial_networks_runs_the_tutorial_kernel_as_alone(backend, dtype, n, monkeypatch):
    """Network((2, 2, 1)) of sigmoid and mse, no momentum, one learning rate: train_many takes the
    tutorial's lanes kernel (straight-line code), and each network ends as it does alone, its losses
    included (summed for the whole block at once in the extension: 5 samples make a leaf shorter than
    numpy's eight running sums, 300 several leaves whose sums the walk adds, rounded to float32 in
    float32)."""
    import tinynet._many as many

    calls = []
    original = many._train_tutorial_networks_block
    monkeypatch.setattr(many, "_train_tutorial_networks_block",
                        lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    monkeypatch.setitem(many._KERNELS, many._train_tutorial_networks_block, ("tutorial", "train_many"))
    X, Y = _problem((2, 2, 1), "sigmoid", n=n)
    together = [Network((2, 2, 1), seed=seed, backend=backend, dtype=dtype) for seed in range(19)]
    tinynet.train_many(together, X, Y, learn_rate=0.3, epochs=3, loss_every=1)
    assert calls
    for seed, net in enumerate(together):
        alone = Network((2, 2, 1), seed=seed, backend="python", dtype=dtype)
        alone.train(X, Y, learn_rate=0.3, epochs=3, loss_every=1)
        assert net.params.dtype == np.dtype(dtype)
        assert _same((net.params, net.optimizer_state, net.loss_history),
                     (alone.params, alone.optimizer_state, alone.loss_history))


def test_train_many_of_a_mixture_of_dtypes_trains_each_as_alone():
    X, Y = np.linspace(-1, 1, 8).reshape(4, 2), np.array([0.0, 1.0, 1.0, 0.0])
    mixed = [Network((2, 3, 1), seed=0), Network((2, 3, 1), seed=1, dtype="float32"),
             Network((2, 3, 1), seed=2, dtype="float32")]
    alone = [copy.deepcopy(net) for net in mixed]
    tinynet.train_many(mixed, X, Y, epochs=5, learn_rate=[0.1, 0.2, 0.3])
    for net, other, rate in zip(mixed, alone, [0.1, 0.2, 0.3]):
        other.train(X, Y, epochs=5, learn_rate=rate)
        assert net.params.dtype == other.params.dtype
        assert net.params.tobytes() == other.params.tobytes() and net.loss_history == other.loss_history


@pytest.mark.parametrize("activation, output", [("relu", "softmax"), ("leaky_relu", "sigmoid"),
                                                ("tanh", "identity")])
def test_onnx_graph_of_a_float32_network(activation, output):
    pytest.importorskip("onnx")
    runtime = pytest.importorskip("onnxruntime")
    net = Network((6, 20, 3), activation, output, seed=1, dtype="float32")
    X = np.random.default_rng(0).normal(0, 1, (50, 6)).astype(F)
    model = net.to_onnx()
    assert model.graph.input[0].type.tensor_type.elem_type == 1            # FLOAT
    session = runtime.InferenceSession(model.SerializeToString())
    Y = session.run(None, {"X": X})[0]
    assert Y.dtype == np.float32
    np.testing.assert_allclose(Y, net.predict(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [(6, 20, 17, 9, 3), (6, 33, 3), (6, 40, 24, 3)])
def test_per_sample_training_of_wide_layers_agrees_everywhere(dtype, sizes):
    """The per-sample kernel sends g back through a transposed copy of the layers after the first
    where a vector holds 8 or more (floats at v3; tn_back_by_copy), kept equal to the weights by each
    update, velocities too: several such layers, with and without momentum, give every backend's bits."""
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((40, 6)), np.eye(3)[rng.integers(0, 3, 40)]
    for momentum in (0.0, 0.9):
        results = []
        for backend in ("cython", "numba", "python"):
            net = Network(sizes, "tanh", "softmax", "cross_entropy", seed=3, backend=backend, dtype=dtype)
            net.train(X, Y, learn_rate=0.05, epochs=3, momentum=momentum, shuffle=True, loss_every=1)
            state = {key: np.asarray(value).tobytes() for key, value in net.optimizer_state.items()}
            results.append((net.params.tobytes(), state, net.loss_history))
        assert results[0] == results[1] == results[2]
