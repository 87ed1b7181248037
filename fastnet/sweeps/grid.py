"""A sweep's grid: which settings, in which combinations, and how each one trains.

A grid is a dict ``{name: [value, ...]}``; every name is an argument of
``Network`` (``NETWORK_OPTIONS``) or of ``Network.fit`` (``FIT_OPTIONS``). Its
configurations are every combination of one value per name (names in the
grid's order, the last varying fastest).
"""
import itertools
import json
import math
import time
import warnings

NETWORK_OPTIONS = ("sizes", "activation", "cost", "output", "init", "dtype", "backend")
FIT_OPTIONS = ("batch_size", "eta", "lmbda", "momentum", "training_metrics", "halve_eta_after")
DEFAULT_SIZES = [784, 16, 16, 10]  # fastnet train's network, where the grid does not say
MAX_ROWS = 100_000  # configurations x seeds of one sweep: each row is a network trained


def check_grid(grid):
    """The grid as a dict of non-empty lists, or ValueError naming what is wrong."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict {{name: [values]}}; got {grid!r}")
    checked = {}
    for name, values in grid.items():
        if name not in NETWORK_OPTIONS + FIT_OPTIONS:
            raise ValueError(f"grid name {name!r} is not a setting a sweep can vary; expected one of "
                             f"{', '.join(NETWORK_OPTIONS + FIT_OPTIONS)}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values; got {values!r}")
        checked[name] = [_plain(name, value) for value in values]
    count = math.prod(len(values) for values in checked.values())
    if count > MAX_ROWS:
        raise ValueError(f"grid holds {count:,} configurations; a sweep trains at most {MAX_ROWS:,} rows")
    return checked


def _plain(name, value):
    """A grid value as plain Python (NumPy scalars and arrays too), refused unless JSON can hold it: the results
    file and the resume key are JSON."""
    value = value.tolist() if hasattr(value, "tolist") else value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ValueError(f"grid[{name!r}] values must be numbers, strings, booleans, None or lists of them; "
                         f"got {value!r}") from None
    return value


def configurations(grid):
    """Every combination of one value per name: a list of dicts, the last name varying fastest."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def parse_grid(text):
    """``"eta=0.5,1,3 sizes=784,30,10;784,100,10 lmbda=0,5"`` as a grid dict.

    Space-separated ``name=values``; values comma-separated, numbers read as
    int or float; ``sizes`` (and ``halve_eta_after``) take lists separated by
    ``;``, each comma-separated.
    """
    grid = {}
    for item in text.split():
        name, equals, values = item.partition("=")
        if not equals or not name or not values:
            raise ValueError(f"--grid: expected name=value,value,... such as eta=0.5,1,3; got {item!r}")
        if name in grid:
            raise ValueError(f"--grid: {name} is given twice; give all its values once, such as {name}=0.5,3")
        if name in ("sizes", "halve_eta_after"):
            grid[name] = [[_number(v, name) for v in choice.split(",")] for choice in values.split(";")]
        else:
            grid[name] = [_scalar(v) for v in values.split(",")]
    return check_grid(grid)


def parse_seeds(text):
    """``"0-4"`` (a range, inclusive), ``"0,3,7"`` or ``"3"`` as a list of at most MAX_ROWS ints."""
    too_many = ValueError(f"--seeds: at most {MAX_ROWS:,} seeds; got {text[:40]!r}{'...' * (len(text) > 40)}")
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
            if last - first + 1 > MAX_ROWS:
                raise too_many
            seeds = list(range(first, last + 1))
        else:
            if text.count(",") >= MAX_ROWS:
                raise too_many
            seeds = [int(part) for part in text.split(",")]
    except ValueError as exc:
        if exc is too_many:
            raise
        raise ValueError(f"--seeds: expected a range such as 0-4 or a list such as 0,3,7; got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds: expected seeds >= 0; got {text!r}")
    return seeds


def _number(text, name):
    value = _scalar(text)
    if not isinstance(value, int):
        raise ValueError(f"--grid: {name} takes integers; got {text!r}")
    return value


def _scalar(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def train_one(settings, seed, X, y, test_X, test_y, epochs):
    """One row of a sweep: ``Network(sizes, seed=seed, ...).fit(X, y, epochs=epochs, seed=seed, test=...)``.

    Returns the settings with ``seed``, ``test_accuracy`` and ``train_cost``
    (after the last epoch) and ``seconds`` (construction and training); a
    configuration that fails gives the same row with ``error`` (the message)
    and NaN results, so that one bad setting does not end the sweep.
    """
    from ..mlp.network import Network

    network_options = {name: value for name, value in settings.items() if name in NETWORK_OPTIONS}
    fit_options = {name: value for name, value in settings.items() if name in FIT_OPTIONS}
    start = time.perf_counter()
    row = {**settings, "seed": seed}
    try:
        with warnings.catch_warnings():  # a worker has no one to show them to; a failure is reported instead
            warnings.simplefilter("ignore")
            net = Network(network_options.pop("sizes", DEFAULT_SIZES), seed=seed, **network_options)
            history = net.fit(X, y, epochs=epochs, seed=seed, test=(test_X, test_y), progress=False, **fit_options)
        row.update(test_accuracy=history[-1]["test_accuracy"], train_cost=history[-1]["train_cost"])
    except Exception as exc:  # noqa: BLE001 - reported in the row; the sweep goes on
        row.update(test_accuracy=math.nan, train_cost=math.nan, error=f"{type(exc).__name__}: {exc}")
    row["seconds"] = time.perf_counter() - start
    return row
