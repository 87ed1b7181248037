"""The GPT's kernels on the Cython backend (``fastnet.backends.GPT_KERNELS``; the math: ``numpy_gpt``).

The drivers (``contract.GPT_DRIVERS``) are the extension ``_gpt_kernels``',
built when fastnet was installed; ``compiled_gpt`` checks their arguments and
allocates their work arrays. When the extension was not built, this module
fails to import.
"""
try:
    from . import _gpt_kernels as EXTENSION
except ImportError as exc:
    raise ImportError("the compiled extension fastnet.backends.cython._gpt_kernels was not built when fastnet was "
                      f"installed (was a C compiler available?): {exc}") from None
import types

from .. import contract
from ..compiled_gpt import CompiledGPTKernels
from . import cpu_levels

DRIVERS = {name: getattr(EXTENSION, name, None) for name in contract.GPT_DRIVERS}
contract.check_drivers("Cython", DRIVERS, contract.GPT_DRIVERS)
cpu_levels.configure(EXTENSION)

(logits, attention_weights, loss, loss_and_gradient, new_cache, prefill, decode_step, adamw_step,
 bpe_merges) = CompiledGPTKernels(types.SimpleNamespace(**DRIVERS)).exports()
