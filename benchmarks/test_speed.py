"""Speed of CPU training and inference: tinynet's backends beside what a user would use instead.

Run with ``pytest benchmarks --benchmark-only``. Nothing here asserts a time; the speed-ups are printed
at the end (see conftest.py). Every round trains from the same starting weights, so every round does
the same work. Results are checked too: the plain C loop must agree with tinynet bit for bit (it is the
same arithmetic), the others to within their own floating-point differences.
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from tinynet import OurNeuralNetwork
from tinynet._backend import BACKENDS
from tinynet._data import synthetic_data, tutorial_data

from baselines import make_jax, make_numpy, make_plain_c, make_torch

TUTORIAL = tutorial_data()
LARGE = synthetic_data(100_000, seed=0)
MAKERS = {"plain-c": make_plain_c, "numpy": make_numpy, "jax": make_jax, "torch": make_torch}


def make_trainer(entry):
    """``train(params, data, y, epochs) -> list of 9 floats`` for a tinynet backend or a baseline."""
    if entry not in BACKENDS:
        return MAKERS[entry]()
    net = OurNeuralNetwork(backend=entry)

    def train(params, data, y, epochs):
        net.params = params
        net.train(data, y, epochs=epochs, verbose=False, loss_every=0)
        return net.params.tolist()
    return train


def tinynet_result(params, data, y, epochs):
    net = OurNeuralNetwork(backend="cython")
    net.params = params
    net.train(data, y, epochs=epochs, verbose=False, loss_every=0)
    return net.params.tolist()


def check_result(entry, result, expected, train=None, params=None, data=None, y=None):
    """The entry trained the same network: bit for bit where the arithmetic is the same, else close.

    Other libraries compute exp, the sigmoid and its gradient in their own ways; over the tutorial's
    4,000 steps their weights stay within 1e-6 of tinynet's. Over 500,000 steps at this learning rate
    SGD amplifies last-bit differences chaotically (the losses reached after 5 epochs spread by 0.02
    between equally correct runs), so there the check is on the first 1,000 steps (``train`` from
    ``params`` on the first 1,000 samples of ``data``, one epoch), as the tutorial's size is checked.
    """
    if entry in BACKENDS or entry == "plain-c":
        assert result == expected          # the same arithmetic: bit for bit
    elif train is None:
        np.testing.assert_allclose(result, expected, rtol=0, atol=1e-9 if entry == "numpy" else 1e-6)
    else:
        start = train(params, data[:1000], y[:1000], 1)
        check_result(entry, start, tinynet_result(params, data[:1000], y[:1000], 1))


# Rounds per entry, chosen so that each entry takes a few seconds at most.
TUTORIAL_ROUNDS = {"cython": 200, "numba": 200, "plain-c": 200, "jax": 50, "python": 20, "numpy": 5,
                   "torch": 2}
LARGE_ROUNDS = {"cython": 10, "numba": 10, "plain-c": 10, "jax": 5, "python": 2, "numpy": 1}


@pytest.mark.parametrize("entry", list(TUTORIAL_ROUNDS))
def test_train_tutorial(benchmark, entry, start_params):
    """The tutorial's training: 4 samples x 1000 epochs = 4,000 SGD steps."""
    benchmark.group = "train: tutorial, 4 samples x 1000 epochs"
    data, y = TUTORIAL
    train = make_trainer(entry)
    train(start_params, data, y, 1000)      # compile / warm up outside the measurement
    result = benchmark.pedantic(train, args=(start_params, data, y, 1000),
                                rounds=TUTORIAL_ROUNDS[entry], iterations=1)
    benchmark.extra_info["steps"] = 4000
    check_result(entry, result, tinynet_result(start_params, data, y, 1000))


@pytest.mark.parametrize("entry", [*LARGE_ROUNDS, "torch"])
def test_train_100k(benchmark, entry, start_params):
    """Synthetic weight/height data: 100,000 samples x 5 epochs = 500,000 SGD steps."""
    benchmark.group = "train: 100,000 samples x 5 epochs"
    if entry == "torch":
        pytest.skip("a PyTorch loop would take over a minute a round here; see the tutorial group")
    data, y = LARGE
    train = make_trainer(entry)
    train(start_params, data[:10], y[:10], 5)   # compile / warm up (JAX: for each shape)
    if entry == "jax":
        train(start_params, data, y, 5)
    result = benchmark.pedantic(train, args=(start_params, data, y, 5),
                                rounds=LARGE_ROUNDS[entry], iterations=1)
    benchmark.extra_info["steps"] = 500_000
    check_result(entry, result, tinynet_result(start_params, data, y, 5), train, start_params, data, y)


def _numpy_predict(params, data):
    """Vectorised numpy over all rows at once: the natural numpy way to predict."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = params
    h1 = 1 / (1 + np.exp(-(w1 * data[:, 0] + w2 * data[:, 1] + b1)))
    h2 = 1 / (1 + np.exp(-(w3 * data[:, 0] + w4 * data[:, 1] + b2)))
    return 1 / (1 + np.exp(-(w5 * h1 + w6 * h2 + b3)))


@pytest.mark.parametrize("entry", [*BACKENDS, "numpy"])
def test_predict_1m(benchmark, entry, start_params):
    """predict on 1,000,000 rows, batched inside the kernel."""
    benchmark.group = "predict: 1,000,000 rows"
    data = synthetic_data(1_000_000, seed=1)[0]
    if entry == "numpy":
        out = benchmark.pedantic(_numpy_predict, args=(start_params, data), rounds=10, iterations=1)
    else:
        net = OurNeuralNetwork(backend=entry)
        net.params = start_params
        net.predict(data[:2])
        out = benchmark.pedantic(net.predict, args=(data,), rounds=2 if entry == "python" else 20,
                                 iterations=1)
    reference = _numpy_predict(start_params, data)
    np.testing.assert_allclose(out, reference, rtol=1e-14, atol=0)


@pytest.mark.parametrize("entry", [*BACKENDS, "numpy"])
def test_feedforward_one_sample(benchmark, entry, start_params):
    """One ``feedforward(x)`` call, with its input checks: the per-call overhead."""
    benchmark.group = "feedforward: one sample"
    x = np.array([-7.0, -3.0])
    if entry == "numpy":
        from tinynet._baseline import _sigmoid

        w1, w2, w3, w4, w5, w6, b1, b2, b3 = (np.float64(p) for p in start_params)

        def feedforward(x):   # the tutorial's feedforward
            h1 = _sigmoid(w1 * x[0] + w2 * x[1] + b1)
            h2 = _sigmoid(w3 * x[0] + w4 * x[1] + b2)
            return _sigmoid(w5 * h1 + w6 * h2 + b3)
    else:
        net = OurNeuralNetwork(backend=entry)
        net.params = start_params
        feedforward = net.feedforward
    out = benchmark(feedforward, x)
    assert 0.0 < out < 1.0


@pytest.mark.parametrize("entry", [f"{name}-{mode}" for name in ("cython", "numba")
                                   for mode in ("quiet", "losses", "verbose")])
def test_train_tutorial_printing(benchmark, entry, start_params):
    """What the loss lines cost: quiet (no losses), losses recorded, and printed (to a buffer)."""
    benchmark.group = "train: tutorial, quiet / recording losses / printing them"
    name, mode = entry.split("-")
    data, y = TUTORIAL
    net = OurNeuralNetwork(backend=name)
    options = {"quiet": dict(verbose=False, loss_every=0), "losses": dict(verbose=False),
               "verbose": dict(verbose=True)}[mode]

    def train():
        net.params = start_params
        with contextlib.redirect_stdout(io.StringIO()) as out:
            net.train(data, y, **options)
        return out.getvalue()

    train()
    text = benchmark.pedantic(train, rounds=200, iterations=1)
    assert text.count("\n") == (100 if mode == "verbose" else 0)


def _python_seconds(code, env=None):
    """Wall time of ``python -c code`` in a fresh process, from a neutral directory."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=tempfile.gettempdir(), check=True)
    return done.stdout


NUMBA_FIRST_USE = ("import numpy as np, tinynet\n"
                   "net = tinynet.OurNeuralNetwork(backend='numba')\n"
                   "data = np.array([[1.0, 2.0], [3.0, 4.0]]); y = np.array([1.0, 0.0])\n"
                   "net.train(data, y, epochs=1, verbose=False)\n"
                   "net.predict(data); net.feedforward([1, 2])\n")
STARTUP = {
    "bare-python": "pass",
    "import-numpy": "import numpy",
    "import-tinynet": "import tinynet",
    "numba-warm-cache": NUMBA_FIRST_USE,
    "numba-empty-cache": NUMBA_FIRST_USE,
}


@pytest.mark.parametrize("entry", list(STARTUP))
def test_startup(benchmark, entry, tmp_path):
    """A fresh process: bare Python, importing numpy or tinynet, the Numba backend's first use."""
    benchmark.group = "startup: a new Python process"
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    if entry == "numba-warm-cache":
        _python_seconds(NUMBA_FIRST_USE, env)          # fill the cache once
        benchmark.pedantic(_python_seconds, args=(STARTUP[entry], env), rounds=3, iterations=1)
    elif entry == "numba-empty-cache":
        counter = iter(range(100))

        def fresh_cache():
            return (STARTUP[entry], {"NUMBA_CACHE_DIR": str(tmp_path / str(next(counter)))}), {}
        benchmark.pedantic(_python_seconds, setup=fresh_cache, rounds=3, iterations=1)
    else:
        benchmark.pedantic(_python_seconds, args=(STARTUP[entry], env), rounds=5, iterations=1)
    if entry == "import-tinynet":
        assert _python_seconds("import sys, tinynet; print('numba' in sys.modules)").strip() == "False"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("entry", ["cython-plain", "cython-progress"])
def test_train_with_progress_bar(benchmark, entry, start_params, monkeypatch):
    """What the progress bar costs (drawn to a fake terminal), on 100,000 x 5."""
    benchmark.group = "train: 100,000 x 5, with and without a progress bar"
    if entry.endswith("progress"):
        pytest.importorskip("tqdm", reason="the progress bar needs tqdm (pip install '.[progress]')")
    monkeypatch.setattr(sys, "stderr", _Terminal())
    data, y = LARGE
    net = OurNeuralNetwork(backend="cython")

    def train():
        net.params = start_params
        net.train(data, y, epochs=5, verbose=False, progress=entry.endswith("progress"))

    benchmark.pedantic(train, rounds=10, iterations=1)
    assert ("steps/s" in sys.stderr.getvalue()) == entry.endswith("progress")
