"""fastnet.sweep on 1 worker, 2 threads in one process and 2 worker processes: the speed-up and Dask's cost per task.

    python scripts/sweep_scaling.py [--epochs 30] [--train-size N] [--modes 1-worker 2-threads 2-processes]

24 configurations (eta 0.5, 1, 3 x sizes 784-30-10, 784-16-16-10 x lmbda 0, 5 x
batch size 10, 20), one seed, the full MNIST. Each mode starts its own
LocalCluster (the start is timed apart) and trains every row afresh. Dask's
cost per task: (the sweep's wall time x workers - the sum of the rows' own
seconds) / rows, i.e. what the scheduler, the transfers and the idle ends add
to each task.
"""
import argparse
import json
import time

from dask.distributed import Client

import fastnet
from fastnet.sweeps import local_cluster, records

GRID = {"eta": [0.5, 1.0, 3.0], "sizes": [[784, 30, 10], [784, 16, 16, 10]], "lmbda": [0.0, 5.0],
        "batch_size": [10, 20]}
MODES = {"1-worker": (1, False), "2-threads": (2, False), "2-processes": (2, True)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--modes", nargs="+", choices=tuple(MODES), default=list(MODES))
    parser.add_argument("--json", default="sweep-scaling.json")
    args = parser.parse_args()
    (X, y), test = fastnet.datasets.load_mnist(dtype="uint8", progress=False)
    X, y = X[:args.train_size], y[:args.train_size]
    fastnet.Network([784, 10], seed=0).fit(X[:100], y[:100], epochs=1, progress=False)  # compile (or load) here
    results = {}
    for mode in args.modes:
        workers, processes = MODES[mode]
        start = time.perf_counter()
        cluster = local_cluster(workers, processes)
        with Client(cluster) as client:
            started = time.perf_counter()
            rows = fastnet.sweep(GRID, X, y, test=test, epochs=args.epochs, seeds=[0], client=client)
            wall = time.perf_counter() - started
        cluster.close()
        rows = records(rows)
        busy = sum(row["seconds"] for row in rows)
        results[mode] = {"cluster_start_s": started - start, "sweep_s": wall, "rows": len(rows),
                         "task_seconds_sum": busy, "overhead_per_task_s": (wall * workers - busy) / len(rows),
                         "longest_task_s": max(row["seconds"] for row in rows),
                         "best": max(rows, key=lambda row: row["test_accuracy"]), "rows_of_the_sweep": rows}
        print(f"{mode}: cluster {started - start:.1f} s, sweep {wall:.1f} s for {len(rows)} rows "
              f"(tasks' own time {busy:.1f} s; Dask's cost per task {results[mode]['overhead_per_task_s']:.3f} s)",
              flush=True)
    if "1-worker" in results:
        for mode in results:
            print(f"speed-up of {mode} over 1 worker: {results['1-worker']['sweep_s'] / results[mode]['sweep_s']:.2f}x")
    with open(args.json, "w") as file:
        json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
