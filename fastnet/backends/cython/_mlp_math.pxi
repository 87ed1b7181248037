# Activations and costs, each function beside its derivative (the table of
# numpy_backend.ACTIVATION_FUNCTIONS and numba.mlp_math). Adding an activation adds a
# branch to activate_one and derivative. Included by _mlp_kernels.pyx.

cdef inline real normal_cdf(real z) noexcept nogil:
    """Φ(z), the standard normal CDF (``rows.h``)."""
    return fastnet_normal_cdf_f(z) if real is float else fastnet_normal_cdf_d(z)


cdef inline real normal_pdf(real z) noexcept nogil:
    """φ(z), the standard normal density (``rows.h``)."""
    return fastnet_normal_pdf_f(z) if real is float else fastnet_normal_pdf_d(z)


cdef inline real activate_one(long code, real z) noexcept nogil:
    """a = f(z) for the hidden activations other than the sigmoid (which has a whole-tile version)."""
    if code == _RELU:
        return 0 if z <= 0 else z  # NaN stays NaN, as NumPy's maximum(z, 0)
    if code == _GELU:
        return z * normal_cdf(z)
    return tanh(z)  # TANH


cdef inline real derivative(long code, real a, real z) noexcept nogil:
    """f'(z), from a = f(z) where it can be (codes.NEEDS_Z), else from z."""
    if code == _SIGMOID:
        return a * (<real>1 - a)  # <real>: a bare 1 would be C's double 1.0, and the product computed in double
    if code == _RELU:
        return 1 if a > 0 else 0
    if code == _GELU:  # Φ(z) + z φ(z)
        return normal_cdf(z) + z * normal_pdf(z)
    return <real>1 - a * a  # TANH


cdef inline real output_error(long cost, real a, real y) noexcept nogil:
    """δ_L of one output unit: (a − y) a (1 − a) for the quadratic cost, a − y for the others (σ' cancels)."""
    return (a - y) * a * (<real>1 - a) if cost == _QUADRATIC else a - y


cdef inline double example_cost(long cost, const real *a, const real *y, long n, double tiny) noexcept nogil:
    """C_x in float64 from outputs a and target y (n values; see numba.mlp_math.example_cost)."""
    cdef double total = 0, av, yv
    cdef long j
    for j in range(n):
        av, yv = a[j], y[j]
        if cost == _QUADRATIC:
            total += 0.5 * (av - yv) * (av - yv)
        elif cost == _CROSS_ENTROPY:
            total -= yv * log(max(av, tiny)) + (1.0 - yv) * log(max(1.0 - av, tiny))
        else:
            total -= yv * log(max(av, tiny))
    return total


cdef inline long first_largest(const real *values, long n) noexcept nogil:
    """The index of the largest of n values, the first of equals (as numpy's argmax)."""
    cdef long j, best = 0
    for j in range(1, n):
        if values[j] > values[best]:
            best = j
    return best


cdef inline void activate(long code, real *x, long n, long width) noexcept nogil:
    """x[0:n] = f(x[0:n]), whole sigmoid tiles at a time; padding lanes set to 0."""
    cdef long j
    if code == _SIGMOID:
        if real is float:
            fastnet_sigmoid_tiles_f(x, width)
        else:
            fastnet_sigmoid_tiles_d(x, width)
    else:
        for j in range(n):
            x[j] = activate_one(code, x[j])
    for j in range(n, width):
        x[j] = 0


cdef inline void softmax(real *x, long n, long width) noexcept nogil:
    """x[0:n] = e^(x_j − max x) / Σ_k e^(x_k − max x); padding lanes set to 0."""
    cdef long j
    cdef real largest = x[0], total = 0
    for j in range(1, n):
        largest = max(largest, x[j])
    for j in range(n):
        x[j] = exp(x[j] - largest)
        total += x[j]
    for j in range(n):
        x[j] /= total
    for j in range(n, width):
        x[j] = 0


cdef inline void activate_layer(long activation, long output, long l, long layers, real *x, long n,
                                long width) noexcept nogil:
    """x[0:n] = f(x[0:n]): the hidden ``activation``, or the ``output`` function on the last layer."""
    if l < layers - 1:
        activate(activation, x, n, width)
    elif output == _SOFTMAX_OUTPUT:
        softmax(x, n, width)
    else:
        activate(_SIGMOID, x, n, width)


cdef inline void times_derivative(long code, real *delta, const real *a, const real *z, long width) noexcept nogil:
    """delta[0:width] *= f'(z), from a = f(z), or from z where f' needs it (z is NULL where it does not)."""
    cdef long j
    if z == NULL:
        z = a
    if code == _SIGMOID:  # the default, in a loop of its own: without the branches on code, it vectorises
        for j in range(width):
            delta[j] *= derivative(_SIGMOID, a[j], z[j])
    else:
        for j in range(width):
            delta[j] *= derivative(code, a[j], z[j])
