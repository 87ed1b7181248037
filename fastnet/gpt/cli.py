"""``fastnet gpt train | sample | next``: the GPT from the command line."""
import contextlib
import math
import os
import sys
import time

from .. import backends, datasets, text as texts
from ..core.checks import DTYPES
from ..loading import load
from ..core.storage import check_destination
from .layout import GELUS
from .model import GPT
from .training import RanksDisagree

TOKENIZERS = ("char", "bpe")
DEFAULT_SAVE = "gpt.npz"


def add_commands(commands):
    """Add ``gpt`` and its subcommands to the ``fastnet`` parser's subcommands."""
    gpt = commands.add_parser("gpt", help="a small GPT: train it on text, sample from it, show its next-token "
                                          "distribution")
    sub = gpt.add_subparsers(dest="gpt_command", required=True)

    train = sub.add_parser("train", help="train a GPT on Tiny Shakespeare (or --data FILE); defaults: nanoGPT's "
                                         "CPU configuration")
    train.add_argument("--data", metavar="FILE", default=None, help="a UTF-8 text file (default: Tiny Shakespeare, "
                       "shipped with fastnet); first 90%% train, last 10%% validation")
    train.add_argument("--tokenizer", choices=TOKENIZERS, default="char", help="characters (default) or byte-pair "
                       "encoding")
    train.add_argument("--vocab-size", type=int, default=512, help="tokens of the BPE tokenizer (default 512)")
    train.add_argument("--context", type=int, default=64, help="positions the model reads (default 64)")
    train.add_argument("--n-layer", type=int, default=4, help="blocks (default 4)")
    train.add_argument("--n-head", type=int, default=4, help="attention heads (default 4)")
    train.add_argument("--n-embd", type=int, default=128, help="embedding width (default 128)")
    train.add_argument("--bias", action="store_true", help="biases in linear layers and LayerNorms")
    train.add_argument("--gelu", choices=GELUS, default="erf",
                       help="the MLPs' GELU: exact (erf, nanoGPT's) or GPT-2's tanh approximation (default: erf)")
    train.add_argument("--iters", type=int, default=2000, help="optimizer steps (default 2000)")
    train.add_argument("--batch-size", type=int, default=12, help="sequences per step (default 12)")
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    train.add_argument("--min-lr", type=float, default=1e-4, help="learning rate at the end (default 1e-4)")
    train.add_argument("--warmup", type=int, default=100, help="warm-up steps (default 100)")
    train.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay (default 0.1)")
    train.add_argument("--beta1", type=float, default=0.9, help="AdamW beta1 (default 0.9)")
    train.add_argument("--beta2", type=float, default=0.99, help="AdamW beta2 (default 0.99)")
    train.add_argument("--grad-clip", type=float, default=1.0, help="global gradient norm clip, 0 for none "
                       "(default 1.0)")
    train.add_argument("--eval-interval", type=int, default=250, help="steps between evaluations (default 250)")
    train.add_argument("--eval-batches", type=int, default=20, help="batches per evaluation (default 20)")
    train.add_argument("--backend", default="auto", help=f"auto or one of {', '.join(backends.names())}")
    train.add_argument("--dtype", choices=DTYPES, default="float32")
    train.add_argument("--threads", type=int, default=None,
                       help="threads to train on (default: the physical cores, or OMP_NUM_THREADS if fewer)")
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--save", metavar="PATH", default=DEFAULT_SAVE, help=f"where to save the model (default "
                       f"{DEFAULT_SAVE})")
    train.add_argument("--checkpoint", metavar="PATH", default=None, help="save the training state to PATH at "
                       "every evaluation")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint PATH when it exists")
    train.add_argument("--sample", type=int, default=300, metavar="N", help="tokens of text to sample after "
                       "training (default 300; 0 for none)")
    train.add_argument("--distributed", action="store_true", help="data-parallel over the processes started by "
                       "mpiexec -n N (mpi4py): --batch-size windows per process, gradients averaged every step; "
                       "rank 0 prints, evaluates and saves")

    for name, text in (("sample", "stream text sampled from a saved GPT"),
                       ("next", "the likeliest next tokens after a prompt, with their probabilities")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--model", metavar="PATH", default=DEFAULT_SAVE,
                             help=f"a GPT saved by fastnet gpt train (default {DEFAULT_SAVE})")
        command.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
        command.add_argument("--temperature", type=float, default=1.0 if name == "next" else 0.8,
                             help="divides the logits (default %(default)s)")
        command.add_argument("--seed", type=int, default=None)
        if name == "sample":
            command.add_argument("-n", "--tokens", type=int, default=500, help="tokens to generate (default 500)")
            command.add_argument("--top-k", type=int, default=200, help="sample among the k likeliest (default 200)")
        else:
            command.add_argument("-k", "--top", type=int, default=10, help="how many tokens to list (default 10)")
    return gpt


def run(args):
    {"train": _train, "sample": _sample, "next": _next}[args.gpt_command](args)


def _communicator():
    """MPI's world communicator, or ValueError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as exc:  # mpi4py missing, or no MPI library for it
        raise ValueError(f"--distributed needs mpi4py and an MPI library (pip install mpi4py mpich): {exc}") from None
    return MPI.COMM_WORLD


def _train(args):
    comm = _communicator() if args.distributed else None
    if comm is None:
        return _train_on(args, None, lead=True)
    rank = comm.Get_rank()
    try:
        if rank == 0:
            return _train_on(args, comm, lead=True)
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # the other ranks train in silence
            return _train_on(args, comm, lead=False)
    except RanksDisagree:  # raised on every rank together: rank 0 says why, the others end quietly
        if rank == 0:
            raise
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - one rank's error: the others would wait for it forever
        if comm.Get_size() == 1:
            raise
        print(f"fastnet gpt: error: rank {rank}: {exc}; ending every rank", file=sys.stderr, flush=True)
        comm.Abort(2)


def _check_numbers(args):
    """Every numeric option of ``gpt train`` checked before any data is read or model built."""
    for option, minimum in (("iters", 1), ("batch_size", 1), ("context", 1), ("n_layer", 1), ("n_head", 1),
                            ("n_embd", 1), ("warmup", 0), ("eval_interval", 1), ("eval_batches", 1), ("sample", 0),
                            ("vocab_size", 256)):
        value = getattr(args, option)
        if value < minimum:
            raise ValueError(f"--{option.replace('_', '-')} must be at least {minimum}; got {value}")
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise ValueError(f"--threads must be from 1 to 1024; got {args.threads}")
    for option in ("lr", "min_lr", "weight_decay", "beta1", "beta2", "grad_clip"):
        value = getattr(args, option)
        if not (math.isfinite(value) and value >= 0 and (value > 0 or option != "lr")):
            raise ValueError(f"--{option.replace('_', '-')} must be a finite number >= 0 (lr: > 0); got {value}")


def _train_on(args, comm, lead):
    _check_numbers(args)
    for argument, path in (("--save", args.save), ("--checkpoint", args.checkpoint)):
        if path:
            check_destination(argument, path)
    if args.resume and not args.checkpoint:
        raise ValueError("--resume continues from --checkpoint PATH: give the checkpoint too")
    text = datasets.load_text(args.data)
    train_text, val_text = datasets.split_text(text)
    start = time.perf_counter()
    if args.tokenizer == "char":
        tokenizer = texts.CharTokenizer.fit(text)
    else:
        tokenizer = texts.BPETokenizer.train(train_text, args.vocab_size)
    train_tokens, val_tokens = tokenizer.encode(train_text), tokenizer.encode(val_text)
    fewer = (f" (fewer than --vocab-size {args.vocab_size}: no pair left to merge)"
             if args.tokenizer == "bpe" and tokenizer.vocab_size < args.vocab_size else "")
    print(f"data: {args.data or 'Tiny Shakespeare (shipped with fastnet)'}, {len(text):,} characters; "
          f"{args.tokenizer} tokenizer, {tokenizer.vocab_size} tokens{fewer} ({time.perf_counter() - start:.1f} s); "
          f"{len(train_tokens):,} training and {len(val_tokens):,} validation tokens")
    model = GPT(tokenizer.vocab_size, context=args.context, n_layer=args.n_layer, n_head=args.n_head,
                n_embd=args.n_embd, bias=args.bias, gelu=args.gelu, dtype=args.dtype, backend=args.backend,
                seed=args.seed, threads=args.threads)
    model.tokenizer = tokenizer
    print(f"{model!r}: {model.num_params:,} parameters, trained on {model.threads} thread"
          f"{'s' if model.threads > 1 else ''}")
    ranks = "" if comm is None else f" per process x {comm.Get_size()} processes"
    print(f"AdamW: {args.iters} steps, batch {args.batch_size}{ranks}, lr {args.lr:g} -> {args.min_lr:g} after "
          f"{args.warmup} warm-up steps, betas {args.beta1}/{args.beta2}, weight decay {args.weight_decay:g}, "
          f"clip {args.grad_clip:g}")
    resume = args.checkpoint if args.resume and os.path.exists(args.checkpoint) else None
    if resume:
        print(f"resuming from {resume}")

    def report(model, record):
        print(f"step {record['iteration']:>5}: train loss {record['train_loss']:.4f}, val loss "
              f"{record['val_loss']:.4f}, lr {record['lr']:.2e}, {record['seconds']:.1f} s", flush=True)

    history = model.fit(train_tokens, val=val_tokens, iters=args.iters, batch_size=args.batch_size, lr=args.lr,
                        min_lr=args.min_lr, warmup=args.warmup, weight_decay=args.weight_decay,
                        betas=(args.beta1, args.beta2), grad_clip=args.grad_clip, eval_interval=args.eval_interval,
                        eval_batches=args.eval_batches, seed=args.seed, checkpoint=args.checkpoint, resume=resume,
                        progress=True, callbacks=[report], comm=comm)
    if not lead:  # the records are rank 0's
        return
    print(f"done: val loss {history[-1]['val_loss']:.4f} after {history[-1]['iteration']} steps, "
          f"{time.perf_counter() - start:.1f} s in all")
    model.save(args.save)
    print(f"saved to {args.save}")
    if args.sample:
        _stream(model, tokenizer.encode("\n"), args.sample, "sample:\n", temperature=0.8, top_k=200, seed=args.seed)


def _loaded(args):
    if not os.path.exists(args.model):
        raise ValueError(f"no GPT at {args.model} (No such file or directory): train one first with "
                         f"`fastnet gpt train` (it saves {DEFAULT_SAVE}), or give --model PATH")
    model = load(args.model)
    if not isinstance(model, GPT):
        raise ValueError(f"{args.model}: holds a Network, not a GPT")
    if model.tokenizer is None:
        raise ValueError(f"{args.model}: the model has no tokenizer, so it cannot read a prompt")
    prompt = model.tokenizer.encode(args.prompt)
    if len(prompt) == 0:
        raise ValueError("--prompt must hold at least one token")
    return model, prompt


def _stream(model, prompt, count, heading, **options):
    """Print ``heading``, then the prompt's continuation token by token, as it is generated (arguments checked
    before anything is printed)."""
    tokens = model.stream(prompt, count, **options)
    sys.stdout.write(heading)
    for piece in texts.decode_stream(model.tokenizer, tokens):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def _sample(args):
    model, prompt = _loaded(args)
    _stream(model, prompt, args.tokens, args.prompt, temperature=args.temperature, top_k=args.top_k, seed=args.seed)


def _next(args):
    import numpy as np

    model, prompt = _loaded(args)
    if args.top < 1:
        raise ValueError("--top must be at least 1")
    p = model.next_token_probabilities(prompt, temperature=args.temperature)
    print(f"after {args.prompt!r}, the next token:")
    for token in np.argsort(-p, kind="stable")[:args.top]:
        shown = model.tokenizer.decode([token])
        print(f"  {shown!r:>12}  {p[token]:7.2%}  {'#' * int(round(40 * p[token]))}")
