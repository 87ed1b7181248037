"""fastnet as a scikit-learn classifier: ``NetworkClassifier`` in pipelines, grid searches and ``clone``.

Needs scikit-learn (``pip install scikit-learn``, the ``sklearn`` extra); ``import fastnet``
does not import this module. The estimator follows scikit-learn's
conventions rather than fastnet's where they differ: X is read as numbers
(uint8 features are not taken for pixels and scaled; put a ``MinMaxScaler``
or ``FunctionTransformer`` in the pipeline for that), any label values are
allowed (``classes_`` holds them, sorted), and ``random_state`` follows
``check_random_state``.
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .core.checks import is_integer
from .mlp.network import Network

# scikit-learn's estimator checks this classifier is known to fail, each with the reason; the test suite runs
# every other check (``parametrize_with_checks(..., expected_failed_checks=...)``).
EXPECTED_FAILED_CHECKS = {}


class NetworkClassifier(ClassifierMixin, BaseEstimator):
    """A fastnet ``Network`` trained by mini-batch SGD, as a scikit-learn classifier.

    The network is ``[n_features, *hidden_layer_sizes, n_classes]``, one output
    per class; ``fit`` trains it for ``epochs`` epochs (``Network.fit`` with
    ``batch_size``, ``eta``, ``lmbda`` and ``momentum``), ``partial_fit`` for
    one. ``activation``, ``cost``, ``output``, ``init``, ``backend`` and ``dtype``
    are those of ``Network``. The defaults are the book's chapter 3 network
    (sigmoid, cross-entropy, eta 0.5) in float64, scikit-learn's precision.

    Attributes after fitting: ``classes_``, ``n_features_in_`` (and
    ``feature_names_in_`` for a DataFrame), ``network_`` (the ``Network``),
    ``history_`` (its ``History``, one record per epoch of every fit and
    partial_fit since the last fit).
    """

    def __init__(self, hidden_layer_sizes=(30,), *, activation="sigmoid", cost="cross_entropy", output=None,
                 init="normal", epochs=30, batch_size=10, eta=0.5, lmbda=0.0, momentum=0.0, backend="auto",
                 dtype="float64", random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.cost = cost
        self.output = output
        self.init = init
        self.epochs = epochs
        self.batch_size = batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.momentum = momentum
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state

    def _validate(self, X, y="no_validation", *, reset):
        return validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32], order="C")

    def _start(self, X, y, classes):
        """A new network for the features of X and ``classes``; the generator of its visiting orders."""
        self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        hidden = _hidden_sizes(self.hidden_layer_sizes)
        random = check_random_state(self.random_state)
        self.network_ = Network([X.shape[1], *hidden, len(self.classes_)], activation=self.activation,
                                cost=self.cost, output=self.output, init=self.init, dtype=self.dtype,
                                backend=self.backend, seed=int(random.randint(2 ** 31)))
        self._orders = np.random.default_rng(int(random.randint(2 ** 31)))
        self.history_ = []

    def _labels(self, y):
        labels = np.searchsorted(self.classes_, y)
        unknown = (labels >= len(self.classes_)) | (self.classes_[np.minimum(labels, len(self.classes_) - 1)] != y)
        if unknown.any():
            raise ValueError(f"y holds labels not in classes_ {self.classes_.tolist()}: "
                             f"{np.unique(np.asarray(y)[unknown]).tolist()}")
        return labels

    def _train(self, X, y, epochs):
        history = self.network_.fit(X, self._labels(y), epochs=epochs, batch_size=self.batch_size, eta=self.eta,
                                    lmbda=self.lmbda, momentum=self.momentum, seed=int(self._orders.integers(2 ** 31)),
                                    progress=False)
        self.history_.extend(history)
        return self

    def fit(self, X, y):
        """Train a new network on X (n, n_features) and labels y (n,) for ``epochs`` epochs; returns self."""
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        self._start(X, y, None)
        return self._train(X, y, self.epochs)

    def partial_fit(self, X, y, classes=None):
        """One epoch on X, y; the first call (or one after ``fit`` was never called) needs ``classes``."""
        first = not hasattr(self, "network_")
        X, y = self._validate(X, y, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit (all the labels y "
                                 "may hold)")
            self._start(X, y, classes)
        return self._train(X, y, 1)

    def predict_proba(self, X):
        """(n, n_classes): the softmax outputs, or the sigmoid outputs divided by their sum, one row per example."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        outputs = self.network_.feedforward(X).astype(np.float64)
        if self.network_.output == "softmax":
            return outputs
        totals = outputs.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, outputs / totals, 1.0 / len(self.classes_))

    def predict(self, X):
        """The class of the largest output for each row of X, from ``classes_``."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.classes_[self.network_.predict(X)]


def _hidden_sizes(value):
    """``hidden_layer_sizes`` (an int or a sequence of ints) as a list of positive ints; ValueError otherwise."""
    widths = [value] if is_integer(value) else list(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if widths is None or not all(is_integer(width) and width >= 1 for width in widths):
        raise ValueError(f"hidden_layer_sizes must be a positive integer or a sequence of them, such as (30,); "
                         f"got {value!r}")
    return [int(width) for width in widths]
