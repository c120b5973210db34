"""The per-element rules (tinynet/_rules.py), written once: every backend computes each rule of the
table with the same bits, the Cython form is what the generator writes, and a code outside the table
is refused rather than computed."""

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet import _rules
from tinynet._backend import BACKENDS, load_backend
from tinynet._codes import IDENTITY, SIGMOID, net_scratch

#: Values where rules turn: zeros of both signs, the ends of tanh's pieces, the overflow of exp, and
#: the special values.
EDGES = [0.0, -0.0, 1e-300, -1e-300, 0.345, -0.345, 0.3449999999999999, 22.0, -22.0, 22.000000000000004,
         709.0, 710.0, -745.2, -746.0, 1e308, -1e308, math.inf, -math.inf, math.nan]


def _bits(x):
    """x's bits; any NaN as one NaN (a NaN's sign and payload are not promised: that it is NaN is)."""
    return struct.pack("<d", math.nan if x != x else x)


def _values(code, prime, xs):
    """Each backend's f (or f') of activation ``code`` at each x, as bytes."""
    return {backend: [_bits(load_backend(backend, "network").activation(code, x, prime)) for x in xs]
            for backend in BACKENDS}


RULES = [pytest.param(row.code, False, id=f"{row.value.__name__}") for row in _rules.ACTIVATIONS] + [
    pytest.param(row.code, True, id=f"{row.prime.__name__}") for row in _rules.ACTIVATIONS
    if row.prime is not None]


@pytest.mark.parametrize("code, prime", RULES)
def test_every_rule_has_the_same_bits_in_every_backend_at_its_edges(code, prime):
    values = _values(code, prime, EDGES)
    assert values["numba"] == values["python"] and values["cython"] == values["python"]


@pytest.mark.parametrize("code, prime", RULES)
@settings(max_examples=200, deadline=None)
@given(xs=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=8))
def test_every_rule_has_the_same_bits_in_every_backend(code, prime, xs):
    values = _values(code, prime, xs)
    assert values["numba"] == values["python"] and values["cython"] == values["python"]


def test_the_rules_are_the_formulas_they_claim():
    """A few values from the definitions (not from any backend), so that a rule copied wrongly into
    every backend alike is caught: the table-driven tests above only compare the backends."""
    python = load_backend("python", "network")
    table = {row.value.__name__: row.code for row in _rules.ACTIVATIONS}
    assert python.activation(table["relu"], -2.5, False) == 0.0
    assert python.activation(table["relu"], 2.5, False) == 2.5
    assert python.activation(table["relu"], 2.5, True) == 1.0
    assert python.activation(table["identity"], -2.5, False) == -2.5
    assert python.activation(table["sigmoid"], 0.0, False) == 0.5
    assert python.activation(table["sigmoid"], 0.25, True) == 0.25 * 0.75
    assert python.activation(table["tanh"], 0.5, True) == 0.75
    for x in (-3.0, -0.1, 0.0, 0.2, 0.4, 5.0):
        assert python.activation(table["tanh"], x, False) == pytest.approx(math.tanh(x), rel=1e-15, abs=0)
        assert python.activation(table["exponential"], x, False) == pytest.approx(math.exp(x), rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unknown_activation_code_is_refused_by_every_backend(backend):
    kernels = load_backend(backend, "network")
    with pytest.raises(ValueError, match="unknown activation code"):
        kernels.activation(99, 0.5, False)
    with pytest.raises(ValueError, match="unknown activation code"):
        kernels.activation(99, 0.5, True)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("hidden, output", [(99, SIGMOID), (SIGMOID, 99), (-1, IDENTITY)])
def test_a_kernel_given_an_unknown_code_fails_loudly(backend, hidden, output):
    """A caller's slip (Python checks the names first) is a ValueError, not an identity activation."""
    kernels = load_backend(backend, "network")
    sizes = np.array([2, 3, 1], dtype=np.int64)
    params = np.linspace(-1, 1, 2 * 3 + 3 + 3 + 1)
    data = np.array([[0.5, -0.25]])
    out = np.full((1, 1), 7.0)
    acts, _, out_sums = net_scratch([2, 3, 1])
    with pytest.raises(ValueError, match="unknown activation code"):
        kernels.net_feedforward(params, sizes, hidden, output, data, out, acts, out_sums)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_kernel_given_an_unknown_loss_or_optimizer_code_fails_loudly(backend, monkeypatch):
    """Any loss code but the table's is refused (it would be taken for one of scikit-learn's), and any
    optimizer code but those of the steps' table (it would run as no step at all)."""
    import tinynet._rules
    from tinynet import Network

    X, Y = np.array([[0.5, -0.25], [1.0, 2.0]]), np.array([0.0, 1.0])
    net = Network((2, 3, 1), seed=0, backend=backend)
    hidden, output, loss = net._kernel_codes
    net._kernel_codes = (hidden, output, 99)
    with pytest.raises(ValueError, match="unknown loss code"):
        net.loss(X, Y)
    net._kernel_codes = (hidden, output, loss)
    monkeypatch.setattr(tinynet._rules, "step_code", lambda *args: 7)
    with pytest.raises(ValueError, match="unknown optimizer code"):
        net.train(X, Y, epochs=1, batch_size=2)


def test_the_options_record_holds_each_option_under_its_name():
    """The batch kernels' options record: each value under its own field (a swap would reach every
    backend alike), the step's code chosen from the optimizer's name, and every step option there."""
    from tinynet._rules import KERNEL_OPTIONS, STEP_OF, STEP_OPTIONS, kernel_options

    values = dict(batch_size=7, learn_rate=0.1, momentum=0.2, beta_1=0.3, beta_2=0.4, epsilon=0.5, alpha=0.6)
    record = kernel_options(optimizer="sgd", nesterov=True, **values)
    assert record.shape == (1,) and record.dtype == KERNEL_OPTIONS
    assert {name: record[name][0].item() for name in values} == values
    assert record["optimizer"][0] == STEP_OF["nesterov"].code
    # Nesterov without momentum is plain SGD
    assert kernel_options(optimizer="sgd", nesterov=True)["optimizer"][0] == STEP_OF["sgd"].code
    assert kernel_options(optimizer="irprop")["optimizer"][0] == STEP_OF["irprop"].code
    assert set(STEP_OPTIONS) - {"lr_t"} <= set(KERNEL_OPTIONS.names)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_per_sample_kernels_refuse_another_step(backend):
    """net_train and net_train_many take plain SGD's step and momentum's; given another step's record
    (Adam's, Nesterov's) they fail loudly rather than run it as SGD."""
    from tinynet import Network
    from tinynet._codes import LANES, net_many_scratch, net_scratch, net_work
    from tinynet._rules import kernel_options

    net = Network((2, 3, 1), seed=0, backend=backend)
    data, targets = np.array([[0.5, -0.25], [1.0, 2.0]]), np.array([[0.0], [1.0]])
    no_order = np.empty((0, 0), dtype=np.int64)
    for record in (kernel_options(optimizer="adam"), kernel_options(momentum=0.9, nesterov=True)):
        params = net.params.copy()
        with pytest.raises(ValueError, match="not a per-sample step"):
            net._kernels.net_train(params, net._sizes, *net._kernel_codes, data, targets, no_order, record,
                                   np.zeros_like(params), 0, 1, 0, np.empty((1, 1)), *net_scratch(net.sizes),
                                   *net_work(net.sizes))
        assert params.tobytes() == net.params.tobytes()
        blocks = np.repeat(params[None, :, None], LANES, axis=2)
        options = np.repeat(kernel_options(learn_rate=0.1), LANES).reshape(1, LANES)
        options[0, 5] = record[0]
        with pytest.raises(ValueError, match="not a per-sample step"):
            net._kernels.net_train_many(blocks, net._sizes, *net._kernel_codes, data, targets, options,
                                        np.zeros_like(blocks), 0, 1, 0, np.empty((LANES, 1)),
                                        *net_many_scratch(net.sizes))
        assert (blocks == params[:, None]).all()
