/* The first layer's floor: only the work of the MLP epoch's first layer, in C, for BENCHMARKS.md ("The MLP
 * epoch a layer at a time"). For each of 50,000 examples of 150 random nonzero pixels (sorted columns, as
 * CSR rows): z = Σ_p v_p W[col_p] (16 floats a row) and W[col_p] += v_p δ, the rows visited in a random
 * order, the CSR row 4 examples ahead prefetched, the arrays on huge pages where Linux allows.
 *
 *     gcc -O3 -o /tmp/first_layer_floor scripts/first_layer_floor.c && /tmp/first_layer_floor
 *     gcc -O3 -DINDEX=int32_t -o /tmp/first_layer_floor scripts/first_layer_floor.c && /tmp/first_layer_floor
 *
 * prints the best of 5 passes, in random and in sequential order. x86-64 with AVX-512 (F, VL, BW, DQ) only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#ifndef INDEX
#define INDEX uint16_t
#endif
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"), noinline))

enum { EXAMPLES = 50000, NONZEROS = 150, INPUTS = 784, AHEAD = 4 };
typedef float V __attribute__((vector_size(64), aligned(4), may_alias));

AVX512 static void row_sums(const float *w, const INDEX *rows, const float *values, float *out) {
    V a = {0}, b = {0};
    for (int p = 0; p < NONZEROS; p += 2) {
        a += values[p] * *(const V *)(w + rows[p] * 16);
        b += values[p + 1] * *(const V *)(w + rows[p + 1] * 16);
    }
    *(V *)out = a + b;
}

AVX512 static void row_updates(float *w, const INDEX *rows, const float *values, const float *delta) {
    const V d = *(const V *)delta;
    for (int p = 0; p < NONZEROS; p++) *(V *)(w + rows[p] * 16) += values[p] * d;
}

static void *huge(size_t bytes) {
    const size_t page = 2 << 20, size = (bytes + page - 1) / page * page;
    void *memory = aligned_alloc(page, size);
    madvise(memory, size, MADV_HUGEPAGE);
    return memory;
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(void) {
    const long total = (long)EXAMPLES * NONZEROS;
    INDEX *columns = huge(total * sizeof *columns);
    float *values = huge(total * sizeof *values), *w = huge(INPUTS * 16 * sizeof *w);
    int *order = malloc(EXAMPLES * sizeof *order);
    srand(0);
    for (long e = 0; e < EXAMPLES; e++) {  /* 150 distinct columns among the middle 584, rising */
        char taken[INPUTS] = {0};
        for (int p = 0; p < NONZEROS;) {
            int column = 100 + rand() % 584;
            if (!taken[column]) taken[column] = 1, p++;
        }
        for (int column = 0, p = 0; column < INPUTS; column++)
            if (taken[column]) columns[e * NONZEROS + p] = column, values[e * NONZEROS + p++] = (rand() % 255) / 255.f;
    }
    for (int i = 0; i < INPUTS * 16; i++) w[i] = 0.01f * (i % 7);
    for (int k = 0; k < EXAMPLES; k++) order[k] = k;
    float out[16] __attribute__((aligned(64))), delta[16] __attribute__((aligned(64))) = {1e-6f}, check = 0;
    for (int random = 1; random >= 0; random--) {
        for (int k = EXAMPLES - 1; random && k > 0; k--) {
            int j = rand() % (k + 1), t = order[k];
            order[k] = order[j], order[j] = t;
        }
        double best = 1e9;
        for (int pass = 0; pass < 5; pass++) {
            const double start = seconds();
            for (int k = 0; k < EXAMPLES; k++) {
                if (k + AHEAD < EXAMPLES) {
                    const long ahead = (long)order[k + AHEAD] * NONZEROS;
                    for (int p = 0; p < NONZEROS; p += 64 / sizeof *columns) __builtin_prefetch(columns + ahead + p);
                    for (int p = 0; p < NONZEROS; p += 16) __builtin_prefetch(values + ahead + p);
                }
                const long e = (long)order[k] * NONZEROS;
                row_sums(w, columns + e, values + e, out);
                check += out[0];
                row_updates(w, columns + e, values + e, delta);
            }
            const double elapsed = seconds() - start;
            best = elapsed < best ? elapsed : best;
        }
        printf("%s order, %zu-byte columns: %.1f ms a pass (best of 5)\n", random ? "random" : "sequential",
               sizeof *columns, 1e3 * best);
        for (int k = 0; k < EXAMPLES; k++) order[k] = k;
    }
    return check != check;  /* uses the sums, so that they are computed */
}
