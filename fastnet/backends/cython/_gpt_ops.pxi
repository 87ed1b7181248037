# The GPT's ops, included into _gpt_kernels.pyx (after the tensor index's names): BLAS called row-major,
# and each op of the pass and its backward, the Numba backend's names (numba.gpt_kernels).

# ---------------------------------------------------------------------------
# BLAS, row-major

cdef inline void gemm(bint transa, bint transb, int M, int N, int K, real alpha, const real *A, int lda,
                      const real *B, int ldb, real beta, real *C, int ldc) noexcept nogil:
    """Row-major C (M, N) = alpha op(A) op(B) + beta C (column-major Cᵀ = op(B)ᵀ op(A)ᵀ)."""
    cdef char ta = b'T' if transb else b'N'
    cdef char tb = b'T' if transa else b'N'
    if real is float:
        sgemm(&ta, &tb, &N, &M, &K, &alpha, <float *>B, &ldb, <float *>A, &lda, &beta, C, &ldc)
    else:
        dgemm(&ta, &tb, &N, &M, &K, &alpha, <double *>B, &ldb, <double *>A, &lda, &beta, C, &ldc)


cdef inline real *tensor(real *flat, int64_t offset) noexcept nogil:
    """The tensor at ``offset`` in the flat vector; NULL for an absent one (offset −1)."""
    return flat + offset if offset >= 0 else NULL


# ---------------------------------------------------------------------------
# The ops (the Numba backend's, same names)

cdef void layernorm_forward(const real *x, const real *w, const real *b, real *y, real *mean, real *rstd, long R,
                            long C) noexcept nogil:
    if real is float:
        fastnet_layernorm_forward_f(x, w, b, y, mean, rstd, R, C, LAYERNORM_EPS)
    else:
        fastnet_layernorm_forward_d(x, w, b, y, mean, rstd, R, C, LAYERNORM_EPS)


cdef void layernorm_backward(const real *dy, const real *x, const real *mean, const real *rstd, const real *w,
                             real *dw, real *db, real *dx, long R, long C) noexcept nogil:
    if real is float:
        fastnet_layernorm_backward_f(dy, x, mean, rstd, w, dw, db, dx, R, C)
    else:
        fastnet_layernorm_backward_d(dy, x, mean, rstd, w, dw, db, dx, R, C)


cdef void linear_forward(const real *x, const real *W, const real *b, real *y, long R, long n_in, long n_out,
                         bint accumulate, bint tiled=False) noexcept nogil:
    """y (R, out) = x (R, in) Wᵀ + b; with ``accumulate``, y += x Wᵀ + b. b may be NULL.

    Up to LINEAR_ROWS_MAX rows (a decode step), gpt_rows.h's fastnet_linear_rows: BLAS's matrix product
    would copy all of W into its packed layout first. ``tiled``: W is tile_block_weights' copy (rows <=
    LINEAR_ROWS_MAX only).
    """
    cdef long r, j
    cdef bint add = b != NULL or accumulate
    if b != NULL:
        for r in range(R):
            for j in range(n_out):
                y[r * n_out + j] = (y[r * n_out + j] if accumulate else 0) + b[j]
    if R > LINEAR_ROWS_MAX:
        gemm(False, True, R, n_out, n_in, <real>1, x, n_in, W, n_in, <real>(1 if add else 0), y, n_out)
    elif real is float:
        fastnet_linear_rows_f(x, W, y, R, n_in, n_out, add, tiled)
    else:
        fastnet_linear_rows_d(x, W, y, R, n_in, n_out, add, tiled)


cdef void linear_backward(const real *dy, const real *x, const real *W, real *dW, real *db, real *dx, long R,
                          long n_in, long n_out) noexcept nogil:
    """dW += dyᵀ x;  db += Σ_rows dy (db may be NULL);  dx = dy W."""
    cdef long r, j
    gemm(True, False, n_out, n_in, R, <real>1, dy, n_out, x, n_in, <real>1, dW, n_in)
    if db != NULL:
        for r in range(R):
            for j in range(n_out):
                db[j] += dy[r * n_out + j]
    gemm(False, False, R, n_in, n_out, <real>1, dy, n_out, W, n_in, <real>0, dx, n_in)


cdef void attention_forward(const real *qkv, long B, long T, long C, long n_head, real *att, real *y,
                            real *transposed) noexcept nogil:
    """Per sequence b and head h: att = causal softmax(q kᵀ / √hs), y[:, head h] = att v; the products below the
    diagonal only (``causal_scores``, ``causal_weighted``; ``transposed``: their scratch)."""
    cdef long b, h, hs = C // n_head
    cdef const real *rows
    cdef real *a
    cdef real scale = 1 / sqrt(hs)
    for b in range(B):
        rows = qkv + b * T * 3 * C
        for h in range(n_head):
            a = att + (b * n_head + h) * T * T
            causal_scores(rows + h * hs, 3 * C, rows + C + h * hs, 3 * C, T, hs, scale, a, transposed)
            if real is float:
                fastnet_masked_softmax_f(a, T, T)
            else:
                fastnet_masked_softmax_d(a, T, T)
            causal_weighted(a, rows + 2 * C + h * hs, 3 * C, y + b * T * C + h * hs, C, T, hs, False)


cdef void attention_backward(const real *dy, const real *qkv, const real *att, long B, long T, long C,
                             long n_head, real *dqkv, real *datt, real *transposed) noexcept nogil:
    """dqkv from dy, per head: dv = attᵀ dy, datt = dy vᵀ, the softmax's backward, dq = dscores k, dk = dscoresᵀ q
    (the causal products, as in ``attention_forward``)."""
    cdef long b, h, hs = C // n_head
    cdef const real *rows
    cdef const real *a
    cdef const real *d
    cdef real *out
    cdef real scale = 1 / sqrt(hs)
    for b in range(B):
        rows = qkv + b * T * 3 * C
        out = dqkv + b * T * 3 * C
        d = dy + b * T * C
        for h in range(n_head):
            a = att + (b * n_head + h) * T * T
            causal_weighted(a, d + h * hs, C, out + 2 * C + h * hs, 3 * C, T, hs, True)
            causal_scores(d + h * hs, C, rows + 2 * C + h * hs, 3 * C, T, hs, <real>1, datt, transposed)
            if real is float:
                fastnet_softmax_backward_f(datt, a, T, scale)
            else:
                fastnet_softmax_backward_d(datt, a, T, scale)
            causal_weighted(datt, rows + C + h * hs, 3 * C, out + h * hs, 3 * C, T, hs, False)
            causal_weighted(datt, rows + h * hs, 3 * C, out + C + h * hs, 3 * C, T, hs, True)


cdef void causal_scores(const real *x, long x_stride, const real *y, long y_stride, long T, long hs, real alpha,
                        real *s, real *transposed) noexcept nogil:
    """s[i, j] = alpha x[i]·y[j] for j ≤ i (gpt_rows.h); above the diagonal, what the softmax overwrites."""
    if real is float:
        fastnet_causal_scores_f(x, x_stride, y, y_stride, T, hs, alpha, s, transposed)
    else:
        fastnet_causal_scores_d(x, x_stride, y, y_stride, T, hs, alpha, s, transposed)


cdef void causal_weighted(const real *p, const real *z, long z_stride, real *out, long out_stride, long T, long hs,
                          bint transposed) noexcept nogil:
    """out = p z, or pᵀ z (``transposed``), for p (T, T) zero above its diagonal (gpt_rows.h)."""
    if real is float:
        fastnet_causal_weighted_f(p, z, z_stride, out, out_stride, T, hs, transposed)
    else:
        fastnet_causal_weighted_d(p, z, z_stride, out, out_stride, T, hs, transposed)


cdef void gelu_forward(real *g, real *derivative, long n, bint training, long approximate) noexcept nogil:
    """g ← GELU(g) in place, exact or (approximate == GELU_TANH) GPT-2's; derivative = GELU' when training."""
    if real is float:
        if approximate == _GELU_TANH:
            fastnet_gelu_tanh_forward_f(g, derivative, n, training)
        else:
            fastnet_gelu_forward_f(g, derivative, n, training)
    else:
        if approximate == _GELU_TANH:
            fastnet_gelu_tanh_forward_d(g, derivative, n, training)
        else:
            fastnet_gelu_forward_d(g, derivative, n, training)


cdef void gelu_backward(real *dg, const real *derivative, long n) noexcept nogil:
    """dg *= GELU's derivative, kept by ``gelu_forward`` (the gradient through the GELU, in place)."""
    if real is float:
        fastnet_multiply_f(dg, derivative, n)
    else:
        fastnet_multiply_d(dg, derivative, n)


cdef double cross_entropy(real *logits, const int64_t *targets, long R, long V, bint gradient) noexcept nogil:
    if real is float:
        return fastnet_cross_entropy_f(logits, targets, R, V, gradient)
    else:
        return fastnet_cross_entropy_d(logits, targets, R, V, gradient)
