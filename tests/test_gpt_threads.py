"""The GPT's training on several threads (fastnet.gpt.threads): the same gradients for any thread count, the same
arithmetic whichever way the chunks run, the default thread count and its limits, the setting's checks."""
import os
import subprocess
import sys
import threading
import types

import numpy as np
import pytest

import fastnet
from fastnet.gpt import threads as gpt_threads
from fastnet.gpt.threads import ThreadedSteps

from conftest import compiled_variants, running


def _model_and_batch(backend, dtype="float64", batch=12):
    model = fastnet.GPT(65, context=16, n_layer=2, n_head=4, n_embd=32, dtype=dtype, seed=0, backend=backend)
    rng = np.random.default_rng(0)
    model.params = model.params + rng.normal(0, 0.05, model.num_params).astype(dtype)
    return model, rng.integers(0, 65, (batch, 16)), rng.integers(0, 65, (batch, 16))


def _loss_and_gradient(model, tokens, targets, threads, way=None):
    with ThreadedSteps(model.kernels, threads) as steps:
        if way is not None:
            steps._way, steps._count = way, 10  # past the first tries: the way given runs
        grad = np.full_like(model.params, np.nan)
        loss, _ = steps.loss_and_gradient(model.params, model.shape, tokens, targets, grad)
    return loss, grad


@pytest.mark.parametrize("name", ["numpy"] + compiled_variants())
def test_the_gradient_is_the_same_for_any_thread_count(name):
    """Gradients identical (float64, 1e-12) for 1, 2, 3 and 5 threads, and equal to one whole-batch call."""
    with running(name):
        model, tokens, targets = _model_and_batch(name.partition("@")[0])
        expected = np.empty_like(model.params)
        value = model.kernels.loss_and_gradient(model.params, model.shape, tokens, targets, expected)[0]
        for threads in (1, 2, 3, 5):
            loss, grad = _loss_and_gradient(model, tokens, targets, threads)
            assert abs(loss - value) <= 1e-12 * value
            np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_the_pool_and_one_thread_do_the_same_arithmetic():
    """The chunks on the pool or one after another on the calling thread (chosen by speed): bit for bit the same."""
    model, tokens, targets = _model_and_batch("auto", "float32", batch=7)
    pool = _loss_and_gradient(model, tokens, targets, 3, "pool")
    inline = _loss_and_gradient(model, tokens, targets, 3, "inline")
    assert pool[0] == inline[0]
    np.testing.assert_array_equal(pool[1], inline[1])


def test_the_chunks_gradients_are_weighed_and_summed_in_the_gradients_dtype():
    """Σ_k (B_k / B) grad_k in float32 for a float32 gradient: the weights had been NumPy float64 scalars (from
    NumPy integer bounds), which made NumPy run this serial pass of every step in float64 and cast back."""
    class Chunks:  # each chunk's "gradient": its first token plus a ramp, in grad's dtype
        def loss_and_gradient(self, params, config, tokens, targets, grad):
            grad[...] = tokens[0, 0] + np.linspace(0, 1, grad.size, dtype=grad.dtype) / np.float32(3)
            return float(tokens[0, 0]), grad

    tokens = np.array([[1]] * 2 + [[0]] * 3)  # chunks of 2 and 3 sequences on 2 threads: weights 0.4 and 0.6
    with ThreadedSteps(Chunks(), 2) as steps:
        grad = np.empty(1000, np.float32)
        loss, _ = steps.loss_and_gradient(None, None, tokens, tokens, grad)
    ramp = np.linspace(0, 1, 1000, dtype=np.float32) / np.float32(3)
    expected = (1 + ramp) * np.float32(0.4)
    expected += (0 + ramp) * np.float32(0.6)
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(grad, expected)
    assert loss == 0.4 * 1 + 0.6 * 0


def test_the_way_that_keeps_losing_is_tried_less_and_less_often(monkeypatch):
    """The chunks run on the pool or one after another, whichever has lately been faster, the other tried now and
    then. A try of the losing way costs a slow step (one thread beside an idle core: 1.8x), so the tries come
    PROBE_FIRST steps apart and twice as far each time the way tried loses again, up to PROBE_MOST; they had come
    every 25 steps for good, 3% of a quiet 2-thread run's time. The steps' times come from a clock the chunks
    advance (the pool's two chunks 1 unit each, one thread's 2 each), not from sleeps, which a loaded machine
    made flaky: CI once saw the pool lose at step 69."""
    clock, lock = [0.0], threading.Lock()
    monkeypatch.setattr(gpt_threads, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))

    class Chunks:  # one thread's chunks take twice the pool's time; the steps that ran them on this thread
        inline_steps, step = set(), 0

        def loss_and_gradient(self, params, config, tokens, targets, grad):
            inline = threading.current_thread() is threading.main_thread()
            if inline:
                self.inline_steps.add(self.step)
            with lock:
                clock[0] += 2.0 if inline else 1.0
            return 0.0, grad

    chunks, tokens, grad = Chunks(), np.zeros((4, 1), np.int64), np.zeros(3)
    with ThreadedSteps(chunks, 2) as steps:
        for chunks.step in range(1, 401):
            steps.loss_and_gradient(None, None, tokens, tokens, grad)
    tries = sorted(chunks.inline_steps)
    assert np.diff(tries).tolist() == [gpt_threads.PROBE_FIRST * 2 ** k for k in range(4)], tries


def test_training_on_threads_repeats_exactly_and_matches_one_thread():
    options = dict(iters=8, batch_size=6, eval_interval=4, eval_batches=2, seed=3, progress=False)
    stream = np.random.default_rng(0).integers(0, 65, 2000)
    runs = {}
    for threads in (2, 2, 1):
        model = fastnet.GPT(65, context=16, n_layer=2, n_head=4, n_embd=32, dtype="float64", seed=0,
                            threads=threads)
        history = model.fit(stream, **options)
        runs.setdefault(threads, []).append((model.params.copy(), history.losses))
    np.testing.assert_array_equal(runs[2][0][0], runs[2][1][0])
    np.testing.assert_allclose(runs[2][0][0], runs[1][0][0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(runs[2][0][1], runs[1][0][1], rtol=1e-12)


def test_the_default_is_the_physical_cores_within_omp_num_threads_and_a_blas_limit(monkeypatch):
    from threadpoolctl import threadpool_limits

    cores = gpt_threads.physical_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    model = fastnet.GPT(65, n_layer=1, seed=0)
    assert model.threads == gpt_threads.default_threads() == min(cores, gpt_threads._blas_limit() or cores)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert model.threads == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    with threadpool_limits(1, user_api="blas"):
        assert model.threads == 1
    model.threads = 3
    assert model.threads == 3
    model.threads = None
    assert model.threads == gpt_threads.default_threads()


@pytest.mark.parametrize("value, error, message", [(0, ValueError, "threads must be at least 1"),
                                                   (True, TypeError, "threads must be an integer"),
                                                   (2.5, TypeError, "threads must be an integer"),
                                                   (4096, ValueError, "threads must be at most 1,024")])
def test_the_setting_is_checked(value, error, message):
    with pytest.raises(error, match=message):
        fastnet.GPT(65, n_layer=1, threads=value)


def test_the_cli_checks_threads_before_reading_anything(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fastnet.cli", "gpt", "train", "--threads", "0",
                             "--data", str(tmp_path / "missing.txt")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["fastnet gpt: error: --threads must be from 1 to 1024; got 0"]


def test_training_beside_a_busy_core_gives_the_same_result(tmp_path):
    """A spinning process beside the training (bounded to 60 s): the same parameters as on a quiet machine (the
    pool or one thread, whichever wins, does the same arithmetic)."""
    options = dict(iters=30, batch_size=4, eval_interval=30, eval_batches=1, seed=1, progress=False)
    stream = np.random.default_rng(0).integers(0, 65, 2000)
    quiet = fastnet.GPT(65, context=16, n_layer=1, n_head=2, n_embd=16, seed=0, threads=2)
    quiet.fit(stream, **options)
    from fastnet.bench import busy_core

    with busy_core(True, seconds=60):
        loaded = fastnet.GPT(65, context=16, n_layer=1, n_head=2, n_embd=16, seed=0, threads=2)
        loaded.fit(stream, **options)
    np.testing.assert_array_equal(loaded.params, quiet.params)
