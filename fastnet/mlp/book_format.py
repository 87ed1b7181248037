"""The data format of Nielsen's book, converted to fastnet's arrays.

The book passes lists of ``(x, y)`` pairs: x a column ``(784, 1)``; y a one-hot
column ``(10, 1)`` for training data and an int label for test data.
"""
import numpy as np


def book_pairs(argument, pairs, sizes):
    """``(X, y)`` from a sequence of ``(x, y)`` pairs: X (n, sizes[0]); y labels (n,) or targets (n, sizes[-1])."""
    if isinstance(pairs, np.ndarray) or not hasattr(pairs, "__iter__"):
        raise TypeError(f"{argument} must be a list of (x, y) pairs as in the book; got {type(pairs).__name__}")
    pairs = list(pairs)
    if not pairs:
        raise ValueError(f"{argument} must hold at least one (x, y) pair")
    inputs, answers = [], []
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{argument} must hold (x, y) pairs; got an element of type {type(pair).__name__}")
        inputs.append(np.ravel(pair[0]))
        answers.append(pair[1] if np.ndim(pair[1]) == 0 else np.ravel(pair[1]))
    if any(x.shape != (sizes[0],) for x in inputs):
        raise ValueError(f"{argument} inputs must each hold {sizes[0]} values, shape ({sizes[0]}, 1)")
    if len({np.shape(a) for a in answers}) != 1:
        raise ValueError(f"{argument} answers must be all labels or all one-hot vectors of length {sizes[-1]}")
    return np.stack(inputs), np.asarray(answers)
