"""The book's chapter 1 ``network.py``: ``Network(sizes)`` and ``SGD(training_data, epochs, mini_batch_size, eta,
test_data=None)``, on fastnet's kernels.

``fastnet.Network`` already speaks this API (``SGD``, ``update_mini_batch``,
``backprop``, ``evaluate``, ``feedforward`` on columns);
this module gives it the book's constructor and its column biases.
"""
from ._columns import BookNetwork, sigmoid, sigmoid_prime

__all__ = ["Network", "sigmoid", "sigmoid_prime"]


class Network(BookNetwork):
    """Sigmoid layers and the quadratic cost; weights and biases drawn from N(0, 1), as the book draws them.

    ``dtype``, ``backend`` and ``seed`` are fastnet's (the book has none of them).
    """

    def __init__(self, sizes, *, dtype="float32", backend="auto", seed=None):
        super().__init__(sizes, activation="sigmoid", cost="quadratic", init="normal", dtype=dtype,
                         backend=backend, seed=seed)
        if seed is None:
            self.draw(lambda n_in: 1.0)
