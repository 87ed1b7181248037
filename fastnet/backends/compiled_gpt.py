"""The GPT kernel functions of a compiled backend, shared by Numba and Cython.

A compiled backend's GPT module provides drivers with the same arguments
(``forward``, ``loss``, ``loss_and_gradient``, ``decode_step``, ``adamw``,
``bpe_merges``);
``CompiledGPTKernels(drivers)`` wraps them in the functions of
``fastnet.backends.GPT_KERNELS`` with the NumPy reference's semantics
(``numpy_gpt`` states the math). The wrappers check every array the drivers
will index before compiled code runs, and allocate the drivers' work arrays:

``Activations`` (R = B·T rows, C = n_embd, L = n_layer; what the backward pass reads)
    resid (L+1, R, C)   the residual stream entering each block, and leaving the last
    ln1, ln2 (L, R, C)  the two LayerNorms' outputs;  stats (L, 4, R) their means and 1/σ
    qkv (L, R, 3C)      q, k, v side by side;  att (L, B·nh·T, T) each head's attention weights
    atty (L, R, C)      the heads' outputs, side by side;  mid (L, R, C) the stream after attention
    gelu (L, R, 4C)     the MLP's hidden values after GELU;  dgelu (L, R, 4C) GELU's derivative there
    lnf (R, C), lnf_stats (2, R), logits (R, V)

``Deltas``: dresid (R, C), dbuf (R, C), dqkv (R, 3C), dfc (R, 4C), datt (T, T): gradients of the above.
"""
import collections
import functools
import math
import threading

import numpy as np

from ..gpt.layout import GELUS, check_config, index_names, tensor_shapes
from .numpy import gpt as numpy_gpt
from .numpy.gpt import DIRECT_COUNT_MAX

Activations = collections.namedtuple(
    "Activations", "resid mid ln1 ln2 stats qkv att atty gelu dgelu lnf lnf_stats logits")
Deltas = collections.namedtuple("Deltas", "dresid dbuf dqkv dfc datt")
DecodeWork = collections.namedtuple("DecodeWork", "x h qkv y g stats scores")

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@functools.lru_cache(maxsize=64)
def tensor_index(config):
    """int64 (4 + 12 L,): where each tensor of ``layout.index_names`` starts in the flat vector (named by the
    constants of ``fastnet.gpt.layout``: WTE..LN_F_BIAS, then per block LN_1_WEIGHT..MLP_PROJ_BIAS); −1 for an
    absent bias.
    Returns (index, number of parameters); raises ValueError for a shape the kernels cannot run."""
    check_config(config)
    offsets, position = {}, 0
    for name, shape in tensor_shapes(config):
        offsets[name] = position
        position += int(np.prod(shape))
    index = np.array([offsets.get(name, -1) for name in index_names(config.n_layer)], np.int64)
    index.flags.writeable = False
    return index, position


def _model(config):
    """(tensor index, n_head, GELU code): what each model driver takes after params."""
    return tensor_index(config)[0], config.n_head, GELUS.index(config.gelu)


def _check_params(params, config):
    size = tensor_index(config)[1]
    if not (isinstance(params, np.ndarray) and params.dtype in _DTYPES and params.shape == (size,)
            and params.flags.c_contiguous):
        raise ValueError(f"params must be a contiguous float32 or float64 array of shape ({size},); got "
                         f"{getattr(params, 'dtype', type(params).__name__)} {np.shape(params)}")


def _check_vector(name, array, params):
    if not (isinstance(array, np.ndarray) and array.dtype == params.dtype and array.shape == params.shape
            and array.flags.c_contiguous and array.flags.writeable):
        raise ValueError(f"{name} must be a writable contiguous {params.dtype} array of shape {params.shape}; "
                         f"got {getattr(array, 'dtype', type(array).__name__)} {np.shape(array)}")


def _check_tokens(name, tokens, config, *, batch=None, length=None):
    """tokens as a C-contiguous int64 (B, T) array with 1 <= T <= context and every id in [0, vocab_size)."""
    if not (isinstance(tokens, np.ndarray) and tokens.dtype.kind in "iu" and tokens.ndim == 2):
        raise ValueError(f"{name} must be a 2-D integer array; got {getattr(tokens, 'dtype', type(tokens).__name__)}"
                         f" {np.shape(tokens)}")
    B, T = tokens.shape
    if not (B >= 1 and 1 <= T <= config.context) or (batch is not None and (B, T) != (batch, length)):
        expected = f"({batch}, {length})" if batch is not None else f"(B >= 1, 1 <= T <= {config.context})"
        raise ValueError(f"{name} must have shape {expected}; got {tokens.shape}")
    if tokens.min() < 0 or tokens.max() >= config.vocab_size:
        raise ValueError(f"{name} must hold token ids in [0, {config.vocab_size}); got values in "
                         f"[{tokens.min()}, {tokens.max()}]")
    return np.ascontiguousarray(tokens, np.int64)


def new_activations(config, B, T, dtype):
    """Empty ``Activations`` for B sequences of T tokens."""
    L, C, R = config.n_layer, config.n_embd, B * T
    e = functools.partial(np.empty, dtype=dtype)
    return Activations(resid=e((L + 1, R, C)), mid=e((L, R, C)), ln1=e((L, R, C)), ln2=e((L, R, C)),
                       stats=e((L, 4, R)), qkv=e((L, R, 3 * C)), att=e((L, B * config.n_head * T, T)),
                       atty=e((L, R, C)), gelu=e((L, R, 4 * C)), dgelu=e((L, R, 4 * C)), lnf=e((R, C)),
                       lnf_stats=e((2, R)), logits=e((R, config.vocab_size)))


def new_deltas(config, B, T, dtype):
    """Empty ``Deltas`` for B sequences of T tokens."""
    C, R = config.n_embd, B * T
    return Deltas(*(np.empty(shape, dtype) for shape in ((R, C), (R, C), (R, 3 * C), (R, 4 * C), (T, T))))


def new_decode_work(config, B, T, dtype):
    """Empty ``DecodeWork`` for B sequences (T, one new position each, is not used)."""
    C = config.n_embd
    e = functools.partial(np.empty, dtype=dtype)
    return DecodeWork(x=e((B, C)), h=e((B, C)), qkv=e((B, 3 * C)), y=e((B, C)), g=e((B, 4 * C)), stats=e((2, B)),
                      scores=e(config.context))


class _Workspaces(threading.local):
    """Each thread's recently used work arrays, so that a training loop allocates them once: fresh
    arrays of this size come from the OS as new pages, and touching them costs more than the kernels."""

    KEEP = 4

    def __init__(self):
        self.recent = collections.OrderedDict()

    def get(self, make, config, B, T, dtype):
        key = (make, config, B, T, np.dtype(dtype))
        if key not in self.recent:
            self.recent[key] = make(config, B, T, dtype)
            while len(self.recent) > self.KEEP:
                self.recent.popitem(last=False)
        self.recent.move_to_end(key)
        return self.recent[key]


_workspaces = _Workspaces()


class CompiledGPTKernels:
    """The GPT_KERNELS functions over a compiled backend's ``drivers`` (a module)."""

    def __init__(self, drivers):
        self._drivers = drivers

    def exports(self):
        return (self.logits, self.attention_weights, self.loss, self.loss_and_gradient, numpy_gpt.new_cache,
                self.prefill, self.decode_step, self.sample_tokens, self.decode_tokens, self.adamw_step,
                self.bpe_merges)

    def _forward(self, params, config, tokens):
        """(tokens, activations) of the inference pass, the arguments checked first."""
        _check_params(params, config)
        tokens = _check_tokens("tokens", tokens, config)
        acts = _workspaces.get(new_activations, config, *tokens.shape, params.dtype)
        self._drivers.forward(params, *_model(config), tokens, acts, False, False)
        return tokens, acts

    def logits(self, params, config, tokens):
        """logits (B, T, V) for tokens (B, T)."""
        tokens, acts = self._forward(params, config, tokens)
        return acts.logits.reshape(*tokens.shape, -1).copy()

    def attention_weights(self, params, config, tokens):
        """(n_layer, B, nh, T, T): every layer's attention weights."""
        tokens, acts = self._forward(params, config, tokens)
        B, T = tokens.shape
        return acts.att.reshape(config.n_layer, B, config.n_head, T, T).copy()

    def _pair(self, params, config, tokens, targets):
        _check_params(params, config)
        tokens = _check_tokens("tokens", tokens, config)
        return tokens, _check_tokens("targets", targets, config, batch=tokens.shape[0], length=tokens.shape[1])

    def loss(self, params, config, tokens, targets):
        """The mean cross-entropy of the next-token predictions (float)."""
        tokens, targets = self._pair(params, config, tokens, targets)
        acts = _workspaces.get(new_activations, config, *tokens.shape, params.dtype)
        return float(self._drivers.loss(params, *_model(config), tokens, targets, acts))

    def loss_and_gradient(self, params, config, tokens, targets, grad):
        """(loss, grad): grad (P,) = ∂loss/∂params, overwritten."""
        tokens, targets = self._pair(params, config, tokens, targets)
        _check_vector("grad", grad, params)
        acts = _workspaces.get(new_activations, config, *tokens.shape, params.dtype)
        deltas = _workspaces.get(new_deltas, config, *tokens.shape, params.dtype)
        value = self._drivers.loss_and_gradient(params, *_model(config), tokens, targets,
                                                acts, deltas, grad)
        return float(value), grad

    def prefill(self, params, config, tokens, cache):
        """Logits (B, V) of the last position, storing every position's keys and values in ``cache``, as
        ``numpy_gpt.prefill``: a forward pass up to the last block's q, k, v, then that block and the head for
        the last position alone."""
        _check_params(params, config)
        tokens = _check_tokens("tokens", tokens, config)
        B, T = tokens.shape
        _check_cache(cache, config, B, params.dtype)
        acts = _workspaces.get(new_activations, config, B, T, params.dtype)
        self._drivers.forward(params, *_model(config), tokens, acts, False, True)
        qkv = acts.qkv.reshape(config.n_layer, B, T, 3, config.n_head, config.head_size)
        cache[:, :, :, :, :T] = qkv[:, :, :, 1:].transpose(0, 3, 1, 4, 2, 5)
        work = _workspaces.get(new_decode_work, config, B, 1, params.dtype)
        work.x[...] = acts.resid[config.n_layer - 1].reshape(B, T, -1)[:, -1]  # the stream entering the last block
        logits = np.empty((B, config.vocab_size), params.dtype)
        self._drivers.decode_from(params, *_model(config), config.n_layer - 1, T - 1, cache, work, logits)
        return logits

    def _decoding(self, params, config, token, position, cache, steps=1):
        """(token (B,), work) for ``steps`` decode steps from ``position``, every argument checked."""
        _check_params(params, config)
        token = _check_tokens("token", np.asarray(token)[:, None] if np.ndim(token) == 1 else token, config)
        B = token.shape[0]
        _check_cache(cache, config, B, params.dtype)
        if not (isinstance(position, (int, np.integer)) and 0 <= position and position + steps <= config.context):
            raise ValueError(f"position must be an integer in [0, {config.context - steps}] for {steps} step(s); "
                             f"got {position!r}")
        return token.reshape(B), _workspaces.get(new_decode_work, config, B, 1, params.dtype)

    def decode_step(self, params, config, token, position, cache):
        """Logits (B, V) after appending token (B,) at ``position``, reading and extending the cache."""
        token, work = self._decoding(params, config, token, position, cache)
        logits = np.empty((len(token), config.vocab_size), params.dtype)
        self._drivers.decode_step(params, *_model(config), token, int(position), cache, work, logits)
        return logits

    def sample_tokens(self, logits, temperature, top_k, uniforms):
        """tokens (B,) int64 drawn from logits (B, V) with uniforms (B,), as ``numpy_gpt.sample_tokens``."""
        if not (isinstance(logits, np.ndarray) and logits.dtype in _DTYPES and logits.ndim == 2
                and logits.shape[0] > 0 and logits.shape[1] > 0):
            raise ValueError(f"logits must be a (B, V) float32 or float64 array; got "
                             f"{getattr(logits, 'dtype', type(logits).__name__)} {np.shape(logits)}")
        uniforms = _check_uniforms(uniforms, (len(logits),))
        temperature, top_k = _check_sampling(temperature, top_k)
        tokens = np.empty(len(logits), np.int64)
        self._drivers.sample(np.ascontiguousarray(logits), temperature, top_k, uniforms,
                             np.empty((2, logits.shape[1])), tokens)
        return tokens

    def decode_tokens(self, params, config, token, position, cache, uniforms, temperature, top_k):
        """tokens (n, B): n = len(uniforms) decode steps, each drawing with uniforms[i] (B,), as
        ``numpy_gpt.decode_tokens``."""
        steps = len(uniforms) if isinstance(uniforms, np.ndarray) and uniforms.ndim == 2 else 1
        token, work = self._decoding(params, config, token, position, cache, steps)
        uniforms = _check_uniforms(uniforms, (steps, len(token)))
        temperature, top_k = _check_sampling(temperature, top_k)
        drawn = np.empty(uniforms.shape, np.int64)
        count = self._drivers.decode_tokens(params, *_model(config), token, int(position), cache, work,
                                            np.empty((len(token), config.vocab_size), params.dtype), uniforms,
                                            temperature, top_k, np.empty((2, config.vocab_size)), drawn)
        return drawn[:count]

    def bpe_merges(self, ids, word_of, weights, vocab_size):
        """numpy_gpt.bpe_merges, compiled (in one call), where its pair table of vocab_size² fits
        ``numpy_gpt.DIRECT_COUNT_MAX``; larger vocabularies run the NumPy reference, which sorts instead."""
        _check_words(ids, word_of, weights)
        if not isinstance(vocab_size, (int, np.integer)) or vocab_size < 256:
            raise ValueError(f"vocab_size must be an integer >= 256; got {vocab_size!r}")
        if vocab_size ** 2 > DIRECT_COUNT_MAX or len(ids) < 2:
            return numpy_gpt.bpe_merges(ids, word_of, weights, vocab_size)
        return self._drivers.bpe_merges(np.ascontiguousarray(ids), np.ascontiguousarray(word_of),
                                        np.ascontiguousarray(weights), int(vocab_size))

    def adamw_step(self, params, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, decay_mask, clip):
        """numpy_gpt.adamw_step, compiled: returns the gradient's norm before clipping."""
        if not (isinstance(params, np.ndarray) and params.dtype in _DTYPES and params.ndim == 1
                and params.flags.c_contiguous and params.flags.writeable):
            raise ValueError(f"params must be a writable contiguous 1-D float32 or float64 array; got "
                             f"{getattr(params, 'dtype', type(params).__name__)} {np.shape(params)}")
        for name, array in (("grad", grad), ("m", m), ("v", v), ("decay_mask", decay_mask)):
            _check_vector(name, array, params)
        return float(self._drivers.adamw(params, grad, m, v, decay_mask, int(step), float(lr), float(beta1),
                                         float(beta2), float(eps), float(weight_decay), float(clip)))


def _check_uniforms(uniforms, shape):
    """uniforms as a contiguous float64 array of ``shape``, each in [0, 1)."""
    if not (isinstance(uniforms, np.ndarray) and uniforms.dtype == np.float64 and uniforms.shape == shape):
        raise ValueError(f"uniforms must be a float64 array of shape {shape}; got "
                         f"{getattr(uniforms, 'dtype', type(uniforms).__name__)} {np.shape(uniforms)}")
    if uniforms.size and not (uniforms.min() >= 0 and uniforms.max() < 1):  # NaN fails both
        raise ValueError("uniforms must lie in [0, 1)")
    return np.ascontiguousarray(uniforms)


def _check_sampling(temperature, top_k):
    """(temperature, top_k) as (float, int): a positive finite temperature, top_k >= 0 (0: every token)."""
    if not (isinstance(temperature, (float, int, np.floating, np.integer)) and 0 < temperature < math.inf):
        raise ValueError(f"temperature must be a positive finite number; got {temperature!r}")
    if not (isinstance(top_k, (int, np.integer)) and top_k >= 0):
        raise ValueError(f"top_k must be an integer >= 0 (0: every token); got {top_k!r}")
    return float(temperature), int(top_k)


def _check_words(ids, word_of, weights):
    n = getattr(ids, "shape", (None,))[0]
    for name, array in (("ids", ids), ("word_of", word_of), ("weights", weights)):
        if not (isinstance(array, np.ndarray) and array.dtype == np.int64 and array.shape == (n,)):
            raise ValueError(f"{name} must be an int64 array of the length of ids ({n}); got "
                             f"{getattr(array, 'dtype', type(array).__name__)} {np.shape(array)}")
    if n and (ids.min() < 0 or ids.max() > 255):
        raise ValueError("ids must be bytes (0 to 255)")
    if n and (np.any(np.diff(word_of) < 0) or weights.min() < 0):
        raise ValueError("word_of must be sorted (each word's tokens together) and weights must be >= 0")


def _check_cache(cache, config, batch, dtype):
    shape = (config.n_layer, 2, batch, config.n_head, config.context, config.head_size)
    if not (isinstance(cache, np.ndarray) and cache.dtype == dtype and cache.shape == shape
            and cache.flags.c_contiguous and cache.flags.writeable):
        raise ValueError(f"cache must be new_cache(config, {batch}, {dtype}) ({dtype} {shape}); got "
                         f"{getattr(cache, 'dtype', type(cache).__name__)} {np.shape(cache)}")
