"""The GPT's kernels on the Cython backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers (``contract.GPT_DRIVERS``) are the extension ``_gpt_kernels``',
built when fastnet was installed; ``compiled_gpt`` checks their arguments and
allocates their work arrays. When the extension was not built, this module
fails to import.
"""
import types

from .. import contract
from ..compiled_gpt import CompiledGPTKernels
from . import load_extension

EXTENSION, DRIVERS = load_extension("_gpt_kernels", contract.GPT_DRIVERS)

(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step, sample_tokens, decode_tokens,
 adamw_step, bpe_merges) = CompiledGPTKernels(types.SimpleNamespace(**DRIVERS)).exports()
