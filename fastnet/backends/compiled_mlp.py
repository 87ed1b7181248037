"""The public kernel functions of a compiled backend, shared by Numba and Cython.

A compiled backend provides drivers (``feedforward_kernel``, ``gradient_kernel``,
``sgd_epoch_kernel``, ``matvec_kernel``, ``to_csr``) with the same arguments;
``CompiledKernels(driver)`` wraps them in the kernel functions every backend
exports (``fastnet.backends.KERNELS``), with the NumPy backend's semantics.
Each function checks its arguments in Python before compiled code runs, and
picks the faster formulation where measurement says the compiled loops lose
to NumPy's BLAS products.
"""
import collections
import threading
import weakref

import numpy as np

from ..core.codes import COMPACT_INPUTS, CSR_INPUTS, DENSE_INPUTS
from ..core.pixels import converted_rows, pixel_values, rows_dtype
from .compiled_arguments import check_array, check_network, check_rows, check_training
from .numpy import mlp as numpy_backend

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

# CSR column numbers are uint16, a third less memory to stream than int32 (the epoch reads rows in random
# order: BENCHMARKS.md, "The MLP epoch a layer at a time"); wider inputs skip zeros on the fly (COMPACT_INPUTS).
_INDEX = np.uint16
CSR_MAX_WIDTH = np.iinfo(_INDEX).max + 1
SOURCE_DTYPES = (np.uint8, np.float32, np.float64)  # what prepare_inputs reads
_EMPTY_ROWS = {dtype: np.empty(0, dtype) for dtype in (np.float32, np.float64)}
_EMPTY_LABELS = np.empty(0, np.int64)


def _zero_fraction(rows):
    return 1 - np.count_nonzero(rows) / max(rows.size, 1)


def _read_only_view(array):
    view = array.view()
    view.flags.writeable = False
    return view


class Inputs:
    """The rows of X in the form the compiled kernels read; read-only once made (``prepare_inputs``).

    ``mode`` is one of ``codes.DENSE_INPUTS`` (every input, read from a dense
    array), ``CSR_INPUTS`` (``indptr``, ``indices``, ``values`` of the
    nonzeros, built once) or ``COMPACT_INPUTS`` (the nonzeros of each dense
    row, gathered as the kernel reaches it). ``source`` is X as given;
    ``examples`` and ``width`` its shape; ``dtype`` the dtype the kernels read.

    Nothing about an ``Inputs`` can be changed once it is made: its attributes
    cannot be assigned and the arrays it shows are read-only views, so the
    kernels can rely on what was built (indptr rising from 0 to the number of
    nonzeros, column indices below ``width``). Its CSR rows are a copy of X's
    nonzeros when it was made: writing into X afterwards changes what the
    dense modes read, not prepared CSR rows.
    """

    __slots__ = ("source", "examples", "width", "dtype", "mode", "_arrays", "_rows")

    def __init__(self, source, mode, dense, indptr=None, indices=None, values=None):
        if mode not in (DENSE_INPUTS, CSR_INPUTS, COMPACT_INPUTS):
            raise ValueError(f"mode must be an input mode code of fastnet.core.codes; got {mode!r}")
        dtype = dense.dtype if values is None else values.dtype
        indptr = np.zeros(1, np.int64) if indptr is None else indptr
        indices = np.empty(0, _INDEX) if indices is None else indices
        values = np.empty(0, dtype) if values is None else values
        for name, value in dict(source=source, examples=source.shape[0], width=source.shape[1], dtype=dtype,
                                mode=mode, _arrays=(mode, dense.reshape(-1), indptr, indices, values),
                                _rows=None).items():
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

    def rows(self):
        """The rows as a dense (examples, width) array of ``dtype`` (for the BLAS path): ``source`` itself when
        it is of ``dtype``, else its conversion, made on the first call and kept."""
        if self.source.dtype == self.dtype:
            return self.source
        if self._rows is None:
            object.__setattr__(self, "_rows", converted_rows(self.source, self.dtype))
        return self._rows


class _Prepared:
    """The CSR rows of the data sets prepared last, reused while the arrays hold exactly what was prepared.

    An entry is keyed by the array (held weakly: the entry goes when the array
    goes), its memory and the dtype asked for; it is used only after
    ``csr_matches`` confirms, in one compiled pass, that every row still has
    the prepared nonzeros, so a write into X is always noticed and X is
    prepared again.
    """

    ENTRIES = 4  # a training, a validation and a test set, and one more

    def __init__(self):
        # Reentrant: a weak reference's callback may run (garbage collection) while the lock is held.
        self._entries, self._lock = collections.OrderedDict(), threading.RLock()

    @staticmethod
    def _key(X, dtype):
        return id(X), X.__array_interface__["data"][0], X.shape, X.strides, X.dtype.str, np.dtype(dtype).str

    def get(self, X, dtype, matches):
        """Inputs for X in ``dtype`` from its saved CSR rows if X is unchanged since (``matches(csr)``), else None."""
        key = self._key(X, dtype)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None or entry[0]() is not X or not matches(entry[1]):
            return None
        return Inputs(X, CSR_INPUTS, _EMPTY_ROWS[np.dtype(dtype).type], *entry[1])

    def put(self, X, inputs):
        """Keep the CSR rows of ``inputs``, prepared from X (not X itself)."""
        key = self._key(X, inputs.dtype)

        def forget(_, key=key):
            with self._lock:
                self._entries.pop(key, None)

        with self._lock:
            self._entries[key] = (weakref.ref(X, forget), inputs.arrays()[2:])
            self._entries.move_to_end(key)
            while len(self._entries) > self.ENTRIES:
                self._entries.popitem(last=False)


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
        self._prepared = _Prepared()

    def prepare_inputs(self, X, dtype=None, *, argument="X"):
        """``Inputs`` of ``dtype`` for rows X (n, n_0) that will be read many times (training).

        X is a C-contiguous array of uint8 pixels (read as v/255), float32 or
        float64; ``dtype`` is the parameters' (default: X's own, float32 for
        uint8). One compiled pass counts each row's nonzeros and finds NaN and
        infinities (ValueError naming ``argument``); when at least
        SPARSE_MIN_ZERO_FRACTION of the values are zero a second builds CSR
        rows of the nonzeros (rows wider than CSR_MAX_WIDTH have their nonzeros
        found as they are read instead), else the rows stay dense. The same unchanged X
        prepared again is not rebuilt (``_Prepared``).
        """
        if isinstance(X, Inputs):
            return X
        if not isinstance(X, np.ndarray) or X.dtype not in SOURCE_DTYPES:
            raise TypeError(f"{argument} must be a numpy array of uint8, float32 or float64")
        check_array(argument, X, X.dtype, 2)
        dtype = rows_dtype(X, dtype)
        flat = X.reshape(-1)
        table = pixel_values(dtype) if X.dtype == np.uint8 else _EMPTY_ROWS[dtype.type]

        def matches(csr):
            return self._driver("csr_matches", dtype)(flat, X.shape[1], table, *csr)

        inputs = self._prepared.get(X, dtype, matches)
        if inputs is not None:
            return inputs
        counts = np.empty(len(X), np.int64)
        bad_row = self._driver("count_nonzeros", dtype)(flat, X.shape[1], counts)
        if bad_row >= 0:
            raise ValueError(f"{argument} contains NaN or infinite values (row {bad_row})")
        indptr = np.zeros(len(X) + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        total = int(indptr[-1])
        if total > (1 - SPARSE_MIN_ZERO_FRACTION) * X.size:
            return Inputs(X, DENSE_INPUTS, converted_rows(X, dtype))
        if X.shape[1] > CSR_MAX_WIDTH:
            return Inputs(X, COMPACT_INPUTS, converted_rows(X, dtype))
        # Allocated here, by NumPy, so that these arrays (tens of MB) get huge pages
        # where the system allows: the epoch reads their rows in random order.
        indices, values = np.empty(total + 1, _INDEX), np.empty(total + 1, dtype)  # +1: see to_csr
        self._driver("to_csr", dtype)(flat, X.shape[1], table, indptr, indices, values)
        inputs = Inputs(X, CSR_INPUTS, _EMPTY_ROWS[dtype.type], indptr, indices[:total], values[:total])
        self._prepared.put(X, inputs)
        return inputs

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
            inputs = Inputs(X, COMPACT_INPUTS if sparse else DENSE_INPUTS, X)
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
                out[...] = self._every_layer(params, sizes, activation, output, X)[:, -sizes[-1]:]
                return out
            return numpy_backend.feedforward(params, sizes, activation, output, X, out)
        inputs = self._inputs(X, params, sizes[0])
        check_array("out", out, params.dtype, 2, (inputs.examples, sizes[-1]), writable=True)
        self._driver("feedforward_kernel", params.dtype)(
            params, sizes, activation, output, *inputs.arrays(), inputs.examples, out, _EMPTY_LABELS)
        return out

    def _every_layer(self, params, sizes, activation, output, X):
        out = np.empty((len(X), int(sizes[1:].sum())), params.dtype)
        self._driver("matvec_kernel", params.dtype)(params, sizes, activation, output, X, out)
        return out

    def activations(self, params, sizes, activation, output, X, out):
        """out (n, n_1 + ... + n_L) = every layer's activations [a_1 | ... | a_L] for the n rows of X (an array)."""
        check_network(params, sizes, activation, output)
        check_rows("X", X, params, sizes[0])
        check_array("out", out, params.dtype, 2, (len(X), int(sizes[1:].sum())), writable=True)
        self._driver("matvec_kernel", params.dtype)(params, sizes, activation, output, X, out)
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
                  velocity=None, measured=None):
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
        if measured is not None:
            check_array("measured", measured, np.float64, 1, (2,), writable=True)
        if len(order) == 0:
            return
        if blas_is_faster(sizes, batch_size):
            numpy_backend.sgd_epoch(params, sizes, activation, output, cost, inputs.rows(), Y, order, batch_size, eta,
                                    l2, momentum, velocity, measured)
            return
        self._driver("sgd_epoch_kernel", params.dtype)(
            params, sizes, activation, output, cost, *inputs.arrays(), Y.reshape(-1),
            order.astype(np.int64, copy=False), int(batch_size), float(eta), float(l2), float(momentum),
            _EMPTY_ROWS[params.dtype.type] if velocity is None else velocity,
            _EMPTY_ROWS[np.float64] if measured is None else measured)

    def exports(self):
        """The kernel functions, for a backend module to expose under ``fastnet.backends.KERNELS``."""
        return (self.prepare_inputs, self.feedforward, self.activations, self.predict, self.backprop, self.gradient,
                self.sgd_epoch)
