"""The GPT's kernels on the Numba backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers are ``_numba_gpt``'s, compiled on first use and cached on disk;
``_gpt_compiled`` checks their arguments and allocates their work arrays.
"""
from . import _numba_gpt
from ._gpt_compiled import CompiledGPTKernels

(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step,
 adamw_step) = CompiledGPTKernels(_numba_gpt).exports()
