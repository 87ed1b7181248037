"""The GPT's kernels on the Cython backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers are the extension ``_cython_gpt``'s, built when fastnet was
installed; ``_gpt_compiled`` checks their arguments and allocates their work
arrays. When the extension was not built, this module fails to import.
"""
try:
    from . import _cython_gpt as EXTENSION
except ImportError as exc:
    raise ImportError("the compiled extension fastnet.backends._cython_gpt was not built when fastnet was "
                      f"installed (was a C compiler available?): {exc}") from None
from . import cpu_levels
from ._gpt_compiled import CompiledGPTKernels

cpu_levels.configure(EXTENSION)

(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step, adamw_step,
 bpe_merges) = CompiledGPTKernels(EXTENSION).exports()
