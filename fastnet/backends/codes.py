"""Integer codes for activations and costs.

Kernels take these small integers rather than names so that compiled code
(Numba, Cython) can branch on them. A name's code is its index in the tuple.
"""
ACTIVATIONS = ("sigmoid", "relu", "tanh")
SIGMOID, RELU, TANH = range(len(ACTIVATIONS))

COSTS = ("quadratic",)
(QUADRATIC,) = range(len(COSTS))

# How a compiled kernel finds an example's inputs: every value of a dense row;
# the nonzeros of prepared CSR rows; the nonzeros of a dense row, gathered as
# the kernel reaches it.
INPUT_MODES = ("dense", "csr", "compact")
DENSE_INPUTS, CSR_INPUTS, COMPACT_INPUTS = range(len(INPUT_MODES))
