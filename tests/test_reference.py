"""tinynet against the tutorial: its figures, its printed lines, and an independent numpy rendering."""

import contextlib
import io

import numpy as np
import pytest

from tinynet import PARAM_NAMES, OurNeuralNetwork

from reference import EMILY, FRANK, TUTORIAL_DATA, TUTORIAL_Y, ReferenceNetwork, tiny_exp

# The promise: within 1e-12 of the numpy reference after the tutorial's 1000 epochs. Measured over
# seeds 0..199 with tinynet's own exp, on an AVX-512 CPU where numpy's exp is its own SIMD code:
# largest |difference| 8.9e-16, identical for 109 of the 200 seeds, the printed lines identical for
# all 200.
REFERENCE_TOLERANCE = 1e-12


def _network(backend, params):
    net = OurNeuralNetwork(backend=backend)
    net.params = params
    return net


def _train_printing(net, *args, **kwargs):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        net.train(*args, **kwargs)
    return buffer.getvalue().splitlines()


def test_alice_with_unit_weights(backend):
    net = _network(backend, [1, 1, 1, 1, 1, 1, 0, 0, 0])
    h1 = 1 / (1 + np.exp(3.0))  # f(-2 - 1 + 0), the tutorial's 0.0474
    assert round(h1, 4) == 0.0474
    o1 = net.feedforward([-2, -1])
    assert round(float(o1), 3) == 0.524
    assert o1 == pytest.approx(1 / (1 + np.exp(-2 * h1)), rel=1e-15)


def test_tutorial_feedforward_example(backend):
    net = _network(backend, [0, 1, 0, 1, 0, 1, 0, 0, 0])
    assert round(float(net.feedforward(np.array([2, 3]))), 4) == 0.7216


def test_construction_draws_like_the_reference(backend):
    np.random.seed(42)
    expected = [np.random.normal() for _ in range(9)]
    np.random.seed(42)
    net = OurNeuralNetwork(backend=backend)
    assert [getattr(net, name) for name in PARAM_NAMES] == expected
    assert net.params.tolist() == expected


def test_trained_tutorial_network_predicts_emily_and_frank(backend):
    np.random.seed(0)
    net = OurNeuralNetwork(backend=backend)
    lines = _train_printing(net, TUTORIAL_DATA, TUTORIAL_Y)
    assert len(lines) == 100
    assert lines[0].startswith("Epoch 0 loss: ")
    assert lines[-1] == "Epoch 990 loss: 0.002"
    first_loss = float(lines[0].rsplit(" ", 1)[1])
    assert 0.1 < first_loss < 0.4
    assert 0.9 < net.feedforward(EMILY) < 1.0      # the tutorial: 0.951, female
    assert 0.0 < net.feedforward(FRANK) < 0.1      # the tutorial: 0.039, male


@pytest.mark.parametrize("seed", range(0, 200, 20))
def test_same_as_reference_with_tinynet_exp_bit_for_bit(backend, seed):
    """With tinynet.exp, the tutorial's own arithmetic gives exactly tinynet's numbers."""
    ref = ReferenceNetwork.from_seed(seed, exp=tiny_exp)
    ref_lines, ref_losses = ref.train(TUTORIAL_DATA, TUTORIAL_Y)
    np.random.seed(seed)
    net = OurNeuralNetwork(backend=backend)
    lines = _train_printing(net, TUTORIAL_DATA, TUTORIAL_Y)
    assert lines == ref_lines
    assert net.loss_history == ref_losses
    assert net.params.tolist() == ref.params.tolist()
    assert net.feedforward(EMILY) == ref.feedforward(EMILY.astype(float))


@pytest.mark.parametrize("seed", range(0, 200, 20))
def test_close_to_numpy_reference(backend, seed):
    """Against the tutorial exactly as written (np.exp): same printed lines, weights within 1e-12."""
    ref = ReferenceNetwork.from_seed(seed)
    ref_lines, _ = ref.train(TUTORIAL_DATA, TUTORIAL_Y)
    np.random.seed(seed)
    net = OurNeuralNetwork(backend=backend)
    lines = _train_printing(net, TUTORIAL_DATA, TUTORIAL_Y)
    assert lines == ref_lines
    np.testing.assert_allclose(net.params, ref.params, rtol=0, atol=REFERENCE_TOLERANCE)


def test_tutorial_script_with_changed_import_prints_what_the_reference_prints():
    """The tutorial's script, unchanged but for the import, prints the reference's lines."""
    np.random.seed(3)
    ref = ReferenceNetwork.from_seed(3)
    ref_lines, _ = ref.train(TUTORIAL_DATA, TUTORIAL_Y)
    ref_lines += ["Emily: %.3f" % ref.feedforward(EMILY), "Frank: %.3f" % ref.feedforward(FRANK)]

    script = (
        "import numpy as np\n"
        "from tinynet import OurNeuralNetwork\n"
        "data = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])\n"
        "all_y_trues = np.array([1, 0, 0, 1])\n"
        "network = OurNeuralNetwork()\n"
        "network.train(data, all_y_trues)\n"
        "emily = np.array([-7, -3])\n"
        "frank = np.array([20, 2])\n"
        'print("Emily: %.3f" % network.feedforward(emily))\n'
        'print("Frank: %.3f" % network.feedforward(frank))\n'
    )
    np.random.seed(3)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(script, "tutorial.py", "exec"), {})
    assert buffer.getvalue().splitlines() == ref_lines
