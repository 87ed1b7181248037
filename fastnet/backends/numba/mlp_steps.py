"""Examples through the network, in the packed layout: forward and backward, and the gradient's contribution.

The per-example steps are inlined into the drivers (``numba.mlp_kernels``) by
LLVM (``primitives.INLINE``): a call between compiled functions would cost
reference-count updates on its array arguments. Inputs are rows of (index,
value) pairs: the nonzero pixels of a CSR matrix, every pixel of a dense row,
or every unit of the previous layer; all go through the same row operations
(``numba.primitives``).
"""
import numpy as np
from numba import njit, uint64

from ...core.codes import COMPACT_INPUTS as COMPACT, CSR_INPUTS as CSR, DENSE_INPUTS as DENSE
from .mlp_layout import padded
from .mlp_math import activate_layer, output_error, times_derivative_tiles
from .primitives import HELPER, INLINE, ONE, ZERO, accumulate_rows, prefetch, update_rows_by_batch

# ---------------------------------------------------------------------------
# Examples: forward and backward a layer at a time, the gradient's contribution
#
# The input is ``count`` (row, value) pairs: ``input_rows[r_base+p]`` and
# ``input_values[v_base+p]``; ``all_rows`` is 0, 1, 2, ... (every unit).


@njit(**INLINE)
def forward_layer(l, packed, sizes, w_base, b_base, slot, activation, output, input_rows, r_base, input_values,
                  v_base, count, all_rows, acts, a_base, z_offset):
    """acts[a_base + slot[l]:+p] = a_{l+1} = f(z_{l+1}), z_{l+1} = W_l a_l + b_l: one layer's (padded) output for
    the example whose activations start at acts[a_base] (layer 0 reads the input pairs).

    With ``z_offset`` > 0 (an activation whose derivative needs z), z_{l+1} is also kept, at
    acts[a_base + z_offset + slot[l]:+p]: in the same array, because every array argument of an
    inlined function (and every view of a row) costs reference-count updates per call.
    """
    one = packed.dtype.type(1)
    width = padded(sizes[l + 1])
    if l == 0:
        accumulate_rows(packed, w_base[0], width, b_base[0], input_rows, r_base, input_values, v_base,
                         count, acts, a_base + slot[0])
    else:
        accumulate_rows(packed, w_base[l], width, b_base[l], all_rows, ZERO, acts, a_base + slot[l - 1],
                         sizes[l], acts, a_base + slot[l])
    if z_offset > 0:
        for j in range(a_base + slot[l], a_base + slot[l] + width):
            acts[z_offset + j] = acts[j]
    activate_layer(activation, output, l, len(sizes) - 1, acts, a_base + slot[l], sizes[l + 1], width, one)


@njit(**INLINE)
def forward(packed, sizes, w_base, b_base, slot, activation, output, input_rows, r_base, input_values, v_base,
            count, all_rows, acts, z_offset):
    """``forward_layer`` for every layer of one example."""
    for l in range(len(sizes) - 1):
        forward_layer(l, packed, sizes, w_base, b_base, slot, activation, output, input_rows, r_base, input_values,
                      v_base, count, all_rows, acts, ZERO, z_offset)


@njit(**INLINE)
def output_deltas(sizes, slot, cost, acts, a_base, target, t_base, deltas, d_base):
    """deltas[d_base + slot[L-1]:+n_L] = δ_L = ∂C_x/∂z_L of one example: (a_L − y) ⊙ a_L (1 − a_L) (quadratic
    cost), a_L − y (cross-entropy, log-likelihood)."""
    one = acts.dtype.type(1)
    out = slot[len(sizes) - 2]
    for j in range(sizes[-1]):
        deltas[d_base + out + j] = output_error(cost, acts[a_base + out + j], target[t_base + j], one)


@njit(**INLINE)
def backward_layer(l, packed, sizes, n_base, zero_base, slot, activation, acts, a_base, z_offset, all_rows,
                   deltas, d_base):
    """deltas[d_base + slot[l-1]:+p] = δ_l = (W_lᵀ δ_{l+1}) ⊙ f'(z_l) of one example (l >= 1), f' from a_l or from
    z_l at acts[a_base + z_offset + ...], with W_lᵀ δ = Σ_j δ_j W_l[j, :] read from the natural-orientation copy
    of W_l."""
    one = packed.dtype.type(1)
    accumulate_rows(packed, n_base[l], padded(sizes[l]), zero_base, all_rows, ZERO, deltas, d_base + slot[l],
                     sizes[l + 1], deltas, d_base + slot[l - 1])
    times_derivative_tiles(activation, deltas, d_base + slot[l - 1], acts, a_base + slot[l - 1],
                           a_base + z_offset + slot[l - 1], padded(sizes[l]), one)


@njit(**INLINE)
def backward(packed, sizes, n_base, zero_base, slot, activation, cost, acts, z_offset, target, t_base, all_rows,
             deltas):
    """deltas[slot[l]:+p] = δ_{l+1} = ∂C_x/∂z_{l+1} for every layer of one example, from ``forward``'s activations."""
    output_deltas(sizes, slot, cost, acts, ZERO, target, t_base, deltas, ZERO)
    for l in range(len(sizes) - 2, 0, -1):
        backward_layer(l, packed, sizes, n_base, zero_base, slot, activation, acts, ZERO, z_offset, all_rows, deltas,
                       ZERO)


@njit(**INLINE)
def add_hidden_outer_products(packed, sizes, w_base, n_base, b_base, slot, acts, a_stride, deltas, d_stride,
                              examples, ones):
    """packed += Σ_k δ_{l+1} a_lᵀ (both copies of W_l, l >= 1) and Σ_k δ_{l+1} (b_l, every layer), k over
    ``examples`` examples whose activations and (already scaled) deltas are rows of the flat ``acts`` and
    ``deltas``, ``a_stride`` and ``d_stride`` apart; ``ones`` holds a 1. The first layer's weights, which read
    the inputs, are left to the caller (``update_rows``). Example by example, in order, for every value, so
    both copies of W_l receive the very same products and stay identical."""
    for l in range(len(sizes) - 1):
        if l > 0:
            update_rows_by_batch(packed, w_base[l], padded(sizes[l + 1]), sizes[l], acts, slot[l - 1], a_stride,
                                 deltas, slot[l], d_stride, examples)
            update_rows_by_batch(packed, n_base[l], padded(sizes[l]), sizes[l + 1], deltas, slot[l], d_stride,
                                 acts, slot[l - 1], a_stride, examples)
        update_rows_by_batch(packed, b_base[l], padded(sizes[l + 1]), ONE, ones, ZERO, ZERO, deltas, slot[l], d_stride,
                             examples)


# ---------------------------------------------------------------------------
# Inputs: how an example's (row, value) pairs are found

@njit(**HELPER)
def prefetch_dense_row(example, n_inputs, dense):
    """Start loading the dense row of ``example`` (one hint per 64-byte line)."""
    start = example * n_inputs
    for p in range(start, start + n_inputs, 64 // dense.itemsize):
        prefetch(dense, p)


@njit(**HELPER)
def prefetch_csr_row(example, indptr, indices, values):
    """Start loading the CSR row of ``example`` (one hint per 64-byte line of its indices and values)."""
    start, stop = indptr[example], indptr[example + 1]
    for p in range(start, stop, 64 // indices.itemsize):
        prefetch(indices, p)
    for p in range(start, stop, 64 // values.itemsize):
        prefetch(values, p)

@njit(**HELPER)
def input_arrays(mode, dense, indices, values, all_rows, row_idx, row_val):
    """The (rows, values) arrays the inputs of every example are read from, in ``mode``."""
    if mode == CSR:
        return row_idx, values  # the column numbers widened into row_idx (widen_columns)
    if mode == DENSE:
        return all_rows, dense
    return row_idx, row_val


@njit(**HELPER)
def gather_nonzeros(dense, example, n_inputs, row_idx, row_val, counts, slot):
    """Row ``slot`` of row_idx/row_val = the (index, value) pairs of the nonzeros of ``example``'s dense row.

    counts[slot] = how many. Branchless: writes every pixel, advances past nonzeros only.
    """
    base = slot * n_inputs
    count = 0
    for i in range(n_inputs):
        v = dense[example * n_inputs + i]
        row_idx[base + count] = i
        row_val[base + count] = v
        count += v != 0
    counts[slot] = count


@njit(**HELPER)
def collect_inputs(mode, dense, indptr, indices, example, n_inputs, row_idx, row_val, counts, slot):
    """Row ``slot`` of row_idx (and row_val) = ``example``'s input pairs where they are not read in place: the
    nonzeros of its dense row (COMPACT) or its CSR row's column numbers, widened (CSR)."""
    if mode == COMPACT:
        gather_nonzeros(dense, example, n_inputs, row_idx, row_val, counts, slot)
    elif mode == CSR:
        widen_columns(indptr, indices, example, row_idx, slot, n_inputs)


@njit(**INLINE)
def widen_columns(indptr, indices, example, row_idx, slot, n_inputs):
    """Row ``slot`` of row_idx = the uint16 column numbers of ``example``'s CSR row, as the row operations'
    int32 (prepared rows store them in half the memory)."""
    start, base = uint64(indptr[example]), uint64(slot * n_inputs)  # unsigned: no wrap-around checks, it vectorises
    for p in range(uint64(indptr[example + 1]) - start):
        row_idx[base + p] = indices[start + p]


@njit(**INLINE)
def input_pairs(mode, example, slot, n_inputs, indptr, counts):
    """(r_base, v_base, count) of ``example``'s input pairs in the arrays of ``input_arrays``.

    CSR and COMPACT read row ``slot`` of row_idx, filled by ``widen_columns`` or ``gather_nonzeros``. Takes no array
    it does not read: each array argument of an inlined function with branches
    costs an atomic reference-count increment and decrement per call
    (measured in BENCHMARKS.md).
    """
    if mode == CSR:
        r_base, v_base = slot * n_inputs, indptr[example]
        count = indptr[example + 1] - v_base
    elif mode == DENSE:
        r_base, v_base, count = 0, example * n_inputs, n_inputs
    else:
        r_base = v_base = slot * n_inputs
        count = counts[slot]
    return r_base, v_base, count


@njit(**HELPER)
def input_buffers(sizes, slots, dtype_sample):
    """Index and value buffers for the inputs of ``slots`` examples, and the row numbers 0..max(sizes)."""
    n_inputs = sizes[0]
    row_idx = np.empty(slots * n_inputs + 1, np.int32)  # +1: the branchless loop writes one past
    row_val = np.empty(slots * n_inputs + 1, dtype_sample.dtype)
    counts = np.zeros(slots, np.int64)
    all_rows = np.empty(max(sizes), np.int32)
    for i in range(len(all_rows)):  # np.arange(...).astype would compile two more library functions
        all_rows[i] = i
    return row_idx, row_val, counts, all_rows


