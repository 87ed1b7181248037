"""A/B: the GPT's generation in two fastnet source trees, measured side by side in one run.

    python scripts/ab_generation.py OLD_TREE NEW_TREE [--rounds 3]

Each tree must have its Cython extension built in place (``python setup.py
build_ext --inplace``). Every round runs one fresh process per tree,
alternating, each timing ``generate`` on nanoGPT's CPU configuration
(random weights, float32, one thread) on the Cython and Numba backends: batch
1 and batch 16 within the context (63 tokens after 1), and past it (64 after
64), best of 8 calls each; the table gives the median tokens/s per tree and
new / old.
"""
import statistics

from ab_epoch import ab_parser, alternate  # scripts/ is on the path when a script in it runs

CHILD = r"""
import json, time
import numpy as np
from fastnet.gpt import GPT
out = {}
for backend in ("cython", "numba"):
    model = GPT(65, backend=backend, seed=0)
    for name, prompts, count in (("batch 1", np.zeros((1, 1), np.int64), 63),
                                 ("batch 16", np.zeros((16, 1), np.int64), 63),
                                 ("past the context", np.zeros((1, 64), np.int64), 64)):
        model.generate(prompts, count, seed=0)
        best = float("inf")
        for seed in range(8):
            start = time.perf_counter()
            model.generate(prompts, count, seed=seed)
            best = min(best, time.perf_counter() - start)
        out[f"{backend}, {name}"] = prompts.shape[0] * count / best
print(json.dumps(out))
"""


def main():
    args = ab_parser(__doc__, 3).parse_args()
    rates = alternate(args.old, args.new, CHILD, [[]], args.rounds)
    for key in sorted({key for key, _ in rates}):
        before, after = statistics.median(rates[key, "old"]), statistics.median(rates[key, "new"])
        print(f"{key}: old {before:,.0f} tokens/s, new {after:,.0f} tokens/s, new / old {after / before:.2f}")


if __name__ == "__main__":
    main()
