"""The NumPy reference of the GPT's math: every op's forward and backward pass, written by hand.

No autodiff: each op is a pair ``op_forward`` / ``op_backward`` side by side,
as in llm.c. A backward pass takes ``d<name>`` = ∂loss/∂<name> of the op's
output and returns the gradient of its input, adding (``+=``) the gradients
of the op's parameters into the views it is given.

Shapes: B sequences of T positions; C = n_embd; nh heads of hs = C / nh
values; V = vocab_size. The residual stream ``x`` is (B, T, C).

The model (GPT-2 as nanoGPT's model.py has it; a block's ops are the table
``gpt.layout.BLOCK_OPS``, which ``block_forward`` and ``block_backward`` walk)::

    x = wte[tokens] + wpe[:T]                              embedding
    for each block:
        x = x + c_proj(attention(c_attn(ln_1(x))))           the vectors talk to each other
        x = x + mlp_c_proj(gelu(c_fc(ln_2(x))))              each vector on its own
    logits = ln_f(x) wteᵀ                                     the head, tied to the embedding
    loss = mean over positions of −ln softmax(logits)[target]

Arrays arrive checked (integer tokens in range, float32 or float64 params);
results keep the parameters' dtype. The model-level functions ignore NumPy's
error state (overflow gives inf and NaN, which the callers check), so the
caller's ``np.seterr`` changes nothing. This module is imported only when a GPT
runs (it needs SciPy for erf).
"""
import functools
import math

import numpy as np
from scipy.special import erf

from ...core.numerics import quiet
from ...gpt.layout import BLOCK_OPS, Linear, tensors

LAYERNORM_EPS = 1e-5
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


# ---------------------------------------------------------------------------
# Embedding

def embedding_forward(tokens, wte, wpe):
    """x (B, T, C) = wte[tokens] + wpe[:T]: each token's vector plus its position's."""
    return wte[tokens] + wpe[:tokens.shape[1]]


def embedding_backward(dx, tokens, dwte, dwpe):
    """dwte[v] += Σ dx[b, t] over the positions holding token v;  dwpe[t] += Σ_b dx[b, t]."""
    np.add.at(dwte, tokens.reshape(-1), dx.reshape(-1, dx.shape[-1]))
    dwpe[:tokens.shape[1]] += dx.sum(axis=0)


# ---------------------------------------------------------------------------
# LayerNorm

def layernorm_forward(x, norm):
    """y = x̂ · weight + bias with x̂ = (x − μ) / √(σ² + ε), μ and σ² over the last axis (C).

    Returns y and what the backward pass needs: (x̂, 1/√(σ² + ε)).
    """
    centred = x - x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + LAYERNORM_EPS)
    xhat = centred * rstd
    y = xhat * norm.weight
    if norm.bias is not None:
        y += norm.bias
    return y, (xhat, rstd)


def layernorm_backward(dy, saved, norm, dnorm):
    """dx = (1/√(σ²+ε)) (g − mean(g) − x̂ mean(g x̂)) with g = dy · weight;  dweight += Σ dy x̂;  dbias += Σ dy."""
    xhat, rstd = saved
    C = dy.shape[-1]
    dnorm.weight[...] += (dy * xhat).reshape(-1, C).sum(axis=0)
    if dnorm.bias is not None:
        dnorm.bias[...] += dy.reshape(-1, C).sum(axis=0)
    g = dy * norm.weight
    return rstd * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))


# ---------------------------------------------------------------------------
# Linear layers (torch.nn.Linear: weight (out, in))

def linear_forward(x, linear):
    """y (..., out) = x (..., in) Wᵀ + b, as one matrix product over every position."""
    y = (x.reshape(-1, x.shape[-1]) @ linear.weight.T).reshape(*x.shape[:-1], -1)
    if linear.bias is not None:
        y += linear.bias
    return y


def linear_backward(dy, x, linear, dlinear):
    """dx = dy W;  dW += dyᵀ x and db += Σ dy, summed over every position."""
    dy2, x2 = dy.reshape(-1, dy.shape[-1]), x.reshape(-1, x.shape[-1])
    dlinear.weight[...] += dy2.T @ x2
    if dlinear.bias is not None:
        dlinear.bias[...] += dy2.sum(axis=0)
    return (dy2 @ linear.weight).reshape(*dy.shape[:-1], -1)


# ---------------------------------------------------------------------------
# Causal self-attention

def _heads(qkv, part, n_head):
    """q, k or v (part 0, 1, 2) of qkv (B, T, 3C) as (B, nh, T, hs)."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    return qkv[..., part * C:(part + 1) * C].reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def _merge_heads(y):
    """(B, nh, T, hs) -> (B, T, C): the heads' outputs side by side."""
    B, nh, T, hs = y.shape
    return y.transpose(0, 2, 1, 3).reshape(B, T, nh * hs)


def softmax(scores, axis=-1):
    """e^(s − max s) / Σ e^(s − max s) along ``axis`` (−inf scores get probability 0)."""
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention_forward(qkv, n_head):
    """y (B, T, C) and the attention weights att (B, nh, T, T) from qkv (B, T, 3C).

    Per head: att = softmax(q kᵀ / √hs) over the positions j ≤ i only (position
    i never sees the future), y = att v; the heads are then put side by side.
    """
    q, k, v = (_heads(qkv, part, n_head) for part in range(3))
    T = qkv.shape[1]
    scores = (q @ k.transpose(0, 1, 3, 2)) * (1 / math.sqrt(q.shape[-1]))
    scores[..., np.triu(np.ones((T, T), bool), 1)] = -np.inf  # the future: j > i
    att = softmax(scores)
    return _merge_heads(att @ v), att


def attention_backward(dy, qkv, att, n_head):
    """dqkv (B, T, 3C) from dy (B, T, C).

    dv = attᵀ dy;  datt = dy vᵀ;  dscores = att ⊙ (datt − Σ_j datt ⊙ att) / √hs
    (the softmax's backward; masked entries have att = 0 and get 0);
    dq = dscores k;  dk = dscoresᵀ q.
    """
    q, k, v = (_heads(qkv, part, n_head) for part in range(3))
    B, T, C = dy.shape
    dyh = dy.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)
    datt = dyh @ v.transpose(0, 1, 3, 2)
    dv = att.transpose(0, 1, 3, 2) @ dyh
    dscores = att * (datt - (datt * att).sum(axis=-1, keepdims=True)) * (1 / math.sqrt(q.shape[-1]))
    dq = dscores @ k
    dk = dscores.transpose(0, 1, 3, 2) @ q
    return np.concatenate([_merge_heads(dq), _merge_heads(dk), _merge_heads(dv)], axis=-1)


# ---------------------------------------------------------------------------
# GELU: exact, x Φ(x) with Φ the standard normal CDF (torch.nn.GELU()), or GPT-2's tanh approximation

def gelu_forward(x, approximate="erf"):
    """(y, s): y = x s(x) with s = Φ(x) = ½ (1 + erf(x / √2)), or with ``approximate="tanh"``
    s = ½ (1 + tanh(√(2/π) (x + 0.044715 x³))); s is kept for the backward pass."""
    if approximate == "tanh":
        s = 0.5 * (1 + np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)))
    else:
        s = 0.5 * (1 + erf(x * _SQRT_HALF))
    return x * s, s


def gelu_backward(dy, x, s, approximate="erf"):
    """dx = dy (s + x s'(x)): s' = φ(x) = e^(−x²/2) / √(2π), the normal density; for the tanh form
    s' = 2 s (1 − s) √(2/π) (1 + 3·0.044715 x²) (as tanh' = 1 − tanh² and tanh = 2s − 1)."""
    if approximate == "tanh":
        slope = 2 * s * (1 - s) * _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
    else:
        slope = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return dy * (s + x * slope)


# ---------------------------------------------------------------------------
# The tied head and the cross-entropy loss

def cross_entropy_forward(logits, targets):
    """(loss, probs): loss = mean over the B·T positions of −ln p[target], p = softmax(logits) (B, T, V).

    The mean is taken in float64.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    nll = np.log(total[..., 0]) - np.take_along_axis(shifted, targets[..., None], axis=-1)[..., 0]
    return float(nll.mean(dtype=np.float64)), e / total


def cross_entropy_backward(probs, targets):
    """dlogits = (p − onehot(target)) / (B·T)."""
    dlogits = probs.copy()
    B, T = targets.shape
    dlogits[np.arange(B)[:, None], np.arange(T)[None, :], targets] -= 1
    dlogits *= 1 / (B * T)
    return dlogits


# ---------------------------------------------------------------------------
# One block, by the table of its ops (``gpt.layout.BLOCK_OPS``)

# Each op kind's pair, called alike: forward(input, weights, config) -> (output, kept) and
# backward(doutput, input, kept, weights, dweights, config) -> dinput, adding into dweights.
OP_PASSES = {
    "layernorm": (lambda x, norm, config: layernorm_forward(x, norm),
                  lambda dy, x, kept, norm, dnorm, config: layernorm_backward(dy, kept, norm, dnorm)),
    "linear": (lambda x, linear, config: (linear_forward(x, linear), None),
               lambda dy, x, kept, linear, dlinear, config: linear_backward(dy, x, linear, dlinear)),
    "attention": (lambda qkv, _, config: attention_forward(qkv, config.n_head),
                  lambda dy, qkv, att, _, __, config: attention_backward(dy, qkv, att, config.n_head)),
    "gelu": (lambda u, _, config: gelu_forward(u, config.gelu),
             lambda dy, u, s, _, __, config: gelu_backward(dy, u, s, config.gelu)),
}


def _weights(block, op):
    return None if op.weights is None else getattr(block, op.weights)


def block_forward(x, block, config, forwards=None, until=None):
    """(x after the block, kept): ``BLOCK_OPS`` top to bottom; kept[i] = (op i's input, what its backward needs).

    ``forwards`` replaces some kinds' forward functions (decoding replaces attention by the cached one);
    ``until`` (an op kind) stops the walk before the first op of that kind, and returns that op's input instead
    of x (a prompt's pass stops the last block at its attention: ``keys_and_values``).
    """
    values, kept = {"x": x}, []
    for op in BLOCK_OPS:
        if op.kind == until:
            return values[op.input], kept
        forward_op = (forwards or {}).get(op.kind) or OP_PASSES[op.kind][0]
        out, state = forward_op(values[op.input], _weights(block, op), config)
        kept.append((values[op.input], state))
        if op.output == "x+":
            values["x"] = values["x"] + out
        else:
            values[op.output] = out
    return values["x"], kept


def block_backward(dx, block, dblock, kept, config):
    """∂loss/∂(the block's input x), given dx = ∂loss/∂(its output): ``BLOCK_OPS`` bottom to top.

    An op that added to the residual stream receives dx itself; an op that read x adds its
    input's gradient to dx (the stream's gradient passes the additions unchanged).
    """
    grads = {"x": dx}
    for op, (value, state) in zip(reversed(BLOCK_OPS), reversed(kept)):
        dout = grads["x"] if op.output == "x+" else grads.pop(op.output)
        dvalue = OP_PASSES[op.kind][1](dout, value, state, _weights(block, op), _weights(dblock, op), config)
        grads[op.input] = grads["x"] + dvalue if op.input == "x" else dvalue
    return grads["x"]


def _kept_by(kept, kind):
    """(input, kept state) of the block's first op of ``kind``."""
    return next(entry for op, entry in zip(BLOCK_OPS, kept) if op.kind == kind)


# ---------------------------------------------------------------------------
# The whole model


def forward(params, config, tokens):
    """(logits (B, T, V), saved): the forward pass, keeping what ``backward`` needs.

    ``saved["blocks"]`` holds per block what ``block_forward`` kept.
    """
    p = tensors(params, config)
    x = embedding_forward(tokens, p.wte, p.wpe)
    blocks = []
    for block in p.h:
        x, kept = block_forward(x, block, config)
        blocks.append(kept)
    xf, ln_f = layernorm_forward(x, p.ln_f)
    logits = linear_forward(xf, Linear(p.wte, None))  # the head, tied to the token embedding
    return logits, dict(tokens=tokens, blocks=blocks, xf=xf, ln_f=ln_f)


def backward(params, config, dlogits, saved, grad):
    """grad (the flat layout) += ∂loss/∂params, given dlogits = ∂loss/∂logits and ``forward``'s ``saved``."""
    p, d = tensors(params, config), tensors(grad, config)
    dxf = linear_backward(dlogits, saved["xf"], Linear(p.wte, None), Linear(d.wte, None))  # the tied head: into wte
    dx = layernorm_backward(dxf, saved["ln_f"], p.ln_f, d.ln_f)
    for block, dblock, kept in zip(reversed(p.h), reversed(d.h), reversed(saved["blocks"])):
        dx = block_backward(dx, block, dblock, kept, config)
    embedding_backward(dx, saved["tokens"], d.wte, d.wpe)
    return grad


@quiet
def logits(params, config, tokens):
    """logits (B, T, V) for tokens (B, T)."""
    return forward(params, config, tokens)[0]


@quiet
def attention_weights(params, config, tokens):
    """(n_layer, B, nh, T, T): every layer's attention weights for tokens (B, T)."""
    return np.stack([_kept_by(kept, "attention")[1] for kept in forward(params, config, tokens)[1]["blocks"]])


@quiet
def loss(params, config, tokens, targets):
    """The mean cross-entropy of the next-token predictions (float)."""
    return cross_entropy_forward(logits(params, config, tokens), targets)[0]


@quiet
def loss_and_gradient(params, config, tokens, targets, grad):
    """(loss, grad): grad (P,) = ∂loss/∂params, overwritten."""
    out, saved = forward(params, config, tokens)
    value, probs = cross_entropy_forward(out, targets)
    grad[...] = 0
    backward(params, config, cross_entropy_backward(probs, targets), saved, grad)
    return value, grad


# ---------------------------------------------------------------------------
# Generation: one new position at a time, with a key/value cache

def new_cache(config, batch, dtype):
    """Keys and values of every layer and position: (n_layer, 2, B, nh, context, hs), zeros."""
    return np.zeros((config.n_layer, 2, batch, config.n_head, config.context, config.head_size), dtype)


@quiet
def prefill(params, config, tokens, cache):
    """Logits (B, V) of the last position of tokens (B, T), storing every position's keys and values in ``cache``.

    The same values as ``forward``'s last position, with less work: no
    position reads what comes after it, and the last block's output is read
    only by the head, so every position goes as far as the last block's q, k, v
    (``keys_and_values``) and only the last one through the rest of that
    block and the head (``decode_from``).
    """
    p = tensors(params, config)
    x, qkvs = keys_and_values(p, config, tokens)
    T = tokens.shape[1]
    for layer, qkv in enumerate(qkvs):
        cache[layer, 0, :, :, :T] = _heads(qkv, 1, config.n_head)
        cache[layer, 1, :, :, :T] = _heads(qkv, 2, config.n_head)
    return decode_from(p, config, x[:, -1:], config.n_layer - 1, T - 1, cache)


def keys_and_values(p, config, tokens):
    """(x, [qkv]) for tokens (B, T), p the model's ``tensors``: x (B, T, C) the residual stream entering the last
    block, and each block's attention input qkv (B, T, 3C), its q, k, v side by side; the last block only up to
    that point."""
    x = embedding_forward(tokens, p.wte, p.wpe)
    qkvs = []
    for block in p.h[:-1]:
        x, kept = block_forward(x, block, config)
        qkvs.append(_kept_by(kept, "attention")[0])
    qkvs.append(block_forward(x, p.h[-1], config, until="attention")[0])
    return x, qkvs


@quiet
def decode_step(params, config, token, position, cache):
    """Logits (B, V) after appending token (B,) at ``position``, reading and extending the cache."""
    p = tensors(params, config)
    return decode_from(p, config, (p.wte[token] + p.wpe[position])[:, None, :], 0, position, cache)


def decode_from(p, config, x, first_layer, position, cache):
    """Logits (B, V) of x (B, 1, C), the residual stream entering block ``first_layer`` at ``position``; p the
    model's ``tensors`` (its callers have them: slicing the flat vector twice cost a decode step a fifth more).

    The same block table as ``forward`` for that one position, with attention
    replaced by ``cached_attention``: its query meets the cached keys of positions
    0..position, its own key and value are stored.
    """
    for layer in range(first_layer, config.n_layer):
        attention = functools.partial(cached_attention, cache=cache[layer], position=position)
        x, _ = block_forward(x, p.h[layer], config, forwards={"attention": attention})
    return linear_forward(layernorm_forward(x, p.ln_f)[0], Linear(p.wte, None))[:, 0]


def cached_attention(qkv, _, config, cache, position):
    """(y (B, 1, C), None): attention of one new position, qkv (B, 1, 3C), over the layer's ``cache``
    (2, B, nh, context, hs) of positions 0..position − 1, after storing its own key and value at ``position``."""
    nh, hs = config.n_head, config.head_size
    cache[0, :, :, position] = _heads(qkv, 1, nh)[:, :, 0]
    cache[1, :, :, position] = _heads(qkv, 2, nh)[:, :, 0]
    keys, values = cache[0, :, :, :position + 1], cache[1, :, :, :position + 1]
    att = softmax((_heads(qkv, 0, nh) @ keys.transpose(0, 1, 3, 2)) * (1 / math.sqrt(hs)))
    return _merge_heads(att @ values), None


# ---------------------------------------------------------------------------
# Sampling: the next token of each row, drawn with a uniform given by the caller

@quiet
def next_token_weights(logits, temperature, top_k):
    """w (B, V) float64: exp(s − max s) with s = logits / temperature, zero below the top_k-th largest s
    (top_k 0: no restriction; ties with the k-th are kept, as nanoGPT): the next-token distribution, unnormalised."""
    scaled = logits.astype(np.float64) / temperature
    if 0 < top_k < scaled.shape[-1]:
        kth = np.partition(scaled, -top_k, axis=-1)[:, -top_k, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    return np.exp(scaled - scaled.max(axis=-1, keepdims=True))


def sample_tokens(logits, temperature, top_k, uniforms):
    """tokens (B,) int64: row b's token drawn from next_token_weights with the uniform uniforms[b] in [0, 1).

    The draw inverts the cumulative sum W_j = w_0 + ... + w_j (summed in order): the first j with
    W_j > u · W_{V−1}, and never past the last token of nonzero weight (u · W_{V−1} rounded up to it).
    A row whose weights have no finite sum (a NaN or +inf logit) has no distribution: its token is −1.
    """
    weights = next_token_weights(logits, temperature, top_k)
    cumulative = np.cumsum(weights, axis=-1)
    tokens = (cumulative <= (uniforms * cumulative[:, -1])[:, None]).sum(axis=-1)
    last_possible = weights.shape[-1] - 1 - np.argmax(weights[:, ::-1] > 0, axis=-1)
    return np.where(np.isfinite(cumulative[:, -1]), np.minimum(tokens, last_possible), -1).astype(np.int64)


def decode_tokens(params, config, token, position, cache, uniforms, temperature, top_k):
    """tokens (n, B): n = len(uniforms) steps of decode_step then sample_tokens, row i drawn with uniforms[i] (B,).

    Step i appends the previous tokens (``token`` (B,) first) at position + i and draws from the logits after
    them; the cache gains positions position .. position + n − 1 (all < context). A row of −1 (logits with
    no distribution, ``sample_tokens``) ends the loop: it is the last row returned.
    """
    drawn = np.empty(uniforms.shape, np.int64)
    for i, u in enumerate(uniforms):
        token = drawn[i] = sample_tokens(decode_step(params, config, token, position + i, cache), temperature,
                                         top_k, u)
        if token.min() < 0:
            return drawn[:i + 1]
    return drawn


# ---------------------------------------------------------------------------
# The optimiser: gradient clipping and AdamW over the flat vector

@quiet
def adamw_step(params, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, decay_mask, clip):
    """One AdamW step (as torch.optim.AdamW) after global-norm clipping (as torch's clip_grad_norm_).

    n = ‖grad‖; when clip > 0: grad *= min(1, clip / (n + 1e-6)). Then, with
    t = step (from 1)::

        params *= 1 − lr · weight_decay · decay_mask     (decoupled decay, 2-D tensors only)
        m = β1 m + (1 − β1) g;   v = β2 v + (1 − β2) g²
        params −= lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)

    Updates params, m, v (and grad, when clipped) in place; returns n, the norm before clipping.
    """
    norm = math.sqrt(float(np.dot(grad, grad)))  # BLAS dot: in the params' dtype, as torch's
    if clip > 0:
        grad *= min(1.0, clip / (norm + 1e-6))
    params *= 1 - (lr * weight_decay) * decay_mask
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    denominator = np.sqrt(v) / math.sqrt(1 - beta2 ** step) + eps
    params -= (lr / (1 - beta1 ** step)) * m / denominator
    return norm


# ---------------------------------------------------------------------------
# The BPE tokenizer's training loop

def bpe_merges(ids, word_of, weights, vocab_size):
    """The merges (n, 2) that ``BPETokenizer.train`` learns: new tokens 256.. up to vocab_size, each the
    most frequent adjacent pair within a word (``most_frequent_pair``, which states the rule),
    fewer when every word is one token. ``ids`` holds every distinct word's bytes end to end, ``word_of``
    the word of each, ``weights`` how often that word occurs (int64 arrays of one length)."""
    merges = []
    for new_token in range(256, vocab_size):
        pair = most_frequent_pair(ids, word_of, weights, new_token)
        if pair is None:
            break
        merges.append(pair)
        ids, word_of, weights = merge_pair(ids, word_of, weights, pair, new_token)
    return np.array(merges, np.int64).reshape(-1, 2)


DIRECT_COUNT_MAX = 1 << 22  # pairs counted in a table of vocab_size² up to this size, else by sorting


def most_frequent_pair(ids, word_of, weights, vocab_size):
    """The most frequent adjacent pair (a, b) of tokens within the same word, or None when there is none.

    ``ids`` holds every distinct word's tokens end to end, ``word_of`` the
    word of each token and ``weights`` how often that word occurs; tokens are
    < vocab_size. Ties go to the smallest a * vocab_size + b.
    """
    same_word = word_of[:-1] == word_of[1:]
    if not same_word.any():
        return None
    keys = ids[:-1][same_word] * vocab_size + ids[1:][same_word]
    if vocab_size ** 2 <= DIRECT_COUNT_MAX:  # count every possible pair directly
        totals = np.bincount(keys, weights=weights[:-1][same_word])
        return divmod(int(np.argmax(totals)), vocab_size)
    distinct, which = np.unique(keys, return_inverse=True)  # sorted: argmax still takes the smallest key
    return divmod(int(distinct[np.argmax(np.bincount(which, weights=weights[:-1][same_word]))]), vocab_size)


def merge_pair(ids, word_of, weights, pair, new_token):
    """``(ids, word_of, weights)`` with each occurrence of ``pair`` in a word replaced by ``new_token``.

    Occurrences are taken left to right, so "a a a" with pair (a, a) becomes "X a".
    """
    a, b = pair
    starts = np.flatnonzero((ids[:-1] == a) & (ids[1:] == b) & (word_of[:-1] == word_of[1:]))
    if a == b and len(starts) > 1:  # overlapping runs: keep a start only if the previous one was not kept
        keep = np.ones(len(starts), bool)
        previous = -2
        for n, start in enumerate(starts.tolist()):
            keep[n] = start != previous + 1
            previous = start if keep[n] else -2
        starts = starts[keep]
    ids = ids.copy()
    ids[starts] = new_token
    drop = np.zeros(len(ids), bool)
    drop[starts + 1] = True
    return ids[~drop], word_of[~drop], weights[~drop]
