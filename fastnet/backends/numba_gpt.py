"""The GPT's kernels on the Numba backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers are ``_numba_gpt``'s (and ``_numba_bpe``'s), compiled on first use and cached on disk;
``_gpt_compiled`` checks their arguments and allocates their work arrays.
"""
import types

from . import _numba_bpe, _numba_gpt
from ._gpt_compiled import CompiledGPTKernels

_drivers = types.SimpleNamespace(forward=_numba_gpt.forward, loss=_numba_gpt.loss,
                                 loss_and_gradient=_numba_gpt.loss_and_gradient, decode_step=_numba_gpt.decode_step,
                                 adamw=_numba_gpt.adamw, bpe_merges=_numba_bpe.bpe_merges)
(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step, adamw_step,
 bpe_merges) = CompiledGPTKernels(_drivers).exports()
