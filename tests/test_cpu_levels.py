"""The Cython backend's CPU levels: chosen from the CPU, forced by FASTNET_CPU_LEVEL, refused above the CPU.

That each level computes what the NumPy reference does is tested by test_backends.py and test_gpt_kernels.py,
which run the Cython backend once per level this CPU supports (conftest.compiled_variants).
"""
import os
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
