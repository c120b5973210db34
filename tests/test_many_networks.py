"""train_many over tinynet.Network: each network bit for bit as its own train(), in every backend."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet
from tinynet import Network, OurNeuralNetwork, train_many
from tinynet._backend import BACKENDS
from tinynet._codes import LANES

CONFIGS = [
    dict(sizes=(2, 16, 16, 1)),
    dict(sizes=(2, 8, 3), activation="tanh", output="softmax", loss="cross_entropy"),
    dict(sizes=(2, 5, 4, 3), activation="relu", output="softmax", loss="mse"),
    dict(sizes=(2, 6, 2), activation="sigmoid", output="sigmoid", loss="cross_entropy"),
    dict(sizes=(2, 6, 1), activation="relu", output="identity", loss="mse"),
]


def _data(n, n_out, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0) * (n_out > 2)
    Y = np.eye(n_out)[labels] if n_out > 1 else (X[:, 0] * X[:, 1] > 0).astype(float)
    return X, Y


def _canonical(values):
    """The bytes of float64 values, every NaN as the same NaN: IEEE 754 leaves a NaN's sign and payload
    to the hardware and compilers keep neither (which operand of a * b is first is theirs to choose),
    so equal-bits promises are about numbers; a NaN is a NaN."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(array), np.nan, array).tobytes()


def _bits(net):
    """Everything training leaves in a network: its parameters' bits and its loss history's."""
    return (_canonical(net.params), _canonical([loss for _, loss in net.loss_history]),
            [epoch for epoch, _ in net.loss_history])


def _nets(config, backend, count):
    return [Network(seed=seed, backend=backend, **config) for seed in range(count)]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c["sizes"])))
def test_each_network_as_its_own_train(backend, config):
    # More networks than one block (the last one padded), with their own learning rates and momenta
    # (some without: a block of each kind), in every backend.
    count = LANES + 5 if backend != "python" else 5
    X, Y = _data(60, config["sizes"][-1])
    learn_rates = np.linspace(0.005, 0.04, count)
    momenta = np.where(np.arange(count) % 3 == 0, 0.0, 0.3)
    together, alone = _nets(config, backend, count), _nets(config, backend, count)
    train_many(together, X, Y, learn_rate=learn_rates, momentum=momenta, epochs=7, loss_every=2)
    for net, learn_rate, momentum in zip(alone, learn_rates, momenta):
        net.train(X, Y, learn_rate=learn_rate, momentum=momentum, epochs=7, loss_every=2)
    for one, other in zip(together, alone):
        assert _bits(one) == _bits(other)
    assert together[0].params.tolist() != _nets(config, backend, 1)[0].params.tolist()


@pytest.mark.parametrize("backend", ["cython", "numba"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n", [5, 300])
def test_the_losses_of_a_block_as_alone(backend, dtype, n):
    # The compiled kernels sum the losses of a block's networks all at once, in vectors across its
    # lanes: over 5 samples (a leaf shorter than numpy's eight running sums) and over 300 (several
    # leaves, whose sums the walk adds; rounded to float32 in float32), each network's losses are
    # those of its own train, bit for bit, on the general kernel and on the tutorial network's.
    for config in (dict(sizes=(2, 3, 1)), dict(sizes=(2, 2, 1)),
                   dict(sizes=(2, 4, 3), activation="relu", output="softmax", loss="cross_entropy")):
        X, Y = _data(n, config["sizes"][-1])
        count = tinynet._codes.lanes(dtype) + 3
        together = [Network(seed=seed, backend=backend, dtype=dtype, **config) for seed in range(count)]
        alone = [Network(seed=seed, backend=backend, dtype=dtype, **config) for seed in range(count)]
        train_many(together, X, Y, learn_rate=0.05, epochs=3, loss_every=1)
        for net in alone:
            net.train(X, Y, learn_rate=0.05, epochs=3, loss_every=1)
        assert [_bits(net) for net in together] == [_bits(net) for net in alone]
        assert len(together[0].loss_history) == 3


def test_backends_agree():
    X, Y = _data(40, 3)
    config = CONFIGS[1]
    results = {}
    for backend in BACKENDS:
        nets = _nets(config, backend, 3)
        train_many(nets, X, Y, learn_rate=[0.1, 0.2, 0.3], momentum=0.5, epochs=4, loss_every=1)
        results[backend] = [_bits(net) for net in nets]
    assert results["cython"] == results["numba"] == results["python"]


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_diverging_and_special_path_networks_as_alone(backend):
    # Large inputs and rates: sums beyond exp's common path, overflow to inf, NaN; each network still
    # ends as its own train() leaves it, bit for bit.
    X, Y = _data(30, 1)
    X = X * 400.0
    config = dict(sizes=(2, 6, 1), activation="sigmoid", output="identity", loss="mse")
    learn_rates = np.geomspace(0.01, 1e6, 18)
    together, alone = _nets(config, backend, 18), _nets(config, backend, 18)
    with pytest.warns(RuntimeWarning, match="diverged"):
        train_many(together, X, Y, learn_rate=learn_rates, epochs=5, loss_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for net, learn_rate in zip(alone, learn_rates):
            net.train(X, Y, learn_rate=learn_rate, epochs=5, loss_every=1)
    for one, other in zip(together, alone):
        assert _bits(one) == _bits(other)
    assert not np.isfinite(together[-1].params).all()


def test_threads_give_the_same_networks():
    X, Y = _data(50, 1)
    config = CONFIGS[0]
    one, two = _nets(config, "cython", 40), _nets(config, "cython", 40)
    train_many(one, X, Y, epochs=3, n_jobs=1)
    train_many(two, X, Y, epochs=3, n_jobs=2)
    assert [_bits(net) for net in one] == [_bits(net) for net in two]


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       activation=st.sampled_from(Network.ACTIVATIONS),
       head=st.sampled_from([("sigmoid", "mse"), ("identity", "mse"), ("sigmoid", "cross_entropy"),
                             ("softmax", "cross_entropy"), ("softmax", "mse")]),
       count=st.integers(1, 2 * LANES + 1), momentum=st.sampled_from([0.0, 0.9]))
def test_any_configuration_as_alone(sizes, activation, head, count, momentum):
    output, loss = head
    n_out = max(2, sizes[-1]) if output == "softmax" else sizes[-1]
    config = dict(sizes=(2, *sizes[:-1], n_out), activation=activation, output=output, loss=loss)
    X, _ = _data(20, 1, seed=count)
    Y = np.eye(n_out)[(X[:, 0] > 0).astype(int) % n_out] if output == "softmax" else \
        (X[:, :1] > 0).astype(float) * np.ones(n_out)
    for backend in ("cython", "numba"):
        together, alone = _nets(config, backend, count), _nets(config, backend, count)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # some of these diverge, which is theirs to do
            train_many(together, X, Y, learn_rate=0.05, momentum=momentum, epochs=3, loss_every=1)
            for net in alone:
                net.train(X, Y, learn_rate=0.05, momentum=momentum, epochs=3, loss_every=1)
        assert [_bits(net) for net in together] == [_bits(net) for net in alone]


# --- refused input ---------------------------------------------------------------------------------

def _two():
    return [Network((2, 3, 1), seed=0), Network((2, 3, 1), seed=1)]


X2, Y2 = _data(10, 1)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda nets: train_many([nets[0], OurNeuralNetwork()], X2, Y2), TypeError, "not a mixture"),
    (lambda nets: train_many([nets[0], Network((3, 4, 1))], X2, Y2), ValueError,
     r"network 1: data must be 2-D with 3 columns"),
    (lambda nets: train_many(nets, X2, Y2, learn_rate=[0.1, 0.2, 0.3]), ValueError,
     r"learn_rate must be one value, or one per network \(2\)"),
    (lambda nets: train_many(nets, X2, Y2, optimizer=["sgd", "rmsprop"]), ValueError,
     r"network 1: unknown optimizer 'rmsprop'"),
    (lambda nets: train_many(nets, X2, Y2, batch_size=[1, 0]), ValueError, r"network 1: batch_size"),
    (lambda nets: train_many(nets, X2, Y2, validation=(X2[:, :1], Y2)), ValueError, "validation X"),
    (lambda nets: train_many(nets, X2, Y2, patience=0), ValueError, "patience"),
    (lambda nets: train_many(nets, X2, Y2, schedule=["cosine", "step"]), ValueError,
     "network 1: unknown schedule 'step'"),
    (lambda nets: train_many(nets, X2, Y2, learn_rate=[0.1, np.nan]), ValueError, "learn_rate"),
    (lambda nets: train_many(nets, X2, Y2, learn_rate="fast"), TypeError, "learn_rate"),
    (lambda nets: train_many(nets, X2, Y2, momentum=[0.5, 1.0]), ValueError,
     r"network 1: momentum must be in \[0, 1\), got 1.0"),
    (lambda nets: train_many(nets, X2, Y2, momentum=-0.1), ValueError, "momentum must be in"),
    (lambda nets: train_many(nets, X2[:, :1], Y2), ValueError, "data"),
    (lambda nets: train_many(nets, X2, Y2[:5]), ValueError, "all_y_trues has 5 rows but data has 10"),
    (lambda nets: train_many(nets, X2, Y2, epochs=-1), ValueError, "epochs"),
])
def test_refused_input_changes_nothing(call, error, pattern):
    nets = _two()
    before = [net.params.tobytes() for net in nets]
    with pytest.raises(error, match=pattern):
        call(nets)
    assert [net.params.tobytes() for net in nets] == before
    assert all(net.loss_history == [] for net in nets)


def test_tutorial_networks_refuse_per_network_rates_and_momentum():
    nets = [OurNeuralNetwork(), OurNeuralNetwork()]
    before = [net.params.tobytes() for net in nets]
    with pytest.raises(ValueError, match="one learn_rate per network needs Network"):
        train_many(nets, X2, Y2, learn_rate=[0.1, 0.2])
    with pytest.raises(ValueError, match="momentum needs Network"):
        train_many(nets, X2, Y2, momentum=0.5)
    assert [net.params.tobytes() for net in nets] == before


@pytest.mark.parametrize("sizes", [(2, 2, 1), (2, 3, 1)], ids=str)
def test_the_pure_python_kernels_train_no_padding(monkeypatch, sizes):
    """The pure-Python kernels train each lane as a network of its own, so their blocks hold exactly
    the networks given (the compiled kernels' are padded to LANES, stepped together in vectors): five
    networks are five trainings, not LANES, and each still ends as its own train leaves it."""
    import tinynet._python_network as network_kernels
    import tinynet._python_tutorial as tutorial_kernels

    trained = []
    train, net_train = tutorial_kernels.train, network_kernels.net_train
    monkeypatch.setattr(tutorial_kernels, "train", lambda nets, *rest: (trained.append(len(nets)),
                                                                       train(nets, *rest))[1])
    monkeypatch.setattr(network_kernels, "net_train", lambda *args: (trained.append(1), net_train(*args))[1])
    X, y = _data(12, 1)
    together, alone = _nets(dict(sizes=sizes), "python", 5), _nets(dict(sizes=sizes), "python", 5)
    train_many(together, X, y, epochs=3, loss_every=1, n_jobs=1)
    assert sum(trained) == 5
    for net in alone:
        net.train(X, y, epochs=3, loss_every=1)
    assert [_bits(net) for net in together] == [_bits(net) for net in alone]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("backend", [name for name in BACKENDS if name != "python"])
def test_the_compiled_lanes_kernels_refuse_a_block_of_another_width(backend, dtype):
    """The compiled lanes kernels step blocks of ``_codes.lanes(dtype)`` networks; a block of another
    width, which only a bug of train_many's could hand them, is refused before a step, not read and
    written past its end."""
    from tinynet._backend import load_backend
    from tinynet._codes import lanes, net_many_scratch
    from tinynet._rules import kernel_options

    if backend not in tinynet.available_backends():
        pytest.skip(f"the {backend!r} backend does not load here")
    suffix = "32" if dtype == np.float32 else ""
    tutorial, network = load_backend(backend, "tutorial" + suffix), load_backend(backend, "network" + suffix)
    net = Network((2, 3, 1), seed=0, dtype=dtype)
    X, y = _data(4, 1)
    X, y = X.astype(dtype), y.astype(dtype)
    for width in (lanes(dtype) // 2, 2 * lanes(dtype)):
        blocks = np.zeros((1, 9, width), dtype=dtype)
        with pytest.raises(ValueError, match="another width"):
            tutorial.train_many(blocks, X, y, 0.1, 0, 1, 0, np.empty((width, 1)))
        assert not blocks.any()
        blocks = np.repeat(net.params[None, :, None], width, axis=2)
        options = np.repeat(kernel_options(learn_rate=0.1), width).reshape(1, width)
        with pytest.raises(ValueError, match="another width"):
            network.net_train_many(blocks, net._sizes, *net._kernel_codes, X, y[:, None], options,
                                   np.zeros_like(blocks), 0, 1, 0, np.empty((width, 1)),
                                   *net_many_scratch(net.sizes, dtype))
        assert (blocks == net.params[:, None]).all()
