"""Changing the training images each epoch: ``Network.fit(..., augment=random_shifts())``."""
import numpy as np

from ..core.checks import check_int


class RandomShifts:
    """Each image moved by a random whole number of pixels, -max_shift..max_shift, down and across.

    Called as ``shifts(X, rng)`` with rows X (n, height·width) of any dtype;
    returns a new array of X's shape and dtype. The pixels moved in from
    outside the image are 0. A digit of MNIST lies in the central 20x20 of its
    28x28, so shifts of up to 4 pixels never cut it.
    """

    def __init__(self, max_shift=1, shape=(28, 28)):
        self.max_shift = check_int("max_shift", max_shift, 1)
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
            raise TypeError(f"shape must be (height, width); got {shape!r}")
        self.shape = tuple(check_int("shape[]", size, self.max_shift + 1) for size in shape)

    def __repr__(self):
        return f"random_shifts(max_shift={self.max_shift}, shape={self.shape})"

    def __call__(self, X, rng):
        height, width = self.shape
        if X.ndim != 2 or X.shape[1] != height * width:
            raise ValueError(f"X must have shape (n, {height * width}) for images of {height}x{width}; "
                             f"got shape {X.shape}")
        images = X.reshape(-1, height, width)
        shifted = np.zeros_like(images)
        down, across = rng.integers(-self.max_shift, self.max_shift + 1, (2, len(images)))
        for a in range(-self.max_shift, self.max_shift + 1):
            for b in range(-self.max_shift, self.max_shift + 1):
                chosen = np.flatnonzero((down == a) & (across == b))
                rows, columns = slice(max(a, 0), height + min(a, 0)), slice(max(b, 0), width + min(b, 0))
                from_rows, from_columns = slice(max(-a, 0), height + min(-a, 0)), slice(max(-b, 0), width + min(-b, 0))
                shifted[chosen, rows, columns] = images[chosen, from_rows, from_columns]
        return shifted.reshape(X.shape)


def random_shifts(max_shift=1, shape=(28, 28)):
    """An ``augment`` for ``Network.fit``: every epoch sees each image moved by up to ``max_shift`` pixels.

    The randomised form of the book's expanded training data (chapter 6: each
    image also shifted by one pixel up, down, left and right), at no cost in
    epoch length.
    """
    return RandomShifts(max_shift, shape)
