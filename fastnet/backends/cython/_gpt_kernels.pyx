# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The GPT's compiled drivers in Cython; called only through ``cython.gpt``.

The same drivers, arguments and ops as the Numba backend's ``numba.gpt_kernels``
(which states the math of each op); the linear layers' matrix products go to
SciPy's BLAS (``scipy.linalg.cython_blas``, without the GIL), the passes between
them and attention's products (below the diagonal only) are C in ``gpt_rows.h``. Arrays arrive checked and allocated by
``compiled_gpt`` (shapes in its docstring): nothing here checks bounds.
"""
import threading

import numpy as np

from libc.math cimport INFINITY, exp, sqrt
from libc.stdint cimport int64_t
from scipy.linalg.cython_blas cimport dgemm, sgemm

cdef extern from "gpt_rows.h" nogil:
    enum: FASTNET_TILE  # values in a tile: at least the lanes of any level's vector
    void fastnet_layernorm_forward_f(const float *x, const float *w, const float *b, float *y, float *mean,
                                     float *rstd, long R, long C, float eps)
    void fastnet_layernorm_forward_d(const double *x, const double *w, const double *b, double *y, double *mean,
                                     double *rstd, long R, long C, double eps)
    void fastnet_layernorm_backward_f(const float *dy, const float *x, const float *mean, const float *rstd,
                                      const float *w, float *dw, float *db, float *dx, long R, long C)
    void fastnet_layernorm_backward_d(const double *dy, const double *x, const double *mean, const double *rstd,
                                      const double *w, double *dw, double *db, double *dx, long R, long C)
    void fastnet_gelu_forward_f(float *g, float *derivative, long n, int training)
    void fastnet_gelu_forward_d(double *g, double *derivative, long n, int training)
    void fastnet_gelu_tanh_forward_f(float *g, float *derivative, long n, int training)
    void fastnet_gelu_tanh_forward_d(double *g, double *derivative, long n, int training)
    void fastnet_multiply_f(float *x, const float *y, long n)
    void fastnet_multiply_d(double *x, const double *y, long n)
    void fastnet_masked_softmax_f(float *att, long T, long stride)
    void fastnet_masked_softmax_d(double *att, long T, long stride)
    void fastnet_softmax_backward_f(float *datt, const float *att, long T, float scale)
    void fastnet_softmax_backward_d(double *datt, const double *att, long T, double scale)
    double fastnet_cross_entropy_f(float *logits, const int64_t *targets, long R, long V, int gradient)
    double fastnet_cross_entropy_d(double *logits, const int64_t *targets, long R, long V, int gradient)
    void fastnet_adamw_f(float *params, float *grad, float *m, float *v, const float *decay_mask, long n,
                         float scale, float decay, float beta1, float beta2, float step_size, float root_correction,
                         float eps)
    void fastnet_adamw_d(double *params, double *grad, double *m, double *v, const double *decay_mask, long n,
                         double scale, double decay, double beta1, double beta2, double step_size,
                         double root_correction, double eps)
    void fastnet_decode_head_f(const float *q, const float *keys, const float *values, long n, long hs,
                               float scale, float *scores, float *out)
    void fastnet_decode_head_d(const double *q, const double *keys, const double *values, long n, long hs,
                               double scale, double *scores, double *out)
    void fastnet_linear_rows_f(const float *x, const float *W, float *y, long R, long n_in, long n_out, int add,
                               int tiled)
    void fastnet_linear_rows_d(const double *x, const double *W, double *y, long R, long n_in, long n_out, int add,
                               int tiled)
    int fastnet_tile_rows_f(const float *W, float *tiled, long n_out, long n_in)
    int fastnet_tile_rows_d(const double *W, double *tiled, long n_out, long n_in)
    void fastnet_causal_scores_f(const float *x, long x_stride, const float *y, long y_stride, long T, long hs,
                                 float alpha, float *s, float *yt)
    void fastnet_causal_scores_d(const double *x, long x_stride, const double *y, long y_stride, long T, long hs,
                                 double alpha, double *s, double *yt)
    void fastnet_causal_weighted_f(const float *p, const float *z, long z_stride, float *out, long out_stride, long T,
                                   long hs, int transposed)
    void fastnet_causal_weighted_d(const double *p, const double *z, long z_stride, double *out, long out_stride,
                                   long T, long hs, int transposed)
    float fastnet_dot_f(const float *a, const float *b, long n)
    double fastnet_dot_d(const double *a, const double *b, long n)

ctypedef fused real:
    float
    double


include "_levels.pxi"

cdef double LAYERNORM_EPS = 1e-5
cdef enum:
    LINEAR_ROWS_MAX = 32  # linear_forward: up to this many rows, fastnet_linear_rows; more, BLAS (measured by
    #                       scripts/linear_rows_crossover.c: even at 64 rows)

from fastnet.gpt import layout

# The tensor index's entries by name, read from the one description of the layout (fastnet/gpt/layout.py).
cdef long _WTE = layout.WTE, _WPE = layout.WPE, _LN_F_WEIGHT = layout.LN_F_WEIGHT, _LN_F_BIAS = layout.LN_F_BIAS
cdef long _GLOBALS = len(layout.GLOBAL_TENSORS), _PER_BLOCK = layout.PER_BLOCK, _GELU_TANH = layout.GELU_TANH
cdef long _LN_1_WEIGHT = layout.LN_1_WEIGHT, _LN_1_BIAS = layout.LN_1_BIAS
cdef long _C_ATTN_WEIGHT = layout.C_ATTN_WEIGHT, _C_ATTN_BIAS = layout.C_ATTN_BIAS
cdef long _ATTN_PROJ_WEIGHT = layout.ATTN_PROJ_WEIGHT, _ATTN_PROJ_BIAS = layout.ATTN_PROJ_BIAS
cdef long _LN_2_WEIGHT = layout.LN_2_WEIGHT, _LN_2_BIAS = layout.LN_2_BIAS
cdef long _C_FC_WEIGHT = layout.C_FC_WEIGHT, _C_FC_BIAS = layout.C_FC_BIAS
cdef long _MLP_PROJ_WEIGHT = layout.MLP_PROJ_WEIGHT, _MLP_PROJ_BIAS = layout.MLP_PROJ_BIAS


include "_gpt_ops.pxi"


# ---------------------------------------------------------------------------
# The whole model

cdef struct Shape:
    long B, T, C, V, L, n_head, gelu


cdef void forward_pass(real *params, const int64_t *index, Shape s, const int64_t *tokens, real *resid, real *mid,
                       real *ln1, real *ln2, real *stats, real *qkv, real *att, real *atty, real *gelu, real *dgelu,
                       real *lnf, real *lnf_stats, real *logits, bint training, bint keys_values_only,
                       real *transposed) noexcept nogil:
    cdef long R = s.B * s.T, C = s.C, RC = R * C, b, t, c, layer
    cdef const int64_t *o
    cdef real *wte = params + index[_WTE]
    cdef real *wpe = params + index[_WPE]
    cdef real *x
    cdef real *m
    for b in range(s.B):
        for t in range(s.T):
            for c in range(C):
                resid[(b * s.T + t) * C + c] = wte[tokens[b * s.T + t] * C + c] + wpe[t * C + c]
    for layer in range(s.L):
        o = index + _GLOBALS + _PER_BLOCK * layer
        x = resid + layer * RC
        m = mid + layer * RC
        layernorm_forward(x, params + o[_LN_1_WEIGHT], tensor(params, o[_LN_1_BIAS]), ln1 + layer * RC,
                          stats + layer * 4 * R, stats + (layer * 4 + 1) * R, R, C)
        linear_forward(ln1 + layer * RC, params + o[_C_ATTN_WEIGHT], tensor(params, o[_C_ATTN_BIAS]),
                       qkv + layer * 3 * RC, R, C, 3 * C, False)
        if keys_values_only and layer == s.L - 1:
            return  # the last block's q, k, v: all a key/value cache keeps
        attention_forward(qkv + layer * 3 * RC, s.B, s.T, C, s.n_head, att + layer * s.B * s.n_head * s.T * s.T,
                          atty + layer * RC, transposed)
        for c in range(RC):
            m[c] = x[c]
        linear_forward(atty + layer * RC, params + o[_ATTN_PROJ_WEIGHT], tensor(params, o[_ATTN_PROJ_BIAS]), m, R, C,
                       C, True)
        layernorm_forward(m, params + o[_LN_2_WEIGHT], tensor(params, o[_LN_2_BIAS]), ln2 + layer * RC,
                          stats + (layer * 4 + 2) * R, stats + (layer * 4 + 3) * R, R, C)
        linear_forward(ln2 + layer * RC, params + o[_C_FC_WEIGHT], tensor(params, o[_C_FC_BIAS]),
                       gelu + layer * 4 * RC, R, C, 4 * C, False)
        gelu_forward(gelu + layer * 4 * RC, dgelu + layer * 4 * RC, 4 * RC, training, s.gelu)
        x = resid + (layer + 1) * RC
        for c in range(RC):
            x[c] = m[c]
        linear_forward(gelu + layer * 4 * RC, params + o[_MLP_PROJ_WEIGHT], tensor(params, o[_MLP_PROJ_BIAS]), x, R,
                       4 * C, C, True)
    layernorm_forward(resid + s.L * RC, params + index[_LN_F_WEIGHT], tensor(params, index[_LN_F_BIAS]), lnf, lnf_stats,
                      lnf_stats + R, R, C)
    linear_forward(lnf, wte, <real *>NULL, logits, R, C, s.V, False)


def _shape(tokens, acts, n_head, gelu):
    L, R, C = acts.mid.shape
    B, T = tokens.shape
    return Shape(B=B, T=T, C=C, V=acts.logits.shape[1], L=L, n_head=n_head, gelu=gelu)


def _transposed(Shape s, dtype):
    """The causal products' scratch: one head's keys (or values) transposed, (hs, T rounded up to a tile, which
    covers the lanes of every level)."""
    return np.empty((s.C // s.n_head, (s.T + FASTNET_TILE - 1) // FASTNET_TILE * FASTNET_TILE), dtype)


def _forward(real[::1] params, const int64_t[::1] index, long n_head, long gelu_code,
             const int64_t[:, ::1] tokens, acts, bint training, bint keys_values_only):
    cdef real[:, :, ::1] resid = acts.resid, mid = acts.mid, ln1 = acts.ln1, ln2 = acts.ln2, stats = acts.stats
    cdef real[:, :, ::1] qkv = acts.qkv, att = acts.att, atty = acts.atty, gelu = acts.gelu, dgelu = acts.dgelu
    cdef real[:, ::1] lnf = acts.lnf, lnf_stats = acts.lnf_stats, logits = acts.logits
    cdef Shape s = _shape(tokens, acts, n_head, gelu_code)
    cdef real[:, ::1] transposed = _transposed(s, np.float32 if real is float else np.float64)
    with nogil:
        forward_pass(&params[0], &index[_WTE], s, &tokens[0, 0], &resid[0, 0, 0], &mid[0, 0, 0], &ln1[0, 0, 0],
                     &ln2[0, 0, 0], &stats[0, 0, 0], &qkv[0, 0, 0], &att[0, 0, 0], &atty[0, 0, 0], &gelu[0, 0, 0],
                     &dgelu[0, 0, 0], &lnf[0, 0], &lnf_stats[0, 0], &logits[0, 0], training, keys_values_only,
                     &transposed[0, 0])


def forward(params, index, n_head, gelu, tokens, acts, training, keys_values_only):
    """Fill ``acts`` for tokens (B, T), up to the logits, or up to the last block's q, k, v (see
    ``numba.gpt_kernels.forward``)."""
    _forward(params, index, n_head, gelu, tokens, acts, training, keys_values_only)


def _cross_entropy(real[:, ::1] logits, const int64_t[:, ::1] targets, bint gradient):
    cdef long R = logits.shape[0], V = logits.shape[1]
    cdef double value
    with nogil:
        value = cross_entropy(&logits[0, 0], &targets[0, 0], R, V, gradient)
    return value


def loss(params, index, n_head, gelu, tokens, targets, acts):
    """The mean cross-entropy of the next-token predictions."""
    _forward(params, index, n_head, gelu, tokens, acts, False, False)
    return _cross_entropy(acts.logits, targets, False)


def loss_and_gradient(params, index, n_head, gelu, tokens, targets, acts, deltas, grad):
    """The loss, and grad = ∂loss/∂params (overwritten) (see ``numba.gpt_kernels.loss_and_gradient``)."""
    _forward(params, index, n_head, gelu, tokens, acts, True, False)
    value = _cross_entropy(acts.logits, targets, True)  # acts.logits now holds dlogits
    _backward(params, index, n_head, gelu, tokens, acts, deltas, grad)
    return value


def _backward(real[::1] params, const int64_t[::1] index, long n_head, long gelu_code,
              const int64_t[:, ::1] tokens, acts, deltas, real[::1] grad):
    cdef real[:, :, ::1] resid = acts.resid, mid = acts.mid, ln1 = acts.ln1, ln2 = acts.ln2, stats = acts.stats
    cdef real[:, :, ::1] qkv = acts.qkv, att = acts.att, atty = acts.atty, gelu = acts.gelu, dgelu = acts.dgelu
    cdef real[:, ::1] lnf = acts.lnf, lnf_stats = acts.lnf_stats, dlogits = acts.logits
    cdef real[:, ::1] dresid = deltas.dresid, dbuf = deltas.dbuf, dqkv = deltas.dqkv, dfc = deltas.dfc
    cdef real[:, ::1] datt = deltas.datt
    cdef Shape s = _shape(tokens, acts, n_head, gelu_code)
    cdef real[:, ::1] transposed = _transposed(s, np.float32 if real is float else np.float64)
    with nogil:
        backward_pass(&params[0], &index[_WTE], s, &tokens[0, 0], &resid[0, 0, 0], &mid[0, 0, 0], &ln1[0, 0, 0],
                      &ln2[0, 0, 0], &stats[0, 0, 0], &qkv[0, 0, 0], &att[0, 0, 0], &atty[0, 0, 0], &gelu[0, 0, 0],
                      &dgelu[0, 0, 0], &lnf[0, 0], &lnf_stats[0, 0], &dlogits[0, 0], &dresid[0, 0], &dbuf[0, 0],
                      &dqkv[0, 0], &dfc[0, 0], &datt[0, 0], &grad[0], grad.shape[0], &transposed[0, 0])


cdef void backward_pass(real *params, const int64_t *index, Shape s, const int64_t *tokens, real *resid,
                        real *mid, real *ln1, real *ln2, real *stats, real *qkv, real *att, real *atty, real *gelu,
                        real *dgelu, real *lnf, real *lnf_stats, real *dlogits, real *dresid, real *dbuf,
                        real *dqkv, real *dfc, real *datt, real *grad, long P, real *transposed) noexcept nogil:
    cdef long R = s.B * s.T, C = s.C, RC = R * C, i, b, t, c, layer
    cdef const int64_t *o
    cdef real *wte = params + index[_WTE]
    cdef real *dwte = grad + index[_WTE]
    cdef real *dwpe = grad + index[_WPE]
    for i in range(P):
        grad[i] = 0
    linear_backward(dlogits, lnf, wte, dwte, <real *>NULL, dbuf, R, C, s.V)  # the tied head
    for i in range(RC):
        dresid[i] = 0
    layernorm_backward(dbuf, resid + s.L * RC, lnf_stats, lnf_stats + R, params + index[_LN_F_WEIGHT],
                       grad + index[_LN_F_WEIGHT], tensor(grad, index[_LN_F_BIAS]), dresid, R, C)
    for layer in range(s.L - 1, -1, -1):
        o = index + _GLOBALS + _PER_BLOCK * layer
        # resid[layer + 1] = mid + mlp_proj(gelu(c_fc(ln_2(mid))))
        linear_backward(dresid, gelu + layer * 4 * RC, params + o[_MLP_PROJ_WEIGHT], grad + o[_MLP_PROJ_WEIGHT],
                        tensor(grad, o[_MLP_PROJ_BIAS]), dfc, R, 4 * C, C)
        gelu_backward(dfc, dgelu + layer * 4 * RC, 4 * RC)
        linear_backward(dfc, ln2 + layer * RC, params + o[_C_FC_WEIGHT], grad + o[_C_FC_WEIGHT],
                        tensor(grad, o[_C_FC_BIAS]), dbuf, R, C, 4 * C)
        layernorm_backward(dbuf, mid + layer * RC, stats + (layer * 4 + 2) * R, stats + (layer * 4 + 3) * R,
                           params + o[_LN_2_WEIGHT], grad + o[_LN_2_WEIGHT], tensor(grad, o[_LN_2_BIAS]), dresid, R, C)
        # mid = resid[layer] + attn_proj(attention(c_attn(ln_1(resid[layer]))))
        linear_backward(dresid, atty + layer * RC, params + o[_ATTN_PROJ_WEIGHT], grad + o[_ATTN_PROJ_WEIGHT],
                        tensor(grad, o[_ATTN_PROJ_BIAS]), dbuf, R, C, C)
        attention_backward(dbuf, qkv + layer * 3 * RC, att + layer * s.B * s.n_head * s.T * s.T, s.B, s.T, C,
                           s.n_head, dqkv, datt, transposed)
        linear_backward(dqkv, ln1 + layer * RC, params + o[_C_ATTN_WEIGHT], grad + o[_C_ATTN_WEIGHT],
                        tensor(grad, o[_C_ATTN_BIAS]), dbuf, R, C, 3 * C)
        layernorm_backward(dbuf, resid + layer * RC, stats + layer * 4 * R, stats + (layer * 4 + 1) * R,
                           params + o[_LN_1_WEIGHT], grad + o[_LN_1_WEIGHT], tensor(grad, o[_LN_1_BIAS]), dresid, R, C)
    for b in range(s.B):
        for t in range(s.T):
            for c in range(C):
                dwte[tokens[b * s.T + t] * C + c] += dresid[(b * s.T + t) * C + c]
                dwpe[t * C + c] += dresid[(b * s.T + t) * C + c]


# ---------------------------------------------------------------------------
# Generation and the optimiser

cdef void cached_attention(const real *qkv, real *cache, long B, long C, long n_head, long context, long position,
                           real *scores, real *y) noexcept nogil:
    """y (B, C): attention of one new position per row, qkv (B, 3C), over one layer's key/value cache
    (2, B, nh, context, hs) of positions 0..position − 1, after storing its own key and value at ``position``."""
    cdef long b, head, d, hs = C // n_head
    cdef real *keys
    cdef real *values
    cdef real scale = 1 / sqrt(hs)
    for b in range(B):
        for head in range(n_head):
            keys = cache + ((0 * B + b) * n_head + head) * context * hs
            values = cache + ((1 * B + b) * n_head + head) * context * hs
            for d in range(hs):
                keys[position * hs + d] = qkv[b * 3 * C + C + head * hs + d]
                values[position * hs + d] = qkv[b * 3 * C + 2 * C + head * hs + d]
            if real is float:
                fastnet_decode_head_f(&qkv[b * 3 * C + head * hs], keys, values, position + 1, hs, scale, scores,
                                      &y[b * C + head * hs])
            else:
                fastnet_decode_head_d(&qkv[b * 3 * C + head * hs], keys, values, position + 1, hs, scale, scores,
                                      &y[b * C + head * hs])


cdef struct DecodeShape:
    long B, L, C, n_head, gelu, context, V


cdef enum:
    TILED_PER_BLOCK = 12  # tile_block_weights: C² values a block (c_attn 3, attn_proj 1, c_fc 4, mlp_proj 4)


cdef void block_weights(real *params, const int64_t *o, real *tiled_block, long C, real **weights,
                        long *n_out, long *n_in) noexcept nogil:
    """A block's four weight matrices, (n_out[k], n_in[k]) each: c_attn (3C, C), attn_proj (C, C), c_fc (4C, C),
    mlp_proj (C, 4C). weights[k] is in params, at the block's offsets ``o``; or, when ``tiled_block`` is not
    NULL, in that block's part of tile_block_weights' copy, where the four follow one another."""
    cdef long k
    cdef long[4] names = [_C_ATTN_WEIGHT, _ATTN_PROJ_WEIGHT, _C_FC_WEIGHT, _MLP_PROJ_WEIGHT]
    cdef long[4] rows = [3 * C, C, 4 * C, C]
    cdef long[4] columns = [C, C, C, 4 * C]
    for k in range(4):
        n_out[k], n_in[k] = rows[k], columns[k]
        if tiled_block != NULL:
            weights[k] = tiled_block
            tiled_block += rows[k] * columns[k]
        else:
            weights[k] = params + o[names[k]]


cdef bint tile_block_weights(real *params, const int64_t *index, long L, long C, real *tiled) noexcept nogil:
    """tiled (L, 12 C²): each block's weights (block_weights' four, one after another) in the order
    fastnet_linear_rows reads them (gpt_rows.h's fastnet_tile_rows). False, with nothing copied, when the CPU
    level's vectors do not divide C."""
    cdef long layer, k
    cdef real *weights[4]
    cdef long n_out[4]
    cdef long n_in[4]
    cdef real *out = tiled
    for layer in range(L):
        block_weights(params, &index[_GLOBALS + _PER_BLOCK * layer], NULL, C, weights, n_out, n_in)
        for k in range(4):
            if real is float:
                if not fastnet_tile_rows_f(weights[k], out, n_out[k], n_in[k]):
                    return False
            else:
                if not fastnet_tile_rows_d(weights[k], out, n_out[k], n_in[k]):
                    return False
            out += n_out[k] * n_in[k]
    return True


cdef void embed_position(real *params, const int64_t *index, long B, long C, const int64_t *tokens, long position,
                         real *x) noexcept nogil:
    """x (B, C) = the embeddings of tokens (B,) at ``position``: what enters the first block."""
    cdef long b, c
    cdef real *wte = params + index[_WTE]
    cdef real *wpe = params + index[_WPE]
    for b in range(B):
        for c in range(C):
            x[b * C + c] = wte[tokens[b] * C + c] + wpe[position * C + c]


cdef void decode_into(real *params, const int64_t *index, DecodeShape s, long first_layer, long position,
                      real *cache, real *x, real *h, real *qkv, real *y, real *g, real *stats, real *scores,
                      real *logits, real *tiled) noexcept nogil:
    """logits (B, V) of x (B, C), the residual stream entering block ``first_layer`` at ``position`` (0 after
    embed_position: a decode step), through that block and the ones after it, reading and extending their caches,
    then the head; on the buffers of decode_step's arguments: h (B, C), qkv (B, 3C), y (B, C), g (B, 4C), stats
    (2, B), scores (context,) and the cache (L, 2, B, nh, context, hs). A loop of steps (_decode_tokens) gets them
    from its arguments once. The blocks' weights are read from ``tiled`` (tile_block_weights' copy) when it is
    not NULL: the same products, read in order."""
    cdef long B = s.B, C = s.C, layer
    cdef const int64_t *o
    cdef real *w[4]  # c_attn, attn_proj, c_fc, mlp_proj
    cdef long n_out[4]
    cdef long n_in[4]
    for layer in range(first_layer, s.L):
        o = &index[_GLOBALS + _PER_BLOCK * layer]
        block_weights(params, o, tiled + layer * TILED_PER_BLOCK * C * C if tiled != NULL else NULL, C, w, n_out,
                      n_in)
        layernorm_forward(x, params + o[_LN_1_WEIGHT], tensor(params, o[_LN_1_BIAS]), h, stats, stats + B, B, C)
        linear_forward(h, w[0], tensor(params, o[_C_ATTN_BIAS]), qkv, B, C, 3 * C, False, tiled != NULL)
        cached_attention(qkv, cache + layer * 2 * B * C * s.context, B, C, s.n_head, s.context, position, scores,
                         y)
        linear_forward(y, w[1], tensor(params, o[_ATTN_PROJ_BIAS]), x, B, C, C, True, tiled != NULL)
        layernorm_forward(x, params + o[_LN_2_WEIGHT], tensor(params, o[_LN_2_BIAS]), h, stats, stats + B, B, C)
        linear_forward(h, w[2], tensor(params, o[_C_FC_BIAS]), g, B, C, 4 * C, False, tiled != NULL)
        gelu_forward(g, g, B * 4 * C, False, s.gelu)
        linear_forward(g, w[3], tensor(params, o[_MLP_PROJ_BIAS]), x, B, 4 * C, C, True, tiled != NULL)
    layernorm_forward(x, params + index[_LN_F_WEIGHT], tensor(params, index[_LN_F_BIAS]), h, stats, stats + B, B,
                      C)
    linear_forward(h, params + index[_WTE], <real *>NULL, logits, B, C, s.V, False)


def _decode_from(real[::1] params, const int64_t[::1] index, long n_head, long gelu, const int64_t[::1] tokens,
                 long first_layer, long position, real[:, :, :, :, :, ::1] cache, real[:, ::1] x, real[:, ::1] h,
                 real[:, ::1] qkv, real[:, ::1] y, real[:, ::1] g, real[:, ::1] stats, real[::1] scores,
                 real[:, ::1] logits):
    """decode_into from ``first_layer``; x embedded from ``tokens`` first when there are any."""
    cdef DecodeShape s = DecodeShape(x.shape[0], cache.shape[0], x.shape[1], n_head, gelu, cache.shape[4],
                                     logits.shape[1])
    with nogil:
        if tokens.shape[0]:
            embed_position(&params[0], &index[0], s.B, s.C, &tokens[0], position, &x[0, 0])
        decode_into(&params[0], &index[0], s, first_layer, position, &cache[0, 0, 0, 0, 0, 0], &x[0, 0], &h[0, 0],
                    &qkv[0, 0], &y[0, 0], &g[0, 0], &stats[0, 0], &scores[0], &logits[0, 0], NULL)


def decode_step(params, index, n_head, gelu, tokens, position, cache, work, logits):
    """logits (B, V) for tokens (B,) appended at ``position`` (see ``numba.gpt_kernels.decode_step``)."""
    _decode_from(params, index, n_head, gelu, tokens, 0, position, cache, work.x, work.h, work.qkv, work.y, work.g,
                 work.stats, work.scores, logits)


def decode_from(params, index, n_head, gelu, first_layer, position, cache, work, logits):
    """logits (B, V) of work.x entering block ``first_layer`` at ``position`` (see
    ``numba.gpt_kernels.decode_from``)."""
    _decode_from(params, index, n_head, gelu, np.empty(0, np.int64), first_layer, position, cache, work.x, work.h,
                 work.qkv, work.y, work.g, work.stats, work.scores, logits)


include "_gpt_sampling.pxi"


def _adamw(real[::1] params, real[::1] grad, real[::1] m, real[::1] v, const real[::1] decay_mask, long step,
           double lr, double beta1, double beta2, double eps, double weight_decay, double clip):
    cdef long n = params.shape[0]
    cdef double norm
    cdef real scale
    with nogil:
        if real is float:
            norm = sqrt(fastnet_dot_f(&grad[0], &grad[0], n))
        else:
            norm = sqrt(fastnet_dot_d(&grad[0], &grad[0], n))
        scale = <real>(min(1.0, clip / (norm + 1e-6)) if clip > 0 else 1.0)
        if real is float:
            fastnet_adamw_f(&params[0], &grad[0], &m[0], &v[0], &decay_mask[0], n, scale, lr * weight_decay, beta1,
                            beta2, lr / (1 - beta1 ** step), sqrt(1 - beta2 ** step), eps)
        else:
            fastnet_adamw_d(&params[0], &grad[0], &m[0], &v[0], &decay_mask[0], n, scale, lr * weight_decay, beta1,
                            beta2, lr / (1 - beta1 ** step), sqrt(1 - beta2 ** step), eps)
    return norm


def adamw(params, grad, m, v, decay_mask, step, lr, beta1, beta2, eps, weight_decay, clip):
    """numpy_gpt.adamw_step: the norm, then clipping + AdamW in one pass; returns the norm before clipping."""
    return _adamw(params, grad, m, v, decay_mask, step, lr, beta1, beta2, eps, weight_decay, clip)



# ---------------------------------------------------------------------------
# The BPE trainer's loop (see numba.bpe, the same algorithm)

def bpe_merges(ids, word_of, weights, long vocab_size):
    """The merges (n, 2) learned from the words in ``ids`` (see ``numba.bpe.bpe_merges``); the three arrays are
    copied (int64), then merged in place."""
    cdef int64_t[::1] ids_ = np.array(ids, np.int64), word_of_ = np.array(word_of, np.int64)
    cdef int64_t[::1] weights_ = np.array(weights, np.int64)
    cdef int64_t[::1] counts = np.zeros(vocab_size * vocab_size, np.int64)
    merges_array = np.empty((vocab_size - 256, 2), np.int64)
    cdef int64_t[:, ::1] merges = merges_array
    cdef long n = ids_.shape[0], made = 0, new_token, j, kept
    cdef int64_t best, best_key, key, total, a, b
    with nogil:
        for new_token in range(256, vocab_size):
            for j in range(n - 1):
                if word_of_[j] == word_of_[j + 1]:
                    counts[ids_[j] * vocab_size + ids_[j + 1]] += weights_[j]
            best, best_key = 0, -1
            for j in range(n - 1):  # read each pair's total once, clearing the table as it goes
                if word_of_[j] == word_of_[j + 1]:
                    key = ids_[j] * vocab_size + ids_[j + 1]
                    total = counts[key]
                    if total > best or (total == best and total > 0 and key < best_key):
                        best, best_key = total, key
                    counts[key] = 0
            if best_key < 0:
                break  # every word is one token
            a, b = best_key // vocab_size, best_key % vocab_size
            merges[made, 0], merges[made, 1] = a, b
            made += 1
            kept, j = 0, 0
            while j < n:
                if j + 1 < n and ids_[j] == a and ids_[j + 1] == b and word_of_[j] == word_of_[j + 1]:
                    ids_[kept], word_of_[kept], weights_[kept] = new_token, word_of_[j], weights_[j]
                    j += 2
                else:
                    ids_[kept], word_of_[kept], weights_[kept] = ids_[j], word_of_[j], weights_[j]
                    j += 1
                kept += 1
            n = kept
    return merges_array[:made]
