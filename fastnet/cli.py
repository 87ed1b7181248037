"""The ``fastnet`` command line: ``info`` and ``bench`` here; ``train`` and ``show`` (``mlp.cli``), ``gpt``
(``gpt.cli``), ``serve`` and ``sweep`` from their own packages."""
import argparse
import importlib.metadata
import os
import platform
import sys
import traceback
import warnings

from . import __version__, backends
from .gpt import cli as gpt_cli
from .mlp import cli as mlp_cli
from .serve import cli as serve_cli
from .sweeps import cli as sweep_cli


class _Parser(argparse.ArgumentParser):
    """fastnet's parsers: no abbreviated options (--epoch is not --epochs), in every command alike (subcommands'
    parsers are of the class of their parent)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def _innermost(parser, args):
    """The parser of the (sub)command that ``args`` ran: where an unknown option's error belongs."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
            return _innermost(action.choices[getattr(args, action.dest)], args)
    return parser


def _parse(parser, argv):
    """``parser.parse_args(argv)``, an unknown option reported with the usage of the command it was given to."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _innermost(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _parser():
    parser = _Parser(prog="fastnet", description="The neural network of 3Blue1Brown and Nielsen's book, made fast.")
    parser.add_argument("--version", action="version", version=f"fastnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)

    train = mlp_cli.add_commands(commands)
    commands.add_parser("info", help="versions, backends and CPU")

    bench = commands.add_parser("bench", help="fastnet's backends and PyTorch, JAX, scikit-learn side by side")
    bench.add_argument("model", nargs="?", choices=("mlp", "gpt", "fit", "serve"), default="mlp",
                       help="the digit network's epoch against its peers (mlp, the default), the GPT, the path "
                       "users run: fit(X, y, epochs=1) and fastnet train against the compiled epoch (fit), or "
                       "fastnet serve's /api/predict under load (serve)")
    bench.add_argument("--sizes", type=mlp_cli.layer_sizes, action="append",
                       help="an architecture (repeat for several; default 784,16,16,10 and 784,30,10)")
    bench.add_argument("--epochs", type=int, default=3, help="epochs per contender, alternated (default 3)")
    bench.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    bench.add_argument("--train-size", type=int, default=None, help="use the first N training images")
    bench.add_argument("--only", nargs="+", metavar="WORD", help="only contenders whose name contains a WORD")
    bench.add_argument("--data", metavar="DIR", default=None)
    bench.add_argument("--json", metavar="PATH", default="fastnet-bench.json", help="where to write the results")
    bench.add_argument("--sweep", metavar="PNG", default=None,
                       help="also sweep hidden width 16-1024 and batch size 1-256 (fastnet vs PyTorch) and plot to PNG")
    bench.add_argument("--sweep-size", type=int, default=10000, help="training images per sweep epoch (default 10000)")
    bench.add_argument("--rounds", type=int, default=None, help="fit: fastnet train runs (default 3); serve: "
                       "requests one at a time, then at once (default 200); "
                       "gpt: training steps per contender, alternated "
                       "(default 20; generation runs a quarter as many)")
    bench.add_argument("--configs", nargs="+", choices=("nanogpt-cpu", "small", "shakespeare-char", "gpt2"),
                       default=["nanogpt-cpu", "small"],
                       help="gpt: the model sizes (default nanogpt-cpu and small; shakespeare-char: nanoGPT's GPU "
                            "example; gpt2: GPT-2's 124M against transformers)")
    bench.add_argument("--parts", nargs="+", choices=("training", "generation", "bpe"),
                       default=["training", "generation", "bpe"], help="gpt: what to measure (default all)")
    bench.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="gpt: default float32")
    bench.add_argument("--plot", metavar="PNG", default=None, help="gpt: also draw the results as bar charts")
    bench.add_argument("--nanogpt", metavar="DIR", default=None,
                       help="gpt: also time the user's job, nanoGPT's train.py from this checkout against fastnet "
                            "gpt train (nanoGPT's CPU example, at --threads)")
    bench.add_argument("--job-iters", type=int, default=2000, help="gpt: steps of that job (default 2000)")
    bench.add_argument("--busy", action="store_true",
                       help="gpt: keep one core busy (a spinning process) while measuring, as another program would")
    gpt_cli.add_commands(commands)
    serve_cli.add_command(commands)
    sweep_cli.add_command(commands)
    parser.train_parser = train  # --preset sets its defaults
    return parser


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
    for distribution in ("numpy", "numba"):
        print(f"{distribution} {_version_of(distribution)}")
    print(f"Cython (the compiler, needed only to build the extension at install) {_version_of('Cython')}")
    print(f"cpu: {_cpu()}, {os.cpu_count()} logical cores")
    print("backends (auto picks the first usable: precompiled, then compiled on first use, then the reference):")
    for name in backends.names():
        reason = backends.why_unavailable(name)
        print(f"  {name:8} {'usable' if reason is None else 'not usable: ' + reason}{_level(name, reason)}")
    forced = os.environ.get(backends.ENVIRONMENT_VARIABLE)
    forced_by = f" (forced by {backends.ENVIRONMENT_VARIABLE}={forced})" if forced else ""
    print(f"auto -> {backends.resolve('auto')}{forced_by}")


def _level(name, reason):
    """For the Cython backend: the CPU level its C code runs at, and why."""
    if name != "cython" or reason is not None:
        return ""
    from .backends.cython import cpu_levels

    extension = backends.load(name).EXTENSION
    level, best = cpu_levels.in_use(extension), cpu_levels.supported(extension)
    why = f"forced by {cpu_levels.ENVIRONMENT_VARIABLE}; this CPU runs up to {best}" if level != best \
        else "the best this CPU runs"
    return f", {cpu_levels.DESCRIPTIONS[level]} code ({why})"


def _bench(args):
    from . import bench

    if args.model == "gpt":
        return _bench_gpt(args)
    if args.model == "fit":
        return _bench_fit(args)
    if args.model == "serve":
        return _bench_serve(args)
    if args.epochs < 1 or args.threads < 1 or (args.train_size is not None and args.train_size < 1):
        raise ValueError("--epochs, --threads and --train-size must be at least 1")
    results = bench.run(architectures=args.sizes or ((784, 16, 16, 10), (784, 30, 10)), epochs=args.epochs,
                        threads=args.threads, train_size=args.train_size, data=args.data, only=args.only)
    if args.sweep:
        results["sweep"] = bench.run_sweep(args.sweep, images=args.sweep_size, epochs=args.epochs, data=args.data,
                                           threads=args.threads)
    bench.write_json(results, args.json)
    print(f"results written to {args.json}")


def _bench_fit(args):
    from . import bench
    from .bench import fit

    if args.epochs < 1 or (args.train_size is not None and args.train_size < 1):
        raise ValueError("--epochs and --train-size must be at least 1")
    runs = 3 if args.rounds is None else args.rounds
    if runs < 0:
        raise ValueError("--rounds must be at least 0")
    bench.limit_threads(args.threads)
    results = {**bench.where_and_when(), "threads": args.threads,
               **fit.run(epochs=args.epochs, train_size=args.train_size, data=args.data, command_runs=runs)}
    path = "fastnet-bench-fit.json" if args.json == "fastnet-bench.json" else args.json
    bench.write_json(results, path)
    print(f"results written to {path}")


def _bench_serve(args):
    from . import bench
    from .bench import serve

    requests = 200 if args.rounds is None else args.rounds
    if requests < 1:
        raise ValueError("--rounds must be at least 1")
    results = {**bench.where_and_when(), **serve.run(sequential=requests, concurrent=requests)}
    path = "fastnet-bench-serve.json" if args.json == "fastnet-bench.json" else args.json
    bench.write_json(results, path)
    print(f"results written to {path}")


def _bench_gpt(args):
    from . import bench
    from .bench import gpt, nanogpt_job

    rounds = 20 if args.rounds is None else args.rounds
    if rounds < 1 or args.threads < 1 or args.job_iters < 1:
        raise ValueError("--rounds, --threads and --job-iters must be at least 1")
    if args.nanogpt:
        nanogpt_job.check_checkout(args.nanogpt)
    bench.limit_threads(args.threads)
    with bench.busy_core(args.busy):
        results = gpt.run(configs=args.configs, parts=args.parts, rounds=rounds, dtype=args.dtype, only=args.only,
                          threads=args.threads)
        if args.nanogpt:
            results["nanogpt job"] = nanogpt_job.run(args.nanogpt, iters=args.job_iters, threads=args.threads)
    results.update(threads=args.threads, busy=args.busy)
    if args.plot:
        gpt.plot(results, args.plot)
        print(f"plot written to {args.plot}")
    path = "fastnet-bench-gpt.json" if args.json == "fastnet-bench.json" else args.json
    bench.write_json(results, path)
    print(f"results written to {path}")


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"fastnet: warning: {message}", file=sys.stderr, flush=True)


def main(argv=None):
    parser = _parser()
    args = _parse(parser, argv)
    if getattr(args, "preset", None):  # the preset's values become the defaults; options given still win
        parser.train_parser.set_defaults(**mlp_cli.PRESETS[args.preset])
        args = _parse(parser, argv)
    warnings.showwarning = _one_line_warning  # a command-line user reads one line, not a source location
    try:
        {"train": mlp_cli.train, "show": mlp_cli.show, "info": _info, "bench": _bench, "gpt": gpt_cli.run,
         "serve": serve_cli.run, "sweep": sweep_cli.run}[args.command](args)
        sys.stdout.flush()  # inside the try: a reader that has gone shows here, not at the interpreter's exit
    except BrokenPipeError:  # `fastnet info | head -1`: the reader stopped reading, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's own flush stays quiet
        return 141  # as a shell reports a command ended by SIGPIPE
    except KeyboardInterrupt:
        print(f"fastnet {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a command-line user gets one line; --debug shows the traceback
        if args.debug:
            traceback.print_exc()
        kind = "" if isinstance(exc, (ValueError, TypeError, OSError)) else f"{type(exc).__name__}: "
        message = " ".join(str(exc).split()) or type(exc).__name__
        hint = " (--debug shows where)" if kind else ""
        print(f"fastnet {args.command}: error: {kind}{message}{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
