"""Input checks and conversion, done once in Python before any kernel runs.

Anything numpy can turn into real numbers is accepted (lists, ints, bools, float32, Fortran-ordered or
strided arrays) and converted once to a C-contiguous float64 array, so every backend sees the same
values and Numba compiles a single signature. Everything else is refused with a ``TypeError`` (wrong
kind: strings, objects, complex numbers) or a ``ValueError`` (wrong shape, length or value) that names
the argument and says what was received.
"""

import math
import numbers
from collections.abc import Iterable

import numpy as np

__all__ = ["as_count", "as_features", "as_labels", "as_params", "as_real", "as_real_array", "as_sample",
           "as_schedule", "check_finite", "contiguous_writeable"]

# dtype kinds that hold real numbers: bool, signed and unsigned integers, floats.
_REAL_KINDS = "biuf"


def _describe(value):
    """A short description of ``value`` for error messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def as_real_array(value, name, dtype=np.float64):
    """``value`` as an ndarray of ``dtype`` (float64 or float32; a view where possible), or
    TypeError/ValueError naming ``name``."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, not {_describe(value)}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested sequences, unconvertible objects
        raise ValueError(f"{name} cannot be read as an array of numbers: {exc}") from None
    if array.dtype == object:
        array = _nullable_frame(value, array, name)
    if array.dtype.kind not in _REAL_KINDS:
        raise TypeError(
            f"{name} must hold real numbers (bool, int or float), not dtype {array.dtype} "
            f"(from {_describe(value)})"
        )
    return array.astype(dtype, copy=False)


def _nullable_frame(value, array, name):
    """A pandas DataFrame or Series of nullable numbers (``Float64``, ``Int64``, ``boolean``), which
    numpy reads as objects, as float64; a missing value (``pd.NA``) is refused, naming where it is.
    Anything else is returned as it is (and refused by the caller)."""
    if not hasattr(value, "to_numpy"):
        return array
    dtypes = getattr(value, "dtypes", None)         # a DataFrame's, one per column; a Series' one
    kinds = [getattr(dtype, "kind", "O") for dtype in
             (dtypes if isinstance(dtypes, Iterable) and not isinstance(dtypes, np.dtype) else [dtypes])]
    if not all(kind in _REAL_KINDS for kind in kinds):
        return array
    missing = np.asarray(value.isna()) if hasattr(value, "isna") else np.zeros(array.shape, bool)
    if missing.any():
        index = ", ".join(str(int(i)) for i in np.argwhere(missing)[0])
        raise ValueError(f"{name} has a missing value (pd.NA) at [{index}] (row, column by position): "
                         f"drop or fill the missing values first")
    return value.to_numpy(dtype=np.float64)


def check_finite(array, name):
    """ValueError naming the first value of ``array`` that is NaN or inf, if any. Returns the array's
    least and greatest values (Python floats) where it computed them to tell (arrays of more than 4096
    values), else None."""
    # Small arrays: one quick ufunc. Large ones: min and max, which see every NaN and inf without a
    # temporary the size of the array (and, unlike a sum, cannot overflow and warn).
    extremes = None
    if array.size <= 4096:
        finite = bool(np.isfinite(array).all())
    else:
        extremes = float(array.min()), float(array.max())
        finite = math.isfinite(extremes[0]) and math.isfinite(extremes[1])
    if not finite:
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        index = ", ".join(map(str, where))
        raise ValueError(f"{name} must be finite, but {name}[{index}] is {float(array[where])!r}")
    return extremes


#: From here up (in magnitude) a float64 rounds to inf in float32: halfway between float32's largest
#: finite value, (2 - 2**-23) * 2**127, and 2**128.
FLOAT32_INF_EDGE = 2.0**128 - 2.0**103


def network_dtype(dtype):
    """A network's element type, ``np.dtype('float64')`` or ``np.dtype('float32')``, from anything
    numpy reads as one of them ("float32", np.float32, "f4", ...); TypeError/ValueError otherwise."""
    try:
        result = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float64' or 'float32', not {_describe(dtype)}") from None
    if result not in (np.float64, np.float32):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {result.name!r}")
    return result


def in_dtype(array, dtype, name, extremes=None):
    """A checked float64 ``array`` in a network's ``dtype``: as it is for float64; for float32, each
    value rounded to the nearest float32, and ValueError if one is beyond float32's range (it would
    round to inf). ``extremes``: the array's least and greatest values, if known (check_finite's)."""
    if dtype == np.float64 or array.dtype == dtype:
        return array
    if array.size:
        lo, hi = extremes if extremes is not None else (float(array.min()), float(array.max()))
        largest = max(-lo, hi)
        if largest >= FLOAT32_INF_EDGE:
            where = tuple(int(i) for i in np.argwhere(np.abs(array) >= FLOAT32_INF_EDGE)[0])
            index = ", ".join(map(str, where))
            raise ValueError(f"{name}[{index}] is {float(array[where])!r}, beyond float32's range "
                             f"(at most {float(np.finfo(np.float32).max)!r} in magnitude): a float32 "
                             f"network cannot take it")
    return array.astype(dtype, order="C")


def as_features(data, name="data", allow_empty=False, columns=2, dtype=np.float64):
    """``data`` as a C-contiguous float64 (or ``dtype``: see :func:`in_dtype`) array of shape
    (n, columns), checked.

    Parameters
    ----------
    data : array_like
        n samples of ``columns`` features each.
    name : str
        The argument's name, for error messages.
    allow_empty : bool
        Whether n == 0 is accepted.
    columns : int
        The number of features per sample.
    dtype : numpy dtype, float64 or float32
        The element type wanted.

    Returns
    -------
    ndarray of dtype, shape (n, columns), C-contiguous and writeable
        ``data`` itself when it already is one, else a converted copy.

    Raises
    ------
    TypeError
        If ``data`` does not hold real numbers.
    ValueError
        If its shape is not (n, columns), it is empty (unless allowed), or it holds NaN or inf (or,
        for float32, a value beyond its range).
    """
    array = as_real_array(data, name, np.float32 if _is_float32(data, dtype) else np.float64)
    if array.ndim != 2 or array.shape[1] != columns:
        hint = (" (for one sample use feedforward(x) or reshape(1, -1))"
                if array.shape == (columns,) else "")
        raise ValueError(f"{name} must be 2-D with {columns} columns (n samples x {columns} features), "
                         f"got shape {array.shape}{hint}")
    if array.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: it needs at least one sample, got shape {array.shape}")
    return contiguous_writeable(in_dtype(array, dtype, name, check_finite(array, name)))


def _is_float32(data, dtype):
    """Whether float32 is wanted and ``data`` is a float32 array already (read as it is, no copy)."""
    return np.dtype(dtype) == np.float32 and getattr(data, "dtype", None) == np.float32


def as_labels(y, n, name="all_y_trues"):
    """``y`` as a C-contiguous float64 array of shape (n,), checked.

    Raises
    ------
    TypeError
        If ``y`` does not hold real numbers.
    ValueError
        If it is not 1-D, its length is not ``n``, or it holds NaN or inf.
    """
    array = as_real_array(y, name)
    if array.ndim != 1:
        hint = " (use .ravel() for a column of labels)" if array.ndim == 2 and 1 in array.shape else ""
        raise ValueError(f"{name} must be 1-D with one label per sample, got shape {array.shape}{hint}")
    if array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} labels but data has {n} samples: they must match")
    check_finite(array, name)
    return contiguous_writeable(array)


def as_sample(x, name="x"):
    """One sample ``x`` (2 finite numbers) as a C-contiguous float64 array of shape (1, 2)."""
    array = as_real_array(x, name)
    if array.shape != (2,):
        raise ValueError(f"{name} must be 2 numbers (shape (2,)), got shape {array.shape}")
    x0, x1 = array.tolist()
    if not (math.isfinite(x0) and math.isfinite(x1)):
        check_finite(array, name)
    return np.array([[x0, x1]])


def as_params(values, name="params"):
    """The nine parameters w1..w6, b1..b3 as a new float64 array of shape (9,), checked."""
    array = as_real_array(values, name)
    if array.shape != (9,):
        raise ValueError(f"{name} must be 9 numbers (w1..w6, b1..b3), got shape {array.shape}")
    check_finite(array, name)
    return array.copy()


def contiguous_writeable(array):
    # Numba compiles a separate signature for read-only arrays; one copy of its dtype covers both cases.
    if array.flags.c_contiguous and array.flags.writeable:
        return array
    return np.array(array, dtype=array.dtype, order="C", copy=True)


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def as_real(value, name):
    """A scalar ``value`` as a Python float; TypeError unless a real number, ValueError unless finite."""
    if type(value) is float and math.isfinite(value):  # the common case, quickly
        return value
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {_describe(value)}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result!r}")
    return result


def as_nonnegative(value, name):
    """``as_real``, and ValueError unless at least 0 (an L2 penalty, a tolerance, an exponent)."""
    result = as_real(value, name)
    if result < 0.0:
        raise ValueError(f"{name} must be at least 0, got {result!r}")
    return result


def as_flag(value, name):
    """True or False (numpy's too) as a Python bool; TypeError for anything else (1, "yes", None)."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, not {type(value).__name__}")
    return bool(value)


def as_choice(value, options, name):
    """One of ``options``' names; ValueError naming them all otherwise."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(map(repr, options))}")
    return value


#: The largest count a kernel takes (a C ``Py_ssize_t`` / ``int64``): larger ones are refused here,
#: alike for every backend, rather than overflowing in one and running in another.
COUNT_MAX = 2**63 - 1


def as_count(value, name, minimum=0):
    """A count such as ``epochs`` as a Python int; TypeError unless an integer, ValueError if below
    ``minimum`` or above :data:`COUNT_MAX`."""
    if type(value) is int and minimum <= value <= COUNT_MAX:  # the common case, quickly
        return value
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {_describe(value)}")
    result = int(value)
    if result < minimum:
        raise ValueError(f"{name} must be >= 0, got {result}" if minimum == 0
                         else f"{name} must be at least {minimum}, got {result}")
    if result > COUNT_MAX:
        raise ValueError(f"{name} must be at most 2**63 - 1, got {result}")
    return result


def as_schedule(learn_rate, epochs, loss_every):
    """The options every ``train`` takes, checked: ``(learn_rate, epochs, loss_every)``.

    ``learn_rate`` a finite real number > 0 (as scikit-learn requires), ``epochs`` a count,
    ``loss_every`` a count or None (0).
    """
    learn_rate = as_real(learn_rate, "learn_rate")
    if not learn_rate > 0:
        raise ValueError(f"learn_rate must be > 0, got {learn_rate!r}")
    epochs = as_count(epochs, "epochs")
    return learn_rate, epochs, 0 if loss_every is None else as_count(loss_every, "loss_every")
