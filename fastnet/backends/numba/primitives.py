"""The Numba backend's primitives: CPU state, 8- and 16-lane tiles, row operations, a vectorisable exp.

Everything here works on flat arrays at unsigned offsets and knows nothing
of networks. Tiles are tuples of 8 values read at consecutive unsigned
indices, which LLVM's SLP vectoriser turns into vector instructions (signed
indices carry a wrap-around check that defeats it); a tile of LANES = 16
values is a pair of them. How much each choice saved is in BENCHMARKS.md
("Why the MLP kernels look as they do").
"""
import platform

import numpy as np
from llvmlite import ir
from numba import njit, types, uint64
from numba.extending import intrinsic, overload

LANES = 16  # a tile: two 8-lane tuples
HELD_DELTA_MAX_WIDTH = 32  # update_rows: the widest rows updated a delta tile at a time (measured)
CACHE_LINE = 64  # bytes
OPTIONS = dict(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
# Functions only compiled code calls, never Python: without the CPython and C
# wrappers Numba would compile for each (BENCHMARKS.md, "Numba's first run, again").
HELPER = dict(OPTIONS, no_cpython_wrapper=True, no_cfunc_wrapper=True)
# The helpers the kernels call (steps, activations, tiles, exp): each is typed
# once per signature and handed to LLVM marked alwaysinline (``forceinline``),
# so LLVM inlines it into every caller before vectorising. Numba's own
# inline="always" copies the callee's IR into every call site before type
# inference: the MLP's epoch took 46 s to compile that way (the tile exp alone
# was copied 199 times), 12.5 s this way, and runs as fast (BENCHMARKS.md).
INLINE = dict(HELPER, cache=False, forceinline=True)
# 0 and 1 as int64 arguments: a literal argument (``f(x, 0)``) is typed as
# Literal[int](0) and compiles the callee once more for it; LLVM, which inlines
# the callee, sees the constant either way.
ZERO, ONE = np.int64(0), np.int64(1)

# ---------------------------------------------------------------------------
# Vectors copied and added element by element: Numba compiles an assignment of
# one array to another (``y[r] = x[r]``, ``y[r] += x[r]``) with a shape-mismatch
# error whose message took 2-3 s to compile, once per process (BENCHMARKS.md).

@njit(**INLINE)
def copy_into(source, target):
    """target = source (vectors of one length)."""
    for i in range(target.size):
        target[i] = source[i]


@njit(**INLINE)
def add_into(source, target):
    """target += source (vectors of one length)."""
    for i in range(target.size):
        target[i] += source[i]


@njit(**INLINE)
def sum_into(a, b, target):
    """target = a + b (vectors of one length)."""
    for i in range(target.size):
        target[i] = a[i] + b[i]


# ---------------------------------------------------------------------------
# Denormals: values below the smallest normal float (1.2e-38 in float32) appear
# in the deltas of saturated units and cost ~100x per operation on x86
# (BENCHMARKS.md has the slowdown measured). While a kernel runs, the CPU
# flushes them to zero (MXCSR's FTZ and DAZ bits, as C's -ffast-math does for
# a whole program); the caller's mode is restored before the kernel returns.
# Results change only below 1.2e-38.

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_FTZ_DAZ = 0x8040


@intrinsic
def flush_denormals(typingctx):
    """Set FTZ and DAZ for this thread (x86; elsewhere nothing); returns the previous MXCSR."""

    def codegen(context, builder, signature, args):
        int32 = ir.IntType(32)
        if not _X86:
            return int32(0)
        slot = builder.alloca(int32)
        pointer = builder.bitcast(slot, ir.IntType(8).as_pointer())
        function = ir.FunctionType(ir.VoidType(), (ir.IntType(8).as_pointer(),))
        builder.call(builder.module.declare_intrinsic("llvm.x86.sse.stmxcsr", fnty=function), (pointer,))
        previous = builder.load(slot)
        builder.store(builder.or_(previous, int32(_FTZ_DAZ)), slot)
        builder.call(builder.module.declare_intrinsic("llvm.x86.sse.ldmxcsr", fnty=function), (pointer,))
        return previous

    return types.int32(), codegen


@intrinsic
def restore_mxcsr(typingctx, previous):
    """Put back the MXCSR value ``flush_denormals`` returned."""
    if previous != types.int32:
        return None

    def codegen(context, builder, signature, args):
        if _X86:
            slot = builder.alloca(ir.IntType(32))
            builder.store(args[0], slot)
            function = ir.FunctionType(ir.VoidType(), (ir.IntType(8).as_pointer(),))
            builder.call(builder.module.declare_intrinsic("llvm.x86.sse.ldmxcsr", fnty=function),
                         (builder.bitcast(slot, ir.IntType(8).as_pointer()),))
        return context.get_dummy_value()

    return types.void(previous), codegen


# ---------------------------------------------------------------------------
# 512-bit vectors: LLVM's tuning for recent Intel CPUs prefers 256-bit vectors,
# so a 16-value float32 tile becomes two AVX2 operations even where AVX-512
# is present. The function attributes below ask for whole 512-bit vectors in
# the function being compiled (only where the CPU has them: they are a
# preference, not a requirement; BENCHMARKS.md has the gain). Numba's
# CPU features are process-wide (NUMBA_CPU_FEATURES); these attributes touch
# fastnet's kernels only. A future llvmlite that stores attributes otherwise
# gets none: the kernels stay correct, only slower.

_WIDE_VECTOR_ATTRIBUTES = ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"')


@intrinsic
def prefer_512_bit_vectors(typingctx):
    """Mark the function being compiled with _WIDE_VECTOR_ATTRIBUTES (a compile-time statement)."""

    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        if isinstance(attributes, set):  # llvmlite checks names against its enum attributes: add the strings as such
            for attribute in _WIDE_VECTOR_ATTRIBUTES:
                set.add(attributes, attribute)
        return context.get_dummy_value()

    return types.void(), codegen


# ---------------------------------------------------------------------------
# 8-lane primitives


@njit(**INLINE)
def _load8(a, base):
    b = uint64(base)
    return (a[b], a[b + uint64(1)], a[b + uint64(2)], a[b + uint64(3)],
            a[b + uint64(4)], a[b + uint64(5)], a[b + uint64(6)], a[b + uint64(7)])


@njit(**INLINE)
def _store8(a, base, t):
    b = uint64(base)
    a[b] = t[0]
    a[b + uint64(1)] = t[1]
    a[b + uint64(2)] = t[2]
    a[b + uint64(3)] = t[3]
    a[b + uint64(4)] = t[4]
    a[b + uint64(5)] = t[5]
    a[b + uint64(6)] = t[6]
    a[b + uint64(7)] = t[7]


@njit(**INLINE)
def _axpy8(t, v, a, base):
    """t + v * a[base:base+8]"""
    r = _load8(a, base)
    return (t[0] + v * r[0], t[1] + v * r[1], t[2] + v * r[2], t[3] + v * r[3],
            t[4] + v * r[4], t[5] + v * r[5], t[6] + v * r[6], t[7] + v * r[7])


@njit(**INLINE)
def _add8(t, u):
    return (t[0] + u[0], t[1] + u[1], t[2] + u[2], t[3] + u[3],
            t[4] + u[4], t[5] + u[5], t[6] + u[6], t[7] + u[7])


@njit(**INLINE)
def _zeros8(zero):
    return (zero, zero, zero, zero, zero, zero, zero, zero)


# A tile of LANES = 16 values is a pair of 8-lane tuples.


@njit(**INLINE)
def load16(a, base):
    b = uint64(base)
    return (_load8(a, b), _load8(a, b + uint64(8)))


@njit(**INLINE)
def store16(a, base, t):
    b = uint64(base)
    _store8(a, b, t[0])
    _store8(a, b + uint64(8), t[1])


@njit(**INLINE)
def _axpy16(t, v, a, base):
    b = uint64(base)
    return (_axpy8(t[0], v, a, b), _axpy8(t[1], v, a, b + uint64(8)))


@njit(**INLINE)
def _add16(t, u):
    return (_add8(t[0], u[0]), _add8(t[1], u[1]))


@njit(**INLINE)
def _scale8(t, v):
    return (t[0] * v, t[1] * v, t[2] * v, t[3] * v, t[4] * v, t[5] * v, t[6] * v, t[7] * v)


@njit(**INLINE)
def _scale16(t, v):
    return (_scale8(t[0], v), _scale8(t[1], v))


@njit(**INLINE)
def _zeros16(zero):
    return (_zeros8(zero), _zeros8(zero))


@njit(**INLINE)
def _multiply8(t, u):
    return (t[0] * u[0], t[1] * u[1], t[2] * u[2], t[3] * u[3], t[4] * u[4], t[5] * u[5], t[6] * u[6], t[7] * u[7])


@njit(**INLINE)
def multiply16(t, u):
    return (_multiply8(t[0], u[0]), _multiply8(t[1], u[1]))


# Whole vectors of ``width`` values (a multiple of LANES), a tile at a time.


@njit(**INLINE)
def scale_tiles(a, base, width, s):
    """a[base:+width] *= s"""
    for jb in range(0, width, LANES):
        store16(a, base + jb, _scale16(load16(a, base + jb), s))


# ---------------------------------------------------------------------------
# Row operations on a packed layer Wᵀ (rows of ``width`` = padded outputs)


# Offsets are made unsigned (every operand: Numba types uint64 + int64 as
# float64) so that indexing carries no negative-index wrap-around code.
_U1 = np.uint64(1)
_U2 = np.uint64(2)


@njit(**HELPER)
def accumulate_rows(w, w_base, width, b_base, rows, r_base, values, v_base, count, out, o_base):
    """out[o_base:+width] = w[b_base:+width] + Σ_p values[v_base+p] · M[rows[r_base+p], :]

    M is the matrix of ``width``-long rows starting at ``w_base``: with Wᵀ
    and b this is the forward z = W a + b; with W and zeros, backward's Wᵀ δ.
    Two independent accumulator chains hide the latency of the additions.
    """
    prefer_512_bit_vectors()
    zero = w.dtype.type(0)
    uw, ub, ur, uv, un = uint64(width), uint64(w_base), uint64(r_base), uint64(v_base), uint64(count)
    for jb in range(0, width, LANES):
        ujb = uint64(jb)
        a0 = load16(w, b_base + jb)
        a1 = _zeros16(zero)
        p = uint64(0)
        while p + _U2 <= un:
            a0 = _axpy16(a0, values[uv + p], w, ub + uint64(rows[ur + p]) * uw + ujb)
            a1 = _axpy16(a1, values[uv + p + _U1], w, ub + uint64(rows[ur + p + _U1]) * uw + ujb)
            p += _U2
        if p < un:
            a0 = _axpy16(a0, values[uv + p], w, ub + uint64(rows[ur + p]) * uw + ujb)
        store16(out, o_base + jb, _add16(a0, a1))


@njit(**HELPER)
def update_rows(w, w_base, width, rows, r_base, values, v_base, count, delta, d_base):
    """M[rows[r_base+p], :] += values[v_base+p] · delta[d_base:+width] for p < count   (an outer product added)

    Up to HELD_DELTA_MAX_WIDTH a tile of delta stays in registers while it
    is added to every row; wider rows are each streamed once, whole.
    """
    prefer_512_bit_vectors()
    uw, ub, ur, uv, ud = uint64(width), uint64(w_base), uint64(r_base), uint64(v_base), uint64(d_base)
    if width <= HELD_DELTA_MAX_WIDTH:
        for jb in range(0, width, LANES):
            ujb = uint64(jb)
            d = load16(delta, ud + ujb)
            for p in range(count):
                up = uint64(p)
                base = ub + uint64(rows[ur + up]) * uw + ujb
                store16(w, base, _add16(load16(w, base), _scale16(d, values[uv + up])))
    else:
        for p in range(count):
            up = uint64(p)
            v = values[uv + up]
            row = ub + uint64(rows[ur + up]) * uw
            for jb in range(0, width, LANES):
                ujb = uint64(jb)
                store16(w, row + ujb, _add16(load16(w, row + ujb), _scale16(load16(delta, ud + ujb), v)))


@njit(**HELPER)
def update_rows_by_batch(w, w_base, width, count, values, v_base, v_stride, delta, d_base, d_stride, examples):
    """M[i, :] += Σ_e values[v_base + e·v_stride + i] · delta[d_base + e·d_stride:+width] for i < count
    (W += Σ_e δ_e a_eᵀ)

    M is the matrix of ``width``-long rows starting at ``w_base``; e = 0, 1, ...,
    examples − 1 in turn: the products ``update_rows`` adds example by example,
    in the same order, but each row tile held in registers across the examples.
    ``v_stride`` 0 repeats values[v_base + i] for every example (a bias: 1).
    """
    prefer_512_bit_vectors()
    uw, ub, uv, ud = uint64(width), uint64(w_base), uint64(v_base), uint64(d_base)
    for i in range(count):
        ui = uint64(i)
        for jb in range(0, width, LANES):
            ujb = uint64(jb)
            row = load16(w, ub + ui * uw + ujb)
            for e in range(examples):
                ue = uint64(e)
                v = values[uv + ue * uint64(v_stride) + ui]
                # update_rows' expression (w + δ·v), not _axpy16 (t + v·a): measured, the gradient's bits differ
                row = _add16(row, _scale16(load16(delta, ud + ue * uint64(d_stride) + ujb), v))
            store16(w, ub + ui * uw + ujb, row)


# ---------------------------------------------------------------------------
# exp(x) for x <= 0 without library calls, so that a whole tile of it
# vectorises (Numba has no vector exp): exp(x) = 2^k p(r), r = x − k ln 2,
# |r| <= ln2/2, p the Taylor polynomial of exp to degree 6 (float32: error
# r^7/7! < 1.2e-7) or 12 (float64: < 1.7e-16), 2^k made from exponent bits.
# Below exp(−87) (float32) or exp(−708) (float64) the result is held at that value
# (σ there is below what 1 − σ can show; the one-example path uses the exact exp).

_LOG2E = 1.4426950408889634
_LOW32, _LOG2E32, _HALF32 = np.float32(-87.0), np.float32(_LOG2E), np.float32(0.5)
_LN2_HI32, _LN2_LO32 = np.float32(0.693359375), np.float32(-2.12194440e-4)  # ln 2 = hi + lo (Cody-Waite)
_LOW64, _LN2_HI64, _LN2_LO64 = -708.0, 6.93147180369123816490e-01, 1.90821492927058770002e-10


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float whose IEEE-754 bits are the int32 (-> float32) or int64 (-> float64) ``bits``."""
    if bits not in (types.int32, types.int64):
        return None
    result = types.float32 if bits == types.int32 else types.float64

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(result))

    return result(bits), codegen


@njit(**INLINE)
def _exp_negative32(x):
    x = max(x, _LOW32)  # Numba's max keeps a NaN (tested); C's fmaxf would not
    k = np.floor(x * _LOG2E32 + _HALF32)
    r = x - k * _LN2_HI32 - k * _LN2_LO32
    p = np.float32(1 / 720)
    p = p * r + np.float32(1 / 120)
    p = p * r + np.float32(1 / 24)
    p = p * r + np.float32(1 / 6)
    p = p * r + np.float32(1 / 2)
    p = p * r + np.float32(1)
    p = p * r + np.float32(1)
    # int32(k): AVX2 has no vector float -> int64 conversion; Numba widens the sum, so cast last
    return p * _bits_to_float(np.int32((np.int32(k) + 127) << 23))


@njit(**INLINE)
def _exp_negative64(x):
    x = max(x, _LOW64)
    k = np.floor(x * _LOG2E + 0.5)
    r = x - k * _LN2_HI64 - k * _LN2_LO64
    p = 1 / 479001600
    p = p * r + 1 / 39916800
    p = p * r + 1 / 3628800
    p = p * r + 1 / 362880
    p = p * r + 1 / 40320
    p = p * r + 1 / 5040
    p = p * r + 1 / 720
    p = p * r + 1 / 120
    p = p * r + 1 / 24
    p = p * r + 1 / 6
    p = p * r + 1 / 2
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _bits_to_float(np.int64(np.int32(k) + 1023) << 52)  # via int32, as above


def exp_of_negative(x):
    """exp(x) for x <= 0, vectorisable (see the section comment)."""


@overload(exp_of_negative, inline="always")
def _exp_of_negative_for(x):
    if x == types.float32:
        return lambda x: _exp_negative32(x)
    if x == types.float64:
        return lambda x: _exp_negative64(x)
    return None



# ---------------------------------------------------------------------------
# Prefetching

@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to start loading the cache line of array[index] (a hint: results are unchanged)."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        int32 = ir.IntType(32)
        prefetch = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), (ir.IntType(8).as_pointer(), int32, int32, int32)))
        builder.call(prefetch, (address, int32(0), int32(3), int32(1)))  # read, keep in all caches, data
        return context.get_dummy_value()

    return types.void(array, index), codegen

