"""The GPT's kernels on the Numba backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers (``contract.GPT_DRIVERS``) are ``gpt_kernels``' (and ``bpe``'s), compiled on first use (a first
call that takes longer than a second says it is compiling) and cached on disk; ``compiled_gpt`` checks their
arguments and allocates their work arrays.
"""
import types

from .. import contract
from ..compiled_gpt import CompiledGPTKernels
from . import bpe, gpt_kernels
from .mlp import compile_once


def _announced(name, kernel):
    """``kernel``, compiled (or loaded) by ``compile_once`` before its first call per dtype of its first
    argument."""
    def call(*args):
        compile_once(kernel, args, f"GPT {name} ({args[0].dtype.name})", ("GPT", name, args[0].dtype.char))
        return kernel(*args)

    return call


DRIVERS = {name: getattr(gpt_kernels, name, None) or getattr(bpe, name, None) for name in contract.GPT_DRIVERS}
contract.check_drivers("Numba", DRIVERS, contract.GPT_DRIVERS)
_drivers = types.SimpleNamespace(**{name: _announced(name, kernel) for name, kernel in DRIVERS.items()})
(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step, sample_tokens, decode_tokens,
 adamw_step, bpe_merges) = CompiledGPTKernels(_drivers).exports()
