# Rows of X made into what the kernels read: the nonzeros of each row, in CSR
# form (the Numba backend's numba.mlp_inputs states the passes and their contract).
# uint8 pixels are read as table[v]; floats are converted to the dtype of values.

ctypedef fused source_t:
    uint8_t
    float
    double


cdef inline real _converted(source_t v, const real[::1] table) noexcept nogil:
    if source_t is uint8_t:
        return table[v]
    else:
        return <real>v


cdef inline long _row_count(const source_t *row, long width, bint *bad) noexcept nogil:
    """Nonzeros in ``row``; sets bad when it holds a NaN or an infinity (no branch, no float sum: vectorised)."""
    cdef long i, count = 0
    cdef bint nonfinite = False
    cdef source_t difference
    for i in range(width):
        count += row[i] != 0
        difference = row[i] - row[i]  # NaN for NaN and ±inf, else 0
        nonfinite |= difference != difference
    bad[0] = nonfinite
    return count


def count_nonzeros(const source_t[::1] source, long width, int64_t[::1] counts):
    """counts[k] = the number of nonzero values in row k; returns the first row with a NaN or infinity, or -1."""
    cdef long k, bad_row = -1
    cdef bint bad = False
    with nogil:
        for k in range(counts.shape[0]):
            counts[k] = _row_count(&source[0] + k * width, width, &bad)
            if bad:
                bad_row = k
                break
    return bad_row


def to_csr(const source_t[::1] source, long width, const real[::1] table, const int64_t[::1] indptr,
           uint16_t[::1] indices, real[::1] values):
    """indices/values[indptr[k]:indptr[k+1]] = row k's nonzeros (see numba.mlp_inputs.to_csr)."""
    cdef long k, i, p, stop
    cdef source_t v
    with nogil:
        for k in range(indptr.shape[0] - 1):
            p, stop = indptr[k], indptr[k + 1]
            for i in range(width):
                v = source[k * width + i]
                indices[p] = <uint16_t>i
                values[p] = _converted(v, table)
                p = min(p + (v != 0), stop)


def csr_matches(const source_t[::1] source, long width, const real[::1] table, const int64_t[::1] indptr,
                const uint16_t[::1] indices, const real[::1] values):
    """Whether every row of ``source`` has exactly its CSR row's nonzeros (see numba.mlp_inputs.csr_matches)."""
    cdef long k, p
    cdef bint bad = False, same = True
    cdef const source_t *row
    with nogil:
        for k in range(indptr.shape[0] - 1):
            row = &source[0] + k * width
            same = _row_count(row, width, &bad) == indptr[k + 1] - indptr[k] and not bad
            for p in range(indptr[k], indptr[k + 1]):  # no exit inside: a gather and a compare, vectorised
                same &= _converted(row[indices[p]], table) == values[p]
            if not same:
                break
    return same
