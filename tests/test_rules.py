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
from tinynet._codes import IDENTITY, SIGMOID, net_forward_scratch

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
    with pytest.raises(ValueError, match="unknown activation code"):
        kernels.net_feedforward(params, sizes, hidden, output, data, out, *net_forward_scratch([2, 3, 1], 1))


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


# --- the rules' float32 forms -------------------------------------------------------------------


def _float32s(**limits):
    return st.floats(width=32, allow_nan=False, allow_infinity=False, **limits)


#: Each rule's arguments: any finite float32, but where a rule's domain is narrower (the logs' positive
#: arguments, probabilities, Adam's second moment), and n_out a count of outputs.
_ARGUMENTS = {
    "xlogy": (_float32s(min_value=0), _float32s(min_value=2.0**-100)),
    # (y / a stays above float32's least normal: the pure-Python backend's log(0.0) raises, C's is -inf)
    "poisson_deviance": (st.just(0.0) | _float32s(min_value=2.0**-40, max_value=2.0**20),
                         _float32s(min_value=2.0**-40, max_value=2.0**20)),
    "clipped": (_float32s(min_value=0, max_value=1),),
    "binary_log_likelihood": (_float32s(min_value=0, max_value=1),
                              _float32s(min_value=2**-23, max_value=1 - 2**-24)),
    "mse_gradient": (_float32s(), _float32s(), st.integers(1, 100)),
    "mean_output_error": (_float32s(), _float32s(), st.integers(1, 100)),
    "adam": (_float32s(), _float32s(), _float32s(min_value=0), _float32s(min_value=0, max_value=1),
             _float32s(min_value=2.0**-40, max_value=1)),
}
RULE_NAMES = [name for name, _ in _rules.rules()]


def _arguments(name):
    function = dict(_rules.rules())[name]
    return st.tuples(*_ARGUMENTS.get(name, [_float32s()] * function.__code__.co_argcount))


def _float32_bits(x):
    return struct.pack("<f", math.nan if x != x else x)


def _numpy_float32(name):
    """The rule ``name`` evaluated by numpy's own float32 arithmetic: its code run on numpy float32
    scalars (a Python number meeting a float32 is taken in float32: numpy >= 2), the other rules and
    the helpers alike, the constants in float32: an independent reference for the float32 forms."""
    from tinynet._exp import exp as public_exp
    from tinynet._python_common import _exp_minus_one

    f32 = np.float32
    helpers = {"abs": abs, "copysign": lambda x, y: f32(math.copysign(x, y)),
               "exp": lambda x: public_exp(f32(x), backend="python"),
               "exp_minus_one": lambda x: f32(_exp_minus_one(float(x))), "log": lambda x: f32(math.log(x)),
               "log1p": lambda x: f32(math.log1p(x)), "sqrt": lambda x: np.sqrt(f32(x))}
    namespace = dict(helpers, **{key: f32(value) for key, value in _rules.constants32().items()})
    import types

    for rule, function in _rules.rules():
        namespace[rule] = types.FunctionType(function.__code__, namespace, rule)
    return namespace[name]


@pytest.mark.parametrize("name", RULE_NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_float32_rule_has_the_same_bits_in_every_backend_and_numpys(name, data):
    """Each rule's float32 form: the pure-Python one (float64 operations rounded to float32), Numba's
    (float32 operations), the extension's (C float arithmetic, generated) and numpy's own float32
    arithmetic on the rule's code give the same bits."""
    if int(np.__version__.split(".")[0]) < 2:
        pytest.skip("numpy < 2 takes a Python float beside a float32 scalar in float64 (NEP 50)")
    args = data.draw(_arguments(name))
    values = {backend: load_backend(backend).rule32(RULE_NAMES.index(name), *args) for backend in BACKENDS}
    assert all(isinstance(value, float) for value in values.values())
    bits = {backend: _float32_bits(value) for backend, value in values.items()}
    with np.errstate(all="ignore"):
        bits["numpy"] = _float32_bits(_numpy_float32(name)(*[np.float32(a) if isinstance(a, float) else a
                                                             for a in args]))
    assert len(set(bits.values())) == 1, (args, bits)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_float32_rule_hook_refuses_a_number_outside_the_rules(backend):
    for number in (-1, len(RULE_NAMES)):
        with pytest.raises(ValueError, match=f"no rule number {number}"):
            load_backend(backend).rule32(number, 1.0)


def test_the_float32_forms_round_every_operation():
    """The transform leaves no operation in float64: sigmoid_prime(a) = a * (1 - a) differs between
    float32 operations and float64 ones rounded at the end for some a (here, a found by search)."""
    from tinynet._python_common import round32, rules32

    rules = rules32()
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 2000).astype(np.float32).astype(float)
    once = [round32(x * (1 - x)) for x in a]           # float64 throughout, rounded once
    each = [rules.sigmoid_prime(x) for x in a]
    assert once != each
    assert each == [float(np.float32(x) * (np.float32(1) - np.float32(x))) for x in a]
    assert _rules.constants32()["LOG_EPS"] == float(np.finfo(np.float32).eps)


def test_the_float32_step_each_is_the_rules_step_by_step():
    """step_each's float32 form (both backends that have it): Adam's step of float32 arrays gives the
    bits of its rules applied one after another, the options given in double (the rules take each in
    float32 where they use it, and compute 1 - beta in double: see _rules.float32_tree)."""
    from tinynet._numba_common import rules32 as numba_rules32
    from tinynet._python_common import rules32 as python_rules32

    python_rules, numba_rules = python_rules32(), numba_rules32()
    rng = np.random.default_rng(3)
    grad = rng.normal(0, 1, 37).astype(np.float32)
    p0 = rng.normal(0, 1, 37).astype(np.float32)
    results = []
    for rules in (python_rules, numba_rules):
        p, m, v = p0.copy(), np.zeros(37, np.float32), np.zeros(37, np.float32)
        options = _rules.kernel_options(optimizer="adam")[0]
        rules.step_each(_rules.STEP_OF["adam"].code, p, grad, m, v, options, 0.001)
        results.append((p.tobytes(), m.tobytes(), v.tobytes()))
    assert results[0] == results[1]
    expected = [python_rules.adam(float(p), python_rules.adam_first(0.0, float(g), 0.9),
                                  python_rules.adam_second(0.0, float(g), 0.999), 0.001, 1e-8)
                for p, g in zip(p0.tolist(), grad.tolist())]
    assert np.frombuffer(results[0][0], np.float32).tolist() == expected
    # the options rounded to float32 first: 1 - beta from float32(beta), other bits
    f = float(np.float32(0.001)), float(np.float32(0.9)), float(np.float32(0.999)), float(np.float32(1e-8))
    rounded = [python_rules.adam(float(p), python_rules.adam_first(0.0, float(g), f[1]),
                                 python_rules.adam_second(0.0, float(g), f[2]), f[0], f[3])
               for p, g in zip(p0.tolist(), grad.tolist())]
    assert np.frombuffer(results[0][0], np.float32).tolist() != rounded
