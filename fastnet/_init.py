"""Initial parameters.

Weights are drawn per layer from a normal distribution whose standard
deviation depends on the scheme; biases are always N(0, 1), as in the book.
Draws are made in float64 and then cast, so float32 and float64 networks made
with the same seed start from the same (rounded) values.
"""
import numpy as np

from ._layout import count_params, split_params

# scheme -> standard deviation of W_l given n_in = n_l
WEIGHT_STD = {
    "normal": lambda n_in: 1.0,                  # the book's network.py: N(0, 1)
    "xavier": lambda n_in: 1.0 / np.sqrt(n_in),  # network2.py's default: N(0, 1/n_in)
    "he": lambda n_in: np.sqrt(2.0 / n_in),      # for ReLU layers: N(0, 2/n_in)
}
INITS = tuple(WEIGHT_STD)


def initial_params(sizes, init, rng, dtype):
    """A flat parameter vector (layout of fastnet._layout) drawn with ``rng``."""
    params = np.empty(count_params(sizes), dtype=np.float64)
    weights, biases = split_params(params, sizes)
    for W, b in zip(weights, biases):
        W[...] = rng.standard_normal(W.shape) * WEIGHT_STD[init](W.shape[1])
        b[...] = rng.standard_normal(b.shape)
    return params.astype(dtype)
