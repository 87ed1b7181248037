"""BLAS's matrix products for Numba kernels, row-major, with strides and accumulation.

Numba's own ``np.dot`` takes whole contiguous arrays only. The GPT kernels
need more of GEMM: a head's columns inside a wider matrix (a leading
dimension), and ``C += A B`` without a temporary (beta = 1). ``gemm`` calls
the same ``sgemm``/``dgemm`` that ``np.dot`` does inside Numba (SciPy's
``cython_blas``, through Numba's helper ``numba_xxgemm``, which is linked by
name, so kernels that use it are cached on disk like any other). ``gemv`` is
the matrix-vector product, for one row at a time.
"""
import numpy as np
from numba import njit, types
from numba.extending import overload


def gemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
    """Row-major C (M, N) = alpha op(A) op(B) + beta C; op(X) = Xᵀ when trans is True.

    A, B and C are 1-D arrays starting at the matrices' first element; lda,
    ldb, ldc are their row strides in elements (as in CBLAS, row-major).
    """
    raise NotImplementedError("gemm runs inside Numba kernels only")


def _xxgemm(dtype):
    """Numba's exported C helper: numba_xxgemm(kind, transa, transb, m, n, k, *alpha, *a, lda, *b, ldb, *beta,
    *c, ldc)."""
    pointer = types.CPointer(dtype)
    return types.ExternalFunction("numba_xxgemm", types.intc(
        types.char, types.char, types.char, types.intp, types.intp, types.intp, pointer, pointer, types.intp,
        pointer, types.intp, pointer, pointer, types.intp))


@overload(gemm, jit_options=dict(nogil=True, cache=True))
def _gemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
    if C.dtype not in (types.float32, types.float64):
        return None
    xxgemm = _xxgemm(C.dtype)
    kind = ord("s" if C.dtype == types.float32 else "d")
    scalar = np.float32 if C.dtype == types.float32 else np.float64

    def impl(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
        # BLAS is column-major: row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ.
        scalars = np.empty(2, scalar)
        scalars[0] = alpha
        scalars[1] = beta
        xxgemm(kind, ord("T") if transb else ord("N"), ord("T") if transa else ord("N"), N, M, K,
               scalars[0:].ctypes, B.ctypes, ldb, A.ctypes, lda, scalars[1:].ctypes, C.ctypes, ldc)

    return impl


def gemv(M, N, alpha, A, lda, x, beta, y):
    """y (M,) = alpha A x + beta y for a row-major A (M, N) with row stride lda (x, y contiguous)."""
    raise NotImplementedError("gemv runs inside Numba kernels only")


@overload(gemv, jit_options=dict(nogil=True, cache=True))
def _gemv(M, N, alpha, A, lda, x, beta, y):
    if y.dtype not in (types.float32, types.float64):
        return None
    pointer = types.CPointer(y.dtype)
    xxgemv = types.ExternalFunction("numba_xxgemv", types.intc(
        types.char, types.char, types.intp, types.intp, pointer, pointer, types.intp, pointer, pointer, pointer))
    kind = ord("s" if y.dtype == types.float32 else "d")
    scalar = np.float32 if y.dtype == types.float32 else np.float64

    def impl(M, N, alpha, A, lda, x, beta, y):
        scalars = np.empty(2, scalar)
        scalars[0] = alpha
        scalars[1] = beta
        # column-major, A is Aᵀ (N, M): y = (Aᵀ)ᵀ x
        xxgemv(kind, ord("T"), N, M, scalars[0:].ctypes, A.ctypes, lda, x.ctypes, scalars[1:].ctypes, y.ctypes)

    return impl


@njit(nogil=True, cache=True)
def at(matrix, row, column):
    """The 1-D view of a C-contiguous 2-D ``matrix`` from element [row, column] on (for ``gemm``)."""
    return matrix.ravel()[row * matrix.shape[1] + column:]
