"""Every bad input raises ValueError or TypeError naming the argument, before any kernel runs.

The one kernel that may see X is ``prepare_inputs``, whose pass over the rows
is where NaN and infinities are found (it only reads them); it runs after
every other argument has been checked.
"""
import numpy as np
import pytest

import fastnet
from fastnet.core import numerics as _numerics
from fastnet.backends.numpy import mlp as numpy_backend


class KernelsMustNotRun:
    """Stands in for a backend: any kernel call but the reference's ``prepare_inputs`` fails the test."""

    prepare_inputs = staticmethod(numpy_backend.prepare_inputs)

    def __getattr__(self, name):
        raise AssertionError(f"kernel {name} ran on bad input")


@pytest.fixture
def net():
    network = fastnet.Network([4, 3, 2], seed=0)
    network._kernels = KernelsMustNotRun()
    return network


GOOD_X = np.full((5, 4), 0.5)
GOOD_Y = np.array([0, 1, 0, 1, 1])


@pytest.mark.parametrize("sizes, error, message", [
    ([784], ValueError, "at least two layers"),
    ([], ValueError, "at least two layers"),
    ([784, 0, 10], ValueError, "positive layer widths"),
    ([784, -3, 10], ValueError, "positive layer widths"),
    ([784, 2.5, 10], TypeError, "integer layer widths"),
    ([784, True, 10], TypeError, "integer layer widths"),
    ("784,10", TypeError, "sizes must be a sequence"),
    (784, TypeError, "sizes must be a sequence"),
])
def test_bad_sizes(sizes, error, message):
    with pytest.raises(error, match=message):
        fastnet.Network(sizes)


@pytest.mark.parametrize("argument, value", [
    ("activation", "softsign"), ("cost", "hinge"), ("init", "uniform"),
    ("dtype", "float16"), ("dtype", "int32"), ("dtype", "banana"), ("backend", "fortran"), ("activation", None),
])
def test_unknown_names(argument, value):
    with pytest.raises(ValueError, match=f"{argument} must be"):
        fastnet.Network([4, 2], **{argument: value})


def test_bad_seed():
    with pytest.raises(ValueError, match="seed must be at least 0"):
        fastnet.Network([4, 2], seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        fastnet.Network([4, 2], seed=1.5)


@pytest.mark.parametrize("method", ["feedforward", "predict"])
@pytest.mark.parametrize("x, error, message", [
    (np.zeros(5), ValueError, r"x|X.*shape \(4,\), \(n, 4\) or \(4, 1\)"),
    (np.zeros((3, 5)), ValueError, r"shape \(4,\), \(n, 4\) or \(4, 1\)"),
    (np.zeros((2, 2, 4)), ValueError, "shape"),
    (np.array([0.1, np.nan, 0.2, 0.3]), ValueError, "NaN or infinite"),
    (np.array([[0.1, 0.2, np.inf, 0.3]]), ValueError, "NaN or infinite"),
    (np.array(["a", "b", "c", "d"]), TypeError, "real numbers"),
    (np.array([1j, 0, 0, 0]), TypeError, "real numbers"),
    ([[1, 2], [3, 4, 5, 6]], TypeError, "real numbers"),
])
def test_bad_inputs_to_evaluation(net, method, x, error, message):
    with pytest.raises(error, match=message):
        getattr(net, method)(x)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # W·x overflows to ±inf: σ saturates
@pytest.mark.parametrize("rows", [3, _numerics.ELEMENTWISE_FINITE_MAX])  # tested element-wise, then by their sum
@pytest.mark.parametrize("dtype, huge", [("float64", 1e300), ("float32", 3e38)])
def test_huge_but_finite_inputs_are_accepted(dtype, huge, rows):
    net = fastnet.Network([4, 2], dtype=dtype, seed=0)
    X = np.full((rows, 4), huge, dtype)
    assert net.feedforward(X).shape == (rows, 2)  # their sum overflows; the elements are finite
    X[-1, 2:] = np.inf, -np.inf  # a sum of inf − inf: NaN
    with pytest.raises(ValueError, match="X contains NaN"):
        net.predict(X)
    X[-1, 2:] = 0, np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        net.predict(X)


@pytest.mark.parametrize("method", ["evaluate", "accuracy", "cost", "gradient", "fit"])
@pytest.mark.parametrize("y, message", [
    (np.array([0, 1, 2, 0, 1]), r"class labels in \[0, 2\)"),
    (np.array([0, 1, -1, 0, 1]), r"class labels in \[0, 2\)"),
    (np.array([0, 1, 0.5, 0, 1]), "whole-number"),
    (np.array([0, 1, 0]), r"shape \(5,\)"),
    (np.zeros((5, 3)), r"\(5, 2\)"),
    (np.array([0, 1, np.nan, 0, 1]), "NaN or infinite"),
])
def test_bad_labels(net, method, y, message):
    call = getattr(net, method)
    with pytest.raises(ValueError, match=f"^y .*{message}"):
        call(GOOD_X, y, progress=False) if method == "fit" else call(GOOD_X, y)


@pytest.mark.parametrize("eta, error", [(0, ValueError), (-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
                                        ("3", TypeError), (None, TypeError), (True, TypeError)])
def test_bad_eta(net, eta, error):
    with pytest.raises(error, match="eta must be a positive finite number"):
        net.fit(GOOD_X, GOOD_Y, eta=eta, progress=False)
    if eta is not None:  # None selects the book's update_mini_batch(mini_batch, eta) form
        with pytest.raises(error, match="eta must be a positive finite number"):
            net.update_mini_batch(GOOD_X, GOOD_Y, eta)


@pytest.mark.parametrize("options, error, message", [
    ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
    ({"batch_size": 2.0}, TypeError, "batch_size must be an integer"),
    ({"epochs": -1}, ValueError, "epochs must be at least 0"),
    ({"epochs": 1.5}, TypeError, "epochs must be an integer"),
    ({"seed": -2}, ValueError, "seed must be at least 0"),
    ({"test": (GOOD_X, np.array([0, 5, 0, 0, 0]))}, ValueError, r"test\[1\]"),
    ({"test": (np.zeros((5, 3)), GOOD_Y)}, ValueError, r"test\[0\]"),
    ({"test": GOOD_X}, TypeError, "test must be a pair"),
])
def test_bad_fit_options(net, options, error, message):
    with pytest.raises(error, match=message):
        net.fit(GOOD_X, GOOD_Y, progress=False, **options)


def test_bad_training_rows(net):
    with pytest.raises(ValueError, match=r"X must have shape \(n, 4\) with n >= 1"):
        net.fit(np.zeros((0, 4)), np.zeros(0, dtype=int), progress=False)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 4\)"):
        net.gradient(np.zeros(4), 1)
    with pytest.raises(ValueError, match="X contains NaN"):
        net.fit(np.full((5, 4), np.nan), GOOD_Y, progress=False)


def test_bad_single_examples(net):
    with pytest.raises(ValueError, match="x must be one example"):
        net.backprop(GOOD_X, GOOD_Y)
    with pytest.raises(ValueError, match="y must be a class label or a one-hot vector of length 2"):
        net.backprop(GOOD_X[0], [0, 0, 1])
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\)"):
        net.backprop(GOOD_X[0], 7)


def test_bad_book_data(net):
    with pytest.raises(TypeError, match="training_data must be a list of"):
        net.SGD(GOOD_X, 1, 10, 3.0)
    with pytest.raises(TypeError, match="must hold \\(x, y\\) pairs"):
        net.SGD([GOOD_X[0]], 1, 10, 3.0)
    with pytest.raises(ValueError, match="inputs must each hold 4 values"):
        net.SGD([(np.zeros((5, 1)), np.zeros((2, 1)))], 1, 10, 3.0)
    with pytest.raises(ValueError, match="epochs must be at least 0"):
        net.SGD([(np.zeros((4, 1)), np.zeros((2, 1)))], -1, 10, 3.0)
    with pytest.raises(ValueError, match="test_data must hold at least one"):
        net.evaluate([])
