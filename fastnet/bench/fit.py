"""``fastnet bench fit``: the path users run, against the compiled epoch it wraps and against PyTorch.

In one process, alternated (``peers.time_alternated``): the compiled epoch
alone on prepared inputs; ``Network.fit(X, y, epochs=1)`` called again and
again on the same float32, float64 and uint8 arrays (preparation, checks and
the training measurement included); and PyTorch's epoch on the same network
(batch 10, one thread). Then ``load_mnist`` with its decoded arrays cached,
and ``fastnet train --seed 0`` as fresh processes: wall time and peak memory,
the kernel cache warm.
"""
import statistics
import subprocess
import sys
import time

import numpy as np

import fastnet

from .peers import Contender, FastnetBackend, PyTorch, time_alternated


class FitCall(Contender):
    """``net.fit(X, y, epochs=1)`` on X of one dtype: what a user who loops over epochs pays per call."""

    def __init__(self, backend, source_dtype):
        self.backend, self.source_dtype = backend, source_dtype
        self.name = f"fit(X {source_dtype}, epochs=1), {backend}"

    def missing(self):
        return fastnet.backends.why_unavailable(self.backend)

    def setup(self, sizes, params, X, Y, eta):
        self.net = fastnet.Network(sizes, backend=self.backend)
        self.net.params = params
        pixels = np.rint(X * 255).astype(np.uint8)
        self.X = {"uint8": pixels, "float32": X, "float64": X.astype(np.float64)}[self.source_dtype]
        self.labels, self.eta, self.seed = Y.argmax(axis=1), eta, 0
        self.net.fit(self.X[:50], self.labels[:50], epochs=1, progress=False)  # compile (or load) first

    def epoch(self, order, batch_size):
        self.seed += 1
        self.net.fit(self.X, self.labels, epochs=1, batch_size=batch_size, eta=self.eta, seed=self.seed,
                     progress=False)

    def predict(self, X):
        return self.net.predict(X)


# ``fastnet train`` in a child that reports its own peak memory on stderr: VmHWM, the high-water mark of its
# own address space (``ru_maxrss`` would include the parent's memory at the fork, before exec).
_TRAIN_AND_REPORT = """import sys
from fastnet.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    print(next(line for line in status if line.startswith("VmHWM")), file=sys.stderr)
sys.exit(code)
"""


def train_command(runs=3):
    """[{wall_seconds, peak_rss_mb, last_line}] of ``fastnet train --seed 0`` in fresh processes (Linux).

    One run first, untimed, so that the kernels are compiled and the data decoded into the caches.
    """
    command = [sys.executable, "-c", _TRAIN_AND_REPORT, "train", "--seed", "0"]
    subprocess.run(command, check=True, capture_output=True)
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        finished = subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak_kb = int(finished.stderr.strip().splitlines()[-1].split()[1])
        results.append({"wall_seconds": wall, "peak_rss_mb": peak_kb / 1024,
                        "last_line": finished.stdout.strip().splitlines()[-2]})
    return results


def load_times(data=None, rounds=5):
    """{dtype: median seconds of ``load_mnist(data, dtype=dtype)``}, the decoded arrays already cached."""
    times = {}
    for dtype in ("uint8", "float32"):
        fastnet.datasets.load_mnist(data, dtype=dtype, download=False, progress=False)
        seconds = []
        for _ in range(rounds):
            start = time.perf_counter()
            fastnet.datasets.load_mnist(data, dtype=dtype, download=False, progress=False)
            seconds.append(time.perf_counter() - start)
        times[dtype] = statistics.median(seconds)
    return times


def run(*, backends=("numba", "cython"), epochs=10, train_size=None, data=None, command_runs=3, stream=None):
    """Benchmark the fit path; returns the results (as written to JSON) and prints Markdown tables."""
    stream = sys.stdout if stream is None else stream
    train, _, test = splits = fastnet.datasets.load_mnist(data, split="nielsen", download=False, progress=False)
    X, labels = np.ascontiguousarray(train.images[:train_size]), train.labels[:train_size]
    Y = np.eye(10, dtype=np.float32)[labels]
    sizes = [784, 16, 16, 10]
    params = fastnet.Network(sizes, seed=0).params
    usable = [name for name in backends if fastnet.backends.why_unavailable(name) is None]
    candidates = [FastnetBackend(name) for name in usable]
    candidates += [FitCall(name, dtype) for name in usable for dtype in ("float32", "float64", "uint8")]
    candidates.append(PyTorch())
    ready, skipped = [], []
    for contender in candidates:
        reason = contender.missing()
        if reason is None:
            contender.setup(sizes, params.copy(), X, Y, 3.0)
            ready.append(contender)
        else:
            skipped.append({"name": contender.name, "skipped": reason})
    print(f"fastnet bench fit: {len(X):,} images of {splits.source}; {'-'.join(map(str, sizes))}, batch 10, "
          f"eta 3.0, one thread, {epochs} alternated calls each\n", file=stream, flush=True)
    seconds = time_alternated(ready, len(X), epochs, 10)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    rows = []
    for contender in ready:
        backend = getattr(contender, "backend", None)
        epoch = medians.get(f"fastnet {backend}") if backend else None
        rows.append({"name": contender.name, "seconds": medians[contender.name], "all_seconds": seconds[contender.name],
                     "times_compiled_epoch": medians[contender.name] / epoch if epoch else None,
                     "pytorch_over_this": (medians["PyTorch"] / medians[contender.name]
                                           if "PyTorch" in medians else None)})
    print("| what | seconds (median) | × the compiled epoch | PyTorch's epoch ÷ this |", file=stream)
    print("|---|---|---|---|", file=stream)
    for row in rows:
        ratio = f"{row['times_compiled_epoch']:.2f}" if row["times_compiled_epoch"] else ""
        speedup = f"{row['pytorch_over_this']:.1f}" if row["pytorch_over_this"] else ""
        print(f"| {row['name']} | {row['seconds']:.4f} | {ratio} | {speedup} |", file=stream)
    for row in skipped:
        print(f"| {row['name']} | skipped: {row['skipped']} | | |", file=stream)
    results = {"images": len(X), "epochs": epochs, "rows": rows + skipped, "load_mnist_seconds": load_times(data)}
    loads = results["load_mnist_seconds"].items()
    print("\nload_mnist, decoded arrays cached: " + ", ".join(f"dtype={dtype} {1e3 * seconds:.0f} ms"
                                                             for dtype, seconds in loads), file=stream)
    if command_runs:
        runs = train_command(command_runs)
        walls = ", ".join(f"{run['wall_seconds']:.2f}" for run in runs)
        print(f"\n`fastnet train --seed 0` in fresh processes (warm caches): wall {walls} s; peak RSS "
              f"{max(run['peak_rss_mb'] for run in runs):.0f} MB; {runs[-1]['last_line']}", file=stream)
        results["train_command"] = runs
    print("", file=stream, flush=True)
    return results
