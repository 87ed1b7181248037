# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The Cython backend's compiled drivers; called only through ``cython.mlp``.

The same drivers, arguments and packed layout as the Numba backend
(``numba.mlp_kernels``, which explains the layout and the two-phase mini-batch);
the row operations are C in ``rows.h``. Every driver releases the GIL
while it computes. Arguments arrive checked (``compiled_mlp``): no bounds or
wrap-around checks are compiled in.
"""
import numpy as np

from libc.math cimport exp, log, tanh
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.stddef cimport size_t

cdef extern from "rows.h" nogil:
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
    void fastnet_accumulate_rows_u16_f(const float *w, long width, const float *bias, const uint16_t *rows,
                                       const float *values, long count, float *out)
    void fastnet_accumulate_rows_u16_d(const double *w, long width, const double *bias, const uint16_t *rows,
                                       const double *values, long count, double *out)
    void fastnet_update_rows_u16_f(float *w, long width, const uint16_t *rows, const float *values, long count,
                                   const float *delta)
    void fastnet_update_rows_u16_d(double *w, long width, const uint16_t *rows, const double *values, long count,
                                   const double *delta)
    void fastnet_update_rows_by_batch_f(float *w, long width, long count, const float *values, long value_stride,
                                        const float *delta, long delta_stride, long examples)
    void fastnet_update_rows_by_batch_d(double *w, long width, long count, const double *values, long value_stride,
                                        const double *delta, long delta_stride, long examples)
    float fastnet_dot_f(const float *a, const float *b, long n)
    double fastnet_dot_d(const double *a, const double *b, long n)
    float fastnet_normal_cdf_f(float z)
    double fastnet_normal_cdf_d(double z)
    float fastnet_normal_pdf_f(float z)
    double fastnet_normal_pdf_d(double z)
    void fastnet_sigmoid_tiles_f(float *x, long width)
    void fastnet_sigmoid_tiles_d(double *x, long width)
    void fastnet_prefetch "__builtin_prefetch"(const void *address)
    void fastnet_prefetch_csr_row(const int64_t *indptr, const uint16_t *indices, const void *values,
                                  size_t value_size, long example)

ctypedef fused real:
    float
    double

from fastnet.core import codes


include "_levels.pxi"

# The codes, read from the one shared source (fastnet/core/codes.py) when this module is imported.
cdef long _SIGMOID = codes.SIGMOID, _RELU = codes.RELU, _TANH = codes.TANH, _GELU = codes.GELU
HANDLED_ACTIVATIONS = (_SIGMOID, _RELU, _TANH, _GELU)  # the codes activate_one and derivative have a branch for
cdef long _SOFTMAX_OUTPUT = codes.SOFTMAX_OUTPUT, _QUADRATIC = codes.QUADRATIC, _CROSS_ENTROPY = codes.CROSS_ENTROPY
cdef long _DENSE = codes.DENSE_INPUTS, _CSR = codes.CSR_INPUTS, _COMPACT = codes.COMPACT_INPUTS

cdef enum:
    _LANES = 16
    _CACHE_LINE = 64  # bytes
    _PREFETCH_AHEAD = 4  # examples: the epoch asks for a CSR row this far ahead (as the Numba backend)

include "_mlp_layout.pxi"
include "_mlp_math.pxi"
include "_mlp_steps.pxi"
include "_mlp_inputs.pxi"


# ---------------------------------------------------------------------------
# Drivers


def feedforward_kernel(const real[::1] params, const int64_t[::1] sizes, long activation, long output, long mode,
                       const real[::1] dense, const int64_t[::1] indptr, const uint16_t[::1] indices,
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
    cdef long k, j, count, n_out = sizes[sizes.shape[0] - 1], last = layout.slot[layout.layers - 1]
    cdef InputRows rows
    cdef const real *vals
    cdef unsigned int mxcsr
    with nogil:
        pack(params, sizes, packed, layout)
        mxcsr = fastnet_flush_denormals()
        for k in range(examples):
            count = example_inputs(mode, k, sizes[0], data_or_null(dense), &indptr[0], indices_or_null(indices),
                                   data_or_null(values), &all_rows[0], &row_idx[0], &row_val[0], &rows, &vals)
            forward(&packed[0], sizes, layout, activation, output, rows, vals, count, &all_rows[0], &acts[0], NULL)
            if out.shape[0] > 0:
                for j in range(n_out):
                    out[k, j] = acts[last + j]
            if labels.shape[0] > 0:
                labels[k] = first_largest(&acts[last], n_out)
        fastnet_restore_mxcsr(mxcsr)


def gradient_kernel(const real[::1] params, const int64_t[::1] sizes, long activation, long output, long cost,
                    long mode, const real[::1] dense, const int64_t[::1] indptr, const uint16_t[::1] indices,
                    const real[::1] values, long examples, const real[::1] targets, real[::1] grad):
    """grad = (1/m) Σ_k ∇C_{x_k} over the m = ``examples`` inputs (flat, laid out like params)."""
    offsets, zero_base, packed_size, slots_size = _layout_offsets(sizes)
    cdef Layout layout = make_layout(sizes, offsets, zero_base, packed_size, slots_size)
    dtype = np.asarray(params).dtype
    cdef real[::1] packed = aligned_zeros(layout.packed_size, dtype)
    cdef real[::1] sums = aligned_zeros(layout.packed_size, dtype)
    cdef real[::1] acts = aligned_zeros(layout.slots_size, dtype)
    cdef real[::1] deltas = aligned_zeros(layout.slots_size, dtype)
    cdef real[::1] zs = aligned_zeros(layout.slots_size if codes.NEEDS_Z[activation] else 1, dtype)
    cdef real *z_slots = &zs[0] if codes.NEEDS_Z[activation] else NULL
    cdef real[::1] row_val = np.empty(sizes[0] + 1, dtype)
    cdef int32_t[::1] row_idx = np.empty(sizes[0] + 1, np.int32)
    cdef int32_t[::1] all_rows = _all_rows(sizes)
    cdef long k, i, count, n_out = sizes[sizes.shape[0] - 1]
    cdef InputRows rows
    cdef const real *vals
    cdef unsigned int mxcsr
    with nogil:
        pack(params, sizes, packed, layout)
        mxcsr = fastnet_flush_denormals()
        for k in range(examples):
            count = example_inputs(mode, k, sizes[0], data_or_null(dense), &indptr[0], indices_or_null(indices),
                                   data_or_null(values), &all_rows[0], &row_idx[0], &row_val[0], &rows, &vals)
            forward(&packed[0], sizes, layout, activation, output, rows, vals, count, &all_rows[0], &acts[0], z_slots)
            backward(&packed[0], sizes, layout, activation, cost, &acts[0], z_slots, &targets[k * n_out],
                     &all_rows[0], &deltas[0])
            update_input_rows(&sums[layout.w_base[0]], padded(sizes[1]), rows, vals, count, &deltas[0])
            add_hidden_outer_products(&sums[0], sizes, layout, &acts[0], &deltas[0], 0, 1)
        fastnet_restore_mxcsr(mxcsr)
        unpack(sums, sizes, grad, layout)
        for i in range(grad.shape[0]):
            grad[i] /= examples


cdef void decay_weights(real *packed, Layout layout, real keep) noexcept nogil:
    """W_l *= keep for every layer, both copies (see numba.mlp_kernels._decay_weights)."""
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
                     const real[::1] dense, const int64_t[::1] indptr, const uint16_t[::1] indices,
                     const real[::1] values, const real[::1] targets, const int64_t[::1] order, long batch_size,
                     double eta, double l2, double momentum, real[::1] velocity, double[::1] measured):
    """One epoch of mini-batch SGD over the batches of ``order``, updating params (and velocity) in place.

    Two phases a batch, and the step of numba.mlp_kernels.sgd_epoch_kernel (weight
    decay, or a momentum step through ``velocity``); with 2 ``measured`` values,
    adds Σ_x C_x and the number classified right, from the forward passes.
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
    cdef bint keep_z = codes.NEEDS_Z[activation]
    cdef long z_size = layout.slots_size if keep_z else 1
    cdef real[:, ::1] zs = aligned_zeros(slots * z_size, dtype).reshape(slots, z_size)
    cdef real[:, ::1] row_val = np.empty((slots, sizes[0] + 1), dtype)
    cdef int32_t[:, ::1] row_idx = np.empty((slots, sizes[0] + 1), np.int32)
    cdef long[::1] counts = np.zeros(slots, np.int_)
    cdef int32_t[::1] all_rows = _all_rows(sizes)
    cdef long start, k, l, m, example, ahead, n_out = sizes[sizes.shape[0] - 1]
    cdef InputRows rows
    cdef const real *vals
    cdef real step, keep = <real>(1 - eta * l2), decay = <real>(eta * l2), mu = <real>momentum
    cdef real *update_target = &steps[0] if use_momentum else &packed[0]
    cdef unsigned int mxcsr
    cdef const real *dense_data = data_or_null(dense)
    cdef const uint16_t *index_data = indices_or_null(indices)
    cdef const real *value_data = data_or_null(values)
    cdef bint measure = measured.shape[0] > 0
    cdef double tiny = np.finfo(dtype).tiny, cost_sum = 0
    cdef long right = 0, last = layout.slot[layout.layers - 1]
    with nogil:
        pack(params, sizes, packed, layout)
        if use_momentum:
            pack(velocity, sizes, packed_velocity, layout)
        mxcsr = fastnet_flush_denormals()
        start = 0
        while start < n:
            m = min(batch_size, n - start)
            # Layer by layer across the batch: each example's passes are one long chain of dependent steps,
            # the examples' chains are independent, and the processor overlaps neighbouring ones.
            for l in range(layout.layers):
                for k in range(m):
                    if l == 0:
                        example = order[start + k]
                        if start + k + _PREFETCH_AHEAD < n:  # the next examples' inputs and targets
                            ahead = order[start + k + _PREFETCH_AHEAD]
                            fastnet_prefetch(&targets[ahead * n_out])
                            if mode == _CSR:
                                fastnet_prefetch_csr_row(&indptr[0], index_data, value_data, sizeof(real), ahead)
                                if start + k + 2 * _PREFETCH_AHEAD < n:  # where their rows are
                                    fastnet_prefetch(&indptr[order[start + k + 2 * _PREFETCH_AHEAD]])
                        counts[k] = example_inputs(mode, example, sizes[0], dense_data, &indptr[0], index_data,
                                                   value_data, &all_rows[0], &row_idx[k, 0], &row_val[k, 0], &rows,
                                                   &vals)
                    layer_sums(l, &packed[0], sizes, layout, rows, vals, counts[k], &all_rows[0], &acts[k, 0])
                for k in range(m):  # the activations' chains back to back, where the processor overlaps them
                    layer_activation(l, sizes, layout, activation, output, &acts[k, 0], &zs[k, 0] if keep_z else NULL)
            for k in range(m):
                output_deltas(sizes, layout, cost, &acts[k, 0], &targets[order[start + k] * n_out], &deltas[k, 0])
            for l in range(layout.layers - 1, 0, -1):
                for k in range(m):
                    backward_layer(l, &packed[0], sizes, layout, activation, &acts[k, 0],
                                   &zs[k, 0] if keep_z else NULL, &all_rows[0], &deltas[k, 0])
            if measure:
                for k in range(m):
                    example = order[start + k]
                    cost_sum += example_cost(cost, &acts[k, last], &targets[example * n_out], n_out, tiny)
                    right += first_largest(&acts[k, last], n_out) == first_largest(&targets[example * n_out], n_out)
            step = <real>(-(eta / m))
            if use_momentum:
                steps[:] = 0
            elif l2 > 0:
                decay_weights(&packed[0], layout, keep)
            for k in range(m):
                scale_vector(&deltas[k, 0], layout.slots_size, step)
                if mode == _COMPACT:  # the pairs the first phase gathered
                    rows.wide, rows.narrow, vals = &row_idx[k, 0], NULL, &row_val[k, 0]
                else:  # where they are stored
                    example_inputs(mode, order[start + k], sizes[0], dense_data, &indptr[0], index_data, value_data,
                                   &all_rows[0], &row_idx[k, 0], &row_val[k, 0], &rows, &vals)
                update_input_rows(update_target + layout.w_base[0], padded(sizes[1]), rows, vals, counts[k],
                                  &deltas[k, 0])
            add_hidden_outer_products(update_target, sizes, layout, &acts[0, 0], &deltas[0, 0], layout.slots_size, m)
            if use_momentum:
                momentum_step(&packed[0], &steps[0], &packed_velocity[0], sizes, layout, mu, decay)
            start += m
        fastnet_restore_mxcsr(mxcsr)
        unpack(packed, sizes, params, layout)
        if use_momentum:
            unpack(packed_velocity, sizes, velocity, layout)
        if measure:
            measured[0] += cost_sum
            measured[1] += right


def matvec_kernel(const real[::1] params, const int64_t[::1] sizes, long activation, long output,
                  const real[:, ::1] X, real[:, ::1] out):
    """out[k] = [a_1 | a_2 | ... | a_L] for each row of X: every layer's activations side by side
    (n_1 + ... + n_L columns), layer by layer as W a + b on the natural layout (no packing)."""
    dtype = np.asarray(params).dtype
    cdef long widest = max(np.asarray(sizes).max(), 1)
    cdef real[::1] a = np.empty(widest, dtype)
    cdef real[::1] z = np.empty(widest, dtype)
    cdef long layers = sizes.shape[0] - 1, k, l, i, j, offset, column, n_in, n_out
    cdef unsigned int mxcsr
    with nogil:
        mxcsr = fastnet_flush_denormals()
        for k in range(X.shape[0]):
            for i in range(sizes[0]):
                a[i] = X[k, i]
            offset = 0
            column = 0
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
                    out[k, column + j] = z[j]
                offset += n_out * (n_in + 1)
                column += n_out
        fastnet_restore_mxcsr(mxcsr)
