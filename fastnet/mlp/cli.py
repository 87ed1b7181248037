"""``fastnet train`` and ``fastnet show``: the digit network on MNIST from the command line."""
import argparse
import os
import time

import numpy as np

from .. import backends
from ..core.checks import DTYPES, check_int, check_nonnegative_finite, check_positive_finite
from ..core.codes import ACTIVATIONS, COSTS, OUTPUTS
from ..core.storage import check_destination
from .init import INITS


def layer_sizes(text):
    try:
        return [int(width) for width in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 784,30,10; got {text!r}") \
            from None


def _epoch_numbers(text):
    try:
        return [int(epoch) for epoch in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epoch numbers such as 20,30; got {text!r}") \
            from None


MNIST_CLASSES = 10
SHOWS = ("weights", "curves", "confusion", "junk", "archetype", "surface", "embeddings")

# Recipes for ``fastnet train --preset NAME``: option defaults, measured in BENCHMARKS.md ("The best preset").
PRESETS = {
    "best": dict(sizes=[784, 300, 10], activation="relu", cost="log_likelihood", init="he", epochs=30,
                 batch_size=100, eta=0.05, momentum=0.9, lmbda=5.0, shift=1, halve_eta_after=[15, 22, 27]),
}


def _preset_text(name):
    return ", ".join(f"--{key.replace('_', '-')} {','.join(map(str, value)) if isinstance(value, list) else value}"
                     for key, value in PRESETS[name].items())


def _network_options(parser, sizes=(784, 16, 16, 10)):
    text = ",".join(map(str, sizes))
    parser.add_argument("--sizes", type=layer_sizes, default=list(sizes), help=f"layer widths (default {text})")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid",
                        help="hidden activation (default sigmoid)")
    parser.add_argument("--cost", choices=COSTS, default="quadratic", help="default quadratic")
    parser.add_argument("--output", choices=OUTPUTS, default=None, help="output layer (default: the cost's own)")
    parser.add_argument("--init", choices=INITS, default="normal", help="initial weights (default normal, the book's)")
    parser.add_argument("--backend", default="auto", help=f"auto or one of {', '.join(backends.names())}")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="of the parameters and the arithmetic (default float32)")
    parser.add_argument("--seed", type=int, default=None,
                        help="the same seed gives the same initial parameters and visiting orders (default: random)")
    parser.add_argument("--data", metavar="DIR", default=None, help="folder with the four MNIST IDX files (else: "
                        "$FASTNET_DATA, the cache, the copy shipped with fastnet)")
    parser.add_argument("--no-download", action="store_true", help="never use the network")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the MNIST checksums (for other IDX data such as Fashion-MNIST)")


def _training_options(parser, epochs=30):
    parser.add_argument("--epochs", type=int, default=epochs, help=f"default {epochs}")
    parser.add_argument("--batch-size", type=int, default=10, help="default 10")
    parser.add_argument("--eta", type=float, default=3.0, help="learning rate (default 3.0)")
    parser.add_argument("--lmbda", type=float, default=0.0, help="L2 regularisation λ (the book's; default 0)")
    parser.add_argument("--momentum", type=float, default=0.0, help="momentum μ in [0, 1) (default 0)")


def add_commands(commands):
    """Add ``train`` and ``show`` to the ``fastnet`` command's subparsers; returns train's (--preset sets its
    defaults)."""
    train = commands.add_parser("train", help="train a network on MNIST and report test accuracy per epoch",
                                description="Train a network on MNIST by mini-batch SGD and print the test accuracy "
                                "after every epoch. The defaults are 3Blue1Brown's 784-16-16-10 sigmoid network "
                                "with the book's quadratic cost, batch 10 and eta 3.0; --preset best is the "
                                "recipe that passes 98.5%.")
    _network_options(train)
    _training_options(train)
    train.add_argument("--validation-size", type=int, default=0, metavar="N",
                       help="hold out the last N training images as a validation set (the book: 10000)")
    train.add_argument("--halve-eta-patience", type=int, default=None, metavar="K",
                       help="halve eta after K epochs without a better validation accuracy")
    train.add_argument("--halve-eta-after", type=_epoch_numbers, default=None, metavar="E1,E2,...",
                       help="halve eta after each of these epochs (a fixed schedule)")
    train.add_argument("--shift", type=int, default=0, metavar="N",
                       help="train each epoch on the images moved by up to N pixels at random (default 0: as they are)")
    train.add_argument("--preset", choices=tuple(PRESETS), default=None,
                       help="best: " + _preset_text("best") + " (options given explicitly still win)")
    train.add_argument("--early-stopping-patience", type=int, default=None, metavar="K",
                       help="stop after K epochs without a better validation accuracy (keeps the best)")
    train.add_argument("--checkpoint", metavar="PATH", default=None, help="save the training state to PATH every epoch")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint PATH when it exists")
    train.add_argument("--save", metavar="PATH", default=None, help="save the trained network to PATH (.npz)")
    train.add_argument("--curves", metavar="PNG", default=None, help="draw the learning curves to PNG")

    show = commands.add_parser("show", help="what a network has learned, as PNG pictures (needs matplotlib)")
    show.add_argument("picture", choices=SHOWS, help="weights: first-layer weights as images; curves: learning "
                      "curves on a small training subset (overfitting); confusion: confusion matrix on the test set; "
                      "junk: confidence on uniform noise, sigmoid/quadratic against softmax; archetype: gradient "
                      "descent on the input towards each digit; surface: the mean cost over the two parameters "
                      "the first test image pulls on hardest, with gradient descent's path; embeddings: a GPT's "
                      "token embeddings by PCA (--model gpt.npz)")
    show.add_argument("--model", metavar="PATH", action="append", default=None,
                      help="a saved network (repeat for junk); default: train one now (see --epochs)")
    show.add_argument("--out", metavar="PNG", default=None, help="where to draw (default fastnet-PICTURE.png)")
    _network_options(show)
    _training_options(show, epochs=5)
    show.add_argument("--train-size", type=int, default=None, metavar="N",
                      help="train on the first N images (curves: default 1000)")

    return train


def _network(args):
    from .network import Network

    if len(args.sizes) >= 2 and args.sizes[-1] != MNIST_CLASSES:  # fewer: Network says what is wrong
        raise ValueError(f"--sizes must end with {MNIST_CLASSES} output neurons, one per digit; got "
                         f"{','.join(map(str, args.sizes))}")
    return Network(args.sizes, activation=args.activation, cost=args.cost, output=args.output, init=args.init,
                   dtype=args.dtype, backend=args.backend, seed=args.seed)


def _describe(net):
    return f"{net.sizes}, {net.activation}, {net.cost_name}, {net.output}"


def _data(args):
    from .. import datasets

    # The original pixels, a quarter of the memory of float32: networks read uint8 v as v / 255, in their dtype.
    data = datasets.load_mnist(args.data, download=not args.no_download, verify=not args.no_verify, dtype="uint8")
    (_, train_labels), (_, test_labels) = data
    print(f"data: {data.source}; {len(train_labels):,} training, {len(test_labels):,} test images")
    return data


def _print_epoch(epochs, test_size):
    def print_epoch(net, record):
        correct = round(record["test_accuracy"] * test_size)
        line = (f"Epoch {record['epoch']:>3}/{epochs}: test accuracy {100 * record['test_accuracy']:6.2f}% "
                f"({correct}/{test_size})")
        if "validation_accuracy" in record:
            line += f", validation {100 * record['validation_accuracy']:6.2f}%"
        print(f"{line}, train accuracy {100 * record['train_accuracy']:6.2f}%, cost {record['train_cost']:.4f}, "
              f"eta {record['eta']:g}, {record['seconds']:.2f} s", flush=True)

    return print_epoch


def _fit(net, args, train_X, train_y, test, **options):
    """``net.fit`` with the training options of ``args``, printing one line per epoch."""
    print(f"{net!r}: {net.num_params:,} parameters")
    print(f"SGD: {args.epochs} epoch{'' if args.epochs == 1 else 's'}, batch size {args.batch_size}, eta {args.eta}, "
          f"lmbda {args.lmbda}, momentum {args.momentum}")
    start = time.perf_counter()
    history = net.fit(train_X, train_y, epochs=args.epochs, batch_size=args.batch_size, eta=args.eta,
                      lmbda=args.lmbda, momentum=args.momentum, test=test, progress=True,
                      callbacks=[_print_epoch(args.epochs, len(test[1]))], **options)
    print(f"total {time.perf_counter() - start:.1f} s (SGD {sum(history['seconds']):.1f} s)")
    return history


def _show_surface(net, data, out):
    from .. import lessons
    from . import pictures

    (train_X, train_y), (test_X, test_y) = data
    params = lessons.largest_gradient_params(net, test_X[0], test_y[0])
    sample = lessons.SURFACE_SAMPLE
    surface = lessons.cost_surface(net, params, train_X[:sample], train_y[:sample], span=3.0, n=41, steps=40,
                                   eta=50.0)
    names = [lessons.parameter_name(net.sizes, p) for p in params]
    costs = surface["path"][:, 2]
    print(f"the two parameters test image 0 (a {test_y[0]}) pulls on hardest: {names[0]} and {names[1]}; gradient "
          f"descent on them lowers the mean cost over {sample} images from {costs[0]:.5f} to {costs[-1]:.5f}")
    pictures.draw_surface(surface, out, names=names)


def _show_embeddings(args, out):
    from .. import lessons
    from ..gpt.model import GPT
    from ..loading import load
    from . import pictures

    if not args.model or len(args.model) != 1:
        raise ValueError("fastnet show embeddings draws one GPT: give --model gpt.npz (fastnet gpt train saves one)")
    model = load(args.model[0], backend=args.backend)
    if not isinstance(model, GPT):
        raise ValueError(f"--model {args.model[0]} holds a digit network, not a GPT")
    tokens = lessons.token_texts(model)
    pictures.draw_embeddings(lessons.embedding_points(model), tokens, out)
    print(f"{len(tokens)} token embeddings of {model.n_embd} numbers each, projected by PCA; drawn to {out}")


def _check_training_options(args):
    """The training options of ``train`` and ``show``, checked before any data is read or network built."""
    check_int("--epochs", args.epochs, 1)
    check_int("--batch-size", args.batch_size, 1)
    check_positive_finite("--eta", args.eta)
    check_nonnegative_finite("--lmbda", args.lmbda)
    check_nonnegative_finite("--momentum", args.momentum, below=1)


def train(args):
    from .. import datasets
    from . import pictures

    _check_training_options(args)
    for argument, path in (("--save", args.save), ("--checkpoint", args.checkpoint), ("--curves", args.curves)):
        if path:
            check_destination(argument, path)
    if not 0 <= args.validation_size:
        raise ValueError("--validation-size must be at least 0")
    if args.shift < 0:
        raise ValueError("--shift must be at least 0")
    if args.resume and not args.checkpoint:
        raise ValueError("--resume continues from --checkpoint PATH: give the checkpoint too")
    net = _network(args)
    (train_X, train_y), test = _data(args)
    validation = None
    if args.validation_size:
        if args.validation_size >= len(train_y):
            raise ValueError(f"--validation-size must be less than the {len(train_y):,} training images")
        cut = len(train_y) - args.validation_size
        (train_X, train_y), validation = (train_X[:cut], train_y[:cut]), (train_X[cut:], train_y[cut:])
    resume = args.checkpoint if args.resume and os.path.exists(args.checkpoint) else None
    if resume:
        print(f"resuming from {resume}")
    history = _fit(net, args, train_X, train_y, test, validation=validation, checkpoint=args.checkpoint,
                   resume=resume, halve_eta_patience=args.halve_eta_patience, halve_eta_after=args.halve_eta_after,
                   augment=datasets.random_shifts(args.shift) if args.shift else None,
                   early_stopping_patience=args.early_stopping_patience)
    if history.stopped_early:
        print(f"stopped early: back to epoch {history.best_epoch}, the best on the validation set")
    if args.save:
        net.save(args.save)
        print(f"saved to {args.save}")
    if args.curves:
        print(f"learning curves drawn to {pictures.draw_learning_curves(history, args.curves, title=_describe(net))}")


def _trained(args, data, **overrides):
    """A network trained now with the options of ``args`` (and ``overrides``) on --train-size images."""
    args = argparse.Namespace(**{**vars(args), **overrides})
    net = _network(args)
    (train_X, train_y), test = data
    count = args.train_size or len(train_y)
    _fit(net, args, train_X[:count], train_y[:count], test)
    return net


def show(args):
    from ..loading import load
    from . import pictures
    from .network import Network

    pictures.pyplot()  # without matplotlib: say so now, not after training
    _check_training_options(args)
    out = args.out or f"fastnet-{args.picture}.png"
    if args.picture == "embeddings":
        return _show_embeddings(args, out)
    models = [load(path, backend=args.backend) for path in args.model or ()]
    for path, model in zip(args.model or (), models):
        if not isinstance(model, Network):
            raise ValueError(f"--model {path} holds a GPT, not a digit network: fastnet show {args.picture} draws "
                             "digit networks (fastnet show embeddings draws a GPT's)")
    if models and args.picture in ("weights", "junk", "archetype"):  # pictures of a saved network alone
        data = None
    else:
        data = _data(args)
        (train_X, train_y), test = data
    if args.picture == "curves":
        count = args.train_size or 1000
        net = models[0] if models else _network(args)
        history = _fit(net, args, train_X[:count], train_y[:count], test)
        last = history[-1]
        print(f"after {last['epoch']} epochs on {count:,} images: training accuracy "
              f"{100 * last['train_accuracy']:.2f}%, test accuracy {100 * last['test_accuracy']:.2f}%")
        pictures.draw_learning_curves(history, out, title=f"{_describe(net)}, on {count:,} training images")
    elif args.picture == "junk":
        if not models:
            models = [_trained(args, data), _trained(args, data, cost="log_likelihood", output=None, init="xavier",
                                                     eta=0.5)]
        reports = {}
        for net in models:
            name = _describe(net)
            reports[name] = report = pictures.junk_confidence(net)
            print(f"{name}: on 1,000 noise images, largest output median {np.median(report['confidence']):.3f}, "
                  f"> 0.9 for {100 * report['share_confident']:.1f}%; named digits {report['label_counts'].tolist()}")
        pictures.draw_junk(reports, out)
    else:
        net = models[0] if models else _trained(args, data)
        if args.picture == "weights":
            pictures.draw_first_layer(net, out)
        elif args.picture == "surface":
            _show_surface(net, data, out)
        elif args.picture == "confusion":
            matrix = pictures.confusion_matrix(net, *test)
            off_diagonal = matrix - np.diag(np.diag(matrix))
            worst = np.unravel_index(off_diagonal.argmax(), matrix.shape)
            print(f"test accuracy {100 * np.trace(matrix) / matrix.sum():.2f}%; most often confused: "
                  f"{worst[0]} taken for {worst[1]} ({off_diagonal[worst]} times)")
            pictures.draw_confusion_matrix(matrix, out)
        else:
            outputs = pictures.draw_archetypes(net, out)
            for name in ("raw", "L2 + blur"):
                print(f"{name}: the network's output for the digit it was drawn for: "
                      + ", ".join(f"{digit}: {outputs[name, digit][digit]:.2f}" for digit in range(10)))
    print(f"drawn to {out}")
