# The GPT's sampling, included into _gpt_kernels.pyx (after _decode_step): the draw of
# numpy_gpt.sample_tokens and the compiled decoding loop of numpy_gpt.decode_tokens.

# ---------------------------------------------------------------------------
# Sampling (see numba.gpt_kernels.sample, the same algorithm)

cdef double _kth_largest(double *values, long n, long k) noexcept nogil:
    """The k-th largest of values[:n] (reordered in place): Hoare's selection."""
    cdef long target = n - k, low = 0, high = n - 1, i, j
    cdef double pivot, swap
    while low < high:
        pivot = values[(low + high) // 2]
        i, j = low, high
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                swap = values[i]
                values[i] = values[j]
                values[j] = swap
                i += 1
                j -= 1
        if target <= j:
            high = j
        elif target >= i:
            low = i
        else:
            break
    return values[target]


cdef void _sample_rows(real[:, ::1] logits, double temperature, long top_k, const double[::1] uniforms,
                       double[:, ::1] weights, int64_t[::1] tokens) noexcept nogil:
    cdef long B = logits.shape[0], V = logits.shape[1], b, j, token, last_possible
    cdef bint defined
    cdef double largest, kth, total, w, s, threshold
    cdef double *cumulative = &weights[0, 0]
    cdef double *selection = &weights[1, 0]
    for b in range(B):
        largest = -INFINITY
        defined = True  # no NaN or +inf logit
        for j in range(V):
            s = <double>logits[b, j] / temperature
            cumulative[j] = s
            largest = max(largest, s)
            defined = defined and s < INFINITY
        kth = -INFINITY
        if defined and 0 < top_k < V:
            for j in range(V):
                selection[j] = cumulative[j]
            kth = _kth_largest(selection, V, top_k)
        total = 0.0
        last_possible = 0
        for j in range(V):
            w = exp(cumulative[j] - largest) if cumulative[j] >= kth else 0.0
            if w > 0:
                last_possible = j
            total += w
            cumulative[j] = total
        if not (defined and total < INFINITY):  # no distribution (a NaN total too)
            tokens[b] = -1
            continue
        threshold = uniforms[b] * total
        token = 0
        while token < last_possible and cumulative[token] <= threshold:
            token += 1
        tokens[b] = token


def _sample(real[:, ::1] logits, double temperature, long top_k, const double[::1] uniforms, double[:, ::1] weights,
            int64_t[::1] tokens):
    with nogil:
        _sample_rows(logits, temperature, top_k, uniforms, weights, tokens)


def sample(logits, temperature, top_k, uniforms, weights, tokens):
    """tokens (B,): each row of logits (B, V) drawn with its uniform (see ``numba.gpt_kernels.sample``)."""
    _sample(logits, temperature, top_k, uniforms, weights, tokens)


def _decode_tokens(real[::1] params, const int64_t[::1] index, long n_head, long gelu, const int64_t[::1] tokens,
                   long position, real[:, :, :, :, :, ::1] cache, real[:, ::1] x, real[:, ::1] h, real[:, ::1] qkv,
                   real[:, ::1] y, real[:, ::1] g, real[:, ::1] stats, real[::1] scores, real[:, ::1] logits,
                   const double[:, ::1] uniforms, double temperature, long top_k, double[:, ::1] weights,
                   int64_t[:, ::1] drawn, real[::1] tiled):
    cdef DecodeShape s = DecodeShape(tokens.shape[0], cache.shape[0], x.shape[1], n_head, gelu, cache.shape[4],
                                     logits.shape[1])
    cdef long i, b, steps = uniforms.shape[0], drawn_steps = steps
    cdef const int64_t *appended = &tokens[0]
    cdef real *read_tiled = NULL
    with nogil:
        if tiled.shape[0] > 0 and s.B <= LINEAR_ROWS_MAX and tile_block_weights(&params[0], &index[0], s.L, s.C,
                                                                                 &tiled[0]):
            read_tiled = &tiled[0]
        for i in range(steps):
            embed_position(&params[0], &index[0], s.B, s.C, appended, position + i, &x[0, 0])
            decode_into(&params[0], &index[0], s, 0, position + i, &cache[0, 0, 0, 0, 0, 0], &x[0, 0], &h[0, 0],
                        &qkv[0, 0], &y[0, 0], &g[0, 0], &stats[0, 0], &scores[0], &logits[0, 0], read_tiled)
            _sample_rows(logits, temperature, top_k, uniforms[i], weights, drawn[i])
            appended = &drawn[i, 0]
            for b in range(s.B):
                if drawn[i, b] < 0:
                    drawn_steps = i + 1
            if drawn_steps < steps:
                break
    return drawn_steps


TILED_MIN_STEPS = 16  # decode_tokens lays out the weights for one sequence's products from this many steps a call,
TILED_MAX_VALUES = 1 << 24  # up to this many weights (64 MB in float32)


class _TiledWeights(threading.local):
    """Each thread's buffer for tile_block_weights' copy, kept across calls (fresh pages cost as much as
    the copy)."""

    array = None

    def get(self, size, dtype):
        if self.array is None or self.array.size != size or self.array.dtype != dtype:
            self.array = np.empty(size, dtype)
        return self.array


_tiled_weights = _TiledWeights()


def decode_tokens(params, index, n_head, gelu, tokens, position, cache, work, logits, uniforms, temperature, top_k,
                  weights, drawn):
    """drawn (n, B): n steps of decode_step and sample (see ``numba.gpt_kernels.decode_tokens``); returns the
    number of rows drawn. For one sequence and from TILED_MIN_STEPS steps, the blocks' weights are first copied
    in the order the products read them (the same sums: the same bits): its steps then gain more than the copy
    costs (scripts/linear_rows_crossover.c; several rows read each block of weights for all of them, and gain
    nothing from the copy)."""
    size = TILED_PER_BLOCK * work.x.shape[1] ** 2 * cache.shape[0]
    tiled = (_tiled_weights.get(size, params.dtype)
             if len(tokens) == 1 and len(uniforms) >= TILED_MIN_STEPS and size <= TILED_MAX_VALUES else params[:0])
    return _decode_tokens(params, index, n_head, gelu, tokens, position, cache, work.x, work.h, work.qkv, work.y,
                          work.g, work.stats, work.scores, logits, uniforms, temperature, top_k, weights, drawn, tiled)
