"""Hyper-parameter sweeps on Dask: ``fastnet.sweep`` and ``fastnet sweep``.

    >>> grid = {"eta": [0.5, 1.0, 3.0], "sizes": [[784, 30, 10], [784, 100, 10]], "lmbda": [0, 5]}
    >>> rows = fastnet.sweep(grid, X, y, test=(test_X, test_y), epochs=30, seeds=range(5))

Every configuration of the grid (``grid.py``) is trained once per seed, each
as one Dask task on a ``dask.distributed`` cluster: a ``LocalCluster`` sized to
this machine unless a ``Client`` is given. The data are scattered to the
workers once; results come back as tasks finish and go straight into the
results file (``table.py``), from which a killed sweep resumes. Needs
``dask[distributed]`` (``pip install "dask[distributed]"``).
"""
import itertools
import math
import os
import sys

import numpy as np

from ..core.checks import is_integer
from ..core.storage import check_destination
from ..mlp.layout import count_params
from .grid import DEFAULT_SIZES, MAX_ROWS, check_grid, configurations, train_one
from .table import ResultsFile, row_key

__all__ = ["sweep", "records", "local_cluster"]


def _check_seeds(seeds):
    seeds = [seeds] if is_integer(seeds) else list(itertools.islice(seeds, MAX_ROWS + 1))
    if len(seeds) > MAX_ROWS:
        raise ValueError(f"seeds: a sweep trains at most {MAX_ROWS:,} rows; got more seeds than that")
    if not seeds or not all(is_integer(s) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be integers >= 0 (at least one); got {seeds!r}")
    return [int(s) for s in seeds]


def _check_data(X, y, test):
    """(X, y, test_X, test_y), each checked for shape: rows of examples and as many labels."""
    if not isinstance(test, (tuple, list)) or len(test) != 2:
        raise ValueError(f"test must be a pair (X_test, y_test); got {type(test).__name__}")
    arrays = []
    for name, images, labels in (("X", X, y), ("test X", *test)):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 2 or images.dtype.kind not in "uif" or len(images) == 0:
            raise ValueError(f"{name} must be a non-empty 2-D array of numbers (rows of examples); "
                             f"got shape {images.shape}, dtype {images.dtype}")
        if labels.shape != (len(images),) or labels.dtype.kind not in "ui":
            raise ValueError(f"the labels of {name} must be {len(images)} integers; got shape {labels.shape}, "
                             f"dtype {labels.dtype}")
        arrays += [images, labels]
    return arrays


def records(rows):
    """A sweep's rows as a list of dicts, whether ``sweep`` gave a DataFrame or the list itself."""
    return rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)


def _results(rows):
    """The rows as a pandas DataFrame where pandas is installed, else the list of dicts."""
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


def local_cluster(workers=None, processes=False):
    """A ``LocalCluster`` for this machine: one process with ``workers`` threads (default: one per core; the
    kernels release the GIL, and threads share the data), or ``workers`` processes of one thread each."""
    from dask.distributed import LocalCluster

    workers = workers or os.cpu_count() or 1
    if processes:
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    return LocalCluster(n_workers=1, threads_per_worker=workers, processes=False, dashboard_address=":0")


def _priority(settings):
    """Larger networks first, so that no long task starts last while the other workers wait (the number of
    parameters as the estimate of a task's work)."""
    return count_params(settings.get("sizes", DEFAULT_SIZES))


def sweep(grid, X, y, *, test, epochs=30, seeds=(0,), client=None, out=None, workers=None, processes=False,
          on_row=None):
    """Train every configuration of ``grid`` with every seed; one row per (configuration, seed).

    Each row holds the grid's settings, ``seed``, ``epochs``, ``test_accuracy``
    and ``train_cost`` after the last epoch, ``seconds``, and ``error`` for a
    configuration that failed (its results NaN); it equals
    ``Network(sizes, seed=seed, ...).fit(X, y, epochs=epochs, seed=seed, test=test, ...)``
    run alone. ``client``: a ``dask.distributed.Client`` (default: a
    ``local_cluster(workers, processes)`` started and closed here; threads by
    default, measured faster on 2 cores, see BENCHMARKS.md). Larger networks
    are started first. ``out``: a results file (``.csv``, else JSON lines)
    written row by row; rows already in it are not trained again. ``on_row(row, done, total)`` is called as each
    row arrives. Returns the rows in grid order: a pandas DataFrame where pandas
    is installed, else a list of dicts.
    """
    from dask.distributed import Client, as_completed

    grid = check_grid(grid)
    seeds = _check_seeds(seeds)
    rows = math.prod(len(values) for values in grid.values()) * len(seeds)
    if rows > MAX_ROWS:
        raise ValueError(f"the grid's configurations x seeds make {rows:,} rows; a sweep trains at most {MAX_ROWS:,}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1; got {epochs!r}")
    X, y, test_X, test_y = _check_data(X, y, test)
    tasks = [(settings, seed) for settings in configurations(grid) for seed in seeds]
    names = list(grid)
    if out is not None:
        check_destination("out", out)
    results = ResultsFile(out, names) if out is not None else None
    done = {}
    for row in results.read() if results is not None else ():
        if row["epochs"] != epochs:
            raise ValueError(f"{out}: holds rows of {row['epochs']} epochs; this sweep trains {epochs}")
        done[row_key(row, names)] = row
    pending = [(settings, seed) for settings, seed in tasks if row_key({**settings, "seed": seed}, names) not in done]

    own = client is None
    if own and pending:
        client = Client(local_cluster(workers, processes))
    try:
        if pending:
            # hash=False: a key of its own for each sweep's copy. Keys made from the contents (the default) are the
            # same for the same data, and a second sweep on one client could lose its copy to the release of the
            # first's ("Key lost during replication").
            data = [client.scatter(array, broadcast=True, hash=False) for array in (X, y, test_X, test_y)]
            futures = [client.submit(train_one, settings, seed, *data, epochs, pure=False, priority=_priority(settings))
                       for settings, seed in pending]
            for future in as_completed(futures):
                row = {**future.result(), "epochs": epochs}
                done[row_key(row, names)] = row
                if results is not None:
                    results.append(row)
                if on_row is not None:
                    on_row(row, len(done), len(tasks))
    finally:
        if own and pending:
            cluster = client.cluster
            client.close()
            cluster.close()
    return _results([done[row_key({**settings, "seed": seed}, names)] for settings, seed in tasks])


def print_row(row, done, total, stream=None):
    """One line per row as it arrives (``fastnet sweep``'s ``on_row``)."""
    stream = sys.stdout if stream is None else stream
    settings = ", ".join(f"{name}={value}" for name, value in row.items()
                         if name not in ("seed", "epochs", "test_accuracy", "train_cost", "seconds", "error"))
    result = (f"failed: {row['error']}" if "error" in row else
              f"test accuracy {100 * row['test_accuracy']:.2f}%, cost {row['train_cost']:.4f}")
    print(f"[{done}/{total}] {settings}, seed {row['seed']}: {result} ({row['seconds']:.1f} s)", file=stream,
          flush=True)
