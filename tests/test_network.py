"""tinynet.Network: parity between backends, the numpy reference, the tutorial equivalence, input."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_network import ReferenceMLP

import tinynet._training
from tinynet import Network, OurNeuralNetwork
from tinynet._backend import BACKENDS

from reference import TUTORIAL_DATA, TUTORIAL_Y

COMBOS = [(a, o, loss) for a in Network.ACTIVATIONS for o in ("sigmoid", "identity", "softmax")
          for loss in ("mse", "cross_entropy") if not (loss == "cross_entropy" and o == "identity")]


def _data(sizes, output, n=23, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1.5, (n, sizes[0]))
    Y = rng.integers(0, sizes[-1], n) if output == "softmax" else rng.uniform(0, 1, (n, sizes[-1]))
    return X, Y


def _run(backend, sizes, combo, X, Y, **options):
    net = Network(sizes, *combo, seed=3, backend=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.train(X, Y, **options)
    # repr: NaN equals NaN, and -0.0 differs from 0.0
    return repr((net.params.tolist(), net.loss_history, net.predict(X).tolist(), net.loss(X, Y),
                 [str(w.message) for w in caught]))


@pytest.mark.parametrize("combo", COMBOS, ids=["-".join(c) for c in COMBOS])
@pytest.mark.parametrize("sizes", [(3, 4, 2), (2, 5, 4, 3)], ids=str)
def test_backends_identical(sizes, combo):
    X, Y = _data(sizes, combo[1])
    options = dict(learn_rate=0.1, epochs=12, shuffle=True, momentum=0.3, loss_every=4)
    results = {backend: _run(backend, sizes, combo, X, Y, **options) for backend in BACKENDS}
    assert results["cython"] == results["numba"] == results["python"]


@pytest.mark.parametrize("combo", COMBOS, ids=["-".join(c) for c in COMBOS])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_against_numpy_reference(backend, combo, momentum):
    sizes = (3, 6, 5, 2)
    X, Y = _data(sizes, combo[1], n=17)
    net = Network(sizes, *combo, seed=5, backend=backend)
    targets = np.eye(2)[Y] if combo[1] == "softmax" else Y
    ref = ReferenceMLP(sizes, *combo, net.weights, net.biases)
    assert net.loss(X, Y) == pytest.approx(ref.loss(X, targets), rel=1e-13)
    net.train(X, Y, learn_rate=0.05, epochs=6, momentum=momentum, loss_every=0)
    ref.train(X, targets, learn_rate=0.05, epochs=6, momentum=momentum)
    for ours, theirs in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.predict(X), ref.predict(X).squeeze(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", range(0, 100, 25))
def test_221_network_is_our_neural_network_bit_for_bit(backend, seed):
    np.random.seed(seed)
    ours = OurNeuralNetwork(backend=backend)
    net = Network.from_tutorial(ours)
    ours.train(TUTORIAL_DATA, TUTORIAL_Y, verbose=False)
    net.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=1000)
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = ours.params.tolist()
    assert net.weights[0].tolist() == [[w1, w2], [w3, w4]] and net.weights[1].tolist() == [[w5, w6]]
    assert net.biases[0].tolist() == [b1, b2] and net.biases[1].tolist() == [b3]
    assert net.loss_history == ours.loss_history
    assert net.predict(TUTORIAL_DATA).tolist() == ours.predict(TUTORIAL_DATA).tolist()


def test_shuffle_is_seeded_and_chunk_independent(backend, monkeypatch):
    X, Y = _data((3, 4, 1), "sigmoid", n=30)
    runs = []
    for chunk_steps in (1 << 18, 50, 1):
        monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", chunk_steps)
        net = Network((3, 4, 1), seed=11, backend=backend)
        net.train(X, Y, epochs=9, shuffle=True, loss_every=2)
        runs.append((net.params.tolist(), net.loss_history))
    assert runs[0] == runs[1] == runs[2]
    other = Network((3, 4, 1), seed=12, backend=backend)
    other.params = Network((3, 4, 1), seed=11).params
    other.train(X, Y, epochs=9, shuffle=True)
    assert other.params.tolist() != runs[0][0]          # another seed, another order
    plain = Network((3, 4, 1), seed=11, backend=backend)
    plain.train(X, Y, epochs=9)
    assert plain.params.tolist() != runs[0][0]          # shuffling changes the order


def test_integer_labels_are_one_hot(backend):
    X, labels = _data((3, 4, 3), "softmax")
    one_hot = np.eye(3)[labels]
    a = Network((3, 4, 3), output="softmax", loss="cross_entropy", seed=1, backend=backend)
    b = Network((3, 4, 3), output="softmax", loss="cross_entropy", seed=1, backend=backend)
    a.train(X, labels, epochs=5)
    b.train(X, one_hot, epochs=5)
    assert a.params.tolist() == b.params.tolist()
    assert a.predict(X).shape == (len(X), 3)
    np.testing.assert_allclose(a.predict(X).sum(axis=1), 1.0, rtol=1e-15)


def test_weights_and_biases_are_views(backend):
    net = Network((2, 3, 1), backend=backend)
    assert [w.shape for w in net.weights] == [(3, 2), (1, 3)]
    assert [b.shape for b in net.biases] == [(3,), (1,)]
    net.weights[1][0, 2] = 7.5
    net.biases[0][:] = [1, 2, 3]
    params = net.params
    assert params[6:9].tolist() == [1.0, 2.0, 3.0] and params[11] == 7.5
    assert net.predict([[0.0, 0.0]]).shape == (1,)


def test_initialisation(backend):
    glorot = Network((100, 50, 10), seed=0, backend=backend)
    limit = np.sqrt(6 / 150)
    assert np.abs(glorot.weights[0]).max() <= limit and np.abs(glorot.weights[0]).max() > 0.9 * limit
    assert not glorot.biases[0].any()
    he = Network((400, 300, 1), activation="relu", seed=0, backend=backend)
    assert he.weights[0].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    normal = Network((2, 2, 1), init="normal", seed=0, backend=backend)
    assert normal.params.tolist() == np.random.default_rng(0).standard_normal(9).tolist()
    assert Network((3, 3), seed=4).params.tolist() == Network((3, 3), seed=4).params.tolist()


def test_save_load_and_pickle(backend, tmp_path):
    net = Network((3, 5, 2), "tanh", "softmax", "cross_entropy", seed=2, backend=backend)
    net.train(*_data((3, 5, 2), "softmax"), epochs=3)
    net.save(tmp_path / "net.json")
    loaded = Network.load(tmp_path / "net.json", backend=backend)
    clone = pickle.loads(pickle.dumps(net))
    for other in (loaded, clone):
        assert other.params.view(np.int64).tolist() == net.params.view(np.int64).tolist()
        assert (other.sizes, other.activation, other.output, other.loss_name) == \
            ((3, 5, 2), "tanh", "softmax", "cross_entropy")
    assert clone.loss_history == net.loss_history
    (tmp_path / "bad.json").write_text('{"format": "tinynet.Network", "version": 1}')
    with pytest.raises(ValueError, match="fields missing: sizes, activation, output, loss, params"):
        Network.load(tmp_path / "bad.json")


@pytest.mark.parametrize("args, kwargs, error, pattern", [
    (((2,),), {}, ValueError, "sizes must be at least two positive integers"),
    (((2, 0, 1),), {}, ValueError, "sizes must be at least two positive integers"),
    (((2, 2.5, 1),), {}, ValueError, "sizes must be at least two positive integers"),
    (((2, 2, 1),), {"activation": "softsign"}, ValueError, "unknown activation 'softsign'"),
    (((2, 2, 1),), {"output": "tanh"}, ValueError, "unknown output 'tanh'"),
    (((2, 2, 1),), {"loss": "hinge"}, ValueError, "unknown loss 'hinge'"),
    (((2, 2, 1),), {"init": "zeros"}, ValueError, "unknown init 'zeros'"),
    (((2, 2, 1),), {"output": "identity", "loss": "cross_entropy"}, ValueError,
     "'cross_entropy' needs a 'sigmoid' or 'softmax' output"),
    (((2, 2, 1),), {"output": "softmax"}, ValueError, "'softmax' output needs at least 2 outputs"),
    (((2, 2, 1),), {"seed": 1.5}, TypeError, "seed must be an integer or None"),
])
def test_bad_construction(args, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        Network(*args, **kwargs)


@pytest.mark.parametrize("X, Y, kwargs, error, pattern", [
    (np.zeros((4, 2)), np.zeros(4), {}, ValueError, r"X must be 2-D with 3 columns"),
    (np.zeros((4, 3)), np.zeros((4, 3)), {}, ValueError, r"Y must have shape \(4, 2\) for 2 outputs"),
    (np.zeros((4, 3)), np.zeros((5, 2)), {}, ValueError, r"Y has 5 rows but X has 4 samples"),
    (np.zeros((4, 3)), np.full((4, 2), np.nan), {}, ValueError, r"Y must be finite"),
    (np.zeros((4, 3)), [["a", "b"]] * 4, {}, TypeError, r"Y must hold real numbers"),
    (np.zeros((4, 3)), np.zeros((4, 2)), {"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\)"),
    (np.zeros((4, 3)), np.zeros((4, 2)), {"epochs": -1}, ValueError, r"epochs must be >= 0"),
])
def test_bad_training_input_changes_nothing(X, Y, kwargs, error, pattern):
    net = Network((3, 4, 2), seed=0)
    before = net.params.tolist()
    with pytest.raises(error, match=pattern):
        net.train(X, Y, **kwargs)
    assert net.params.tolist() == before


def test_bad_targets_for_classification():
    net = Network((3, 4, 3), output="softmax", loss="cross_entropy")
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"class labels must be in 0..2, got 0..3"):
        net.train(X, [0, 3])
    with pytest.raises(ValueError, match="rows must sum to 1"):
        net.train(X, [[0.5, 0.2, 0.2], [1, 0, 0]])
    binary = Network((3, 2, 1), loss="cross_entropy")
    with pytest.raises(ValueError, match="between 0 and 1"):
        binary.train(X, [0, 2])


@pytest.mark.parametrize("options", [dict(), dict(momentum=0.5, shuffle=True), dict(batch_size=16,
                                     optimizer="adam", alpha=1e-3)], ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("config", [((5, 20, 17, 3), "tanh", "softmax", "cross_entropy"),
                                    ((4, 40, 3), "leaky_relu", "sigmoid", "cross_entropy"),
                                    ((9, 33, 1), "relu", "identity", "mse"),
                                    ((6, 24, 4), "sigmoid", "softmax", "mse")], ids=str)
def test_losses_of_wide_networks_identical_on_every_backend(config, options):
    # Layers of NARROW neurons or more train in the working layout, whose tiles the compiled kernels'
    # losses go through too (the output layer's sums copied out for the cross-entropies): the same
    # losses as the pure-Python backend's plain loops, over several of numpy's pairwise leaves.
    sizes, activation, output, loss = config
    X, Y = _data(sizes, output, n=300)
    results = {backend: _run(backend, sizes, (activation, output, loss), X, Y, learn_rate=0.02, epochs=3,
                             loss_every=1, **options) for backend in BACKENDS}
    assert results["cython"] == results["numba"] == results["python"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_and_loss_the_same_through_the_tiles_and_the_plain_loops(backend, dtype, monkeypatch):
    # From TILED_SAMPLES samples on, the compiled kernels run a wide network through the working
    # layout's tiles; the numbers are those of the plain loops, whichever way a call goes.
    import tinynet._codes

    for sizes, combo in (((5, 20, 17, 3), ("tanh", "softmax", "cross_entropy")),
                         ((4, 40, 3), ("leaky_relu", "sigmoid", "cross_entropy")),
                         ((9, 33, 1), ("relu", "identity", "mse"))):
        X, Y = _data(sizes, combo[1], n=45)
        net = Network(sizes, *combo, seed=2, backend=backend, dtype=dtype)
        results = []
        for threshold in (1, 10**9):
            monkeypatch.setattr(tinynet._codes, "TILED_SAMPLES", threshold)
            results.append((net.predict(X).tobytes(), net.loss(X, Y), net.predict(X[:3]).tobytes()))
        assert results[0] == results[1]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), combo=st.sampled_from(COMBOS),
       seed=st.integers(0, 2**16), learn_rate=st.floats(0.001, 2.0), shuffle=st.booleans(),
       momentum=st.sampled_from([0.0, 0.9]), scale=st.sampled_from([1.0, 1e3]))
def test_random_networks_identical_on_every_backend(sizes, combo, seed, learn_rate, shuffle, momentum,
                                                    scale):
    if combo[1] == "softmax" and sizes[-1] < 2:
        sizes = [*sizes[:-1], 2]
    rng = np.random.default_rng(seed)
    X = rng.normal(0, scale, (9, sizes[0]))
    Y = rng.integers(0, sizes[-1], 9) if combo[1] == "softmax" else rng.uniform(0, 1, (9, sizes[-1]))
    options = dict(learn_rate=learn_rate, epochs=4, shuffle=shuffle, momentum=momentum, loss_every=1)
    results = {backend: _run(backend, tuple(sizes), combo, X, Y, **options) for backend in BACKENDS}
    assert results["cython"] == results["numba"] == results["python"]


def test_verbose_lines(backend, capsys):
    X, Y = _data((3, 4, 1), "sigmoid")
    net = Network((3, 4, 1), seed=0, backend=backend)
    net.train(X, Y, epochs=25, verbose=True, loss_every=10)
    assert capsys.readouterr().out.splitlines() == ["Epoch %d loss: %.3f" % pair for pair in net.loss_history]
    assert [epoch for epoch, _ in net.loss_history] == [0, 10, 20]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes", [(2, 2, 1), (64, 32, 10), (7, 13, 3, 5), (784, 128, 10)])
def test_kernel_scratch_starts_on_cache_lines(sizes, dtype):
    """The kernels' scratch and working arrays, and each of their rows, start on a cache line: at the
    16 bytes numpy promises, half of the AVX2 accesses along a row would cross one (two accesses each);
    float32 networks' are float32 (rows of the working layout a multiple of 16 floats)."""
    from tinynet._codes import ALIGN, lanes, net_many_scratch, net_scratch, net_work
    from tinynet._many import _to_blocks

    blocks = _to_blocks(np.arange(3 * 9, dtype=dtype).reshape(3, 9), lanes(dtype))
    arrays = [*net_scratch(sizes, dtype), *net_work(sizes, dtype), *net_many_scratch(sizes, dtype), blocks]
    for array in arrays:
        assert array.dtype == dtype and array.flags.c_contiguous
        assert array.ctypes.data % ALIGN == 0
        assert all(stride % ALIGN == 0 for stride in array.strides[:-1])
    assert blocks.shape == (1, 9, lanes(dtype))
    assert net_many_scratch(sizes, dtype)[0].shape == (sum(sizes), lanes(dtype))
    assert blocks[0, :, :3].T.tolist() == np.arange(27.0).reshape(3, 9).tolist()
