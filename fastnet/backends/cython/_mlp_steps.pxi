# One example through the network (see numba.mlp_steps): forward, backward, its gradient's
# contribution, and how its inputs are found. Included by _mlp_kernels.pyx.

cdef void forward(real *packed, const int64_t[::1] sizes, Layout layout, long activation, long output,
                  const int32_t *rows, const real *values, long count, const int32_t *all_rows,
                  real *acts, real *zs) noexcept nogil:
    """acts + slot[l] = a_{l+1} = f(z_{l+1}) for every layer; z_{l+1} kept in zs + slot[l] unless zs is NULL."""
    cdef long l, j, width, layers = layout.layers
    for l in range(layers):
        width = padded(sizes[l + 1])
        if l == 0:
            accumulate_rows(packed + layout.w_base[0], width, packed + layout.b_base[0], rows, values, count,
                            acts + layout.slot[0])
        else:
            accumulate_rows(packed + layout.w_base[l], width, packed + layout.b_base[l], all_rows,
                            acts + layout.slot[l - 1], sizes[l], acts + layout.slot[l])
        if zs != NULL:
            for j in range(width):
                zs[layout.slot[l] + j] = acts[layout.slot[l] + j]
        activate_layer(activation, output, l, layers, acts + layout.slot[l], sizes[l + 1], width)


cdef void backward(real *packed, const int64_t[::1] sizes, Layout layout, long activation, long cost,
                   const real *acts, const real *zs, const real *target, const int32_t *all_rows,
                   real *deltas) noexcept nogil:
    """deltas + slot[l] = δ_{l+1} for every layer, from forward's activations (and z, where kept)."""
    cdef long l, j, layers = layout.layers, out = layout.slot[layers - 1]
    for j in range(sizes[layers]):
        deltas[out + j] = output_error(cost, acts[out + j], target[j])
    for l in range(layers - 1, 0, -1):
        accumulate_rows(packed + layout.n_base[l], padded(sizes[l]), packed + layout.zero_base, all_rows,
                        deltas + layout.slot[l], sizes[l + 1], deltas + layout.slot[l - 1])
        times_derivative(activation, deltas + layout.slot[l - 1], acts + layout.slot[l - 1],
                         NULL if zs == NULL else zs + layout.slot[l - 1], padded(sizes[l]))


cdef void add_outer_products(real *packed, const int64_t[::1] sizes, Layout layout, real scale,
                             const int32_t *rows, const real *values, long count, const int32_t *all_rows,
                             const real *acts, real *deltas) noexcept nogil:
    cdef long l, width
    for l in range(layout.layers):
        width = padded(sizes[l + 1])
        scale_vector(deltas + layout.slot[l], width, scale)
        if l == 0:
            update_rows(packed + layout.w_base[0], width, rows, values, count, deltas + layout.slot[0])
        else:
            update_rows(packed + layout.w_base[l], width, all_rows, acts + layout.slot[l - 1], sizes[l],
                        deltas + layout.slot[l])
            update_rows(packed + layout.n_base[l], padded(sizes[l]), all_rows, deltas + layout.slot[l],
                        sizes[l + 1], acts + layout.slot[l - 1])
        add_vector(packed + layout.b_base[l], deltas + layout.slot[l], width)


# ---------------------------------------------------------------------------
# Inputs


cdef inline long example_inputs(long mode, long example, long n_inputs, const real *dense, const int64_t *indptr,
                                const int32_t *indices, const real *csr_values, const int32_t *all_rows,
                                int32_t *row_idx, real *row_val, const int32_t **rows,
                                const real **values) noexcept nogil:
    """Point rows/values at ``example``'s (index, value) pairs; returns their count.

    CSR: the prepared row; DENSE: every input; COMPACT: the nonzeros of the
    dense row, gathered into row_idx/row_val (one spare slot at the end).
    """
    cdef long i, count = 0
    cdef real v
    if mode == _CSR:
        rows[0] = indices + indptr[example]
        values[0] = csr_values + indptr[example]
        return indptr[example + 1] - indptr[example]
    if mode == _DENSE:
        rows[0] = all_rows
        values[0] = dense + example * n_inputs
        return n_inputs
    for i in range(n_inputs):  # branchless: write every input, advance past nonzeros only
        v = dense[example * n_inputs + i]
        row_idx[count] = <int32_t>i
        row_val[count] = v
        count += v != 0
    rows[0] = row_idx
    values[0] = row_val
    return count


cdef inline const real *data_or_null(const real[::1] array) noexcept nogil:
    """The first element's address, or NULL for an empty array (an input mode's unused arrays)."""
    return &array[0] if array.shape[0] else NULL


cdef inline const int32_t *indices_or_null(const int32_t[::1] array) noexcept nogil:
    return &array[0] if array.shape[0] else NULL


def _all_rows(const int64_t[::1] sizes):
    return np.arange(max(np.asarray(sizes).max(), 1), dtype=np.int32)
