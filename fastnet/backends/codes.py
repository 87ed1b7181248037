"""Integer codes for activations and costs.

Kernels take these small integers rather than names so that compiled code
(Numba, Cython) can branch on them. A name's code is its index in the tuple.
"""
ACTIVATIONS = ("sigmoid", "relu", "tanh")
SIGMOID, RELU, TANH = range(len(ACTIVATIONS))

COSTS = ("quadratic",)
(QUADRATIC,) = range(len(COSTS))
