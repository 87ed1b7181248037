"""Floating-point matters shared by the checks and the backends: the caller's NumPy error state, which
fastnet's own arithmetic must not inherit, and the test for NaN and infinities."""
import functools
import math

import numpy as np


def quiet(function):
    """Run ``function`` whatever the caller's NumPy error state: overflow gives inf and NaN, which fastnet's
    callers check, never a warning or a FloatingPointError."""

    @functools.wraps(function)
    def quiet_function(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return quiet_function


# Up to this many values the element-wise test is the quicker one (one 784-pixel
# image); above it, the dot product below (timings in BENCHMARKS.md, "Finiteness checks").
ELEMENTWISE_FINITE_MAX = 4096


def all_finite(array):
    """Whether every value of ``array`` is finite (integer arrays always are)."""
    # The dot product of the values with themselves is finite only when every
    # value is (a NaN or an infinity propagates); when large finite values
    # overflow it, the element-wise test decides.
    if array.dtype.kind != "f":
        return True
    if array.size > ELEMENTWISE_FINITE_MAX:
        flat = array.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is answered below, whatever np.seterr says
            if math.isfinite(float(np.dot(flat, flat))):
                return True
    return bool(np.isfinite(array).all())


def check_finite(argument, array):
    """Raise ValueError naming ``argument`` when a float ``array`` holds NaN or an infinity."""
    if not all_finite(array):
        raise ValueError(f"{argument} contains NaN or infinite values")
