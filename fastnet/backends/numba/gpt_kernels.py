"""The GPT's kernels in Numba: the NumPy reference's ops (``numpy_gpt``), fused, with products in BLAS.

Every matrix product goes to BLAS (``numba.blas.gemm``, in place, with
strides); everything between products is a compiled loop that passes over
the rows once: LayerNorm with its saved mean and 1/σ, the masked softmax of
each head, GELU, the head's softmax + cross-entropy + its gradient, the
embedding's gather and scatter-add, and AdamW with the clipping norm. One
training step is two calls from Python (``loss_and_gradient``, ``adamw``);
one generated token is one call (``decode_step``). Shapes and what each array
holds: ``compiled_gpt`` (``Activations``, ``Deltas``, ``tensor_index``). All
kernels release the GIL.
"""
import math

import numpy as np
from numba import njit

from ...gpt.layout import (ATTN_PROJ_BIAS, ATTN_PROJ_WEIGHT, C_ATTN_BIAS, C_ATTN_WEIGHT, C_FC_BIAS, C_FC_WEIGHT,
                           GELU_TANH, GLOBAL_TENSORS, LN_1_BIAS, LN_1_WEIGHT, LN_2_BIAS, LN_2_WEIGHT, LN_F_BIAS,
                           LN_F_WEIGHT, MLP_PROJ_BIAS, MLP_PROJ_WEIGHT, PER_BLOCK, WPE, WTE)
from .blas import at, gemm, gemv
from .mlp_math import normal_cdf, normal_pdf
from .primitives import HELPER, INLINE, OPTIONS, ZERO, add_into, copy_into, exp_of_negative, sum_into

# The ops are called by the drivers (contract.GPT_DRIVERS) only, never from Python: HELPER, no wrappers.
# For loops that sum: lets LLVM reorder the sum so that it vectorises. Not for code
# that calls exp_of_negative, whose Cody-Waite reduction must not be reassociated.
SUMMING_HELPER = dict(HELPER, fastmath={"contract", "reassoc"})
# Flags as np.bool_, not the literals True and False: a literal argument compiles
# its callee once more for each value (as primitives.ZERO).
ACCUMULATE, OVERWRITE = np.bool_(True), np.bool_(False)  # linear_forward: y += x Wᵀ + b, or y = x Wᵀ + b
TRAINING, INFERENCE = np.bool_(True), np.bool_(False)  # forward, gelu_forward: keep what the backward pass needs
KEYS_VALUES_ONLY, WHOLE = np.bool_(True), np.bool_(False)  # forward: stop at the last block's q, k, v
WITH_GRADIENT, LOSS_ONLY = np.bool_(True), np.bool_(False)  # cross_entropy
LAYERNORM_EPS = 1e-5
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_CUBIC = 0.044715
GEMV_MAX_ROWS = 4  # linear_forward: rows taken one matrix-vector product at a time (measured: BENCHMARKS.md)


# ---------------------------------------------------------------------------
# The ops (same names and math as numpy_gpt)

@njit(**HELPER)
def embedding_forward(tokens, wte, wpe, x):
    """x[b·T + t] = wte[tokens[b, t]] + wpe[t]."""
    B, T = tokens.shape
    for b in range(B):
        for t in range(T):
            sum_into(wte[tokens[b, t]], wpe[t], x[b * T + t])


@njit(**HELPER)
def embedding_backward(tokens, dx, dwte, dwpe):
    """dwte[tokens[b, t]] += dx[b·T + t];  dwpe[t] += dx[b·T + t]."""
    B, T = tokens.shape
    for b in range(B):
        for t in range(T):
            add_into(dx[b * T + t], dwte[tokens[b, t]])
            add_into(dx[b * T + t], dwpe[t])


@njit(**SUMMING_HELPER)
def layernorm_forward(x, weight, bias, y, mean, rstd):
    """y = (x − μ) / √(σ² + ε) · weight + bias per row of x (R, C); saves μ and 1/√(σ² + ε).
    An empty bias (``_vector`` of an absent tensor) adds nothing; so in every op here."""
    R, C = x.shape
    for r in range(R):
        total = 0.0
        for c in range(C):
            total += x[r, c]
        mu = total / C
        squares = 0.0
        for c in range(C):
            squares += (x[r, c] - mu) ** 2
        inverse = 1 / math.sqrt(squares / C + LAYERNORM_EPS)
        mean[r], rstd[r] = mu, inverse
        for c in range(C):
            y[r, c] = (x[r, c] - mu) * inverse * weight[c]
        if bias.size:
            for c in range(C):
                y[r, c] += bias[c]


@njit(**SUMMING_HELPER)
def layernorm_backward(dy, x, mean, rstd, weight, dweight, dbias, dx):
    """dx += (1/σ) (g − mean(g) − x̂ mean(g x̂)), g = dy · weight;  dweight += Σ dy x̂;  dbias += Σ dy."""
    R, C = x.shape
    for r in range(R):
        mu, inverse = mean[r], rstd[r]
        g_mean = 0.0
        gx_mean = 0.0
        for c in range(C):
            xhat = (x[r, c] - mu) * inverse
            g = dy[r, c] * weight[c]
            g_mean += g
            gx_mean += g * xhat
            dweight[c] += dy[r, c] * xhat
        g_mean /= C
        gx_mean /= C
        for c in range(C):
            xhat = (x[r, c] - mu) * inverse
            dx[r, c] += inverse * (dy[r, c] * weight[c] - g_mean - xhat * gx_mean)
        if dbias.size:
            for c in range(C):
                dbias[c] += dy[r, c]


@njit(**HELPER)
def linear_forward(x, weight, bias, y, accumulate):
    """y (R, out) = x (R, in) Wᵀ + b, W (out, in); with ``accumulate``, y += x Wᵀ + b (a residual).

    Up to GEMV_MAX_ROWS rows (a decode step), one matrix-vector product per row:
    BLAS's matrix product would copy all of W into its packed layout first.
    """
    R, n_in = x.shape
    n_out = y.shape[1]
    has_bias = bias.size > 0
    if has_bias:
        for r in range(R):
            if accumulate:
                add_into(bias, y[r])
            else:
                copy_into(bias, y[r])
    beta = 1.0 if has_bias or accumulate else 0.0
    if R <= GEMV_MAX_ROWS:
        for r in range(R):
            gemv(n_out, n_in, 1.0, weight.ravel(), n_in, x[r], beta, y[r])
    else:
        gemm(False, True, R, n_out, n_in, 1.0, x.ravel(), n_in, weight.ravel(), n_in, beta, y.ravel(), n_out)


@njit(**HELPER)
def linear_backward(dy, x, weight, dweight, dbias, dx):
    """dW += dyᵀ x;  db += Σ_rows dy;  dx = dy W (overwritten)."""
    R, n_out = dy.shape
    n_in = x.shape[1]
    gemm(True, False, n_out, n_in, R, 1.0, dy.ravel(), n_out, x.ravel(), n_in, 1.0, dweight.ravel(), n_in)
    if dbias.size:
        for r in range(R):
            dbias += dy[r]
    gemm(False, False, R, n_in, n_out, 1.0, dy.ravel(), n_out, weight.ravel(), n_in, 0.0, dx.ravel(), n_in)


@njit(**SUMMING_HELPER)
def _sum(values):
    total = values[0] - values[0]
    for j in range(values.size):
        total += values[j]
    return total


@njit(**SUMMING_HELPER)
def _dot(a, b):
    total = a[0] - a[0]
    for d in range(a.size):
        total += a[d] * b[d]
    return total


@njit(**HELPER)
def _max(values):
    top = values[0]
    for j in range(1, values.size):
        top = max(top, values[j])
    return top


@njit(**HELPER)
def _axpy(a, x, y):
    """y += a x."""
    for d in range(y.size):
        y[d] += a * x[d]


@njit(**HELPER)
def _exp_shifted(values, top):
    """values ← e^(values − top) (values <= top); a loop of its own, so that it vectorises."""
    for j in range(values.size):
        values[j] = exp_of_negative(values[j] - top)


@njit(**HELPER)
def _masked_softmax(att, row0, T):
    """Rows row0..row0+T of att: row i = softmax over j ≤ i of the scores there, 0 for j > i."""
    for i in range(T):
        row = att[row0 + i]
        _exp_shifted(row[:i + 1], _max(row[:i + 1]))
        scale = 1 / _sum(row[:i + 1])
        for j in range(i + 1):
            row[j] *= scale
        row[i + 1:] = 0


@njit(**SUMMING_HELPER)
def _softmax_backward(datt, att, row0, scale):
    """datt ← att ⊙ (datt − Σ_j datt ⊙ att) · scale over each row's j ≤ i, 0 above: the scores' gradient."""
    T = datt.shape[0]
    for i in range(T):
        a, d = att[row0 + i], datt[i]
        weighted = _dot(d[:i + 1], a[:i + 1])
        for j in range(i + 1):
            d[j] = a[j] * (d[j] - weighted) * scale
        d[i + 1:] = 0


@njit(**HELPER)
def _head(qkv, b, h, T, hs):
    """Views (from their first element, for ``gemm``) of sequence b's q, k and v of head h in qkv (B·T, 3C)."""
    C = qkv.shape[1] // 3
    return at(qkv, b * T, h * hs), at(qkv, b * T, C + h * hs), at(qkv, b * T, 2 * C + h * hs)


@njit(**HELPER)
def attention_forward(qkv, B, T, n_head, att, y):
    """Per sequence b and head h: att = causal softmax(q kᵀ / √hs) (T, T), y[:, head h] = att v.

    qkv (B·T, 3C) holds q, k, v side by side; att is (B·nh·T, T), head
    (b, h) at rows (b·nh + h)·T.
    """
    C = y.shape[1]
    hs = C // n_head
    scale = 1 / math.sqrt(hs)
    for b in range(B):
        for h in range(n_head):
            row0 = (b * n_head + h) * T
            q, k, v = _head(qkv, b, h, T, hs)
            gemm(False, True, T, T, hs, scale, q, 3 * C, k, 3 * C, 0.0, at(att, row0, ZERO), T)
            _masked_softmax(att, row0, T)
            gemm(False, False, T, hs, T, 1.0, at(att, row0, ZERO), T, v, 3 * C, 0.0, at(y, b * T, h * hs), C)


@njit(**HELPER)
def attention_backward(dy, qkv, att, B, T, n_head, dqkv, datt):
    """dqkv (B·T, 3C) from dy (B·T, C): per head, dv = attᵀ dy, datt = dy vᵀ,
    dscores = att ⊙ (datt − Σ_j datt ⊙ att) / √hs, dq = dscores k, dk = dscoresᵀ q.

    datt (T, T) is scratch.
    """
    C = dy.shape[1]
    hs = C // n_head
    scale = 1 / math.sqrt(hs)
    for b in range(B):
        for h in range(n_head):
            row0 = (b * n_head + h) * T
            a = at(att, row0, ZERO)
            q, k, v = _head(qkv, b, h, T, hs)
            d = at(dy, b * T, h * hs)
            gemm(True, False, T, hs, T, 1.0, a, T, d, C, 0.0, at(dqkv, b * T, 2 * C + h * hs), 3 * C)
            gemm(False, True, T, T, hs, 1.0, d, C, v, 3 * C, 0.0, datt.ravel(), T)
            _softmax_backward(datt, att, row0, scale)
            gemm(False, False, T, hs, T, 1.0, datt.ravel(), T, k, 3 * C, 0.0, at(dqkv, b * T, h * hs), 3 * C)
            gemm(True, False, T, hs, T, 1.0, datt.ravel(), T, q, 3 * C, 0.0, at(dqkv, b * T, C + h * hs), 3 * C)


@njit(**HELPER)
def gelu_forward(g, derivative, training, approximate):
    """g ← u s(u) in place over u (R, 4C): s = Φ, the standard normal CDF, or with ``approximate``
    (GELU_TANH) s = ½ (1 + tanh(√(2/π) (u + 0.044715 u³))); when ``training``, also
    derivative = s + u s'(u), which is all the backward pass needs of u (numpy_gpt.gelu_backward)."""
    real = g.dtype.type
    one, k, cubic = real(1), real(SQRT_2_OVER_PI), real(GELU_CUBIC)
    flat_g, flat_d = g.ravel(), derivative.ravel()
    # one loop per case rather than tests inside one, which would keep it from vectorising
    if approximate == GELU_TANH and training:
        for i in range(flat_g.size):
            u = flat_g[i]
            s = tanh_gelu_factor(u, one, k, cubic)
            flat_g[i] = u * s
            flat_d[i] = s + u * ((s + s) * (one - s)) * k * (one + real(3) * cubic * u * u)
    elif approximate == GELU_TANH:
        for i in range(flat_g.size):
            flat_g[i] *= tanh_gelu_factor(flat_g[i], one, k, cubic)
    elif training:
        for i in range(flat_g.size):
            u = flat_g[i]
            cdf = normal_cdf(u, one)
            flat_g[i] = u * cdf
            flat_d[i] = cdf + u * normal_pdf(u, one)
    else:
        for i in range(flat_g.size):
            flat_g[i] *= normal_cdf(flat_g[i], one)


@njit(**INLINE)
def tanh_gelu_factor(u, one, k, cubic):
    """½ (1 + tanh(z)) = 1 / (1 + e^(−2z)) with z = k (u + cubic u³), from e^(−2|z|) (never overflows)."""
    z = k * (u + cubic * u * u * u)
    e = exp_of_negative(-(abs(z) + abs(z)))
    return one / (one + e) if z >= 0 else e / (one + e)


@njit(**HELPER)
def gelu_backward(dg, derivative):
    """dg ← dg · GELU'(u), in place: ∂loss/∂u from ∂loss/∂g."""
    flat_g, flat_d = dg.ravel(), derivative.ravel()
    for i in range(flat_g.size):
        flat_g[i] *= flat_d[i]


@njit(**HELPER)
def cross_entropy(logits, targets, gradient):
    """The mean over rows of −ln softmax(logits)[target] (float64). Overwrites logits (R, V): with
    ``gradient``, by dlogits = (softmax − onehot(target)) / R, computed in the same pass."""
    R, V = logits.shape
    total_loss = 0.0
    for r in range(R):
        row = logits[r]
        top = _max(row)
        target = targets[r]
        total_loss -= row[target] - top
        _exp_shifted(row, top)
        total = _sum(row)
        total_loss += math.log(total)
        if gradient:
            row *= 1 / (total * R)
            row[target] -= 1 / R
    return total_loss / R


# ---------------------------------------------------------------------------
# The whole model: the index says where each tensor starts in the flat params

@njit(**HELPER)
def _vector(flat, offset, n):
    """flat[offset:offset + n]; an empty view for an absent tensor (offset −1)."""
    return flat[offset:offset + n] if offset >= 0 else flat[0:0]


@njit(**HELPER)
def _matrix(flat, offset, rows, columns):
    return flat[offset:offset + rows * columns].reshape((rows, columns))


@njit(**OPTIONS)
def forward(params, index, n_head, gelu, tokens, acts, training, keys_values_only):
    """Fill ``acts`` (``compiled_gpt.Activations``) for tokens (B, T), up to the logits; with
    ``training``, also what only the backward pass needs (GELU's derivative); with ``keys_values_only``,
    only up to the last block's q, k, v (acts.qkv: what a key/value cache keeps of every layer)."""
    B, T = tokens.shape
    L, R, C = acts.mid.shape
    V = acts.logits.shape[1]
    wte = _matrix(params, index[WTE], V, C)
    embedding_forward(tokens, wte, _matrix(params, index[WPE], T, C), acts.resid[0])
    for layer in range(L):
        o = index[len(GLOBAL_TENSORS) + PER_BLOCK * layer:]
        x = acts.resid[layer]
        layernorm_forward(x, _vector(params, o[LN_1_WEIGHT], C), _vector(params, o[LN_1_BIAS], C), acts.ln1[layer],
                          acts.stats[layer, 0], acts.stats[layer, 1])
        linear_forward(acts.ln1[layer], _matrix(params, o[C_ATTN_WEIGHT], 3 * C, C),
                       _vector(params, o[C_ATTN_BIAS], 3 * C), acts.qkv[layer], OVERWRITE)
        if keys_values_only and layer == L - 1:
            return
        attention_forward(acts.qkv[layer], B, T, n_head, acts.att[layer], acts.atty[layer])
        copy_into(x.ravel(), acts.mid[layer].ravel())
        linear_forward(acts.atty[layer], _matrix(params, o[ATTN_PROJ_WEIGHT], C, C),
                       _vector(params, o[ATTN_PROJ_BIAS], C), acts.mid[layer], ACCUMULATE)
        layernorm_forward(acts.mid[layer], _vector(params, o[LN_2_WEIGHT], C), _vector(params, o[LN_2_BIAS], C),
                          acts.ln2[layer], acts.stats[layer, 2], acts.stats[layer, 3])
        linear_forward(acts.ln2[layer], _matrix(params, o[C_FC_WEIGHT], 4 * C, C), _vector(params, o[C_FC_BIAS], 4 * C),
                       acts.gelu[layer], OVERWRITE)
        gelu_forward(acts.gelu[layer], acts.dgelu[layer], training, gelu)
        copy_into(acts.mid[layer].ravel(), acts.resid[layer + 1].ravel())
        linear_forward(acts.gelu[layer], _matrix(params, o[MLP_PROJ_WEIGHT], C, 4 * C),
                       _vector(params, o[MLP_PROJ_BIAS], C), acts.resid[layer + 1], ACCUMULATE)
    layernorm_forward(acts.resid[L], _vector(params, index[LN_F_WEIGHT], C), _vector(params, index[LN_F_BIAS], C),
                      acts.lnf, acts.lnf_stats[0], acts.lnf_stats[1])
    linear_forward(acts.lnf, wte, params[0:0], acts.logits, OVERWRITE)


@njit(**OPTIONS)
def loss(params, index, n_head, gelu, tokens, targets, acts):
    """The mean cross-entropy of the next-token predictions (float64)."""
    forward(params, index, n_head, gelu, tokens, acts, INFERENCE, WHOLE)
    return cross_entropy(acts.logits, targets.ravel(), LOSS_ONLY)


@njit(**OPTIONS)
def loss_and_gradient(params, index, n_head, gelu, tokens, targets, acts, deltas, grad):
    """The loss, and grad (P,) = ∂loss/∂params (overwritten), by the forward pass and its reverse.

    ``deltas`` (``compiled_gpt.Deltas``): dresid (R, C) = ∂loss/∂ the residual
    stream at the point the reverse pass has reached; dbuf (R, C), dqkv
    (R, 3C), dfc (R, 4C) the gradients of a block's intermediate values; datt
    (T, T) one head's.
    """
    forward(params, index, n_head, gelu, tokens, acts, TRAINING, WHOLE)
    value = cross_entropy(acts.logits, targets.ravel(), WITH_GRADIENT)  # acts.logits now holds dlogits
    B, T = tokens.shape
    L, R, C = acts.mid.shape
    V = acts.logits.shape[1]
    grad[:] = 0
    wte, dwte = _matrix(params, index[WTE], V, C), _matrix(grad, index[WTE], V, C)
    dresid, dbuf = deltas.dresid, deltas.dbuf
    linear_backward(acts.logits, acts.lnf, wte, dwte, grad[0:0], dbuf)  # the tied head
    dresid[:] = 0
    layernorm_backward(dbuf, acts.resid[L], acts.lnf_stats[0], acts.lnf_stats[1],
                       _vector(params, index[LN_F_WEIGHT], C),
                       _vector(grad, index[LN_F_WEIGHT], C), _vector(grad, index[LN_F_BIAS], C), dresid)
    for layer in range(L - 1, -1, -1):
        o = index[len(GLOBAL_TENSORS) + PER_BLOCK * layer:]
        # resid[layer + 1] = mid + mlp_proj(gelu(c_fc(ln_2(mid))))
        linear_backward(dresid, acts.gelu[layer], _matrix(params, o[MLP_PROJ_WEIGHT], C, 4 * C),
                        _matrix(grad, o[MLP_PROJ_WEIGHT], C, 4 * C), _vector(grad, o[MLP_PROJ_BIAS], C), deltas.dfc)
        gelu_backward(deltas.dfc, acts.dgelu[layer])
        linear_backward(deltas.dfc, acts.ln2[layer], _matrix(params, o[C_FC_WEIGHT], 4 * C, C),
                        _matrix(grad, o[C_FC_WEIGHT], 4 * C, C), _vector(grad, o[C_FC_BIAS], 4 * C), dbuf)
        layernorm_backward(dbuf, acts.mid[layer], acts.stats[layer, 2], acts.stats[layer, 3],
                           _vector(params, o[LN_2_WEIGHT], C), _vector(grad, o[LN_2_WEIGHT], C), _vector(grad,
                                   o[LN_2_BIAS], C),
                           dresid)
        # mid = resid[layer] + attn_proj(attention(c_attn(ln_1(resid[layer]))))
        linear_backward(dresid, acts.atty[layer], _matrix(params, o[ATTN_PROJ_WEIGHT], C, C),
                        _matrix(grad, o[ATTN_PROJ_WEIGHT], C, C), _vector(grad, o[ATTN_PROJ_BIAS], C), dbuf)
        attention_backward(dbuf, acts.qkv[layer], acts.att[layer], B, T, n_head, deltas.dqkv, deltas.datt)
        linear_backward(deltas.dqkv, acts.ln1[layer], _matrix(params, o[C_ATTN_WEIGHT], 3 * C, C),
                        _matrix(grad, o[C_ATTN_WEIGHT], 3 * C, C), _vector(grad, o[C_ATTN_BIAS], 3 * C), dbuf)
        layernorm_backward(dbuf, acts.resid[layer], acts.stats[layer, 0], acts.stats[layer, 1],
                           _vector(params, o[LN_1_WEIGHT], C), _vector(grad, o[LN_1_WEIGHT], C), _vector(grad,
                                   o[LN_1_BIAS], C),
                           dresid)
    embedding_backward(tokens, dresid, dwte, _matrix(grad, index[WPE], T, C))
    return value


@njit(**HELPER)
def cached_attention(qkv, cache, position, n_head, scores, y):
    """y (B, C): attention of one new position per row, qkv (B, 3C), over the layer's key/value ``cache``
    (2, B, nh, context, hs) of positions 0..position − 1, after storing its own key and value at ``position``."""
    B, C = y.shape
    hs = C // n_head
    scale = 1 / math.sqrt(hs)
    for b in range(B):
        for head in range(n_head):
            keys, values = cache[0, b, head], cache[1, b, head]
            copy_into(qkv[b, C + head * hs:C + (head + 1) * hs], keys[position])
            copy_into(qkv[b, 2 * C + head * hs:2 * C + (head + 1) * hs], values[position])
            query = qkv[b, head * hs:(head + 1) * hs]
            for j in range(position + 1):
                scores[j] = _dot(query, keys[j]) * scale
            _exp_shifted(scores[:position + 1], _max(scores[:position + 1]))
            inverse = 1 / _sum(scores[:position + 1])
            out = y[b, head * hs:(head + 1) * hs]
            out[:] = 0
            for j in range(position + 1):
                _axpy(scores[j] * inverse, values[j], out)


@njit(**OPTIONS)
def decode_step(params, index, n_head, gelu, tokens, position, cache, work, logits):
    """logits (B, V) for the tokens (B,) appended at ``position``, with the key/value ``cache``
    (n_layer, 2, B, nh, context, hs): reads positions 0..position − 1, writes ``position``.

    ``work`` (``compiled_gpt.DecodeWork``): x (B, C) the residual stream, h
    (B, C) a LayerNorm's output, qkv (B, 3C), y (B, C) the heads' outputs, g
    (B, 4C) the MLP's hidden values, stats (2, B), scores (context,).
    """
    C = work.x.shape[1]
    wte = _matrix(params, index[WTE], logits.shape[1], C)
    wpe = _matrix(params, index[WPE], position + 1, C)
    for b in range(tokens.shape[0]):
        sum_into(wte[tokens[b]], wpe[position], work.x[b])
    decode_from(params, index, n_head, gelu, ZERO, position, cache, work, logits)


@njit(**OPTIONS)
def decode_from(params, index, n_head, gelu, first_layer, position, cache, work, logits):
    """logits (B, V) of work.x (B, C), the residual stream entering block ``first_layer`` at ``position``:
    that block and the ones after it as ``decode_step``'s (their caches read and extended), then the head."""
    L, C = cache.shape[0], work.x.shape[1]
    x, h, qkv, y, scores = work.x, work.h, work.qkv, work.y, work.scores
    for layer in range(first_layer, L):
        o = index[len(GLOBAL_TENSORS) + PER_BLOCK * layer:]
        layernorm_forward(x, _vector(params, o[LN_1_WEIGHT], C), _vector(params, o[LN_1_BIAS], C), h, work.stats[0],
                          work.stats[1])
        linear_forward(h, _matrix(params, o[C_ATTN_WEIGHT], 3 * C, C), _vector(params, o[C_ATTN_BIAS], 3 * C), qkv,
                       OVERWRITE)
        cached_attention(qkv, cache[layer], position, n_head, scores, y)
        linear_forward(y, _matrix(params, o[ATTN_PROJ_WEIGHT], C, C), _vector(params, o[ATTN_PROJ_BIAS], C), x,
                       ACCUMULATE)
        layernorm_forward(x, _vector(params, o[LN_2_WEIGHT], C), _vector(params, o[LN_2_BIAS], C), h, work.stats[0],
                          work.stats[1])
        linear_forward(h, _matrix(params, o[C_FC_WEIGHT], 4 * C, C), _vector(params, o[C_FC_BIAS], 4 * C), work.g,
                       OVERWRITE)
        gelu_forward(work.g, work.g, INFERENCE, gelu)
        linear_forward(work.g, _matrix(params, o[MLP_PROJ_WEIGHT], C, 4 * C), _vector(params, o[MLP_PROJ_BIAS], C), x,
                       ACCUMULATE)
    layernorm_forward(x, _vector(params, index[LN_F_WEIGHT], C), _vector(params, index[LN_F_BIAS], C), h,
                      work.stats[0], work.stats[1])
    linear_forward(h, _matrix(params, index[WTE], logits.shape[1], C), params[0:0], logits, OVERWRITE)


@njit(**INLINE)
def _kth_largest(values, k):
    """The k-th largest of ``values`` (float64, reordered in place): Hoare's selection."""
    target = len(values) - k  # its index in ascending order
    low, high = 0, len(values) - 1
    while low < high:
        pivot = values[(low + high) // 2]
        i, j = low, high
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if target <= j:
            high = j
        elif target >= i:
            low = i
        else:
            break
    return values[target]


@njit(**OPTIONS)
def sample(logits, temperature, top_k, uniforms, weights, tokens):
    """tokens (B,): each row of logits (B, V) drawn with its uniform, as ``numpy_gpt.sample_tokens``
    (weights (2, V) float64: work)."""
    V = logits.shape[1]
    cumulative, selection = weights[0], weights[1]
    for b in range(logits.shape[0]):
        largest = -np.inf
        defined = True  # no NaN or +inf logit
        for j in range(V):
            s = np.float64(logits[b, j]) / temperature
            cumulative[j] = s
            largest = max(largest, s)
            defined &= s < np.inf
        kth = -np.inf
        if defined and 0 < top_k < V:
            copy_into(cumulative, selection)
            kth = _kth_largest(selection, top_k)
        total = 0.0
        last_possible = 0
        for j in range(V):
            w = math.exp(cumulative[j] - largest) if cumulative[j] >= kth else 0.0
            if w > 0:
                last_possible = j
            total += w
            cumulative[j] = total
        if not (defined and total < np.inf):  # no distribution (a NaN total too)
            tokens[b] = -1
            continue
        threshold = uniforms[b] * total
        token = 0
        while token < last_possible and cumulative[token] <= threshold:
            token += 1
        tokens[b] = token


@njit(**OPTIONS)
def decode_tokens(params, index, n_head, gelu, tokens, position, cache, work, logits, uniforms, temperature, top_k,
                  weights, drawn):
    """drawn (n, B): n = len(uniforms) steps of ``decode_step`` and ``sample``, as ``numpy_gpt.decode_tokens``;
    returns the number of rows drawn (fewer than n after a row holding −1)."""
    for i in range(uniforms.shape[0]):
        decode_step(params, index, n_head, gelu, tokens if i == 0 else drawn[i - 1], position + i, cache, work,
                    logits)
        sample(logits, temperature, top_k, uniforms[i], weights, drawn[i])
        if drawn[i].min() < 0:
            return i + 1
    return uniforms.shape[0]


@njit(**SUMMING_HELPER)
def _sum_of_squares(values):
    total = 0.0
    for i in range(values.size):
        total += values[i] * values[i]
    return total


@njit(**OPTIONS)
def adamw(params, grad, m, v, decay_mask, step, lr, beta1, beta2, eps, weight_decay, clip):
    """numpy_gpt.adamw_step in two passes over the flat vectors: the norm, then clipping + AdamW
    together, in the params' dtype (as the reference's array arithmetic)."""
    norm = math.sqrt(_sum_of_squares(grad))
    real = params.dtype.type
    scale = real(min(1.0, clip / (norm + 1e-6)) if clip > 0 else 1.0)
    decay, b1, b2 = real(lr * weight_decay), real(beta1), real(beta2)
    step_size, root_correction = real(lr / (1 - beta1 ** step)), real(math.sqrt(1 - beta2 ** step))
    epsilon, one = real(eps), real(1)
    for i in range(params.size):
        g = grad[i] * scale
        grad[i] = g
        m[i] = b1 * m[i] + (one - b1) * g
        v[i] = b2 * v[i] + (one - b2) * g * g
        params[i] = params[i] * (one - decay * decay_mask[i]) - step_size * m[i] / (np.sqrt(v[i]) / root_correction
                                                                                  + epsilon)
    return norm
