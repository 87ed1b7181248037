"""The Numba backend: the kernels compiled by Numba, with the NumPy backend's semantics.

Kernel functions (the same names and arguments as ``numpy_backend``, which
states the math): ``prepare_inputs``, ``feedforward``, ``activations``,
``predict``, ``backprop``, ``gradient`` and ``sgd_epoch``, the last running a whole epoch,
every mini-batch, in one compiled call that releases the GIL. Each checks its
arguments before compiled code runs (``_compiled_api``, shared with the Cython
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
import sys
import threading

import numpy as np
from numba.core import config as _numba_config

from . import _numba_inputs, _numba_kernels
from ._compiled_api import CompiledKernels, Inputs, blas_is_faster

__all__ = ["prepare_inputs", "feedforward", "activations", "predict", "backprop", "gradient", "sgd_epoch", "Inputs",
           "blas_is_faster"]

# ---------------------------------------------------------------------------
# Compilation: with SLP vectorisation, once per kernel and dtype, then cached

COMPILE_NOTICE_SECONDS = 2.0  # a first call still running after this long is compiling: say so
_compile_lock = threading.Lock()
_noticed = threading.Event()
_compiled_keys = set()


def _notice_compiling():
    """Say once per process that a first call is compilation."""
    if not _noticed.is_set():
        _noticed.set()
        print("fastnet: compiling the Numba kernels for this machine (once: a minute or so; later runs load "
              "them from the cache)", file=sys.stderr, flush=True)


def _never_cached(kernel):
    """Whether ``kernel`` (a Numba dispatcher) has no machine code on disk yet, as far as its cache index tells."""
    try:
        return not os.path.exists(kernel._cache._cache_file._index_path)
    except AttributeError:  # another Numba version's internals: the timer decides
        return False


@contextlib.contextmanager
def compile_notice(kernel=None):
    """Around a first call: say it is compiling, at once when ``kernel`` has no cache on disk, else if it is
    still running after COMPILE_NOTICE_SECONDS."""
    if kernel is not None and _never_cached(kernel):
        _notice_compiling()
    notice = threading.Timer(COMPILE_NOTICE_SECONDS, _notice_compiling)
    notice.daemon = True
    notice.start()
    try:
        yield
    finally:
        notice.cancel()


def _driver(name, dtype):
    """Driver ``name`` of ``_numba_kernels`` or ``_numba_inputs``, its ``dtype`` version compiled (or loaded) with SLP on."""
    kernel = getattr(_numba_kernels, name, None) or getattr(_numba_inputs, name)
    key = (name, np.dtype(dtype).char)
    if key in _compiled_keys:
        return kernel

    def first_call(*args):
        with _compile_lock, compile_notice(kernel):
            saved = _numba_config.SLP_VECTORIZE
            _numba_config.SLP_VECTORIZE = 1
            try:
                result = kernel(*args)
            finally:
                _numba_config.SLP_VECTORIZE = saved
            _compiled_keys.add(key)
        return result

    return first_call



(prepare_inputs, feedforward, activations, predict, backprop, gradient, sgd_epoch) = CompiledKernels(_driver).exports()
