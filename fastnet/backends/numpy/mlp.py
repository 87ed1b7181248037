"""The NumPy backend: fastnet's reference implementation of the network's math.

Every other backend is tested against this module, so it is written to be read.

Notation (Nielsen's book). The input is ``a_0 = x``. Layer ``l`` maps
``a_l`` (``n_l`` values) to ``a_{l+1}``::

    z_{l+1} = W_l a_l + b_l          W_l: (n_{l+1}, n_l),  b_l: (n_{l+1},)
    a_{l+1} = f(z_{l+1})             f: the hidden activation (σ, ReLU, tanh or
                                     GELU); the output layer's own function
                                     (σ or softmax) last

The cost of one example ``C_x`` compares the output ``a_L`` with the target y:

    quadratic       C_x = ½ ‖a_L − y‖²                          (sigmoid outputs)
    cross_entropy   C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]   (sigmoid outputs)
    log_likelihood  C_x = −Σ_j y_j ln a_j  (= −ln a_y for a one-hot y; softmax outputs)

Backpropagation computes the error ``δ_l = ∂C_x/∂z_l`` of every layer, last to first::

    δ_L = (a_L − y) ⊙ σ'(z_L)   quadratic
    δ_L = a_L − y               cross-entropy with σ, log-likelihood with softmax
                                (the σ' or softmax Jacobian cancels: no learning slowdown)
    δ_l = (W_lᵀ δ_{l+1}) ⊙ f'(z_l)              the chain rule, one layer back
    ∂C_x/∂b_l = δ_{l+1},   ∂C_x/∂W_l = δ_{l+1} a_lᵀ

Activations and costs are tables (``ACTIVATION_FUNCTIONS``, ``COST_FUNCTIONS``)
that pair each function with its derivative. Derivatives are computed from
the stored activations where they can be (``σ' = a(1 − a)``, ``tanh' = 1 − a²``,
``relu' = [a > 0]``) and from z where they cannot (``GELU' = Φ(z) + z φ(z)``;
``codes.NEEDS_Z``).

Two formulations give the same gradients:

- the *matrix-vector* path, one example at a time (``backprop``,
  ``gradient_matvec``, ``sgd_epoch_matvec``): the network as the seed draws it;
- the *batched* path (``gradient``, ``sgd_epoch``): the m examples of a
  mini-batch are the rows of a matrix, so each layer is one matrix product,
  ``Z = A Wᵀ + b``, and ``∂C/∂W_l = Δ_{l+1}ᵀ A_l`` sums over the batch.

Kernel conventions, shared by every backend (see ``fastnet.backends.KERNELS``):
``params`` is the flat parameter vector (layout in ``fastnet.mlp.layout``),
``sizes`` an int64 array, ``activation``, ``output`` and ``cost`` integer
codes from ``fastnet.core.codes``. Inputs arrive checked and converted
(C-contiguous, the network's dtype, finite); results are written into ``out``
arguments.
"""
import math

import numpy as np

from ...core.numerics import check_finite, quiet
from ...core.pixels import converted_rows, rows_dtype
from ...mlp.layout import split_params
from ...core.codes import (CROSS_ENTROPY, GELU, LOG_LIKELIHOOD, QUADRATIC, RELU, SIGMOID, SIGMOID_OUTPUT,
                           SOFTMAX_OUTPUT, TANH)

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

# ---------------------------------------------------------------------------
# Activations and costs: each a row of a table, the function beside its derivative


def sigmoid(z, out):
    """out = σ(z) = 1 / (1 + e^(−z)), computed from e = e^(−|z|) ∈ (0, 1].

    σ(z) = 1 / (1 + e) for z ≥ 0 and e / (1 + e) for z < 0: nothing
    overflows or warns for any finite z, and both tails keep full relative
    precision (e^(−|z|) may underflow to 0, which is the right limit).
    ``out`` may be ``z`` itself.
    """
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
    return np.divide(np.where(z >= 0, 1, e), 1 + e, out=out)


def sigmoid_derivative(a, z, out):
    """σ'(z) = a (1 − a)."""
    np.subtract(1, a, out=out)
    return np.multiply(out, a, out=out)


def relu(z, out):
    """max(z, 0)."""
    return np.maximum(z, 0, out=out)


def relu_derivative(a, z, out):
    """[z > 0] = sign(a), as a >= 0."""
    return np.sign(a, out=out)


def tanh(z, out):
    return np.tanh(z, out=out)


def tanh_derivative(a, z, out):
    """tanh'(z) = 1 − a²."""
    np.multiply(a, a, out=out)
    return np.subtract(1, out, out=out)


def _normal_cdf(z):
    """Φ(z) = ½ (1 + erf(z / √2)) (SciPy's erf, imported on first use: ``import fastnet`` stays quick)."""
    from scipy.special import erf

    return 0.5 * (1 + erf(z * _SQRT_HALF))


def gelu(z, out):
    """z Φ(z) = ½ z (1 + erf(z / √2)), the exact GELU (as torch.nn.GELU())."""
    return np.multiply(z, _normal_cdf(z), out=out)


def gelu_derivative(a, z, out):
    """GELU'(z) = Φ(z) + z φ(z), φ the standard normal density: needs z, not a."""
    with np.errstate(under="ignore"):
        density = np.exp(-0.5 * z * z) * _INV_SQRT_2PI
    return np.add(_normal_cdf(z), z * density, out=out)


# code -> (f(z, out), f'(a, z, out)); whether f' reads z is codes.NEEDS_Z.
ACTIVATION_FUNCTIONS = {
    SIGMOID: (sigmoid, sigmoid_derivative),
    RELU: (relu, relu_derivative),
    TANH: (tanh, tanh_derivative),
    GELU: (gelu, gelu_derivative),
}


def activate(activation, z, out):
    """out = f(z) for the activation code; ``out`` may be ``z``."""
    return ACTIVATION_FUNCTIONS[activation][0](z, out)


def activation_derivative(activation, a, z, out):
    """out = f'(z), from the activation a = f(z) or from z (see codes.NEEDS_Z)."""
    return ACTIVATION_FUNCTIONS[activation][1](a, z, out)


def softmax(z, out):
    """out = softmax(z) row-wise: e^(z_j − max z) / Σ_k e^(z_k − max z); ``out`` may be ``z``.

    Subtracting the row's maximum changes nothing mathematically and keeps
    every exponent <= 0, so nothing overflows.
    """
    np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    with np.errstate(under="ignore"):
        np.exp(out, out=out)
    return np.divide(out, out.sum(axis=-1, keepdims=True), out=out)


def activate_output(output, z, out):
    """out = the output layer's function of z: σ, or softmax over each row; ``out`` may be ``z``."""
    return {SIGMOID_OUTPUT: sigmoid, SOFTMAX_OUTPUT: softmax}[output](z, out)


def _log(values, dtype):
    """ln of ``values`` held at or above the smallest normal number of ``dtype``.

    An output that rounded to exactly 0 or 1 in the network's precision would
    make a logarithm infinite; its true value was at least that far from the
    end, so the cost stays finite, and large, instead.
    """
    return np.log(np.maximum(values, np.finfo(dtype).tiny))


def quadratic_cost(a, y, dtype):
    """Σ_x ½ ‖a − y‖² over the rows (a in float64)."""
    difference = a - y
    return 0.5 * float(np.einsum("ij,ij->", difference, difference))


def quadratic_error(a, y, out, scratch):
    """δ_L = (a − y) ⊙ σ'(z_L) = (a − y) ⊙ a (1 − a)."""
    np.subtract(a, y, out=out)
    return np.multiply(out, sigmoid_derivative(a, None, scratch), out=out)


def cross_entropy_cost(a, y, dtype):
    """Σ_x −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]."""
    return -float(np.sum(y * _log(a, dtype) + (1 - y) * _log(1 - a, dtype)))


def log_likelihood_cost(a, y, dtype):
    """Σ_x −Σ_j y_j ln a_j (= −ln a_y for one-hot y)."""
    return -float(np.sum(y * _log(a, dtype)))


def error_without_derivative(a, y, out, scratch):
    """δ_L = a − y: cross-entropy with σ, log-likelihood with softmax (the σ' or softmax Jacobian cancels)."""
    return np.subtract(a, y, out=out)


# code -> (C summed over the rows of (a, y, dtype), δ_L(a, y, out, scratch))
COST_FUNCTIONS = {
    QUADRATIC: (quadratic_cost, quadratic_error),
    CROSS_ENTROPY: (cross_entropy_cost, error_without_derivative),
    LOG_LIKELIHOOD: (log_likelihood_cost, error_without_derivative),
}


def output_error(cost, a, y, out, scratch):
    """out = δ_L = ∂C_x/∂z_L for outputs ``a`` and targets ``y``, row-wise; ``scratch`` has the shape of ``a``."""
    return COST_FUNCTIONS[cost][1](a, y, out, scratch)


def _activate_layer(activation, output, layer, num_layers, z, out):
    """out = f(z): the hidden ``activation``, or the ``output`` function on the last layer."""
    if layer == num_layers - 1:
        return activate_output(output, z, out)
    return activate(activation, z, out)


# ---------------------------------------------------------------------------
# Forward pass


def prepare_inputs(X, dtype=None, *, argument="X"):
    """The rows X (n, n_0) as this backend's kernels read them: a C-contiguous array of ``dtype``.

    X itself when it already is one; uint8 pixels v become v / 255 (``pixel_values``).
    ``dtype`` defaults to ``rows_dtype(X)``. Raises ValueError naming
    ``argument`` when a value is NaN or infinite. (Compiled backends build a
    representation once per data set here, such as the nonzeros of sparse
    images; every kernel that takes X accepts either.)
    """
    rows = converted_rows(X, rows_dtype(X, dtype))
    check_finite(argument, rows)  # uint8 pixels are finite: passed at once
    return rows


def _layers_forward(params, sizes, activation, output, X):
    """Yield a_1, ..., a_L (each (n, n_l)) for the n rows of X (n, n_0): a_l = f(W_l a_{l-1} + b_l)."""
    weights, biases = split_params(params, sizes)
    a = X
    for layer, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W.T
        z += b
        a = _activate_layer(activation, output, layer, len(weights), z, z)
        yield a


@quiet
def feedforward(params, sizes, activation, output, X, out):
    """out (n, n_L) = the network's outputs for the n rows of X (n, n_0)."""
    for a in _layers_forward(params, sizes, activation, output, X):  # noqa: B007 - each layer in turn, a_L last
        pass
    out[...] = a
    return out


@quiet
def activations(params, sizes, activation, output, X, out):
    """out (n, n_1 + ... + n_L) = every layer's activations [a_1 | a_2 | ... | a_L] for the n rows of X (n, n_0).

    Layer l's a_l fills the n_l columns after those of layers 1..l-1; the last n_L are the outputs.
    """
    column = 0
    for a in _layers_forward(params, sizes, activation, output, X):
        out[:, column:column + a.shape[1]] = a
        column += a.shape[1]
    return out


@quiet
def predict(params, sizes, activation, output, X, labels):
    """labels (n,) = argmax of the network's output for each row of X (n, n_0)."""
    out = np.empty((len(X), sizes[-1]), params.dtype)
    labels[...] = feedforward(params, sizes, activation, output, X, out).argmax(axis=1)
    return labels


# ---------------------------------------------------------------------------
# The matrix-vector path: one example at a time


def _example_activations(weights, biases, activation, output, x):
    """([a_0 = x, a_1, ..., a_L], [z_1, ..., z_L]) for one example x (n_0,)."""
    activations, zs = [x], []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        zs.append(W @ activations[-1] + b)
        activations.append(_activate_layer(activation, output, layer, len(weights), zs[-1], np.empty_like(zs[-1])))
    return activations, zs


def _hidden_error(weights, activation, layer, delta, a, z):
    """δ_layer = (W_layerᵀ δ_{layer+1}) ⊙ f'(z_layer), from δ_{layer+1}, a_layer and z_layer."""
    return (weights[layer].T @ delta) * activation_derivative(activation, a, z, np.empty_like(a))


def _add_example_gradient(weights, biases, activation, output, cost, x, y, grad_w, grad_b):
    """Add ∇C_x for one example x (n_0,) with target y (n_L,) into grad_w, grad_b."""
    activations, zs = _example_activations(weights, biases, activation, output, x)
    delta = output_error(cost, activations[-1], y, np.empty_like(y), np.empty_like(y))
    for layer in range(len(weights) - 1, -1, -1):
        grad_b[layer] += delta
        grad_w[layer] += np.outer(delta, activations[layer])
        if layer > 0:
            delta = _hidden_error(weights, activation, layer, delta, activations[layer], zs[layer - 1])


@quiet
def backprop(params, sizes, activation, output, cost, x, y, grad):
    """grad (P,) = ∇C_x, the gradient of one example's cost.

    x: (n_0,) input; y: (n_L,) target; grad: same layout as params.
    """
    weights, biases = split_params(params, sizes)
    grad[...] = 0
    grad_w, grad_b = split_params(grad, sizes)
    _add_example_gradient(weights, biases, activation, output, cost, x, y, grad_w, grad_b)
    return grad


@quiet
def input_gradient(params, sizes, activation, output, cost, x, y, out):
    """out (n_0,) = ∂C_x/∂x, the gradient of one example's cost with respect to its input.

    Backpropagation one layer further: ∂C_x/∂x = W_0ᵀ δ_1. Not a kernel (it
    draws pictures, see ``fastnet.mlp.pictures``), so it exists only here.
    """
    weights, biases = split_params(params, sizes)
    activations, zs = _example_activations(weights, biases, activation, output, x)
    delta = output_error(cost, activations[-1], y, np.empty_like(y), np.empty_like(y))
    for layer in range(len(weights) - 1, 0, -1):
        delta = _hidden_error(weights, activation, layer, delta, activations[layer], zs[layer - 1])
    out[...] = weights[0].T @ delta
    return out


def _matvec_batch_gradient_sum(weights, biases, activation, output, cost, X, Y, rows, grad, grad_w, grad_b):
    """grad = Σ_{i in rows} ∇C_{x_i}, summing per-example gradients."""
    grad[...] = 0
    for i in rows:
        _add_example_gradient(weights, biases, activation, output, cost, X[i], Y[i], grad_w, grad_b)


@quiet
def gradient_matvec(params, sizes, activation, output, cost, X, Y, grad):
    """grad = (1/m) Σ_i ∇C_{x_i} over the m rows of X, one example at a time."""
    weights, biases = split_params(params, sizes)
    grad_w, grad_b = split_params(grad, sizes)
    _matvec_batch_gradient_sum(weights, biases, activation, output, cost, X, Y, range(len(X)), grad, grad_w, grad_b)
    grad *= 1 / len(X)
    return grad


@quiet
def sgd_epoch_matvec(params, sizes, activation, output, cost, X, Y, order, batch_size, eta, l2=0.0, momentum=0.0,
                     velocity=None):
    """``sgd_epoch`` computed one example at a time (the seed's formulation)."""
    weights, biases = split_params(params, sizes)
    grad = np.empty_like(params)
    grad_w, grad_b = split_params(grad, sizes)

    def gradient_sum(rows):
        _matvec_batch_gradient_sum(weights, biases, activation, output, cost, X, Y, rows, grad, grad_w, grad_b)

    _run_epoch(params, sizes, grad, order, batch_size, eta, l2, momentum, velocity, gradient_sum)


# ---------------------------------------------------------------------------
# The batched path: one matrix product per layer per mini-batch


class _BatchBuffers:
    """Work arrays for mini-batches of up to ``rows`` examples.

    ``activations[l]``: (rows, n_l), the A_l of every layer (A_0 is the input);
    ``zs[l]``: (rows, n_{l+1}), the weighted inputs Z_{l+1} (derivatives may need them);
    ``deltas[l]``: (rows, n_{l+1}), the errors Δ_{l+1};
    ``derivatives[l]``: (rows, n_{l+1}), f'(Z_{l+1}) while backpropagating;
    ``targets``: (rows, n_L).
    """

    def __init__(self, sizes, rows, dtype):
        self.activations = [np.empty((rows, n), dtype) for n in sizes]
        self.zs = [np.empty((rows, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((rows, n), dtype) for n in sizes[1:]]
        self.derivatives = [np.empty((rows, n), dtype) for n in sizes[1:]]
        self.targets = np.empty((rows, sizes[-1]), dtype)

    def leading(self, rows):
        """The same buffers cut to their first ``rows`` rows (for a shorter batch)."""
        cut = object.__new__(_BatchBuffers)
        cut.activations = [a[:rows] for a in self.activations]
        cut.zs = [z[:rows] for z in self.zs]
        cut.deltas = [d[:rows] for d in self.deltas]
        cut.derivatives = [d[:rows] for d in self.derivatives]
        cut.targets = self.targets[:rows]
        return cut


def _batch_gradient_sum(weights, biases, activation, output, cost, buffers, grad_w, grad_b):
    """Σ over the batch of ∇C_x, written into grad_w, grad_b.

    Reads the inputs from ``buffers.activations[0]`` and the targets from
    ``buffers.targets``. Forward: A_{l+1} = f(Z_{l+1}), Z_{l+1} = A_l W_lᵀ + b_l. Backward:
    Δ_L = output error, ∂C/∂W_l = Δ_{l+1}ᵀ A_l, ∂C/∂b_l = Σ_rows Δ_{l+1},
    Δ_l = (Δ_{l+1} W_l) ⊙ f'(Z_l).
    """
    num_layers = len(weights)
    A, Z = buffers.activations, buffers.zs
    for layer, (W, b) in enumerate(zip(weights, biases)):
        np.matmul(A[layer], W.T, out=Z[layer])
        Z[layer] += b
        _activate_layer(activation, output, layer, num_layers, Z[layer], A[layer + 1])
    output_error(cost, A[-1], buffers.targets, buffers.deltas[-1], buffers.derivatives[-1])
    for layer in range(num_layers - 1, -1, -1):
        delta = buffers.deltas[layer]
        np.matmul(delta.T, A[layer], out=grad_w[layer])
        np.sum(delta, axis=0, out=grad_b[layer])
        if layer > 0:
            previous = buffers.deltas[layer - 1]
            np.matmul(delta, weights[layer], out=previous)
            previous *= activation_derivative(activation, A[layer], Z[layer - 1], buffers.derivatives[layer - 1])


@quiet
def gradient(params, sizes, activation, output, cost, X, Y, grad):
    """grad (P,) = (1/m) Σ_i ∇C_{x_i}: the gradient of the mean cost over the m rows of X."""
    weights, biases = split_params(params, sizes)
    grad_w, grad_b = split_params(grad, sizes)
    buffers = _BatchBuffers(sizes, len(X), params.dtype)
    buffers.activations[0] = X
    buffers.targets = Y
    _batch_gradient_sum(weights, biases, activation, output, cost, buffers, grad_w, grad_b)
    grad *= 1 / len(X)
    return grad


@quiet
def sgd_epoch(params, sizes, activation, output, cost, X, Y, order, batch_size, eta, l2=0.0, momentum=0.0,
              velocity=None, measured=None):
    """One epoch of mini-batch SGD, updating ``params`` (and ``velocity``) in place.

    The mini-batches are ``order[0:batch_size]``, ``order[batch_size:2*batch_size]``,
    ...; the last may be shorter. For a batch of m rows of X (n, n_0) with
    targets Y (n, n_L), the step is on the mean cost plus the L2 penalty
    (l2/2) Σ w² (``l2`` = λ/n in the book; biases are not penalised)::

        g = (1/m) Σ ∇C_x + l2 · w        (the l2 term on weights only)
        momentum = 0:  params -= eta · g            (the book's w -> (1 − eta λ/n) w − (eta/m) Σ ∇C_x)
        momentum = μ:  velocity = μ · velocity − eta · g;  params += velocity

    ``velocity`` (P,) carries over between calls; it is needed only with momentum.

    ``measured`` (2,) float64, when given, gains what the forward passes saw:
    measured[0] += Σ_x C_x (each example at the parameters of its batch's
    start, in float64: ``measure_outputs``) and measured[1] += the number of
    examples whose largest output is at their target's largest entry. Their
    ratios to the number of examples are the epoch's running training cost
    and accuracy, as Keras reports them, without another pass.
    """
    weights, biases = split_params(params, sizes)
    grad = np.empty_like(params)
    grad_w, grad_b = split_params(grad, sizes)
    buffers = _BatchBuffers(sizes, min(batch_size, len(order)), params.dtype)

    def gradient_sum(rows):
        batch = buffers if len(rows) == len(buffers.targets) else buffers.leading(len(rows))
        np.take(X, rows, axis=0, out=batch.activations[0])
        np.take(Y, rows, axis=0, out=batch.targets)
        _batch_gradient_sum(weights, biases, activation, output, cost, batch, grad_w, grad_b)
        if measured is not None:
            measure_outputs(cost, batch.activations[-1], batch.targets, measured)

    _run_epoch(params, sizes, grad, order, batch_size, eta, l2, momentum, velocity, gradient_sum)


def _run_epoch(params, sizes, grad, order, batch_size, eta, l2, momentum, velocity, gradient_sum):
    """Walk the mini-batches of ``order``, one step of ``sgd_epoch`` each.

    ``gradient_sum(rows)`` writes the batch's summed gradient Σ ∇C_x into ``grad``.
    """
    weights, _ = split_params(params, sizes)
    grad_w, _ = split_params(grad, sizes)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        gradient_sum(rows)
        grad *= eta / len(rows)
        if l2:
            for W, step_w in zip(weights, grad_w):
                step_w += (eta * l2) * W
        if momentum:
            velocity *= momentum
            velocity -= grad
            params += velocity
        else:
            params -= grad


# ---------------------------------------------------------------------------
# Cost value (evaluated here for every backend: it is not a hot loop)


@quiet
def measure_outputs(cost, outputs, targets, measured):
    """measured (2,) += (Σ_x C_x in float64, the number of rows of outputs whose largest entry is where
    their target's is; ties go to the first)."""
    measured[0] += COST_FUNCTIONS[cost][0](outputs.astype(np.float64), targets, outputs.dtype)
    measured[1] += np.count_nonzero(outputs.argmax(axis=1) == targets.argmax(axis=1))


@quiet
def mean_cost(cost, outputs, targets):
    """C = (1/n) Σ_x C_x over the n rows of outputs and targets, in float64 (see the module docstring)."""
    return COST_FUNCTIONS[cost][0](outputs.astype(np.float64), targets, outputs.dtype) / len(outputs)
