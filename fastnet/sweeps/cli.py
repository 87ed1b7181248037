"""``fastnet sweep``: a grid of networks on MNIST, trained on Dask."""
import argparse
import importlib.util
import re
import time

from ..core.storage import check_destination
from .grid import parse_grid, parse_seeds


def _argument(parse):
    """``parse`` as an argparse type whose ValueError message reaches the user (argparse hides a ValueError's)."""
    def parsed(text):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(re.sub(r"^--[\w-]+: ", "", str(exc))) from None  # argparse names it
    return parsed


def add_command(commands):
    """Add ``sweep`` to the ``fastnet`` parser's subcommands."""
    sweep = commands.add_parser("sweep", help="train a grid of networks on MNIST, each with several seeds, on Dask "
                                "(needs dask[distributed])",
                                description="Train every configuration of --grid with every seed of --seeds, one "
                                "Dask task each, on a local cluster (or --scheduler's). Rows are written to --out as "
                                "they arrive; run the same command again to resume a sweep that was stopped.")
    sweep.add_argument("--grid", type=_argument(parse_grid), required=True, metavar='"NAME=V1,V2 ..."',
                       help='settings to vary, e.g. "eta=0.5,1,3 sizes=784,30,10;784,100,10 lmbda=0,5" (names: '
                       'Network and fit arguments)')
    sweep.add_argument("--seeds", type=_argument(parse_seeds), default=[0], metavar="0-4",
                       help="seeds, as 0-4 or 0,3,7 "
                       "(default 0)")
    sweep.add_argument("--epochs", type=int, default=30, help="default 30")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:8786", default=None,
                       help="a running Dask scheduler (default: a local cluster sized to this machine)")
    sweep.add_argument("--workers", type=int, default=None, help="local cluster: workers (default: one per core)")
    sweep.add_argument("--processes", action="store_true",
                       help="local cluster: --workers processes instead of one process with --workers threads")
    sweep.add_argument("--out", metavar="PATH", default="sweep.csv", help="results, .csv or JSON lines "
                       "(default sweep.csv); rows already there are not trained again")
    sweep.add_argument("--plot", metavar="PNG", default=None, help="draw test accuracy against each setting")
    sweep.add_argument("--train-size", type=int, default=None, metavar="N", help="train on the first N images")
    sweep.add_argument("--data", metavar="DIR", default=None, help="folder with the four MNIST IDX files")


def run(args):
    from .. import datasets
    from . import sweep
    from . import plot
    from . import print_row, records

    if importlib.util.find_spec("distributed") is None:
        raise ValueError('fastnet sweep needs Dask\'s distributed scheduler: pip install "dask[distributed]"')
    if args.epochs < 1 or (args.workers is not None and args.workers < 1) or \
            (args.train_size is not None and args.train_size < 1):
        raise ValueError("--epochs, --workers and --train-size must be at least 1")
    if args.plot:
        plot.pyplot()  # without matplotlib: say so now, not after the sweep
        check_destination("--plot", args.plot)
    check_destination("--out", args.out)
    (train_X, train_y), test = datasets.load_mnist(args.data, download=False, dtype="uint8", progress=False)
    train_X, train_y = train_X[:args.train_size], train_y[:args.train_size]
    client = None
    if args.scheduler:
        from dask.distributed import Client
        client = Client(args.scheduler)
    where = f"the cluster at {args.scheduler}" if args.scheduler else "a local cluster"
    print(f"sweep: {len(train_y):,} training images, {args.epochs} epochs, seeds {args.seeds}, on {where}; "
          f"results in {args.out}", flush=True)
    start = time.perf_counter()
    try:
        rows = sweep(args.grid, train_X, train_y, test=test, epochs=args.epochs, seeds=args.seeds, client=client,
                     out=args.out, workers=args.workers, processes=args.processes, on_row=print_row)
    finally:
        if client is not None:
            client.close()
    rows = records(rows)
    failed = sum(isinstance(row.get("error"), str) for row in rows)
    print(f"done: {len(rows)} rows ({failed} failed) in {time.perf_counter() - start:.1f} s", flush=True)
    if args.plot:
        print(f"drawn to {plot.draw_sweep(rows, list(args.grid), args.plot)}")
