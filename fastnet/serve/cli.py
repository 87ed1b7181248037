"""``fastnet serve``: the web page from the command line."""
import importlib.util
import math
import time

from .. import backends
from . import REQUEST_TIMEOUT

DEFAULT_SIZES = [784, 16, 16, 10]
DEFAULT_TRAINING = dict(epochs=30, batch_size=10, eta=3.0)  # fastnet train's defaults: the book's network
DEFAULT_GPT_ITERS = 2000


def add_command(commands):
    """Add ``serve`` to the ``fastnet`` parser's subcommands."""
    serve = commands.add_parser("serve", help="a local web page: draw a digit and watch the network think; type a "
                                "prompt and watch the GPT choose (needs starlette and uvicorn)",
                                description="Serve the digit network and a GPT on a local web page and a JSON API. "
                                "Binds to 127.0.0.1 (this machine only) unless --host says otherwise.")
    serve.add_argument("--model", metavar="NET.npz", default=None, help="a saved network (default: train fastnet "
                       "train's 784-16-16-10 network now, a few seconds)")
    serve.add_argument("--gpt", metavar="GPT.npz", default=None, help="a saved GPT with its tokenizer (default: "
                       "train a small one in the background, served as it learns)")
    serve.add_argument("--gpt-iters", type=int, default=DEFAULT_GPT_ITERS, metavar="N",
                       help=f"steps of the background GPT (default {DEFAULT_GPT_ITERS}; 0: none)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    serve.add_argument("--allow-host", action="append", metavar="NAME", default=[], help="another name the "
                       "page may be reached by (the Host header), besides 127.0.0.1, localhost, [::1] and --host; "
                       "repeat for several")
    serve.add_argument("--request-timeout", type=float, default=REQUEST_TIMEOUT, metavar="SECONDS",
                       help=f"close a connection that has not sent a whole request in this time (default "
                       f"{REQUEST_TIMEOUT})")
    serve.add_argument("--backend", default="auto", help=f"auto or one of {', '.join(backends.names())}")
    serve.add_argument("--seed", type=int, default=0, help="of the networks trained here (default 0)")
    serve.add_argument("--data", metavar="DIR", default=None, help="folder with the four MNIST IDX files")
    serve.add_argument("--no-download", action="store_true", help="never use the network")


def _check_web_libraries():
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"fastnet serve needs {' and '.join(missing)}: pip install starlette uvicorn")


def _digit_model(args):
    from .. import Network, datasets, load
    from .digits import DigitModel

    if args.model:
        net = load(args.model, backend=args.backend)
        if not isinstance(net, Network):
            raise ValueError(f"--model {args.model}: holds a GPT, not a digit network (give it to --gpt)")
    (train_X, train_y), (test_X, test_y) = datasets.load_mnist(args.data, download=not args.no_download,
                                                               dtype="uint8")  # the backprop view's cohorts too
    if args.model:
        return DigitModel(net, args.model, training=(train_X, train_y))
    net = Network(DEFAULT_SIZES, backend=args.backend, seed=args.seed)
    print(f"no --model: training fastnet train's default network {DEFAULT_SIZES} "
          f"({DEFAULT_TRAINING['epochs']} epochs of SGD, a few seconds once compiled)", flush=True)
    start = time.perf_counter()
    history = net.fit(train_X, train_y, **DEFAULT_TRAINING, seed=args.seed, test=(test_X, test_y), progress=False)
    accuracy = 100 * history[-1]["test_accuracy"]
    print(f"trained in {time.perf_counter() - start:.1f} s: {accuracy:.2f}% of the test images right", flush=True)
    return DigitModel(net, f"trained at start: {DEFAULT_SIZES}, {DEFAULT_TRAINING['epochs']} epochs, "
                      f"{accuracy:.2f}% on the test images", training=(train_X, train_y))


def _language_model(args):
    from .. import GPT, load
    from .language import LanguageModel

    if args.gpt:
        model = load(args.gpt, backend=args.backend)
        if not isinstance(model, GPT):
            raise ValueError(f"--gpt {args.gpt}: holds a digit network, not a GPT (give it to --model)")
        if model.tokenizer is None:
            raise ValueError(f"--gpt {args.gpt}: the model has no tokenizer, so it cannot read a prompt")
        return LanguageModel(model, args.gpt)
    return LanguageModel()


def run(args):
    from . import listen, make_app, run as serve
    from .app import LOOPBACK_NAMES

    _check_web_libraries()
    if args.gpt_iters < 0 or not 0 <= args.port <= 65535:
        raise ValueError("--gpt-iters must be at least 0 and --port from 0 to 65535")
    if not (math.isfinite(args.request_timeout) and args.request_timeout > 0):
        raise ValueError(f"--request-timeout must be a positive number of seconds; got {args.request_timeout}")
    backends.check_name(args.backend, allow_auto=True)
    language = _language_model(args)  # the files and the port are checked before anything trains
    listener = listen(args.host, args.port)
    try:
        digits = _digit_model(args)
        if language.model is None and args.gpt_iters:
            language.train_in_background(args.gpt_iters, seed=args.seed, backend=args.backend)
            print(f"no --gpt: training a small GPT in the background ({args.gpt_iters} steps); the page shows its "
                  f"progress", flush=True)
        hosts = (*LOOPBACK_NAMES, args.host, *args.allow_host)
        app = make_app(digits, language, hosts=hosts, port=listener.getsockname()[1])
        serve(app, listener=listener, request_timeout=args.request_timeout,
              on_start=lambda url: print(f"fastnet serve: {url} (Ctrl-C stops)", flush=True))
    finally:
        listener.close()
        language.stop(timeout=10)
