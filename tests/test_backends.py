"""Compiled backends against the NumPy reference, and their safety at the kernel boundary.

Tolerances: a single kernel (forward, one gradient) agrees to a few ulps; the
parameters after a whole epoch to 1e-9 (float64) and 1e-4 (float32), the
rounding differences of thousands of SGD steps. The epochs use eta = 0.1: with
batch size 1, SGD on these networks is chaotic at larger rates (measured, 784-16-16-10
on 2,000 images: at eta 0.5 with ReLU or tanh, and at eta 3.0 with sigmoid, a
1e-16 difference between two correct summation orders grows to 1e-11 after 500
steps and to O(1) after 1,000), so no tolerance could tell a bug from rounding
there. At eta 0.1 the backends stay within 1e-14 of each other in float64.
The cross-entropy and log-likelihood costs have no σ' factor in δ_L, so their
steps are larger: at eta 0.1 and batch size 1, a relative perturbation of 1e-15
of the starting parameters grows to O(1) within one epoch of the NumPy backend
alone (cross-entropy with tanh, log-likelihood with ReLU), and at eta 0.03 with
momentum 0.5 compiled and NumPy epochs part by 0.6. Those epochs are compared at
COST_ETA = 0.01, where they agree to 2e-13 (float64) and 6e-5 (float32).
"""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastnet
from fastnet.mlp.layout import sizes_array
from fastnet.backends import KERNELS, load
from fastnet.backends.numpy import mlp as numpy_backend
from fastnet.core.codes import ACTIVATIONS, COST_OUTPUTS, COSTS, CSR_INPUTS

from conftest import compiled_variants, running

COMPILED = compiled_variants()  # numba, and cython at every CPU level this CPU runs
ETA = 0.1
COST_ETA = 0.01
EPOCH_TOLERANCE = {np.float64: 1e-9, np.float32: 1e-4}
KERNEL_TOLERANCE = {np.float64: 1e-12, np.float32: 2e-5}

pytestmark = pytest.mark.skipif(not COMPILED, reason="no compiled backend is installed")


@pytest.fixture(params=COMPILED)
def compiled(request):
    with running(request.param) as name:
        yield load(name)


@pytest.fixture(scope="module")
def images(mnist):
    """2,000 MNIST training images and their one-hot targets (float64)."""
    (X, y), _ = mnist
    return X[:2000].astype(np.float64), np.eye(10)[y[:2000]]


def _inputs(images, dtype, kind):
    X, Y = images
    if kind == "dense":  # no zeros at all: the dense path
        X = 0.05 + 0.9 * X
    return np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(Y, dtype=dtype)


def test_every_backend_provides_every_kernel():
    for name in fastnet.backends.available():
        module = load(name)
        assert all(callable(getattr(module, kernel)) for kernel in KERNELS), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_forward_and_gradients_match_reference(compiled, images, dtype, activation, kind):
    sizes = [784, 16, 16, 10]
    S, code = sizes_array(sizes), ACTIVATIONS.index(activation)
    params = fastnet.Network(sizes, dtype=dtype, init="xavier", seed=1).params
    X, Y = _inputs(images, dtype, kind)
    tolerance = KERNEL_TOLERANCE[dtype]

    expected = numpy_backend.feedforward(params, S, code, 0, X, np.empty((len(X), 10), dtype))
    np.testing.assert_allclose(compiled.feedforward(params, S, code, 0, X, np.empty_like(expected)), expected,
                               rtol=0, atol=tolerance)
    labels = compiled.predict(params, S, code, 0, X, np.empty(len(X), np.int64))
    assert np.mean(labels == expected.argmax(axis=1)) > 0.999  # ties within rounding may differ

    every = numpy_backend.activations(params, S, code, 0, X[:20], np.empty((20, 42), dtype))
    np.testing.assert_allclose(every[:, -10:], expected[:20], rtol=0, atol=tolerance)  # the last layer: the outputs
    np.testing.assert_allclose(compiled.activations(params, S, code, 0, X[:20], np.empty_like(every)), every,
                               rtol=0, atol=tolerance)

    for rows in (slice(0, 1), slice(0, 10), slice(5, 42)):
        expected = numpy_backend.gradient(params, S, code, 0, 0, X[rows], Y[rows], np.empty_like(params))
        actual = compiled.gradient(params, S, code, 0, 0, X[rows], Y[rows], np.empty_like(params))
        np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance)
    expected = numpy_backend.backprop(params, S, code, 0, 0, X[3], Y[3], np.empty_like(params))
    np.testing.assert_allclose(compiled.backprop(params, S, code, 0, 0, X[3], Y[3], np.empty_like(params)), expected,
                               rtol=0, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("kind", ["sparse", "dense"])
@pytest.mark.parametrize("batch_size", [1, 10, 7])
@pytest.mark.parametrize("prepared", [True, False])
def test_epoch_matches_reference(compiled, images, dtype, activation, kind, batch_size, prepared):
    sizes = [784, 16, 16, 10]
    S, code = sizes_array(sizes), ACTIVATIONS.index(activation)
    start = fastnet.Network(sizes, dtype=dtype, init="xavier", seed=2).params
    X, Y = _inputs(images, dtype, kind)
    order = np.random.default_rng(3).permutation(len(X))
    expected, actual = start.copy(), start.copy()
    numpy_backend.sgd_epoch(expected, S, code, 0, 0, X, Y, order, batch_size, ETA)
    compiled.sgd_epoch(actual, S, code, 0, 0, compiled.prepare_inputs(X) if prepared else X, Y, order, batch_size, ETA)
    assert np.abs(expected - start).max() > 0.01  # the epoch really trained
    np.testing.assert_allclose(actual, expected, rtol=0, atol=EPOCH_TOLERANCE[dtype])


COST_CASES = [("cross_entropy", "sigmoid"), ("cross_entropy", "tanh"), ("log_likelihood", "relu"),
              ("log_likelihood", "sigmoid")]
STEPS = {"plain": (0.0, 0.0), "l2": (5.0 / 2000, 0.0), "l2+momentum": (5.0 / 2000, 0.5)}  # (λ/n, μ)


def _codes(cost, activation):
    return ACTIVATIONS.index(activation), COST_OUTPUTS[COSTS.index(cost)], COSTS.index(cost)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cost, activation", COST_CASES)
def test_other_costs_forward_and_gradients_match_reference(compiled, images, dtype, cost, activation):
    sizes = [784, 16, 16, 10]
    S, codes = sizes_array(sizes), _codes(cost, activation)
    params = fastnet.Network(sizes, dtype=dtype, init="xavier", seed=1).params
    X, Y = _inputs(images, dtype, "sparse")
    tolerance = KERNEL_TOLERANCE[dtype]
    for rows in (slice(0, 3), slice(0, 100)):  # the matrix-vector pass and the packed one
        expected = numpy_backend.feedforward(params, S, *codes[:2], X[rows], np.empty((len(X[rows]), 10), dtype))
        actual = compiled.feedforward(params, S, *codes[:2], X[rows], np.empty_like(expected))
        np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance)
    expected = numpy_backend.gradient(params, S, *codes, X[:42], Y[:42], np.empty_like(params))
    actual = compiled.gradient(params, S, *codes, X[:42], Y[:42], np.empty_like(params))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cost, activation", COST_CASES + [("quadratic", "sigmoid")])
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("kind", ["sparse", "dense"])
@pytest.mark.parametrize("batch_size", [1, 10, 7])
def test_epoch_with_every_cost_and_step_matches_reference(compiled, images, dtype, cost, activation, step, kind,
                                                          batch_size):
    """Costs, output layers, L2 weight decay and momentum (velocity included) in the fused epoch."""
    sizes = [784, 16, 16, 10]
    S, codes = sizes_array(sizes), _codes(cost, activation)
    (l2, momentum), start = STEPS[step], fastnet.Network(sizes, dtype=dtype, init="xavier", seed=2).params
    X, Y = _inputs(images, dtype, kind)
    order = np.random.default_rng(3).permutation(len(X))
    start_velocity = np.random.default_rng(4).normal(0, 1e-3, start.shape).astype(dtype) if momentum else None
    results = []
    for kernels, inputs in ((numpy_backend, X), (compiled, compiled.prepare_inputs(X))):
        params = start.copy()
        velocity = None if start_velocity is None else start_velocity.copy()
        kernels.sgd_epoch(params, S, *codes, inputs, Y, order, batch_size, COST_ETA, l2, momentum, velocity)
        results.append((params, velocity))
    (expected, expected_velocity), (actual, actual_velocity) = results
    assert np.abs(expected - start).max() > 0.005  # the epoch really trained
    np.testing.assert_allclose(actual, expected, rtol=0, atol=EPOCH_TOLERANCE[dtype])
    if momentum:
        np.testing.assert_allclose(actual_velocity, expected_velocity, rtol=0, atol=EPOCH_TOLERANCE[dtype])


@pytest.mark.parametrize("sizes", [[784, 30, 10], [784, 100, 10], [784, 5, 40, 3], [20, 1]])
def test_other_architectures_match_reference(compiled, images, sizes):
    X, Y = images
    X = np.ascontiguousarray(X[:300, : sizes[0]])
    Y = np.ascontiguousarray(np.eye(sizes[-1])[Y[:300].argmax(axis=1) % sizes[-1]])
    S = sizes_array(sizes)
    start = fastnet.Network(sizes, dtype="float64", seed=4).params
    order = np.random.default_rng(5).permutation(300)
    expected, actual = start.copy(), start.copy()
    numpy_backend.sgd_epoch(expected, S, 0, 0, 0, X, Y, order, 10, ETA)
    compiled.sgd_epoch(actual, S, 0, 0, 0, X, Y, order, 10, ETA)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prepared_rows_are_each_rows_nonzeros(compiled, dtype):
    """CSR rows of prepare_inputs: an empty row, a full one, -0.0 (a zero), no rows at all."""
    X = np.zeros((6, 40), dtype)
    X[1] = np.arange(1, 41)
    X[2, [0, 7, 39]] = 0.5, -0.0, 2.0
    X[3, 5] = 1e-30
    X[5, 39] = -1.0
    for rows in (X, X[:0]):
        inputs = compiled.prepare_inputs(rows)
        assert inputs.mode == CSR_INPUTS
        assert inputs.indptr.tolist() == [0, *np.cumsum(np.count_nonzero(rows, axis=1)).tolist()]
        for k, row in enumerate(rows):
            span = slice(inputs.indptr[k], inputs.indptr[k + 1])
            np.testing.assert_array_equal(inputs.indices[span], np.flatnonzero(row))
            np.testing.assert_array_equal(inputs.values[span], row[row != 0])
        assert len(inputs.indices) == len(inputs.values) == inputs.indptr[-1]


def test_sparse_and_dense_paths_agree(compiled, images):
    """The same data through every input path: CSR prepared, compacted on the fly, and dense."""
    X, Y = images
    S = sizes_array([784, 16, 16, 10])
    start = fastnet.Network([784, 16, 16, 10], dtype="float64", seed=6).params
    order = np.random.default_rng(7).permutation(len(X))
    results = []
    for inputs in (compiled.prepare_inputs(X), X, X + 0.0):
        params = start.copy()
        compiled.sgd_epoch(params, S, 0, 0, 0, inputs, Y, order, 10, ETA)
        results.append(params)
    dense = np.where(X == 0, 1e-300, X)  # no exact zeros: forces the dense path, same values to 1e-300
    params = start.copy()
    compiled.sgd_epoch(params, S, 0, 0, 0, dense, Y, order, 10, ETA)
    results.append(params)
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=0, atol=1e-12)


def test_network_trains_identically_on_every_backend(mnist):
    (X, y), (test_X, test_y) = mnist
    finals = {}
    for name in fastnet.backends.available():
        net = fastnet.Network([784, 16, 16, 10], dtype="float64", backend=name, seed=8)
        net.fit(X[:2000], y[:2000], epochs=2, eta=ETA, seed=9, progress=False)
        finals[name] = net.params
    for name, params in finals.items():
        np.testing.assert_allclose(params, finals["numpy"], rtol=0, atol=1e-9, err_msg=name)


# -- the kernel boundary: bad arguments are refused before compiled code runs --------------


def _good(dtype=np.float32):
    sizes = [6, 4, 3]
    params = fastnet.Network(sizes, dtype=dtype, seed=0).params
    X = np.random.default_rng(0).random((5, 6)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[[0, 1, 2, 0, 1]]
    return params, sizes_array(sizes), X, Y


@pytest.mark.parametrize("case, error, message", [
    ("params dtype", TypeError, "params must be a float32 or float64"),
    ("params size", ValueError, "params must be of shape"),
    ("sizes dtype", ValueError, "sizes must be a C-contiguous 1-D int64"),
    ("X dtype", ValueError, "X must have float32 rows|X must be a C-contiguous 2-D float32"),
    ("X strided", ValueError, "not C-contiguous"),
    ("X width", ValueError, "width 6"),
    ("Y rows", ValueError, "same number of rows"),
    ("order range", ValueError, r"order must be indices in \[0, 5\)"),
    ("order negative", ValueError, r"order must be indices in \[0, 5\)"),
    ("order float", TypeError, "order must be a 1-D integer"),
    ("batch_size", ValueError, "batch_size must be an integer >= 1"),
    ("eta", ValueError, "eta must be a positive finite number"),
    ("activation", ValueError, "activation must be a code"),
])
def test_kernels_refuse_bad_arguments(compiled, case, error, message):
    params, S, X, Y = _good()
    order, batch_size, eta, activation = np.arange(5), 2, 0.5, 0
    if case == "params dtype":
        params = params.astype(np.float16)
    elif case == "params size":
        params = params[:-1].copy()
    elif case == "sizes dtype":
        S = S.astype(np.int32)
    elif case == "X dtype":
        X = X.astype(np.float64)
    elif case == "X strided":
        X = np.asfortranarray(X)
    elif case == "X width":
        X = np.ascontiguousarray(X[:, :5])
    elif case == "Y rows":
        Y = Y[:4].copy()
    elif case == "order range":
        order = np.array([0, 1, 5])
    elif case == "order negative":
        order = np.array([0, -1])
    elif case == "order float":
        order = order.astype(float)
    elif case == "batch_size":
        batch_size = 0
    elif case == "eta":
        eta = float("nan")
    elif case == "activation":
        activation = 7
    before = params.copy()
    with pytest.raises(error, match=message):
        compiled.sgd_epoch(params, S, activation, 0, 0, X, Y, order, batch_size, eta)
    np.testing.assert_array_equal(params, before)


def test_output_arrays_are_checked(compiled):
    params, S, X, _ = _good()
    with pytest.raises(ValueError, match=r"out must be of shape \(5, 3\)"):
        compiled.feedforward(params, S, 0, 0, X, np.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"out must be of shape \(5, 7\)"):  # every layer: 4 + 3 columns
        compiled.activations(params, S, 0, 0, X, np.empty((5, 3), np.float32))
    with pytest.raises(ValueError, match="labels must be a C-contiguous 1-D int64"):
        compiled.predict(params, S, 0, 0, X, np.empty(5, np.int32))
    with pytest.raises(ValueError, match="grad must be"):
        compiled.gradient(params, S, 0, 0, 0, X, np.eye(3, dtype=np.float32)[[0] * 5], np.empty(3, np.float32))


def test_kernels_run_in_parallel_threads_with_identical_results(compiled, images):
    X, _ = images
    X = X.astype(np.float32)
    params = fastnet.Network([784, 16, 16, 10], seed=0).params
    S = sizes_array([784, 16, 16, 10])
    expected = compiled.predict(params, S, 0, 0, X, np.empty(len(X), np.int64))
    results = [None] * 8

    def work(i):
        results[i] = compiled.predict(params, S, 0, 0, X, np.empty(len(X), np.int64))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_import_fastnet_compiles_nothing():
    """Nothing compiles at import: Numba (the only thing that would) is not even loaded. (Not a timing test:
    a wall-clock bound failed on a busy machine and said nothing about compilation.)"""
    code = "import sys, fastnet; print('numba' in sys.modules)"
    numba_imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout.strip()
    assert numba_imported == "False"


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 4e-7), (np.float64, 5e-16)])
def test_sigmoid_accuracy_over_the_whole_range(compiled, dtype, tolerance):
    """A 1-1 network with W = 1, b = 0 outputs σ(x): compare with σ in extended precision, relative to its value."""
    params = np.array([1, 0], dtype)
    z = np.concatenate([np.linspace(-1e4, 1e4, 20001), np.linspace(-90, 90, 180001), [0, -1e-30, 1e-30]])
    z = z.astype(dtype).reshape(-1, 1)
    out = compiled.feedforward(params, sizes_array([1, 1]), 0, 0, z, np.empty_like(z))
    wide = z.astype(np.longdouble)
    e = np.exp(-np.abs(wide))
    exact = (np.where(wide >= 0, 1, e) / (1 + e)).astype(np.float64)
    normal = exact > np.finfo(dtype).tiny * 1e6
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
    assert np.max(np.abs(out - exact)[normal] / exact[normal]) < tolerance
    assert np.max(np.abs(out - exact)) < np.finfo(dtype).eps


def test_kernels_leave_the_callers_floating_point_mode_alone(compiled, images):
    """Kernels flush denormals while they run (x86 FTZ/DAZ) and restore the caller's mode on return."""
    X, Y = images
    params = fastnet.Network([784, 16, 16, 10], seed=0).params
    S = sizes_array([784, 16, 16, 10])
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    compiled.sgd_epoch(params, S, 0, 0, 0, X32[:100], Y32[:100], np.arange(100), 10, 3.0)
    compiled.predict(params, S, 0, 0, X32[:100], np.empty(100, np.int64))
    compiled.feedforward(params, S, 0, 0, X32[:2], np.empty((2, 10), np.float32))
    compiled.gradient(params, S, 0, 0, 0, X32[:5], Y32[:5], np.empty_like(params))
    assert np.float32(1e-38) * np.float32(1e-3) != 0  # a denormal result survives: FTZ is off again
    assert np.float64(1e-308) * np.float64(1e-3) != 0


def test_wide_hidden_layers_in_large_batches_take_the_blas_path(images):
    """784-200-200-10 at batch 32 is faster as BLAS products: the result is then exactly NumPy's."""
    numba_backend = pytest.importorskip("fastnet.backends.numba.mlp")
    X, Y = images
    X, Y = np.ascontiguousarray(X[:320], dtype=np.float32), np.ascontiguousarray(Y[:320], dtype=np.float32)
    order = np.random.default_rng(0).permutation(320)
    for sizes, batch_size, blas in (([784, 200, 200, 10], 32, True), ([784, 200, 200, 10], 10, False),
                                    ([784, 1000, 10], 100, False)):
        S = sizes_array(sizes)
        assert numba_backend.blas_is_faster(S, batch_size) == blas
        start = fastnet.Network(sizes, init="xavier", seed=0).params
        expected, actual = start.copy(), start.copy()
        numpy_backend.sgd_epoch(expected, S, 0, 0, 0, X, Y, order, batch_size, ETA)
        numba_backend.sgd_epoch(actual, S, 0, 0, 0, numba_backend.prepare_inputs(X), Y, order, batch_size, ETA)
        if blas:
            np.testing.assert_array_equal(actual, expected)
        else:
            np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", ["cython", "numba"])
def test_the_compiled_backends_are_there_where_required(name):
    """CI sets FASTNET_REQUIRE_CYTHON=1 and FASTNET_REQUIRE_NUMBA=1: there, an install without the compiled
    extension, or without Numba, fails the tests (the backend fixture would otherwise just run fewer backends)."""
    variable = f"FASTNET_REQUIRE_{name.upper()}"
    if os.environ.get(variable) != "1":
        pytest.skip(f"{variable} is not set")
    assert fastnet.backends.why_unavailable(name) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 12_683])
def test_work_arrays_start_on_a_cache_line(compiled, dtype, n):
    """The packed parameters and activation slots start on 64-byte lines, so no tile spans two lines."""
    if compiled.__name__ == "fastnet.backends.numba.mlp":
        from fastnet.backends.numba.mlp_kernels import aligned_zeros
        arrays = [aligned_zeros(n, np.zeros(1, dtype)) for _ in range(4)]
    else:
        from fastnet.backends.cython._mlp_kernels import aligned_zeros
        arrays = [aligned_zeros(n, dtype) for _ in range(4)]
    for array in arrays:
        assert array.ctypes.data % 64 == 0
        assert array.shape == (n,) and array.dtype == dtype and array.flags.c_contiguous
        assert not array.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("batch_size", [1, 10, 64])  # 64 with a wide layer: the BLAS path
def test_the_epoch_measures_what_its_forward_passes_saw(compiled, images, cost, dtype, batch_size):
    """measured = (Σ_x C_x, number right) of the forward passes, as the NumPy reference counts them."""
    X, Y = images
    X, Y = X[:500].astype(dtype), Y[:500].astype(dtype)
    sizes = [784, 128, 64, 10] if batch_size == 64 else [784, 16, 10]
    output = "softmax" if cost == "log_likelihood" else "sigmoid"
    start = fastnet.Network(sizes, dtype=dtype, seed=2).params
    codes = (0, ["sigmoid", "softmax"].index(output), COSTS.index(cost))
    order = np.random.default_rng(3).permutation(len(X))
    results = []
    for kernels, inputs in ((numpy_backend, X), (compiled, compiled.prepare_inputs(X)), (compiled, X)):
        params, measured = start.copy(), np.zeros(2)
        kernels.sgd_epoch(params, sizes_array(sizes), *codes, inputs, Y, order, batch_size, COST_ETA,
                          measured=measured)
        results.append(measured)
    expected = results[0]
    assert 0 < expected[1] <= len(X) and expected[0] > 0
    for measured in results[1:]:
        np.testing.assert_allclose(measured[0], expected[0], rtol=1e-12 if dtype == np.float64 else 1e-5)
        assert abs(measured[1] - expected[1]) <= (0 if dtype == np.float64 else 2)  # float32: near-ties may differ


def test_measured_must_be_two_float64_values(compiled, images):
    X, Y = images
    params = fastnet.Network([784, 16, 10], dtype="float64", seed=0).params
    for bad in (np.zeros(3), np.zeros(2, np.float32), np.zeros(2)[::-1].copy()[:1]):
        with pytest.raises(ValueError, match="measured"):
            compiled.sgd_epoch(params, sizes_array([784, 16, 10]), 0, 0, 0, X[:20], Y[:20], np.arange(20), 10, ETA,
                               measured=bad)


@pytest.mark.parametrize("backend", fastnet.backends.available())
def test_running_training_metrics_of_one_batch_are_the_exact_ones_before_the_step(backend, images):
    """With one mini-batch, the epoch's forward passes are those of the starting parameters."""
    X, Y = images
    X, y = X[:300], Y[:300].argmax(axis=1)
    net = fastnet.Network([784, 16, 10], dtype="float64", backend=backend, seed=4)
    before_cost, before_accuracy = net.cost(X, y), net.accuracy(X, y)
    record = net.fit(X, y, epochs=1, batch_size=len(X), eta=0.5, progress=False)[0]
    assert record["train_cost"] == pytest.approx(before_cost, rel=1e-12)
    assert record["train_accuracy"] == before_accuracy
    exact = net.fit(X, y, epochs=1, batch_size=len(X), eta=0.5, progress=False, training_metrics="exact")[0]
    assert exact["train_cost"] == pytest.approx(net.cost(X, y), rel=1e-12)
    with pytest.raises(ValueError, match="training_metrics must be one of 'running', 'exact'"):
        net.fit(X, y, epochs=1, progress=False, training_metrics="after")
