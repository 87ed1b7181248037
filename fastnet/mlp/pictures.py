"""What the network has learned, in numbers and in pictures (PNG files drawn with matplotlib).

Each question of the seed has a function that computes the answer and one
that draws it (``fastnet show ...`` on the command line runs both):

- ``first_layer_images`` / ``draw_first_layer``: each hidden neuron's incoming
  weights as a 28x28 image, on a diverging colour map ("just random-looking");
- ``draw_learning_curves``: cost and accuracy per epoch from a ``History``;
- ``confusion_matrix`` / ``draw_confusion_matrix``: true against predicted digit;
- ``junk_confidence`` / ``draw_junk``: how confidently the network names a digit
  for uniform noise;
- ``archetype`` / ``draw_archetypes``: gradient descent on the input image
  towards a chosen answer, raw and regularised (L2 and blur on the image);

matplotlib is imported only when something is drawn
(``pip install matplotlib``, or the ``plot`` extra).
"""
import math

import numpy as np

from ..core.checks import as_batch, as_labels, check_int, check_seed

DIVERGING = "RdBu_r"  # negative weights blue, positive red, zero white


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend; a clear ImportError when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError('drawing needs matplotlib: pip install matplotlib') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    return path


def image_side(net):
    """The side of the square image the network's input layer reads (28 for MNIST's 784), or ValueError."""
    side = math.isqrt(net.sizes[0])
    if side * side != net.sizes[0]:
        raise ValueError(f"the input layer ({net.sizes[0]} values) is not a square image")
    return side


# ---------------------------------------------------------------------------
# First-layer weights


def first_layer_images(net):
    """(n_1, side, side): row j of W_0, the weights into hidden neuron j, as the image it responds to."""
    side = image_side(net)
    return np.asarray(net.weights[0], dtype=np.float64).reshape(-1, side, side)


def draw_first_layer(net, path, *, columns=None):
    """One image per hidden neuron on one diverging colour scale centred at 0, shown beside them."""
    images = first_layer_images(net)
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    limit = float(np.abs(images).max()) or 1.0
    plt = pyplot()
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns + 1.0, 1.3 * rows + 0.5), squeeze=False)
    shown = None
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index < len(images):
            shown = axis.imshow(images[index], cmap=DIVERGING, vmin=-limit, vmax=limit)
            axis.set_title(str(index), fontsize=7)
    figure.suptitle(f"first-layer weights of {net.sizes} (red +, blue -)")
    figure.tight_layout()
    figure.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    return save_figure(figure, path)


# ---------------------------------------------------------------------------
# Learning curves


def draw_learning_curves(history, path, *, title=None):
    """Cost (left) and accuracy (right) per epoch for every set the history measured."""
    if not len(history):
        raise ValueError("history is empty: train for at least one epoch")
    epochs = history["epoch"]
    plt = pyplot()
    figure, (cost_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("train", "validation", "test"):
        if f"{name}_cost" in history[0]:
            cost_axis.plot(epochs, history[f"{name}_cost"], label=name)
            accuracy_axis.plot(epochs, [100 * a for a in history[f"{name}_accuracy"]], label=name)
    cost_axis.set_ylabel("mean cost")
    accuracy_axis.set_ylabel("accuracy (%)")
    for axis in (cost_axis, accuracy_axis):
        axis.set_xlabel("epoch")
        axis.grid(True, alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


# ---------------------------------------------------------------------------
# Confusion matrix


def confusion_matrix(net, X, y):
    """(k, k) int64 counts: entry [i, j] is how many examples of class i the network called j."""
    rows = as_batch("X", X, net.sizes[0], net.dtype)
    labels = as_labels("y", y, len(rows), net.sizes[-1])
    classes = net.sizes[-1]
    return np.bincount(labels * classes + net.predict(rows), minlength=classes * classes).reshape(classes, classes)


def draw_confusion_matrix(matrix, path):
    """The matrix as a heat map with its counts written in."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    shown = axis.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, str(count), ha="center", va="center", fontsize=7,
                  color="white" if count > matrix.max() / 2 else "black")
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_xticks(range(len(matrix)))
    axis.set_yticks(range(len(matrix)))
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axis.set_title(f"confusion matrix: {100 * accuracy:.2f}% correct of {matrix.sum():,}")
    figure.colorbar(shown)
    figure.tight_layout()
    return save_figure(figure, path)


# ---------------------------------------------------------------------------
# Random junk


def junk_confidence(net, *, count=1000, seed=0):
    """What the network says about ``count`` images of uniform noise in [0, 1].

    Returns a dict: ``images`` (count, n_0), ``labels`` (the digit it names),
    ``confidence`` (its largest output: a probability for softmax outputs,
    the strongest sigmoid activation otherwise), ``share_confident`` (the
    fraction with confidence above 0.9) and ``label_counts``.
    """
    count = check_int("count", count, 1)
    rng = np.random.default_rng(check_seed("seed", seed))
    images = rng.random((count, net.sizes[0])).astype(net.dtype)
    outputs = net.feedforward(images)
    labels = outputs.argmax(axis=1)
    confidence = outputs.max(axis=1).astype(np.float64)
    return {"images": images, "labels": labels, "confidence": confidence,
            "share_confident": float(np.mean(confidence > 0.9)),
            "label_counts": np.bincount(labels, minlength=net.sizes[-1])}


def draw_junk(reports, path):
    """For each network (name -> ``junk_confidence`` report): the confidence histogram and a few noise images."""
    plt = pyplot()
    shown = 5
    figure, axes = plt.subplots(len(reports), shown + 1, figsize=(2.2 * (shown + 1), 2.4 * len(reports)),
                                squeeze=False, gridspec_kw={"width_ratios": [2.5] + [1] * shown})
    for row, (name, report) in zip(axes, reports.items()):
        row[0].hist(report["confidence"], bins=20, range=(0, 1))
        row[0].set_title(f"{name}\n{100 * report['share_confident']:.0f}% named with confidence > 0.9", fontsize=8)
        row[0].set_xlabel("largest output")
        row[0].set_ylabel("noise images")
        side = math.isqrt(report["images"].shape[1])
        for axis, image, label, confidence in zip(row[1:], report["images"], report["labels"], report["confidence"]):
            axis.imshow(image.reshape(side, side), cmap="gray")
            axis.set_title(f"'{label}' ({confidence:.2f})", fontsize=8)
            axis.set_axis_off()
    figure.suptitle("uniform noise: which digit, and how sure")
    figure.tight_layout()
    return save_figure(figure, path)


# ---------------------------------------------------------------------------
# Drawing an archetype


def blur(image, sigma):
    """A square image (side², flat) convolved with a Gaussian of ``sigma`` pixels (separable, edges clamped)."""
    side = math.isqrt(image.size)
    radius = max(1, int(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    picture = image.reshape(side, side)
    for axis in (0, 1):
        padded = np.pad(picture, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        picture = sum(weight * np.take(padded, np.arange(side) + radius + offset, axis=axis)
                      for weight, offset in zip(kernel, offsets))
    return picture.reshape(-1)


def archetype(net, digit, *, steps=300, step_size=0.02, l2=0.0, blur_sigma=0.0, blur_every=10, seed=0):
    """An input image the network takes for ``digit``: gradient descent on the image, not the weights.

    From faint noise on black (as MNIST's background; from mid-grey the hidden
    sigmoids saturate and the gradient vanishes), each step moves the image
    against the gradient of ``C_x(target=digit) + (l2/2) ‖x‖²`` by
    ``step_size`` times the gradient scaled to a root-mean-square pixel change
    of 1, then clips pixels to [0, 1]; every ``blur_every`` steps, a Gaussian blur of ``blur_sigma``
    pixels (0: none). ``l2`` > 0 darkens pixels that do not help and blur
    smooths the speckle: together they give strokes rather than noise.
    C_x is the cross-entropy (sigmoid outputs) or log-likelihood (softmax)
    whatever cost the network was trained with: the quadratic cost's gradient
    vanishes where an output saturates, and the descent would stall there.
    Returns the image (n_0,) as float64.
    """
    side = image_side(net)
    digit = int(as_labels("digit", [digit], 1, net.sizes[-1])[0])
    steps, blur_every = check_int("steps", steps, 1), check_int("blur_every", blur_every, 1)
    rng = np.random.default_rng(check_seed("seed", seed))
    cost = "log_likelihood" if net.output == "softmax" else "cross_entropy"
    image = 0.1 * rng.random(side * side)
    for step in range(1, steps + 1):
        gradient = net.input_gradient(image, digit, cost=cost).astype(np.float64) + l2 * image
        image = np.clip(image - step_size * gradient / max(np.sqrt(np.mean(gradient ** 2)), 1e-30), 0, 1)
        if blur_sigma > 0 and step % blur_every == 0:
            image = blur(image, blur_sigma)
    return image


def draw_archetypes(net, path, *, digits=range(10), raw=None, regularised=None):
    """Two rows: the raw archetype of each digit and the regularised one, titled with the network's confidence.

    ``raw`` and ``regularised`` are the keyword arguments of ``archetype``
    for each row (defaults: none; l2 0.02 with a blur of 0.5 pixels).
    Returns {(row name, digit): the network's output (n_L,) for that image}.
    """
    rows = {"raw": raw or {}, "L2 + blur": regularised or {"l2": 0.02, "blur_sigma": 0.5}}
    digits = list(digits)
    side = image_side(net)
    plt = pyplot()
    figure, axes = plt.subplots(2, len(digits), figsize=(1.4 * len(digits), 3.4), squeeze=False)
    outputs = {}
    for row, (name, options) in zip(axes, rows.items()):
        for axis, digit in zip(row, digits):
            image = archetype(net, digit, **options)
            output = net.feedforward(image)
            outputs[name, digit] = output
            axis.imshow(image.reshape(side, side), cmap="gray", vmin=0, vmax=max(image.max(), 1e-6))
            axis.set_title(f"{digit}: {output[digit]:.2f}", fontsize=8)
            axis.set_axis_off()
        row[0].text(-0.3, 0.5, name, transform=row[0].transAxes, rotation=90, va="center", ha="right")
    figure.suptitle("what the network takes for each digit (title: its output for that digit; "
                    "each image on its own grey scale)")
    figure.tight_layout()
    save_figure(figure, path)
    return outputs


# ---------------------------------------------------------------------------
# A sweep's results


# ---------------------------------------------------------------------------
# The cost surface and the GPT's embeddings (fastnet.lessons)


def draw_surface(surface, path, *, names=None):
    """A ``lessons.cost_surface`` as a heat map with contour lines and gradient descent's path (white)."""
    plt = pyplot()
    i, j = surface["params"]
    names = names or [f"params[{i}]", f"params[{j}]"]
    first, second = (value + surface["offsets"] for value in surface["values"])
    figure, axis = plt.subplots(figsize=(6.2, 5.2))
    shown = axis.contourf(second, first, surface["grid"], levels=20, cmap="magma")
    axis.contour(second, first, surface["grid"], levels=10, colors="white", linewidths=0.5, alpha=0.5)
    path_points = surface["path"]
    axis.plot(path_points[:, 1], path_points[:, 0], color="white", linewidth=2, marker=".", markersize=3)
    axis.plot(*surface["values"][::-1], "o", color="white")
    axis.set_xlabel(names[1])
    axis.set_ylabel(names[0])
    axis.set_title(f"mean cost over two parameters; gradient descent: {path_points[0, 2]:.4f} → "
                   f"{path_points[-1, 2]:.4f}", fontsize=10)
    figure.colorbar(shown, label="mean cost")
    figure.tight_layout()
    return save_figure(figure, path)


def draw_embeddings(points, tokens, path):
    """Token embeddings projected to 2-D (``lessons.embedding_points``), each labelled with its token."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 7))
    axis.scatter(points[:, 0], points[:, 1], s=8, color="#4a90d9")
    for (x, y), token in zip(points, tokens):
        shown = token.replace("\n", "⏎").replace(" ", "␣")[:8]
        axis.annotate(shown, (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
    axis.set_xlabel("first principal direction")
    axis.set_ylabel("second principal direction")
    axis.set_title(f"{len(tokens)} token embeddings, projected by PCA")
    figure.tight_layout()
    return save_figure(figure, path)
