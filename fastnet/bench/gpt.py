"""``fastnet bench gpt``: the GPT's training step, generation and BPE training, fastnet's backends and PyTorch.

One process, one thread per library (unless told otherwise: ``--threads N``
gives every library N, fastnet's training step its pool of N threads), the same model,
batch and hyper-parameters for everyone. Contenders run in alternation (one
step of each, then the next round), so that drift on a shared machine
affects all alike; each one's time is the median over the rounds.

- training: one iteration as ``fit`` runs it (loss, gradient, clipping to norm
  1, AdamW as nanoGPT configures it) on a fixed batch; PyTorch runs nanoGPT's
  architecture (``torch_gpt.TorchGPT``, attention by SDPA as nanoGPT's flash
  path) with ``torch.optim.AdamW`` and ``clip_grad_norm_``.
- generation: tokens per second at batch 1, from a one-token prompt to a full
  context (the key/value cache's range); PyTorch with nanoGPT's ``generate``
  (no cache: the whole sequence again for every token) and with a cache.
- bpe: ``BPETokenizer.train`` on Tiny Shakespeare's training text to 512 tokens.
"""
import contextlib
import statistics
import time

import numpy as np

import fastnet

from ..gpt.threads import ThreadedSteps
from .peers import at_level, fastnet_variants

CONFIGS = {
    "nanogpt-cpu": dict(context=64, n_layer=4, n_head=4, n_embd=128, batch_size=12),  # nanoGPT's CPU example
    "small": dict(context=32, n_layer=2, n_head=2, n_embd=64, batch_size=8),
    # nanoGPT's config/train_shakespeare_char.py (its GPU example, dropout off: 10.7M parameters), trained on 1 x 256
    # tokens (its batch of 64 would take seconds a step here), generating at batch 1: 255 tokens after one
    "shakespeare-char": dict(context=256, n_layer=6, n_head=6, n_embd=384, batch_size=1, prompt=1, new_tokens=255),
    # GPT-2's 124M (random weights), trained on 1 x 256 tokens, generating 128 tokens after a prompt of 16;
    # its PyTorch peer is transformers' GPT2LMHeadModel holding the same weights, when installed
    "gpt2": dict(context=1024, n_layer=12, n_head=12, n_embd=768, vocab_size=50257, bias=True, gelu="tanh",
                 batch_size=1, train_length=256, prompt=16, new_tokens=128),
}
VOCAB_SIZE = 65  # Tiny Shakespeare's characters, unless a configuration says
MODEL_KEYS = ("context", "n_layer", "n_head", "n_embd", "bias", "gelu")


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def _model(config, dtype, backend, seed=0):
    shape = {key: value for key, value in config.items() if key in MODEL_KEYS}
    return fastnet.GPT(config.get("vocab_size", VOCAB_SIZE), **shape, dtype=dtype, backend=backend, seed=seed)


def _batch(config, seed=0):
    rng = np.random.default_rng(seed)
    shape = (config["batch_size"], config.get("train_length", config["context"]))
    vocab = config.get("vocab_size", VOCAB_SIZE)
    return rng.integers(0, vocab, shape), rng.integers(0, vocab, shape)


def _transformers(config):
    """transformers, when the configuration is GPT-2's and it is installed (its GPT2LMHeadModel is the peer)."""
    if "vocab_size" not in config:
        return None
    try:
        import transformers
        return transformers
    except ImportError:
        return None


def _peer_module(config, model):
    """The PyTorch module holding ``model``'s weights: transformers' GPT-2 for its configuration, else nanoGPT's
    architecture (``torch_gpt``); and its name."""
    transformers = _transformers(config)
    if transformers is not None:
        return model.to_huggingface(), f"transformers {transformers.__version__}"
    from .torch_gpt import from_fastnet

    return from_fastnet(model), f"PyTorch {_torch().__version__}"


def _logits(module, x):
    output = module(x)
    return output.logits if hasattr(output, "logits") else output[0]


def _fastnet_step(model, tokens, targets, level, threads, stack):
    """One iteration as ``fit`` runs it on ``threads`` threads (``fastnet.gpt.threads``)."""
    kernels, params, shape, mask = model.kernels, model.params, model.shape, model.decay_mask
    grad, m, v = np.empty_like(params), np.zeros_like(params), np.zeros_like(params)
    steps = stack.enter_context(ThreadedSteps(kernels, threads))
    count = [0]

    def step():
        count[0] += 1
        with at_level(level):
            steps.loss_and_gradient(params, shape, tokens, targets, grad)
            kernels.adamw_step(params, grad, m, v, count[0], 1e-3, 0.9, 0.99, 1e-8, 0.1, mask, 1.0)

    return step


def _torch_step(module, tokens, targets):
    torch = _torch()
    module.train()
    decay = [p for p in module.parameters() if p.dim() >= 2]
    no_decay = [p for p in module.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.99))
    x, y = torch.from_numpy(tokens), torch.from_numpy(targets)

    def step():
        logits = _logits(module, x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()

    return step


def training_contenders(config, stack, dtype="float32", threads=1):
    """{name: step()}: one training iteration each, every backend here and PyTorch when installed; fastnet's
    thread pools live as long as ``stack`` (a contextlib.ExitStack)."""
    tokens, targets = _batch(config)
    steps = {f"fastnet {name}" + (f" {level}" if level else ""):
             _fastnet_step(_model(config, dtype, name), tokens, targets, level, threads, stack)
             for name, level in fastnet_variants() if fastnet.backends.why_unavailable(name) is None}
    if _torch() is not None:
        module, name = _peer_module(config, _model(config, dtype, "numpy"))
        steps[name] = _torch_step(module, tokens, targets)
    return steps


GENERATION_SCENARIOS = {  # name: (batch, past the context)
    "batch 1": (1, False),
    "batch 16": (16, False),
    "past the context": (1, True),
}


def generation_scenario(config, scenario):
    """(batch, prompt length, new tokens) of a GENERATION_SCENARIOS entry: within the context, from one token to
    a full context (or a configuration's own prompt and new tokens); past it, a full context's prompt and a
    context's worth of new tokens, each predicted from the last ``context`` tokens."""
    batch, past = GENERATION_SCENARIOS[scenario]
    if past:
        return batch, config["context"], config["context"]
    prompt_length = config.get("prompt", 1)
    return batch, prompt_length, config.get("new_tokens", config["context"] - prompt_length)


def generation_contenders(config, dtype="float32", scenario="batch 1"):
    """{name: (generate(seed), tokens per call)} for one of GENERATION_SCENARIOS; tokens per call counts every
    row's new tokens."""
    batch, prompt_length, new_tokens = generation_scenario(config, scenario)
    prompts = np.arange(batch * prompt_length).reshape(batch, prompt_length) % config.get("vocab_size", VOCAB_SIZE)
    count = batch * new_tokens
    contenders = {}
    for name in fastnet.backends.available():
        model = _model(config, dtype, name)
        contenders[f"fastnet {name}"] = (lambda seed, model=model: model.generate(prompts, new_tokens, seed=seed),
                                         count)
    torch = _torch()
    if torch is None:
        return contenders
    module, peer = _peer_module(config, _model(config, dtype, "numpy"))
    module.eval()
    start = torch.from_numpy(prompts)
    if hasattr(module, "generate_cached"):  # nanoGPT's architecture
        contenders["PyTorch, nanoGPT's generate"] = (lambda seed: module.generate(start, new_tokens), count)
        if not GENERATION_SCENARIOS[scenario][1]:  # the cache holds one context
            contenders["PyTorch, key/value cache"] = (lambda seed: module.generate_cached(start, new_tokens), count)
    else:  # transformers: sampling from the whole distribution (no top-k), with its cache

        def sample(seed):
            with torch.no_grad():
                return module.generate(start, do_sample=True, top_k=0, max_new_tokens=new_tokens,
                                       min_new_tokens=new_tokens, pad_token_id=0, use_cache=True)

        contenders[f"{peer} generate, key/value cache"] = (sample, count)
    return contenders


def time_alternated(calls, rounds, warmup=2):
    """{name: [seconds per round]}: call(round) of every contender once per round, after ``warmup`` rounds."""
    times = {name: [] for name in calls}
    for round_ in range(warmup + rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call(round_)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def _select(contenders, only):
    return {name: value for name, value in contenders.items()
            if not only or any(word.lower() in name.lower() for word in only)}


def run(*, configs=tuple(CONFIGS), parts=("training", "generation", "bpe"), rounds=20, dtype="float32", only=None,
        threads=1, stream=None):
    """Run the chosen parts; returns the results as a dict (for JSON) and prints Markdown tables."""
    import sys

    from . import where_and_when

    stream = sys.stdout if stream is None else stream
    results = {**where_and_when(), "dtype": dtype, "rounds": rounds}
    for config_name in configs:
        config = CONFIGS[config_name]
        if "training" in parts:
            with contextlib.ExitStack() as stack:
                steps = _select(training_contenders(config, stack, dtype, threads), only)
                times = time_alternated({name: (lambda round_, step=step: step()) for name, step in steps.items()},
                                        rounds)
            rows = {name: statistics.median(t) * 1e3 for name, t in times.items()}
            results[f"training {config_name}"] = {name: {"ms": ms} for name, ms in rows.items()}
            _table(stream, f"Training iteration, {config_name} {_describe(config)}, {dtype}", "ms per iteration",
                   rows, smaller_is_better=True)
        for scenario in (GENERATION_SCENARIOS if "generation" in parts else ()):
            if "prompt" in config and scenario != "batch 1":
                continue  # a configuration with its own prompt (gpt2, shakespeare-char): batch 1 within the context
            contenders = _select(generation_contenders(config, dtype, scenario), only)
            times = time_alternated({name: call for name, (call, _) in contenders.items()}, max(3, rounds // 4))
            rows = {name: contenders[name][1] / statistics.median(t) for name, t in times.items()}
            key = f"generation {config_name}" + ("" if scenario == "batch 1" else f", {scenario}")
            results[key] = {name: {"tokens_per_second": rate} for name, rate in rows.items()}
            batch, prompt_length, new_tokens = generation_scenario(config, scenario)
            _table(stream, f"Generation, {scenario}: {config_name}, {batch} x {new_tokens} tokens after a prompt of "
                   f"{prompt_length}, {dtype}", "tokens/s (all rows)", rows, smaller_is_better=False)
    if "bpe" in parts:
        results["bpe"] = bpe(only=only, stream=stream)
    return results


def bpe(*, vocab_size=512, only=None, stream=None):
    """Seconds to train BPE to ``vocab_size`` on Tiny Shakespeare's training text, per backend (best of 2)."""
    from ..datasets.text import load_text, split_text
    from ..text import BPETokenizer

    train, _ = split_text(load_text())
    names = [name for name in fastnet.backends.available() if not only or any(w in name for w in only)]
    times = time_alternated({name: (lambda round_, name=name: BPETokenizer.train(train, vocab_size, backend=name))
                             for name in names}, rounds=2, warmup=1)
    rows = {f"fastnet {name}": min(t) for name, t in times.items()}
    _table(stream, f"BPE training to {vocab_size} tokens on Tiny Shakespeare's training text ({len(train):,} "
           "characters)", "seconds", rows, smaller_is_better=True)
    return {name: {"seconds": seconds} for name, seconds in rows.items()}


def _describe(config):
    length = config.get("train_length", config["context"])
    return (f"(n_layer {config['n_layer']}, n_head {config['n_head']}, n_embd {config['n_embd']}, context "
            f"{config['context']}, batch {config['batch_size']} x {length} tokens)")


def _table(stream, title, unit, rows, smaller_is_better):
    """A Markdown table, with each row's speed-up over every PyTorch row (> 1: faster than PyTorch)."""
    references = {name: value for name, value in rows.items() if name.startswith(("PyTorch", "transformers"))}
    print(f"\n{title}\n", file=stream)
    print(f"| contender | {unit} |" + "".join(f" speed-up over {name} |" for name in references), file=stream)
    print("|---|---:|" + "---:|" * len(references), file=stream)
    for name, value in rows.items():
        ratios = "".join(f" {(reference / value if smaller_is_better else value / reference):.2f}x |"
                         for reference in references.values())
        print(f"| {name} | {value:,.2f} |{ratios}", file=stream)


def plot(results, path):
    """Bar charts of ``run``'s results (training ms, generation tokens/s per configuration) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(key, unit) for key in results if key.startswith(("training ", "generation "))
              for unit in ("ms" if key.startswith("training") else "tokens_per_second",)]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for axis, (key, unit) in zip(axes[0], panels):
        names = list(results[key])
        values = [results[key][name][unit] for name in names]
        colors = ["tab:orange" if name.startswith("PyTorch") else "tab:blue" for name in names]
        axis.barh(range(len(names)), values, color=colors)
        axis.set_yticks(range(len(names)), [name.replace("PyTorch, ", "PyTorch\n") for name in names], fontsize=8)
        axis.invert_yaxis()
        axis.set_title(key, fontsize=9)
        axis.set_xlabel("ms per iteration (less is better)" if unit == "ms" else "tokens/s (more is better)",
                        fontsize=8)
    figure.suptitle(f"fastnet bench gpt, {results['cpu']}, one thread, {results['dtype']}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
