"""What the Network API adds to the compiled kernels, on plain arrays (the README's speed table).

    FASTNET_DATA=DIR python scripts/api_overhead.py

For each compiled backend, 784-16-16-10 float32: predicting the 10,000 test
images given as a plain array, through the kernel and through
``Network.predict`` (which also checks the input), and one example through
``Network.feedforward``. Medians of 15 repeats.
"""
import statistics
import timeit

import numpy as np

import fastnet
from fastnet.mlp.layout import sizes_array
from fastnet.backends import available, load

SIZES = [784, 16, 16, 10]


def median_seconds(call, number, repeat=15):
    call()  # compile or load once, outside the timing
    return statistics.median(timeit.repeat(call, number=number, repeat=repeat)) / number


def main():
    _, test = fastnet.datasets.load_mnist(download=False, progress=False)
    X = test.images.astype(np.float32)
    labels = np.empty(len(X), np.int64)
    sizes = sizes_array(SIZES)
    for name in [backend for backend in available() if backend != "numpy"]:
        kernels = load(name)
        net = fastnet.Network(SIZES, backend=name, dtype=np.float32, seed=0)
        kernel = median_seconds(lambda kernels=kernels, net=net: kernels.predict(net.params, sizes, 0, 0, X, labels),
                                20)
        network = median_seconds(lambda net=net: net.predict(X), 20)
        one = median_seconds(lambda net=net: net.feedforward(X[0]), 2000)
        print(f"{name}: predict 10,000 plain: kernel {kernel * 1e3:.2f} ms, Network.predict {network * 1e3:.2f} ms; "
              f"Network.feedforward, one example: {one * 1e6:.1f} us")


if __name__ == "__main__":
    main()
