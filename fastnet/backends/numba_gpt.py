"""The GPT's kernels on the Numba backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers are ``_numba_gpt``'s (and ``_numba_bpe``'s), compiled on first use (a first call that takes
longer than a second says it is compiling) and cached on disk;
``_gpt_compiled`` checks their arguments and allocates their work arrays.
"""
import types

from . import _numba_bpe, _numba_gpt
from ._gpt_compiled import CompiledGPTKernels
from .numba_backend import compile_notice



def _announced(name, kernel):
    """``kernel``, its first call per dtype of its first argument under ``compile_notice``."""
    done = set()

    def call(*args):
        key = args[0].dtype.char
        if key in done:
            return kernel(*args)
        with compile_notice(kernel, f"GPT {name} ({args[0].dtype.name})"):
            result = kernel(*args)
        done.add(key)
        return result

    return call


_drivers = types.SimpleNamespace(**{name: _announced(name, kernel) for name, kernel in (
    ("forward", _numba_gpt.forward), ("loss", _numba_gpt.loss), ("loss_and_gradient", _numba_gpt.loss_and_gradient),
    ("decode_step", _numba_gpt.decode_step), ("adamw", _numba_gpt.adamw), ("bpe_merges", _numba_bpe.bpe_merges))})
(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step, adamw_step,
 bpe_merges) = CompiledGPTKernels(_drivers).exports()
