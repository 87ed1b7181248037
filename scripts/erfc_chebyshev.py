"""Fit the polynomial of the kernels' erfc and print it with its measured error (needs mpmath).

erfc(a) = t e^(−a² + g(2t − 1)), t = 2 / (2 + a), a >= 0 (the form of Numerical
Recipes' erfccheb), g the Chebyshev interpolant of ln(erfc(a) e^(a²) / t) on
[−1, 1] at n nodes, printed as the coefficients of 1, y, y², ... (well
conditioned here: their magnitudes sum to about 1.5) for Horner's rule. The
kernels' normal CDF (``numba.mlp_math.normal_cdf``, ``rows.h``) uses
n = 22 in float64 and n = 12 in float32.

    python scripts/erfc_chebyshev.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def exact_g(y):
    t = (mp.mpf(y) + 1) / 2
    a = 2 / t - 2
    return mp.log(mp.erfc(a) * mp.exp(a * a) / t)


def fit(n):
    nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    chebyshev = np.polynomial.chebyshev.chebfit(nodes, [float(exact_g(y)) for y in nodes], n - 1)
    return np.polynomial.chebyshev.cheb2poly(chebyshev)


def worst_relative_error(coefficients, dtype, top):
    a = np.linspace(0, top, 20001).astype(dtype)
    t = (2 / (2 + a)).astype(dtype)
    y = (t + t - 1).astype(dtype)
    c = coefficients.astype(dtype)
    g = np.zeros_like(y)
    for ck in c[::-1]:  # Horner, as the kernels evaluate it
        g = (g * y + ck).astype(dtype)
    approx = t * np.exp((g - a * a).astype(dtype))
    exact = np.array([float(mp.erfc(mp.mpf(float(v)))) for v in a])
    return float(np.max(np.abs(approx - exact) / exact))


if __name__ == "__main__":
    for n, dtype, top in ((22, np.float64, 26.0), (12, np.float32, 9.0)):
        c = fit(n)
        print(f"n = {n}, {dtype.__name__}: worst relative error of erfc on [0, {top}]: "
              f"{worst_relative_error(c, dtype, top):.2e}")
        print("(" + ", ".join(repr(float(x)) for x in c) + ")")
