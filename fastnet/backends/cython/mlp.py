"""The Cython backend: the kernels compiled ahead of time by setup.py, with the NumPy backend's semantics.

The same kernel functions, arguments and checks as the Numba backend
(``compiled_mlp``); the drivers are ``cython._mlp_kernels`` (Cython, releasing the
GIL) over C row operations (``rows.h``) that choose AVX-512, AVX2 or
baseline code for the running CPU (``cpu_levels``). Nothing compiles at import: the extension
was built when fastnet was installed. When it was not (no C compiler), this
module fails to import and ``fastnet info`` says why.
"""
from .. import contract
from ..compiled_mlp import CompiledKernels, Inputs, blas_is_faster
from . import load_extension

EXTENSION, DRIVERS = load_extension("_mlp_kernels", contract.MLP_DRIVERS)
contract.check_activations("Cython", EXTENSION.HANDLED_ACTIVATIONS)

__all__ = ["prepare_inputs", "feedforward", "activations", "predict", "backprop", "gradient", "sgd_epoch", "Inputs",
           "blas_is_faster"]


def _driver(name, dtype):
    """Driver ``name`` of the extension (Cython picks the float32 or float64 version from the arguments)."""
    return DRIVERS[name]


(prepare_inputs, feedforward, activations, predict, backprop, gradient, sgd_epoch) = CompiledKernels(_driver).exports()
