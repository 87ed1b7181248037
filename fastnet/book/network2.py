"""The book's chapter 3 ``network2.py`` on fastnet's kernels: the same classes, methods, printed lines and files.

``Network(sizes, cost=CrossEntropyCost)``, ``default_weight_initializer`` (N(0, 1/n_in)
weights) and ``large_weight_initializer`` (N(0, 1)), ``SGD(training_data,
epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
monitor_training_cost=False, monitor_training_accuracy=False,
early_stopping_n=0)`` returning ``(evaluation_cost, evaluation_accuracy,
training_cost, training_accuracy)``, ``accuracy(data, convert=False)``,
``total_cost(data, lmbda, convert=False)``, ``save(filename)`` and
``load(filename)`` in the book's JSON format.
"""
import json
import random

import numpy as np

from ..mlp.book_format import book_pairs
from ..core.checks import is_integer
from ..core.storage import json_value, read_bytes
from ._columns import BookNetwork, sigmoid, sigmoid_prime

__all__ = ["QuadraticCost", "CrossEntropyCost", "Network", "load", "vectorized_result", "sigmoid", "sigmoid_prime"]


class QuadraticCost:
    """C_x = ½‖a − y‖²; δ_L = (a − y) σ'(z)."""

    name = "quadratic"

    @staticmethod
    def fn(a, y):
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]; δ_L = a − y."""

    name = "cross_entropy"

    @staticmethod
    def fn(a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        return a - y


COSTS = {cost.__name__: cost for cost in (QuadraticCost, CrossEntropyCost)}


class Network(BookNetwork):
    """The book's improved network: a cost class, L2 regularisation, weights scaled by 1/√n_in.

    ``dtype``, ``backend`` and ``seed`` are fastnet's (the book has none of
    them); without a seed, parameters come from NumPy's global generator and
    ``SGD`` draws its orders from Python's ``random``, so ``np.random.seed``
    and ``random.seed`` repeat a run, as they do the book's.
    """

    def __init__(self, sizes, cost=CrossEntropyCost, *, dtype="float32", backend="auto", seed=None):
        if cost not in COSTS.values():
            raise ValueError(f"cost must be network2.QuadraticCost or network2.CrossEntropyCost; got {cost!r}")
        super().__init__(sizes, activation="sigmoid", cost=cost.name, init="xavier", dtype=dtype, backend=backend,
                         seed=seed)
        self.cost = cost
        if seed is None:
            self.default_weight_initializer()

    def default_weight_initializer(self):
        """Weights N(0, 1/n_in), biases N(0, 1): the book's default."""
        self.draw(lambda n_in: 1 / np.sqrt(n_in))

    def large_weight_initializer(self):
        """Weights and biases N(0, 1): chapter 1's initialisation."""
        self.draw(lambda n_in: 1.0)

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False, monitor_training_cost=False,
            monitor_training_accuracy=False, early_stopping_n=0):
        """Mini-batch SGD with L2 regularisation, printing and returning what is monitored, as the book's.

        Returns ``(evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy)``: one entry per epoch for each quantity monitored
        (accuracies are counts). ``early_stopping_n`` > 0 stops after that many
        epochs without a better evaluation accuracy.
        """
        if (monitor_evaluation_cost or monitor_evaluation_accuracy) and evaluation_data is None:
            raise ValueError("monitor_evaluation_cost and monitor_evaluation_accuracy need evaluation_data")
        X, Y = self._rows("training_data", training_data)
        evaluation = None if evaluation_data is None else self._rows("evaluation_data", evaluation_data)
        evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = [], [], [], []
        best = {"accuracy": 0, "since": 0}

        def monitor(net, record):
            print(f"Epoch {record['epoch'] - 1} training complete")
            if monitor_training_cost:
                training_cost.append(self._total_cost(X, Y, lmbda))
                print(f"Cost on training data: {training_cost[-1]}")
            if monitor_training_accuracy:
                training_accuracy.append(self.evaluate(X, Y))
                print(f"Accuracy on training data: {training_accuracy[-1]} / {len(X)}")
            if monitor_evaluation_cost:
                evaluation_cost.append(self._total_cost(*evaluation, lmbda))
                print(f"Cost on evaluation data: {evaluation_cost[-1]}")
            if monitor_evaluation_accuracy:
                evaluation_accuracy.append(self.evaluate(*evaluation))
                print(f"Accuracy on evaluation data: {evaluation_accuracy[-1]} / {len(evaluation[0])}")
            print()
            if early_stopping_n > 0 and monitor_evaluation_accuracy:
                if evaluation_accuracy[-1] > best["accuracy"]:
                    best["accuracy"], best["since"] = evaluation_accuracy[-1], 0
                else:
                    best["since"] += 1
                return best["since"] >= early_stopping_n
            return False

        seed = self._book_seed if self._book_seed is not None else random.getrandbits(32)
        self.fit(X, Y, epochs=epochs, batch_size=mini_batch_size, eta=eta, lmbda=lmbda, seed=seed, progress=False,
                 callbacks=[monitor])
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    def _rows(self, argument, data):
        """(X, y) of the book's pairs, X in the network's dtype: converted once, read every epoch."""
        X, y = book_pairs(argument, data, self.sizes)
        return np.ascontiguousarray(X, self.dtype), y

    def accuracy(self, data, convert=False):
        """The number of (x, y) in ``data`` classified right; ``convert=True`` for one-hot y (training data)."""
        X, y = book_pairs("data", data, self.sizes)
        return self.evaluate(X, y)

    def total_cost(self, data, lmbda, convert=False):
        """(1/n) Σ_x C_x + (λ/2n) Σ w² over the n pairs of ``data``; ``convert=True`` for int labels."""
        return self._total_cost(*book_pairs("data", data, self.sizes), lmbda)

    def _total_cost(self, X, y, lmbda):
        penalty = 0.5 * (lmbda / len(X)) * sum(float(np.linalg.norm(w) ** 2) for w in self.weights)
        return BookNetwork.cost(self, X, y) + penalty  # fastnet's mean cost: ``self.cost`` is the book's class

    def save(self, filename):
        """Write sizes, weights, biases and the cost's name as JSON, in the book's format."""
        data = {"sizes": self.sizes, "weights": [w.tolist() for w in self.weights],
                "biases": [b.tolist() for b in self.biases], "cost": self.cost.__name__}
        with open(filename, "w") as file:
            json.dump(data, file)


def load(filename):
    """A ``Network`` from a JSON file written by ``save`` (this module's or the book's).

    The weights and biases are read and their shapes checked against
    ``sizes`` before the network is built, so a small file cannot make it
    allocate a large one; anything else than such a file raises ValueError.
    """
    data = json_value(read_bytes(filename), f"{filename}")
    try:
        cost, sizes = COSTS[data["cost"]], data["sizes"]
        weights = [np.array(w, dtype=np.float64) for w in data["weights"]]
        biases = [np.array(b, dtype=np.float64) for b in data["biases"]]
        if not isinstance(sizes, list) or len(sizes) < 2 or not all(is_integer(n) and n >= 1 for n in sizes):
            raise TypeError(f"sizes must list at least two positive integers; got {sizes!r}")
        for name, arrays, shapes in (("weights", weights, [(n, m) for m, n in zip(sizes, sizes[1:])]),
                                     ("biases", biases, [(n, 1) for n in sizes[1:]])):
            if [a.shape for a in arrays] != shapes:
                raise TypeError(f"{name} must have shapes {shapes} to fit sizes {sizes}; got "
                                f"{[a.shape for a in arrays]}")
        net = Network(sizes, cost=cost)
        net.weights, net.biases = weights, biases
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{filename}: not a network2 JSON file ({type(exc).__name__}: {exc})") from None
    return net


def vectorized_result(j):
    """A (10, 1) one-hot column with a 1.0 in position j."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
