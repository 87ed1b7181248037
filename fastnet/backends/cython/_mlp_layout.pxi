# The packed layout (see numba.mlp_layout), and the row operations of rows.h by dtype.
# Included by _mlp_kernels.pyx.

cdef inline long padded(long n) noexcept nogil:
    return (n + _LANES - 1) // _LANES * _LANES



cdef struct Layout:
    long layers, zero_base, packed_size, slots_size
    const int64_t *w_base    # where Wᵀ_l starts in the packed vector
    const int64_t *n_base    # where W_l (natural orientation, l >= 1) starts
    const int64_t *b_base    # where b_l starts
    const int64_t *slot      # where layer l's outputs start in an activation or delta vector


def _layout_offsets(const int64_t[::1] sizes):
    """(offsets (4, layers) int64: w_base, n_base, b_base, slot; zero_base, packed_size, slots_size)."""
    cdef long layers = sizes.shape[0] - 1, l, width, offset = 0, slots = 0, widest = 0
    offsets_array = np.full((4, layers), -1, np.int64)
    cdef int64_t[:, ::1] offsets = offsets_array
    for l in range(layers):
        width = padded(sizes[l + 1])
        widest = max(widest, width, padded(sizes[l]))
        offsets[0, l] = offset
        offset += sizes[l] * width
        if l > 0:
            offsets[1, l] = offset
            offset += sizes[l + 1] * padded(sizes[l])
        offsets[2, l] = offset
        offset += width
        offsets[3, l] = slots
        slots += width
    return offsets_array, offset, offset + widest, slots


cdef Layout make_layout(const int64_t[::1] sizes, const int64_t[:, ::1] offsets, long zero_base, long packed_size,
                        long slots_size) noexcept:
    cdef Layout layout
    layout.layers = sizes.shape[0] - 1
    layout.zero_base, layout.packed_size, layout.slots_size = zero_base, packed_size, slots_size
    layout.w_base, layout.n_base = &offsets[0, 0], &offsets[1, 0]
    layout.b_base, layout.slot = &offsets[2, 0], &offsets[3, 0]
    return layout


def aligned_zeros(n, dtype):
    """n zeros of ``dtype``, the first at a 64-byte boundary (see numba.mlp_kernels.aligned_zeros)."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(n + _CACHE_LINE // itemsize, dtype)
    skip = (-raw.ctypes.data % _CACHE_LINE) // itemsize
    return raw[skip:skip + n]


cdef void pack(const real[::1] params, const int64_t[::1] sizes, real[::1] packed, Layout layout) noexcept nogil:
    cdef long l, i, j, offset = 0, n_in, n_out, width, natural_width
    cdef real value
    packed[:] = 0
    for l in range(layout.layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        width, natural_width = padded(n_out), padded(n_in)
        for j in range(n_out):
            for i in range(n_in):
                value = params[offset + j * n_in + i]
                packed[layout.w_base[l] + i * width + j] = value
                if l > 0:
                    packed[layout.n_base[l] + j * natural_width + i] = value
        offset += n_out * n_in
        for j in range(n_out):
            packed[layout.b_base[l] + j] = params[offset + j]
        offset += n_out


cdef void unpack(const real[::1] packed, const int64_t[::1] sizes, real[::1] params, Layout layout) noexcept nogil:
    cdef long l, i, j, offset = 0, n_in, n_out, width
    for l in range(layout.layers):
        n_in, n_out, width = sizes[l], sizes[l + 1], padded(sizes[l + 1])
        for j in range(n_out):
            for i in range(n_in):
                params[offset + j * n_in + i] = packed[layout.w_base[l] + i * width + j]
        offset += n_out * n_in
        for j in range(n_out):
            params[offset + j] = packed[layout.b_base[l] + j]
        offset += n_out


# ---------------------------------------------------------------------------
# Row operations, by dtype


cdef inline void accumulate_rows(const real *w, long width, const real *bias, const int32_t *rows,
                                 const real *values, long count, real *out) noexcept nogil:
    if real is float:
        fastnet_accumulate_rows_f(w, width, bias, rows, values, count, out)
    else:
        fastnet_accumulate_rows_d(w, width, bias, rows, values, count, out)



cdef inline void update_rows(real *w, long width, const int32_t *rows, const real *values, long count,
                             const real *delta) noexcept nogil:
    if real is float:
        fastnet_update_rows_f(w, width, rows, values, count, delta)
    else:
        fastnet_update_rows_d(w, width, rows, values, count, delta)



ctypedef struct InputRows:
    # An example's input pairs: their row numbers, either int32 (``wide``: dense and compact inputs) or, for
    # prepared CSR inputs, the row's uint16 column numbers as stored (``narrow``); the other pointer is NULL.
    const int32_t *wide
    const uint16_t *narrow


cdef inline void accumulate_input_rows(const real *w, long width, const real *bias, InputRows rows,
                                       const real *values, long count, real *out) noexcept nogil:
    """accumulate_rows over an example's input pairs."""
    if rows.narrow == NULL:
        accumulate_rows(w, width, bias, rows.wide, values, count, out)
    elif real is float:
        fastnet_accumulate_rows_u16_f(w, width, bias, rows.narrow, values, count, out)
    else:
        fastnet_accumulate_rows_u16_d(w, width, bias, rows.narrow, values, count, out)


cdef inline void update_input_rows(real *w, long width, InputRows rows, const real *values, long count,
                                   const real *delta) noexcept nogil:
    """update_rows over an example's input pairs."""
    if rows.narrow == NULL:
        update_rows(w, width, rows.wide, values, count, delta)
    elif real is float:
        fastnet_update_rows_u16_f(w, width, rows.narrow, values, count, delta)
    else:
        fastnet_update_rows_u16_d(w, width, rows.narrow, values, count, delta)


cdef inline void update_rows_by_batch(real *w, long width, long count, const real *values, long value_stride,
                                      const real *delta, long delta_stride, long examples) noexcept nogil:
    if real is float:
        fastnet_update_rows_by_batch_f(w, width, count, values, value_stride, delta, delta_stride, examples)
    else:
        fastnet_update_rows_by_batch_d(w, width, count, values, value_stride, delta, delta_stride, examples)



cdef inline void scale_vector(real *x, long width, real s) noexcept nogil:
    """x[0:width] *= s"""
    cdef long j
    for j in range(width):
        x[j] *= s
