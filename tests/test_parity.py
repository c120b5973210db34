"""The three backends agree bit for bit (``==``), on any data, learning rate, epochs and weights."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinynet._training
from tinynet import OurNeuralNetwork
from tinynet._backend import BACKENDS, load_backend

from reference import TUTORIAL_DATA, TUTORIAL_Y, ReferenceNetwork, tiny_exp

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _train_everywhere(params, data, y, learn_rate, epochs, loss_every=10):
    """Train a network from ``params`` on every backend.

    Returns {backend: (params, losses, predictions, warnings)}; a diverging run warns (once).
    """
    results = {}
    for name in BACKENDS:
        net = OurNeuralNetwork(backend=name)
        net.params = params
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.train(data, y, learn_rate=learn_rate, epochs=epochs, verbose=False,
                      loss_every=loss_every)
        results[name] = (net.params, np.array([loss for _, loss in net.loss_history]),
                         net.predict(data), np.array([str(w.message) for w in caught]))
    return results


def _assert_identical(results):
    expected = results["python"]
    for name, got in results.items():
        for what, a, b in zip(("params", "losses", "predictions", "warnings"), got, expected):
            # equal_nan: a diverged run is NaN on every backend alike
            assert np.array_equal(a, b, equal_nan=what != "warnings"), f"{name} {what}: {a!r} != {b!r}"


def test_tutorial_training_identical():
    np.random.seed(1)
    params = np.random.normal(size=9)
    results = _train_everywhere(params, TUTORIAL_DATA, TUTORIAL_Y, 0.1, 1000)
    _assert_identical(results)
    assert len(results["cython"][1]) == 100


@settings(max_examples=60, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(2)),
                    elements=st.floats(-1e6, 1e6)),
    params=hnp.arrays(np.float64, 9, elements=st.floats(-1e3, 1e3)),
    labels_seed=st.integers(0, 2**32 - 1),
    learn_rate=st.floats(0, 10, exclude_min=True),      # > 0: train refuses others
    epochs=st.integers(0, 25),
    loss_every=st.integers(0, 4),
)
def test_random_training_identical(data, params, labels_seed, learn_rate, epochs, loss_every):
    y = np.random.default_rng(labels_seed).uniform(-2, 2, len(data))
    _assert_identical(_train_everywhere(params, data, y, learn_rate, epochs, loss_every))


@settings(max_examples=30, deadline=None)
@given(params=hnp.arrays(np.float64, 9, elements=finite), data=hnp.arrays(
    np.float64, st.tuples(st.integers(1, 10), st.just(2)), elements=finite))
def test_any_scale_identical(params, data):
    """Weights and data of any finite size: overflow to inf and NaN happen alike everywhere."""
    y = np.zeros(len(data))
    _assert_identical(_train_everywhere(params, data, y, 0.1, 5, loss_every=1))


def test_saturating_data_identical():
    """Unscaled data (|x| up to 1e6): the sigmoid saturates and exp overflows."""
    rng = np.random.default_rng(7)
    data = rng.uniform(-1e6, 1e6, size=(64, 2))
    y = (data[:, 0] < 0).astype(float)
    params = rng.normal(size=9)
    # The hidden neurons' sums reach far beyond exp's overflow point (about 709.78).
    sum_h1 = data @ params[[0, 1]] + params[6]
    assert (sum_h1 < -710).any() and (sum_h1 > 710).any()
    results = _train_everywhere(params, data, y, 0.1, 50)
    _assert_identical(results)
    assert np.isfinite(results["python"][0]).all()


def test_matches_the_reference_with_tinynet_exp_on_saturating_data(backend):
    """The tutorial's own arithmetic with tinynet's exp, beyond exp's overflow point."""
    data = np.array([[800.0, -3.0], [-900.0, 2.0], [5.0, 1e6], [-1e6, -1e6]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    params = np.array([1.5, -0.5, -2.0, 0.25, 3.0, -1.0, 0.1, -0.2, 0.3])
    ref = ReferenceNetwork(params, exp=tiny_exp)
    with np.errstate(all="ignore"):
        _, ref_losses = ref.train(data, y, epochs=30)
    net = OurNeuralNetwork(backend=backend)
    net.params = params
    net.train(data, y, epochs=30, verbose=False)
    assert net.params.tolist() == ref.params.tolist()
    assert net.loss_history == ref_losses


@pytest.mark.parametrize("x", [-1e6, -745.2, -709.8, -709.78, -40.0, -1.0, -0.0, 0.0, 1e-300, 0.5,
                               36.0, 709.78, 710.0, 1e6, math.inf, -math.inf])
def test_sigmoid_helper_identical(x):
    values = [load_backend(name).sigmoid(x) for name in BACKENDS]
    assert values[0] == values[1] == values[2]
    assert values[0] == 1.0 / (1.0 + tiny_exp(-x))


def test_sigmoid_gives_zero_where_exp_overflows(backend):
    assert load_backend(backend).sigmoid(-710.0) == 0.0
    assert load_backend(backend).sigmoid(-1e6) == 0.0
    assert load_backend(backend).sigmoid(1e6) == 1.0


@settings(max_examples=200, deadline=None)
@given(x=finite)
def test_sigmoid_identical_everywhere(x):
    values = {load_backend(name).sigmoid(x) for name in BACKENDS}
    assert len(values) == 1


#: numpy's summation order is its own: before 2.3 a reduction over more than its ufunc buffer (8,192
#: elements) summed each buffer pairwise and the buffers one after another; from 2.3 one pairwise walk.
NUMPY_ONE_WALK = tuple(int(part) for part in np.__version__.split(".")[:2]) >= (2, 3)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 127, 128, 129, 130, 255, 256, 257, 1000, 4099, 8192, 100_003])
def test_pairwise_sum_walk_is_numpys_sum(backend, n):
    """The one pairwise-summation walk of each backend (behind every loss) sums as np.sum does: with
    any numpy up to 8,192 values, with numpy 2.3 and later at any size."""
    if n > 8192 and not NUMPY_ONE_WALK:
        pytest.skip(f"numpy {np.__version__} sums more than 8,192 values buffer by buffer")
    values = np.random.default_rng(n).normal(0, 1e3, n) ** 3
    assert load_backend(backend).pairwise_sum(values) == np.sum(values)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 1000, 4099])
def test_loss_is_numpy_mean_bit_for_bit(backend, n):
    """The loss is summed in numpy's pairwise order: equal to np.mean of the same errors."""
    rng = np.random.default_rng(n)
    data = rng.normal(0, 10, size=(n, 2))
    y = rng.uniform(0, 1, n)
    net = OurNeuralNetwork(backend=backend)
    net.params = rng.normal(size=9)
    assert net.loss(data, y) == np.mean((y - net.predict(data)) ** 2)


def test_chunked_training_equals_one_call(backend, monkeypatch):
    """Training runs the kernel in chunks; the chunk size changes nothing."""
    rng = np.random.default_rng(3)
    data = rng.normal(0, 5, size=(37, 2))
    y = (data[:, 0] > 0).astype(float)
    params = rng.normal(size=9)
    runs = []
    for chunk_steps in (1 << 18, 37 * 3, 1):
        monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", chunk_steps)
        net = OurNeuralNetwork(backend=backend)
        net.params = params
        net.train(data, y, epochs=40, verbose=False, loss_every=7)
        runs.append((net.params.tolist(), net.loss_history))
    assert runs[0] == runs[1] == runs[2]
    assert [epoch for epoch, _ in runs[0][1]] == [0, 7, 14, 21, 28, 35]


def test_two_calls_continue_training(backend):
    np.random.seed(11)
    params = np.random.normal(size=9)
    once = OurNeuralNetwork(backend=backend)
    once.params = params
    once.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=300, verbose=False)
    twice = OurNeuralNetwork(backend=backend)
    twice.params = params
    twice.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=100, verbose=False)
    twice.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=200, verbose=False)
    assert once.params.tolist() == twice.params.tolist()
