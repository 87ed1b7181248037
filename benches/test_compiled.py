"""The compiled backends' targets (Numba, Cython), checked against the NumPy backend in the same run.

    FASTNET_DATA=DIR pytest benches/test_compiled.py --benchmark-only -s

Workload: 50,000 MNIST training images, 784-16-16-10, sigmoid, quadratic cost,
batch 10, eta 3.0, float32, one thread, one epoch; inputs prepared once (as
``fit`` does). Each ``test_target_*`` fails when its target is missed, so a red
line here is a target not met, said plainly. Also here: the first call of a
new process (compile or cache load, measured on its own) and where the
matrix-vector path stops paying. Every kernel's timing is in test_kernels.py.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest
from conftest import ARCHITECTURES, EpochProblem

import fastnet

from fastnet.backends import compiled_mlp, load
from fastnet.backends.numpy import mlp as numpy_backend

COMPILED = [name for name in fastnet.backends.available() if name != "numpy"]
if not COMPILED:
    pytest.skip("no compiled backend is installed", allow_module_level=True)

CYTHON_TO_NUMBA_LIMIT = 1.5  # issue: the Cython epoch within 1.5x of Numba's, either way
EPOCH_TARGET_SECONDS = 0.05
SPEED_UP_TARGET = 10
PREDICT_TARGET_SECONDS = 0.003


@pytest.fixture(scope="module", params=COMPILED)
def kernels(request):
    return load(request.param)


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def problem(request, mnist_train):
    return EpochProblem(ARCHITECTURES[request.param], *mnist_train)


def compiled_epoch(kernels, problem):
    if kernels.__name__ not in problem.prepared:
        problem.prepared[kernels.__name__] = kernels.prepare_inputs(problem.X)
    inputs = problem.prepared[kernels.__name__]
    return problem.run(lambda *args: kernels.sgd_epoch(*args[:5], inputs, *args[6:]))


def test_target_epoch_time_and_speed_up(benchmark, kernels, problem):
    """One epoch in at most 0.05 s and at least 10x faster than the NumPy batched path (alternated)."""
    compiled_seconds, numpy_seconds = [], []
    compiled_epoch(kernels, problem)

    def alternate():
        for run, seconds in ((lambda: compiled_epoch(kernels, problem), compiled_seconds),
                             (lambda: problem.run(numpy_backend.sgd_epoch), numpy_seconds)):
            start = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - start)

    benchmark.pedantic(alternate, rounds=3, iterations=1)
    epoch, reference = statistics.median(compiled_seconds), statistics.median(numpy_seconds)
    benchmark.extra_info.update(epoch_seconds=epoch, numpy_epoch_seconds=reference, speed_up=reference / epoch)
    print(f"\n{kernels.__name__} {problem.sizes.tolist()}: epoch {epoch * 1e3:.1f} ms, numpy batched "
          f"{reference * 1e3:.0f} ms, speed-up {reference / epoch:.1f}x")
    if list(problem.sizes) == ARCHITECTURES["3b1b"]:
        assert epoch <= EPOCH_TARGET_SECONDS, f"epoch {epoch:.4f} s misses the {EPOCH_TARGET_SECONDS} s target"
        assert reference / epoch >= SPEED_UP_TARGET, f"speed-up {reference / epoch:.1f}x misses {SPEED_UP_TARGET}x"


def test_target_predict(benchmark, kernels, test_images):
    """Predicting the 10,000 test images (prepared) in at most 3 ms, 784-16-16-10."""
    sizes = fastnet.mlp.layout.sizes_array(ARCHITECTURES["3b1b"])
    params = fastnet.Network(ARCHITECTURES["3b1b"], seed=0).params
    X, labels = kernels.prepare_inputs(test_images), np.empty(len(test_images), np.int64)
    kernels.predict(params, sizes, 0, 0, X, labels)
    benchmark.pedantic(kernels.predict, args=(params, sizes, 0, 0, X, labels), rounds=20, iterations=1)
    expected = numpy_backend.predict(params, sizes, 0, 0, test_images, np.empty_like(labels))
    assert np.mean(labels == expected) > 0.999
    assert benchmark.stats["median"] <= PREDICT_TARGET_SECONDS, (
        f"predict {benchmark.stats['median'] * 1e3:.2f} ms misses the 3 ms target")


@pytest.mark.benchmark(group="feedforward of a few rows: matrix-vector path vs packed layout")
@pytest.mark.parametrize("rows", [1, 16, 64])
@pytest.mark.parametrize("path", ["matvec", "packed"])
def test_feedforward_paths(benchmark, kernels, problem, test_images, rows, path, monkeypatch):
    """Where compiled_mlp.MATVEC_MAX_ROWS should sit."""
    monkeypatch.setattr(compiled_mlp, "MATVEC_MAX_ROWS", 10**9 if path == "matvec" else 0)
    X, out = test_images[:rows], np.empty((rows, 10), np.float32)
    kernels.feedforward(problem.start, problem.sizes, 0, 0, X, out)
    benchmark(kernels.feedforward, problem.start, problem.sizes, 0, 0, X, out)


FIRST_CALL = textwrap.dedent("""
    import time, numpy as np
    start = time.perf_counter()
    import fastnet
    from fastnet.backends.numba import mlp as numba_backend
    from fastnet.mlp.layout import sizes_array  # the Numba backend: the only one that compiles at run time
    imported = time.perf_counter()
    sizes = sizes_array([784, 16, 16, 10])
    params = fastnet.Network([784, 16, 16, 10], seed=0).params
    X = np.random.default_rng(0).random((100, 784)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[np.arange(100) % 10]
    before = time.perf_counter()
    numba_backend.sgd_epoch(params, sizes, 0, 0, 0, numba_backend.prepare_inputs(X), Y, np.arange(100), 10, 3.0)
    numba_backend.predict(params, sizes, 0, 0, X, np.empty(100, np.int64))
    print(imported - start, time.perf_counter() - before)
""")


@pytest.mark.skipif("cython" not in COMPILED or "numba" not in COMPILED, reason="needs both compiled backends")
def test_target_cython_within_1_5x_of_numba(benchmark, problem):
    """The two compiled backends' epochs, alternated in one run: their ratio within 1.5 either way."""
    seconds = {"numba": [], "cython": []}
    for name in seconds:
        compiled_epoch(load(name), problem)

    def alternate():
        for name in seconds:
            start = time.perf_counter()
            compiled_epoch(load(name), problem)
            seconds[name].append(time.perf_counter() - start)

    benchmark.pedantic(alternate, rounds=5, iterations=1)
    ratio = statistics.median(seconds["cython"]) / statistics.median(seconds["numba"])
    benchmark.extra_info["cython_over_numba"] = ratio
    print(f"\n{problem.sizes.tolist()}: cython/numba epoch time {ratio:.2f}")
    assert 1 / CYTHON_TO_NUMBA_LIMIT <= ratio <= CYTHON_TO_NUMBA_LIMIT


@pytest.mark.skipif("numba" not in COMPILED, reason="Numba is not installed")
@pytest.mark.benchmark(group="first call (compile or cache load), fresh process")
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_first_call(benchmark, cache):
    """Seconds for a new process's first epoch + predict: cold compiles, warm loads the cache."""
    directory = tempfile.mkdtemp()
    environment = dict(os.environ, NUMBA_CACHE_DIR=directory)

    def run():
        output = subprocess.run([sys.executable, "-c", FIRST_CALL], env=environment, capture_output=True,
                                text=True, check=True).stdout.split()
        return float(output[0]), float(output[1])

    if cache == "warm":
        run()  # fills the cache
    results = []
    benchmark.pedantic(lambda: results.append(run()), rounds=1 if cache == "cold" else 3, iterations=1)
    imported, first_call = results[-1]
    benchmark.extra_info.update(import_seconds=imported, first_call_seconds=first_call)
    print(f"\n{cache} cache: import fastnet and its Numba backend {imported:.3f} s, "
          f"first epoch + predict {first_call:.3f} s")
