"""The packed layout the Numba kernels compute in (see ``numba.mlp_kernels`` for why).

Inside a kernel call every layer is held transposed and padded: ``Wᵀ_l`` is
``(n_l, p_{l+1})`` row-major with ``p = n`` rounded up to a multiple of
``LANES`` (16), followed by ``b_l`` padded to ``p_{l+1}``. Hidden layers
(l >= 1) are also kept as ``W_l``, ``(n_{l+1}, p_l)``, for the backward pass.
Padding lanes hold zeros and stay zero. Kernels ``pack`` params on entry and
``unpack`` on exit.
"""
import numpy as np
from numba import njit

from .primitives import CACHE_LINE, HELPER, LANES, OPTIONS



@njit(**OPTIONS)
def aligned_zeros(n, dtype_sample):
    """n zeros of ``dtype_sample``'s dtype, the first at a 64-byte boundary.

    Every packed row and every activation slot then starts a cache line, so
    a 16-value float32 tile is one aligned load or store, never split across
    two lines (BENCHMARKS.md has the gain).
    """
    itemsize = dtype_sample.itemsize
    raw = np.zeros(n + CACHE_LINE // itemsize, dtype_sample.dtype)
    skip = (-raw.ctypes.data % CACHE_LINE) // itemsize
    return raw[skip:skip + n]


@njit(**HELPER)
def padded(n):
    return (n + LANES - 1) // LANES * LANES


@njit(**HELPER)
def packed_layout(sizes):
    """Offsets ``(w_base, n_base, b_base, zero_base, slot, packed_size, slots_size)``.

    In the packed vector: ``w_base[l]`` starts Wᵀ_l (n_l rows of p_{l+1});
    ``n_base[l]`` (l >= 1) starts W_l in its natural orientation (n_{l+1} rows
    of p_l), a second copy kept for the backward pass; ``b_base[l]`` starts
    b_l (p_{l+1}); ``zero_base`` starts a tile of zeros. ``slot[l]``: where
    layer l's (padded) outputs start in a per-example vector of activations
    or deltas of ``slots_size`` values.
    """
    layers = len(sizes) - 1
    w_base = np.empty(layers, np.int64)
    n_base = np.empty(layers, np.int64)
    b_base = np.empty(layers, np.int64)
    slot = np.empty(layers, np.int64)
    offset = 0
    slots = 0
    widest = 0
    for l in range(layers):
        width = padded(sizes[l + 1])
        widest = max(widest, width, padded(sizes[l]))
        w_base[l] = offset
        offset += sizes[l] * width
        if l > 0:
            n_base[l] = offset
            offset += sizes[l + 1] * padded(sizes[l])
        else:
            n_base[l] = -1  # the first layer has no second copy
        b_base[l] = offset
        offset += width
        slot[l] = slots
        slots += width
    return w_base, n_base, b_base, offset, slot, offset + widest, slots


@njit(**HELPER)
def pack(params, sizes, packed, w_base, n_base, b_base):
    """params (W_l (n_{l+1}, n_l) then b_l, per layer) -> packed (Wᵀ_l, W_l for l >= 1, b_l; padded)."""
    packed[:] = 0
    offset = 0
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        width, natural_width = padded(n_out), padded(n_in)
        for j in range(n_out):
            for i in range(n_in):
                value = params[offset + j * n_in + i]
                packed[w_base[l] + i * width + j] = value
                if l > 0:
                    packed[n_base[l] + j * natural_width + i] = value
        offset += n_out * n_in
        for j in range(n_out):
            packed[b_base[l] + j] = params[offset + j]
        offset += n_out


@njit(**HELPER)
def unpack(packed, sizes, params, w_base, b_base):
    """params <- packed (from Wᵀ_l and b_l): the inverse of ``pack``."""
    offset = 0
    for l in range(len(sizes) - 1):
        n_in, n_out, width = sizes[l], sizes[l + 1], padded(sizes[l + 1])
        for j in range(n_out):
            for i in range(n_in):
                params[offset + j * n_in + i] = packed[w_base[l] + i * width + j]
        offset += n_out * n_in
        for j in range(n_out):
            params[offset + j] = packed[b_base[l] + j]
        offset += n_out


