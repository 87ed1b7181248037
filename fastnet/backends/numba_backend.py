"""The Numba backend: the kernels compiled by Numba, with the NumPy backend's semantics.

Kernel functions (the same names and arguments as ``numpy_backend``, which
states the math): ``prepare_inputs``, ``feedforward``, ``predict``,
``backprop``, ``gradient`` and ``sgd_epoch``, the last running a whole epoch,
every mini-batch, in one compiled call that releases the GIL. Each checks its
arguments before compiled code runs. Inputs may be given as arrays or as the
result of ``prepare_inputs(X)``, which decides once per data set whether to
skip zeros (MNIST images are about 81% zeros) and builds the sparse rows.

Compilation happens on a kernel's first call, never at import, and is cached
on disk (``cache=True``; set NUMBA_CACHE_DIR for a read-only install), so a
second process loads the machine code instead of compiling it. fastnet's
kernels are compiled with LLVM's SLP vectoriser switched on (Numba leaves it
off by default); it is switched on only while fastnet's own kernels compile,
and never for other code.
"""
import sys
import threading

import numpy as np
from numba.core import config as _numba_config

from . import _numba_kernels as _kernels, numpy_backend
from ._arguments import check_array, check_network, check_rows, check_training

# Skip zeros when at least this fraction of the inputs are zero; estimate the
# fraction of an unprepared array from its first SAMPLE_ROWS rows.
SPARSE_MIN_ZERO_FRACTION = 0.5
SAMPLE_ROWS = 256
# Up to this many rows, feedforward takes the matrix-vector path and skips
# packing. benches/test_numba.py::test_feedforward_paths, 16 rows: 27 against
# 48 us (784-16-16-10), 35 against 78 us (784-30-10); for 784-100-10 (measured
# the same way by hand) 111 against 146 us at 16 rows, but packing wins at 64.
MATVEC_MAX_ROWS = 16

# Wide hidden-to-hidden layers trained in large batches run faster as the NumPy
# backend's BLAS products than as compiled per-example loops. Measured (10,000
# images, one thread, ms per epoch, compiled / BLAS): 784-300-300-10 at batch
# 10: 416 / 625, at 32: 416 / 343; 784-200-200-10 at 32: 239 / 177;
# 784-100-100-10 at 32: 76 / 86, at 100: 76 / 58; 784-1000-100-10 at 10:
# 769 / 1650, at 100: 705 / 438; one hidden layer (up to 1,000 units) or
# 784-30-30-30-10: compiled always faster. Rule that fits every point: BLAS
# when batch_size >= 32 and batch_size x (hidden-to-hidden weights) >= 1e6.
BLAS_MIN_BATCH = 32
BLAS_MIN_WORK = 1_000_000
# A plain array (not prepared) is read from memory as it is forwarded; with a
# narrow first layer NumPy's one BLAS product per layer does that faster.
# Measured, predicting 10,000 MNIST test images, one thread (compiled / BLAS):
# first layer of 16: 9.3 / 5.4 ms; 30: 10.6 / 9.7; 100: 19.5 / 20.0; 1000:
# 133 / 202 ms. Prepared inputs (prepare_inputs) are faster still: 3.2 ms.
BLAS_MAX_FIRST_LAYER = 64

_INDEX = np.int32
_EMPTY_ROWS = {dtype: np.empty(0, dtype) for dtype in (np.float32, np.float64)}
_EMPTY_INDEX = np.empty(0, _INDEX)
_EMPTY_INDPTR = np.zeros(1, np.int64)
_EMPTY_LABELS = np.empty(0, np.int64)


def _zero_fraction(rows):
    return 1 - np.count_nonzero(rows) / max(rows.size, 1)


class Inputs:
    """The rows of X in the form the kernels read.

    ``mode`` is one of ``_numba_kernels.DENSE`` (every input, ``dense`` holds
    the rows flattened), ``CSR`` (``indptr``, ``indices``, ``values`` of the
    nonzeros, built once) or ``COMPACT`` (the nonzeros of each dense row,
    gathered as the kernel reaches it). ``examples`` and ``width`` give X's
    shape. Read-only once made.
    """

    def __init__(self, X, mode):
        self.array = X
        self.examples, self.width = X.shape
        self.dtype = X.dtype
        self.mode = mode
        self.dense = X.reshape(-1)
        self.indptr, self.indices, self.values = _EMPTY_INDPTR, _EMPTY_INDEX, _EMPTY_ROWS[X.dtype.type]
        if mode == _kernels.CSR:
            self.dense = _EMPTY_ROWS[X.dtype.type]
            self.indptr = np.empty(self.examples + 1, np.int64)
            self.indices, self.values = _compiled(_kernels.to_csr, X.dtype)(X.reshape(-1), self.width, self.indptr,
                                                                           _EMPTY_INDEX)

    def __len__(self):
        return self.examples

    def arrays(self):
        return self.mode, self.dense, self.indptr, self.indices, self.values


def prepare_inputs(X):
    """``Inputs`` for rows X (n, n_0) that will be read many times (training).

    Decides once for the data set: when at least SPARSE_MIN_ZERO_FRACTION of
    the values are zero it builds CSR rows of the nonzeros, else keeps X dense.
    """
    if isinstance(X, Inputs):
        return X
    if not isinstance(X, np.ndarray) or X.dtype not in (np.float32, np.float64):
        raise TypeError("X must be a float32 or float64 numpy array")
    check_array("X", X, X.dtype, 2)
    return Inputs(X, _kernels.CSR if _zero_fraction(X) >= SPARSE_MIN_ZERO_FRACTION else _kernels.DENSE)


def _forward_by_blas(X, sizes):
    """Whether rows X (an unprepared array of more than MATVEC_MAX_ROWS) are forwarded faster by BLAS."""
    return isinstance(X, np.ndarray) and len(X) > MATVEC_MAX_ROWS and sizes[1] <= BLAS_MAX_FIRST_LAYER


def _inputs(X, params, width):
    """Inputs for one pass: prepared ones as they are; for an array, zeros skipped on the fly when common.

    The share of zeros is estimated from the first SAMPLE_ROWS rows.
    """
    if isinstance(X, Inputs):
        inputs = X
    else:
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy array or fastnet Inputs; got {type(X).__name__}")
        check_array("X", X, params.dtype, 2)
        sparse = _zero_fraction(X[:SAMPLE_ROWS]) >= SPARSE_MIN_ZERO_FRACTION
        inputs = Inputs(X, _kernels.COMPACT if sparse else _kernels.DENSE)
    if inputs.dtype != params.dtype or inputs.width != width:
        raise ValueError(f"X must have {params.dtype} rows of width {width}; got {inputs.dtype} rows of width {inputs.width}")
    return inputs




# ---------------------------------------------------------------------------
# Compilation: with SLP vectorisation, once per kernel and dtype, then cached

COMPILE_NOTICE_SECONDS = 1.0  # a first call still running after this long is compiling: say so
_compile_lock = threading.Lock()
_compiled_keys = set()


def _compiled(kernel, dtype):
    """``kernel``, after making sure its ``dtype`` version was compiled (or loaded) with SLP on."""
    key = (kernel.py_func.__name__, np.dtype(dtype).char)
    if key in _compiled_keys:
        return kernel

    def first_call(*args):
        with _compile_lock:
            notice = threading.Timer(COMPILE_NOTICE_SECONDS, print, args=(
                "fastnet: compiling the Numba kernels (once per machine; later runs load them from the cache)",),
                kwargs={"file": sys.stderr, "flush": True})
            notice.daemon = True
            saved = _numba_config.SLP_VECTORIZE
            _numba_config.SLP_VECTORIZE = 1
            notice.start()
            try:
                result = kernel(*args)
            finally:
                notice.cancel()
                _numba_config.SLP_VECTORIZE = saved
            _compiled_keys.add(key)
        return result

    return first_call


# ---------------------------------------------------------------------------
# Kernels


def feedforward(params, sizes, activation, X, out):
    """out (n, n_L) = the network's outputs for the n rows of X (array or ``Inputs``).

    Up to MATVEC_MAX_ROWS rows of an array go through the matrix-vector pass
    on the parameters as they are; more rows pay once for the packed layout.
    """
    check_network(params, sizes, activation)
    if isinstance(X, np.ndarray) and len(X) <= MATVEC_MAX_ROWS:
        check_rows("X", X, params, sizes[0])
        check_array("out", out, params.dtype, 2, (len(X), sizes[-1]))
        _compiled(_kernels.matvec_kernel, params.dtype)(params, sizes, activation, X, out)
        return out
    if _forward_by_blas(X, sizes):
        check_rows("X", X, params, sizes[0])
        check_array("out", out, params.dtype, 2, (len(X), sizes[-1]))
        return numpy_backend.feedforward(params, sizes, activation, X, out)
    inputs = _inputs(X, params, sizes[0])
    check_array("out", out, params.dtype, 2, (inputs.examples, sizes[-1]))
    _compiled(_kernels.feedforward_kernel, params.dtype)(
        params, sizes, activation, *inputs.arrays(), inputs.examples, out, _EMPTY_LABELS)
    return out


def predict(params, sizes, activation, X, labels):
    """labels (n,) int64 = argmax of the network's output for each row of X (array or ``Inputs``)."""
    check_network(params, sizes, activation)
    if _forward_by_blas(X, sizes):
        check_rows("X", X, params, sizes[0])
        check_array("labels", labels, np.int64, 1, (len(X),))
        return numpy_backend.predict(params, sizes, activation, X, labels)
    inputs = _inputs(X, params, sizes[0])
    check_array("labels", labels, np.int64, 1, (inputs.examples,))
    _compiled(_kernels.feedforward_kernel, params.dtype)(
        params, sizes, activation, *inputs.arrays(), inputs.examples, np.empty((0, 0), params.dtype), labels)
    return labels


def gradient(params, sizes, activation, cost, X, Y, grad):
    """grad (P,) = (1/m) Σ_i ∇C_{x_i}, the gradient of the mean cost over the m rows of X."""
    check_network(params, sizes, activation, cost)
    inputs = _inputs(X, params, sizes[0])
    check_rows("Y", Y, params, sizes[-1])
    check_array("grad", grad, params.dtype, 1, params.shape)
    if len(Y) != inputs.examples or inputs.examples == 0:
        raise ValueError(f"X and Y must hold the same number (>= 1) of rows; got {inputs.examples} and {len(Y)}")
    _compiled(_kernels.gradient_kernel, params.dtype)(
        params, sizes, activation, cost, *inputs.arrays(), inputs.examples, Y.reshape(-1), grad)
    return grad


def backprop(params, sizes, activation, cost, x, y, grad):
    """grad (P,) = ∇C_x for one example x (n_0,) with target y (n_L,)."""
    check_array("x", x, params.dtype, 1)
    check_array("y", y, params.dtype, 1)
    return gradient(params, sizes, activation, cost, x.reshape(1, -1), y.reshape(1, -1), grad)


def blas_is_faster(sizes, batch_size):
    """Whether the NumPy backend's batched BLAS path beats the compiled epoch (see BLAS_MIN_WORK)."""
    hidden_to_hidden = sum(int(sizes[l]) * int(sizes[l + 1]) for l in range(1, len(sizes) - 2))
    return batch_size >= BLAS_MIN_BATCH and batch_size * hidden_to_hidden >= BLAS_MIN_WORK


def sgd_epoch(params, sizes, activation, cost, X, Y, order, batch_size, eta):
    """One epoch of mini-batch SGD in one compiled call (see ``numpy_backend.sgd_epoch``).

    Wide hidden layers in large batches go to the NumPy backend's BLAS path
    instead (``blas_is_faster``): the same mathematics, the faster formulation.
    """
    check_network(params, sizes, activation, cost)
    inputs = _inputs(X, params, sizes[0])
    check_rows("Y", Y, params, sizes[-1])
    if len(Y) != inputs.examples:
        raise ValueError(f"X and Y must hold the same number of rows; got {inputs.examples} and {len(Y)}")
    check_training(order, inputs.examples, batch_size, eta)
    if len(order) == 0:
        return
    if blas_is_faster(sizes, batch_size):
        numpy_backend.sgd_epoch(params, sizes, activation, cost, inputs.array, Y, order, batch_size, eta)
        return
    _compiled(_kernels.sgd_epoch_kernel, params.dtype)(
        params, sizes, activation, cost, *inputs.arrays(), Y.reshape(-1), order.astype(np.int64, copy=False),
        int(batch_size), float(eta))
