"""Where the compiled backends hand work to the NumPy backend's BLAS products.

    FASTNET_DATA=DIR pytest benches/test_blas_crossover.py --benchmark-only -s

Two rules in ``compiled_mlp``: ``blas_is_faster`` picks, from the sizes and
the batch size, the compiled epoch or ``numpy_backend.sgd_epoch`` (one matrix
product per layer per mini-batch); ``BLAS_MAX_FIRST_LAYER`` picks how a plain
array (not prepared) is forwarded. Each point is run both ways, alternated,
float32, BLAS limited to one thread as the compiled kernels are; the test
prints both times and the rule's choice, and fails when the rule picks the
formulation that is slower by more than NOISE (this shared machine varies by
about 10%).
"""
import statistics
import time

import numpy as np
import pytest
from conftest import EpochProblem

import fastnet
from fastnet.mlp.layout import sizes_array
from fastnet.backends import compiled_mlp, load
from fastnet.backends.numpy import mlp as numpy_backend

COMPILED = [name for name in fastnet.backends.available() if name != "numpy"]
if not COMPILED:
    pytest.skip("no compiled backend is installed", allow_module_level=True)
threadpoolctl = pytest.importorskip("threadpoolctl")

IMAGES = 10_000
NOISE = 1.15
FIRST_LAYERS = [16, 32, 48, 64, 100, 1000]  # predicting the 10,000 test images through 784-W-10
POINTS = [  # (sizes, batch size): on both sides of the rule, and on its edges
    ([784, 30, 30, 30, 10], 100),
    ([784, 1000, 10], 100),
    ([784, 100, 100, 10], 32),
    ([784, 100, 100, 10], 100),
    ([784, 200, 200, 10], 32),
    ([784, 300, 300, 10], 10),
    ([784, 300, 300, 10], 32),
    ([784, 1000, 100, 10], 10),
    ([784, 1000, 100, 10], 100),
]


@pytest.mark.parametrize("sizes, batch_size", POINTS, ids=[f"{'-'.join(map(str, s))}@{b}" for s, b in POINTS])
@pytest.mark.parametrize("backend", COMPILED)
def test_training_rule_picks_the_faster_formulation(benchmark, mnist_train, monkeypatch, backend, sizes, batch_size):
    X, Y = mnist_train
    problem = EpochProblem(sizes, X[:IMAGES], Y[:IMAGES], batch_size=batch_size, eta=0.1)
    chosen = "blas" if compiled_mlp.blas_is_faster(problem.sizes, batch_size) else "compiled"
    monkeypatch.setattr(compiled_mlp, "blas_is_faster", lambda sizes, batch_size: False)  # always compiled
    kernels = load(backend)
    inputs = kernels.prepare_inputs(problem.X)

    def compiled(*args):
        kernels.sgd_epoch(*args[:5], inputs, *args[6:])

    _compare(benchmark, f"{backend} {sizes} batch {batch_size}", chosen,
             compiled=lambda: problem.run(compiled), blas=lambda: problem.run(numpy_backend.sgd_epoch))


@pytest.mark.parametrize("width", FIRST_LAYERS)
@pytest.mark.parametrize("backend", COMPILED)
def test_forward_rule_picks_the_faster_formulation(benchmark, monkeypatch, test_images, backend, width):
    net = fastnet.Network([784, width, 10], seed=0)
    sizes, labels = sizes_array([784, width, 10]), np.empty(len(test_images), np.int64)
    chosen = "blas" if width <= compiled_mlp.BLAS_MAX_FIRST_LAYER else "compiled"
    kernels = load(backend)

    def predict(max_first_layer):
        monkeypatch.setattr(compiled_mlp, "BLAS_MAX_FIRST_LAYER", max_first_layer)
        kernels.predict(net.params, sizes, 0, 0, test_images, labels)

    _compare(benchmark, f"{backend} predict, 784-{width}-10, a plain array", chosen,
             compiled=lambda: predict(0), blas=lambda: predict(width))


def _compare(benchmark, what, chosen, **ways):
    """Time the ``compiled`` and ``blas`` ways alternately; fail if ``chosen`` is the slower beyond NOISE."""
    seconds = {name: [] for name in ways}
    for run in ways.values():
        run()  # compile or load, outside the timing

    def alternate():
        for name, run in ways.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)

    with threadpoolctl.threadpool_limits(1):
        benchmark.pedantic(alternate, rounds=3, iterations=1)
    compiled_s, blas_s = statistics.median(seconds["compiled"]), statistics.median(seconds["blas"])
    benchmark.extra_info.update(compiled_seconds=compiled_s, blas_seconds=blas_s, rule=chosen)
    print(f"\n{what}: compiled {compiled_s * 1e3:.1f} ms, BLAS {blas_s * 1e3:.1f} ms; the rule picks {chosen}")
    picked, other = (compiled_s, blas_s) if chosen == "compiled" else (blas_s, compiled_s)
    assert picked <= NOISE * other, f"the rule picks {chosen}, slower by {picked / other:.2f}x"
