"""Benchmark data: the book's 50,000 MNIST training images when found, else the shipped sample."""
import numpy as np
import pytest

import fastnet
from fastnet.mlp.layout import sizes_array

ARCHITECTURES = {"3b1b": [784, 16, 16, 10], "book": [784, 30, 10]}


@pytest.fixture(scope="session")
def mnist_train():
    """(X, Y one-hot) float32 for the training split of split="nielsen"."""
    train, _, _ = data = fastnet.datasets.load_mnist(split="nielsen", download=False, progress=False)
    print(f"\nbenchmark data: {data.source}, {len(train.labels):,} training images")
    return train.images, np.eye(10, dtype=np.float32)[train.labels]


@pytest.fixture(scope="session")
def test_images():
    """The 10,000 MNIST test images (float32)."""
    _, test = fastnet.datasets.load_mnist(download=False, progress=False)
    return test.images


class EpochProblem:
    """Everything a kernel needs for one epoch, from a seeded network."""

    def __init__(self, sizes, X, Y, dtype=np.float32, batch_size=10, eta=3.0, seed=0):
        self.net = fastnet.Network(sizes, dtype=dtype, seed=seed)
        self.start = self.net.params.copy()
        self.sizes = sizes_array(sizes)
        self.X, self.Y = X.astype(dtype), Y.astype(dtype)
        self.order = np.random.default_rng(seed).permutation(len(X))
        self.batch_size, self.eta = batch_size, eta
        self.prepared = {}  # backend module name -> its prepared inputs

    def run(self, epoch_kernel):
        """Run ``epoch_kernel`` from the starting parameters; returns the parameters after the epoch."""
        params = self.start.copy()
        epoch_kernel(params, self.sizes, 0, 0, 0, self.X, self.Y, self.order, self.batch_size, self.eta)
        return params
