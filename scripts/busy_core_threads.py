"""Issue 27, item 2: a training step at the default threads against one thread, beside a busy core, in one run.

    python scripts/busy_core_threads.py [--rounds 60] [--backends cython numba] [--quiet]

nanoGPT's CPU configuration (the bench's nanogpt-cpu batch, float32). For
each backend, the step as ``fit`` runs it (``fastnet.gpt.threads.ThreadedSteps``:
loss and gradient, then AdamW) on one thread and on the default threads
(``default_threads()``, the physical cores), alternated step by step in one
process, while another process spins on a core (``fastnet.bench.busy_core``;
``--quiet``: none). Prints each one's median step and default / one (the
target: at most 1).
"""
import argparse
import statistics
import time

import numpy as np

from fastnet.bench import busy_core, limit_threads
from fastnet.bench.gpt import CONFIGS, _batch, _model
from fastnet.gpt.threads import ThreadedSteps, default_threads


def alternated_steps(backend, thread_counts, rounds):
    """{threads: [seconds per step]}, the thread counts taking turns step by step on one model and batch."""
    config = CONFIGS["nanogpt-cpu"]
    model = _model(config, "float32", backend)
    kernels, params, shape, mask = model.kernels, model.params, model.shape, model.decay_mask
    tokens, targets = _batch(config)
    grad, m, v = np.empty_like(params), np.zeros_like(params), np.zeros_like(params)
    pools = {threads: ThreadedSteps(kernels, threads).__enter__() for threads in thread_counts}
    times = {threads: [] for threads in thread_counts}
    try:
        for step in range(1, rounds + 1):
            for threads, steps in pools.items():
                start = time.perf_counter()
                steps.loss_and_gradient(params, shape, tokens, targets, grad)
                kernels.adamw_step(params, grad, m, v, step, 1e-3, 0.9, 0.99, 1e-8, 0.1, mask, 1.0)
                times[threads].append(time.perf_counter() - start)
    finally:
        for steps in pools.values():
            steps.__exit__(None, None, None)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--backends", nargs="+", default=["cython", "numba"])
    parser.add_argument("--quiet", action="store_true", help="no busy process beside the measurement")
    args = parser.parse_args()
    default = default_threads()
    limit_threads(default)
    with busy_core(not args.quiet):
        for backend in args.backends:
            times = alternated_steps(backend, (1, default), args.rounds)
            one, many = (statistics.median(times[threads][3:]) for threads in (1, default))
            print(f"{backend}: one thread {1000 * one:.1f} ms, {default} threads {1000 * many:.1f} ms a step "
                  f"(medians of {args.rounds - 3}), {default} / one {many / one:.3f}")


if __name__ == "__main__":
    main()
