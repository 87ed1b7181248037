"""A Network to ONNX (checked in onnxruntime) and to and from PyTorch, on the 10,000 test images."""
import sys

import numpy as np
import pytest

import fastnet


@pytest.fixture(scope="module")
def trained(mnist):
    (X, y), (test_X, test_y) = mnist
    nets = {}
    for activation, cost in (("sigmoid", "quadratic"), ("relu", "log_likelihood"), ("tanh", "cross_entropy"),
                             ("gelu", "log_likelihood")):
        net = fastnet.Network([784, 24, 12, 10], activation=activation, cost=cost, init="xavier", seed=0)
        net.fit(X[:3000], y[:3000], epochs=2, eta=0.1 if activation != "sigmoid" else 3.0, progress=False)
        nets[activation] = net
    return nets, test_X


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh", "gelu"])
def test_onnx_gives_the_networks_outputs(trained, activation, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    nets, test_X = trained
    net = nets[activation]
    path = net.to_onnx(tmp_path / "net.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (outputs,) = session.run(["y"], {"x": test_X})
    expected = net.feedforward(test_X)
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-6)  # float32 rounding
    np.testing.assert_array_equal(outputs.argmax(axis=1), net.predict(test_X))


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh", "gelu"])
def test_torch_round_trip(trained, activation):
    torch = pytest.importorskip("torch")
    nets, test_X = trained
    net = nets[activation]
    module = net.to_torch()
    with torch.no_grad():
        outputs = module(torch.from_numpy(test_X)).numpy()
    np.testing.assert_allclose(outputs, net.feedforward(test_X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs.argmax(axis=1), net.predict(test_X))
    back = fastnet.Network.from_torch(module)
    assert (back.sizes, back.activation, back.output) == (net.sizes, net.activation, net.output)
    np.testing.assert_array_equal(back.params, net.params)


def test_from_torch_refuses_what_it_cannot_run():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    for module, message in ((nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), "Sequential of Linear"),
                            (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU()), "last activation"),
                            (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2),
                                           nn.Sigmoid()), "hidden activations must all be"),
                            (nn.Sequential(nn.Linear(4, 3), nn.GELU(approximate="tanh"), nn.Linear(3, 2),
                                           nn.Sigmoid()), "exact"),
                            (nn.Sequential(nn.Linear(4, 3, bias=False), nn.Sigmoid()), "bias"),
                            (nn.Linear(4, 3), "Sequential of Linear")):
        with pytest.raises(ValueError, match=message):
            fastnet.Network.from_torch(module)


def test_import_fastnet_imports_neither():
    import subprocess

    code = ("import sys, fastnet; "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'sklearn') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"
