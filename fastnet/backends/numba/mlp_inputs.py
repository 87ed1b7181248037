"""Rows of X made into what the Numba kernels read: the nonzeros of each row, in CSR form.

``source`` holds the rows flat (n rows of ``width``): uint8 pixels, read as
``table[v]`` (``table`` = the 256 values v/255 in the parameters' dtype), or
float32/float64 values, converted to the dtype of ``values``. Three passes,
each one compiled call over the whole data set:

* ``count_nonzeros``: the nonzeros of each row, and the first row holding a NaN
  or an infinity (a vectorised pass at memory speed);
* ``to_csr``: the column numbers and values of each row's nonzeros;
* ``csr_matches``: whether CSR rows still hold exactly the nonzeros of
  ``source`` (the check that lets a prepared data set be reused).
"""
from numba import njit, types
from numba.extending import overload

from .primitives import INLINE, OPTIONS


def converted(v, table):
    """The value a kernel reads for ``v``: ``table[v]`` for a uint8 pixel, else v in ``table``'s dtype."""
    raise NotImplementedError("compiled code only")


@overload(converted, inline="always")
def _converted(v, table):
    if isinstance(v, types.Integer):
        return lambda v, table: table[v]
    return lambda v, table: table.dtype.type(v)


@njit(**INLINE)
def _row_count(row):
    """(nonzeros in ``row``, whether it holds a NaN or an infinity); vectorised: no branch, no float sum."""
    count = 0
    bad = False
    for i in range(len(row)):
        v = row[i]
        count += v != 0
        difference = v - v  # NaN for NaN and ±inf, else 0
        bad |= difference != difference
    return count, bad


@njit(**OPTIONS)
def count_nonzeros(source, width, counts):
    """counts[k] = the number of nonzero values in row k; returns the first row with a NaN or infinity, or -1."""
    for k in range(len(counts)):
        count, bad = _row_count(source[k * width:(k + 1) * width])
        counts[k] = count
        if bad:
            return k
    return -1


@njit(**OPTIONS)
def to_csr(source, width, table, indptr, indices, values):
    """indices/values[indptr[k]:indptr[k+1]] = the column numbers and values of row k's nonzeros.

    The caller counts the nonzeros into indptr and gives indices and values
    indptr[-1] + 1 entries: the branchless loop writes one past a row's last
    nonzero before skipping it. Writes never pass indptr[k+1], even if the
    counts were wrong (``source`` written meanwhile by another thread).
    """
    for k in range(len(indptr) - 1):
        p, stop = indptr[k], indptr[k + 1]
        row = source[k * width:(k + 1) * width]
        for i in range(width):
            v = row[i]
            indices[p] = i
            values[p] = converted(v, table)
            p = min(p + (v != 0), stop)


@njit(**OPTIONS)
def csr_matches(source, width, table, indptr, indices, values):
    """Whether every row k of ``source`` has exactly the nonzeros indices/values[indptr[k]:indptr[k+1]].

    A row matches when it has as many nonzeros as its CSR row and holds each
    CSR value at its column (CSR values are nonzero and their columns
    distinct, as ``to_csr`` made them). A NaN never matches.
    """
    for k in range(len(indptr) - 1):
        row = source[k * width:(k + 1) * width]
        count, bad = _row_count(row)
        if bad or count != indptr[k + 1] - indptr[k]:
            return False
        columns, expected = indices[indptr[k]:indptr[k + 1]], values[indptr[k]:indptr[k + 1]]
        same = True
        for p in range(len(columns)):  # no exit inside: a gather and a compare the compiler vectorises
            same &= converted(row[columns[p]], table) == expected[p]
        if not same:
            return False
    return True
