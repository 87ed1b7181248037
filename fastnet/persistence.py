"""Saving and loading networks: .npz files read without pickle, written atomically.

A file holds ``params`` (the flat parameter vector) and the metadata needed to
rebuild the network: ``sizes``, ``activation``, ``cost``, ``dtype`` and the
``fastnet_version`` that wrote it. Loading checks every piece before it builds
anything, so a truncated, corrupt or foreign file raises ValueError naming it.
"""
import os
import tempfile
import zipfile

import numpy as np

from ._version import __version__

_METADATA = ("sizes", "activation", "cost", "fastnet_version")


def save(net, path):
    """Write ``net`` to ``path`` (.npz): temporary file, fsync, then rename over ``path``.

    An interrupted save leaves any previous file at ``path`` untouched.
    """
    path = os.fspath(path)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".fastnet-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, params=net.params, sizes=np.asarray(net.sizes, dtype=np.int64),
                     activation=np.str_(net.activation), cost=np.str_(net.cost_name),
                     fastnet_version=np.str_(__version__))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def load(path, *, backend="auto"):
    """The network saved at ``path``, on ``backend``."""
    from .network import Network

    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable fastnet network file ({exc})") from None
    missing = [key for key in ("params",) + _METADATA if key not in contents]
    if missing:
        raise ValueError(f"{path}: not a fastnet network file (missing {', '.join(missing)})")
    params = contents["params"]
    if params.ndim != 1 or params.dtype.name not in ("float32", "float64"):
        raise ValueError(f"{path}: params must be a 1-D float32 or float64 array; got {params.dtype} {params.shape}")
    try:
        net = Network(contents["sizes"].tolist(), activation=str(contents["activation"]),
                      cost=str(contents["cost"]), dtype=params.dtype.name, backend=backend)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid network metadata ({exc})") from None
    if params.shape != net.params.shape:
        raise ValueError(f"{path}: holds {params.size} parameters, but sizes {net.sizes} need {net.num_params}")
    try:
        net.params = params
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return net
