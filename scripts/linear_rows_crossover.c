/* Where a linear layer's few rows stop paying: gpt_rows.h's fastnet_linear_rows against the BLAS that SciPy
 * ships (OpenBLAS), on the products of one decode step of nanoGPT's CPU configuration (4 layers of
 * 128 -> 384, 128 -> 128, 128 -> 512, 512 -> 128, then 128 -> 65: 3.2 MB of float32 weights), for R rows of
 * inputs at once, on the weights as they are and on fastnet_tile_rows' copy of them (where the shape allows:
 * all but the last); the three alternate, best of many passes each. For LINEAR_ROWS_MAX in _gpt_kernels.pyx
 * and BENCHMARKS.md ("Generation's products without BLAS", "One sequence's weights in the order its products
 * read them").
 *
 *     BLAS=$(python -c "import glob, os, scipy; print(glob.glob(os.path.dirname(scipy.__file__) + '.libs/libscipy_openblas*.so')[0])")
 *     gcc -O3 -fno-math-errno -I fastnet/backends/cython -o /tmp/linear_rows_crossover \
 *         scripts/linear_rows_crossover.c "$BLAS" -Wl,-rpath,"$(dirname "$BLAS")" -lm
 *     OPENBLAS_NUM_THREADS=1 /tmp/linear_rows_crossover
 *
 * prints, for each R, the microseconds of each and the ratios to BLAS, at the best CPU level this machine runs, or at
 * FASTNET_CPU_LEVEL (baseline, avx2); OPENBLAS_CORETYPE=Haswell or Nehalem gives OpenBLAS's kernels for those. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpt_rows.h"

/* SciPy's OpenBLAS names its Fortran symbols with a scipy_ prefix. */
extern void scipy_sgemm_(const char *, const char *, const int *, const int *, const int *, const float *,
                         const float *, const int *, const float *, const int *, const float *, float *, const int *);

enum { MATRICES = 17, MAX_ROWS = 256, WIDEST = 512 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* y (R, n_out) = x (R, n_in) Wᵀ, W (n_out, n_in) row-major: column-major yᵀ = W xᵀ. */
static void blas(const float *x, const float *w, float *y, int R, int n_in, int n_out) {
    const float one = 1, zero = 0;
    scipy_sgemm_("T", "N", &n_out, &R, &n_in, &one, w, &n_in, x, &n_in, &zero, y, &n_out);
}

int main(void) {
    static const int shapes[5][2] = {{384, 128}, {128, 128}, {512, 128}, {128, 512}, {65, 128}};
    int n_out[MATRICES], n_in[MATRICES];
    float *w[MATRICES], *tiled[MATRICES];
    int is_tiled[MATRICES];
    for (int m = 0; m < MATRICES; m++) {
        const int *shape = shapes[m == MATRICES - 1 ? 4 : m % 4];
        n_out[m] = shape[0];
        n_in[m] = shape[1];
        w[m] = malloc(sizeof(float) * n_out[m] * n_in[m]);
        for (int i = 0; i < n_out[m] * n_in[m]; i++) w[m][i] = (rand() % 2001 - 1000) * 1e-4f;
        tiled[m] = malloc(sizeof(float) * n_out[m] * n_in[m]);
    }
    static float x[MAX_ROWS * WIDEST], y[MAX_ROWS * WIDEST];
    for (int i = 0; i < MAX_ROWS * WIDEST; i++) x[i] = (rand() % 2001 - 1000) * 1e-3f;
    const char *forced = getenv("FASTNET_CPU_LEVEL");
    const int level = !forced || !*forced ? fastnet_cpu_level() : !strcmp(forced, "baseline") ? FASTNET_BASELINE
                      : !strcmp(forced, "avx2") ? FASTNET_AVX2 : FASTNET_AVX512;
    if (level > fastnet_cpu_level()) return fprintf(stderr, "this CPU does not run %s\n", forced), 1;
    void (*rows)(const float *, const float *, float *, long, long, long, int, int) = FASTNET_AT_LEVEL(
        fastnet_linear_rows_f, level);
    for (int m = 0; m < MATRICES; m++)
        is_tiled[m] = FASTNET_AT_LEVEL(fastnet_tile_rows_f, level)(w[m], tiled[m], n_out[m], n_in[m]);
    printf("level %d; rows  fastnet_linear_rows (us)  the same, tiled (us)  BLAS (us)  rows / BLAS  tiled / BLAS\n",
           level);
    for (int R = 1; R <= MAX_ROWS; R *= 2) {
        double best[3] = {1e30, 1e30, 1e30};
        const int passes = R <= 32 ? 3000 : 300;
        for (int pass = 0; pass < passes; pass++) {
            const int which = pass % 3;
            const double start = now();
            for (int m = 0; m < MATRICES; m++) {
                if (which == 2) blas(x, w[m], y, R, n_in[m], n_out[m]);
                else if (which == 1 && is_tiled[m]) rows(x, tiled[m], y, R, n_in[m], n_out[m], 0, 1);
                else rows(x, w[m], y, R, n_in[m], n_out[m], 0, 0);
                x[0] += y[0] * 1e-12f; /* each pass depends on the last */
            }
            const double seconds = now() - start;
            if (seconds < best[which]) best[which] = seconds;
        }
        printf("%4d  %24.1f  %20.1f  %9.1f  %11.2f  %12.2f\n", R, best[0] * 1e6, best[1] * 1e6, best[2] * 1e6,
               best[0] / best[2], best[1] / best[2]);
    }
    return 0;
}
