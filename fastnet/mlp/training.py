"""The training loop behind ``Network.fit``: epochs, visiting orders, monitoring, schedules, checkpoints."""
import math
import os
import time
import warnings

import numpy as np

from . import files as persistence
from ..core import model_files
from ..backends.numpy.mlp import mean_cost
from ..core.checks import (as_batch, as_labels, as_targets, check_choice, check_finite_params, check_int,
                           check_nonnegative_finite, check_positive_finite, check_seed)
from ..core.storage import check_destination
from ..core.progress import ProgressBar, will_draw
from ..core.records import Records, TrainingDiverged, check_callbacks, check_same_settings

# With a progress bar, an epoch is handed to the backend in about this many
# pieces (cut at mini-batch boundaries, so the result is the same).
PROGRESS_PIECES = 50


class History(Records):
    """What ``fit`` measured: one dict per epoch.

    Keys: ``epoch`` (from 1), ``eta`` (the learning rate used in the epoch),
    ``seconds`` (time spent in SGD), ``train_cost`` and ``train_accuracy``
    (by default the running values over the epoch, from the forward passes SGD
    made, each example at the parameters of its mini-batch's start, as Keras
    reports them; with ``training_metrics="exact"``, measured over the training
    set after the epoch) and, when those sets were given,
    ``validation_cost``, ``validation_accuracy``, ``test_cost`` and
    ``test_accuracy``. Costs are the mean of the network's cost C_x; the L2
    penalty is not included, so training and validation costs compare.
    ``history["train_cost"]`` gives one column as a list.

    ``best_epoch`` is the epoch with the highest validation accuracy (None
    without validation data); ``stopped_early`` tells whether early stopping
    ended training (the parameters are then those of ``best_epoch``).
    """

    best_epoch = None
    stopped_early = False


class TrainingWarning(UserWarning):
    """Training runs but is going nowhere: the cost rose by orders of magnitude, or accuracy sits at chance."""


# Warn when the training cost has grown this many times over its first value, or when the training accuracy
# has stayed near chance (1 / classes: within CHANCE_MARGIN, or two standard deviations of the accuracy of
# n guesses at chance when that is wider) for STALLED_EPOCHS epochs in a row on at least STALL_MIN_EXAMPLES
# examples (fewer say little about chance).
COST_RISE_FACTOR = 100.0
CHANCE_MARGIN = 0.02
STALLED_EPOCHS = 3
STALL_MIN_EXAMPLES = 100


class _Watch:
    """Says once, as a TrainingWarning, when training diverges without NaN or stalls at chance."""

    def __init__(self, classes, examples):
        self.chance, self.first_cost, self.at_chance, self.warned = 1 / classes, None, 0, False
        self.watch_chance = examples >= STALL_MIN_EXAMPLES
        self.margin = max(CHANCE_MARGIN, 2 * math.sqrt(self.chance * (1 - self.chance) / max(examples, 1)))

    def update(self, record):
        cost, accuracy = record["train_cost"], record["train_accuracy"]
        self.first_cost = cost if self.first_cost is None else self.first_cost
        near_chance = self.watch_chance and abs(accuracy - self.chance) <= self.margin
        self.at_chance = self.at_chance + 1 if near_chance else 0
        if self.warned:
            return
        if cost > COST_RISE_FACTOR * self.first_cost:
            message = f"the training cost rose from {self.first_cost:.3g} to {cost:.3g}"
        elif self.at_chance >= STALLED_EPOCHS:
            message = (f"the training accuracy has stayed at chance ({100 * accuracy:.1f}%, chance "
                       f"{100 * self.chance:.1f}%) for {self.at_chance} epochs")
        else:
            return
        self.warned = True
        warnings.warn(f"epoch {record['epoch']}: {message}; training is not converging (is eta "
                      f"{record['eta']:g} too large?)", TrainingWarning, stacklevel=4)


class _EvaluationSet:
    """Rows prepared for the backend, their targets and labels: what ``fit`` measures after each epoch."""

    def __init__(self, net, inputs, targets, labels):
        self.inputs, self.targets, self.labels = inputs, targets, labels
        self.outputs = np.empty((len(labels), net.sizes[-1]), net.dtype)

    def measure(self, net, name):
        """{name_cost, name_accuracy} from one forward pass."""
        params, sizes, activation, output, cost = net.kernel_arguments
        outputs = net.kernels.feedforward(params, sizes, activation, output, self.inputs, self.outputs)
        return {f"{name}_cost": mean_cost(cost, outputs, self.targets),
                f"{name}_accuracy": float(np.count_nonzero(outputs.argmax(axis=1) == self.labels)) / len(self.labels)}


def batch_source(net, argument, X):
    """Rows X (n, n_0), n >= 1, as an array the backend's ``prepare_inputs`` reads as it is.

    uint8, float32 and float64 arrays in C order are kept: compiled backends
    convert them and check them finite in one pass when they prepare them, and
    reuse the preparation of the same unchanged array. Anything else is
    converted (and checked) here.
    """
    width = net.sizes[0]
    if (isinstance(X, np.ndarray) and X.dtype in (np.uint8, np.float32, np.float64) and X.ndim == 2
            and X.flags.c_contiguous and len(X) >= 1 and X.shape[1] == width):
        return X
    return as_batch(argument, X, width, net.dtype)


def _prepared(net, argument, source):
    return net.kernels.prepare_inputs(source, net.dtype, argument=argument)


def _check_pair(net, argument, pair):
    """(rows for ``batch_source``, targets, labels) of ``pair`` = (X, y), checked; None for None."""
    if pair is None:
        return None
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"{argument} must be a pair (X, y)")
    rows = batch_source(net, f"{argument}[0]", pair[0])
    labels = as_labels(f"{argument}[1]", pair[1], len(rows), net.sizes[-1])
    return rows, as_targets(f"{argument}[1]", labels, len(rows), net.sizes[-1], net.dtype), labels


def _check_patience(argument, value, validation):
    if value is None:
        return None
    value = check_int(argument, value, 1)
    if validation is None:
        raise ValueError(f"{argument} watches the validation accuracy: pass validation=(X_val, y_val) too")
    return value


def _check_epochs(argument, epochs):
    """``epochs`` (None or integers >= 1) as a set."""
    if epochs is None:
        return set()
    if not hasattr(epochs, "__iter__") or isinstance(epochs, (str, bytes)):
        raise TypeError(f"{argument} must be a list of epoch numbers; got {epochs!r}")
    return {check_int(f"{argument}[]", epoch, 1) for epoch in epochs}


def _augmented(net, augment, rows, rng):
    """The rows of this epoch, ``augment(rows, rng)``, checked and prepared (a new array every epoch)."""
    changed = augment(rows, rng)
    if not (isinstance(changed, np.ndarray) and changed.shape == rows.shape):
        raise ValueError(f"augment must return an array of shape {rows.shape}; got "
                         f"{getattr(changed, 'shape', type(changed).__name__)}")
    return _prepared(net, "augment(X, rng)", batch_source(net, "augment(X, rng)", changed))


class _Plateau:
    """Epochs since the validation accuracy last improved, for the schedule and early stopping."""

    def __init__(self):
        self.best_accuracy, self.best_epoch, self.since_best, self.since_change = -1.0, None, 0, 0

    def update(self, epoch, accuracy):
        """Count one epoch; True when it is the best so far."""
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.best_epoch, self.since_best, self.since_change = accuracy, epoch, 0, 0
            return True
        self.since_best += 1
        self.since_change += 1
        return False


TRAINING_METRICS = ("running", "exact")


def fit(net, X, y, *, epochs, batch_size, eta, lmbda, momentum, test, validation, seed, progress, callbacks,
        halve_eta_patience, early_stopping_patience, checkpoint, resume, training_metrics="running",
        halve_eta_after=None, augment=None):
    """Mini-batch SGD on ``net``; see ``Network.fit``."""
    check_finite_params(net.params)
    rows = batch_source(net, "X", X)
    targets = as_targets("y", y, len(rows), net.sizes[-1], net.dtype)
    epochs = check_int("epochs", epochs, 0)
    batch_size = min(check_int("batch_size", batch_size, 1), len(rows))  # larger: one batch of every example
    eta = check_positive_finite("eta", eta)
    lmbda = check_nonnegative_finite("lmbda", lmbda)
    momentum = check_nonnegative_finite("momentum", momentum, below=1)
    callbacks = check_callbacks(callbacks)
    running = check_choice("training_metrics", training_metrics, TRAINING_METRICS) == "running"
    halve_eta_patience = _check_patience("halve_eta_patience", halve_eta_patience, validation)
    early_stopping_patience = _check_patience("early_stopping_patience", early_stopping_patience, validation)
    halve_eta_after = _check_epochs("halve_eta_after", halve_eta_after)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a callable f(X, rng) giving the X of an epoch; got {augment!r}")
    rng = net.rng if check_seed("seed", seed) is None else np.random.default_rng(seed)
    checkpoint = None if checkpoint is None else os.fspath(checkpoint)
    if checkpoint is not None:
        check_destination("checkpoint", checkpoint)
    validation, test = _check_pair(net, "validation", validation), _check_pair(net, "test", test)
    # Every argument is checked; the backend now prepares the rows (once for all epochs).
    training = _EvaluationSet(net, _prepared(net, "X", rows), targets, targets.argmax(axis=1))
    validation = None if validation is None else _EvaluationSet(net, _prepared(net, "validation[0]", validation[0]),
                                                                *validation[1:])
    test = None if test is None else _EvaluationSet(net, _prepared(net, "test[0]", test[0]), *test[1:])

    settings = {"examples": len(rows), "batch_size": batch_size, "eta": eta, "lmbda": lmbda, "momentum": momentum,
                "halve_eta_patience": halve_eta_patience, "early_stopping_patience": early_stopping_patience}
    if halve_eta_after:  # only when given: checkpoints written before these options still resume
        settings["halve_eta_after"] = sorted(halve_eta_after)
    if augment is not None:
        settings["augment"] = repr(augment)
    l2 = lmbda / len(rows)  # the book's λ/n: each step multiplies weights by 1 − eta λ/n
    velocity = np.zeros_like(net.params) if momentum else None
    best_params = net.params.copy() if early_stopping_patience else None
    history, plateau, first_epoch, last_epoch = History(), _Plateau(), 1, epochs
    watch = _Watch(net.sizes[-1], len(rows))
    if resume is not None:
        completed, eta, finished = _resume(net, resume, settings, rng, velocity, best_params, history, plateau)
        if completed > epochs:
            raise ValueError(f"{resume}: the checkpoint has already trained {completed} epochs, more than "
                             f"epochs={epochs}")
        first_epoch, last_epoch = completed + 1, completed if finished else epochs

    def save_checkpoint(completed, rng_state, finished):
        if checkpoint is None:
            return
        state = {"epoch": completed, "eta": eta, "finished": finished, "settings": settings, "rng": rng_state,
                 "history": list(history), "stopped_early": history.stopped_early,
                 "plateau": vars(plateau)}
        arrays = {"velocity": velocity} if momentum else {}
        if best_params is not None:
            arrays["best_params"] = best_params
        persistence.save_checkpoint(net, checkpoint, state, arrays)

    num_batches = -(-len(rows) // batch_size)
    pieces = min(num_batches, PROGRESS_PIECES) if will_draw(progress) else 1
    batches_per_piece = -(-num_batches // pieces)
    for epoch in range(first_epoch, last_epoch + 1):
        rng_state = rng.bit_generator.state
        order = rng.permutation(len(rows))
        inputs = training.inputs if augment is None else _augmented(net, augment, rows, rng)
        last_good = net.params.copy()
        last_velocity = None if velocity is None else velocity.copy()
        bar = ProgressBar(len(rows), f"epoch {epoch}/{epochs}", enabled=progress, unit="img")
        measured = np.zeros(2) if running else None  # Σ C_x and the number right, from the epoch's forward passes
        start = time.perf_counter()
        for begin in range(0, len(rows), batches_per_piece * batch_size):
            piece = order[begin:begin + batches_per_piece * batch_size]
            net.kernels.sgd_epoch(*net.kernel_arguments, inputs, targets, piece, batch_size, eta, l2,
                                  momentum, velocity, measured)
            bar.update(begin + len(piece))
        seconds = time.perf_counter() - start
        bar.close()
        record = {"epoch": epoch, "eta": eta, "seconds": seconds}
        if running:
            record.update(train_cost=float(measured[0]) / len(rows), train_accuracy=float(measured[1]) / len(rows))
        else:
            record.update(training.measure(net, "train"))
        watch.update(record)
        finite_params = bool(np.isfinite(net.params).all())
        if not (np.isfinite(record["train_cost"]) and finite_params):
            net.params = last_good
            if velocity is not None:
                velocity[...] = last_velocity
            save_checkpoint(epoch - 1, rng_state, False)
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the cost became {record['train_cost']}"
                f"{'' if finite_params else ' and the parameters hold NaN or infinite values'}; "
                f"try a smaller eta than {eta}{f' or lmbda than {lmbda}' if eta * l2 >= 1 else ''} "
                f"(the parameters from before this epoch are kept"
                f"{' and checkpointed' if checkpoint else ''})"
            )
        stop = False
        if validation is not None:
            record.update(validation.measure(net, "validation"))
            if plateau.update(epoch, record["validation_accuracy"]):
                history.best_epoch = epoch
                if best_params is not None:
                    best_params[...] = net.params
            if halve_eta_patience and plateau.since_change >= halve_eta_patience:
                eta, plateau.since_change = eta / 2, 0
            stop = bool(early_stopping_patience) and plateau.since_best >= early_stopping_patience
        if epoch in halve_eta_after:  # the eta of the next epoch, and of a checkpoint of this one
            eta /= 2
        if test is not None:
            record.update(test.measure(net, "test"))
        history.append(record)
        if stop:  # early stopping: back to the parameters of the best validation epoch
            history.stopped_early, net.params = True, best_params
        stop = any([callback(net, record) for callback in callbacks]) or stop
        save_checkpoint(epoch, rng.bit_generator.state, stop)
        if stop:
            break
    return history


def _resume(net, path, settings, rng, velocity, best_params, history, plateau):
    """Restore the training state saved at ``path``; returns (epochs completed, current eta, finished)."""
    params, state, arrays = _read_checkpoint(path, net)
    needed = (["velocity"] if velocity is not None else []) + (["best_params"] if best_params is not None else [])
    try:  # read and check everything before changing anything
        saved_settings, completed, eta = dict(state["settings"]), int(state["epoch"]), float(state["eta"])
        type(rng.bit_generator)().state = state["rng"]  # a valid generator state (tried on a spare generator)
        records, plateau_state = list(state["history"]), dict(state["plateau"])
        saved_arrays = [arrays[name] for name in needed]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{path}: damaged training state ({type(exc).__name__}: {exc})") from None
    check_same_settings(path, saved_settings, settings, "data")
    if completed < 0 or len(records) != completed or not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"{path}: damaged training state (epoch {completed}, {len(records)} epochs of history, "
                         f"eta {eta})")
    net.params = params
    rng.bit_generator.state = state["rng"]
    for target, saved in zip([a for a in (velocity, best_params) if a is not None], saved_arrays):
        target[...] = saved
    history.extend(records)
    history.stopped_early = bool(state.get("stopped_early"))
    vars(plateau).update(plateau_state)
    history.best_epoch = plateau.best_epoch
    return completed, eta, bool(state.get("finished"))


def _read_checkpoint(path, net):
    """(params, state, arrays) of the checkpoint at ``path``, checked to belong to a network like ``net``."""
    path = os.fspath(path)
    with model_files.open_file(path) as file:
        settings, params = persistence.read_network(file)
        ours = dict(sizes=net.sizes, activation=net.activation, cost=net.cost_name, output=net.output,
                    dtype=net.dtype.name)
        for name, value in ours.items():
            if settings[name] != value:
                raise ValueError(f"{path}: the checkpoint's network has {name} {settings[name]!r}, "
                                 f"this network {value!r}")
        if not np.isfinite(params).all():
            raise ValueError(f"{path}: params must be {net.num_params} finite values")
        state, arrays = model_files.read_training_state(file, params)
    return params, state, arrays
