"""GridSearchCV over fastnet.sklearn.NetworkClassifier: one job, two threads, two processes.

    python scripts/grid_search.py [--images 10000]

8 configurations x 3 folds (24 fits of 5 epochs, float32) on MNIST images
scaled by MinMaxScaler in a Pipeline. Threads run the compiled epochs side by
side because the kernels release the GIL; processes (joblib's default, loky)
pay for starting workers and copying the data.
"""
import argparse
import time

from joblib import parallel_config
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import fastnet
from fastnet.sklearn import NetworkClassifier

GRID = {"networkclassifier__eta": [0.1, 0.5], "networkclassifier__hidden_layer_sizes": [(16,), (30,)],
        "networkclassifier__lmbda": [0.0, 5.0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    args = parser.parse_args()
    (X, y), _ = fastnet.datasets.load_mnist(dtype="float32", progress=False)
    X, y = X[:args.images], y[:args.images]
    model = make_pipeline(MinMaxScaler(), NetworkClassifier(epochs=5, dtype="float32", random_state=0))
    GridSearchCV(model, {"networkclassifier__eta": [0.5]}, cv=2).fit(X[:200], y[:200])  # compile (or load) first
    for label, jobs, backend in (("n_jobs=1", 1, None), ("n_jobs=2, threads", 2, "threading"),
                                 ("n_jobs=2, processes (loky)", 2, "loky")):
        search = GridSearchCV(model, GRID, cv=3, n_jobs=jobs)
        start = time.perf_counter()
        with parallel_config(backend=backend) if backend else parallel_config():
            search.fit(X, y)
        print(f"{label}: {time.perf_counter() - start:.2f} s, best {search.best_params_} "
              f"({100 * search.best_score_:.2f}%)", flush=True)


if __name__ == "__main__":
    main()
