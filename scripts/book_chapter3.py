"""The book's chapter 3 example on the book's own network2.py and on fastnet.book.network2, timed.

    python scripts/book_chapter3.py BOOK_DIR [--epochs 30] [--seed 0]

BOOK_DIR holds the book's network2.py (a Python 3 port, such as
MichalDanielDobrzanski/DeepLearningPython's; fastnet does not ship it). Both
programs run the same lines: 784-30-10, cross-entropy, large weights, lmbda
5.0, eta 0.5, mini-batches of 10, the validation set as evaluation data,
all four monitors; the data comes from fastnet.datasets.load_data_wrapper
(the book's format). Prints each program's evaluation accuracy per epoch and
its seconds per epoch.
"""
import argparse
import contextlib
import importlib.util
import io
import random
import sys
import time

import numpy as np

import fastnet
from fastnet.book import network2 as fastnet_network2


def run(module, training_data, validation_data, epochs, seed):
    random.seed(seed)
    np.random.seed(seed)
    net = module.Network([784, 30, 10], cost=module.CrossEntropyCost)
    net.large_weight_initializer()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        lists = net.SGD(training_data, epochs, 10, 0.5, lmbda=5.0, evaluation_data=validation_data,
                        monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                        monitor_training_cost=True, monitor_training_accuracy=True)
    return lists, (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book_dir")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("book", "fastnet"), default=None)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("book_network2", f"{args.book_dir}/network2.py")
    book = importlib.util.module_from_spec(spec)
    sys.modules["book_network2"] = book
    spec.loader.exec_module(book)
    training_data, validation_data, _ = fastnet.datasets.load_data_wrapper(progress=False)
    training_data = [(x.astype(np.float64), y.astype(np.float64)) for x, y in training_data]
    validation_data = [(x.astype(np.float64), y) for x, y in validation_data]
    for key, name, module in (("book", "the book's network2.py", book), ("fastnet", "fastnet.book.network2",
                                                                          fastnet_network2)):
        if args.only not in (None, key):
            continue
        (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy), seconds = run(
            module, training_data, validation_data, args.epochs, args.seed)
        print(f"{name}: {seconds:.3f} s per epoch (monitoring included); evaluation accuracy per epoch: "
              f"{[round(100 * a / len(validation_data), 2) for a in evaluation_accuracy]}", flush=True)


if __name__ == "__main__":
    main()
