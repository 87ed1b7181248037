"""How a network's parameters are laid out in one flat vector.

For ``sizes = [n0, n1, ..., nL]`` the vector holds, layer after layer,
``W_l`` (shape ``(n_{l+1}, n_l)``, row-major: the W of W·a) followed by
``b_l`` (shape ``(n_{l+1},)``). Gradients use the same layout, so one SGD step
is one vector operation: ``params -= eta * gradient``.
"""
import numpy as np


def count_params(sizes):
    """Number of weights and biases: sum of n_{l+1} * (n_l + 1) over the layers."""
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def split_params(flat, sizes):
    """Views ``(weights, biases)`` into ``flat``, one of each per layer.

    Writing into a view writes into ``flat``; no data is copied.
    """
    weights, biases = [], []
    offset = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(flat[offset:offset + n_out * n_in].reshape(n_out, n_in))
        offset += n_out * n_in
        biases.append(flat[offset:offset + n_out])
        offset += n_out
    return weights, biases


def tensor_shapes(sizes):
    """[(name, shape)] of each layer's weight and bias in the flat vector's order, named as the Linear layers of
    a ``torch.nn.Sequential`` that alternates them with activations: "0.weight", "0.bias", "2.weight", ..."""
    shapes = []
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes += [(f"{2 * layer}.weight", (n_out, n_in)), (f"{2 * layer}.bias", (n_out,))]
    return shapes


def named_views(flat, sizes):
    """[(name, view into ``flat``)] in the order and with the names of ``tensor_shapes``."""
    weights, biases = split_params(flat, sizes)
    views = [view for pair in zip(weights, biases) for view in pair]
    return [(name, view) for (name, _), view in zip(tensor_shapes(sizes), views)]


def sizes_array(sizes):
    """``sizes`` as the int64 array the kernels take."""
    return np.asarray(sizes, dtype=np.int64)
