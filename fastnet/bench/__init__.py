"""``fastnet bench``: fastnet's backends and the libraries users would pick instead, side by side.

One process, the same data, architecture and hyper-parameters for everyone.
Epochs run in alternation (epoch 1 of every contender, then epoch 2, ...), so
that drift on a noisy machine affects all alike; each contender's time is the
median of its epochs, and its test accuracy after the run shows whether it
learned. Compilation (Numba, JAX) is timed on its own, outside the epochs.
"""
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys

import numpy as np

import fastnet

from .peers import contenders, time_alternated

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def busy_core(enabled, seconds=3600):
    """While the block runs (``enabled``), another process spinning on a core, as a busy machine has; it ends
    with the block, or after ``seconds`` whatever happens."""
    if not enabled:
        yield
        return
    loop = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
    process = subprocess.Popen([sys.executable, "-c", loop])
    try:
        yield
    finally:
        process.kill()
        process.wait()


def limit_threads(threads):
    """Use ``threads`` threads in every library: environment for those loaded later, runtime calls for the rest."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
                               f" intra_op_parallelism_threads={threads}").strip()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)  # BLAS already loaded by NumPy
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(threads)
    except Exception:  # noqa: BLE001 - no torch: nothing to limit
        pass


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def run(*, architectures=((784, 16, 16, 10), (784, 30, 10)), epochs=3, batch_size=10, eta=3.0, threads=1,
        train_size=None, data=None, only=None, seed=0, stream=None):
    """Benchmark every contender; returns the results (as written to JSON) and prints a Markdown table."""
    stream = sys.stdout if stream is None else stream
    limit_threads(threads)
    train, _, test = splits = fastnet.datasets.load_mnist(data, split="nielsen", download=False, progress=False)
    X, labels = train.images[:train_size], train.labels[:train_size]
    Y = np.eye(10, dtype=np.float32)[labels]
    results = {
        **where_and_when(),
        "data": f"{splits.source}: {len(labels):,} training, {len(test.labels):,} test images",
        "threads": threads, "epochs": epochs, "batch_size": batch_size, "eta": eta, "dtype": "float32",
        "architectures": [],
    }
    print(f"fastnet bench: {results['data']}; batch {batch_size}, eta {eta}, float32, {threads} thread(s), "
          f"{epochs} epochs each, in alternation\n", file=stream, flush=True)
    for sizes in architectures:
        results["architectures"].append(_run_architecture(list(sizes), X, Y, test, epochs, batch_size, eta, only,
                                                          seed, stream))
    return results


def _run_architecture(sizes, X, Y, test, epochs, batch_size, eta, only, seed, stream):
    params = fastnet.Network(sizes, seed=seed).params
    rows, ready = [], []
    for contender in contenders():
        if only and not any(word in contender.name for word in only):
            continue
        reason = contender.missing()
        if reason is None:
            try:
                contender.setup(sizes, params.copy(), X, Y, eta)
                ready.append(contender)
                continue
            except Exception as exc:  # noqa: BLE001 - a peer that breaks is reported, not fatal
                reason = f"{type(exc).__name__}: {exc}"
        rows.append({"name": contender.name, "skipped": reason})
    seconds = time_alternated(ready, len(Y), epochs, batch_size, seed)
    for contender in ready:
        accuracy = float(np.mean(contender.predict(test.images) == test.labels))
        rows.append({"name": contender.name, "epoch_seconds": statistics.median(seconds[contender.name]),
                     "all_epoch_seconds": seconds[contender.name], "compile_seconds": contender.compile_seconds(),
                     "test_accuracy": accuracy})
    timed = [row for row in rows if "epoch_seconds" in row]
    best = min((row["epoch_seconds"] for row in timed if row["name"].startswith("fastnet")), default=None)
    for row in timed:
        row["times_fastnet_best"] = row["epoch_seconds"] / best if best else None
    rows.sort(key=lambda row: row.get("epoch_seconds", float("inf")))
    _print_table(sizes, rows, stream)
    return {"sizes": sizes, "results": rows}


def _print_table(sizes, rows, stream):
    print(f"### {'-'.join(map(str, sizes))}\n", file=stream)
    print("| contender | seconds per epoch (median) | × fastnet's best | test accuracy | compile (s) |", file=stream)
    print("|---|---|---|---|---|", file=stream)
    for row in rows:
        if "skipped" in row:
            print(f"| {row['name']} | skipped: {row['skipped']} | | | |", file=stream)
            continue
        ratio = f"{row['times_fastnet_best']:.1f}" if row["times_fastnet_best"] else ""
        compile_time = f"{row['compile_seconds']:.2f}" if row["compile_seconds"] else ""
        print(f"| {row['name']} | {row['epoch_seconds']:.4f} | {ratio} | {100 * row['test_accuracy']:.2f}% | "
              f"{compile_time} |", file=stream)
    print("", file=stream, flush=True)


def run_sweep(png, *, images=10000, epochs=3, data=None, threads=1, stream=None):
    """The width and batch-size sweep (``sweep.run``) on the first ``images`` training images, plotted to ``png``."""
    from . import sweep

    stream = sys.stdout if stream is None else stream
    limit_threads(threads)
    train, _, _ = splits = fastnet.datasets.load_mnist(data, split="nielsen", download=False, progress=False)
    X, Y = train.images[:images], np.eye(10, dtype=np.float32)[train.labels[:images]]
    print(f"sweep: {len(X):,} images from {splits.source}, {epochs} alternated epochs a point", file=stream)
    points = sweep.run(X, Y, epochs=epochs, stream=stream)
    sweep.plot(points, png, f"seconds per epoch on {len(X):,} MNIST images, {threads} thread(s)")
    misses = sweep.slower_than_pytorch(points)
    print(f"plot written to {png}; fastnet slower than PyTorch at {len(misses)} point(s)"
          + "".join(f"\n  width {w}, batch {b}: fastnet {f:.3f} s, PyTorch {t:.3f} s" for _, w, b, f, t in misses),
          file=stream, flush=True)
    return {"images": len(X), "epochs": epochs, "points": points, "slower_than_pytorch": misses}


def where_and_when():
    """What a result depends on besides the code: date, CPU, versions, and the command that ran."""
    return {
        "date": datetime.date.today().isoformat(), "cpu": _cpu(), "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("fastnet-3b1b", "numpy", "scipy", "numba", "Cython", "torch",
                                                       "jax", "scikit-learn")},
        "command": " ".join(["fastnet", "bench"] + sys.argv[2:]) if sys.argv[1:2] == ["bench"] else None,
    }


def _cpu():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} logical cores"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_json(results, path):
    with open(path, "w") as out:
        json.dump(results, out, indent=2)
        out.write("\n")
