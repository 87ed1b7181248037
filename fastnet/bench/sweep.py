"""The scaling sweep of ``fastnet bench --sweep``: where each formulation wins.

Seconds per epoch, for every fastnet backend and PyTorch, (1) over the hidden
width of 784-W-10 at batch 10 and (2) over the batch size of 784-16-16-10;
each point is the median of alternated epochs on the same examples.
"""
import statistics

import numpy as np

import fastnet

from .peers import FastnetBackend, PyTorch, time_alternated

WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
BATCH_SIZES = (1, 4, 16, 64, 256)


def _time_point(sizes, batch_size, X, Y, epochs, eta=3.0, seed=0):
    params = fastnet.Network(sizes, seed=seed).params
    ready = []
    for contender in [FastnetBackend(name) for name in fastnet.backends.available()] + [PyTorch()]:
        if contender.missing() is None:
            contender.setup(sizes, params.copy(), X, Y, eta)
            ready.append(contender)
    seconds = time_alternated(ready, len(Y), epochs, batch_size, seed)
    return {name: statistics.median(values) for name, values in seconds.items()}


def run(X, Y, *, epochs=3, widths=WIDTHS, batch_sizes=BATCH_SIZES, stream=None):
    """{"width": [...], "batch": [...]}: one dict per point with the seconds of each contender."""
    points = {"width": [], "batch": []}
    for width in widths:
        points["width"].append({"width": width, "batch_size": 10,
                                "seconds": _time_point([784, width, 10], 10, X, Y, epochs)})
        _report(stream, f"784-{width}-10, batch 10", points["width"][-1]["seconds"])
    for batch_size in batch_sizes:
        points["batch"].append({"width": 16, "batch_size": batch_size,
                                "seconds": _time_point([784, 16, 16, 10], batch_size, X, Y, epochs)})
        _report(stream, f"784-16-16-10, batch {batch_size}", points["batch"][-1]["seconds"])
    return points


def _report(stream, label, seconds):
    if stream is not None:
        cells = ", ".join(f"{name} {value:.3f} s" for name, value in sorted(seconds.items(), key=lambda kv: kv[1]))
        print(f"  {label}: {cells}", file=stream, flush=True)


def slower_than_pytorch(points):
    """The points where fastnet's best backend took longer than PyTorch."""
    misses = []
    for axis in ("width", "batch"):
        for point in points[axis]:
            fastnet_best = min(v for name, v in point["seconds"].items() if name.startswith("fastnet"))
            torch = point["seconds"].get("PyTorch")
            if torch is not None and fastnet_best > torch:
                misses.append((axis, point["width"], point["batch_size"], fastnet_best, torch))
    return misses


def plot(points, path, title):
    """Two log-log panels (seconds per epoch over width, over batch size), written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, (key, label) in zip(axes, (("width", "hidden width of 784-W-10 (batch 10)"),
                                         ("batch", "batch size (784-16-16-10)"))):
        xs = [point["width" if key == "width" else "batch_size"] for point in points[key]]
        names = sorted({name for point in points[key] for name in point["seconds"]})
        for name in names:
            axis.plot(xs, [point["seconds"].get(name, np.nan) for point in points[key]], marker="o", label=name)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("seconds per epoch")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
