/* The GPT's element-wise passes for the Cython backend (fastnet/backends/_gpt_kernels.pyx).
 *
 * The same ops and math as the Numba backend's numba/gpt_kernels.py (which states
 * them beside the NumPy reference's names); the linear layers' matrix products
 * between them are BLAS calls made by the .pyx, causal attention's are here. Like rows.h, each function is
 * compiled for AVX-512, AVX2 and baseline x86-64 and called at the level chosen
 * when the module loads. Sums are kept in FASTNET_TILE partial sums, a fixed order that
 * vectorises without letting the compiler reassociate anything else.
 */
#ifndef FASTNET_CYTHON_GPT_ROWS_H
#define FASTNET_CYTHON_GPT_ROWS_H

#include <math.h>
#define FASTNET_GPT_ROWS_LEVELS /* this extension's level functions are the ones below, not rows.h's */
#include "rows.h"

#define fastnet_sqrt_f sqrtf /* vectorised: setup.py compiles with -fno-math-errno */
#define fastnet_sqrt_d sqrt

/* The integer of a T's size (the lanes of a shuffle mask). */
typedef int32_t fastnet_lane_index_f;
typedef int64_t fastnet_lane_index_d;

/* A linear layer's products for the few rows of a decode step (fastnet_linear_rows_S_L, below): y = x Wᵀ
 * (or y += x Wᵀ) with x (R, n_in), W (n_out, n_in), without BLAS's packed copy of W (which costs as much as
 * the products when R is small) and reading each block of W once for all R rows.
 *
 * LANES products at a time, each in a vector of LANES partial sums (lane j adds the terms i ≡ j mod LANES, in
 * order); the LANES vectors are then added in a fixed tree (lane j + lane j + half, half = LANES/2, ..., 1)
 * by shuffles that also transpose them, so that lane k of the result is product k. Every y[r, o] is summed
 * in the same order whatever R, o or the block it falls in. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(FASTNET_NO_SHUFFLE)
/* One level of that tree, when the vectors have more than `half` lanes: the 2·half vectors t[0..2·half) left
 * hold 2·half partial sums per product; t[k] = t[2k] and t[2k + 1] with each product's partial sums j and
 * j + half added, for k < half: half vectors of half partial sums per product. GCC's __builtin_shuffle. */
#define FASTNET_COMBINE(S, L, half)                                                                           \
    if (LANES > (half))                                                                                      \
        _Pragma("GCC unroll 16") for (int k = 0; k < (half); k++)                                            \
            t[k] = __builtin_shuffle(t[2 * k], t[2 * k + 1], fastnet_half_mask_##S##_##L(half, 0))            \
                   + __builtin_shuffle(t[2 * k], t[2 * k + 1], fastnet_half_mask_##S##_##L(half, 1));
#define FASTNET_TRANSPOSED_SUMS(T, S, L) FASTNET_COMBINE(S, L, 8) FASTNET_COMBINE(S, L, 4) FASTNET_COMBINE(S, L, 2) \
    FASTNET_COMBINE(S, L, 1)
#else
/* Other compilers: the same sums in the same order, lane by lane. */
#define FASTNET_TRANSPOSED_SUMS(T, S, L)                                                                       \
    T lanes[LANES][LANES], out[LANES];                                                                       \
    memcpy(lanes, t, sizeof lanes);                                                                          \
    for (int k = 0; k < LANES; k++) {                                                                        \
        for (int half = LANES / 2; half >= 1; half /= 2)                                                     \
            for (int j = 0; j < half; j++) lanes[k][j] += lanes[k][j + half];                                \
        out[k] = lanes[k][0];                                                                                \
    }                                                                                                        \
    memcpy(t, out, sizeof out);
#endif

#define FASTNET_DEFINE_LINEAR_ROWS(T, S, L)                                                                   \
typedef fastnet_lane_index_##S fastnet_mask_##S##_##L                                                        \
    __attribute__((vector_size(FASTNET_VECTOR_BYTES_##L)));                                                  \
                                                                                                             \
/* The lanes of a and b with `half` partial sums left per product: block k of the result takes, from a's      \
 * blocks of 2·half lanes and then b's, the first half (high = 0) or the second (high = 1). */                \
FASTNET_TARGET_##L FASTNET_INLINE fastnet_mask_##S##_##L fastnet_half_mask_##S##_##L(int half, int high) {    \
    enum { LANES = FASTNET_LANES(T, L) };                                                                    \
    fastnet_mask_##S##_##L mask;                                                                              \
    _Pragma("GCC unroll 16") for (int lane = 0; lane < LANES; lane++) {                                      \
        const int block = lane / half, blocks = LANES / (2 * half);                                          \
        mask[lane] = (block < blocks ? 2 * half * block : LANES + 2 * half * (block - blocks)) + high * half   \
                     + lane % half;                                                                          \
    }                                                                                                        \
    return mask;                                                                                             \
}                                                                                                            \
                                                                                                             \
/* out[k] = the sum of sums[k]'s lanes, in the tree order above, for k < LANES (at most 16). */               \
FASTNET_TARGET_##L FASTNET_INLINE fastnet_vector_##S##_##L fastnet_transposed_sums_##S##_##L(                 \
        const fastnet_vector_##S##_##L *sums) {                                                              \
    typedef fastnet_vector_##S##_##L V;                                                                      \
    enum { LANES = FASTNET_LANES(T, L) };                                                                    \
    V t[LANES];                                                                                              \
    _Pragma("GCC unroll 16") for (int k = 0; k < LANES; k++) t[k] = sums[k];                                 \
    FASTNET_TRANSPOSED_SUMS(T, S, L)                                                                         \
    return t[0];                                                                                             \
}                                                                                                            \
                                                                                                             \
/* RB rows of x (from x, n apart) times WB rows of W (rows past `last` read as row `last`), RB·WB = LANES: lane \
 * rb·WB + wb of the result is Σ_i x[rb·n + i] W[wb, i] over i < n_vector (a multiple of LANES). W[wb, i] is at \
 * w + wb·n + i, or, `tiled` (fastnet_tile_rows' order), at w + (wb + i)·LANES. */                           \
FASTNET_TARGET_##L FASTNET_INLINE fastnet_vector_##S##_##L fastnet_block_products_##S##_##L(                  \
        const T *x, const T *w, long n, long n_vector, int RB, int WB, int last, int tiled) {                \
    typedef fastnet_vector_##S##_##L V;                                                                      \
    enum { LANES = FASTNET_LANES(T, L) };                                                                    \
    const long row_step = tiled ? LANES : n, column_step = tiled ? LANES : 1;                                \
    V sums[LANES];                                                                                           \
    _Pragma("GCC unroll 16") for (int k = 0; k < LANES; k++) sums[k] = (V){0};                               \
    for (long i = 0; i < n_vector; i += LANES) {                                                             \
        V xs[LANES];                                                                                         \
        _Pragma("GCC unroll 16") for (int rb = 0; rb < RB; rb++) xs[rb] = *(const V *)(x + rb * n + i);      \
        _Pragma("GCC unroll 16") for (int wb = 0; wb < WB; wb++) {                                           \
            const V row = *(const V *)(w + (wb < last ? wb : last) * row_step + i * column_step);            \
            _Pragma("GCC unroll 16") for (int rb = 0; rb < RB; rb++) sums[rb * WB + wb] += row * xs[rb];     \
        }                                                                                                    \
    }                                                                                                        \
    return fastnet_transposed_sums_##S##_##L(sums);                                                          \
}                                                                                                            \
                                                                                                             \
/* y[rb, o + wb] (rows n_out apart) = (add ? y : 0) + the products above, plus the terms past n_vector, for   \
 * the first `count` of the WB. */                                                                           \
FASTNET_TARGET_##L FASTNET_INLINE void fastnet_store_block_##S##_##L(fastnet_vector_##S##_##L products,       \
        const T *x, const T *w, T *y, long n, long n_vector, long n_out, int add, int RB, int WB, int count) {  \
    enum { LANES = FASTNET_LANES(T, L) };                                                                    \
    T sums[LANES];                                                                                           \
    memcpy(sums, &products, sizeof sums);                                                                    \
    for (int rb = 0; rb < RB; rb++) {                                                                        \
        T *out = y + rb * n_out;                                                                             \
        if (count == WB && n_vector == n) {                                                                  \
            _Pragma("GCC unroll 16") for (int wb = 0; wb < WB; wb++)                                         \
                out[wb] = (add ? out[wb] : 0) + sums[rb * WB + wb];                                          \
            continue;                                                                                        \
        }                                                                                                    \
        for (int wb = 0; wb < count; wb++) {                                                                 \
            T tail = 0;                                                                                      \
            for (long i = n_vector; i < n; i++) tail += x[rb * n + i] * w[wb * n + i];                       \
            out[wb] = (add ? out[wb] : 0) + (sums[rb * WB + wb] + tail);                                     \
        }                                                                                                    \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
/* `groups` groups of RB rows of y from those of x, for every block of WB rows of W, each block for every group \
 * before the next block (so that it is read from memory once and from L1 for the other groups). The last    \
 * block, when shorter, repeats W's last row: its extra products are not stored. `tiled`: W in               \
 * fastnet_tile_rows' order, WB = LANES. */                                                                  \
FASTNET_TARGET_##L FASTNET_INLINE void fastnet_linear_block_rows_##S##_##L(const T *x, const T *W, T *y,     \
        long groups, long n_in, long n_out, int add, int RB, int WB, int tiled) {                            \
    enum { LANES = FASTNET_LANES(T, L) };                                                                    \
    const long n_vector = n_in - n_in % LANES;                                                               \
    long o = 0;                                                                                              \
    for (; o + WB <= n_out; o += WB)                                                                         \
        for (long g = 0; g < groups; g++) {                                                                  \
            const T *xg = x + g * RB * n_in;                                                                 \
            fastnet_store_block_##S##_##L(                                                                   \
                fastnet_block_products_##S##_##L(xg, W + o * n_in, n_in, n_vector, RB, WB, WB - 1, tiled),   \
                xg, W + o * n_in, y + g * RB * n_out + o, n_in, n_vector, n_out, add, RB, WB, WB);           \
        }                                                                                                    \
    if (o < n_out) /* never when tiled (n_out is a multiple of LANES) */                                     \
        for (long g = 0; g < groups; g++) {                                                                  \
            const T *xg = x + g * RB * n_in;                                                                 \
            fastnet_store_block_##S##_##L(                                                                   \
                fastnet_block_products_##S##_##L(xg, W + o * n_in, n_in, n_vector, RB, WB, n_out - o - 1, 0), \
                xg, W + o * n_in, y + g * RB * n_out + o, n_in, n_vector, n_out, add, RB, WB, n_out - o);    \
        }                                                                                                    \
}                                                                                                            \
                                                                                                             \
/* y[r, o] = (add ? y[r, o] : 0) + Σ_i x[r, i] W[o, i] for r < R, o < n_out (y = x Wᵀ, or y += x Wᵀ), W      \
 * (n_out, n_in): rows four at a time (each block of W read once for the four), then two, then one. `tiled`: \
 * W is fastnet_tile_rows' copy, read for one row at a time (the same sums in the same order). */            \
FASTNET_TARGET_##L static void fastnet_linear_rows_##S##_##L(const T *x, const T *W, T *y, long R, long n_in, \
                                                        long n_out, int add, int tiled) {                    \
    enum { LANES = FASTNET_LANES(T, L), RB = LANES >= 4 ? 4 : LANES };                                       \
    if (tiled) {                                                                                             \
        fastnet_linear_block_rows_##S##_##L(x, W, y, R, n_in, n_out, add, 1, LANES, 1);                      \
        return;                                                                                              \
    }                                                                                                        \
    const long r = R - R % RB;                                                                               \
    if (r) fastnet_linear_block_rows_##S##_##L(x, W, y, r / RB, n_in, n_out, add, RB, LANES / RB, 0);        \
    if (RB > 2 && R - r >= 2)                                                                                \
        fastnet_linear_block_rows_##S##_##L(x + r * n_in, W, y + r * n_out, 1, n_in, n_out, add, 2, LANES / 2,\
                                            0);                                                              \
    if ((R - r) % 2)                                                                                         \
        fastnet_linear_block_rows_##S##_##L(x + (R - 1) * n_in, W, y + (R - 1) * n_out, 1, n_in, n_out, add, 1, \
                                            LANES, 0);                                                       \
}                                                                                                            \
                                                                                                             \
/* tiled = W (n_out, n_in) in the order fastnet_linear_rows reads it for one row of x: for each block of     \
 * LANES rows, the block's first LANES columns row after row, then its next LANES columns, and so on: the    \
 * products stream through memory in order (reading LANES rows side by side is slower from L3). Returns 0,   \
 * and copies nothing, unless n_out and n_in are multiples of LANES (the only shapes it lays out). */         \
FASTNET_TARGET_##L static int fastnet_tile_rows_##S##_##L(const T *restrict W, T *restrict tiled, long n_out, \
                                                     long n_in) {                                            \
    enum { LANES = FASTNET_LANES(T, L) };                                                                    \
    if (n_out % LANES || n_in % LANES) return 0;                                                             \
    for (long o = 0; o < n_out; o += LANES)                                                                  \
        for (long i = 0; i < n_in; i += LANES)                                                               \
            for (long wb = 0; wb < LANES; wb++)                                                              \
                memcpy(tiled + o * n_in + (i + wb) * LANES, W + (o + wb) * n_in + i, sizeof(T) * LANES);     \
    return 1;                                                                                                \
}

/* Causal attention's products for one head of T_ positions and hs values per position, leaving out the
 * products above the diagonal (masked scores are zero there: they add nothing). RB rows of the result at a
 * time, each a vector of LANES outputs held in a register; every output is summed in order along its one
 * index, so the same whatever the batch, the thread or the row it falls in. */
#define FASTNET_DEFINE_CAUSAL_PRODUCTS(T, S, L)                                                              \
/* s[i, j] = alpha Σ_d x[i, d] y[j, d] for j ≤ i < T_ (x, y rows x_stride, y_stride apart; s rows T_ apart).   \
 * Blocks of s wholly above the diagonal are not written, parts of those on it are: the caller's softmax      \
 * overwrites what lies above. yt: scratch of hs x T_ rounded up to LANES (y transposed, zeros past T_). */   \
FASTNET_TARGET_##L static void fastnet_causal_scores_##S##_##L(const T *x, long x_stride, const T *y,          \
        long y_stride, long T_, long hs, T alpha, T *s, T *yt) {                                            \
    typedef fastnet_vector_##S##_##L V;                                                                      \
    enum { LANES = FASTNET_LANES(T, L), RB = 8 };                                                            \
    const long padded = (T_ + LANES - 1) / LANES * LANES;                                                    \
    for (long d = 0; d < hs; d++) {                                                                          \
        for (long j = 0; j < T_; j++) yt[d * padded + j] = y[j * y_stride + d];                              \
        for (long j = T_; j < padded; j++) yt[d * padded + j] = 0;                                           \
    }                                                                                                        \
    for (long i0 = 0; i0 < T_; i0 += RB) {                                                                   \
        const long rows = T_ - i0 < RB ? T_ - i0 : RB;                                                       \
        const T *xr[RB];                                                                                     \
        _Pragma("GCC unroll 16") for (int r = 0; r < RB; r++) xr[r] = x + (i0 + (r < rows ? r : rows - 1)) * x_stride; \
        for (long j0 = 0; j0 < i0 + rows; j0 += LANES) {                                                     \
            V sums[RB];                                                                                      \
            _Pragma("GCC unroll 16") for (int r = 0; r < RB; r++) sums[r] = (V){0};                          \
            for (long d = 0; d < hs; d++) {                                                                  \
                const V column = *(const V *)(yt + d * padded + j0);                                         \
                _Pragma("GCC unroll 16") for (int r = 0; r < RB; r++) sums[r] += xr[r][d] * column;          \
            }                                                                                                \
            const long count = T_ - j0 < LANES ? T_ - j0 : LANES;                                            \
            for (long r = 0; r < rows; r++) {                                                                \
                const V out = sums[r] * alpha;                                                               \
                if (count == LANES) *(V *)(s + (i0 + r) * T_ + j0) = out;                                    \
                else memcpy(s + (i0 + r) * T_ + j0, &out, sizeof(T) * count);                               \
            }                                                                                                \
        }                                                                                                    \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
/* out[i, c] = Σ_k p[i, k] z[k, c] over k ≤ i (or, `transposed`, out[i, c] = Σ_k p[k, i] z[k, c] over k ≥ i),  \
 * for i < T_, c < hs: p (T_, T_) zero above its diagonal; z, out rows z_stride, out_stride apart. */         \
FASTNET_TARGET_##L FASTNET_INLINE void fastnet_causal_weighted_rows_##S##_##L(const T *p, const T *z,         \
        long z_stride, T *out, long out_stride, long T_, long hs, int transposed) {                          \
    typedef fastnet_vector_##S##_##L V;                                                                      \
    enum { LANES = FASTNET_LANES(T, L), RB = 8 };                                                            \
    const long vector_hs = hs - hs % LANES;                                                                  \
    for (long i0 = 0; i0 < T_; i0 += RB) {                                                                   \
        const long rows = T_ - i0 < RB ? T_ - i0 : RB;                                                       \
        const long first = transposed ? i0 : 0, stop = transposed ? T_ : i0 + rows;                           \
        long row[RB];                                                                                        \
        _Pragma("GCC unroll 16") for (int r = 0; r < RB; r++) row[r] = i0 + (r < rows ? r : rows - 1);       \
        for (long c = 0; c < vector_hs; c += LANES) {                                                        \
            V sums[RB];                                                                                      \
            _Pragma("GCC unroll 16") for (int r = 0; r < RB; r++) sums[r] = (V){0};                          \
            for (long k = first; k < stop; k++) {                                                            \
                const V values = *(const V *)(z + k * z_stride + c);                                         \
                _Pragma("GCC unroll 16") for (int r = 0; r < RB; r++)                                        \
                    sums[r] += (transposed ? p[k * T_ + row[r]] : p[row[r] * T_ + k]) * values;              \
            }                                                                                                \
            for (long r = 0; r < rows; r++) *(V *)(out + (i0 + r) * out_stride + c) = sums[r];               \
        }                                                                                                    \
        for (long r = 0; r < rows; r++)                                                                      \
            for (long c = vector_hs; c < hs; c++) {                                                          \
                T sum = 0;                                                                                   \
                for (long k = first; k < stop; k++)                                                          \
                    sum += (transposed ? p[k * T_ + row[r]] : p[row[r] * T_ + k]) * z[k * z_stride + c];     \
                out[(i0 + r) * out_stride + c] = sum;                                                        \
            }                                                                                                \
    }                                                                                                        \
}                                                                                                            \
                                                                                                             \
/* out = p z (p's rows), or pᵀ z (`transposed`): fastnet_causal_weighted_rows. */                             \
FASTNET_TARGET_##L static void fastnet_causal_weighted_##S##_##L(const T *p, const T *z, long z_stride,       \
        T *out, long out_stride, long T_, long hs, int transposed) {                                         \
    if (transposed) fastnet_causal_weighted_rows_##S##_##L(p, z, z_stride, out, out_stride, T_, hs, 1);       \
    else fastnet_causal_weighted_rows_##S##_##L(p, z, z_stride, out, out_stride, T_, hs, 0);                 \
}

#define FASTNET_DEFINE_GPT_ROWS(T, S, L)                                                                   \
/* sum_i x[i] * y[i] (fastnet_dot) and sum_i x[i]. */                                                   \
FASTNET_TARGET_##L static T fastnet_sum_##S##_##L(const T *x, long n) {                                           \
    T partial[FASTNET_TILE] = {0};                                                                      \
    long i = 0;                                                                                         \
    for (; i + FASTNET_TILE <= n; i += FASTNET_TILE)                                                    \
        for (int j = 0; j < FASTNET_TILE; j++) partial[j] += x[i + j];                                  \
    T sum = 0;                                                                                          \
    for (; i < n; i++) sum += x[i];                                                                     \
    for (int j = 0; j < FASTNET_TILE; j++) sum += partial[j];                                           \
    return sum;                                                                                         \
}                                                                                                       \
                                                                                                        \
/* y = (x − μ) / √(σ² + ε) · w + b for each of R rows of C values; saves μ and 1/√(σ² + ε). b may be NULL. */ \
FASTNET_TARGET_##L static void fastnet_layernorm_forward_##S##_##L(const T *x, const T *w, const T *b, T *y,      \
                                                         T *mean, T *rstd, long R, long C, T eps) {     \
    for (long r = 0; r < R; r++) {                                                                      \
        const T *xr = x + r * C;                                                                        \
        T *yr = y + r * C;                                                                              \
        const T mu = fastnet_sum_##S##_##L(xr, C) / C;                                                        \
        for (long c = 0; c < C; c++) yr[c] = xr[c] - mu;                                                \
        const T inverse = 1 / fastnet_sqrt_##S(fastnet_dot_##S##_##L(yr, yr, C) / C + eps);                               \
        mean[r] = mu;                                                                                   \
        rstd[r] = inverse;                                                                              \
        for (long c = 0; c < C; c++) yr[c] = yr[c] * inverse * w[c] + (b ? b[c] : 0);                   \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* dx += (1/σ)(g − mean(g) − x̂ mean(g x̂)), g = dy·w;  dw += Σ dy x̂;  db += Σ dy (db may be NULL). */   \
FASTNET_TARGET_##L static void fastnet_layernorm_backward_##S##_##L(const T *dy, const T *x, const T *mean,       \
        const T *rstd, const T *w, T *dw, T *db, T *dx, long R, long C) {                               \
    for (long r = 0; r < R; r++) {                                                                      \
        const T *dyr = dy + r * C, *xr = x + r * C, mu = mean[r], inverse = rstd[r];                    \
        T *dxr = dx + r * C;                                                                            \
        T g_partial[FASTNET_TILE] = {0}, gx_partial[FASTNET_TILE] = {0};                                \
        long c = 0;                                                                                     \
        for (; c + FASTNET_TILE <= C; c += FASTNET_TILE)                                                \
            for (int j = 0; j < FASTNET_TILE; j++) {                                                    \
                const T xhat = (xr[c + j] - mu) * inverse, g = dyr[c + j] * w[c + j];                   \
                g_partial[j] += g;                                                                      \
                gx_partial[j] += g * xhat;                                                              \
                dw[c + j] += dyr[c + j] * xhat;                                                         \
            }                                                                                           \
        T g_mean = 0, gx_mean = 0;                                                                      \
        for (; c < C; c++) {                                                                            \
            const T xhat = (xr[c] - mu) * inverse, g = dyr[c] * w[c];                                   \
            g_mean += g;                                                                                \
            gx_mean += g * xhat;                                                                        \
            dw[c] += dyr[c] * xhat;                                                                     \
        }                                                                                               \
        for (int j = 0; j < FASTNET_TILE; j++) {                                                        \
            g_mean += g_partial[j];                                                                     \
            gx_mean += gx_partial[j];                                                                   \
        }                                                                                               \
        g_mean /= C;                                                                                    \
        gx_mean /= C;                                                                                   \
        for (long c = 0; c < C; c++)                                                                    \
            dxr[c] += inverse * (dyr[c] * w[c] - g_mean - (xr[c] - mu) * inverse * gx_mean);            \
        if (db)                                                                                         \
            for (long c = 0; c < C; c++) db[c] += dyr[c];                                               \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* g ← u Φ(u) in place; when training, derivative = Φ(u) + u φ(u) (all GELU's backward needs). */       \
FASTNET_TARGET_##L FASTNET_FINITE static void fastnet_gelu_forward_##S##_##L(T *g, T *derivative, long n,         \
                                                                   int training) {                     \
    if (training) {                                                                                     \
        for (long i = 0; i < n; i++) {                                                                  \
            const T u = g[i], cdf = fastnet_normal_cdf_##S(u);                                          \
            g[i] = u * cdf;                                                                             \
            derivative[i] = cdf + u * fastnet_normal_pdf_##S(u);                                        \
        }                                                                                               \
    } else {                                                                                            \
        for (long i = 0; i < n; i++) g[i] *= fastnet_normal_cdf_##S(g[i]);                              \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* GPT-2's GELU: g ← u s(u), s = ½ (1 + tanh(z)) = 1 / (1 + e^(−2z)), z = √(2/π) (u + 0.044715 u³), from     \
   e^(−2|z|); when training, derivative = s + u · 2 s (1 − s) √(2/π) (1 + 3 · 0.044715 u²). */                 \
FASTNET_TARGET_##L FASTNET_FINITE static void fastnet_gelu_tanh_forward_##S##_##L(T *g, T *derivative, long n,    \
                                                                        int training) {                \
    const T k = (T)0.7978845608028654, cubic = (T)0.044715, one = 1;                                    \
    for (long i = 0; i < n; i++) {                                                                      \
        const T u = g[i], z = k * (u + cubic * u * u * u);                                              \
        const T e = fastnet_exp_negative_##S(-2 * (z < 0 ? -z : z));                                    \
        const T s = z >= 0 ? one / (one + e) : e / (one + e);                                           \
        g[i] = u * s;                                                                                   \
        if (training) derivative[i] = s + u * (2 * s * (one - s)) * k * (one + 3 * cubic * u * u);      \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* x[i] *= y[i]. */                                                                                     \
FASTNET_TARGET_##L static void fastnet_multiply_##S##_##L(T *restrict x, const T *restrict y, long n) {           \
    for (long i = 0; i < n; i++) x[i] *= y[i];                                                          \
}                                                                                                       \
                                                                                                        \
/* Each row i of one head's T x T scores (row stride `stride`): softmax over j ≤ i, 0 for j > i. */      \
FASTNET_TARGET_##L FASTNET_FINITE static void fastnet_masked_softmax_##S##_##L(T *att, long T_, long stride) {    \
    for (long i = 0; i < T_; i++) {                                                                     \
        T *row = att + i * stride;                                                                      \
        T top = row[0];                                                                                 \
        for (long j = 1; j <= i; j++) top = row[j] > top ? row[j] : top;                                \
        for (long j = 0; j <= i; j++) row[j] = fastnet_exp_negative_##S(row[j] - top);                  \
        const T scale = 1 / fastnet_sum_##S##_##L(row, i + 1);                                                \
        for (long j = 0; j <= i; j++) row[j] *= scale;                                                  \
        for (long j = i + 1; j < T_; j++) row[j] = 0;                                                   \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* datt ← att ⊙ (datt − Σ_j datt ⊙ att) · scale over each row's j ≤ i, 0 above: the scores' gradient. */ \
FASTNET_TARGET_##L static void fastnet_softmax_backward_##S##_##L(T *datt, const T *att, long T_, T scale) {       \
    for (long i = 0; i < T_; i++) {                                                                     \
        T *d = datt + i * T_;                                                                           \
        const T *a = att + i * T_;                                                                      \
        const T weighted = fastnet_dot_##S##_##L(d, a, i + 1);                                                \
        for (long j = 0; j <= i; j++) d[j] = a[j] * (d[j] - weighted) * scale;                          \
        for (long j = i + 1; j < T_; j++) d[j] = 0;                                                     \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* The mean over R rows of −ln softmax(logits)[target], in double; when gradient, logits (R, V)         \
 * become (softmax − onehot(target)) / R in the same pass. */                                           \
FASTNET_TARGET_##L FASTNET_FINITE static double fastnet_cross_entropy_##S##_##L(T *logits, const int64_t *targets, \
                                                                     long R, long V, int gradient) {   \
    double total_loss = 0;                                                                              \
    for (long r = 0; r < R; r++) {                                                                      \
        T *row = logits + r * V;                                                                        \
        T top = row[0];                                                                                 \
        for (long j = 1; j < V; j++) top = row[j] > top ? row[j] : top;                                 \
        const T target_logit = row[targets[r]];                                                         \
        for (long j = 0; j < V; j++) row[j] = fastnet_exp_negative_##S(row[j] - top);                   \
        const double total = fastnet_sum_##S##_##L(row, V);                                                   \
        total_loss += log(total) - (double)(target_logit - top);                                        \
        if (gradient) {                                                                                 \
            const T scale = (T)(1 / (total * R));                                                       \
            for (long j = 0; j < V; j++) row[j] *= scale;                                               \
            row[targets[r]] -= (T)1 / R;                                                                \
        }                                                                                               \
    }                                                                                                   \
    return total_loss / R;                                                                              \
}                                                                                                       \
                                                                                                        \
/* One AdamW step after clipping by `scale`, over n values, in T (as the reference's arrays). */        \
FASTNET_TARGET_##L static void fastnet_adamw_##S##_##L(T *restrict params, T *restrict grad, T *restrict m,       \
        T *restrict v, const T *restrict decay_mask, long n, T scale, T decay, T beta1, T beta2,        \
        T step_size, T root_correction, T eps) {                                                        \
    for (long i = 0; i < n; i++) {                                                                      \
        const T g = grad[i] * scale;                                                                    \
        grad[i] = g;                                                                                    \
        m[i] = beta1 * m[i] + (1 - beta1) * g;                                                          \
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;                                                      \
        params[i] = params[i] * (1 - decay * decay_mask[i]) - step_size * m[i] / (fastnet_sqrt_##S(v[i]) / root_correction + eps); \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* One head of one new position: out (hs) = Σ_j softmax_j(q·keys[j] · scale) values[j] over the n       \
 * cached positions (rows of hs values); scores (n) is scratch. */                                      \
FASTNET_TARGET_##L FASTNET_FINITE static void fastnet_decode_head_##S##_##L(const T *q, const T *keys,            \
        const T *values, long n, long hs, T scale, T *scores, T *out) {                                 \
    enum { LANES = FASTNET_LANES(T, L) };                                                               \
    fastnet_linear_rows_##S##_##L(q, keys, scores, 1, hs, n, 0, 0);                                       \
    T top = -INFINITY;                                                                                  \
    for (long j = 0; j < n; j++) {                                                                      \
        scores[j] *= scale;                                                                             \
        top = scores[j] > top ? scores[j] : top;                                                        \
    }                                                                                                   \
    for (long j = 0; j < n; j++) scores[j] = fastnet_exp_negative_##S(scores[j] - top);                 \
    const T inverse = 1 / fastnet_sum_##S##_##L(scores, n);                                                   \
    for (long j = 0; j < n; j++) scores[j] *= inverse;                                                  \
    long d = 0;                                                                                         \
    for (; d + LANES <= hs; d += LANES) { /* a vector of out in a register across the positions */      \
        fastnet_vector_##S##_##L sum = {0};                                                             \
        for (long j = 0; j < n; j++) sum += scores[j] * *(const fastnet_vector_##S##_##L *)(values + j * hs + d); \
        *(fastnet_vector_##S##_##L *)(out + d) = sum;                                                   \
    }                                                                                                   \
    for (; d < hs; d++) {                                                                               \
        T sum = 0;                                                                                      \
        for (long j = 0; j < n; j++) sum += scores[j] * values[j * hs + d];                             \
        out[d] = sum;                                                                                   \
    }                                                                                                   \
}

FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_LINEAR_ROWS, float, f)
FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_LINEAR_ROWS, double, d)
FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_CAUSAL_PRODUCTS, float, f)
FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_CAUSAL_PRODUCTS, double, d)
FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_GPT_ROWS, float, f)
FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_GPT_ROWS, double, d)

#define FASTNET_GPT_ROWS(X) X(layernorm_forward_f) X(layernorm_forward_d) X(layernorm_backward_f)          \
    X(layernorm_backward_d) X(gelu_forward_f) X(gelu_forward_d) X(gelu_tanh_forward_f) X(gelu_tanh_forward_d) \
    X(multiply_f) X(multiply_d) \
    X(masked_softmax_f) X(masked_softmax_d) X(softmax_backward_f) X(softmax_backward_d) X(cross_entropy_f) \
    X(cross_entropy_d) X(adamw_f) X(adamw_d) X(decode_head_f) X(decode_head_d) \
    X(linear_rows_f) X(linear_rows_d) X(tile_rows_f) X(tile_rows_d) X(causal_scores_f) X(causal_scores_d) \
    X(causal_weighted_f) X(causal_weighted_d)
FASTNET_GPT_ROWS(FASTNET_POINTER)

/* Point every GPT row function, and the row functions it shares with the MLP, at their code for `level`. */
static void fastnet_use_gpt_rows_level(int level) {
    FASTNET_GPT_ROWS(FASTNET_POINT_AT_LEVEL)
    fastnet_use_rows_level(level);
}

static int fastnet_gpt_rows_level(void) { return FASTNET_LEVEL_OF(fastnet_layernorm_forward_f); }
#define fastnet_use_level fastnet_use_gpt_rows_level
#define fastnet_level_in_use fastnet_gpt_rows_level

#endif
