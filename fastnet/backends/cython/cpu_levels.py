"""Which instruction-set level the Cython backend's C code runs at, chosen once per process.

The extensions hold every row function compiled for each level below (on x86-64;
other CPUs build the baseline alone) and call it through a pointer set here, when
the backend is imported: the highest level the CPU supports, or the one the
``FASTNET_CPU_LEVEL`` environment variable names (tests force each level in turn;
a level above the CPU's is refused, as it would stop the process on an illegal
instruction). ``fastnet info`` shows the level in use.
"""
import importlib
import os
from contextlib import contextmanager

LEVELS = ("baseline", "avx2", "avx512")  # index = the C code's FASTNET_BASELINE, FASTNET_AVX2, FASTNET_AVX512
DESCRIPTIONS = {"baseline": "x86-64 baseline (SSE2)", "avx2": "AVX2 with FMA", "avx512": "AVX-512 (F, VL, BW, DQ)"}
ENVIRONMENT_VARIABLE = "FASTNET_CPU_LEVEL"
_BACKEND_MODULES = ("fastnet.backends.cython.mlp", "fastnet.backends.cython.gpt")


def requested(supported):
    """The level to use given the highest one ``supported`` (an index into LEVELS): the environment's, checked."""
    name = os.environ.get(ENVIRONMENT_VARIABLE)
    if not name:
        return supported
    if name not in LEVELS:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={name!r} is not a CPU level; expected one of "
                         f"{', '.join(map(repr, LEVELS))}")
    if LEVELS.index(name) > supported:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={name!r} asks for code this CPU cannot run; it supports up to "
                         f"{LEVELS[supported]!r}")
    return LEVELS.index(name)


def configure(extension):
    """Point ``extension``'s row functions at the requested level (each Cython backend module, when imported)."""
    extension.use_level(requested(extension.cpu_level()))


def supported(extension):
    """The name of the highest level this CPU runs and ``extension``'s build holds."""
    return LEVELS[extension.cpu_level()]


def runnable(extension):
    """The names of the levels this CPU runs and ``extension``'s build holds, lowest first."""
    return LEVELS[:extension.cpu_level() + 1]


def in_use(extension):
    """The name of the level ``extension``'s row functions run at now (read back from the extension)."""
    return LEVELS[extension.level_in_use()]


def _extensions():
    """The Cython backend's extensions, each configured (its backend module imported)."""
    extensions = []
    for module in _BACKEND_MODULES:
        try:
            extensions.append(importlib.import_module(module).EXTENSION)
        except ImportError:  # a partial build: the MLP's extension without the GPT's
            pass
    if not extensions:
        raise ImportError("the Cython extension was not built")
    return extensions


@contextmanager
def use(name):
    """Run the Cython backend's code at level ``name`` inside the block (for tests and benchmarks)."""
    if name not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}; got {name!r}")
    extensions = _extensions()
    previous = [extension.level_in_use() for extension in extensions]
    for extension in extensions:
        extension.use_level(LEVELS.index(name))  # refuses a level the CPU cannot run
    try:
        yield name
    finally:
        for extension, level in zip(extensions, previous):
            extension.use_level(level)
