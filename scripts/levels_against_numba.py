"""The Cython epoch at each CPU level against Numba compiled for the same level, in one run.

    python scripts/levels_against_numba.py [--rounds 5] [--data DIR]

`fastnet bench` forces the Cython extension's level but leaves Numba compiling
for this CPU, so its "baseline" row is 2004's instruction set against this
CPU's. Here each level is met by Numba built for a CPU of that level
(NUMBA_CPU_NAME, NUMBA_CPU_FEATURES: x86-64 for the baseline, haswell for
AVX2 with FMA, this CPU for AVX-512), each in its own empty Numba cache. Every
round runs one fresh process per level and backend, alternating, each timing 3
epochs of 784-16-16-10 (batch 10, eta 3.0, float32, one thread) after a warm-up
epoch (scripts/ab_epoch.py's child); the table gives the median epoch and
Cython / Numba per level. Levels this CPU cannot run are left out.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from ab_epoch import CHILD, thread_environment  # scripts/ is on the path when a script in it runs

from fastnet.backends.cython import cpu_levels, mlp

# The Numba target of each level: an LLVM CPU name and its features ("" = the name's own; None = this CPU's).
NUMBA_TARGETS = {"baseline": ("x86-64", ""), "avx2": ("haswell", ""), "avx512": (None, None)}


def epoch_times(backend, level, data, cache):
    """The epochs (seconds) of one fresh process running ``backend`` at ``level``."""
    environment = thread_environment(NUMBA_CACHE_DIR=cache)
    if backend == "cython":
        environment[cpu_levels.ENVIRONMENT_VARIABLE] = level
    else:
        name, features = NUMBA_TARGETS[level]
        if name is not None:
            environment.update(NUMBA_CPU_NAME=name, NUMBA_CPU_FEATURES=features)
    result = subprocess.run([sys.executable, "-c", CHILD, backend, data], check=True, capture_output=True,
                            text=True, env=environment)
    return json.loads(result.stdout.splitlines()[-1])[backend]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", default=os.environ.get("FASTNET_DATA"))
    args = parser.parse_args()
    if not args.data:
        parser.error("--data DIR (the MNIST files; or set FASTNET_DATA) is needed")
    levels = cpu_levels.runnable(mlp.EXTENSION)
    times = {}
    with tempfile.TemporaryDirectory() as caches:
        for _ in range(args.rounds):
            for level in levels:
                for backend in ("cython", "numba"):
                    cache = os.path.join(caches, level)  # each level's Numba code in a cache of its own
                    times.setdefault((level, backend), []).extend(
                        epoch_times(backend, level, os.path.abspath(args.data), cache))
    print("| level | Cython (ms) | Numba built for it (ms) | Cython / Numba |")
    print("|---|---:|---:|---:|")
    for level in levels:
        cython, numba = (1000 * statistics.median(times[level, backend]) for backend in ("cython", "numba"))
        print(f"| {level} | {cython:.1f} | {numba:.1f} | {cython / numba:.2f} |")


if __name__ == "__main__":
    main()
