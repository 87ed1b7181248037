"""Every implementation fulfils the backend contract (fastnet.backends.contract), and a broken one is refused."""
import importlib

import numpy as np
import pytest

import fastnet
from fastnet import backends
from fastnet.backends import contract

COMPILED = [name for name in backends.available() if name != "numpy"]
TABLES = {"mlp": contract.MLP_DRIVERS, "gpt": contract.GPT_DRIVERS}


@pytest.mark.parametrize("name", backends.available())
@pytest.mark.parametrize("model", ["mlp", "gpt"])
def test_every_backend_provides_every_kernel_with_the_references_parameters(name, model):
    """The user-facing kernels: the same functions and parameters as the NumPy reference."""
    import inspect

    reference = importlib.import_module(f"fastnet.backends.numpy.{model}")
    module = importlib.import_module(f"{backends._BACKENDS[name][0]}.{model}")
    for kernel in (backends.KERNELS if model == "mlp" else backends.GPT_KERNELS):
        assert inspect.signature(getattr(module, kernel)) == inspect.signature(getattr(reference, kernel)), kernel


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("model", ["mlp", "gpt"])
def test_every_compiled_implementation_provides_the_contracts_drivers(name, model):
    module = importlib.import_module(f"{backends._BACKENDS[name][0]}.{model}")
    assert set(module.DRIVERS) == set(TABLES[model])
    contract.check_drivers(name, module.DRIVERS, TABLES[model])  # raises on a missing or different driver


def test_a_missing_or_different_driver_is_refused_by_name():
    def sgd_epoch_kernel(params, sizes, activation):  # too few parameters
        pass

    drivers = {}
    for name, (parameters, _) in contract.MLP_DRIVERS.items():  # each as the contract says...
        exec(f"def {name}({', '.join(parameters)}): pass", drivers)
    drivers = {name: drivers[name] for name in contract.MLP_DRIVERS}
    contract.check_drivers("Faithful", drivers, contract.MLP_DRIVERS)
    drivers["sgd_epoch_kernel"] = sgd_epoch_kernel  # ... but one
    del drivers["to_csr"]  # and one missing
    with pytest.raises(ImportError, match=r"the Broken implementation breaks the backend contract: no to_csr; "
                                          r"sgd_epoch_kernel\(params, sizes, activation\) instead of "
                                          r"sgd_epoch_kernel\(params, sizes, activation, output, cost"):
        contract.check_drivers("Broken", drivers, contract.MLP_DRIVERS)


def test_the_registry_is_one_line_per_backend():
    """Each registered backend is a package holding its two wings' kernels (``mlp``, ``gpt``)."""
    for name in backends.available():
        package = backends._BACKENDS[name][0]
        assert fastnet.GPT(5, context=2, n_layer=1, n_head=1, n_embd=4, backend=name).kernels.__name__ \
            == f"{package}.gpt"
        assert fastnet.Network([3, 2], backend=name).kernels.__name__ == f"{package}.mlp"
        assert fastnet.Network([3, 2], backend=name).predict(np.zeros(3)) in (0, 1)


@pytest.mark.parametrize("name", COMPILED)
def test_every_compiled_implementation_has_a_branch_for_every_activation(name):
    """Issue 28: the compiled activation switch fell through to tanh for a code it did not know; an activation
    added to codes.py without its compiled branch now stops the backend from importing."""
    switch = {"cython": "fastnet.backends.cython._mlp_kernels", "numba": "fastnet.backends.numba.mlp_math"}[name]
    handled = importlib.import_module(switch).HANDLED_ACTIVATIONS
    contract.check_activations(name, handled)
    with pytest.raises(ImportError, match="has no compiled branch for the activation.s. gelu of fastnet.core.codes"):
        contract.check_activations(name, handled[:3])
