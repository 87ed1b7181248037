"""The NumPy backend's two paths over one epoch: per-example matrix-vector vs batched.

    pytest benches/test_numpy_paths.py --benchmark-only

Workload: 784-16-16-10, sigmoid, quadratic cost, batch 10, eta 3.0, float32,
one epoch over the 50,000 training images. The speed-up test alternates the two
paths in one run (a shared, noisy machine affects both alike) and requires the
batched path to be at least 3x faster. (That both paths compute the same
gradients is tested in tests/test_math.py, to 1e-12 in float64; over 5,000
float32 steps their rounding differences grow, so they are not compared here.)
"""
import statistics
import time

import pytest
from conftest import ARCHITECTURES, EpochProblem

from fastnet.backends.numpy import mlp as numpy_backend

PATHS = {"batched": numpy_backend.sgd_epoch, "matvec": numpy_backend.sgd_epoch_matvec}


@pytest.fixture(scope="module")
def problem(mnist_train):
    return EpochProblem(ARCHITECTURES["3b1b"], *mnist_train)


@pytest.mark.benchmark(group="numpy epoch, 784-16-16-10, batch 10")
@pytest.mark.parametrize("path", PATHS)
def test_epoch(benchmark, problem, path):
    benchmark.pedantic(problem.run, args=(PATHS[path],), rounds=3, iterations=1)


def test_batched_path_is_at_least_3x_faster(benchmark, problem):
    ratios = []

    def alternate():
        seconds = {}
        for path, kernel in PATHS.items():
            start = time.perf_counter()
            problem.run(kernel)
            seconds[path] = time.perf_counter() - start
        ratios.append(seconds["matvec"] / seconds["batched"])

    benchmark.pedantic(alternate, rounds=3, iterations=1)
    benchmark.extra_info["matvec_over_batched"] = statistics.median(ratios)
    rounds = [f"{r:.2f}" for r in ratios]
    print(f"\nbatched path speed-up over matvec: {statistics.median(ratios):.1f}x (rounds: {rounds})")
    assert statistics.median(ratios) >= 3
