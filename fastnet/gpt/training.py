"""The GPT's training loop behind ``GPT.fit``: batches, the learning-rate schedule, AdamW, evaluations, checkpoints."""
import math
import os
import sys
import time
import zlib

import numpy as np

from ..core.checks import as_tokens, check_int, check_nonnegative_finite, check_positive_finite, check_seed
from ..core import model_files
from ..core.storage import check_destination
from ..core.numerics import all_finite
from ..core.progress import ProgressBar
from ..core.records import Records, TrainingDiverged, check_callbacks, check_same_settings
from . import files
from .threads import ThreadedSteps

ADAM_EPS = 1e-8
MAX_BATCH_TOKENS = 1 << 22  # batch_size x context of one step (GPT-2 trained on 2**19 tokens a step)


class GPTHistory(Records):
    """What ``GPT.fit`` measured: one dict per evaluation.

    Keys: ``iteration`` (optimizer steps taken before it), ``train_loss`` (mean
    over ``eval_batches`` random batches of the training tokens), ``val_loss``
    (the same on ``val``, when given), ``lr`` (the learning rate of the next
    step) and ``seconds`` (wall time since training started).
    ``history["val_loss"]`` gives one column. ``losses`` holds the loss of
    every training batch, one per iteration.
    """

    def __init__(self, records=(), losses=()):
        super().__init__(records)
        self.losses = list(losses)


def learning_rate(iteration, *, iters, lr, min_lr, warmup):
    """nanoGPT's schedule: linear warm-up to ``lr``, then a cosine from ``lr`` down to ``min_lr`` at ``iters``.

    lr · (i + 1) / (warmup + 1) for i < warmup; then
    min_lr + ½ (1 + cos(π (i − warmup) / (iters − warmup))) (lr − min_lr).
    """
    if iteration < warmup:
        return lr * (iteration + 1) / (warmup + 1)
    if iteration >= iters:
        return min_lr
    ratio = (iteration - warmup) / (iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def random_windows(tokens, context, batch_size, rng):
    """(inputs, targets), each (batch_size, context): random windows of tokens and the tokens one step later."""
    starts = rng.integers(0, len(tokens) - context, size=batch_size)
    positions = starts[:, None] + np.arange(context)
    return tokens[positions], tokens[positions + 1]


def _stream(argument, tokens, model):
    rows, single = as_tokens(argument, tokens, model.vocab_size, batch=True)
    if not single:
        raise ValueError(f"{argument} must be one token stream (a 1-D array); got shape {np.shape(tokens)}")
    stream = rows[0]
    if len(stream) < model.context + 1:
        raise ValueError(f"{argument} holds {len(stream)} tokens; one training window needs context + 1 = "
                         f"{model.context + 1}")
    return stream


def _check_betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2); got {betas!r}")
    return tuple(check_nonnegative_finite(f"betas[{i}]", beta, below=1) for i, beta in enumerate(betas))


def _fingerprint(tokens):
    return None if tokens is None else [len(tokens), zlib.crc32(tokens.tobytes())]


def _all_average(comm, buffer, loss):
    """One Allreduce over the ranks of ``comm``: buffer = [gradient..., loss] summed, then divided by the ranks.

    Returns the mean loss; buffer[:-1] is then the mean gradient, the same bits on every rank.
    """
    from mpi4py import MPI

    buffer[-1] = loss
    comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    buffer /= comm.Get_size()
    return float(buffer[-1])


class RanksDisagree(ValueError):
    """Raised on every rank of a data-parallel ``fit`` when a rank's arguments are refused or differ from rank 0's."""


def _checked(model, tokens, val, iters, batch_size, lr, min_lr, warmup, weight_decay, betas, grad_clip, eval_interval,
             eval_batches, seed, checkpoint, callbacks, ranks, lead):
    """(tokens, val, settings, callbacks, checkpoint) with every argument checked; ``settings`` (a JSON-able dict
    of the numbers and the data's fingerprints) is what a checkpoint must match and what the ranks compare."""
    tokens = _stream("tokens", tokens, model)
    val = None if val is None else _stream("val", val, model)
    iters = check_int("iters", iters, 1)
    batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH_TOKENS // model.context)
    lr = check_positive_finite("lr", lr)
    min_lr = check_nonnegative_finite("min_lr", min_lr)
    if min_lr > lr:
        raise ValueError(f"min_lr must not exceed lr; got min_lr={min_lr}, lr={lr}")
    warmup = check_int("warmup", warmup, 0)
    weight_decay = check_nonnegative_finite("weight_decay", weight_decay)
    beta1, beta2 = _check_betas(betas)
    grad_clip = check_nonnegative_finite("grad_clip", grad_clip)
    eval_interval = check_int("eval_interval", eval_interval, 1)
    eval_batches = check_int("eval_batches", eval_batches, 1)
    check_seed("seed", seed)
    callbacks = check_callbacks(callbacks)
    checkpoint = None if checkpoint is None else os.fspath(checkpoint)
    if checkpoint is not None and lead:  # rank 0 alone writes it
        check_destination("checkpoint", checkpoint)
    settings = {"tokens": _fingerprint(tokens), "val": _fingerprint(val), "iters": iters, "batch_size": batch_size,
                "lr": lr, "min_lr": min_lr, "warmup": warmup, "weight_decay": weight_decay, "betas": [beta1, beta2],
                "grad_clip": grad_clip, "eval_interval": eval_interval, "eval_batches": eval_batches}
    if ranks > 1:  # the batches depend on it: a checkpoint resumes on as many processes as wrote it
        settings["ranks"] = ranks
    return tokens, val, settings, callbacks, checkpoint


def _agree(comm, problem, summary):
    """Every rank's verdict on its arguments, compared in one collective: RanksDisagree on every rank when one
    refused its arguments (``problem``) or its ``summary`` differs from rank 0's; None when they all agree."""
    verdicts = comm.allgather((None, summary) if problem is None else (f"{type(problem).__name__}: {problem}", None))
    for rank, (message, _) in enumerate(verdicts):
        if message is not None:
            raise RanksDisagree(f"rank {rank} refused its arguments ({message}); no rank trains")
    first = verdicts[0][1]
    for rank, (_, other) in enumerate(verdicts[1:], 1):
        if other != first:
            keys = sorted(key for key in set(other) | set(first) if other.get(key) != first.get(key))
            raise RanksDisagree(f"rank {rank} was given other settings than rank 0 ({', '.join(keys)}); every "
                                "process must call fit with the same model and arguments")


def fit(model, tokens, *, iters, batch_size, lr, min_lr, warmup, weight_decay, betas, grad_clip, val, eval_interval,
        eval_batches, seed, checkpoint, resume, progress, callbacks, comm=None):
    """AdamW on ``model``; see ``GPT.fit``. Every argument is checked before the first step.

    With ``comm``, the ranks first agree (one collective): a rank that
    refuses its arguments, or holds other settings, model or data than rank 0,
    makes every rank raise ``RanksDisagree`` at once; an error on one rank
    during training aborts the MPI job (``comm.Abort``), since the others
    would wait for it forever.
    """
    ranks, rank = (1, 0) if comm is None else (comm.Get_size(), comm.Get_rank())
    lead = rank == 0  # the rank that evaluates, calls back, checkpoints and shows progress
    try:
        tokens, val, settings, callbacks, checkpoint = _checked(
            model, tokens, val, iters, batch_size, lr, min_lr, warmup, weight_decay, betas, grad_clip, eval_interval,
            eval_batches, seed, checkpoint, callbacks, ranks, lead)
        problem = None
    except (TypeError, ValueError) as exc:
        if comm is None:
            raise
        problem = exc
    if comm is None:
        return _fit(model, tokens, val, settings, seed, checkpoint, resume, progress, callbacks, None, 0, lead)
    _agree(comm, problem, None if problem is not None else
           {**settings, "config": model.config, "dtype": model.dtype.name, "seed": seed, "resume": resume is not None})
    try:
        return _fit(model, tokens, val, settings, seed, checkpoint, resume, progress, callbacks, comm, rank, lead)
    except TrainingDiverged:
        raise  # every rank sees the same averaged loss and gradient: they all raise it together
    except BaseException as exc:
        if ranks > 1:
            print(f"fastnet: rank {rank}: {type(exc).__name__}: {exc}; aborting every rank", file=sys.stderr,
                  flush=True)
            comm.Abort(1)
        raise


def _fit(model, *args):
    """The training loop on ``model.threads`` threads (``fastnet.gpt.threads``)."""
    with ThreadedSteps(model.kernels, model.threads) as threaded:
        return _loop(model, threaded, *args)


def _loop(model, threaded, tokens, val, settings, seed, checkpoint, resume, progress, callbacks, comm, rank, lead):
    """The training loop of ``fit``, on checked arguments (``settings`` holds the numbers); each step's loss and
    gradient and each evaluation through ``threaded`` (a ``ThreadedSteps``)."""
    iters, batch_size, lr, min_lr, warmup, weight_decay, (beta1, beta2), grad_clip, eval_interval, eval_batches = (
        settings[name] for name in ("iters", "batch_size", "lr", "min_lr", "warmup", "weight_decay", "betas",
                                    "grad_clip", "eval_interval", "eval_batches"))
    ranks = settings.get("ranks", 1)
    if comm is not None:  # every rank: rank 0's parameters and one stream of batches
        comm.Bcast(model.params, root=0)
        if seed is None:
            seed = comm.bcast(int(model.rng.integers(2 ** 63)) if rank == 0 else None, root=0)
    rng = model.rng if seed is None else np.random.default_rng(seed)
    kernels, config, params = model.kernels, model.shape, model.params
    m, v = np.zeros_like(params), np.zeros_like(params)
    buffer = np.empty(params.size + 1, params.dtype)  # the gradient, then the loss: what the ranks average
    grad = buffer[:-1]
    before_step = np.empty_like(params)  # restored when a step makes the parameters non-finite
    # Evaluation batches come from their own generator, so that evaluating does not change the training batches.
    eval_rng = np.random.default_rng(rng.integers(2 ** 63))
    history, done, seconds_before = GPTHistory(), 0, 0.0
    if resume is not None:
        done, seconds_before, finished = _resume(model, resume, settings, rng, eval_rng, m, v, history)
        if finished:
            return history

    def mean_loss(stream):
        batches = [random_windows(stream, config.context, batch_size, eval_rng) for _ in range(eval_batches)]
        return threaded.mean_loss(params, config, batches)

    def schedule(iteration):
        return learning_rate(iteration, iters=iters, lr=lr, min_lr=min_lr, warmup=warmup)

    def save_checkpoint(steps, finished):
        if checkpoint is None or not lead:
            return
        state = {"iteration": steps, "finished": finished, "settings": settings, "rng": rng.bit_generator.state,
                 "eval_rng": eval_rng.bit_generator.state, "history": list(history), "losses": history.losses,
                 "seconds": seconds_before + time.perf_counter() - start}
        files.save_checkpoint(model, checkpoint, state, {"adam_m": m, "adam_v": v})

    bar = ProgressBar(iters, "gpt training", enabled=progress and lead, unit="step")
    start = time.perf_counter()

    def evaluate(steps):
        """Record the losses after ``steps`` iterations (rank 0); True when a callback asks to stop."""
        stop = lead and record_losses(steps)
        return stop if comm is None else comm.bcast(stop, root=0)

    def record_losses(steps):
        record = {"iteration": steps, "train_loss": mean_loss(tokens)}
        if val is not None:
            record["val_loss"] = mean_loss(val)
        record.update(lr=schedule(steps), seconds=seconds_before + time.perf_counter() - start)
        history.append(record)
        bar.clear()  # the callbacks may print; the bar is drawn again at the next step
        stop = any([callback(model, record) for callback in callbacks])
        save_checkpoint(steps, stop or steps == iters)
        return stop

    if resume is None and evaluate(0):
        return history
    for iteration in range(done, iters):
        step_lr = schedule(iteration)
        inputs, targets = random_windows(tokens, config.context, batch_size * ranks, rng)
        share = slice(rank * batch_size, (rank + 1) * batch_size)  # this rank's windows of the step's batch
        loss, _ = threaded.loss_and_gradient(params, config, inputs[share], targets[share], grad)
        if comm is not None:
            loss = _all_average(comm, buffer, loss)
        diverged = None if math.isfinite(loss) else f"the loss became {loss}"
        if diverged is None:
            np.copyto(before_step, params)
            norm = kernels.adamw_step(params, grad, m, v, iteration + 1, step_lr, beta1, beta2, ADAM_EPS,
                                      weight_decay, model.decay_mask, grad_clip)
            if not math.isfinite(norm):
                diverged = f"the gradient norm became {norm}"
            elif not all_finite(params):
                diverged = f"the step (lr {step_lr:g}) made parameters overflow"
            if diverged is not None:
                np.copyto(params, before_step)
        if diverged is not None:
            bar.close()
            raise TrainingDiverged(f"training diverged at iteration {iteration + 1}: {diverged}; try a smaller "
                                   f"lr than {lr} (the parameters from before this step are kept)")
        history.losses.append(loss)
        bar.update(iteration + 1)
        steps = iteration + 1
        if (steps % eval_interval == 0 or steps == iters) and evaluate(steps):
            break
    bar.close()
    return history


def _resume(model, path, settings, rng, eval_rng, m, v, history):
    """Restore the training state saved at ``path``; returns (iterations done, seconds spent, finished)."""
    path = os.fspath(path)
    with model_files.open_file(path) as file:
        config, params, state, arrays = files.read_checkpoint(file)
    if config != model.config or params.dtype != model.dtype:
        raise ValueError(f"{path}: the checkpoint's GPT has {config} in {params.dtype}; this one {model.config} "
                         f"in {model.dtype}")
    try:  # read and check everything before changing anything
        saved_settings, done, seconds = dict(state["settings"]), int(state["iteration"]), float(state["seconds"])
        for name in ("rng", "eval_rng"):
            type(rng.bit_generator)().state = state[name]  # a valid generator state (tried on a spare generator)
        records, losses = [dict(record) for record in state["history"]], [float(x) for x in state["losses"]]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{path}: damaged training state ({type(exc).__name__}: {exc})") from None
    check_same_settings(path, saved_settings, settings, "tokens")
    if not 0 <= done <= settings["iters"] or len(losses) != done:
        raise ValueError(f"{path}: damaged training state (iteration {done} of {settings['iters']})")
    model.params = params
    m[...], v[...] = arrays["adam_m"], arrays["adam_v"]
    rng.bit_generator.state = state["rng"]
    eval_rng.bit_generator.state = state["eval_rng"]
    history.extend(records)
    history.losses.extend(losses)
    return done, seconds, bool(state.get("finished"))
