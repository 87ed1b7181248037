"""Checks at the boundary of the compiled backends' public kernel functions.

Compiled kernels do no bounds checking, so everything that decides a memory
access is checked here, in Python, before they run: dtypes, shapes,
contiguity, codes and the visiting order's range. (Finiteness is checked by
``Network``; a NaN cannot make a kernel read out of bounds.)
"""
import numpy as np

from ..core.checks import is_integer, is_real_number
from ..mlp.layout import count_params
from ..core.codes import ACTIVATIONS, COST_OUTPUTS, COSTS, OUTPUTS


def _fail(argument, expected, got):
    raise ValueError(f"{argument} must be {expected}; got {got}")


def check_array(argument, array, dtype, ndim, shape=None, writable=False):
    """``array`` if it is a C-contiguous ndarray of ``dtype`` with ``ndim`` dimensions (and ``shape``).

    ``writable``: the kernel writes into it, so a read-only array is refused.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{argument} must be a numpy array; got {type(array).__name__}")
    if writable and not array.flags.writeable:
        _fail(argument, "a writable array (the kernel writes into it)", "a read-only one")
    if array.dtype != dtype or array.ndim != ndim or not array.flags.c_contiguous:
        _fail(argument, f"a C-contiguous {ndim}-D {np.dtype(dtype).name} array",
              f"{array.ndim}-D {array.dtype}{'' if array.flags.c_contiguous else ' (not C-contiguous)'}")
    if shape is not None and array.shape != tuple(shape):
        _fail(argument, f"of shape {tuple(int(n) for n in shape)}", f"shape {array.shape}")
    return array


def _check_code(argument, code, names):
    if not is_integer(code) or not 0 <= code < len(names):
        _fail(argument, f"a code in range({len(names)})", code)


def check_network(params, sizes, activation, output, cost=None):
    """The parameter vector, the int64 sizes and the activation, output (and cost) codes."""
    check_array("sizes", sizes, np.int64, 1)
    widths = sizes.tolist()  # as Python ints: quicker to check than the array, for a handful of layers
    if len(widths) < 2 or min(widths) < 1:
        _fail("sizes", "at least two positive layer widths", widths)
    if not isinstance(params, np.ndarray) or params.dtype not in (np.float32, np.float64):
        raise TypeError("params must be a float32 or float64 numpy array")
    check_array("params", params, params.dtype, 1, (count_params(widths),))
    _check_code("activation", activation, ACTIVATIONS)
    _check_code("output", output, OUTPUTS)
    if cost is not None:
        _check_code("cost", cost, COSTS)
        if COST_OUTPUTS[cost] != output:
            _fail("output", f"{COST_OUTPUTS[cost]} ({OUTPUTS[COST_OUTPUTS[cost]]}) for the {COSTS[cost]} cost",
                  output)


def check_rows(argument, X, params, width):
    """Input or target rows: C-contiguous (n, width) of params' dtype."""
    check_array(argument, X, params.dtype, 2)
    if X.shape[1] != width:
        _fail(argument, f"of shape (n, {width})", f"shape {X.shape}")
    return X


def _is_real(value, accept):
    """Whether ``value`` is a finite real number (not a bool) for which ``accept(value)`` holds."""
    return is_real_number(value) and bool(np.isfinite(value)) and accept(value)


def check_training(order, examples, batch_size, eta, l2, momentum, velocity, params):
    """An epoch's visiting order (ints in [0, examples)), batch size, step sizes and velocity."""
    if not isinstance(order, np.ndarray) or order.ndim != 1 or order.dtype.kind not in "iu":
        raise TypeError("order must be a 1-D integer numpy array")
    if len(order) and (order.min() < 0 or order.max() >= examples):
        _fail("order", f"indices in [0, {examples})", f"values from {order.min()} to {order.max()}")
    if not is_integer(batch_size) or batch_size < 1:
        _fail("batch_size", "an integer >= 1", batch_size)
    if not _is_real(eta, lambda v: v > 0):
        _fail("eta", "a positive finite number", eta)
    if not _is_real(l2, lambda v: v >= 0):
        _fail("l2", "a finite number >= 0", l2)
    if not _is_real(momentum, lambda v: 0 <= v < 1):
        _fail("momentum", "a number in [0, 1)", momentum)
    if momentum or velocity is not None:
        check_array("velocity", velocity, params.dtype, 1, params.shape if momentum else None, writable=True)
