"""The training loop behind ``Network.fit``: epochs, visiting orders, history."""
import time

import numpy as np

from ._checks import as_batch, as_labels, as_targets, check_int, check_positive_finite, check_seed
from ._progress import ProgressBar, will_draw

# With a progress bar, an epoch is handed to the backend in about this many
# pieces (cut at mini-batch boundaries, so the result is the same).
PROGRESS_PIECES = 50


class History(list):
    """What ``fit`` measured: one dict per epoch.

    Keys: ``epoch`` (from 1), ``train_cost`` (mean cost over the training set
    after the epoch), ``seconds`` (time spent in SGD during the epoch) and,
    when test data was given, ``test_accuracy``. ``history["train_cost"]``
    gives one column as a list.
    """

    def __getitem__(self, key):
        if isinstance(key, str):
            return [epoch[key] for epoch in self]
        return super().__getitem__(key)


class TrainingDiverged(FloatingPointError):
    """The cost became NaN or infinite; the parameters are those from before the bad epoch."""


def _check_test(net, test):
    """(checked rows, labels), or None."""
    if test is None:
        return None
    if not isinstance(test, (tuple, list)) or len(test) != 2:
        raise TypeError("test must be a pair (X_test, y_test)")
    rows = as_batch("test[0]", test[0], net.sizes[0], net.dtype)
    labels = as_labels("test[1]", test[1], len(rows), net.sizes[-1])
    return rows, labels


def _check_callbacks(callbacks):
    callbacks = list(callbacks or ())
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables f(net, record); got {callback!r}")
    return callbacks


def fit(net, X, y, *, epochs, batch_size, eta, test, seed, progress, callbacks):
    """Mini-batch SGD on ``net``; see ``Network.fit``."""
    rows = as_batch("X", X, net.sizes[0], net.dtype)
    targets = as_targets("y", y, len(rows), net.sizes[-1], net.dtype)
    epochs = check_int("epochs", epochs, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    eta = check_positive_finite("eta", eta)
    test = _check_test(net, test)
    callbacks = _check_callbacks(callbacks)
    rng = net._rng if check_seed("seed", seed) is None else np.random.default_rng(seed)
    # Every argument is checked; the backend now prepares the rows once for all epochs.
    inputs = net._prepare(rows)
    if test is not None:
        test = net._prepare(test[0]), test[1]

    num_batches = -(-len(rows) // batch_size)
    pieces = min(num_batches, PROGRESS_PIECES) if will_draw(progress) else 1
    batches_per_piece = -(-num_batches // pieces)
    history = History()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(rows))
        last_good = net.params.copy()
        bar = ProgressBar(len(rows), f"epoch {epoch}/{epochs}", enabled=progress)
        start = time.perf_counter()
        for begin in range(0, len(rows), batches_per_piece * batch_size):
            piece = order[begin:begin + batches_per_piece * batch_size]
            net._sgd_batches(inputs, targets, piece, batch_size, eta)
            bar.update(begin + len(piece))
        seconds = time.perf_counter() - start
        bar.close()
        record = {"epoch": epoch, "train_cost": net._mean_cost(inputs, targets), "seconds": seconds}
        finite_params = bool(np.isfinite(net.params).all())
        if not (np.isfinite(record["train_cost"]) and finite_params):
            net.params = last_good
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the cost became {record['train_cost']}"
                f"{'' if finite_params else ' and the parameters hold NaN or infinite values'}; "
                f"try a smaller eta than {eta} (the parameters from before this epoch are kept)"
            )
        if test is not None:
            record["test_accuracy"] = net._count_correct(*test) / len(test[1])
        history.append(record)
        if any([callback(net, record) for callback in callbacks]):
            break
    return history
