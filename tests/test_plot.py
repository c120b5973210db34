"""tinynet.plot: the pictures show the network's own outputs and losses."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tinynet import OurNeuralNetwork

from reference import TUTORIAL_DATA, TUTORIAL_Y

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from tinynet import plot  # noqa: E402  (after choosing matplotlib's backend)


@pytest.fixture
def trained():
    np.random.seed(0)
    net = OurNeuralNetwork()
    net.train(TUTORIAL_DATA, TUTORIAL_Y, verbose=False)
    return net


def test_loss_curve_draws_the_history(trained):
    ax = plot.loss_curve(trained)
    (line,) = ax.get_lines()
    epochs, losses = line.get_data()
    assert list(zip(epochs, losses)) == trained.loss_history
    assert ax.get_yscale() == "log"


def test_loss_curve_of_pairs_and_of_nothing():
    ax = plot.loss_curve([(0, 0.5), (10, 0.25)], label="run 1")
    assert list(ax.get_lines()[0].get_xdata()) == [0, 10]
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="no losses to plot"):
        plot.loss_curve([])


def test_decision_boundary_shades_with_the_networks_output(trained):
    names = ["Alice", "Bob", "Charlie", "Diana"]
    ax = plot.decision_boundary(trained, TUTORIAL_DATA, TUTORIAL_Y, names=names, resolution=50)
    mesh = ax.collections[0]
    shaded = np.asarray(mesh.get_array()).reshape(50, 50)
    xs = np.linspace(*ax.get_xlim(), 50)
    ys = np.linspace(*ax.get_ylim(), 50)
    grid_x, grid_y = np.meshgrid(xs, ys)
    expected = trained.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])).reshape(50, 50)
    assert np.array_equal(shaded, expected)
    assert [text.get_text() for text in ax.texts] == names
    points = ax.collections[-1].get_offsets()
    assert np.array_equal(np.asarray(points), TUTORIAL_DATA)


def test_decision_boundary_refuses_mismatched_input(trained):
    with pytest.raises(ValueError, match="labels has 3 entries but data has 4 samples"):
        plot.decision_boundary(trained, TUTORIAL_DATA, [1, 0, 1])
    with pytest.raises(ValueError, match="data must be 2-D"):
        plot.decision_boundary(trained, [1, 2, 3])


@pytest.mark.parametrize("sizes, kwargs", [
    pytest.param((2, 4, 3), dict(output="softmax", loss="cross_entropy"), id="three-outputs"),
    pytest.param((3, 4, 1), {}, id="three-inputs"),
])
def test_decision_boundary_refuses_a_network_it_cannot_shade(sizes, kwargs):
    from tinynet import Network

    pattern = "2 inputs by its one output; this network has sizes " + re.escape(str(sizes))
    with pytest.raises(ValueError, match=pattern):
        plot.decision_boundary(Network(sizes, seed=0, **kwargs), TUTORIAL_DATA)


def test_decision_boundary_refuses_a_model_with_several_outputs_per_point():
    class TwoColumns:
        def predict(self, data):
            return np.zeros((len(data), 2))

    with pytest.raises(ValueError, match=r"net.predict gave shape \(400, 2\) for 400 points"):
        plot.decision_boundary(TwoColumns(), TUTORIAL_DATA, resolution=20)


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(resolution=1), ValueError, "resolution must be at least 2, got 1"),
    (dict(resolution=10**6), ValueError, "resolution must be at most 4096"),
    (dict(resolution=2.5), TypeError, "resolution must be an integer"),
    (dict(margin=float("nan")), ValueError, "margin must be finite"),
    (dict(margin=-0.1), ValueError, "margin must be >= 0"),
    (dict(data=[[-1.5e308, 0.0], [1.5e308, 1.0]]), ValueError, "data spans too wide a range to plot"),
])
def test_decision_boundary_refuses_bad_options_before_predicting(trained, kwargs, error, pattern):
    calls = []
    predict = trained.predict
    trained.predict = lambda data: calls.append(len(data)) or predict(data)
    data = kwargs.pop("data", TUTORIAL_DATA)
    with pytest.raises(error, match=pattern):
        plot.decision_boundary(trained, data, **kwargs)
    assert calls == []


def test_decision_boundary_of_wide_but_representable_data(trained):
    ax = plot.decision_boundary(trained, TUTORIAL_DATA * 1e300, resolution=10)
    assert np.isfinite(ax.get_xlim()).all() and np.isfinite(ax.get_ylim()).all()


def test_plot_command_writes_a_png(tmp_path):
    out = tmp_path / "tutorial.png"
    done = subprocess.run([sys.executable, "-m", "tinynet", "plot", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_without_matplotlib_the_error_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from tinynet import plot, OurNeuralNetwork\n"
            "try:\n"
            "    plot.loss_curve(OurNeuralNetwork())\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.stdout.strip() == ("tinynet.plot needs matplotlib: pip install 'tinynet[plot]' "
                                   "(or pip install matplotlib)")


def test_decision_boundary_of_a_network():
    from tinynet import Network

    net = Network((2, 8, 1), activation="tanh", seed=0)
    net.train(TUTORIAL_DATA / 10, TUTORIAL_Y, epochs=200, learn_rate=0.5)
    ax = plot.decision_boundary(net, TUTORIAL_DATA / 10, TUTORIAL_Y, resolution=20)
    shaded = np.asarray(ax.collections[0].get_array()).reshape(20, 20)
    assert shaded.min() >= 0 and shaded.max() <= 1 and shaded.std() > 0.1
    plot.loss_curve(net)
