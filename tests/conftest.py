"""Shared fixtures: MNIST subsets, and one run of backend-specific tests per usable backend."""
import os

import numpy as np
import pytest

import fastnet

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")


def _mnist_directory():
    for candidate in (os.environ.get("FASTNET_DATA"), SHARED_MNIST):
        if candidate and os.path.isfile(os.path.join(candidate, "train-labels-idx1-ubyte.gz")):
            return candidate
    return None


@pytest.fixture(scope="session")
def mnist_directory():
    """The folder holding the full MNIST .gz files; tests that need it skip without it."""
    directory = _mnist_directory()
    if directory is None:
        pytest.skip("the full MNIST is not available (set FASTNET_DATA)")
    return directory


@pytest.fixture(scope="session")
def mnist():
    """(train, test) of real MNIST: the full set when found, else the shipped sample."""
    return fastnet.datasets.load_mnist(_mnist_directory(), download=False, progress=False)


@pytest.fixture(params=fastnet.backends.available())
def backend(request):
    """Each usable backend in turn."""
    return request.param


def random_problem(sizes, n, dtype=np.float64, seed=0, sparsity=0.0):
    """Inputs (n, sizes[0]) in [0, 1] with the given fraction of zeros, and int labels."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0]))
    X[rng.random(X.shape) < sparsity] = 0
    return X.astype(dtype), rng.integers(0, sizes[-1], n)
