# Examples through the network (see numba.mlp_steps): forward and backward a layer at a time, the
# gradient's contribution, and how the inputs are found. Included by _mlp_kernels.pyx.

cdef inline void layer_sums(long l, real *packed, const int64_t[::1] sizes, Layout layout, InputRows rows,
                            const real *values, long count, const int32_t *all_rows, real *acts) noexcept nogil:
    """acts + slot[l] = z_{l+1} = W_l a_l + b_l for one example (layer 0 reads its input pairs)."""
    cdef long width = padded(sizes[l + 1])
    if l == 0:
        accumulate_input_rows(packed + layout.w_base[0], width, packed + layout.b_base[0], rows, values, count,
                              acts + layout.slot[0])
    else:
        accumulate_rows(packed + layout.w_base[l], width, packed + layout.b_base[l], all_rows,
                        acts + layout.slot[l - 1], sizes[l], acts + layout.slot[l])


cdef inline void layer_activation(long l, const int64_t[::1] sizes, Layout layout, long activation, long output,
                                  real *acts, real *zs) noexcept nogil:
    """acts + slot[l] = a_{l+1} = f(z_{l+1}) in place, from layer_sums' z_{l+1}; z_{l+1} kept in zs + slot[l]
    unless zs is NULL."""
    cdef long j, width = padded(sizes[l + 1])
    if zs != NULL:
        for j in range(width):
            zs[layout.slot[l] + j] = acts[layout.slot[l] + j]
    activate_layer(activation, output, l, layout.layers, acts + layout.slot[l], sizes[l + 1], width)


cdef inline void forward_layer(long l, real *packed, const int64_t[::1] sizes, Layout layout, long activation,
                               long output, InputRows rows, const real *values, long count,
                               const int32_t *all_rows, real *acts, real *zs) noexcept nogil:
    """acts + slot[l] = a_{l+1} = f(z_{l+1}) for one example: layer_sums, then layer_activation."""
    layer_sums(l, packed, sizes, layout, rows, values, count, all_rows, acts)
    layer_activation(l, sizes, layout, activation, output, acts, zs)


cdef void forward(real *packed, const int64_t[::1] sizes, Layout layout, long activation, long output,
                  InputRows rows, const real *values, long count, const int32_t *all_rows,
                  real *acts, real *zs) noexcept nogil:
    """forward_layer for every layer of one example."""
    cdef long l
    for l in range(layout.layers):
        forward_layer(l, packed, sizes, layout, activation, output, rows, values, count, all_rows, acts, zs)


cdef inline void output_deltas(const int64_t[::1] sizes, Layout layout, long cost, const real *acts,
                               const real *target, real *deltas) noexcept nogil:
    """deltas + slot[L-1] = δ_L of one example, from its outputs and target."""
    cdef long j, out = layout.slot[layout.layers - 1]
    for j in range(sizes[layout.layers]):
        deltas[out + j] = output_error(cost, acts[out + j], target[j])


cdef inline void backward_layer(long l, real *packed, const int64_t[::1] sizes, Layout layout, long activation,
                                const real *acts, const real *zs, const int32_t *all_rows,
                                real *deltas) noexcept nogil:
    """deltas + slot[l-1] = δ_l = (W_lᵀ δ_{l+1}) ⊙ f'(z_l) of one example (l >= 1), from δ_{l+1}."""
    accumulate_rows(packed + layout.n_base[l], padded(sizes[l]), packed + layout.zero_base, all_rows,
                    deltas + layout.slot[l], sizes[l + 1], deltas + layout.slot[l - 1])
    times_derivative(activation, deltas + layout.slot[l - 1], acts + layout.slot[l - 1],
                     NULL if zs == NULL else zs + layout.slot[l - 1], padded(sizes[l]))


cdef void backward(real *packed, const int64_t[::1] sizes, Layout layout, long activation, long cost,
                   const real *acts, const real *zs, const real *target, const int32_t *all_rows,
                   real *deltas) noexcept nogil:
    """deltas + slot[l] = δ_{l+1} for every layer of one example, from forward's activations (and z, where kept)."""
    cdef long l
    output_deltas(sizes, layout, cost, acts, target, deltas)
    for l in range(layout.layers - 1, 0, -1):
        backward_layer(l, packed, sizes, layout, activation, acts, zs, all_rows, deltas)


cdef void add_hidden_outer_products(real *packed, const int64_t[::1] sizes, Layout layout, const real *acts,
                                    const real *deltas, long stride, long examples) noexcept nogil:
    """packed += Σ_k δ_{l+1} a_lᵀ (both copies of W_l, l >= 1) and Σ_k δ_{l+1} (b_l, every layer), k over
    ``examples`` examples whose activations and (already scaled) deltas are ``stride`` apart; the first layer's
    weights, which read the inputs, are left to the caller. Example by example, in order, for every value."""
    cdef long l
    cdef real one = 1
    for l in range(layout.layers):
        if l > 0:
            update_rows_by_batch(packed + layout.w_base[l], padded(sizes[l + 1]), sizes[l], acts + layout.slot[l - 1],
                                 stride, deltas + layout.slot[l], stride, examples)
            update_rows_by_batch(packed + layout.n_base[l], padded(sizes[l]), sizes[l + 1], deltas + layout.slot[l],
                                 stride, acts + layout.slot[l - 1], stride, examples)
        update_rows_by_batch(packed + layout.b_base[l], padded(sizes[l + 1]), 1, &one, 0, deltas + layout.slot[l],
                             stride, examples)


# ---------------------------------------------------------------------------
# Inputs


cdef inline long example_inputs(long mode, long example, long n_inputs, const real *dense, const int64_t *indptr,
                                const uint16_t *indices, const real *csr_values, const int32_t *all_rows,
                                int32_t *row_idx, real *row_val, InputRows *rows,
                                const real **values) noexcept nogil:
    """Point rows/values at ``example``'s (index, value) pairs; returns their count.

    CSR: the prepared row, read where it is stored (its uint16 column numbers
    as ``rows.narrow``); DENSE: every input; COMPACT: the nonzeros of the dense
    row, gathered into row_idx/row_val (one spare slot at the end).
    """
    cdef long i, count = 0, start
    cdef real v
    rows.narrow = NULL
    if mode == _CSR:
        start, count = indptr[example], indptr[example + 1] - indptr[example]
        rows.wide, rows.narrow = NULL, indices + start
        values[0] = csr_values + start
        return count
    if mode == _DENSE:
        rows.wide = all_rows
        values[0] = dense + example * n_inputs
        return n_inputs
    for i in range(n_inputs):  # branchless: write every input, advance past nonzeros only
        v = dense[example * n_inputs + i]
        row_idx[count] = <int32_t>i
        row_val[count] = v
        count += v != 0
    rows.wide = row_idx
    values[0] = row_val
    return count


cdef inline const real *data_or_null(const real[::1] array) noexcept nogil:
    """The first element's address, or NULL for an empty array (an input mode's unused arrays)."""
    return &array[0] if array.shape[0] else NULL


cdef inline const uint16_t *indices_or_null(const uint16_t[::1] array) noexcept nogil:
    return &array[0] if array.shape[0] else NULL


def _all_rows(const int64_t[::1] sizes):
    return np.arange(max(np.asarray(sizes).max(), 1), dtype=np.int32)
