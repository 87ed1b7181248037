# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The Cython backend's compiled drivers; called only through ``cython_backend``.

The same drivers, arguments and packed layout as the Numba backend
(``_numba_kernels``, which explains the layout and the two-phase mini-batch);
the row operations are C in ``_cython_rows.h``. Every driver releases the GIL
while it computes. Arguments arrive checked (``_compiled_api``): no bounds or
wrap-around checks are compiled in.
"""
import numpy as np

from libc.math cimport exp, tanh
from libc.stdint cimport int32_t, int64_t
from libc.stddef cimport size_t

cdef extern from "_cython_rows.h" nogil:
    unsigned int fastnet_flush_denormals()
    void fastnet_restore_mxcsr(unsigned int previous)
    void fastnet_accumulate_rows_f(const float *w, long width, const float *bias, const int32_t *rows,
                                   const float *values, long count, float *out)
    void fastnet_accumulate_rows_d(const double *w, long width, const double *bias, const int32_t *rows,
                                   const double *values, long count, double *out)
    void fastnet_update_rows_f(float *w, long width, const int32_t *rows, const float *values, long count,
                               const float *delta)
    void fastnet_update_rows_d(double *w, long width, const int32_t *rows, const double *values, long count,
                               const double *delta)
    float fastnet_dot_f(const float *a, const float *b, long n)
    double fastnet_dot_d(const double *a, const double *b, long n)
    void fastnet_sigmoid_tiles_f(float *x, long width)
    void fastnet_sigmoid_tiles_d(double *x, long width)
    void fastnet_prefetch_csr_row(const int64_t *indptr, const int32_t *indices, const void *values,
                                  size_t value_size, long example)

ctypedef fused real:
    float
    double

# Codes shared with fastnet.backends.codes (checked when cython_backend imports this module).
SIGMOID, RELU, TANH = 0, 1, 2
SIGMOID_OUTPUT, SOFTMAX_OUTPUT = 0, 1
QUADRATIC = 0
DENSE_INPUTS, CSR_INPUTS, COMPACT_INPUTS = 0, 1, 2

cdef enum:
    _SIGMOID = 0
    _RELU = 1
    _SOFTMAX_OUTPUT = 1
    _QUADRATIC = 0
    _DENSE = 0
    _CSR = 1
    _COMPACT = 2
    _LANES = 16
    _CACHE_LINE = 64  # bytes
    _PREFETCH_AHEAD = 4  # examples: the epoch asks for a CSR row this far ahead (as the Numba backend)


cdef inline long padded(long n) noexcept nogil:
    return (n + _LANES - 1) // _LANES * _LANES


# ---------------------------------------------------------------------------
# Layout (see _numba_kernels.packed_layout)


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
    """n zeros of ``dtype``, the first at a 64-byte boundary (see _numba_kernels.aligned_zeros)."""
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


cdef inline void activate(long code, real *x, long n, long width) noexcept nogil:
    """x[0:n] = f(x[0:n]), whole sigmoid tiles at a time; padding lanes set to 0."""
    cdef long j
    if code == _SIGMOID:
        if real is float:
            fastnet_sigmoid_tiles_f(x, width)
        else:
            fastnet_sigmoid_tiles_d(x, width)
    elif code == _RELU:
        for j in range(n):
            x[j] = x[j] if x[j] > 0 else 0
    else:
        for j in range(n):
            x[j] = tanh(x[j])
    for j in range(n, width):
        x[j] = 0


cdef inline void softmax(real *x, long n, long width) noexcept nogil:
    """x[0:n] = e^(x_j − max x) / Σ_k e^(x_k − max x); padding lanes set to 0."""
    cdef long j
    cdef real largest = x[0], total = 0
    for j in range(1, n):
        largest = max(largest, x[j])
    for j in range(n):
        x[j] = exp(x[j] - largest)
        total += x[j]
    for j in range(n):
        x[j] /= total
    for j in range(n, width):
        x[j] = 0


cdef inline void activate_layer(long activation, long output, long l, long layers, real *x, long n,
                                long width) noexcept nogil:
    """x[0:n] = f(x[0:n]): the hidden ``activation``, or the ``output`` function on the last layer."""
    if l < layers - 1:
        activate(activation, x, n, width)
    elif output == _SOFTMAX_OUTPUT:
        softmax(x, n, width)
    else:
        activate(_SIGMOID, x, n, width)


cdef inline real derivative(long code, real a) noexcept nogil:
    if code == _SIGMOID:
        return a * (1 - a)
    if code == _RELU:
        return 1 if a > 0 else 0
    return 1 - a * a


cdef inline void times_derivative(long code, real *delta, const real *a, long width) noexcept nogil:
    """delta[0:width] *= f'(z), from a = f(z) (padding: 0 · f'(0) = 0)."""
    cdef long j
    for j in range(width):
        delta[j] *= derivative(code, a[j])


cdef inline void scale_vector(real *x, long width, real s) noexcept nogil:
    """x[0:width] *= s"""
    cdef long j
    for j in range(width):
        x[j] *= s


cdef inline void add_vector(real *x, const real *y, long width) noexcept nogil:
    """x[0:width] += y[0:width]"""
    cdef long j
    for j in range(width):
        x[j] += y[j]


# ---------------------------------------------------------------------------
# One example (see _numba_kernels.forward / backward / add_outer_products)


cdef void forward(real *packed, const int64_t[::1] sizes, Layout layout, long activation, long output,
                  const int32_t *rows, const real *values, long count, const int32_t *all_rows,
                  real *acts) noexcept nogil:
    cdef long l, width, layers = layout.layers
    for l in range(layers):
        width = padded(sizes[l + 1])
        if l == 0:
            accumulate_rows(packed + layout.w_base[0], width, packed + layout.b_base[0], rows, values, count,
                            acts + layout.slot[0])
        else:
            accumulate_rows(packed + layout.w_base[l], width, packed + layout.b_base[l], all_rows,
                            acts + layout.slot[l - 1], sizes[l], acts + layout.slot[l])
        activate_layer(activation, output, l, layers, acts + layout.slot[l], sizes[l + 1], width)


cdef void backward(real *packed, const int64_t[::1] sizes, Layout layout, long activation, long cost,
                   const real *acts, const real *target, const int32_t *all_rows, real *deltas) noexcept nogil:
    cdef long l, j, layers = layout.layers, out = layout.slot[layers - 1]
    cdef real a
    for j in range(sizes[layers]):
        a = acts[out + j]
        deltas[out + j] = (a - target[j]) * a * (1 - a) if cost == _QUADRATIC else a - target[j]
    for l in range(layers - 1, 0, -1):
        accumulate_rows(packed + layout.n_base[l], padded(sizes[l]), packed + layout.zero_base, all_rows,
                        deltas + layout.slot[l], sizes[l + 1], deltas + layout.slot[l - 1])
        times_derivative(activation, deltas + layout.slot[l - 1], acts + layout.slot[l - 1], padded(sizes[l]))


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


# ---------------------------------------------------------------------------
# Drivers


def to_csr(const real[::1] dense, long n_inputs, const int64_t[::1] indptr, int32_t[::1] indices,
           real[::1] values):
    """indices/values[indptr[k]:indptr[k+1]] = row k's nonzeros (see _numba_kernels.to_csr)."""
    cdef long k, i, p, stop
    cdef real v
    with nogil:
        for k in range(indptr.shape[0] - 1):
            p, stop = indptr[k], indptr[k + 1]
            for i in range(n_inputs):
                v = dense[k * n_inputs + i]
                indices[p] = i
                values[p] = v
                p = min(p + (v != 0), stop)


def feedforward_kernel(const real[::1] params, const int64_t[::1] sizes, long activation, long output, long mode,
                       const real[::1] dense, const int64_t[::1] indptr, const int32_t[::1] indices,
                       const real[::1] values, long examples, real[:, ::1] out, int64_t[::1] labels):
    """For each input: out[k] = a_L (when out has rows), labels[k] = argmax a_L (when labels has rows)."""
    offsets, zero_base, packed_size, slots_size = _layout_offsets(sizes)
    cdef Layout layout = make_layout(sizes, offsets, zero_base, packed_size, slots_size)
    dtype = np.asarray(params).dtype
    cdef real[::1] packed = aligned_zeros(layout.packed_size, dtype)
    cdef real[::1] acts = aligned_zeros(layout.slots_size, dtype)
    cdef real[::1] row_val = np.empty(sizes[0] + 1, dtype)
    cdef int32_t[::1] row_idx = np.empty(sizes[0] + 1, np.int32)
    cdef int32_t[::1] all_rows = _all_rows(sizes)
    cdef long k, j, best, count, n_out = sizes[sizes.shape[0] - 1], last = layout.slot[layout.layers - 1]
    cdef const int32_t *rows
    cdef const real *vals
    cdef unsigned int mxcsr
    with nogil:
        pack(params, sizes, packed, layout)
        mxcsr = fastnet_flush_denormals()
        for k in range(examples):
            count = example_inputs(mode, k, sizes[0], data_or_null(dense), &indptr[0], indices_or_null(indices),
                                   data_or_null(values), &all_rows[0], &row_idx[0], &row_val[0], &rows, &vals)
            forward(&packed[0], sizes, layout, activation, output, rows, vals, count, &all_rows[0], &acts[0])
            if out.shape[0] > 0:
                for j in range(n_out):
                    out[k, j] = acts[last + j]
            if labels.shape[0] > 0:
                best = 0
                for j in range(1, n_out):
                    if acts[last + j] > acts[last + best]:
                        best = j
                labels[k] = best
        fastnet_restore_mxcsr(mxcsr)


def gradient_kernel(const real[::1] params, const int64_t[::1] sizes, long activation, long output, long cost,
                    long mode, const real[::1] dense, const int64_t[::1] indptr, const int32_t[::1] indices,
                    const real[::1] values, long examples, const real[::1] targets, real[::1] grad):
    """grad = (1/m) Σ_k ∇C_{x_k} over the m = ``examples`` inputs (flat, laid out like params)."""
    offsets, zero_base, packed_size, slots_size = _layout_offsets(sizes)
    cdef Layout layout = make_layout(sizes, offsets, zero_base, packed_size, slots_size)
    dtype = np.asarray(params).dtype
    cdef real[::1] packed = aligned_zeros(layout.packed_size, dtype)
    cdef real[::1] sums = aligned_zeros(layout.packed_size, dtype)
    cdef real[::1] acts = aligned_zeros(layout.slots_size, dtype)
    cdef real[::1] deltas = aligned_zeros(layout.slots_size, dtype)
    cdef real[::1] row_val = np.empty(sizes[0] + 1, dtype)
    cdef int32_t[::1] row_idx = np.empty(sizes[0] + 1, np.int32)
    cdef int32_t[::1] all_rows = _all_rows(sizes)
    cdef long k, i, count, n_out = sizes[sizes.shape[0] - 1]
    cdef const int32_t *rows
    cdef const real *vals
    cdef unsigned int mxcsr
    with nogil:
        pack(params, sizes, packed, layout)
        mxcsr = fastnet_flush_denormals()
        for k in range(examples):
            count = example_inputs(mode, k, sizes[0], data_or_null(dense), &indptr[0], indices_or_null(indices),
                                   data_or_null(values), &all_rows[0], &row_idx[0], &row_val[0], &rows, &vals)
            forward(&packed[0], sizes, layout, activation, output, rows, vals, count, &all_rows[0], &acts[0])
            backward(&packed[0], sizes, layout, activation, cost, &acts[0], &targets[k * n_out], &all_rows[0],
                     &deltas[0])
            add_outer_products(&sums[0], sizes, layout, 1, rows, vals, count, &all_rows[0], &acts[0], &deltas[0])
        fastnet_restore_mxcsr(mxcsr)
        unpack(sums, sizes, grad, layout)
        for i in range(grad.shape[0]):
            grad[i] /= examples


cdef void decay_weights(real *packed, Layout layout, real keep) noexcept nogil:
    """W_l *= keep for every layer, both copies (see _numba_kernels._decay_weights)."""
    cdef long l
    for l in range(layout.layers):
        scale_vector(packed + layout.w_base[l], layout.b_base[l] - layout.w_base[l], keep)


cdef void momentum_step(real *packed, const real *steps, real *velocity, const int64_t[::1] sizes, Layout layout,
                        real momentum, real decay) noexcept nogil:
    """velocity = momentum · velocity + steps − decay · W (biases: no decay term); packed += velocity."""
    cdef long l, p
    cdef real v
    for l in range(layout.layers):
        for p in range(layout.w_base[l], layout.b_base[l]):
            v = momentum * velocity[p] + steps[p] - decay * packed[p]
            velocity[p] = v
            packed[p] += v
        for p in range(layout.b_base[l], layout.b_base[l] + padded(sizes[l + 1])):
            v = momentum * velocity[p] + steps[p]
            velocity[p] = v
            packed[p] += v


def sgd_epoch_kernel(real[::1] params, const int64_t[::1] sizes, long activation, long output, long cost, long mode,
                     const real[::1] dense, const int64_t[::1] indptr, const int32_t[::1] indices,
                     const real[::1] values, const real[::1] targets, const int64_t[::1] order, long batch_size,
                     double eta, double l2, double momentum, real[::1] velocity):
    """One epoch of mini-batch SGD over the batches of ``order``, updating params (and velocity) in place.

    Two phases a batch, and the step of _numba_kernels.sgd_epoch_kernel (weight
    decay, or a momentum step through ``velocity``).
    """
    offsets, zero_base, packed_size, slots_size = _layout_offsets(sizes)
    cdef Layout layout = make_layout(sizes, offsets, zero_base, packed_size, slots_size)
    dtype = np.asarray(params).dtype
    cdef bint use_momentum = momentum > 0
    cdef long n = order.shape[0], slots = min(batch_size, n)
    cdef real[::1] packed = aligned_zeros(layout.packed_size, dtype)
    cdef real[::1] steps = aligned_zeros(layout.packed_size if use_momentum else 1, dtype)
    cdef real[::1] packed_velocity = aligned_zeros(layout.packed_size if use_momentum else 1, dtype)
    cdef real[:, ::1] acts = aligned_zeros(slots * layout.slots_size, dtype).reshape(slots, layout.slots_size)
    cdef real[:, ::1] deltas = aligned_zeros(slots * layout.slots_size, dtype).reshape(slots, layout.slots_size)
    cdef real[:, ::1] row_val = np.empty((slots, sizes[0] + 1), dtype)
    cdef int32_t[:, ::1] row_idx = np.empty((slots, sizes[0] + 1), np.int32)
    cdef long[::1] counts = np.zeros(slots, np.int_)
    cdef int32_t[::1] all_rows = _all_rows(sizes)
    cdef long start, k, m, example, n_out = sizes[sizes.shape[0] - 1]
    cdef const int32_t *rows
    cdef const real *vals
    cdef real step, keep = <real>(1 - eta * l2), decay = <real>(eta * l2), mu = <real>momentum
    cdef real *update_target = &steps[0] if use_momentum else &packed[0]
    cdef unsigned int mxcsr
    cdef const real *dense_data = data_or_null(dense)
    cdef const int32_t *index_data = indices_or_null(indices)
    cdef const real *value_data = data_or_null(values)
    with nogil:
        pack(params, sizes, packed, layout)
        if use_momentum:
            pack(velocity, sizes, packed_velocity, layout)
        mxcsr = fastnet_flush_denormals()
        start = 0
        while start < n:
            m = min(batch_size, n - start)
            for k in range(m):
                example = order[start + k]
                if mode == _CSR and start + k + _PREFETCH_AHEAD < n:
                    fastnet_prefetch_csr_row(&indptr[0], index_data, value_data, sizeof(real),
                                             order[start + k + _PREFETCH_AHEAD])
                counts[k] = example_inputs(mode, example, sizes[0], dense_data, &indptr[0], index_data,
                                           value_data, &all_rows[0], &row_idx[k, 0], &row_val[k, 0], &rows, &vals)
                forward(&packed[0], sizes, layout, activation, output, rows, vals, counts[k], &all_rows[0],
                        &acts[k, 0])
                backward(&packed[0], sizes, layout, activation, cost, &acts[k, 0], &targets[example * n_out],
                         &all_rows[0], &deltas[k, 0])
            step = <real>(-(eta / m))
            if use_momentum:
                steps[:] = 0
            elif l2 > 0:
                decay_weights(&packed[0], layout, keep)
            for k in range(m):
                example = order[start + k]
                if mode == _COMPACT:  # reuse the pairs gathered in the first phase
                    rows, vals = &row_idx[k, 0], &row_val[k, 0]
                else:
                    example_inputs(mode, example, sizes[0], dense_data, &indptr[0], index_data, value_data,
                                   &all_rows[0], &row_idx[k, 0], &row_val[k, 0], &rows, &vals)
                add_outer_products(update_target, sizes, layout, step, rows, vals, counts[k], &all_rows[0],
                                   &acts[k, 0], &deltas[k, 0])
            if use_momentum:
                momentum_step(&packed[0], &steps[0], &packed_velocity[0], sizes, layout, mu, decay)
            start += m
        fastnet_restore_mxcsr(mxcsr)
        unpack(packed, sizes, params, layout)
        if use_momentum:
            unpack(packed_velocity, sizes, velocity, layout)


def matvec_kernel(const real[::1] params, const int64_t[::1] sizes, long activation, long output,
                  const real[:, ::1] X, real[:, ::1] out):
    """out[k] = a_L for each row of X, layer by layer as W a + b on the natural layout (no packing)."""
    dtype = np.asarray(params).dtype
    cdef long widest = max(np.asarray(sizes).max(), 1)
    cdef real[::1] a = np.empty(widest, dtype)
    cdef real[::1] z = np.empty(widest, dtype)
    cdef long layers = sizes.shape[0] - 1, k, l, i, j, offset, n_in, n_out
    cdef unsigned int mxcsr
    with nogil:
        mxcsr = fastnet_flush_denormals()
        for k in range(X.shape[0]):
            for i in range(sizes[0]):
                a[i] = X[k, i]
            offset = 0
            for l in range(layers):
                n_in, n_out = sizes[l], sizes[l + 1]
                for j in range(n_out):
                    if real is float:
                        z[j] = fastnet_dot_f(&params[offset + j * n_in], &a[0], n_in)
                    else:
                        z[j] = fastnet_dot_d(&params[offset + j * n_in], &a[0], n_in)
                    z[j] += params[offset + n_out * n_in + j]
                activate_layer(activation, output, l, layers, &z[0], n_out, n_out)
                for j in range(n_out):
                    a[j] = z[j]
                offset += n_out * (n_in + 1)
            for j in range(sizes[layers]):
                out[k, j] = a[j]
        fastnet_restore_mxcsr(mxcsr)
