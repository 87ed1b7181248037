"""The Cython backend's CPU levels: chosen from the CPU, forced by FASTNET_CPU_LEVEL, refused above the CPU.

That each level computes what the NumPy reference does is tested by test_backends.py and test_gpt_kernels.py,
which run the Cython backend once per level this CPU supports (conftest.compiled_variants).
"""
import os
import pathlib
import subprocess
import sys

import pytest

import fastnet
from fastnet.backends.cython import cpu_levels

pytestmark = pytest.mark.skipif(fastnet.backends.why_unavailable("cython") is not None,
                                reason="the Cython extension is not built")


def extensions():
    from fastnet.backends.cython import mlp as cython_backend, gpt as cython_gpt

    return cython_backend.EXTENSION, cython_gpt.EXTENSION


def info(**environment):
    env = {**os.environ, **environment}
    env.pop("FASTNET_BACKEND", None)
    result = subprocess.run([sys.executable, "-m", "fastnet.cli", "info"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_auto_picks_the_precompiled_backend_at_the_cpus_best_level():
    best = cpu_levels.supported(extensions()[0])
    assert fastnet.backends.resolve("auto") == "cython" or os.environ.get("FASTNET_BACKEND")
    out = info(FASTNET_CPU_LEVEL="")
    assert f"cython   usable, {cpu_levels.DESCRIPTIONS[best]} code (the best this CPU runs)" in out
    assert "auto -> cython" in out


@pytest.mark.parametrize("level", cpu_levels.LEVELS)
def test_a_level_the_cpu_runs_can_be_forced_and_is_shown(level):
    best = cpu_levels.supported(extensions()[0])
    if cpu_levels.LEVELS.index(level) > cpu_levels.LEVELS.index(best):
        out = info(FASTNET_CPU_LEVEL=level)
        assert f"cython   not usable: ValueError: FASTNET_CPU_LEVEL='{level}' asks for code this CPU cannot run" \
            in out
        return
    out = info(FASTNET_CPU_LEVEL=level)
    expected = "the best this CPU runs" if level == best else f"forced by FASTNET_CPU_LEVEL; this CPU runs up to {best}"
    assert f"cython   usable, {cpu_levels.DESCRIPTIONS[level]} code ({expected})" in out


def test_an_unknown_level_is_refused_by_name():
    out = info(FASTNET_CPU_LEVEL="avx9")
    assert "cython   not usable: ValueError: FASTNET_CPU_LEVEL='avx9' is not a CPU level; expected one of " \
           "'baseline', 'avx2', 'avx512'" in out
    assert "auto -> cython" not in out


def test_the_extensions_refuse_a_level_above_the_cpus():
    for extension in extensions():
        with pytest.raises(ValueError, match="level must be between 0 and"):
            extension.use_level(extension.cpu_level() + 1)
        with pytest.raises(ValueError, match="level must be between 0 and"):
            extension.use_level(-1)


@pytest.mark.parametrize("level", cpu_levels.LEVELS)
def test_use_switches_both_extensions_and_restores_their_level(level):
    best = cpu_levels.supported(extensions()[0])
    if cpu_levels.LEVELS.index(level) > cpu_levels.LEVELS.index(best):
        with pytest.raises(ValueError, match="level must be between 0 and"):
            with cpu_levels.use(level):
                pass
    else:
        with cpu_levels.use(level):
            assert [cpu_levels.in_use(extension) for extension in extensions()] == [level, level]
    assert [cpu_levels.in_use(extension) for extension in extensions()] == [best, best]
    with pytest.raises(ValueError, match="level must be one of"):
        with cpu_levels.use("sse9"):
            pass


def test_a_run_on_the_precompiled_backend_never_loads_numba():
    """Issue 26: auto picked Cython but still imported Numba (about 1 s and 120 MB) to list the usable backends."""
    code = ("import sys, numpy as np, fastnet; net = fastnet.Network([784, 16, 10], seed=0); "
            "net.fit(np.zeros((20, 784), np.float32), np.zeros(20, int), epochs=1, progress=False); "
            "gpt = fastnet.GPT(10, context=4, n_layer=1, n_head=1, n_embd=8); "
            "print(net.backend, gpt.backend, 'numba' in sys.modules)")
    env = {**os.environ}
    env.pop("FASTNET_BACKEND", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.split() == ["cython", "cython", "False"], result.stderr


LINEAR_ROWS_PROGRAM = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "gpt_rows.h"

/* fastnet_linear_rows at every level this CPU runs, float and double, on shapes with partial blocks and tails:
 * prints every output's bits; fails on an error above the type's tolerance against a sum in long double. */
#define CHECK(T, S, tolerance)                                                                                \
    worst = 0;                                                                                                \
    for (int level = 0; level <= fastnet_cpu_level(); level++)                                                \
        for (int s = 0; s < 6; s++) {                                                                         \
            const long R = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];                           \
            T *x = malloc(sizeof(T) * R * n_in), *w = malloc(sizeof(T) * n_out * n_in);                       \
            T *y = malloc(sizeof(T) * R * n_out);                                                             \
            for (long i = 0; i < R * n_in; i++) x[i] = (T)(rand() % 2001 - 1000) / 1000;                      \
            for (long i = 0; i < n_out * n_in; i++) w[i] = (T)(rand() % 2001 - 1000) / 1000;                  \
            for (long i = 0; i < R * n_out; i++) y[i] = (T)0.5;                                               \
            FASTNET_AT_LEVEL(fastnet_linear_rows_##S, level)(x, w, y, R, n_in, n_out, s % 2, 0);              \
            for (long r = 0; r < R; r++)                                                                      \
                for (long o = 0; o < n_out; o++) {                                                            \
                    long double exact = s % 2 ? 0.5L : 0;                                                     \
                    for (long i = 0; i < n_in; i++) exact += (long double)x[r * n_in + i] * w[o * n_in + i];  \
                    const double error = fabs((double)(y[r * n_out + o] - exact)) / (1 + fabs((double)exact)); \
                    worst = error > worst ? error : worst;                                                    \
                    printf("%a ", (double)y[r * n_out + o]);                                                  \
                }                                                                                             \
            if (worst > tolerance) return printf("\nerror %g at level %d, shape %d\n", worst, level, s), 1;   \
            free(x), free(w), free(y);                                                                        \
        }

int main(void) {
    static const long shapes[6][3] = {{1, 128, 384}, {16, 128, 65}, {5, 36, 7}, {3, 17, 33}, {7, 9, 1}, {2, 1, 1}};
    double worst = 0;
    srand(1);
    CHECK(float, f, 1e-5)
    CHECK(double, d, 1e-13)
    return 0;
}
"""


def test_the_linear_rows_fallback_for_other_compilers_sums_in_the_same_order(tmp_path):
    """gpt_rows.h adds a decode step's partial sums by GCC's __builtin_shuffle; other compilers (Clang) get a
    lane-by-lane fallback that must give the same bits. Both builds here, at every level this CPU runs, float and
    double, against a long double sum, and against each other."""
    source = tmp_path / "linear_rows.c"
    source.write_text(LINEAR_ROWS_PROGRAM, encoding="utf-8")
    headers = pathlib.Path(__file__).resolve().parent.parent / "fastnet" / "backends" / "cython"
    outputs = []
    for flags in ([], ["-DFASTNET_NO_SHUFFLE"]):
        binary = tmp_path / ("fallback" if flags else "shuffles")
        subprocess.run(["gcc", "-O3", "-fno-math-errno", *flags, f"-I{headers}", str(source), "-o", str(binary), "-lm"],
                       check=True, capture_output=True, timeout=300)
        result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout[-300:]
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].split()) > 2 * 3 * (384 + 16 * 65)  # every level's outputs, both types
