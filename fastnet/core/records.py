"""What a training run of either model shares: its records, its lock, how it fails, its callbacks, and the
check that a checkpoint is resumed with the settings it was made with."""
import contextlib


class Records(list):
    """A list of dicts, one per measurement; ``records["key"]`` gives one column as a list."""

    def __getitem__(self, key):
        if isinstance(key, str):
            return [record[key] for record in self]
        return super().__getitem__(key)


@contextlib.contextmanager
def held(lock, model):
    """Hold ``lock`` for one training run of ``model``; a second run at the same time raises RuntimeError.

    Two threads training one model would interleave their steps on the same
    parameters and silently lose work. Predicting is not held: it runs in
    parallel (without the GIL on the compiled backends).
    """
    if not lock.acquire(blocking=False):
        raise RuntimeError(f"this {type(model).__name__} is already training in another thread; train a copy "
                           "(fastnet.load of a saved file) instead")
    try:
        yield model
    finally:
        lock.release()


class TrainingDiverged(FloatingPointError):
    """The cost became NaN or infinite; the parameters are those from before the bad epoch."""


def check_callbacks(callbacks):
    """``callbacks`` (None, or an iterable of callables f(model, record)) as a list."""
    if callbacks is not None and (callable(callbacks) or not hasattr(callbacks, "__iter__")):
        raise TypeError(f"callbacks must be a list of callables f(model, record); got {callbacks!r}")
    callbacks = list(callbacks or ())
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables f(model, record); got {callback!r}")
    return callbacks


def check_same_settings(path, saved, settings, data):
    """Raise ValueError unless the checkpoint's ``saved`` settings are the ``settings`` of this call."""
    different = [f"{key} {saved.get(key)!r} (now {settings.get(key)!r})" for key in {**saved, **settings}
                 if saved.get(key) != settings.get(key)]
    if different:
        raise ValueError(f"{path}: the checkpoint was trained with other settings: {', '.join(different)}; "
                         f"resume with the same {data} and fit arguments")
