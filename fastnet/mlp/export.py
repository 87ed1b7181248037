"""A Network to and from the formats other code runs: ONNX files and PyTorch modules.

``Network.to_onnx(path)``, ``Network.to_torch()`` and ``Network.from_torch(module)``
call these; onnx and torch are imported only here, when asked for
(``pip install onnx onnxruntime``, the ``onnx`` extra; torch as PyTorch installs it).
Layer l computes f(W_l a + b_l) in every format: ONNX ``Gemm`` with
``transB=1`` and ``torch.nn.Linear`` both hold W as (n_out, n_in), as fastnet does.
"""
import os

import numpy as np

from ..core.storage import check_destination, replace_atomically

# Hidden activations: fastnet's name -> the torch module's class name.
TORCH_ACTIVATIONS = {"sigmoid": "Sigmoid", "relu": "ReLU", "tanh": "Tanh", "gelu": "GELU"}
ONNX_OPSET = 17


def _layers(net):
    """[(W (n_out, n_in), b (n_out,), function name)] with the output layer's function last."""
    functions = [net.activation] * (net.num_layers - 2) + [net.output]
    return [(np.asarray(w), np.asarray(b).reshape(-1), f) for w, b, f in zip(net.weights, net.biases, functions)]


def to_torch(net):
    """``torch.nn.Sequential`` of Linear and activation modules computing what ``net.feedforward`` computes."""
    import torch

    modules = []
    for weight, bias, function in _layers(net):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=getattr(torch, net.dtype.name))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight.copy()))
            linear.bias.copy_(torch.from_numpy(bias.copy()))
        modules.append(linear)
        modules.append(torch.nn.Softmax(dim=1) if function == "softmax" else
                       getattr(torch.nn, TORCH_ACTIVATIONS[function])())
    return torch.nn.Sequential(*modules)


def from_torch(module, network_class, *, cost=None, backend="auto"):
    """A ``network_class`` (``fastnet.Network``) with the parameters of a ``torch.nn.Sequential``.

    The module must alternate Linear layers and activations: the same one of
    Sigmoid, ReLU, Tanh or GELU (exact) after every hidden Linear, and Sigmoid
    or Softmax(dim=1 or -1) after the last. ``cost`` defaults to the one the
    output is defined for: quadratic for sigmoid outputs, log-likelihood for softmax.
    """
    import torch

    # The classes themselves, not look-alikes: a subclass or a class of the same name may compute anything.
    layers = list(module.children()) if type(module) is torch.nn.Sequential else None
    if not layers or len(layers) % 2 or not all(type(m) is torch.nn.Linear for m in layers[::2]):
        raise ValueError("module must be a torch.nn.Sequential of Linear layers (torch.nn.Linear itself), each "
                         "followed by an activation (Sigmoid, ReLU, Tanh or GELU; Sigmoid or Softmax last); got "
                         f"{module!r}")
    names = {getattr(torch.nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    hidden = {names.get(type(m)) for m in layers[1:-1:2]}
    last = layers[-1]
    if None in hidden or len(hidden) > 1:
        raise ValueError(f"the hidden activations must all be one of {', '.join(TORCH_ACTIVATIONS.values())}; "
                         f"got {[type(m).__name__ for m in layers[1:-1:2]]}")
    if any(isinstance(m, torch.nn.GELU) and m.approximate != "none" for m in layers[1::2]):
        raise ValueError("GELU must be the exact one (approximate='none'), as fastnet computes it")
    if type(last) is torch.nn.Softmax and last.dim in (1, -1):
        output = "softmax"
    elif type(last) is torch.nn.Sigmoid:
        output = "sigmoid"
    else:
        raise ValueError(f"the last activation must be Sigmoid or Softmax(dim=1); got {last!r}")
    linears = layers[::2]
    sizes = [linears[0].in_features] + [m.out_features for m in linears]
    if any(m.bias is None for m in linears) or \
            any(a.out_features != b.in_features for a, b in zip(linears, linears[1:])):
        raise ValueError("every Linear layer must have a bias and take the previous layer's outputs")
    tensors = [t for m in linears for t in (m.weight, m.bias)]
    dtype = tensors[0].dtype
    if dtype not in (torch.float32, torch.float64) or any(t.dtype != dtype for t in tensors):
        raise ValueError(f"the Linear layers must all be float32 or all float64; got "
                         f"{sorted({str(t.dtype) for t in tensors})}")
    if any(t.device.type != "cpu" for t in tensors):
        raise ValueError(f"the Linear layers must be on the CPU (move them with module.cpu()); got "
                         f"{sorted({str(t.device) for t in tensors})}")
    net = network_class(sizes, activation=hidden.pop() if hidden else "sigmoid",
                        cost=cost or ("log_likelihood" if output == "softmax" else "quadratic"), output=output,
                        dtype="float64" if dtype == torch.float64 else "float32", backend=backend)
    with torch.no_grad():
        net.weights = [m.weight.detach().numpy() for m in linears]
        net.biases = [m.bias.detach().numpy() for m in linears]
        _check_same_outputs(module, net, torch)
    return net


PROBE_ROWS = 8


def _check_same_outputs(module, net, torch):
    """ValueError unless ``module`` and ``net`` give the same outputs on a probe batch (hooks, overridden methods)."""
    probe = np.random.default_rng(0).random((PROBE_ROWS, net.sizes[0])).astype(net.dtype)
    expected = module(torch.from_numpy(probe)).detach().numpy()
    tolerance = 1e-4 if net.dtype == np.float32 else 1e-10
    if expected.shape != (PROBE_ROWS, net.sizes[-1]) or \
            not np.allclose(net.feedforward(probe), expected, rtol=tolerance, atol=tolerance):
        raise ValueError("the module's outputs differ from those of the network read from its layers (a forward "
                         "hook, or a module that computes more than its class says?): it cannot be converted")


def _onnx_function(helper, function, value, out):
    """The ONNX nodes computing out = function(value)."""
    if function == "gelu":  # x Φ(x) = ½ x (1 + erf(x / √2)), in the ops every runtime has
        return [helper.make_node("Div", [value, "sqrt2"], [f"{out}_scaled"]),
                helper.make_node("Erf", [f"{out}_scaled"], [f"{out}_erf"]),
                helper.make_node("Add", [f"{out}_erf", "one"], [f"{out}_plus"]),
                helper.make_node("Mul", [value, f"{out}_plus"], [f"{out}_twice"]),
                helper.make_node("Mul", [f"{out}_twice", "half"], [out])]
    operator = {"sigmoid": "Sigmoid", "relu": "Relu", "tanh": "Tanh", "softmax": "Softmax"}[function]
    return [helper.make_node(operator, [value], [out], **({"axis": 1} if function == "softmax" else {}))]


def to_onnx(net, path):
    """Write ``net`` to ``path`` as an ONNX model (input "x" (n, n_0), output "y" (n, n_L)); written atomically."""
    import onnx
    from onnx import helper, numpy_helper

    path = os.fspath(path)
    check_destination("path", path)
    element = onnx.TensorProto.FLOAT if net.dtype == np.float32 else onnx.TensorProto.DOUBLE
    constants = [numpy_helper.from_array(np.asarray(value, net.dtype), name)
                 for name, value in (("sqrt2", np.sqrt(2.0)), ("one", 1.0), ("half", 0.5))]
    nodes, value = [], "x"
    for l, (weight, bias, function) in enumerate(_layers(net)):
        constants += [numpy_helper.from_array(weight, f"W{l}"), numpy_helper.from_array(bias, f"b{l}")]
        nodes.append(helper.make_node("Gemm", [value, f"W{l}", f"b{l}"], [f"z{l}"], transB=1))
        value = "y" if l == net.num_layers - 2 else f"a{l}"
        nodes += _onnx_function(helper, function, f"z{l}", value)
    graph = helper.make_graph(nodes, "fastnet", [helper.make_tensor_value_info("x", element, ["n", net.sizes[0]])],
                              [helper.make_tensor_value_info("y", element, ["n", net.sizes[-1]])], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="fastnet")
    onnx.checker.check_model(model)
    return replace_atomically(path, model.SerializeToString())
