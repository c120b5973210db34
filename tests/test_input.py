"""Input handling: what numpy can read as real numbers trains exactly as float64; the rest is refused
with a clear TypeError or ValueError, before any kernel runs, leaving the network untouched.

Refusals happen in Python, in code that is the same whatever the backend, so those tests run once (on
the default backend); what reaches a kernel is tested on every backend."""

import numpy as np
import pytest

from tinynet import OurNeuralNetwork

from reference import TUTORIAL_DATA, TUTORIAL_Y

CLEAN_X = TUTORIAL_DATA.astype(np.float64)
CLEAN_Y = TUTORIAL_Y.astype(np.float64)


def _trained(backend, data, y, **kwargs):
    net = OurNeuralNetwork(backend=backend)
    net.params = np.linspace(-1, 1, 9)
    net.train(data, y, epochs=50, verbose=False, **kwargs)
    return net.params.tolist(), net.loss_history


def _fortran(a):
    return np.asfortranarray(a)


def _strided(a):
    """The same values as a non-contiguous view into a larger array."""
    wide = np.zeros(tuple(2 * size for size in a.shape), dtype=a.dtype)
    view = wide[(slice(None, None, 2),) * a.ndim]
    view[...] = a
    return view


def _tuples(a):
    return tuple(map(tuple, a.tolist())) if a.ndim == 2 else tuple(a.tolist())


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("convert", [
    pytest.param(lambda a: a.tolist(), id="list"),
    pytest.param(_tuples, id="tuples"),
    pytest.param(lambda a: a.astype(np.int64), id="int64"),
    pytest.param(lambda a: a.astype(np.int8), id="int8"),
    pytest.param(lambda a: a.astype(np.float32), id="float32"),
    pytest.param(_fortran, id="fortran"),
    pytest.param(_strided, id="strided"),
    pytest.param(_read_only, id="read-only"),
])
def test_equivalent_inputs_train_as_float64(backend, convert):
    expected = _trained(backend, CLEAN_X, CLEAN_Y)
    assert _trained(backend, convert(CLEAN_X), convert(CLEAN_Y)) == expected


def _nullable_frame(a):
    """pandas' nullable dtypes (Float64 and Int64 columns, or a boolean/Int64 Series), which numpy
    reads as objects."""
    pd = pytest.importorskip("pandas")
    if a.ndim == 1:
        return pd.Series(pd.array(a, dtype="Float64"))
    return pd.DataFrame({"a": pd.array(a[:, 0], dtype="Float64"),
                         "b": pd.array(a[:, 1].astype(np.int64), dtype="Int64")})


def test_pandas_nullable_frames_train_as_float64(backend):
    x = np.round(CLEAN_X)
    frame = _nullable_frame(x)
    assert np.asarray(frame).dtype == object     # what numpy alone makes of it
    assert _trained(backend, frame, _nullable_frame(CLEAN_Y)) == _trained(backend, x, CLEAN_Y)


def test_pandas_missing_value_is_refused_naming_where():
    pd = pytest.importorskip("pandas")
    frame = _nullable_frame(np.round(CLEAN_X))
    frame.iloc[2, 0] = pd.NA
    net = OurNeuralNetwork()
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"data has a missing value \(pd.NA\) at \[2, 0\]"):
        net.train(frame, CLEAN_Y, epochs=1, verbose=False)
    assert net.params.tolist() == before.tolist() and net.loss_history == []
    strings = pd.DataFrame({"a": pd.array(["1", "2"], dtype="string"), "b": [1.0, 2.0]})
    with pytest.raises(TypeError, match="data must hold real numbers"):
        net.predict(strings)


def test_bool_labels_and_data(backend):
    x = np.array([[True, False], [False, True], [True, True]])
    y = np.array([True, False, True])
    assert _trained(backend, x, y) == _trained(backend, x.astype(float), y.astype(float))


def test_float32_is_converted_exactly(backend):
    """float32 values are widened exactly, then trained as float64 (no float32 arithmetic)."""
    x32 = (CLEAN_X / 3).astype(np.float32)
    assert _trained(backend, x32, CLEAN_Y) == _trained(backend, x32.astype(np.float64), CLEAN_Y)


def test_training_does_not_modify_input(backend):
    x = CLEAN_X.copy()
    y = CLEAN_Y.copy()
    _trained(backend, x, y)
    assert (x == CLEAN_X).all() and (y == CLEAN_Y).all()


BAD_TRAIN_ARGS = [
    # (data, labels, keyword arguments, exception, message pattern)
    ([1, 2, 3], [1, 0, 1], {}, ValueError, r"data must be 2-D with 2 columns.*shape \(3,\)"),
    ([[1, 2, 3]], [1], {}, ValueError, r"data must be 2-D with 2 columns.*\(1, 3\)"),
    (np.zeros((2, 2, 2)), [1, 0], {}, ValueError, r"data must be 2-D"),
    (np.zeros((0, 2)), [], {}, ValueError, r"data is empty"),
    ([[1, 2], [3]], [1, 0], {}, ValueError, r"data cannot be read as an array of numbers"),
    (CLEAN_X, [1, 0, 1], {}, ValueError, r"all_y_trues has 3 labels but data has 4 samples"),
    (CLEAN_X, CLEAN_Y.reshape(4, 1), {}, ValueError, r"all_y_trues must be 1-D.*\(4, 1\).*ravel"),
    ([[1, np.nan], [2, 3]], [1, 0], {}, ValueError, r"data must be finite, but data\[0, 1\] is nan"),
    ([[1, np.inf], [2, 3]], [1, 0], {}, ValueError, r"data must be finite.*inf"),
    ([[1, 2], [2, 3]], [1, -np.inf], {}, ValueError, r"all_y_trues must be finite, but all_y_trues\[1\]"),
    ([["a", "b"], ["c", "d"]], [1, 0], {}, TypeError, r"data must hold real numbers.*dtype <U1"),
    ("ab", [1], {}, TypeError, r"data must be an array of real numbers, not str"),
    (np.array([[1, 2]], dtype=object), [1], {}, TypeError, r"data must hold real numbers.*dtype object"),
    ([[1 + 2j, 2]], [1], {}, TypeError, r"data must hold real numbers.*complex128"),
    (CLEAN_X, ["1", "0", "0", "1"], {}, TypeError, r"all_y_trues must hold real numbers"),
    (CLEAN_X, None, {}, TypeError, r"all_y_trues must hold real numbers.*object"),
    (CLEAN_X, CLEAN_Y, {"learn_rate": np.nan}, ValueError, r"learn_rate must be finite, got nan"),
    (CLEAN_X, CLEAN_Y, {"learn_rate": np.inf}, ValueError, r"learn_rate must be finite, got inf"),
    (CLEAN_X, CLEAN_Y, {"learn_rate": "0.1"}, TypeError, r"learn_rate must be a real number, not str"),
    (CLEAN_X, CLEAN_Y, {"learn_rate": True}, TypeError, r"learn_rate must be a real number, not bool"),
    (CLEAN_X, CLEAN_Y, {"learn_rate": 1j}, TypeError, r"learn_rate must be a real number, not complex"),
    (CLEAN_X, CLEAN_Y, {"learn_rate": [0.1]}, TypeError, r"learn_rate must be a real number, not list"),
    (CLEAN_X, CLEAN_Y, {"epochs": -1}, ValueError, r"epochs must be >= 0, got -1"),
    (CLEAN_X, CLEAN_Y, {"epochs": 10.0}, TypeError, r"epochs must be an integer, not float"),
    (CLEAN_X, CLEAN_Y, {"epochs": "10"}, TypeError, r"epochs must be an integer, not str"),
    (CLEAN_X, CLEAN_Y, {"epochs": True}, TypeError, r"epochs must be an integer, not bool"),
    (CLEAN_X, CLEAN_Y, {"loss_every": -10}, ValueError, r"loss_every must be >= 0"),
    (CLEAN_X, CLEAN_Y, {"loss_every": 2.5}, TypeError, r"loss_every must be an integer"),
]


@pytest.mark.parametrize("data, labels, kwargs, error, pattern", BAD_TRAIN_ARGS)
def test_bad_train_input_is_refused_and_changes_nothing(data, labels, kwargs, error, pattern):
    net = OurNeuralNetwork()
    net.train(CLEAN_X, CLEAN_Y, epochs=20, verbose=False)
    before = (net.params.tolist(), list(net.loss_history))
    with pytest.raises(error, match=pattern):
        net.train(data, labels, **kwargs)
    assert (net.params.tolist(), net.loss_history) == before


def test_numpy_integer_epochs_and_float_scalars_are_accepted(backend):
    expected = _trained(backend, CLEAN_X, CLEAN_Y)
    net = OurNeuralNetwork(backend=backend)
    net.params = np.linspace(-1, 1, 9)
    net.train(CLEAN_X, CLEAN_Y, learn_rate=0.1, epochs=np.int64(50), verbose=False)
    assert (net.params.tolist(), net.loss_history) == expected
    net.params = np.linspace(-1, 1, 9)
    net.train(CLEAN_X, CLEAN_Y, learn_rate=np.float64(0.1), epochs=np.uint8(50), verbose=False)
    assert (net.params.tolist(), net.loss_history) == expected


@pytest.mark.parametrize("x, error, pattern", [
    ([1, 2, 3], ValueError, r"x must be 2 numbers \(shape \(2,\)\), got shape \(3,\)"),
    ([[1, 2]], ValueError, r"x must be 2 numbers.*\(1, 2\)"),
    (5, ValueError, r"x must be 2 numbers.*shape \(\)"),
    ([1, np.nan], ValueError, r"x must be finite, but x\[1\] is nan"),
    ([np.inf, 1], ValueError, r"x must be finite"),
    (["1", "2"], TypeError, r"x must hold real numbers"),
    ("12", TypeError, r"x must be an array of real numbers, not str"),
    ([1j, 2], TypeError, r"x must hold real numbers"),
    (None, TypeError, r"x must hold real numbers"),
])
def test_bad_feedforward_input(x, error, pattern):
    net = OurNeuralNetwork()
    with pytest.raises(error, match=pattern):
        net.feedforward(x)


@pytest.mark.parametrize("data, error, pattern", [
    ([1, 2], ValueError, r"data must be 2-D with 2 columns.*reshape\(1, -1\)"),
    ([[1, 2, 3]], ValueError, r"data must be 2-D with 2 columns"),
    ([[1, np.nan]], ValueError, r"data must be finite"),
    ([["a", "b"]], TypeError, r"data must hold real numbers"),
])
def test_bad_predict_input(data, error, pattern):
    net = OurNeuralNetwork()
    with pytest.raises(error, match=pattern):
        net.predict(data)


@pytest.mark.parametrize("value, error, pattern", [
    ("1.0", TypeError, r"w3 must be a real number, not str"),
    (None, TypeError, r"w3 must be a real number, not NoneType"),
    (np.nan, ValueError, r"w3 must be finite, got nan"),
    (-np.inf, ValueError, r"w3 must be finite, got -inf"),
])
def test_bad_parameter_assignment(value, error, pattern):
    net = OurNeuralNetwork()
    before = net.params.tolist()
    with pytest.raises(error, match=pattern):
        net.w3 = value
    assert net.params.tolist() == before


@pytest.mark.parametrize("values, error, pattern", [
    (np.zeros(8), ValueError, r"params must be 9 numbers.*\(8,\)"),
    (np.zeros((3, 3)), ValueError, r"params must be 9 numbers.*\(3, 3\)"),
    ([0.0] * 8 + [np.nan], ValueError, r"params must be finite, but params\[8\] is nan"),
    (["0"] * 9, TypeError, r"params must hold real numbers"),
])
def test_bad_params_assignment(values, error, pattern):
    net = OurNeuralNetwork()
    before = net.params.tolist()
    with pytest.raises(error, match=pattern):
        net.params = values
    assert net.params.tolist() == before
