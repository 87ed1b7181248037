"""A/B: the GPT's training step in two fastnet source trees, measured side by side in one run.

    python scripts/ab_step.py OLD_TREE NEW_TREE [--rounds 8] [--threads 1] [--config nanogpt-cpu] [--steps 100]

Each tree must have its Cython extension built in place (``python setup.py
build_ext --inplace``). Every round runs one fresh process per tree,
alternating, each timing ``--steps`` iterations as ``fit`` runs them (the loss
and gradient on ``--threads`` threads, ``fastnet.gpt.threads``, then AdamW) on
one of ``fastnet bench gpt``'s configurations (its batch, random weights,
Cython, float32). It prints each round's median steps and new / old, and the
median of those ratios.
"""
import statistics

from ab_epoch import ab_parser, alternate  # scripts/ is on the path when a script in it runs

CHILD = r"""
import json, sys, time
import numpy as np
from fastnet.bench.gpt import CONFIGS, _batch, _model
from fastnet.gpt.threads import ThreadedSteps
config, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = _model(CONFIGS[config], "float32", "cython")
tokens, targets = _batch(CONFIGS[config])
kernels, params = model.kernels, model.params
grad, m, v = np.empty_like(params), np.zeros_like(params), np.zeros_like(params)
times = []
with ThreadedSteps(kernels, threads) as pool:
    for step in range(steps + 5):  # the first five warm up
        start = time.perf_counter()
        pool.loss_and_gradient(params, model.shape, tokens, targets, grad)
        kernels.adamw_step(params, grad, m, v, step + 1, 1e-5, 0.9, 0.99, 1e-8, 0.1, model.decay_mask, 1.0)
        times.append(time.perf_counter() - start)
print(json.dumps({"step": float(np.median(times[5:]))}))
"""


def main():
    parser = ab_parser(__doc__, 8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", default="nanogpt-cpu")
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    ratios = []
    for round_ in range(args.rounds):
        times = alternate(args.old, args.new, CHILD, [[args.config, str(args.threads), str(args.steps)]], 1,
                          args.threads)
        old, new = times["step", "old"][0], times["step", "new"][0]
        ratios.append(new / old)
        print(f"round {round_ + 1}: old {1000 * old:.2f} ms, new {1000 * new:.2f} ms a step, new / old {new / old:.3f}")
    print(f"{args.config}, {args.threads} thread(s): new / old {statistics.median(ratios):.3f} (median of "
          f"{len(ratios)} rounds, {min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main()
