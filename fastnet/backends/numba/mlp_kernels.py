"""The Numba backend's drivers: the compiled entry points ``numba.mlp`` calls.

The math is the NumPy reference's (``numpy_backend``); what differs is the
layout and the loop structure, chosen by measurement (see docs in
``numba.mlp``):

* Packed layout. Inside a kernel call every layer is held transposed and
  padded: ``Wᵀ_l`` is ``(n_l, p_{l+1})`` row-major with ``p = n`` rounded up to
  a multiple of ``LANES`` (16), followed by ``b_l`` padded to ``p_{l+1}``. Row
  i of ``Wᵀ_l`` is what input i adds to every neuron of the next layer, so an
  input that is zero costs nothing, and every row is a whole number of
  16-value tiles. Hidden layers (l >= 1) are also kept as ``W_l``,
  ``(n_{l+1}, p_l)``, so that the backward pass ``W_lᵀ δ`` is the same row
  accumulation. Padding lanes hold zeros and stay zero. Kernels pack
  ``params`` on entry and unpack on exit, so ``params`` is current whenever
  Python sees it.
* Tiles as tuples. The primitives move a tile as two tuples of 8 values read
  at consecutive unsigned indices, which LLVM's SLP vectoriser turns into
  vector instructions (signed indices carry a wrap-around check that defeats
  it).
* Inputs as rows of (index, value) pairs: the nonzero pixels of a CSR matrix
  (sparse path), or every pixel of a dense row (dense path), or every unit of
  the previous layer. All go through the same primitives.
* One mini-batch in two phases: forward and backward passes for every
  example at the batch's starting parameters, a layer at a time across the
  batch (the examples' dependency chains overlap in the processor), then
  ``W -= (eta/m) Σ_k a_k δ_kᵀ`` added in place: the first layer example by
  example (its rows are the inputs' nonzeros), the hidden layers and biases a
  row at a time, held in registers across the batch's examples, the same
  products in the same order. This is the book's step without a gradient buffer.
  With L2 regularisation the weights are first multiplied by 1 − eta·λ/n;
  with momentum the step is summed into a buffer (``steps``) and the
  velocity, kept in the packed layout too, carries it over.

Every activation and delta vector is padded to ``p`` lanes with zeros.

The code is split by job: ``numba.primitives`` (tiles, row operations, exp,
CPU state), ``numba.mlp_layout`` (the packed layout), ``numba.mlp_math``
(activations and costs), ``numba.mlp_steps`` (one example) and this module.
"""
import numpy as np
from numba import njit

from ...core.codes import COMPACT_INPUTS as COMPACT, CSR_INPUTS as CSR, NEEDS_Z, SIGMOID, SOFTMAX_OUTPUT
from .mlp_layout import aligned_zeros, pack, packed_layout, padded, unpack
from .mlp_math import activate, exact_sigmoid, example_cost, first_largest, softmax
from .primitives import (INLINE, ONE, OPTIONS, ZERO, copy_into, flush_denormals, prefer_512_bit_vectors, prefetch,
                         restore_mxcsr, scale_tiles, update_rows)
from .mlp_steps import (add_hidden_outer_products, backward, backward_layer, collect_inputs, forward, forward_layer,
                        input_arrays, input_buffers, input_pairs, output_deltas, prefetch_csr_row, prefetch_dense_row)

PREFETCH_AHEAD = 4  # examples: the epoch asks for an input's CSR row this far ahead of using it

# ---------------------------------------------------------------------------
# Drivers: the entry points ``numba.mlp`` calls


@njit(**OPTIONS)
def feedforward_kernel(params, sizes, activation, output, mode, dense, indptr, indices, values, examples, out, labels):
    """For each of ``examples`` inputs: out[k] = a_L (when out has rows) and labels[k] = argmax a_L (when labels
    has rows)."""
    prefer_512_bit_vectors()
    w_base, n_base, b_base, zero_base, slot, packed_size, slots_size = packed_layout(sizes)
    packed = aligned_zeros(packed_size, params)
    pack(params, sizes, packed, w_base, n_base, b_base)
    row_idx, row_val, counts, all_rows = input_buffers(sizes, ONE, params)
    rows, vals = input_arrays(mode, dense, indices, values, all_rows, row_idx, row_val)
    acts = aligned_zeros(slots_size, params)
    n_out = sizes[-1]
    last = slot[len(sizes) - 2]
    mxcsr = flush_denormals()
    for k in range(examples):
        if mode == COMPACT and k + PREFETCH_AHEAD < examples:
            prefetch_dense_row(k + PREFETCH_AHEAD, sizes[0], dense)
        collect_inputs(mode, dense, indptr, indices, k, sizes[0], row_idx, row_val, counts, ZERO)
        r_base, v_base, count = input_pairs(mode, k, ZERO, sizes[0], indptr, counts)
        forward(packed, sizes, w_base, b_base, slot, activation, output, rows, r_base, vals, v_base, count, all_rows,
                acts, ZERO)
        if out.shape[0] > 0:
            for j in range(n_out):
                out[k, j] = acts[last + j]
        if labels.shape[0] > 0:
            labels[k] = first_largest(acts, last, n_out)
    restore_mxcsr(mxcsr)


@njit(**OPTIONS)
def gradient_kernel(params, sizes, activation, output, cost, mode, dense, indptr, indices, values, examples, targets,
                    grad):
    """grad = (1/m) Σ_k ∇C_{x_k} over the m = ``examples`` inputs (flat, laid out like params)."""
    prefer_512_bit_vectors()
    w_base, n_base, b_base, zero_base, slot, packed_size, slots_size = packed_layout(sizes)
    packed = aligned_zeros(packed_size, params)
    pack(params, sizes, packed, w_base, n_base, b_base)
    sums = aligned_zeros(packed_size, params)
    row_idx, row_val, counts, all_rows = input_buffers(sizes, ONE, params)
    rows, vals = input_arrays(mode, dense, indices, values, all_rows, row_idx, row_val)
    z_offset = slots_size if NEEDS_Z[activation] else 0  # z kept after the activations, where f' needs it
    acts = aligned_zeros(slots_size + z_offset, params)
    deltas = aligned_zeros(slots_size, params)
    one = params.dtype.type(1)
    ones = np.ones(1, params.dtype)
    mxcsr = flush_denormals()
    for k in range(examples):
        collect_inputs(mode, dense, indptr, indices, k, sizes[0], row_idx, row_val, counts, ZERO)
        r_base, v_base, count = input_pairs(mode, k, ZERO, sizes[0], indptr, counts)
        forward(packed, sizes, w_base, b_base, slot, activation, output, rows, r_base, vals, v_base, count, all_rows,
                acts, z_offset)
        backward(packed, sizes, n_base, zero_base, slot, activation, cost, acts, z_offset, targets, k * sizes[-1],
                 all_rows, deltas)
        update_rows(sums, w_base[0], padded(sizes[1]), rows, r_base, vals, v_base, count, deltas, slot[0])
        add_hidden_outer_products(sums, sizes, w_base, n_base, b_base, slot, acts, ZERO, deltas, ZERO, ONE, ones)
    restore_mxcsr(mxcsr)
    unpack(sums, sizes, grad, w_base, b_base)
    grad *= one / examples


@njit(**INLINE)
def _decay_weights(packed, layers, w_base, b_base, keep):
    """W_l *= keep for every layer, both copies (the weights of layer l fill packed[w_base[l]:b_base[l]],
    whole padded rows: a multiple of LANES values)."""
    for l in range(layers):
        scale_tiles(packed, w_base[l], b_base[l] - w_base[l], keep)


@njit(**INLINE)
def _momentum_step(packed, steps, velocity, sizes, w_base, b_base, momentum, decay):
    """velocity = momentum · velocity + steps − decay · W (biases: no decay term); packed += velocity.

    ``steps`` holds −(eta/m) Σ ∇C_x in the packed layout; padding lanes stay 0.
    """
    for l in range(len(sizes) - 1):
        for p in range(w_base[l], b_base[l]):
            v = momentum * velocity[p] + steps[p] - decay * packed[p]
            velocity[p] = v
            packed[p] += v
        for p in range(b_base[l], b_base[l] + padded(sizes[l + 1])):
            v = momentum * velocity[p] + steps[p]
            velocity[p] = v
            packed[p] += v


@njit(**OPTIONS)
def sgd_epoch_kernel(params, sizes, activation, output, cost, mode, dense, indptr, indices, values, targets, order,
                     batch_size, eta, l2, momentum, velocity, measured):
    """One epoch of mini-batch SGD over the batches of ``order``, updating params (and velocity) in place.

    With a ``measured`` of 2 values, adds Σ_x C_x and the number of examples
    classified right, from the forward passes, as ``numpy_backend.sgd_epoch``.

    For each batch of m examples: the forward and backward passes of all m at
    the batch's starting parameters, then the step of ``numpy_backend.sgd_epoch``:
    without momentum W *= 1 − eta·l2 (when l2 > 0) and params −= (eta/m) Σ_k ∇C_{x_k},
    added in place, k in order; with momentum the step −(eta/m) Σ_k ∇C_{x_k} is
    summed first, then velocity and params are updated together.
    """
    prefer_512_bit_vectors()
    w_base, n_base, b_base, zero_base, slot, packed_size, slots_size = packed_layout(sizes)
    layers = len(sizes) - 1
    packed = aligned_zeros(packed_size, params)
    pack(params, sizes, packed, w_base, n_base, b_base)
    use_momentum = momentum > 0
    steps = aligned_zeros(packed_size if use_momentum else 0, params)
    packed_velocity = aligned_zeros(packed_size if use_momentum else 0, params)
    if use_momentum:
        pack(velocity, sizes, packed_velocity, w_base, n_base, b_base)
    rows_in_batch = min(batch_size, len(order))
    row_idx, row_val, counts, all_rows = input_buffers(sizes, rows_in_batch, params)
    rows, vals = input_arrays(mode, dense, indices, values, all_rows, row_idx, row_val)
    z_offset = slots_size if NEEDS_Z[activation] else 0  # z kept after the activations, where f' needs it
    # Example k's activations (and z) start at acts[k * a_stride], its deltas at deltas[k * slots_size]: flat
    # arrays read at offsets, as a view of one row would cost reference-count updates each time it is made.
    a_stride = slots_size + z_offset
    acts = aligned_zeros(rows_in_batch * a_stride, params)
    deltas = aligned_zeros(rows_in_batch * slots_size, params)
    ones = np.ones(1, params.dtype)
    n_out = sizes[-1]
    keep = params.dtype.type(1 - eta * l2)
    decay = params.dtype.type(eta * l2)
    mu = params.dtype.type(momentum)
    measure = len(measured) > 0
    tiny = np.finfo(params.dtype).tiny
    last = slot[layers - 1]
    cost_sum, right = 0.0, 0
    mxcsr = flush_denormals()
    for start in range(0, len(order), batch_size):
        m = min(batch_size, len(order) - start)
        # Layer by layer across the batch: each example's passes are one long chain of dependent steps, the
        # examples' chains are independent, and the processor overlaps neighbouring ones.
        for l in range(layers):
            for k in range(m):
                r_base, v_base, count = 0, 0, 0
                if l == 0:
                    example = order[start + k]
                    if start + k + PREFETCH_AHEAD < len(order):  # the next examples' inputs and targets
                        ahead = order[start + k + PREFETCH_AHEAD]
                        prefetch(targets, ahead * n_out)
                        if mode == CSR:
                            prefetch_csr_row(ahead, indptr, indices, values)
                            if start + k + 2 * PREFETCH_AHEAD < len(order):  # where their rows are
                                prefetch(indptr, order[start + k + 2 * PREFETCH_AHEAD])
                    collect_inputs(mode, dense, indptr, indices, example, sizes[0], row_idx, row_val, counts, k)
                    r_base, v_base, count = input_pairs(mode, example, k, sizes[0], indptr, counts)
                forward_layer(l, packed, sizes, w_base, b_base, slot, activation, output, rows, r_base, vals, v_base,
                              count, all_rows, acts, k * a_stride, z_offset)
        for k in range(m):
            output_deltas(sizes, slot, cost, acts, k * a_stride, targets, order[start + k] * n_out, deltas,
                          k * slots_size)
        for l in range(layers - 1, 0, -1):
            for k in range(m):
                backward_layer(l, packed, sizes, n_base, zero_base, slot, activation, acts, k * a_stride, z_offset,
                               all_rows, deltas, k * slots_size)
        if measure:
            for k in range(m):
                example = order[start + k]
                cost_sum += example_cost(cost, acts, k * a_stride + last, targets, example * n_out, n_out, tiny)
                right += (first_largest(acts, k * a_stride + last, n_out)
                          == first_largest(targets, example * n_out, n_out))
        step = params.dtype.type(-(eta / m))
        if use_momentum:
            steps[:] = 0
        elif l2 > 0:
            _decay_weights(packed, layers, w_base, b_base, keep)
        target = steps if use_momentum else packed
        for k in range(m):
            scale_tiles(deltas, k * slots_size, slots_size, step)
            r_base, v_base, count = input_pairs(mode, order[start + k], k, sizes[0], indptr, counts)
            update_rows(target, w_base[0], padded(sizes[1]), rows, r_base, vals, v_base, count, deltas,
                        k * slots_size + slot[0])
        add_hidden_outer_products(target, sizes, w_base, n_base, b_base, slot, acts, a_stride, deltas, slots_size, m,
                                  ones)
        if use_momentum:
            _momentum_step(packed, steps, packed_velocity, sizes, w_base, b_base, mu, decay)
    restore_mxcsr(mxcsr)
    unpack(packed, sizes, params, w_base, b_base)
    if use_momentum:
        unpack(packed_velocity, sizes, velocity, w_base, b_base)
    if measure:
        measured[0] += cost_sum
        measured[1] += right


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def matvec_kernel(params, sizes, activation, output, X, out):
    """out[k] = [a_1 | a_2 | ... | a_L] for each row of X: every layer's activations side by side
    (n_1 + ... + n_L columns), layer by layer as W a + b on the natural layout (no packing).

    The matrix-vector pass of the seed; for a few examples it beats packing
    the parameters. Its dot products may be summed in any order (reassoc).
    """
    one = params.dtype.type(1)
    widest = max(sizes)
    a = np.empty(widest, params.dtype)
    z = np.empty(widest, params.dtype)
    layers = len(sizes) - 1
    mxcsr = flush_denormals()
    for k in range(X.shape[0]):
        for i in range(sizes[0]):
            a[i] = X[k, i]
        offset = 0
        column = 0
        for l in range(layers):
            n_in, n_out = sizes[l], sizes[l + 1]
            for j in range(n_out):
                row = params[offset + j * n_in:offset + (j + 1) * n_in]  # a view: loop indices stay >= 0
                s = params[offset + n_out * n_in + j]
                for i in range(n_in):
                    s += row[i] * a[i]
                z[j] = s
            if l < layers - 1:
                for j in range(n_out):
                    a[j] = exact_sigmoid(z[j], one) if activation == SIGMOID else activate(activation, z[j], one)
            elif output == SOFTMAX_OUTPUT:
                softmax(z, ZERO, n_out, n_out)
                copy_into(z[:n_out], a[:n_out])
            else:
                for j in range(n_out):
                    a[j] = exact_sigmoid(z[j], one)
            offset += n_out * (n_in + 1)
            for j in range(n_out):
                out[k, column + j] = a[j]
            column += n_out
    restore_mxcsr(mxcsr)
