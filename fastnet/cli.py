"""The ``fastnet`` command line: ``fastnet train`` and ``fastnet info``."""
import argparse
import importlib.metadata
import os
import platform
import sys
import time

from . import __version__, backends
from ._checks import DTYPES
from .backends.codes import ACTIVATIONS


def _sizes(text):
    try:
        return [int(width) for width in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 784,30,10; got {text!r}") from None


def _parser():
    parser = argparse.ArgumentParser(prog="fastnet", description="The neural network of 3Blue1Brown and Nielsen's book, made fast.")
    parser.add_argument("--version", action="version", version=f"fastnet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a network on MNIST and report test accuracy per epoch")
    train.add_argument("--sizes", type=_sizes, default=[784, 16, 16, 10], help="layer widths (default 784,16,16,10)")
    train.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid", help="hidden activation (default sigmoid)")
    train.add_argument("--epochs", type=int, default=30, help="default 30")
    train.add_argument("--batch-size", type=int, default=10, help="default 10")
    train.add_argument("--eta", type=float, default=3.0, help="learning rate (default 3.0)")
    train.add_argument("--backend", default="auto", help=f"auto or one of {', '.join(backends.names())}")
    train.add_argument("--dtype", choices=DTYPES, default="float32")
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--data", metavar="DIR", default=None, help="folder with the four MNIST IDX files (else: $FASTNET_DATA, the cache, a download, the shipped sample)")
    train.add_argument("--no-download", action="store_true", help="never use the network")
    train.add_argument("--no-verify", action="store_true", help="skip the MNIST checksums (for other IDX data such as Fashion-MNIST)")
    train.add_argument("--save", metavar="PATH", default=None, help="save the trained parameters to PATH (.npz)")

    commands.add_parser("info", help="versions, backends and CPU")

    bench = commands.add_parser("bench", help="fastnet's backends and PyTorch, JAX, scikit-learn side by side")
    bench.add_argument("--sizes", type=_sizes, action="append", help="an architecture (repeat for several; "
                       "default 784,16,16,10 and 784,30,10)")
    bench.add_argument("--epochs", type=int, default=3, help="epochs per contender, alternated (default 3)")
    bench.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    bench.add_argument("--train-size", type=int, default=None, help="use the first N training images")
    bench.add_argument("--only", nargs="+", metavar="WORD", help="only contenders whose name contains a WORD")
    bench.add_argument("--data", metavar="DIR", default=None)
    bench.add_argument("--json", metavar="PATH", default="fastnet-bench.json", help="where to write the results")
    bench.add_argument("--sweep", metavar="PNG", default=None,
                       help="also sweep hidden width 16-1024 and batch size 1-256 (fastnet vs PyTorch) and plot to PNG")
    bench.add_argument("--sweep-size", type=int, default=10000, help="training images per sweep epoch (default 10000)")
    return parser


def _train(args):
    from . import Network, datasets

    net = Network(args.sizes, activation=args.activation, dtype=args.dtype, backend=args.backend, seed=args.seed)
    data = datasets.load_mnist(args.data, download=not args.no_download, verify=not args.no_verify, dtype=args.dtype)
    (train_X, train_y), (test_X, test_y) = data
    print(f"{net!r}: {net.num_params:,} parameters")
    print(f"data: {data.source}; {len(train_y):,} training, {len(test_y):,} test images")
    print(f"SGD: {args.epochs} epochs, batch size {args.batch_size}, eta {args.eta}")
    def print_epoch(net, record):
        correct = round(record["test_accuracy"] * len(test_y))
        print(f"Epoch {record['epoch']:>3}/{args.epochs}: test accuracy {100 * record['test_accuracy']:6.2f}% "
              f"({correct}/{len(test_y)}), cost {record['train_cost']:.4f}, {record['seconds']:.2f} s", flush=True)

    start = time.perf_counter()
    net.fit(train_X, train_y, epochs=args.epochs, batch_size=args.batch_size, eta=args.eta, test=(test_X, test_y),
            progress=True, callbacks=[print_epoch])
    print(f"total {time.perf_counter() - start:.1f} s")
    if args.save:
        net.save(args.save)
        print(f"saved to {args.save}")


def _version_of(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _info(args):
    print(f"fastnet {__version__}")
    print(f"python {platform.python_version()} ({sys.executable})")
    for distribution in ("numpy", "numba", "Cython"):
        print(f"{distribution} {_version_of(distribution)}")
    print(f"cpu: {_cpu()}, {os.cpu_count()} logical cores")
    print("backends (auto picks the first usable):")
    for name in backends.names():
        reason = backends.why_unavailable(name)
        print(f"  {name:8} {'usable' if reason is None else 'not usable: ' + reason}")
    forced = os.environ.get(backends.ENVIRONMENT_VARIABLE)
    print(f"auto -> {backends.resolve('auto')}" + (f" (forced by {backends.ENVIRONMENT_VARIABLE}={forced})" if forced else ""))


def _bench(args):
    from . import bench

    if args.epochs < 1 or args.threads < 1:
        raise ValueError("--epochs and --threads must be at least 1")
    results = bench.run(architectures=args.sizes or ((784, 16, 16, 10), (784, 30, 10)), epochs=args.epochs,
                        threads=args.threads, train_size=args.train_size, data=args.data, only=args.only)
    if args.sweep:
        results["sweep"] = bench.run_sweep(args.sweep, images=args.sweep_size, epochs=args.epochs, data=args.data,
                                           threads=args.threads)
    bench.write_json(results, args.json)
    print(f"results written to {args.json}")


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        {"train": _train, "info": _info, "bench": _bench}[args.command](args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"fastnet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
