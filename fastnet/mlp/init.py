"""Initial parameters.

Weights are drawn per layer from a normal distribution whose standard
deviation depends on the scheme; biases are always N(0, 1), as in the book.
Draws are made in float64 and then rounded, so float32 and float64 networks
made with the same seed start from the same (rounded) values.
"""
import numpy as np

from .layout import count_params, split_params

# scheme -> standard deviation of W_l given n_in = n_l
WEIGHT_STD = {
    "normal": lambda n_in: 1.0,                  # the book's network.py: N(0, 1)
    "xavier": lambda n_in: 1.0 / np.sqrt(n_in),  # network2.py's default: N(0, 1/n_in)
    "he": lambda n_in: np.sqrt(2.0 / n_in),      # for ReLU layers: N(0, 2/n_in)
}
INITS = tuple(WEIGHT_STD)


DRAW_CHUNK = 1 << 20  # values drawn (in float64) at a time, so no float64 copy of a large layer is ever made


def initial_params(sizes, init, rng, dtype):
    """A flat parameter vector (layout of fastnet.mlp.layout) of ``dtype``, drawn with ``rng``.

    Weights are drawn a block of rows at a time; the stream of draws is the
    same as one draw per layer, so a seed gives the same parameters however
    large the network.
    """
    params = np.empty(count_params(sizes), dtype=dtype)
    weights, biases = split_params(params, sizes)
    for W, b in zip(weights, biases):
        n_out, n_in = W.shape
        std = WEIGHT_STD[init](n_in)
        rows = max(1, DRAW_CHUNK // n_in)
        for start in range(0, n_out, rows):
            block = W[start:start + rows]
            block[...] = rng.standard_normal(block.shape) * std
        b[...] = rng.standard_normal(b.shape)
    return params
