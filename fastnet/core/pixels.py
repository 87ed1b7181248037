"""The pixel convention every part of fastnet reads inputs by.

uint8 inputs are 8-bit pixel intensities, read as v / PIXEL_MAX (MNIST's own
format); every other dtype is read as its values.
"""
import numpy as np

PIXEL_MAX = 255


def pixel_values(dtype):
    """The 256 values a uint8 pixel v stands for: v / 255 in ``dtype``, bit for bit as X.astype(dtype) / 255."""
    dtype = np.dtype(dtype)
    return np.arange(PIXEL_MAX + 1, dtype=dtype) / dtype.type(PIXEL_MAX)


def rows_dtype(X, dtype=None):
    """The dtype the rows of X are read in: ``dtype`` when given, else X's own (float32 for uint8 pixels)."""
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.float32) if X.dtype == np.uint8 else X.dtype


def converted_rows(X, dtype):
    """X as a C-contiguous array of ``dtype`` (X itself when it is one); uint8 pixels v become v / 255."""
    if X.dtype == np.uint8:
        return pixel_values(dtype)[X]
    return np.ascontiguousarray(X, dtype)
