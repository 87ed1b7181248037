"""The GPT: one API over the backends' GPT kernels (the NumPy reference states the math)."""
import math
import os
import re
import threading

import numpy as np

from .. import backends
from ..core.checks import (as_tokens, check_bool, check_dtype, check_finite_params, check_int, check_positive_finite,
                           check_seed)
from ..core.storage import open_for_reading
from ..core.records import held
from . import files, huggingface, layout, training
from .threads import default_threads

INIT_STD = 0.02  # nanoGPT: N(0, 0.02) for linear and embedding weights
INIT_BLOCK = 1 << 20  # values drawn at a time when initialising
MAX_NEW_TOKENS = 10**7  # tokens one generate/stream call draws per sequence
MAX_GENERATED = 10**8  # tokens one generate call holds, prompts included (800 MB of int64)
STREAM_CHUNK = 64  # tokens one compiled decoding call draws at most (stream's first calls draw 1, 2, 4, ...)


def _positive_int(argument, value):
    return check_int(argument, value, 1)


class GPT:
    """A GPT-2-style transformer (nanoGPT's model.py, without dropout) that predicts the next token.

    Tokens become embedding vectors (``wte``) plus position vectors (``wpe``);
    ``n_layer`` blocks each let the vectors attend to the earlier positions
    (causal multi-head self-attention) and then pass every vector through an
    MLP (4·n_embd wide, GELU), each step added to the residual stream
    after a LayerNorm (pre-norm, eps 1e-5); a last LayerNorm and the output
    head, tied to ``wte``, give logits over the vocabulary at every position.

    Parameters
    ----------
    vocab_size : number of distinct tokens
    context : the longest sequence the model reads (nanoGPT's block_size)
    n_layer, n_head, n_embd : blocks, attention heads per block, vector width
        (a multiple of n_head)
    bias : biases in the linear layers and LayerNorms (GPT-2 has them)
    gelu : "erf", the exact GELU (nanoGPT's), or "tanh", GPT-2's approximation
        (transformers' ``gelu_new``)
    dtype : "float32" or "float64"
    backend : "auto" (the fastest usable here) or a backend name
    seed : int or None; the same seed gives the same initial parameters
    threads : the threads ``fit`` trains on; None: the physical cores (fewer if
        OMP_NUM_THREADS or a threadpoolctl limit says so; ``fastnet.gpt.threads``)

    Initialisation as nanoGPT: weights N(0, 0.02), the residual projections
    (``c_proj``) N(0, 0.02/√(2·n_layer)), biases 0, LayerNorm weights 1.
    """

    def __init__(self, vocab_size, *, context=64, n_layer=4, n_head=4, n_embd=128, bias=False, gelu="erf",
                 dtype="float32", backend="auto", seed=None, threads=None):
        self._setup(vocab_size, context, n_layer, n_head, n_embd, bias, gelu, dtype, backend, seed, threads)
        self._params = self._initial_params()

    @classmethod
    def to_be_filled(cls, vocab_size, *, context=64, n_layer=4, n_head=4, n_embd=128, bias=False, gelu="erf",
                     dtype="float32", backend="auto", seed=None, threads=None):
        """A GPT whose parameters are zeros, for a caller that fills them (a file, a state dict): the same checks
        as ``GPT(...)`` without drawing initial values (seconds for GPT-2's 124M)."""
        model = cls.__new__(cls)
        model._setup(vocab_size, context, n_layer, n_head, n_embd, bias, gelu, dtype, backend, seed, threads)
        model._params = np.zeros(layout.count_params(model._config), model._dtype)
        return model

    def _setup(self, vocab_size, context, n_layer, n_head, n_embd, bias, gelu, dtype, backend, seed, threads):
        sizes = {name: _positive_int(name, value) for name, value in
                 dict(vocab_size=vocab_size, context=context, n_layer=n_layer, n_head=n_head, n_embd=n_embd).items()}
        self._config = layout.check_config(layout.Config(bias=check_bool("bias", bias), gelu=gelu, **sizes))
        self._dtype = check_dtype(dtype)
        self._rng = np.random.default_rng(check_seed("seed", seed))
        self.use_backend(backend)
        self._decay_mask = None  # made when training first asks for it: a model that only answers never holds it
        self._tokenizer = None
        self._training = threading.Lock()
        self.threads = threads

    def _initial_params(self):
        params = np.empty(layout.count_params(self._config), self._dtype)
        residual_std = INIT_STD / math.sqrt(2 * self._config.n_layer)
        for name, view in layout.named_views(params, self._config).items():
            if view.ndim == 2:  # drawn in blocks of rows (the same values): no float64 copy of a whole tensor
                std = residual_std if name.endswith("c_proj.weight") else INIT_STD
                rows = max(1, INIT_BLOCK // view.shape[1])
                for start in range(0, len(view), rows):
                    block = view[start:start + rows]
                    draw = self._rng.standard_normal(block.shape)
                    draw *= std
                    block[...] = draw
            else:
                view[...] = 1 if re.search(r"ln_\w+\.weight$", name) else 0
        return params

    def __repr__(self):
        c = self._config
        return (f"GPT(vocab_size={c.vocab_size}, context={c.context}, n_layer={c.n_layer}, n_head={c.n_head}, "
                f"n_embd={c.n_embd}, bias={c.bias}, gelu={c.gelu!r}, dtype={self._dtype.name!r}, "
                f"backend={self._backend!r})")

    # -- shape and parameters ------------------------------------------------

    @property
    def config(self):
        """The model's shape as a dict: vocab_size, context, n_layer, n_head, n_embd, bias, gelu."""
        return self._config._asdict()

    vocab_size = property(lambda self: self._config.vocab_size)
    context = property(lambda self: self._config.context)
    n_layer = property(lambda self: self._config.n_layer)
    n_head = property(lambda self: self._config.n_head)
    n_embd = property(lambda self: self._config.n_embd)
    bias = property(lambda self: self._config.bias)
    gelu = property(lambda self: self._config.gelu)
    dtype = property(lambda self: self._dtype)

    @property
    def num_params(self):
        """Number of parameters (the output head is tied to wte and counted once; wpe included)."""
        return self._params.size

    @property
    def params(self):
        """Every parameter in one flat array (layout: ``fastnet.gpt.layout``); writable."""
        return self._params

    @params.setter
    def params(self, value):
        array = np.asarray(value)
        if array.shape != self._params.shape:
            raise ValueError(f"params must have shape {self._params.shape}; got shape {array.shape}")
        if array.dtype.kind not in "iuf" or not np.isfinite(array).all():
            raise ValueError("params must hold finite real numbers")
        self._params[...] = array

    def state_dict(self):
        """{nanoGPT name: writable view into params}, ``lm_head.weight`` being the same array as wte's."""
        views = layout.named_views(self._params, self._config)
        views[layout.HEAD_NAME] = views[layout.TIED_NAME]
        return views

    def load_state_dict(self, state):
        """Copy a state dict (NumPy arrays or torch tensors, nanoGPT's names and shapes) into params.

        A ``_orig_mod.`` prefix (torch.compile) is removed and the causal-mask
        buffers older nanoGPTs store (``...attn.bias``) are ignored;
        ``lm_head.weight``, if present, must equal ``transformer.wte.weight``.
        Every name, shape and value is checked before anything is copied.
        """
        if not hasattr(state, "items"):
            raise TypeError(f"state must be a dict of arrays or tensors; got {type(state).__name__}")
        arrays = {}
        for key, value in state.items():
            name = key[len("_orig_mod."):] if isinstance(key, str) and key.startswith("_orig_mod.") else key
            if isinstance(name, str) and re.fullmatch(r"transformer\.h\.\d+\.attn\.bias", name) and np.ndim(value) == 4:
                continue  # the causal mask buffer, not a parameter
            if hasattr(value, "detach"):  # a torch tensor
                value = value.detach().cpu().float().numpy() if str(value.dtype) == "torch.bfloat16" \
                    else value.detach().cpu().numpy()
            arrays[name] = np.asarray(value)
        expected = dict(layout.tensor_shapes(self._config))
        missing = [name for name in expected if name not in arrays]
        extra = [name for name in arrays if name not in expected and name != layout.HEAD_NAME]
        if missing or extra:
            raise ValueError("state dict does not fit this GPT"
                             + (f"; missing: {', '.join(missing)}" if missing else "")
                             + (f"; unexpected: {', '.join(map(str, extra))}" if extra else ""))
        for name, shape in list(expected.items()) + [(layout.HEAD_NAME, expected[layout.TIED_NAME])]:
            if name not in arrays:
                continue
            array = arrays[name]
            if array.shape != tuple(shape):
                raise ValueError(f"state dict: {name} must have shape {tuple(shape)}; got {array.shape}")
            if array.dtype.kind != "f" or not np.isfinite(array).all():
                raise ValueError(f"state dict: {name} must hold finite floating-point values")
        if layout.HEAD_NAME in arrays and not np.array_equal(arrays[layout.HEAD_NAME], arrays[layout.TIED_NAME]):
            raise ValueError(f"state dict: {layout.HEAD_NAME} differs from {layout.TIED_NAME}; this GPT ties them")
        for name, view in layout.named_views(self._params, self._config).items():
            view[...] = arrays[name]
        return self

    @classmethod
    def from_nanogpt(cls, path, *, dtype="float32", backend="auto"):
        """The model of a nanoGPT checkpoint (``ckpt.pt``: its ``model_args`` and ``model``); needs torch."""
        try:
            import torch
        except ImportError:
            raise ImportError("reading a nanoGPT checkpoint needs PyTorch: pip install torch") from None
        with open_for_reading(path) as file:  # a FIFO is refused, not waited on
            try:
                checkpoint = torch.load(file, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds for a file that is not one
                raise ValueError(f"{path}: not a nanoGPT checkpoint ({type(exc).__name__}: {exc})") from None
        try:
            args, state = checkpoint["model_args"], checkpoint["model"]
            config = {"vocab_size": args["vocab_size"], "context": args["block_size"], "n_layer": args["n_layer"],
                      "n_head": args["n_head"], "n_embd": args["n_embd"], "bias": bool(args["bias"])}
        except Exception as exc:  # noqa: BLE001 - a checkpoint of another shape
            raise ValueError(f"{path}: not a nanoGPT checkpoint ({type(exc).__name__}: {exc})") from None
        return cls.to_be_filled(**config, dtype=dtype, backend=backend).load_state_dict(state)

    @classmethod
    def from_huggingface(cls, source, *, config=None, dtype="float32", backend="auto"):
        """The GPT-2 of Hugging Face ``transformers`` as a fastnet GPT (``fastnet.gpt.huggingface``).

        ``source``: a checkpoint directory (config.json and model.safetensors or
        pytorch_model.bin, or their shards; read without ``transformers``), a
        ``GPT2LMHeadModel`` or ``GPT2Model``, or a state dict with its ``config``
        (a ``GPT2Config`` or its dict). Conv1D weights are transposed into
        nanoGPT's layout; GPT-2's ``gelu_new`` becomes ``gelu="tanh"``. What a
        fastnet GPT cannot hold is refused with a ValueError naming it.
        """
        if isinstance(source, (str, os.PathLike)):
            hf_config, state = huggingface.read_checkpoint(source)
            hf_config = hf_config if config is None else config
        elif hasattr(source, "state_dict") and hasattr(source, "config"):
            hf_config, state = source.config if config is None else config, source.state_dict()
        elif hasattr(source, "items"):
            if config is None:
                raise ValueError("a GPT-2 state dict needs its config (config=model.config or a GPT2Config)")
            hf_config, state = config, source
        else:
            raise TypeError(f"source must be a checkpoint directory, a transformers GPT-2 model or a state dict; "
                            f"got {type(source).__name__}")
        settings = huggingface.config_from(hf_config)
        return cls.to_be_filled(**settings, dtype=dtype, backend=backend).load_state_dict(
            huggingface.state_from(state, settings))

    def to_huggingface(self):
        """This GPT as a ``transformers.GPT2LMHeadModel`` (eval mode, this GPT's dtype; needs the huggingface
        extra): Conv1D weights transposed, ``gelu_new`` for gelu="tanh" (``gelu`` for the exact one), zero
        biases for a GPT without them, the head tied to the token embedding."""
        self._finite_params()
        return huggingface.to_transformers(self)

    # -- tokenizer -----------------------------------------------------------

    @property
    def tokenizer(self):
        """The tokenizer saved with the model (``fastnet.text``), or None."""
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, tokenizer):
        if tokenizer is not None:
            if not all(hasattr(tokenizer, name) for name in ("encode", "decode", "vocab_size", "to_json")):
                raise TypeError("tokenizer must be a fastnet.text tokenizer (CharTokenizer or BPETokenizer)")
            if tokenizer.vocab_size > self.vocab_size:
                raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens, more than this GPT's "
                                 f"vocab_size {self.vocab_size}")
        self._tokenizer = tokenizer

    # -- backend -------------------------------------------------------------

    @property
    def backend(self):
        """The backend whose kernels run this GPT."""
        return self._backend

    @backend.setter
    def backend(self, name):
        self.use_backend(name)

    def use_backend(self, name):
        """Run on backend ``name`` ("auto": the fastest with GPT kernels); returns self."""
        self._backend, self._kernels = backends.load_gpt(name)
        return self

    @property
    def threads(self):
        """The threads ``fit`` trains on (the physical cores unless set; see ``fastnet.gpt.threads``)."""
        return self._threads if self._threads is not None else default_threads()

    @threads.setter
    def threads(self, value):
        self._threads = None if value is None else check_int("threads", value, 1, 1024)

    # -- what the kernels take (for the training loop and for code that calls a backend directly)

    @property
    def kernels(self):
        """The module of GPT kernels that runs this model (``fastnet.backends.GPT_KERNELS``)."""
        return self._kernels

    @property
    def shape(self):
        """The ``layout.Config`` the kernels take (the model's sizes as a named tuple)."""
        return self._config

    @property
    def decay_mask(self):
        """1 on the parameters AdamW decays (the 2-D tensors), 0 elsewhere; in the params' layout and dtype."""
        if self._decay_mask is None:
            self._decay_mask = layout.decayed(self._config, self._dtype)
        return self._decay_mask

    @property
    def rng(self):
        """The model's random generator: ``fit`` and ``generate`` draw from it when no seed is given."""
        return self._rng

    # -- the model's answers -------------------------------------------------

    def _tokens(self, argument, tokens):
        return as_tokens(argument, tokens, self.vocab_size, max_length=self.context)

    def _finite_params(self):
        """The parameters, after checking that they are finite (a diverged or damaged GPT answers nothing)."""
        check_finite_params(self._params, "GPT")
        return self._params

    def logits(self, tokens):
        """Logits (B, T, V) for tokens (B, T), or (T, V) for one sequence (T,); T <= context."""
        rows, single = self._tokens("tokens", tokens)
        out = self._kernels.logits(self._finite_params(), self._config, rows)
        return out[0] if single else out

    def _pair(self, tokens, targets):
        rows, _ = self._tokens("tokens", tokens)
        expected, _ = as_tokens("targets", targets, self.vocab_size)
        if expected.shape != rows.shape:
            raise ValueError(f"targets must have the shape of tokens {np.shape(tokens)}; got {np.shape(targets)}")
        return rows, expected

    def loss(self, tokens, targets):
        """The mean cross-entropy −ln p(target) over every position (targets: the next tokens, same shape)."""
        return self._kernels.loss(self._finite_params(), self._config, *self._pair(tokens, targets))

    def gradient(self, tokens, targets):
        """∂loss/∂params (P,), laid out like ``params``, by the hand-written backward pass."""
        grad = np.empty_like(self._params)
        return self._kernels.loss_and_gradient(self._finite_params(), self._config, *self._pair(tokens, targets),
                                               grad)[1]

    def attention(self, tokens):
        """The attention weights (n_layer, n_head, T, T) for one sequence (T,) (or (n_layer, B, n_head, T, T)).

        Entry [l, h, i, j] is how much position i attends to position j (0 for j > i; each row sums to 1).
        """
        rows, single = self._tokens("tokens", tokens)
        weights = self._kernels.attention_weights(self._finite_params(), self._config, rows)
        return weights[:, 0] if single else weights

    def next_token_probabilities(self, tokens, *, temperature=1.0, top_k=None):
        """p (V,): the distribution over the token after the sequence ``tokens`` (T,): softmax(logits / temperature).

        With ``top_k``, the distribution ``generate`` draws from: zero outside
        the top_k likeliest, the rest renormalised. A sequence longer than the
        context is read from its last ``context`` tokens.
        """
        rows, _ = as_tokens("tokens", tokens, self.vocab_size, batch=False)
        temperature, top_k = _check_temperature(temperature), self._check_top_k(top_k)
        cache = self._kernels.new_cache(self._config, 1, self._dtype)
        last = self._kernels.prefill(self._finite_params(), self._config, rows[:, -self.context:], cache)
        from ..backends.numpy.gpt import next_token_weights  # the reference: imported when a GPT runs

        weights = next_token_weights(last, temperature, top_k)[0]
        total = weights.sum()
        if not math.isfinite(total):
            raise self._no_distribution("the next token")
        return weights / total

    def _check_top_k(self, top_k):
        """``top_k`` as the kernels take it: at most vocab_size, 0 (every token) for None."""
        return 0 if top_k is None else min(check_int("top_k", top_k, 1), self.vocab_size)

    def _no_distribution(self, what):
        """The error for logits of ``what`` that give no distribution to draw from (``numpy_gpt.sample_tokens``)."""
        return ValueError(f"the GPT's logits for {what} are not finite (NaN or infinite): there is no distribution "
                          f"(its {self._dtype.name} parameters overflow)")

    def generate(self, tokens, max_new_tokens, *, temperature=1.0, top_k=None, seed=None):
        """The sequence(s) ``tokens`` (T,) or (B, T) followed by ``max_new_tokens`` sampled tokens.

        Each token is drawn from softmax(logits / temperature), restricted to the
        ``top_k`` likeliest when given (top_k=1: greedy). While the sequence fits
        the context, each new token costs one position's work (a key/value cache);
        past it, each token is predicted from the last ``context`` tokens, as
        nanoGPT does, which needs a fresh pass over them (every position shifts).
        ``seed`` seeds the sampling (else the model's generator is used).
        ``max_new_tokens`` is at most MAX_NEW_TOKENS (10,000,000), and one call
        holds at most MAX_GENERATED (10**8) tokens, prompts included.
        """
        rows, single = as_tokens("tokens", tokens, self.vocab_size)
        chunks = self._sample(rows, max_new_tokens, temperature, top_k, seed, first_chunk=STREAM_CHUNK)
        out = np.concatenate([rows] + [chunk.T for chunk in chunks], axis=1)
        return out[0] if single else out

    def stream(self, tokens, max_new_tokens, *, temperature=1.0, top_k=None, seed=None):
        """``generate`` for one sequence (T,): an iterator of each new token id as it is drawn.

        The arguments are checked when ``stream`` is called, before anything is drawn.
        """
        rows, _ = as_tokens("tokens", tokens, self.vocab_size, batch=False)
        chunks = self._sample(rows, max_new_tokens, temperature, top_k, seed, first_chunk=1)
        return (int(token) for chunk in chunks for token in chunk[:, 0])

    def _sample(self, rows, max_new_tokens, temperature, top_k, seed, first_chunk):
        """An iterator of (n, B) chunks of new tokens; arguments checked before the first one is drawn."""
        max_new_tokens = check_int("max_new_tokens", max_new_tokens, 0, MAX_NEW_TOKENS)
        if rows.size + len(rows) * max_new_tokens > MAX_GENERATED:
            raise ValueError(f"generate would hold {len(rows)} sequences of {rows.shape[1] + max_new_tokens} "
                             f"tokens; at most {MAX_GENERATED:,} tokens in all: generate fewer at a time")
        temperature, top_k = _check_temperature(temperature), self._check_top_k(top_k)
        rng = self._rng if check_seed("seed", seed) is None else np.random.default_rng(seed)
        self._finite_params()
        return self._sampled(rows, max_new_tokens, temperature, top_k, rng, first_chunk)

    def _sampled(self, rows, count, temperature, top_k, rng, first_chunk):
        """(n, B) chunks of ``count`` new tokens in all: the first from the prompt's last logits; then, while
        the cache has room, from the compiled loop ``decode_tokens``, ``first_chunk`` tokens a call, doubling
        up to STREAM_CHUNK (``stream`` starts at 1, to show the first ones at once); past the context, one
        full pass over the last ``context`` tokens each. Token i of every row is drawn with the i-th row of
        uniforms from ``rng`` whatever the chunks, so every backend draws the same tokens from the same seed."""
        kernels, config = self._kernels, self._config
        length = rows.shape[1]
        sequence = np.empty((len(rows), length + count), np.int64)  # the prompt, then each token drawn
        sequence[:, :length] = rows
        cache = kernels.new_cache(config, len(rows), self._dtype)
        window = rows[:, -config.context:]
        logits = kernels.prefill(self._params, config, window, cache)
        position = window.shape[1]
        produced, chunk = 0, first_chunk
        while produced < count:
            if produced == 0 or position == config.context:
                tokens = kernels.sample_tokens(logits, temperature, top_k, rng.random((1, len(rows)))[0])[None]
            else:  # the cache has room: several steps in one compiled call
                steps = min(count - produced, config.context - position, chunk)
                chunk = min(2 * chunk, STREAM_CHUNK)
                tokens = kernels.decode_tokens(self._params, config, sequence[:, length - 1], position, cache,
                                               rng.random((steps, len(rows))), temperature, top_k)
                position += steps
            if tokens.min() < 0:  # the first row without a distribution ends the chunk (decode_tokens)
                first = int(np.flatnonzero(tokens.min(axis=1) < 0)[0])
                yield tokens[:first]
                raise self._no_distribution(f"new token {produced + first}")
            yield tokens
            sequence[:, length:length + len(tokens)] = tokens.T
            length += len(tokens)
            produced += len(tokens)
            if produced < count and position == config.context:
                logits = kernels.prefill(self._params, config, sequence[:, length - config.context:length], cache)

    # -- training and files --------------------------------------------------

    def fit(self, tokens, *, iters=2000, batch_size=12, lr=1e-3, min_lr=1e-4, warmup=100, weight_decay=0.1,
            betas=(0.9, 0.99), grad_clip=1.0, val=None, eval_interval=250, eval_batches=20, seed=None,
            checkpoint=None, resume=None, progress=True, callbacks=(), comm=None):
        """Train on a token stream (1-D int array) with AdamW; returns a ``fastnet.gpt.GPTHistory``.

        Each iteration draws ``batch_size`` random windows of context + 1
        tokens (inputs and their next tokens) from a generator seeded by
        ``seed`` (else the model's own), so every backend sees the same batches.
        The learning rate rises linearly over ``warmup`` iterations to ``lr``,
        then follows a cosine down to ``min_lr`` at ``iters`` (nanoGPT's
        schedule). Gradients are clipped to a global norm of ``grad_clip``
        (0: no clipping); AdamW (``betas``, eps 1e-8) decays only the 2-D
        tensors by ``weight_decay``.

        At iteration 0, every ``eval_interval`` iterations and at the end, the
        mean loss over ``eval_batches`` random batches of the training tokens
        (and of ``val``, when given) is recorded; each of ``callbacks`` is then
        called as ``f(model, record)``, and training stops after a record for
        which one returns True. ``checkpoint=path`` saves the model and the
        whole training state at each of those points (atomically);
        ``resume=path`` continues from such a file, with the same arguments,
        to the same parameters as an uninterrupted run.

        ``comm``, an MPI communicator (mpi4py's ``MPI.COMM_WORLD``), trains
        data-parallel: every process calls ``fit`` with the same arguments;
        each starts from rank 0's parameters, each step draws
        ``comm.size * batch_size`` windows from the one seeded stream, rank r
        takes windows r·batch_size onwards, and one Allreduce averages the
        gradients (and losses), so every rank takes the same AdamW step: the
        run equals one process with ``batch_size * comm.size``, to rounding.
        Rank 0 alone evaluates, calls ``callbacks``, shows progress and
        writes checkpoints (the returned history's records are rank 0's).
        """
        with held(self._training, self):
            return training.fit(self, tokens, iters=iters, batch_size=batch_size, lr=lr, min_lr=min_lr,
                                warmup=warmup, weight_decay=weight_decay, betas=betas, grad_clip=grad_clip, val=val,
                                eval_interval=eval_interval, eval_batches=eval_batches, seed=seed,
                                checkpoint=checkpoint, resume=resume, progress=progress, callbacks=callbacks,
                                comm=comm)

    def save(self, path):
        """Write the model and its tokenizer to ``path`` (.npz, atomically); read it back with ``fastnet.load``.

        Non-finite parameters (a diverged GPT) are refused: nothing is written.
        """
        self._finite_params()
        return files.save(self, path)


def _check_temperature(temperature):
    try:
        return check_positive_finite("temperature", temperature)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
