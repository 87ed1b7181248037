"""Saving and loading networks, in the checked .npz or .safetensors files of ``fastnet.core.model_files``.

``fastnet.load`` (``fastnet.loading``) builds either model from what these
functions and ``fastnet.gpt.files`` read. A network file holds ``params``
(the flat parameter vector) and the metadata needed to rebuild the network:
``sizes``, ``activation``, ``cost``, ``output``, ``dtype`` and the
``fastnet_version`` that wrote it. A training checkpoint
(``fit(..., checkpoint=path)``) adds the training state; ``fastnet.load``
reads a checkpoint as the network it holds.
"""
import math

import numpy as np

from .._version import __version__
from ..core.codes import COSTS, output_for
from ..core.model_files import MAX_WIDTH, flat_params, is_safetensors_path, with_training_state, write_atomically
from .layout import count_params, named_views, tensor_shapes

_METADATA = ("sizes", "activation", "cost", "fastnet_version")


def _network_arrays(net, path):
    """The file's members; in a .safetensors file the parameters are each layer's weight and bias, named as in
    the ``torch.nn.Sequential`` of ``Network.to_torch`` ("0.weight", "0.bias", "2.weight", ...)."""
    weights = dict(named_views(net.params, net.sizes)) if is_safetensors_path(path) else dict(params=net.params)
    return dict(**weights, sizes=np.asarray(net.sizes, dtype=np.int64), activation=np.str_(net.activation),
                cost=np.str_(net.cost_name), output=np.str_(net.output), dtype=np.str_(net.dtype.name),
                fastnet_version=np.str_(__version__))


def save(net, path):
    """Write the ``Network`` ``net`` to ``path`` (.npz), atomically; read it back with ``fastnet.load``."""
    return write_atomically(path, _network_arrays(net, path))


def save_checkpoint(net, path, state, arrays):
    """Write ``net`` with a training ``state`` and state ``arrays``, atomically."""
    return write_atomically(path, with_training_state(_network_arrays(net, path), state, arrays))


def read_network(file):
    """(settings, params) of a network file: the keyword arguments of ``Network`` and the flat parameters.

    ``sizes`` is read first and decides how many parameters the file must
    hold, so a file claiming another count is refused before its params are
    read; whether the settings make a network is for ``Network`` to say.
    """
    held = "params" in file or "0.weight" in file  # one flat vector, or each layer's tensors (.safetensors)
    missing = [key for key in ("params",) * (not held) + _METADATA if key not in file]
    if missing:
        raise ValueError(f"{file.path}: not a fastnet network file (missing {', '.join(missing)})")
    sizes = file.array("sizes")
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or len(sizes) > 1000:
        raise ValueError(f"{file.path}: sizes must be a 1-D integer array; got {sizes.dtype} {sizes.shape}")
    widths = sizes.tolist()
    if len(widths) < 2 or not all(1 <= width <= MAX_WIDTH for width in widths):
        raise ValueError(f"{file.path}: invalid network metadata (sizes must list at least two positive layer "
                         f"widths; got {widths})")
    expected = count_params(widths)
    params = flat_params(file, expected, tensor_shapes(widths),
                         mismatch=lambda found: f"holds {math.prod(found)} parameters, but sizes {widths} need "
                                                f"{expected}")
    if file.text("dtype", params.dtype.name) != params.dtype.name:
        raise ValueError(f"{file.path}: metadata says dtype {file.text('dtype')}, but params are {params.dtype}")
    cost = file.text("cost")
    # Files from fastnet 0.1.0 have no "output": it was the cost's own (sigmoid).
    default_output = output_for(cost) if cost in COSTS else None
    settings = dict(sizes=widths, activation=file.text("activation"), cost=cost,
                    output=file.text("output", default_output), dtype=params.dtype.name)
    return settings, params
