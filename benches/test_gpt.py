"""The GPT kernels' timings (groups per kernel, model size, backend, dtype) and the issue's targets.

    OMP_NUM_THREADS=1 pytest benches/test_gpt.py -s

Each ``test_target_*`` measures its contenders in alternation in one run
(``fastnet.bench.gpt``, which ``fastnet bench gpt`` prints as tables) and fails
when its target is missed, so a red line here is a target not met, said
plainly. One thread for every library.
"""
import statistics

import numpy as np
import pytest

import fastnet
from fastnet.bench import gpt, limit_threads

BACKENDS = fastnet.backends.available()
COMPILED = [name for name in BACKENDS if name != "numpy"]
DTYPES = ["float32", "float64"]
TRAINING_RATIO_TARGET = 0.75  # nanoGPT's CPU configuration: at most 0.75 x PyTorch's time per iteration
SMALL_SPEED_UP_TARGET = 2.0  # the small configuration: at least 2x faster than PyTorch
TOKENS_PER_SECOND_TARGET = 30_000
KV_CACHE_SPEED_UP_TARGET = 3.0
BPE_SECONDS_TARGET = 2.0
CYTHON_TO_NUMBA_LIMIT = 1.5


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    limit_threads(1)


def median(times):
    return statistics.median(times)


# ---------------------------------------------------------------------------
# Timings, one pytest-benchmark group per kernel and model size

@pytest.mark.parametrize("config", list(gpt.CONFIGS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_training_step(benchmark, config, dtype, backend):
    benchmark.group = f"gpt training step, {config}"
    tokens, targets = gpt._batch(gpt.CONFIGS[config])
    step = gpt._fastnet_step(gpt._model(gpt.CONFIGS[config], dtype, backend), tokens, targets)
    benchmark.pedantic(step, rounds=10, warmup_rounds=2)


@pytest.mark.parametrize("config", list(gpt.CONFIGS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_training_step_pytorch(benchmark, config, dtype):
    pytest.importorskip("torch")
    benchmark.group = f"gpt training step, {config}"
    tokens, targets = gpt._batch(gpt.CONFIGS[config])
    step = gpt._torch_step(gpt._model(gpt.CONFIGS[config], dtype, "numpy"), tokens, targets)
    benchmark.pedantic(step, rounds=10, warmup_rounds=2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_step(benchmark, dtype, backend):
    benchmark.group = "gpt decode step (one token, batch 1), nanogpt-cpu"
    model = gpt._model(gpt.CONFIGS["nanogpt-cpu"], dtype, backend)
    kernels, params, shape = model.kernels, model.params, model.shape
    cache = kernels.new_cache(shape, 1, model.dtype)
    kernels.prefill(params, shape, np.zeros((1, 32), np.int64), cache)
    token = np.zeros(1, np.int64)
    benchmark.pedantic(lambda: kernels.decode_step(params, shape, token, 32, cache), rounds=200, warmup_rounds=5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_adamw_step(benchmark, dtype, backend):
    benchmark.group = "gpt AdamW step with clipping, nanogpt-cpu (0.80 M parameters)"
    model = gpt._model(gpt.CONFIGS["nanogpt-cpu"], dtype, backend)
    params = model.params
    grad = np.random.default_rng(0).normal(size=params.size).astype(dtype)
    m, v = np.zeros_like(params), np.zeros_like(params)
    benchmark.pedantic(lambda: model.kernels.adamw_step(params, grad.copy(), m, v, 1, 1e-3, 0.9, 0.99, 1e-8, 0.1,
                                                         model.decay_mask, 1.0), rounds=50, warmup_rounds=2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bpe_training(benchmark, backend):
    benchmark.group = "gpt BPE training to 512 tokens, Tiny Shakespeare's training text"
    from fastnet.datasets.text import load_text, split_text
    from fastnet.text import BPETokenizer

    train, _ = split_text(load_text())
    benchmark.pedantic(lambda: BPETokenizer.train(train, 512, backend=backend), rounds=2, warmup_rounds=1)


# ---------------------------------------------------------------------------
# The targets, as ratios measured in one run

def test_target_training_against_pytorch():
    pytest.importorskip("torch")
    ratios = {}
    for config in gpt.CONFIGS:
        steps = gpt.training_contenders(gpt.CONFIGS[config])
        times = gpt.time_alternated({name: (lambda round_, step=step: step()) for name, step in steps.items()}, 20)
        torch_time = median(next(t for name, t in times.items() if name.startswith("PyTorch")))
        ratios[config] = {name: median(t) / torch_time for name, t in times.items() if name.startswith("fastnet")}
        print(f"\n{config}: time / PyTorch's: " + ", ".join(f"{n} {r:.2f}" for n, r in ratios[config].items()))
    for name in COMPILED:
        assert ratios["nanogpt-cpu"][f"fastnet {name}"] <= TRAINING_RATIO_TARGET
        assert 1 / ratios["small"][f"fastnet {name}"] >= SMALL_SPEED_UP_TARGET


def test_target_generation():
    pytest.importorskip("torch")
    contenders = gpt.generation_contenders(gpt.CONFIGS["nanogpt-cpu"])
    times = gpt.time_alternated({name: call for name, (call, _) in contenders.items()}, 10)
    rates = {name: contenders[name][1] / median(t) for name, t in times.items()}
    print("\ntokens/s: " + ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items()))
    for name in COMPILED:
        rate = rates[f"fastnet {name}"]
        assert rate >= KV_CACHE_SPEED_UP_TARGET * rates["PyTorch, key/value cache"]
        assert rate >= TOKENS_PER_SECOND_TARGET


def test_target_bpe():
    results = gpt.bpe()
    for name in COMPILED:
        assert results[f"fastnet {name}"]["seconds"] <= BPE_SECONDS_TARGET


def test_target_cython_within_numba():
    if len(COMPILED) < 2:
        pytest.skip("needs both compiled backends")
    for config in gpt.CONFIGS:
        steps = {name: step for name, step in gpt.training_contenders(gpt.CONFIGS[config]).items()
                 if name in ("fastnet numba", "fastnet cython")}
        times = gpt.time_alternated({name: (lambda round_, step=step: step()) for name, step in steps.items()}, 20)
        ratio = median(times["fastnet cython"]) / median(times["fastnet numba"])
        print(f"\n{config}: Cython / Numba {ratio:.2f}")
        assert 1 / CYTHON_TO_NUMBA_LIMIT <= ratio <= CYTHON_TO_NUMBA_LIMIT
