"""The public API: attributes, feedforward/predict/loss, printed lines, history, copies, memory."""

import contextlib
import copy
import io
import pickle
import sys
import tracemalloc

import numpy as np
import pytest

import tinynet
import tinynet._training
from tinynet import PARAM_NAMES, OurNeuralNetwork

from reference import EMILY, TUTORIAL_DATA, TUTORIAL_Y, ReferenceNetwork, tiny_exp


def test_parameters_are_float_attributes_over_one_array(backend):
    net = OurNeuralNetwork(backend=backend)
    for i, name in enumerate(PARAM_NAMES):
        setattr(net, name, i + 0.5)
    assert net.params.tolist() == [i + 0.5 for i in range(9)]
    assert all(type(getattr(net, name)) is float for name in PARAM_NAMES)
    net.w2 = np.float32(2)   # numpy scalars and ints are accepted, stored as float
    net.b3 = 7
    assert (net.w2, net.b3) == (2.0, 7.0)


def test_params_is_a_copy(backend):
    net = OurNeuralNetwork(backend=backend)
    params = net.params
    params[:] = 0
    assert net.params.tolist() != [0.0] * 9


def test_feedforward_returns_numpy_float_like_the_reference(backend):
    net = OurNeuralNetwork(backend=backend)
    out = net.feedforward(EMILY)
    assert isinstance(out, np.float64)
    ref = ReferenceNetwork(net.params, exp=tiny_exp)
    assert out == ref.feedforward(EMILY)


def test_predict_is_feedforward_per_row(backend):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 20, size=(300, 2))
    net = OurNeuralNetwork(backend=backend)
    out = net.predict(data)
    assert out.shape == (300,) and out.dtype == np.float64
    assert out.tolist() == [net.feedforward(row) for row in data]


def test_predict_on_no_rows(backend):
    out = OurNeuralNetwork(backend=backend).predict(np.empty((0, 2)))
    assert out.shape == (0,) and out.dtype == np.float64


def test_loss_matches_numpy(backend):
    net = OurNeuralNetwork(backend=backend)
    assert net.loss(TUTORIAL_DATA, TUTORIAL_Y) == np.mean((TUTORIAL_Y - net.predict(TUTORIAL_DATA)) ** 2)


def _capture(func, *args, **kwargs):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        func(*args, **kwargs)
    return buffer.getvalue()


def test_verbose_false_prints_nothing_but_records_losses(backend):
    np.random.seed(2)
    quiet = OurNeuralNetwork(backend=backend)
    assert _capture(quiet.train, TUTORIAL_DATA, TUTORIAL_Y, verbose=False) == ""
    np.random.seed(2)
    loud = OurNeuralNetwork(backend=backend)
    lines = _capture(loud.train, TUTORIAL_DATA, TUTORIAL_Y).splitlines()
    assert quiet.loss_history == loud.loss_history
    assert lines == ["Epoch %d loss: %.3f" % pair for pair in quiet.loss_history]
    assert [epoch for epoch, _ in quiet.loss_history] == list(range(0, 1000, 10))


def test_loss_every(backend):
    net = OurNeuralNetwork(backend=backend)
    net.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=30, verbose=False, loss_every=7)
    assert [epoch for epoch, _ in net.loss_history] == [0, 7, 14, 21, 28]
    for every in (0, None):
        text = _capture(net.train, TUTORIAL_DATA, TUTORIAL_Y, epochs=30, loss_every=every)
        assert text == "" and net.loss_history == []


def test_zero_epochs_change_nothing(backend):
    net = OurNeuralNetwork(backend=backend)
    before = net.params.tolist()
    assert _capture(net.train, TUTORIAL_DATA, TUTORIAL_Y, epochs=0) == ""
    assert net.params.tolist() == before and net.loss_history == []


def test_lines_appear_while_training(backend, monkeypatch):
    """Each line is printed as soon as its chunk of epochs is done, not all at the end."""
    monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", 4 * 100)  # 100 epochs of 4 samples
    net = OurNeuralNetwork(backend=backend)
    kernel_calls = []
    real_train = net._kernels.train

    class CountingKernels:
        def __getattr__(self, name):
            return getattr(net._kernels_real, name)

        @staticmethod
        def train(*args):
            kernel_calls.append(args[4:6])
            real_train(*args)

    net._kernels_real, net._kernels = net._kernels, CountingKernels()

    seen = []   # (text written, kernel calls made by then)

    class Recorder(io.StringIO):
        def write(self, text):
            if text.strip():
                seen.append((text, len(kernel_calls)))
            return super().write(text)

    with contextlib.redirect_stdout(Recorder()):
        net.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=1000)
    assert kernel_calls == [(start, start + 100) for start in range(0, 1000, 100)]
    first_line, calls_when_printed = seen[0]
    assert first_line.startswith("Epoch 0 loss:") and calls_when_printed == 1
    assert seen[-1][1] == 10


def test_pickle_and_deepcopy_round_trip_exactly(backend):
    net = OurNeuralNetwork(backend=backend)
    net.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=20, verbose=False)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert clone.backend == backend
        assert clone.params.tolist() == net.params.tolist()
        assert clone.loss_history == net.loss_history
        clone.train(TUTORIAL_DATA, TUTORIAL_Y, epochs=5, verbose=False)
        assert clone.params.tolist() != net.params.tolist()   # independent of the original


def test_repr_shows_backend_and_parameters(backend):
    net = OurNeuralNetwork(backend=backend)
    net.params = np.arange(9) / 4
    assert repr(net) == (f"OurNeuralNetwork(backend={backend!r}, w1=0.0, w2=0.25, w3=0.5, w4=0.75, "
                         "w5=1.0, w6=1.25, b1=1.5, b2=1.75, b3=2.0)")


@pytest.mark.parametrize("name", ["cython", "numba"])
def test_training_on_clean_float64_makes_no_copy(name):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(500_000, 2))    # 8 MB
    y = rng.uniform(size=500_000)           # 4 MB
    net = OurNeuralNetwork(backend=name)
    net.train(data[:2], y[:2], epochs=1, verbose=False)   # compile (Numba) outside the measurement
    tracemalloc.start()
    try:
        net.train(data, y, epochs=1, verbose=False, loss_every=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"training allocated {peak} bytes"


@pytest.mark.parametrize("name", ["cython", "numba"])
def test_predict_allocates_only_its_output(name):
    data = np.random.default_rng(0).normal(size=(1_000_000, 2))   # 16 MB
    net = OurNeuralNetwork(backend=name)
    net.predict(data[:2])
    tracemalloc.start()
    try:
        out = net.predict(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.nbytes == 8_000_000
    assert peak < out.nbytes + 100_000, f"predict allocated {peak} bytes"


@pytest.mark.parametrize("name", ["cython", "numba"])
def test_other_input_makes_one_float64_copy(name):
    data = np.random.default_rng(0).normal(size=(500_000, 2)).astype(np.float32)   # 4 MB
    y = np.zeros(500_000, dtype=np.float32)
    net = OurNeuralNetwork(backend=name)
    net.train(data[:2], y[:2], epochs=1, verbose=False)
    tracemalloc.start()
    try:
        net.train(data, y, epochs=1, verbose=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 12_000_000 <= peak < 12_000_000 + 1_000_000, f"training allocated {peak} bytes"


def test_gradients_match_the_tutorial(backend):
    """All weights 1, biases 0, Alice: dL/dw1 = 0.0214695... (the tutorial prints 0.0214)."""
    net = OurNeuralNetwork(backend=backend)
    net.params = [1, 1, 1, 1, 1, 1, 0, 0, 0]
    grads = net.gradients([-2, -1], 1)
    assert list(grads) == [f"dL/d{name}" for name in PARAM_NAMES]
    assert grads["dL/dw1"] == 0.02146953526581111
    assert round(grads["dL/dw1"], 5) == 0.02147


def test_gradients_identical_across_backends():
    rng = np.random.default_rng(4)
    for _ in range(50):
        params = rng.normal(0, 3, 9)
        x = rng.normal(0, 20, 2)
        y = float(rng.integers(0, 2))
        results = []
        for name in ("cython", "numba", "python"):
            net = OurNeuralNetwork(backend=name)
            net.params = params
            results.append(net.gradients(x, y))
        assert results[0] == results[1] == results[2]


def test_gradients_are_the_derivatives(backend):
    """Central differences of the loss agree with every one of the nine partial derivatives."""
    rng = np.random.default_rng(5)
    params = rng.normal(size=9)
    x, y = np.array([-2.0, -1.0]), 1.0
    net = OurNeuralNetwork(backend=backend)
    net.params = params
    grads = list(net.gradients(x, y).values())
    h = 1e-6
    for i in range(9):
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        net.params = up
        loss_up = (y - net.feedforward(x)) ** 2
        net.params = down
        loss_down = (y - net.feedforward(x)) ** 2
        assert grads[i] == pytest.approx((loss_up - loss_down) / (2 * h), rel=1e-6, abs=1e-9)


def test_gradients_are_a_training_step(backend):
    """One SGD step on one sample moves each parameter by learn_rate times its gradient."""
    net = OurNeuralNetwork(backend=backend)
    before = net.params
    grads = np.array(list(net.gradients([3, -4], 0).values()))
    net.train([[3, -4]], [0], learn_rate=0.1, epochs=1, verbose=False)
    np.testing.assert_allclose(net.params, before - 0.1 * grads, rtol=1e-15, atol=1e-17)


@pytest.mark.parametrize("x, y, error, pattern", [
    ([1, 2, 3], 1, ValueError, r"x must be 2 numbers"),
    ([1, 2], "1", TypeError, r"y_true must be a real number, not str"),
    ([1, 2], float("nan"), ValueError, r"y_true must be finite"),
])
def test_gradients_bad_input(x, y, error, pattern):
    with pytest.raises(error, match=pattern):
        OurNeuralNetwork().gradients(x, y)


def test_docstring_examples():
    import doctest

    import tinynet._tutorial

    results = doctest.testmod(tinynet._tutorial, optionflags=doctest.ELLIPSIS)
    assert results.attempted >= 3 and results.failed == 0


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(backend, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(tinynet._training, "CHUNK_STEPS", 400)   # 10 updates
    np.random.seed(4)
    net = OurNeuralNetwork(backend=backend)
    lines = _capture(net.train, TUTORIAL_DATA, TUTORIAL_Y, progress=True)
    bar = terminal.getvalue()
    assert "1000/1000" in bar and "epoch" in bar and "steps/s=" in bar and "loss=" in bar
    np.random.seed(4)
    plain = OurNeuralNetwork(backend=backend)
    assert lines == _capture(plain.train, TUTORIAL_DATA, TUTORIAL_Y)   # the same lines on stdout
    assert net.params.tolist() == plain.params.tolist()


def test_progress_bar_stays_off_where_stderr_is_not_a_terminal(monkeypatch):
    not_terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", not_terminal)
    net = OurNeuralNetwork()
    lines = _capture(net.train, TUTORIAL_DATA, TUTORIAL_Y, progress=True, verbose=False)
    assert lines == "" and not_terminal.getvalue() == ""


def test_progress_without_tqdm_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    net = OurNeuralNetwork()
    before = net.params.tolist()
    with pytest.raises(ImportError, match=r"progress=True needs tqdm: pip install 'tinynet\[progress\]'"):
        net.train(TUTORIAL_DATA, TUTORIAL_Y, progress=True)
    assert net.params.tolist() == before
