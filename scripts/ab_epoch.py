"""A/B: the fused MLP epoch of two fastnet source trees, measured side by side in one run.

    python scripts/ab_epoch.py OLD_TREE NEW_TREE [--rounds 5] [--data DIR]

Each tree must have its Cython extension built in place (``python setup.py
build_ext --inplace``). Every round runs one fresh process per tree and
backend, alternating, each timing 3 epochs of 784-16-16-10 (batch 10, eta
3.0, float32, one thread) over the book's 50,000 training images after a
warm-up epoch; the table gives the median epoch per tree and backend, and
new / old.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import fastnet
backend, data = sys.argv[1], sys.argv[2]
train, _, _ = fastnet.datasets.load_mnist(data, split="nielsen", download=False, progress=False)
X, Y = train.images, np.eye(10, dtype=np.float32)[train.labels]
net = fastnet.Network([784, 16, 16, 10], seed=0, backend=backend)
kernels = fastnet.backends.load(backend)
inputs = kernels.prepare_inputs(X)
sizes, order = net.kernel_arguments[1], np.random.default_rng(0).permutation(len(X))  # as every tree has it
times = []
for epoch in range(4):
    params = net.params.copy()
    start = time.perf_counter()
    kernels.sgd_epoch(params, sizes, 0, 0, 0, inputs, Y, order, 10, 3.0)
    times.append(time.perf_counter() - start)
print(json.dumps({backend: times[1:]}))
"""
BACKENDS = ("numba", "cython")


def thread_environment(threads=1, **variables):
    """This process's environment with OpenMP, OpenBLAS and Numba held to ``threads`` threads, plus ``variables``."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                NUMBA_NUM_THREADS=str(threads), **variables)


def alternate(old, new, child, argument_lists, rounds, threads=1):
    """{(key, "old" or "new"): [values]}: every round, for each list of ``argument_lists``, one fresh process per
    tree, alternating, runs ``child`` (Python code) with those arguments from that tree on ``threads`` threads;
    its last line of output is JSON, {key: value or [values]}."""
    environment = thread_environment(threads)
    values = {}
    for _ in range(rounds):
        for arguments in argument_lists:
            for side, tree in (("old", os.path.abspath(old)), ("new", os.path.abspath(new))):
                result = subprocess.run([sys.executable, "-c", child, *arguments], cwd=tree, check=True,
                                        capture_output=True, text=True, env=dict(environment, PYTHONPATH=tree))
                for key, value in json.loads(result.stdout.splitlines()[-1]).items():
                    values.setdefault((key, side), []).extend(value if isinstance(value, list) else [value])
    return values


def ab_parser(description, rounds):
    """The command line every A/B script reads: OLD and NEW (the trees) and --rounds (``rounds`` by default)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=rounds)
    return parser


def main():
    parser = ab_parser(__doc__, 5)
    parser.add_argument("--data", default=os.environ.get("FASTNET_DATA"))
    args = parser.parse_args()
    if not args.data:
        parser.error("--data DIR (the MNIST files; or set FASTNET_DATA) is needed")
    args.data = os.path.abspath(args.data)  # the children run in each tree's folder
    times = alternate(args.old, args.new, CHILD, [[backend, args.data] for backend in BACKENDS], args.rounds)
    for backend in BACKENDS:
        old, new = (statistics.median(times[backend, side]) for side in ("old", "new"))
        print(f"{backend}: old {1000 * old:.1f} ms, new {1000 * new:.1f} ms per epoch (median of "
              f"{len(times[backend, 'new'])}), new / old {new / old:.3f}")


if __name__ == "__main__":
    main()
