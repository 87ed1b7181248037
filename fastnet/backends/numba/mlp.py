"""The Numba backend: the kernels compiled by Numba, with the NumPy backend's semantics.

Kernel functions (the same names and arguments as ``numpy_backend``, which
states the math): ``prepare_inputs``, ``feedforward``, ``activations``,
``predict``, ``backprop``, ``gradient`` and ``sgd_epoch``, the last running a whole epoch,
every mini-batch, in one compiled call that releases the GIL. Each checks its
arguments before compiled code runs (``compiled_mlp``, shared with the Cython
backend). Inputs may be given as arrays or as the result of
``prepare_inputs(X)``, which decides once per data set whether to skip zeros
(MNIST images are about 81% zeros) and builds the sparse rows.

Compilation happens on a kernel's first call, never at import, and is cached
on disk (``cache=True``; set NUMBA_CACHE_DIR for a read-only install), so a
second process loads the machine code instead of compiling it. fastnet's
kernels are compiled with LLVM's SLP vectoriser switched on (Numba leaves it
off by default); it is switched on only while fastnet's own kernels compile,
and never for other code.
"""
import contextlib
import os
import threading

import numpy as np
from numba.core import config as _numba_config

from ...core.progress import Heartbeat
from .. import contract
from ..compiled_mlp import CompiledKernels, Inputs, blas_is_faster
from . import mlp_inputs, mlp_kernels, mlp_math

__all__ = ["prepare_inputs", "feedforward", "activations", "predict", "backprop", "gradient", "sgd_epoch", "Inputs",
           "blas_is_faster"]

# ---------------------------------------------------------------------------
# Compilation: with SLP vectorisation, once per kernel and dtype, then cached

COMPILE_NOTICE_SECONDS = 2.0  # a first call still running after this long is compiling: say so
COMPILE_NOTE = ("Numba compiles each kernel on its first use on this CPU, once: 10-15 s for the largest; "
                "later runs load it from the cache in a fraction of a second")
_compile_lock = threading.Lock()
_compiled_keys = set()
_explained = threading.Event()  # COMPILE_NOTE is said once per process, with the first kernel shown compiling


def _never_cached(kernel):
    """Whether ``kernel`` (a Numba dispatcher) has no machine code on disk yet, as far as its cache index tells."""
    try:
        return not os.path.exists(kernel._cache._cache_file._index_path)
    except AttributeError:  # another Numba version's internals: the timer decides
        return False


@contextlib.contextmanager
def compile_notice(kernel, name):
    """Around a first call of ``kernel`` (described by ``name``): a heartbeat saying it is compiling, shown at
    once when ``kernel`` has no cache on disk, else when the call is still running after COMPILE_NOTICE_SECONDS."""
    delay = 0.0 if _never_cached(kernel) else COMPILE_NOTICE_SECONDS
    heartbeat = Heartbeat(f"compiling the Numba kernel {name}", note="" if _explained.is_set() else COMPILE_NOTE,
                          delay=delay)
    with heartbeat:
        yield
    if heartbeat.shown:
        _explained.set()


def compile_once(kernel, args, name, key, slp=False):
    """Compile ``kernel``'s version for ``args`` (or load it from the cache) under ``compile_notice`` (described by
    ``name``), once per ``key`` in this process, before it runs: a long first call (a large model) is then not
    taken for compiling, and threads calling meanwhile wait for it without announcing it again. ``slp``: with
    LLVM's SLP vectoriser on."""
    if key in _compiled_keys:
        return
    with _compile_lock:
        if key in _compiled_keys:
            return
        saved = _numba_config.SLP_VECTORIZE
        _numba_config.SLP_VECTORIZE = 1 if slp else saved
        try:
            with compile_notice(kernel, name):
                kernel.compile(tuple(kernel.typeof_pyval(arg) for arg in args))
        finally:
            _numba_config.SLP_VECTORIZE = saved
        _compiled_keys.add(key)


def _driver(name, dtype):
    """Driver ``name`` (of ``mlp_kernels`` or ``mlp_inputs``), its ``dtype`` version compiled (or loaded) with SLP
    on."""
    kernel = DRIVERS[name]
    key = (name, np.dtype(dtype).char)
    if key in _compiled_keys:
        return kernel

    def first_call(*args):
        compile_once(kernel, args, f"{name} ({np.dtype(dtype).name})", key, slp=True)
        return kernel(*args)

    return first_call


DRIVERS = {name: getattr(mlp_kernels, name, None) or getattr(mlp_inputs, name, None) for name in contract.MLP_DRIVERS}
contract.check_drivers("Numba", DRIVERS, contract.MLP_DRIVERS)
contract.check_activations("Numba", mlp_math.HANDLED_ACTIVATIONS)
(prepare_inputs, feedforward, activations, predict, backprop, gradient, sgd_epoch) = CompiledKernels(_driver).exports()
