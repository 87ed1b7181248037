"""A/B in one process: Cython's batch-1 generation with and without the copy of the weights laid out for its
products (``TILED_MIN_STEPS`` in ``_gpt_sampling.pxi``; the same bits either way, so only the time differs).

    OMP_NUM_THREADS=1 python scripts/ab_weights_copy.py                        # nanoGPT's CPU configuration
    OMP_NUM_THREADS=1 python scripts/ab_weights_copy.py --n-layer 6 --n-head 6 --n-embd 384 --context 256 --steps 99

For each number of steps a call (``generate`` of steps + 1 tokens after one: the first from the prompt's
pass, the rest from one compiled call), the two ways alternate ``--rounds`` times, best of ``--calls`` calls
each; it prints the median and range of (time without the copy) / (time with it): above 1, the copy pays.
"""
import argparse
import time

import numpy as np

from fastnet.backends.cython import gpt as cython_gpt
from fastnet.gpt import GPT


def best_seconds(model, steps, calls):
    prompt = np.zeros((1, 1), np.int64)
    best = float("inf")
    for seed in range(calls):
        start = time.perf_counter()
        model.generate(prompt, steps + 1, seed=seed)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 12, 16, 24, 32])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=15)
    args = parser.parse_args()
    model = GPT(65, context=args.context, n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                backend="cython", seed=0)
    extension = cython_gpt.EXTENSION
    always, never = 1, 10 ** 9
    model.generate(np.zeros((1, 1), np.int64), 2, seed=0)
    for steps in args.steps:
        ratios = []
        for _ in range(args.rounds):
            times = {}
            for minimum in (always, never):
                extension.TILED_MIN_STEPS = minimum
                times[minimum] = best_seconds(model, steps, args.calls)
            ratios.append(times[never] / times[always])
        print(f"{steps} steps a call: without / with the copy {np.median(ratios):.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f}); with it {(steps + 1) / times[always]:,.0f} tokens/s "
              f"in the last round")


if __name__ == "__main__":
    main()
