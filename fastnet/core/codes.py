"""Integer codes for activations, output layers, costs and input modes: the one source every backend reads.

Kernels take these small integers rather than names so that compiled code
(Numba, Cython) can branch on them. A name's code is its index in the tuple.
The Cython extension imports this module rather than copying the numbers.
"""
# Hidden activations, and whether f'(z) needs z itself. Where it does not, the
# kernels compute it from the stored a = f(z) (σ' = a(1 − a), tanh' = 1 − a²,
# relu' = [a > 0]); GELU's derivative Φ(z) + z φ(z) is not a function of a.
DERIVATIVE_NEEDS_Z = {"sigmoid": False, "relu": False, "tanh": False, "gelu": True}
ACTIVATIONS = tuple(DERIVATIVE_NEEDS_Z)
SIGMOID, RELU, TANH, GELU = range(len(ACTIVATIONS))
NEEDS_Z = tuple(DERIVATIVE_NEEDS_Z.values())  # by code

OUTPUTS = ("sigmoid", "softmax")  # the output layer
SIGMOID_OUTPUT, SOFTMAX_OUTPUT = range(len(OUTPUTS))

COSTS = ("quadratic", "cross_entropy", "log_likelihood")
QUADRATIC, CROSS_ENTROPY, LOG_LIKELIHOOD = range(len(COSTS))

# The output layer each cost is defined for: the quadratic and cross-entropy
# costs compare sigmoid outputs with the target unit by unit; the
# log-likelihood −ln a_y needs outputs that form a probability distribution.
COST_OUTPUTS = {QUADRATIC: SIGMOID_OUTPUT, CROSS_ENTROPY: SIGMOID_OUTPUT, LOG_LIKELIHOOD: SOFTMAX_OUTPUT}


def output_for(cost):
    """The name of the output layer the cost named ``cost`` is defined for."""
    return OUTPUTS[COST_OUTPUTS[COSTS.index(cost)]]

# How a compiled kernel finds an example's inputs: every value of a dense row;
# the nonzeros of prepared CSR rows; the nonzeros of a dense row, gathered as
# the kernel reaches it.
INPUT_MODES = ("dense", "csr", "compact")
DENSE_INPUTS, CSR_INPUTS, COMPACT_INPUTS = range(len(INPUT_MODES))
