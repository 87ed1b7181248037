/* Row operations of the Cython backend (fastnet/backends/_mlp_kernels.pyx).
 *
 * The same primitives as the Numba backend (see numba/mlp_kernels.py for the
 * packed layout): rows of `width` values, `width` a multiple of 16. A tile of
 * 16 values is a GCC vector type (fastnet_tile_f/_d), always kept in vector
 * registers (a plain `T t[16]` array was split into 16 scalars when it had
 * to live across a loop: the update ran 2x slower). Each function is
 * compiled once per CPU level (baseline x86-64, AVX2 with FMA, AVX-512) and
 * the level is chosen when the module loads (below), so a portable -O3 build
 * still uses AVX-512 or AVX2 with FMA where present.
 */
#ifndef FASTNET_CYTHON_ROWS_H
#define FASTNET_CYTHON_ROWS_H

#include <stdint.h>
#include <string.h>

/* CPU levels. Every row function is compiled once per level the compiler can target (the names end in
 * _baseline, _avx2, _avx512) and the kernels call it through a pointer (fastnet_NAME) set once, when the
 * extension is imported, to the level the CPU supports or the one FASTNET_CPU_LEVEL asks for
 * (fastnet/backends/cython/cpu_levels.py). Other CPUs and compilers build the baseline alone. */
#define FASTNET_BASELINE 0
#define FASTNET_AVX2 1
#define FASTNET_AVX512 2
#define FASTNET_TARGET_baseline
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(FASTNET_BASELINE_ONLY)
#define FASTNET_TARGET_avx2 __attribute__((target("avx2,fma")))
#define FASTNET_TARGET_avx512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define FASTNET_FOR_EACH_LEVEL(DEFINE, T, S) DEFINE(T, S, baseline) DEFINE(T, S, avx2) DEFINE(T, S, avx512)
#define FASTNET_AT_LEVEL(name, level) \
    ((level) == FASTNET_AVX512 ? name##_avx512 : (level) == FASTNET_AVX2 ? name##_avx2 : name##_baseline)

/* The highest level this CPU (and its operating system, which must save the wider registers) runs. */
static int fastnet_cpu_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return FASTNET_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return FASTNET_AVX2;
    return FASTNET_BASELINE;
}
#else
#define FASTNET_FOR_EACH_LEVEL(DEFINE, T, S) DEFINE(T, S, baseline)
#define FASTNET_AT_LEVEL(name, level) name##_baseline
static int fastnet_cpu_level(void) { return FASTNET_BASELINE; }
#endif

/* fastnet_NAME: a pointer to NAME's code at the level in use (declared per function by FASTNET_POINTER). */
#define FASTNET_POINTER(name) static __typeof__(fastnet_##name##_baseline) *fastnet_##name = fastnet_##name##_baseline;
#define FASTNET_POINT_AT_LEVEL(name) fastnet_##name = FASTNET_AT_LEVEL(fastnet_##name, level);

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
/* Flush denormals to zero while a kernel runs (FTZ and DAZ); returns the previous mode. */
static inline unsigned int fastnet_flush_denormals(void) {
    unsigned int previous = _mm_getcsr();
    _mm_setcsr(previous | 0x8040);
    return previous;
}
static inline void fastnet_restore_mxcsr(unsigned int previous) { _mm_setcsr(previous); }
#else
static inline unsigned int fastnet_flush_denormals(void) { return 0; }
static inline void fastnet_restore_mxcsr(unsigned int previous) { (void)previous; }
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define FASTNET_FINITE __attribute__((optimize("no-trapping-math"))) /* not finite-math-only: NaN must stay NaN */
#else
#define FASTNET_FINITE
#endif

#define FASTNET_TILE 16
#define FASTNET_HELD_DELTA_MAX_WIDTH 32 /* update_rows: see numba.mlp_kernels.HELD_DELTA_MAX_WIDTH */

/* exp(x) for x <= 0, as 2^k p(r): the Numba backend's formula (see there). Always inlined, so that
 * it is compiled (and vectorised) for the instruction set of the level that calls it. */
#define FASTNET_INLINE static inline __attribute__((always_inline))

FASTNET_INLINE float fastnet_exp_negative_f(float x) {
    const float keep = x < -87.0f ? 0.0f : 1.0f; /* exp(x) below e^-87 is 0, as NumPy's after flushing */
    x = x < -87.0f ? -87.0f : x; /* not fmaxf, which would turn NaN into -87: NaN must stay NaN */
    float k = __builtin_floorf(x * 1.4426950408889634f + 0.5f);
    float r = x - k * 0.693359375f - k * -2.12194440e-4f;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120; p = p * r + 1.0f / 24; p = p * r + 1.0f / 6;
    p = p * r + 0.5f; p = p * r + 1.0f; p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale * keep;
}

FASTNET_INLINE double fastnet_exp_negative_d(double x) {
    const double keep = x < -708.0 ? 0.0 : 1.0;
    x = x < -708.0 ? -708.0 : x; /* not fmax: NaN must stay NaN */
    double k = __builtin_floor(x * 1.4426950408889634 + 0.5);
    double r = x - k * 6.93147180369123816490e-01 - k * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600;
    p = p * r + 1.0 / 39916800; p = p * r + 1.0 / 3628800; p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320; p = p * r + 1.0 / 5040; p = p * r + 1.0 / 720; p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24; p = p * r + 1.0 / 6; p = p * r + 0.5; p = p * r + 1.0; p = p * r + 1.0;
    int64_t bits = ((int64_t)k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale * keep;
}

/* Φ(z) = ½ erfc(−z/√2) without library calls, so that loops of it vectorise: the Numba backend's
 * formula and coefficients (numba.mlp_math.normal_cdf; fitted by scripts/erfc_chebyshev.py). */
FASTNET_INLINE float fastnet_normal_cdf_f(float z) {
    const float a = __builtin_fabsf(z) * 0.70710678118654752f, t = 2.0f / (2.0f + a), y = t + t - 1.0f;
    const float g = -0.6717940927758052f + y * (0.6726432124855567f + y * (0.04734394039462335f + y * (
        -0.04689478101521983f + y * (-0.009880431637618354f + y * (0.00881515695685549f + y * (
        0.0017952014938591352f + y * (-0.002303143466934972f + y * (-0.000229192260173042f + y * (
        0.0005880716902098813f + y * (8.508316676370865e-06f + y * -9.24645784681023e-05f))))))))));
    const float half_erfc = 0.5f * t * fastnet_exp_negative_f(g - a * a);
    return z < 0 ? half_erfc : 1.0f - half_erfc;
}

FASTNET_INLINE double fastnet_normal_cdf_d(double z) {
    const double a = __builtin_fabs(z) * 0.70710678118654752, t = 2.0 / (2.0 + a), y = t + t - 1.0;
    const double g = -0.6717940840566877 + y * (0.6726432239776565 + y * (0.04734330684100078 + y * (
        -0.046895610233416894 + y * (-0.009872689329804351 + y * (0.008824938667719155 + y * (
        0.0017589329425591763 + y * (-0.002345814377652027 + y * (-0.0001462413246269796 + y * (
        0.0006736944973976685 + y * (-9.376522586256286e-05 + y * (-0.0001743781746852621 + y * (
        7.150769608403353e-05 + y * (3.196724637890078e-05 + y * (-3.0441368155070098e-05 + y * (
        -2.786294022563846e-07 + y * (8.973987010007003e-06 + y * (-2.4546622213517246e-06 + y * (
        -1.7267359752625386e-06 + y * (9.002663336388201e-07 + y * (1.648321368425596e-07 + y * (
        -1.2683580206145407e-07)))))))))))))))))))));
    const double half_erfc = 0.5 * t * fastnet_exp_negative_d(g - a * a);
    return z < 0 ? half_erfc : 1.0 - half_erfc;
}

/* φ(z) = e^(−z²/2) / √(2π). */
FASTNET_INLINE float fastnet_normal_pdf_f(float z) { return fastnet_exp_negative_f(-0.5f * z * z) * 0.3989422804014327f; }
FASTNET_INLINE double fastnet_normal_pdf_d(double z) { return fastnet_exp_negative_d(-0.5 * z * z) * 0.3989422804014327; }

/* Start loading the CSR row of `example` (one hint per 64-byte line of its indices and values), into L2 (locality
 * 2): hints into L1 (locality 3) made the epoch 3-5% slower (BENCHMARKS.md, "The MLP epoch under 25 ms"). */
static inline void fastnet_prefetch_csr_row(const int64_t *indptr, const uint16_t *indices, const void *values,
                                            size_t value_size, long example) {
    const long start = indptr[example], stop = indptr[example + 1];
    for (long p = start; p < stop; p += 64 / sizeof *indices) __builtin_prefetch(indices + p, 0, 2);
    for (long p = start; p < stop; p += 64 / value_size)
        __builtin_prefetch((const char *)values + p * value_size, 0, 2);
}

/* The vector of the level: as wide as its registers (16, 32 or 64 bytes). A tile of FASTNET_TILE values is
 * FASTNET_VECTORS(T, L) of them, held in registers: one wider than the registers (a 64-byte vector under AVX2)
 * went through the stack on every step and ran 3x slower. may_alias and element alignment: it may be read from
 * any T array. */
#define FASTNET_VECTOR_BYTES_baseline 16
#define FASTNET_VECTOR_BYTES_avx2 32
#define FASTNET_VECTOR_BYTES_avx512 64
#define FASTNET_VECTORS(T, L) (FASTNET_TILE * (int)sizeof(T) / FASTNET_VECTOR_BYTES_##L)
#define FASTNET_LANES(T, L) (FASTNET_VECTOR_BYTES_##L / (int)sizeof(T))
#define FASTNET_UNROLLED _Pragma("GCC unroll 8")

/* The row functions that read rows by number, rows[p] of type R: int32_t (no suffix I), or the uint16_t column
 * numbers of prepared CSR inputs (I = _u16), read as they are stored. SKIP_ZEROS: whether updates skip a zero
 * values[p] (a speed-up for dense rows). A prepared CSR row holds nonzeros only, but for float64 values that
 * underflowed to 0 in float32, which add 0 times delta, as the NumPy reference does: no test. */
#define FASTNET_DEFINE_ROW_READS(T, S, L, R, I, SKIP_ZEROS)                                                          \
/* out[0:width] = bias[0:width] + sum_p values[p] * w[rows[p] * width : +width]   (z = W a + b);                     \
 * two running sums per vector of the tile (even and odd p), added at the end. */                                    \
FASTNET_TARGET_##L static void fastnet_accumulate_rows##I##_##S##_##L(                                               \
        const T *restrict w, long width, const T *restrict bias, const R *restrict rows,                             \
        const T *restrict values, long count, T *restrict out) {                                                     \
    typedef fastnet_vector_##S##_##L V;                                                                              \
    enum { N = FASTNET_VECTORS(T, L), LANES = FASTNET_LANES(T, L) };                                                 \
    for (long jb = 0; jb < width; jb += FASTNET_TILE) {                                                              \
        V a[N], b[N];                                                                                                \
        FASTNET_UNROLLED for (int k = 0; k < N; k++) {                                                               \
            a[k] = *(const V *)(bias + jb + k * LANES);                                                              \
            b[k] = (V){0};                                                                                           \
        }                                                                                                            \
        long p = 0;                                                                                                  \
        for (; p + 2 <= count; p += 2) {                                                                             \
            const T *even = w + (long)rows[p] * width + jb, *odd = w + (long)rows[p + 1] * width + jb;               \
            FASTNET_UNROLLED for (int k = 0; k < N; k++) {                                                           \
                a[k] += values[p] * *(const V *)(even + k * LANES);                                                  \
                b[k] += values[p + 1] * *(const V *)(odd + k * LANES);                                               \
            }                                                                                                        \
        }                                                                                                            \
        if (p < count) {                                                                                             \
            const T *last = w + (long)rows[p] * width + jb;                                                          \
            FASTNET_UNROLLED for (int k = 0; k < N; k++) a[k] += values[p] * *(const V *)(last + k * LANES);         \
        }                                                                                                            \
        FASTNET_UNROLLED for (int k = 0; k < N; k++) *(V *)(out + jb + k * LANES) = a[k] + b[k];                     \
    }                                                                                                                \
}                                                                                                                    \
                                                                                                                     \
/* w[rows[p] * width : +width] += values[p] * delta[0:width] for p < count   (W += delta a^T).                       \
 * Narrow rows: a tile of delta stays in registers while it is added to every row; wide ones are                     \
 * streamed once each, whole. */                                                                                     \
FASTNET_TARGET_##L static void fastnet_update_rows##I##_##S##_##L(                                                   \
        T *restrict w, long width, const R *restrict rows, const T *restrict values, long count,                     \
        const T *restrict delta) {                                                                                   \
    typedef fastnet_vector_##S##_##L V;                                                                              \
    enum { N = FASTNET_VECTORS(T, L), LANES = FASTNET_LANES(T, L) };                                                 \
    if (width <= FASTNET_HELD_DELTA_MAX_WIDTH) {                                                                     \
        for (long jb = 0; jb < width; jb += FASTNET_TILE) {                                                          \
            V d[N];                                                                                                  \
            FASTNET_UNROLLED for (int k = 0; k < N; k++) d[k] = *(const V *)(delta + jb + k * LANES);                \
            for (long p = 0; p < count; p++)                                                                         \
                if (!SKIP_ZEROS || values[p] != 0) {                                                                 \
                    T *row = w + (long)rows[p] * width + jb;                                                         \
                    FASTNET_UNROLLED for (int k = 0; k < N; k++) *(V *)(row + k * LANES) += values[p] * d[k];        \
                }                                                                                                    \
        }                                                                                                            \
        return;                                                                                                      \
    }                                                                                                                \
    for (long p = 0; p < count; p++) {                                                                               \
        const T v = values[p];                                                                                       \
        if (SKIP_ZEROS && v == 0) continue;                                                                          \
        T *row = w + (long)rows[p] * width;                                                                          \
        for (long j = 0; j < width; j += LANES)                                                                      \
            *(V *)(row + j) += v * *(const V *)(delta + j);                                                          \
    }                                                                                                                \
}

/* The row functions of type T (suffix S) at level L. */
#define FASTNET_DEFINE_ROWS(T, S, L)                                                                             \
typedef T fastnet_vector_##S##_##L                                                                               \
    __attribute__((vector_size(FASTNET_VECTOR_BYTES_##L), aligned(sizeof(T)), may_alias));                       \
                                                                                                                 \
FASTNET_DEFINE_ROW_READS(T, S, L, int32_t, , 1)                                                                   \
FASTNET_DEFINE_ROW_READS(T, S, L, uint16_t, _u16, 0)                                                              \
                                                                                                                 \
/* w[i * width : +width] += sum_e values[e * value_stride + i] * delta[e * delta_stride : +width] for i < count,   \
 * e = 0, 1, ..., examples - 1 in turn, zero values skipped: the products update_rows would add example by       \
 * example, in the same order, but each row tile held in registers across the examples (W += Σ_e δ_e a_eᵀ).      \
 * value_stride 0 repeats values[i] for every example (a bias: values[0] = 1). */                                \
FASTNET_TARGET_##L static void fastnet_update_rows_by_batch_##S##_##L(                                           \
        T *restrict w, long width, long count, const T *restrict values, long value_stride,                      \
        const T *restrict delta, long delta_stride, long examples) {                                             \
    typedef fastnet_vector_##S##_##L V;                                                                          \
    enum { N = FASTNET_VECTORS(T, L), LANES = FASTNET_LANES(T, L) };                                             \
    for (long i = 0; i < count; i++)                                                                             \
        for (long jb = 0; jb < width; jb += FASTNET_TILE) {                                                      \
            T *row = w + i * width + jb;                                                                         \
            V r[N];                                                                                              \
            FASTNET_UNROLLED for (int k = 0; k < N; k++) r[k] = *(const V *)(row + k * LANES);                   \
            for (long e = 0; e < examples; e++) {                                                                \
                const T v = values[e * value_stride + i];                                                        \
                if (v == 0) continue;                                                                            \
                const T *d = delta + e * delta_stride + jb;                                                      \
                FASTNET_UNROLLED for (int k = 0; k < N; k++) r[k] += v * *(const V *)(d + k * LANES);            \
            }                                                                                                    \
            FASTNET_UNROLLED for (int k = 0; k < N; k++) *(V *)(row + k * LANES) = r[k];                         \
        }                                                                                                        \
}                                                                                                                \
                                                                                                                 \
/* sum_i a[i] * b[i], in FASTNET_TILE partial sums (a fixed summation order that vectorises). */       \
FASTNET_TARGET_##L static T fastnet_dot_##S##_##L(const T *a, const T *b, long n) {                              \
    T partial[FASTNET_TILE] = {0};                                                                      \
    long i = 0;                                                                                         \
    for (; i + FASTNET_TILE <= n; i += FASTNET_TILE)                                                    \
        for (int j = 0; j < FASTNET_TILE; j++) partial[j] += a[i + j] * b[i + j];                      \
    T sum = 0;                                                                                          \
    for (; i < n; i++) sum += a[i] * b[i];                                                              \
    for (int j = 0; j < FASTNET_TILE; j++) sum += partial[j];                                           \
    return sum;                                                                                         \
}                                                                                                       \
                                                                                                        \
/* x[0:width] = sigmoid(x[0:width]), branch-free. GCC vectorises it only when comparisons may not trap: \
 * allowed here alone (FASTNET_FINITE); NaN still propagates (sigmoid(NaN) = NaN, as in the other      \
 * backends): the clamp in the exp is a comparison, not fmax. */                                        \
FASTNET_TARGET_##L FASTNET_FINITE static void fastnet_sigmoid_tiles_##S##_##L(T *x, long width) {                 \
    for (long j = 0; j < width; j++) {                                                                  \
        const T z = x[j];                                                                               \
        const T e = fastnet_exp_negative_##S(-__builtin_fabs(z));                                       \
        const T positive = (T)(z >= 0); /* branch-free select: 1 for z >= 0, e otherwise */            \
        x[j] = (positive + ((T)1 - positive) * e) / ((T)1 + e);                                         \
    }                                                                                                   \
}

FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_ROWS, float, f)
FASTNET_FOR_EACH_LEVEL(FASTNET_DEFINE_ROWS, double, d)

#define FASTNET_ROWS(X) X(accumulate_rows_f) X(accumulate_rows_d) X(update_rows_f) X(update_rows_d) \
    X(accumulate_rows_u16_f) X(accumulate_rows_u16_d) X(update_rows_u16_f) X(update_rows_u16_d) \
    X(update_rows_by_batch_f) X(update_rows_by_batch_d) X(dot_f) X(dot_d) X(sigmoid_tiles_f) X(sigmoid_tiles_d)
FASTNET_ROWS(FASTNET_POINTER)

/* Point every row function at its code for `level` (one of FASTNET_BASELINE..FASTNET_AVX512). */
static void fastnet_use_rows_level(int level) { FASTNET_ROWS(FASTNET_POINT_AT_LEVEL) }

/* The level `pointer` (one row function's) points at, read back from the pointer itself. */
#define FASTNET_LEVEL_OF(pointer) \
    ((pointer) == FASTNET_AT_LEVEL(pointer, FASTNET_AVX512) ? FASTNET_AVX512 \
     : (pointer) == FASTNET_AT_LEVEL(pointer, FASTNET_AVX2) ? FASTNET_AVX2 : FASTNET_BASELINE)
static int fastnet_rows_level(void) { return FASTNET_LEVEL_OF(fastnet_accumulate_rows_f); }

/* What _levels.pxi calls: the whole extension's level. The MLP's extension has these row functions alone;
 * gpt_rows.h (which defines FASTNET_GPT_ROWS_LEVELS first) names its own, which cover these too. */
#ifndef FASTNET_GPT_ROWS_LEVELS
#define fastnet_use_level fastnet_use_rows_level
#define fastnet_level_in_use fastnet_rows_level
#endif

#endif
