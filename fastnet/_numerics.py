"""Floating-point state that fastnet's own arithmetic must not inherit from the caller."""
import functools

import numpy as np


def quiet(function):
    """Run ``function`` whatever the caller's NumPy error state: overflow gives inf and NaN, which fastnet's
    callers check, never a warning or a FloatingPointError."""

    @functools.wraps(function)
    def quiet_function(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return quiet_function
