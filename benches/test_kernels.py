"""Every kernel on every usable backend, float32 and float64, 784-16-16-10 and 784-30-10.

    FASTNET_DATA=DIR pytest benches/test_kernels.py --benchmark-only

Groups: one example through the network; predicting the 10,000 test images;
the gradient of one batch of 10; one SGD step on a batch of 10; one epoch over
the 50,000 training images (batch 10, eta 3.0; inputs prepared once, as
``fit`` does). Each backend is called once before its timed rounds, so
compilation never counts; compile and load times are measured on their own in
test_compiled.py. A benchmark of a wrong answer is worthless: each backend's
epoch on the timed data is checked against the NumPy backend's first.
"""
import numpy as np
import pytest
from conftest import ARCHITECTURES, EpochProblem

import fastnet
from fastnet.backends import load
from fastnet.backends.numpy import mlp as numpy_backend

BACKENDS = fastnet.backends.available()
DTYPES = {"float32": np.float32, "float64": np.float64}
# Equivalence on the timed data: an epoch at eta 0.1 (where SGD is not chaotic, see
# tests/test_backends.py) must match the NumPy backend's to the equivalence tests' tolerances:
# in float64 the whole 50,000-image epoch, to 1e-9; in float32 the first 2,000 examples of the
# timed order, to 1e-4, the setting that tolerance is stated for (float32 rounding keeps
# drifting over the rest: 1.7e-4 to 3.1e-4 after all 50,000, measured).
CHECK_ETA = 0.1
CHECK_EXAMPLES = {np.float32: 2000, np.float64: None}
TOLERANCE = {np.float32: 1e-4, np.float64: 1e-9}


@pytest.fixture(scope="module", params=[(arch, dtype) for arch in ARCHITECTURES for dtype in DTYPES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def problem(request, mnist_train):
    architecture, dtype = request.param
    return EpochProblem(ARCHITECTURES[architecture], *mnist_train, dtype=DTYPES[dtype])


@pytest.fixture(scope="module", params=BACKENDS)
def kernels(request):
    return load(request.param)


def prepared(kernels, problem):
    if kernels.__name__ not in problem.prepared:
        problem.prepared[kernels.__name__] = kernels.prepare_inputs(problem.X)
    return problem.prepared[kernels.__name__]


def check_against_reference(kernels, problem, inputs):
    """One epoch at CHECK_ETA on the timed data: the backend's parameters must match the NumPy backend's."""
    if kernels is numpy_backend:
        return
    expected, actual = problem.start.copy(), problem.start.copy()
    order = problem.order[:CHECK_EXAMPLES[problem.X.dtype.type]]
    numpy_backend.sgd_epoch(expected, problem.sizes, 0, 0, 0, problem.X, problem.Y, order, 10, CHECK_ETA)
    kernels.sgd_epoch(actual, problem.sizes, 0, 0, 0, inputs, problem.Y, order, 10, CHECK_ETA)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[problem.X.dtype.type])


@pytest.mark.benchmark(group="one example through the network")
def test_one_example(benchmark, kernels, problem, test_images):
    x = test_images[:1].astype(problem.X.dtype)
    out = np.empty((1, 10), problem.X.dtype)
    kernels.feedforward(problem.start, problem.sizes, 0, 0, x, out)
    benchmark(kernels.feedforward, problem.start, problem.sizes, 0, 0, x, out)


@pytest.mark.benchmark(group="predict 10,000 test images (prepared)")
def test_predict(benchmark, kernels, problem, test_images):
    X = kernels.prepare_inputs(np.ascontiguousarray(test_images, dtype=problem.X.dtype))
    labels = np.empty(len(test_images), np.int64)
    kernels.predict(problem.start, problem.sizes, 0, 0, X, labels)
    benchmark.pedantic(kernels.predict, args=(problem.start, problem.sizes, 0, 0, X, labels), rounds=10, iterations=1)


@pytest.mark.benchmark(group="gradient of a batch of 10")
def test_gradient(benchmark, kernels, problem):
    X, Y, grad = problem.X[:10].copy(), problem.Y[:10].copy(), np.empty_like(problem.start)
    kernels.gradient(problem.start, problem.sizes, 0, 0, 0, X, Y, grad)
    benchmark(kernels.gradient, problem.start, problem.sizes, 0, 0, 0, X, Y, grad)


@pytest.mark.benchmark(group="one SGD step on a batch of 10")
def test_sgd_step(benchmark, kernels, problem):
    X, Y, params = problem.X[:10].copy(), problem.Y[:10].copy(), problem.start.copy()
    order = np.arange(10)
    kernels.sgd_epoch(params, problem.sizes, 0, 0, 0, X, Y, order, 10, 3.0)
    benchmark(kernels.sgd_epoch, params, problem.sizes, 0, 0, 0, X, Y, order, 10, 3.0)


@pytest.mark.benchmark(group="one epoch, 50,000 images, batch 10")
def test_epoch(benchmark, kernels, problem):
    inputs = prepared(kernels, problem)
    check_against_reference(kernels, problem, inputs)  # a wrong answer fails the benchmark

    def epoch():
        return problem.run(lambda *args: kernels.sgd_epoch(*args[:5], inputs, *args[6:]))

    epoch()
    benchmark.pedantic(epoch, rounds=3, iterations=1)
