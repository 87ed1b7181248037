"""Argument checks and conversions done in Python before any kernel runs.

Every function raises ValueError or TypeError naming the argument and what was
expected. Arrays handed on are C-contiguous, of the network's dtype and finite,
so kernels never see unchecked input.
"""
import math
import numbers

import numpy as np

from .numerics import check_finite
from .pixels import converted_rows

DTYPES = ("float32", "float64")


def check_choice(argument, value, choices):
    """``value`` if it is one of the names in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{argument} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_dtype(dtype):
    """The numpy dtype for "float32" or "float64" (names, numpy dtypes or types)."""
    try:
        name = None if dtype is None else np.dtype(dtype).name  # np.dtype(None) would be float64
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    return np.dtype(name)


def is_integer(value):
    """Whether ``value`` is a Python or NumPy integer and not a bool (a quicker test than numbers.Integral)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real_number(value):
    """Whether ``value`` is a real number (Python, NumPy or other numbers.Real) and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(argument, value, minimum, maximum=None):
    """``value`` as an int, if it is an integer (not a bool) >= minimum (and <= maximum when given)."""
    if not is_integer(value):
        raise TypeError(f"{argument} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{argument} must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{argument} must be at most {maximum:,}; got {value:,}")
    return int(value)


def _as_float(argument, value, expected):
    """float(value), or ValueError for an integer too large for a float (10**400)."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{argument} must be {expected}; got a number too large for a float") from None


def check_positive_finite(argument, value):
    """``value`` as a float, if it is a positive finite real number."""
    if not is_real_number(value):
        raise TypeError(f"{argument} must be a positive finite number; got {value!r}")
    number = _as_float(argument, value, "a positive finite number")
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{argument} must be a positive finite number; got {value!r}")
    return number


def check_nonnegative_finite(argument, value, below=None):
    """``value`` as a float, if it is a finite real number >= 0 (and < ``below`` when given)."""
    expected = f"a finite number >= 0{'' if below is None else f' and < {below}'}"
    if not is_real_number(value):
        raise TypeError(f"{argument} must be {expected}; got {value!r}")
    number = _as_float(argument, value, expected)
    if not (math.isfinite(number) and number >= 0 and (below is None or number < below)):
        raise ValueError(f"{argument} must be {expected}; got {value!r}")
    return number


def check_seed(argument, seed):
    """``seed`` if it is None or a non-negative integer."""
    if seed is not None:
        check_int(argument, seed, 0)
    return seed


def check_sizes(sizes):
    """``sizes`` as a tuple of ints: at least two layers, each at least one neuron wide."""
    if not isinstance(sizes, (list, tuple, np.ndarray)):
        raise TypeError(f"sizes must be a sequence of layer widths such as [784, 16, 16, 10]; got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layers (input and output); got {list(sizes)!r}")
    checked = []
    for width in sizes:
        if not is_integer(width):
            raise TypeError(f"sizes must hold integer layer widths; got {width!r} in {list(sizes)!r}")
        if width < 1:
            raise ValueError(f"sizes must hold positive layer widths; got {width} in {list(sizes)!r}")
        checked.append(int(width))
    return tuple(checked)


def _as_array(argument, value, kinds, expected):
    """``value`` as an ndarray whose dtype kind is one of ``kinds``; TypeError saying ``expected`` otherwise."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{argument} must be {expected}; {exc}") from None
    if array.dtype.kind not in kinds:
        raise TypeError(f"{argument} must be {expected}; got dtype {array.dtype}")
    return array


def _as_real_array(argument, value):
    return _as_array(argument, value, "biuf", "an array of real numbers")


def check_finite_params(params, model="network"):
    """Raise ValueError if the parameter vector holds NaN or infinite values (a diverged or damaged ``model``)."""
    try:
        check_finite("params", params)
    except ValueError:
        raise ValueError(f"the {model}'s params hold NaN or infinite values (did training diverge?); set finite "
                         f"ones, or load a saved {model}, before using it") from None


def as_inputs(argument, value, width, dtype, *, pixels=True):
    """Inputs as a C-contiguous (n, width) array of ``dtype``, and their form.

    The form tells how to shape the answer: "single" for one example
    ``(width,)``, "batch" for rows ``(n, width)``, "column" for the book's
    ``(width, 1)`` column vector. uint8 arrays are 8-bit pixel intensities:
    v is read as v / 255 (``pixels.pixel_values``); every other dtype
    is read as its values, as are uint8 values with ``pixels=False``.
    """
    array = _as_real_array(argument, value)
    if array.ndim == 1 and array.shape[0] == width:
        form, rows = "single", array.reshape(1, width)
    elif array.ndim == 2 and array.shape[1] == width:
        form, rows = "batch", array
    elif array.ndim == 2 and array.shape == (width, 1):
        form, rows = "column", array.reshape(1, width)
    else:
        raise ValueError(
            f"{argument} must have shape ({width},), (n, {width}) or ({width}, 1) "
            f"to match the input layer; got shape {array.shape}"
        )
    if pixels and rows.dtype == np.uint8:
        return converted_rows(rows, dtype), form  # pixels are finite
    rows = np.ascontiguousarray(rows, dtype=dtype)
    check_finite(argument, rows)
    return rows, form


def as_batch(argument, value, width, dtype):
    """Inputs that must be rows of examples, (n, width), with n >= 1."""
    rows, form = as_inputs(argument, value, width, dtype)
    if form != "batch" or len(rows) == 0:
        raise ValueError(f"{argument} must have shape (n, {width}) with n >= 1; got shape {np.shape(value)}")
    return rows


def as_labels(argument, value, n, classes):
    """Class labels as an int64 array (n,), from int labels (n,) or one-hot (n, classes)."""
    array = _as_real_array(argument, value)
    if array.dtype.kind == "b":
        raise TypeError(f"{argument} must hold class labels or one-hot rows, not bools")
    if array.ndim == 2 and array.shape == (n, classes):
        check_finite(argument, array)
        if not (np.isin(array, (0, 1)).all() and (array.sum(axis=1) == 1).all()):
            raise ValueError(f"{argument} rows must be one-hot (a single 1, the rest 0) to name a class")
        return array.argmax(axis=1)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(
            f"{argument} must be {n} class labels (shape ({n},)) or one-hot rows (shape ({n}, {classes})); "
            f"got shape {array.shape}"
        )
    if array.dtype.kind == "f":
        check_finite(argument, array)
        if not np.array_equal(array, np.round(array)):
            raise ValueError(f"{argument} must hold whole-number class labels")
    if n and (array.min() < 0 or array.max() >= classes):
        raise ValueError(f"{argument} must hold class labels in [0, {classes}); got values from {array.min()} to "
                         f"{array.max()}")
    return array.astype(np.int64)


def as_targets(argument, value, n, classes, dtype):
    """Training targets as a C-contiguous (n, classes) array of ``dtype``.

    Int labels become one-hot rows; (n, classes) rows are used as given.
    """
    array = _as_real_array(argument, value)
    if array.ndim == 2 and array.shape == (n, classes):
        targets = np.ascontiguousarray(array, dtype=dtype)
        check_finite(argument, targets)
        return targets
    if array.ndim == 2:
        raise ValueError(f"{argument} one-hot rows must have shape ({n}, {classes}); got shape {array.shape}")
    labels = as_labels(argument, array, n, classes)
    targets = np.zeros((n, classes), dtype=dtype)
    targets[np.arange(n), labels] = 1
    return targets


def check_bool(argument, value):
    """``value`` if it is a bool (or a NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argument} must be True or False; got {value!r}")
    return bool(value)


def as_tokens(argument, value, vocab_size, *, max_length=None, batch=True):
    """Token ids as a C-contiguous int64 array (B, T), and whether they came as one sequence (T,).

    Ids must be integers (not bools or floats) in [0, vocab_size); T >= 1,
    and T <= max_length when given. With ``batch=False`` only a 1-D sequence is accepted.
    """
    array = _as_array(argument, value, "biuf", "an array of integer token ids")
    if array.size and array.dtype.kind not in "iu":  # an empty list is float64 to NumPy: said below to be empty
        raise TypeError(f"{argument} must be an array of integer token ids; got dtype {array.dtype}")
    if array.ndim not in ((1, 2) if batch else (1,)):
        shapes = "(T,) or (B, T)" if batch else "(T,)"
        raise ValueError(f"{argument} must have shape {shapes}; got shape {array.shape}")
    single = array.ndim == 1
    rows = array.reshape(1, -1) if single else array
    if rows.shape[1] == 0 or rows.shape[0] == 0:
        raise ValueError(f"{argument} must hold at least one token per sequence; got shape {array.shape}")
    if max_length is not None and rows.shape[1] > max_length:
        raise ValueError(f"{argument} holds {rows.shape[1]} positions, more than the context of {max_length}")
    low, high = rows.min(), rows.max()
    if low < 0 or high >= vocab_size:
        raise ValueError(f"{argument} must hold token ids in [0, {vocab_size}); got values from {low} to {high}")
    return np.ascontiguousarray(rows, dtype=np.int64), single
