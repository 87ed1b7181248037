"""The Numba backend's activations and costs: each function beside its derivative.

The table of the NumPy reference (``numpy_backend.ACTIVATION_FUNCTIONS``,
``COST_FUNCTIONS``), one scalar function per column: ``activate`` (f),
``_derivative`` (f', from a = f(z) or from z, see ``codes.NEEDS_Z``) and
``output_error`` (δ_L of each cost) beside ``example_cost`` (C_x). Adding
an activation adds a branch to the first two, a cost one to the last two.
The tile versions apply them a whole tile at a time; the sigmoid's tile
vectorises because its exp does (``exp_of_negative``).
"""
import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from ...core.codes import CROSS_ENTROPY, GELU, NEEDS_Z, QUADRATIC, RELU, SIGMOID, SOFTMAX_OUTPUT, TANH
from .primitives import INLINE, LANES, exp_of_negative, load16, multiply16, store16


@njit(**INLINE)
def sigmoid(z, one):
    """σ(z) = 1 / (1 + e^(−z)), branch-free and without overflow."""
    e = exp_of_negative(-abs(z))
    return (one if z >= 0 else e) / (one + e)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_NEEDS_Z = NEEDS_Z  # by code: whether f' reads z (frozen when the kernels compile)


def _constant(value, one):
    """``value`` in the dtype of ``one`` (a float64 literal would promote float32 arithmetic)."""


@overload(_constant, inline="always")
def _constant_for(value, one):
    if one == types.float32:
        return lambda value, one: np.float32(value)
    return lambda value, one: value


# Φ(z) without library calls, so that a loop of it vectorises: Φ(z) = ½ erfc(−z/√2),
# and for a >= 0, erfc(a) = t e^(−a² + g(2t − 1)) with t = 2 / (2 + a) and g a
# polynomial (the form of Numerical Recipes' erfccheb). The coefficients (of 1,
# y, y², ...) and their errors come from scripts/erfc_chebyshev.py: erfc's
# relative error is below 1.3e-13 with 22 terms in float64, 7.6e-6 with 12 in
# float32 (in the far tail, where Φ < 1e-20; ~1e-7 where GELU's values matter).
_ERFC_POLYNOMIAL = (
    -0.6717940840566877, 0.6726432239776565, 0.04734330684100078, -0.046895610233416894, -0.009872689329804351,
    0.008824938667719155, 0.0017589329425591763, -0.002345814377652027, -0.0001462413246269796,
    0.0006736944973976685, -9.376522586256286e-05, -0.0001743781746852621, 7.150769608403353e-05,
    3.196724637890078e-05, -3.0441368155070098e-05, -2.786294022563846e-07, 8.973987010007003e-06,
    -2.4546622213517246e-06, -1.7267359752625386e-06, 9.002663336388201e-07, 1.648321368425596e-07,
    -1.2683580206145407e-07)
_ERFC_POLYNOMIAL32 = tuple(np.float32(c) for c in (
    -0.6717940927758052, 0.6726432124855567, 0.04734394039462335, -0.04689478101521983, -0.009880431637618354,
    0.00881515695685549, 0.0017952014938591352, -0.002303143466934972, -0.000229192260173042,
    0.0005880716902098813, 8.508316676370865e-06, -9.24645784681023e-05))


def _horner(coefficients):
    """A jitted p(y) = Σ c_k y^k written out as c0 + y (c1 + y (c2 + ...)): a loop over the
    coefficients would run once per value and keep the loop around it from vectorising."""
    expression = f"c[{len(coefficients) - 1}]"
    for k in range(len(coefficients) - 2, -1, -1):
        expression = f"c[{k}] + y * ({expression})"
    namespace = {"c": coefficients}
    exec(f"def polynomial(y):\n    return {expression}\n", namespace)
    return njit(**INLINE)(namespace["polynomial"])


_erfc_g64, _erfc_g32 = _horner(_ERFC_POLYNOMIAL), _horner(_ERFC_POLYNOMIAL32)


def _erfc_g(y):
    """g(y) in y's dtype."""


@overload(_erfc_g, inline="always")
def _erfc_g_for(y):
    return (lambda y: _erfc_g32(y)) if y == types.float32 else (lambda y: _erfc_g64(y))


@njit(**INLINE)
def normal_cdf(z, one):
    """Φ(z) = ½ erfc(−z/√2), vectorisable (see the section comment)."""
    a = abs(z) * _constant(_SQRT_HALF, one)
    t = (one + one) / (one + one + a)
    half_erfc = t * exp_of_negative(_erfc_g(t + t - one) - a * a) / (one + one)
    return half_erfc if z < 0 else one - half_erfc


@njit(**INLINE)
def normal_pdf(z, one):
    """φ(z) = e^(−z²/2) / √(2π), vectorisable."""
    return exp_of_negative(-(z * z) / (one + one)) * _constant(_INV_SQRT_2PI, one)


@njit(**INLINE)
def exact_sigmoid(z, one):
    """σ(z) with the library's exp: exactly 0 far below zero, as the NumPy reference (for the one-example path)."""
    e = math.exp(-abs(z))
    return (one if z >= 0 else e) / (one + e)


HANDLED_ACTIVATIONS = (SIGMOID, RELU, TANH, GELU)  # the codes activate and _derivative have a branch for


@njit(**INLINE)
def activate(code, z, one):
    """a = f(z)."""
    if code == SIGMOID:
        return sigmoid(z, one)
    if code == RELU:
        return one - one if z <= 0 else z  # NaN stays NaN, as NumPy's maximum(z, 0)
    if code == GELU:
        return z * normal_cdf(z, one)
    return math.tanh(z)  # TANH


@njit(**INLINE)
def _derivative(code, a, z, one):
    """f'(z), from a = f(z) where it can be (codes.NEEDS_Z), else from z."""
    if code == SIGMOID:
        return a * (one - a)
    if code == RELU:
        return one if a > 0 else a * (one - one)  # a * 0 would be float64 for float32 a
    if code == GELU:  # Φ(z) + z φ(z)
        return normal_cdf(z, one) + z * normal_pdf(z, one)
    return one - a * a  # TANH


@njit(**INLINE)
def output_error(cost, a, y, one):
    """δ_L of one output unit: (a − y) a (1 − a) for the quadratic cost, a − y for the others (σ' cancels)."""
    error = a - y
    return error * a * (one - a) if cost == QUADRATIC else error


@njit(**INLINE)
def example_cost(cost, acts, base, targets, t_base, n, tiny):
    """C_x in float64 from the outputs acts[base:base+n] and the target targets[t_base:t_base+n].

    The reference's cost values (``numpy_backend.COST_FUNCTIONS``): ½‖a − y‖²;
    −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]; −Σ_j y_j ln a_j; each logarithm
    taken of a value held at or above ``tiny`` (the dtype's smallest normal number).
    """
    total = 0.0
    for j in range(n):
        a, y = np.float64(acts[base + j]), np.float64(targets[t_base + j])
        if cost == QUADRATIC:
            total += 0.5 * (a - y) * (a - y)
        elif cost == CROSS_ENTROPY:
            total -= y * math.log(max(a, tiny)) + (1.0 - y) * math.log(max(1.0 - a, tiny))
        else:
            total -= y * math.log(max(a, tiny))
    return total


@njit(**INLINE)
def first_largest(values, base, n):
    """The index j < n of the largest values[base + j], the first of equals (as numpy's argmax)."""
    best = 0
    for j in range(1, n):
        if values[base + j] > values[base + best]:
            best = j
    return best


@njit(**INLINE)
def _derivative8(code, t, z, one):
    return (_derivative(code, t[0], z[0], one), _derivative(code, t[1], z[1], one),
            _derivative(code, t[2], z[2], one), _derivative(code, t[3], z[3], one),
            _derivative(code, t[4], z[4], one), _derivative(code, t[5], z[5], one),
            _derivative(code, t[6], z[6], one), _derivative(code, t[7], z[7], one))


@njit(**INLINE)
def times_derivative_tiles(code, deltas, d_base, acts, a_base, z_base, width, one):
    """deltas[d_base:+width] *= f'(z), from a = f(z) in acts[a_base:+width] or, where f' needs it, from z in
    acts[z_base:+width] (padding: 0 · f'(0) = 0)."""
    needs_z = _NEEDS_Z[code]
    for jb in range(0, width, LANES):
        a = load16(acts, a_base + jb)
        z = load16(acts, z_base + jb) if needs_z else a
        store16(deltas, d_base + jb, multiply16(load16(deltas, d_base + jb),
                                                  (_derivative8(code, a[0], z[0], one),
                                                   _derivative8(code, a[1], z[1], one))))


@njit(**INLINE)
def _sigmoid8(t, one):
    return (sigmoid(t[0], one), sigmoid(t[1], one), sigmoid(t[2], one), sigmoid(t[3], one),
            sigmoid(t[4], one), sigmoid(t[5], one), sigmoid(t[6], one), sigmoid(t[7], one))


@njit(**INLINE)
def _activate_tiles(code, acts, base, n, width, one):
    """acts[base:+n] = f(acts[base:+n]), whole sigmoid tiles at a time; padding lanes set to 0."""
    if code == SIGMOID:
        for jb in range(0, width, LANES):
            t = load16(acts, base + jb)
            store16(acts, base + jb, (_sigmoid8(t[0], one), _sigmoid8(t[1], one)))
    else:
        for j in range(n):
            acts[base + j] = activate(code, acts[base + j], one)
    for j in range(n, width):
        acts[base + j] = 0


@njit(**INLINE)
def softmax(acts, base, n, width):
    """acts[base:+n] = softmax(acts[base:+n]) = e^(z_j − max z) / Σ_k e^(z_k − max z); padding lanes set to 0."""
    largest = acts[base]
    for j in range(1, n):
        largest = max(largest, acts[base + j])
    total = acts[base] * 0
    for j in range(n):
        e = math.exp(acts[base + j] - largest)
        acts[base + j] = e
        total += e
    for j in range(n):
        acts[base + j] /= total
    for j in range(n, width):
        acts[base + j] = 0


@njit(**INLINE)
def activate_layer(activation, output, l, layers, acts, base, n, width, one):
    """acts[base:+n] = f(z): the hidden ``activation``, or the ``output`` function on the last layer."""
    if l < layers - 1:
        _activate_tiles(activation, acts, base, n, width, one)
    elif output == SOFTMAX_OUTPUT:
        softmax(acts, base, n, width)
    else:
        _activate_tiles(SIGMOID, acts, base, n, width, one)


