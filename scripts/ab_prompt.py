"""A/B: a prompt's pass (the first generated token) in two fastnet source trees, side by side in one run.

    python scripts/ab_prompt.py OLD_TREE NEW_TREE [--rounds 3] [--backends cython numba]

Each tree must have its Cython extension built in place (``python setup.py
build_ext --inplace``). Every round runs one fresh process per tree and
backend, alternating, each timing ``generate(prompt, 1)`` (the prompt's pass
and one draw; random weights, float32, one thread), best of 5 calls: GPT-2's
124M shape after prompts of 16, 256 and 1,024 tokens, and nanoGPT's CPU
configuration after a full context of 64 (the pass each token past the
context takes). The table gives the median milliseconds per tree and new / old.
"""
import statistics

from ab_epoch import ab_parser, alternate  # scripts/ is on the path when a script in it runs

CHILD = r"""
import json, sys, time
import numpy as np
from fastnet.gpt import GPT
backend, out = sys.argv[1], {}
shapes = {"GPT-2 124M": dict(vocab_size=50257, context=1024, n_layer=12, n_head=12, n_embd=768, bias=True,
                             gelu="tanh"),
          "nanoGPT CPU": dict(vocab_size=65)}
for name, lengths in (("GPT-2 124M", (16, 256, 1024)), ("nanoGPT CPU", (64,))):
    shape = dict(shapes[name])
    model = GPT(shape.pop("vocab_size"), **shape, backend=backend, seed=0)
    for length in lengths:
        prompt = np.zeros((1, length), np.int64)
        model.generate(prompt, 1, seed=0)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            model.generate(prompt, 1, seed=0)
            best = min(best, time.perf_counter() - start)
        out[f"{backend}, {name}, prompt of {length}"] = 1000 * best
print(json.dumps(out))
"""


def main():
    parser = ab_parser(__doc__, 3)
    parser.add_argument("--backends", nargs="+", default=["cython", "numba"])
    args = parser.parse_args()
    times = alternate(args.old, args.new, CHILD, [[backend] for backend in args.backends], args.rounds)
    for key in dict.fromkeys(key for key, _ in times):
        before, after = statistics.median(times[key, "old"]), statistics.median(times[key, "new"])
        print(f"{key}: old {before:,.1f} ms, new {after:,.1f} ms, new / old {after / before:.2f}")


if __name__ == "__main__":
    main()
