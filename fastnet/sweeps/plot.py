"""The picture of a sweep: its test accuracy against each setting it varied."""
import numpy as np

from ..mlp.pictures import pyplot, save_figure
from . import records


def draw_sweep(rows, names, path):
    """One panel per grid name that takes several values: each row's test accuracy (dots, one per
    configuration and seed) against that name's value, and the mean over the rows with that value (bars).
    ``rows``: a sweep's rows (dicts or a DataFrame); failed rows are left out."""
    plt = pyplot()
    rows = [row for row in records(rows) if "error" not in row or not isinstance(row["error"], str)]
    varied = [name for name in names if len({repr(row[name]) for row in rows}) > 1] or list(names)[:1]
    figure, axes = plt.subplots(1, len(varied), figsize=(3.6 * len(varied), 3.4), squeeze=False, sharey=True)
    for axis, name in zip(axes[0], varied):
        values = list(dict.fromkeys(repr(row[name]) for row in rows))  # in the grid's order
        for position, value in enumerate(values):
            accuracy = [100 * row["test_accuracy"] for row in rows if repr(row[name]) == value]
            axis.bar(position, np.mean(accuracy), color="#c8d8ea", width=0.6)
            jitter = np.linspace(-0.18, 0.18, len(accuracy)) if len(accuracy) > 1 else [0.0]
            axis.plot(position + np.asarray(jitter), accuracy, ".", color="#1f4e79")
        axis.set_xticks(range(len(values)), [value.replace(", ", "-") for value in values], rotation=20)
        axis.set_xlabel(name)
        low = min(100 * row["test_accuracy"] for row in rows)
        axis.set_ylim(max(0.0, low - 2), 100)
    axes[0][0].set_ylabel("test accuracy (%)")
    figure.suptitle(f"{len(rows)} runs: each dot one configuration and seed, bars the mean")
    figure.tight_layout()
    return save_figure(figure, path)
