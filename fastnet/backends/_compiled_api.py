"""The public kernel functions of a compiled backend, shared by Numba and Cython.

A compiled backend provides drivers (``feedforward_kernel``, ``gradient_kernel``,
``sgd_epoch_kernel``, ``matvec_kernel``, ``to_csr``) with the same arguments;
``CompiledKernels(driver)`` wraps them in the kernel functions every backend
exports (``fastnet.backends.KERNELS``), with the NumPy backend's semantics.
Each function checks its arguments in Python before compiled code runs, and
picks the faster formulation where measurement says the compiled loops lose
to NumPy's BLAS products.
"""
import numpy as np

from . import numpy_backend
from ._arguments import check_array, check_network, check_rows, check_training
from .codes import COMPACT_INPUTS, CSR_INPUTS, DENSE_INPUTS

# Skip zeros when at least this fraction of the inputs are zero; estimate the
# fraction of an unprepared array from its first SAMPLE_ROWS rows.
SPARSE_MIN_ZERO_FRACTION = 0.5
SAMPLE_ROWS = 256
# Up to this many rows, feedforward takes the matrix-vector path and skips packing.
MATVEC_MAX_ROWS = 16
# Wide hidden-to-hidden layers trained in large batches run faster as the NumPy
# backend's BLAS products than as compiled per-example loops: BLAS when
# batch_size >= BLAS_MIN_BATCH and batch_size x (hidden-to-hidden weights) >= BLAS_MIN_WORK.
BLAS_MIN_BATCH = 32
BLAS_MIN_WORK = 1_000_000
# A plain array (not prepared) is read from memory as it is forwarded; with a
# first layer of at most BLAS_MAX_FIRST_LAYER units, NumPy's one BLAS product
# per layer does that faster. Each threshold is a crossover measured point by
# point: BENCHMARKS.md, "Where the compiled kernels hand over to BLAS"
# (benches/test_blas_crossover.py re-measures them).
BLAS_MAX_FIRST_LAYER = 32

_INDEX = np.int32
_EMPTY_ROWS = {dtype: np.empty(0, dtype) for dtype in (np.float32, np.float64)}
_EMPTY_LABELS = np.empty(0, np.int64)


def _zero_fraction(rows):
    return 1 - np.count_nonzero(rows) / max(rows.size, 1)


def _read_only_view(array):
    view = array.view()
    view.flags.writeable = False
    return view


class Inputs:
    """The rows of X in the form the compiled kernels read; read-only once made.

    ``mode`` is one of ``codes.DENSE_INPUTS`` (every input, read from X),
    ``CSR_INPUTS`` (``indptr``, ``indices``, ``values`` of the nonzeros, built
    once) or ``COMPACT_INPUTS`` (the nonzeros of each dense row, gathered as the
    kernel reaches it). ``array`` is X itself; ``examples`` and ``width`` its shape.

    Nothing about an ``Inputs`` can be changed once it is made: its attributes
    cannot be assigned and the arrays it shows are read-only views, so the
    kernels can rely on what was built (indptr rising from 0 to the number of
    nonzeros, column indices below ``width``). Its CSR rows are a copy of X's
    nonzeros when it was made: writing into X afterwards changes what the
    dense modes read, not prepared CSR rows.
    """

    __slots__ = ("array", "examples", "width", "dtype", "mode", "_arrays")

    def __init__(self, X, mode, to_csr=None):
        if mode not in (DENSE_INPUTS, CSR_INPUTS, COMPACT_INPUTS):
            raise ValueError(f"mode must be an input mode code of fastnet.backends.codes; got {mode!r}")
        examples, width = X.shape
        dense, indptr = X.reshape(-1), np.zeros(1, np.int64)
        indices, values = np.empty(0, _INDEX), np.empty(0, X.dtype)
        if mode == CSR_INPUTS:
            dense = np.empty(0, X.dtype)
            indptr = np.zeros(examples + 1, np.int64)
            np.cumsum(np.count_nonzero(X, axis=1), out=indptr[1:])
            # Allocated here, by NumPy, so that these arrays (tens of MB) get huge pages
            # where the system allows: the epoch reads their rows in random order.
            total = int(indptr[-1])
            indices, values = np.empty(total + 1, _INDEX), np.empty(total + 1, X.dtype)  # +1: see to_csr
            to_csr(X.reshape(-1), width, indptr, indices, values)
            indices, values = indices[:total], values[:total]
        for name, value in dict(array=X, examples=examples, width=width, dtype=X.dtype, mode=mode,
                                _arrays=(mode, dense, indptr, indices, values)).items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"prepared Inputs are read-only ({name}); make new ones with prepare_inputs")

    indptr = property(lambda self: _read_only_view(self._arrays[2]), doc="CSR row starts (read-only)")
    indices = property(lambda self: _read_only_view(self._arrays[3]), doc="CSR column indices (read-only)")
    values = property(lambda self: _read_only_view(self._arrays[4]), doc="CSR values (read-only)")

    def __len__(self):
        return self.examples

    def arrays(self):
        """(mode, dense, indptr, indices, values): what the drivers take (for the kernel functions only)."""
        return self._arrays


def blas_is_faster(sizes, batch_size):
    """Whether the NumPy backend's batched BLAS path beats the compiled epoch (see BLAS_MIN_WORK)."""
    hidden_to_hidden = sum(int(sizes[l]) * int(sizes[l + 1]) for l in range(1, len(sizes) - 2))
    return batch_size >= BLAS_MIN_BATCH and batch_size * hidden_to_hidden >= BLAS_MIN_WORK


def _forward_by_blas(X, sizes):
    """Whether rows X (an unprepared array of more than MATVEC_MAX_ROWS) are forwarded faster by BLAS."""
    return isinstance(X, np.ndarray) and len(X) > MATVEC_MAX_ROWS and sizes[1] <= BLAS_MAX_FIRST_LAYER


class CompiledKernels:
    """The kernel functions over a compiled backend's drivers.

    ``driver(name, dtype)`` returns the compiled function ``name`` for
    parameters of ``dtype``.
    """

    def __init__(self, driver):
        self._driver = driver

    def prepare_inputs(self, X):
        """``Inputs`` for rows X (n, n_0) that will be read many times (training).

        Decides once for the data set: when at least SPARSE_MIN_ZERO_FRACTION of
        the values are zero it builds CSR rows of the nonzeros, else keeps X dense.
        """
        if isinstance(X, Inputs):
            return X
        if not isinstance(X, np.ndarray) or X.dtype not in (np.float32, np.float64):
            raise TypeError("X must be a float32 or float64 numpy array")
        check_array("X", X, X.dtype, 2)
        sparse = _zero_fraction(X) >= SPARSE_MIN_ZERO_FRACTION
        return Inputs(X, CSR_INPUTS if sparse else DENSE_INPUTS, self._driver("to_csr", X.dtype))

    def _inputs(self, X, params, width):
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
            inputs = Inputs(X, COMPACT_INPUTS if sparse else DENSE_INPUTS)
        if inputs.dtype != params.dtype or inputs.width != width:
            raise ValueError(f"X must have {params.dtype} rows of width {width}; "
                             f"got {inputs.dtype} rows of width {inputs.width}")
        return inputs

    def feedforward(self, params, sizes, activation, output, X, out):
        """out (n, n_L) = the network's outputs for the n rows of X (array or ``Inputs``).

        Up to MATVEC_MAX_ROWS rows of an array go through the matrix-vector pass
        on the parameters as they are; more rows pay once for the packed layout.
        """
        check_network(params, sizes, activation, output)
        matvec = isinstance(X, np.ndarray) and len(X) <= MATVEC_MAX_ROWS
        if matvec or _forward_by_blas(X, sizes):
            check_rows("X", X, params, sizes[0])
            check_array("out", out, params.dtype, 2, (len(X), sizes[-1]), writable=True)
            if matvec:
                self._driver("matvec_kernel", params.dtype)(params, sizes, activation, output, X, out)
                return out
            return numpy_backend.feedforward(params, sizes, activation, output, X, out)
        inputs = self._inputs(X, params, sizes[0])
        check_array("out", out, params.dtype, 2, (inputs.examples, sizes[-1]), writable=True)
        self._driver("feedforward_kernel", params.dtype)(
            params, sizes, activation, output, *inputs.arrays(), inputs.examples, out, _EMPTY_LABELS)
        return out

    def predict(self, params, sizes, activation, output, X, labels):
        """labels (n,) int64 = argmax of the network's output for each row of X (array or ``Inputs``)."""
        check_network(params, sizes, activation, output)
        if _forward_by_blas(X, sizes):
            check_rows("X", X, params, sizes[0])
            check_array("labels", labels, np.int64, 1, (len(X),), writable=True)
            return numpy_backend.predict(params, sizes, activation, output, X, labels)
        inputs = self._inputs(X, params, sizes[0])
        check_array("labels", labels, np.int64, 1, (inputs.examples,), writable=True)
        self._driver("feedforward_kernel", params.dtype)(
            params, sizes, activation, output, *inputs.arrays(), inputs.examples, np.empty((0, 0), params.dtype),
            labels)
        return labels

    def gradient(self, params, sizes, activation, output, cost, X, Y, grad):
        """grad (P,) = (1/m) Σ_i ∇C_{x_i}, the gradient of the mean cost over the m rows of X."""
        check_network(params, sizes, activation, output, cost)
        inputs = self._inputs(X, params, sizes[0])
        check_rows("Y", Y, params, sizes[-1])
        check_array("grad", grad, params.dtype, 1, params.shape, writable=True)
        if len(Y) != inputs.examples or inputs.examples == 0:
            raise ValueError(f"X and Y must hold the same number (>= 1) of rows; got {inputs.examples} and {len(Y)}")
        self._driver("gradient_kernel", params.dtype)(
            params, sizes, activation, output, cost, *inputs.arrays(), inputs.examples, Y.reshape(-1), grad)
        return grad

    def backprop(self, params, sizes, activation, output, cost, x, y, grad):
        """grad (P,) = ∇C_x for one example x (n_0,) with target y (n_L,)."""
        check_array("x", x, params.dtype, 1)
        check_array("y", y, params.dtype, 1)
        return self.gradient(params, sizes, activation, output, cost, x.reshape(1, -1), y.reshape(1, -1), grad)

    def sgd_epoch(self, params, sizes, activation, output, cost, X, Y, order, batch_size, eta, l2=0.0, momentum=0.0,
                  velocity=None):
        """One epoch of mini-batch SGD in one compiled call (see ``numpy_backend.sgd_epoch``).

        Wide hidden layers in large batches go to the NumPy backend's BLAS path
        instead (``blas_is_faster``): the same mathematics, the faster formulation.
        """
        check_network(params, sizes, activation, output, cost)
        inputs = self._inputs(X, params, sizes[0])
        check_rows("Y", Y, params, sizes[-1])
        if len(Y) != inputs.examples:
            raise ValueError(f"X and Y must hold the same number of rows; got {inputs.examples} and {len(Y)}")
        check_training(order, inputs.examples, batch_size, eta, l2, momentum, velocity, params)
        check_array("params", params, params.dtype, 1, writable=True)
        if len(order) == 0:
            return
        if blas_is_faster(sizes, batch_size):
            numpy_backend.sgd_epoch(params, sizes, activation, output, cost, inputs.array, Y, order, batch_size, eta,
                                    l2, momentum, velocity)
            return
        self._driver("sgd_epoch_kernel", params.dtype)(
            params, sizes, activation, output, cost, *inputs.arrays(), Y.reshape(-1),
            order.astype(np.int64, copy=False), int(batch_size), float(eta), float(l2), float(momentum),
            _EMPTY_ROWS[params.dtype.type] if velocity is None else velocity)

    def exports(self):
        """The kernel functions, for a backend module to expose under ``fastnet.backends.KERNELS``."""
        return (self.prepare_inputs, self.feedforward, self.predict, self.backprop, self.gradient, self.sgd_epoch)
