"""What both of the book's networks show as the book does: biases as columns (n, 1)."""
import numpy as np

import fastnet
from ..backends.numpy import mlp as numpy_backend


class BookNetwork(fastnet.Network):
    """A ``fastnet.Network`` whose ``biases`` are the book's column vectors, views into ``params``.

    Without a ``seed``, parameters are drawn as the book draws them, from
    NumPy's global generator (``np.random.randn``: biases, then weights), so
    ``np.random.seed`` repeats a run as it does with the book's code.
    """

    def __init__(self, sizes, *, seed=None, **options):
        super().__init__(sizes, seed=seed, **options)
        self._book_seed = seed

    def draw(self, weight_scale):
        """Biases N(0, 1) and weights N(0, 1) times ``weight_scale(n_in)``, in the book's order."""
        normal = np.random.standard_normal if self._book_seed is None else self.rng.standard_normal
        self.biases = [normal((n, 1)) for n in self.sizes[1:]]
        self.weights = [normal((n_out, n_in)) * weight_scale(n_in)
                        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    @property
    def biases(self):
        return [b.reshape(-1, 1) for b in super().biases]

    @biases.setter
    def biases(self, values):
        fastnet.Network.biases.fset(self, [np.ravel(b) for b in values])


def sigmoid(z):
    """The sigmoid function σ(z) = 1 / (1 + e^−z), elementwise (the reference's: no overflow for any z)."""
    z = np.asarray(z, dtype=np.float64)
    return numpy_backend.sigmoid(z, np.empty_like(z))[()]


def sigmoid_prime(z):
    """σ'(z) = σ(z) (1 − σ(z))."""
    a = np.asarray(sigmoid(z))
    return numpy_backend.sigmoid_derivative(a, None, np.empty_like(a))[()]
