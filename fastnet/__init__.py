"""fastnet: the neural network of 3Blue1Brown's series and Nielsen's book, made fast.

    >>> import fastnet
    >>> net = fastnet.Network([784, 16, 16, 10], seed=0)
    >>> (train_X, train_y), (test_X, test_y) = fastnet.datasets.load_mnist()
    >>> history = net.fit(train_X, train_y, epochs=30, test=(test_X, test_y))

The second model, ``fastnet.GPT``, predicts the next token of a text
(``fastnet.text`` cuts text into tokens). The kernels run on the backend named
by ``backend=...``; see ``fastnet.backends.available()``.
"""
from . import backends, datasets, text
from .mlp import pictures
from ._version import __version__
from .gpt import GPT, GPTHistory
from .mlp.network import Network
from .loading import load
from .sweeps import sweep
from .core.records import TrainingDiverged
from .mlp.training import History, TrainingWarning

# Submodules that import what they need (Dask, scikit-learn, Starlette...) only when used: ``fastnet.dask.predict``
# works after ``import fastnet`` alone, and ``import fastnet`` imports none of them.
_LAZY_SUBMODULES = ("bench", "book", "dask", "export", "serve", "sklearn", "sweeps")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Network", "GPT", "load", "sweep", "History", "GPTHistory", "TrainingDiverged", "TrainingWarning",
           "backends",
           "datasets", "pictures", "text", "__version__"]
