"""Preparing inputs: uint8 pixels and float64 read in one compiled pass, NaN found there, and prepared sets reused
only while the array is unchanged."""
import gc

import numpy as np
import pytest

import fastnet
from fastnet.backends import load
from fastnet.backends.numpy import mlp as numpy_backend
from fastnet.backends.compiled_mlp import CSR_MAX_WIDTH
from fastnet.core.codes import COMPACT_INPUTS, CSR_INPUTS, DENSE_INPUTS

COMPILED = [name for name in fastnet.backends.available() if name != "numpy"]


@pytest.fixture(params=COMPILED)
def compiled(request):
    return load(request.param)


def _pixels(n=300, width=784, seed=0):
    """uint8 images: about 80% zeros, the rest 1..255, as MNIST's."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(1, 256, (n, width)).astype(np.uint8)
    pixels[rng.random((n, width)) < 0.8] = 0
    return pixels


def _csr(inputs):
    return inputs.indptr.tolist(), inputs.indices.tolist(), inputs.values.tolist()


def _cache(kernels):
    return kernels.prepare_inputs.__self__._prepared._entries


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pixels_are_read_as_value_over_255_bit_for_bit(compiled, dtype):
    """uint8 v is v / 255 in the parameters' dtype: the same bits as X.astype(dtype) / 255 (load_mnist's)."""
    pixels = _pixels()
    scaled = pixels.astype(dtype)
    scaled /= 255
    assert numpy_backend.prepare_inputs(pixels, dtype).tobytes() == scaled.tobytes()
    assert fastnet.core.pixels.pixel_values(dtype).tolist() == [dtype(v) / dtype(255) for v in range(256)]
    from_pixels, from_floats = compiled.prepare_inputs(pixels, dtype), compiled.prepare_inputs(scaled)
    assert from_pixels.mode == from_floats.mode == CSR_INPUTS and from_pixels.dtype == dtype
    assert _csr(from_pixels) == _csr(from_floats)


def test_csr_column_numbers_are_held_as_uint16(compiled):
    """Prepared CSR rows store each column number in 2 bytes (the epoch streams them in random order)."""
    pixels = _pixels()
    inputs = compiled.prepare_inputs(pixels)
    assert inputs.mode == CSR_INPUTS and inputs.indices.dtype == np.uint16
    rows, columns = np.nonzero(pixels)
    assert inputs.indices.tolist() == columns.tolist() and inputs.indptr[-1] == len(rows)


def test_rows_wider_than_uint16_columns_are_read_on_the_fly_with_the_same_results(compiled):
    """Inputs wider than CSR_MAX_WIDTH cannot be CSR rows of uint16 columns: their zeros are skipped as each row is
    read, and every kernel gives what the NumPy reference gives, from the last column too."""
    rng = np.random.default_rng(2)
    X = np.zeros((12, CSR_MAX_WIDTH + 3), np.float64)
    X[:, -1] = rng.random(12)  # the columns past 65,535 count
    X[:, rng.integers(0, X.shape[1], 40)] = rng.random((12, 40))
    inputs = compiled.prepare_inputs(X)
    assert inputs.mode == COMPACT_INPUTS
    sizes = np.array([X.shape[1], 3, 2], np.int64)
    params = rng.standard_normal(int(sum(sizes[1:] * (sizes[:-1] + 1))))
    Y = np.eye(2)[rng.integers(0, 2, 12)]
    expected = numpy_backend.gradient(params, sizes, 0, 0, 0, X, Y, np.empty_like(params))
    np.testing.assert_allclose(compiled.gradient(params, sizes, 0, 0, 0, inputs, Y, np.empty_like(params)), expected,
                               rtol=1e-12, atol=1e-15)
    out, reference = np.empty((12, 2)), numpy_backend.feedforward(params, sizes, 0, 0, X, np.empty((12, 2)))
    np.testing.assert_allclose(compiled.feedforward(params, sizes, 0, 0, inputs, out), reference, rtol=1e-12)
    trained, reference_trained = params.copy(), params.copy()
    order = rng.permutation(12)
    compiled.sgd_epoch(trained, sizes, 0, 0, 0, inputs, Y, order, 4, 0.5)
    numpy_backend.sgd_epoch(reference_trained, sizes, 0, 0, 0, X, Y, order, 4, 0.5)
    np.testing.assert_allclose(trained, reference_trained, rtol=1e-12, atol=1e-15)


def test_float64_rows_prepared_for_float32_parameters(compiled):
    X = _pixels().astype(np.float64) / 7.0
    converted = X.astype(np.float32)
    assert _csr(compiled.prepare_inputs(X, np.float32)) == _csr(compiled.prepare_inputs(converted))
    assert compiled.prepare_inputs(X, np.float32).values.dtype == np.float32


def test_values_that_underflow_to_zero_in_the_conversion_train_as_zeros(compiled):
    """A float64 value too small for float32 is counted as a nonzero but stored as 0 in a float32 CSR row (the
    only zeros a prepared row can hold, and which the row updates do not test for): every kernel still gives what
    the NumPy reference gives on X.astype(float32)."""
    rng = np.random.default_rng(3)
    X = _pixels(60, 50, seed=3).astype(np.float64) / 255
    X[X > 0.9] = 1e-50  # nonzero in float64, 0 in float32
    inputs = compiled.prepare_inputs(X, np.float32)
    assert inputs.mode == CSR_INPUTS and (inputs.values == 0).sum() == (X == 1e-50).sum() > 0
    X32 = X.astype(np.float32)
    sizes = np.array([50, 16, 10], np.int64)
    params = rng.standard_normal(int(sum(sizes[1:] * (sizes[:-1] + 1)))).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 60)]
    np.testing.assert_allclose(compiled.gradient(params, sizes, 0, 0, 0, inputs, Y, np.empty_like(params)),
                               numpy_backend.gradient(params, sizes, 0, 0, 0, X32, Y, np.empty_like(params)),
                               rtol=1e-4, atol=1e-6)
    trained, reference_trained = params.copy(), params.copy()
    order = rng.permutation(60)
    compiled.sgd_epoch(trained, sizes, 0, 0, 0, inputs, Y, order, 10, 0.5)
    numpy_backend.sgd_epoch(reference_trained, sizes, 0, 0, 0, X32, Y, order, 10, 0.5)
    np.testing.assert_allclose(trained, reference_trained, rtol=1e-4, atol=1e-6)


def test_dense_pixels_become_dense_rows_of_the_dtype(compiled):
    pixels = np.random.default_rng(1).integers(1, 256, (20, 30)).astype(np.uint8)  # no zeros: dense
    inputs = compiled.prepare_inputs(pixels, np.float64)
    assert inputs.mode == DENSE_INPUTS
    np.testing.assert_array_equal(inputs.arrays()[1], (pixels / 255.0).reshape(-1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_values_are_found_with_their_row(compiled, dtype, bad):
    X = _pixels(50).astype(dtype)
    X[37, 600] = bad
    for kernels in (compiled, numpy_backend):
        with pytest.raises(ValueError, match="^train_X contains NaN or infinite values"):
            kernels.prepare_inputs(X, argument="train_X")
    with pytest.raises(ValueError, match=r"\(row 37\)"):
        compiled.prepare_inputs(X)


def test_an_unchanged_array_is_prepared_once(compiled):
    X = _pixels().astype(np.float32)
    first = compiled.prepare_inputs(X)
    again = compiled.prepare_inputs(X)
    assert again.arrays()[3] is first.arrays()[3]  # the same CSR arrays, not rebuilt
    assert compiled.prepare_inputs(X, np.float64).dtype == np.float64  # another dtype: its own preparation
    view = X[:]
    assert compiled.prepare_inputs(view).arrays()[3] is not first.arrays()[3]  # another array object


@pytest.mark.parametrize("source", ["float32", "float64", "uint8"])
@pytest.mark.parametrize("write", ["change", "new nonzero", "zeroed", "moved", "last value"])
def test_a_write_into_the_array_is_always_noticed(compiled, source, write):
    X = _pixels().astype(source)
    compiled.prepare_inputs(X)
    row = X[123]
    nonzero, zero = np.flatnonzero(row), np.flatnonzero(row == 0)
    if write == "change":
        row[nonzero[3]] = row[nonzero[3]] - 1 if row[nonzero[3]] > 1 else 2
    elif write == "new nonzero":
        row[zero[0]] = 1
    elif write == "zeroed":
        row[nonzero[0]] = 0
    elif write == "moved":  # the same count and the same values, one moved to a zero pixel
        row[zero[0]], row[nonzero[0]] = row[nonzero[0]], 0
    else:
        X[-1, -1] = 9 if X[-1, -1] != 9 else 10
    expected = compiled.prepare_inputs(X.copy())
    assert _csr(compiled.prepare_inputs(X)) == _csr(expected)


def test_a_nan_written_after_preparing_is_refused(compiled):
    X = _pixels().astype(np.float32)
    compiled.prepare_inputs(X)
    X[5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compiled.prepare_inputs(X)


def test_prepared_rows_are_not_kept_after_the_array_goes(compiled):
    X = _pixels(seed=7).astype(np.float32)
    compiled.prepare_inputs(X)
    assert any(entry[0]() is X for entry in _cache(compiled).values())
    del X
    gc.collect()
    assert all(entry[0]() is not None for entry in _cache(compiled).values())


def test_the_cache_holds_a_few_sets(compiled):
    arrays = [_pixels(20, seed=seed).astype(np.float32) for seed in range(10)]
    for X in arrays:
        compiled.prepare_inputs(X)
    assert len(_cache(compiled)) <= 4


@pytest.mark.parametrize("backend", fastnet.backends.available())
@pytest.mark.parametrize("sizes, batch_size", [([64, 12, 10], 10), ([64, 128, 128, 10], 64)])  # 64: the BLAS path
def test_networks_train_on_pixels_as_on_their_scaled_floats(backend, sizes, batch_size):
    """fit, predict, evaluate and cost on uint8 images: bit-identical to the same images as v / 255."""
    pixels, labels = _pixels(200, 64), np.random.default_rng(3).integers(0, 10, 200)
    scaled = pixels.astype(np.float32) / 255
    nets = [fastnet.Network(sizes, backend=backend, seed=4) for _ in range(3)]
    for net, X in zip(nets, (pixels, scaled, scaled.astype(np.float64))):
        net.fit(X, labels, epochs=2, eta=1.0, batch_size=batch_size, seed=5, test=(X, labels), progress=False)
    assert nets[0].params.tobytes() == nets[1].params.tobytes() == nets[2].params.tobytes()
    net = nets[0]
    np.testing.assert_array_equal(net.predict(pixels), net.predict(scaled))
    assert net.feedforward(pixels[0]).tobytes() == net.feedforward(scaled[0]).tobytes()
    assert net.evaluate(pixels, labels) == net.evaluate(scaled, labels)
    assert net.cost(pixels, labels) == net.cost(scaled, labels)


def test_parameters_given_as_uint8_are_not_scaled():
    net = fastnet.Network([3, 2], seed=0)
    net.params = np.arange(net.num_params, dtype=np.uint8)
    assert net.params.tolist() == list(range(net.num_params))
