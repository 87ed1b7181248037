"""The network's math: gradients against finite differences and hand arithmetic, the two NumPy paths."""
import math

import numpy as np
import pytest
from conftest import random_problem

import fastnet
from fastnet.mlp.layout import sizes_array
from fastnet.backends.numpy import mlp as numpy_backend
from fastnet.core.codes import ACTIVATIONS, COSTS, QUADRATIC


def _targets(labels, classes):
    return np.eye(classes)[labels]


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes", [[5, 4, 3], [6, 5, 4, 3]])
def test_gradient_matches_central_differences(backend, activation, sizes, cost):
    """∇C by backpropagation against (C(p + h) − C(p − h)) / 2h, for every activation and cost (and its output)."""
    net = fastnet.Network(sizes, activation=activation, cost=cost, dtype="float64", backend=backend, seed=3)
    X, y = random_problem(sizes, 7, seed=1)
    if activation == "relu":
        net.params[...] = np.abs(net.params) * 0.5  # stay away from relu's kink at 0
    analytic = net.gradient(X, y)
    numeric = np.empty_like(analytic)
    h = 1e-6
    for i in range(net.num_params):
        saved = net.params[i]
        net.params[i] = saved + h
        up = net.cost(X, y)
        net.params[i] = saved - h
        down = net.cost(X, y)
        net.params[i] = saved
        numeric[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_one_neuron_per_layer_by_hand(backend):
    """1-1-1 sigmoid network, one example, quadratic cost, worked with scalar math."""
    net = fastnet.Network([1, 1, 1], dtype="float64", backend=backend)
    w0, b0, w1, b1 = 0.5, 0.1, -1.5, 0.3
    net.params[...] = [w0, b0, w1, b1]  # layout: W_0, b_0, W_1, b_1
    x, y = 0.8, 1.0

    def s(z):
        return 1 / (1 + math.exp(-z))

    a1 = s(w0 * x + b0)                   # hidden activation
    a2 = s(w1 * a1 + b1)                  # output
    d2 = (a2 - y) * a2 * (1 - a2)         # δ_2 = (a − y) σ'(z_2)
    d1 = w1 * d2 * a1 * (1 - a1)          # δ_1 = W_1ᵀ δ_2 ⊙ σ'(z_1)
    expected = [d1 * x, d1, d2 * a1, d2]  # ∂C/∂W_0, ∂C/∂b_0, ∂C/∂W_1, ∂C/∂b_1

    np.testing.assert_allclose(net.feedforward([x]), [a2], rtol=1e-15)
    np.testing.assert_allclose(net.cost([[x]], [[y]]), 0.5 * (a2 - y) ** 2, rtol=1e-15)
    np.testing.assert_allclose(net.gradient([[x]], [[y]]), expected, rtol=1e-14)
    nabla_b, nabla_w = net.backprop([x], [y])
    np.testing.assert_allclose([nabla_w[0][0, 0], nabla_b[0][0], nabla_w[1][0, 0], nabla_b[1][0]], expected, rtol=1e-14)
    eta = 0.7
    net.update_mini_batch([[x]], [[y]], eta)
    np.testing.assert_allclose(net.params, np.array([w0, b0, w1, b1]) - eta * np.array(expected), rtol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_matvec_and_batched_paths_agree(activation, dtype, tolerance):
    sizes = [784, 30, 16, 10]
    code = ACTIVATIONS.index(activation)
    net = fastnet.Network(sizes, dtype=dtype, init="xavier", seed=0)
    X, y = random_problem(sizes, 33, dtype=dtype, sparsity=0.8)
    Y = _targets(y, 10).astype(dtype)
    arguments = (net.params, sizes_array(sizes), code, 0, QUADRATIC, X, Y)
    batched = numpy_backend.gradient(*arguments, np.empty_like(net.params))
    matvec = numpy_backend.gradient_matvec(*arguments, np.empty_like(net.params))
    np.testing.assert_allclose(batched, matvec, rtol=0, atol=tolerance)

    order = np.random.default_rng(1).permutation(len(X))
    epoch_batched, epoch_matvec = net.params.copy(), net.params.copy()
    numpy_backend.sgd_epoch(epoch_batched, sizes_array(sizes), code, 0, QUADRATIC, X, Y, order, 10, 3.0)
    numpy_backend.sgd_epoch_matvec(epoch_matvec, sizes_array(sizes), code, 0, QUADRATIC, X, Y, order, 10, 3.0)
    np.testing.assert_allclose(epoch_batched, epoch_matvec, rtol=0, atol=100 * tolerance)
    assert not np.array_equal(epoch_batched, net.params)


def test_batch_gradient_is_mean_of_example_gradients(backend):
    sizes = [12, 7, 4]
    net = fastnet.Network(sizes, dtype="float64", backend=backend, seed=5)
    X, y = random_problem(sizes, 9, seed=2)
    per_example = []
    for x, label in zip(X, y):
        nabla_b, nabla_w = net.backprop(x, label)
        flat = np.concatenate([part for w, b in zip(nabla_w, nabla_b) for part in (w.ravel(), b)])
        per_example.append(flat)
    np.testing.assert_allclose(net.gradient(X, y), np.mean(per_example, axis=0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_huge_inputs(dtype):
    z = np.array([-1e4, -800, -40, -1, 0, 1, 40, 800, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        a = numpy_backend.sigmoid(z, np.empty_like(z))
    assert a.dtype == dtype
    assert np.all(np.isfinite(a)) and np.all((a >= 0) & (a <= 1))
    assert a[0] == 0 and a[-1] == 1 and a[4] == 0.5
    expected = 1 / (1 + np.exp(-z[2:-2].astype(np.float64)))
    np.testing.assert_allclose(a[2:-2], expected, rtol=4 * np.finfo(dtype).eps)


def test_saturated_network_has_finite_outputs_and_gradient(backend):
    net = fastnet.Network([3, 4, 2], dtype="float64", backend=backend, seed=0)
    net.params[...] = 500.0  # |z| in the thousands
    with np.errstate(all="raise"):
        assert np.all(np.isfinite(net.feedforward([[1.0, 2.0, 3.0], [-4.0, -5.0, -6.0]])))
        assert np.all(np.isfinite(net.gradient([[1.0, 2.0, 3.0]], [1])))


def test_cost_is_half_mean_squared_error():
    net = fastnet.Network([4, 3], dtype="float64", seed=0)
    X, y = random_problem([4, 3], 5)
    outputs = net.feedforward(X)
    expected = np.mean([0.5 * np.sum((a - t) ** 2) for a, t in zip(outputs, _targets(y, 3))])
    assert net.cost(X, y) == pytest.approx(expected, rel=1e-14)
    assert net.cost(X, _targets(y, 3)) == pytest.approx(expected, rel=1e-14)
    assert numpy_backend.mean_cost(QUADRATIC, outputs, _targets(y, 3)) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("cost", COSTS)
def test_input_gradient_matches_central_differences(cost):
    sizes = [6, 5, 4]
    net = fastnet.Network(sizes, activation="tanh", cost=cost, dtype="float64", seed=5)
    x = np.random.default_rng(2).random(6)
    analytic = net.input_gradient(x, 2)
    h = 1e-6
    numeric = [(net.cost([x + h * e], [2]) - net.cost([x - h * e], [2])) / (2 * h) for e in np.eye(6)]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_cost_values_by_hand():
    """Each cost of one output pair, against the formulas in numpy_backend's docstring."""
    a, y = np.array([[0.8, 0.1, 0.1]]), np.array([[1.0, 0.0, 0.0]])
    assert numpy_backend.mean_cost(0, a, y) == pytest.approx(0.5 * (0.04 + 0.01 + 0.01))
    assert numpy_backend.mean_cost(1, a, y) == pytest.approx(-(math.log(0.8) + 2 * math.log(0.9)))
    assert numpy_backend.mean_cost(2, a, y) == pytest.approx(-math.log(0.8))
    # Outputs rounded to exactly 0 or 1 give a large, finite cost instead of inf or NaN.
    saturated = np.array([[1.0, 0.0, 1.0]], np.float32)
    assert all(np.isfinite(numpy_backend.mean_cost(code, saturated, y)) for code in range(3))


def test_softmax_outputs_are_probabilities(backend):
    net = fastnet.Network([784, 30, 10], cost="log_likelihood", backend=backend, seed=0)
    assert net.output == "softmax"
    X = np.random.default_rng(0).random((50, 784)) * 50  # large inputs: z far from 0
    for rows in (X[:1], X[:5], X):  # the matrix-vector path, and the packed one
        out = net.feedforward(rows)
        assert np.all(out >= 0)
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
