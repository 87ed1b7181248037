"""What both of the book's networks show as the book does: biases as columns (n, 1)."""
import numpy as np

import fastnet


class BookNetwork(fastnet.Network):
    """A ``fastnet.Network`` whose ``biases`` are the book's column vectors, views into ``params``."""

    @property
    def biases(self):
        return [b.reshape(-1, 1) for b in super().biases]

    @biases.setter
    def biases(self, values):
        fastnet.Network.biases.fset(self, [np.ravel(b) for b in values])


def sigmoid(z):
    """The sigmoid function σ(z) = 1 / (1 + e^−z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """σ'(z) = σ(z) (1 − σ(z))."""
    return sigmoid(z) * (1 - sigmoid(z))
