"""Saving and loading networks: .npz files read without pickle, written atomically.

GPT files (``fastnet.gpt.files``) share the atomic writer and the reader;
``fastnet.load`` (``fastnet.loading``) builds either model from what these
functions read. A network file holds ``params`` (the flat parameter vector)
and the metadata needed to rebuild the network: ``sizes``, ``activation``, ``cost``,
``output``, ``dtype`` and the ``fastnet_version`` that wrote it. A training
checkpoint (``fit(..., checkpoint=path)``) is a network file with the training
state added: ``training_state`` (JSON text) and any arrays training needs
(the momentum velocity, the best parameters so far), each named
``state_<name>``; ``fastnet.load`` reads a checkpoint as the network it holds.
Every piece is checked before anything is built, so a truncated, corrupt or
foreign file raises ValueError naming it.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from ._version import __version__
from .backends.codes import COSTS, output_for

_METADATA = ("sizes", "activation", "cost", "fastnet_version")
STATE_PREFIX = "state_"
GPT_FORMAT_KEY = "gpt_format"  # present in GPT files only (fastnet.gpt.files)


def replace_atomically(path, contents):
    """Write ``contents`` (bytes, or a function that writes into a binary file) to ``path`` atomically.

    A temporary file beside ``path`` is written, fsynced, then renamed over
    ``path``, so an interrupted save (an error, a crash, SIGKILL) leaves any
    previous file at ``path`` untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".fastnet-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            if callable(contents):
                contents(out)
            else:
                out.write(contents)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def write_atomically(path, arrays):
    """np.savez ``arrays`` to ``path`` atomically (see ``replace_atomically``)."""
    return replace_atomically(path, lambda out: np.savez(out, **arrays))


def _network_arrays(net):
    return dict(params=net.params, sizes=np.asarray(net.sizes, dtype=np.int64), activation=np.str_(net.activation),
                cost=np.str_(net.cost_name), output=np.str_(net.output), dtype=np.str_(net.dtype.name),
                fastnet_version=np.str_(__version__))


def save(net, path):
    """Write the ``Network`` ``net`` to ``path`` (.npz), atomically; read it back with ``fastnet.load``."""
    return write_atomically(path, _network_arrays(net))


def with_training_state(contents, state, arrays):
    """``contents`` plus a training ``state`` (JSON-serialisable dict) and state ``arrays`` (prefixed names)."""
    contents = dict(contents, training_state=np.str_(json.dumps(state)))
    contents.update({STATE_PREFIX + name: array for name, array in arrays.items()})
    return contents


def save_checkpoint(net, path, state, arrays):
    """Write ``net`` with a training ``state`` and state ``arrays``, atomically."""
    return write_atomically(path, with_training_state(_network_arrays(net), state, arrays))


def read_arrays(path):
    """Every array in the .npz at ``path``, read without pickle."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable fastnet network file, nor a GPT file ({exc})") from None


def text_member(path, contents, key, default=None):
    """The text value ``key`` of a file's ``contents`` (``default`` when absent)."""
    if key not in contents:
        return default
    value = contents[key]
    if value.dtype.kind != "U" or value.ndim != 0:
        raise ValueError(f"{path}: {key} must be a text value; got {value.dtype} {value.shape}")
    return str(value)


def float_params(path, contents):
    """The ``params`` member: a 1-D float32 or float64 array."""
    if "params" not in contents:
        raise ValueError(f"{path}: not a fastnet model file (no params)")
    params = contents["params"]
    if params.ndim != 1 or params.dtype.name not in ("float32", "float64"):
        raise ValueError(f"{path}: params must be a 1-D float32 or float64 array; got {params.dtype} {params.shape}")
    return params


def read_network(path, contents):
    """(settings, params) of a network file: the keyword arguments of ``Network`` and the flat parameters.

    Checks the members' types; whether the settings make a network is for
    ``Network`` to say.
    """
    missing = [key for key in ("params",) + _METADATA if key not in contents]
    if missing:
        raise ValueError(f"{path}: not a fastnet network file (missing {', '.join(missing)})")
    params = float_params(path, contents)
    if text_member(path, contents, "dtype", params.dtype.name) != params.dtype.name:
        raise ValueError(f"{path}: metadata says dtype {text_member(path, contents, 'dtype')}, but params are {params.dtype}")
    sizes = contents["sizes"]
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu":
        raise ValueError(f"{path}: sizes must be a 1-D integer array; got {sizes.dtype} {sizes.shape}")
    cost = text_member(path, contents, "cost")
    # Files from fastnet 0.1.0 have no "output": it was the cost's own (sigmoid).
    default_output = output_for(cost) if cost in COSTS else None
    settings = dict(sizes=sizes.tolist(), activation=text_member(path, contents, "activation"), cost=cost,
                    output=text_member(path, contents, "output", default_output), dtype=params.dtype.name)
    return settings, params


def read_training_state(path, contents, params):
    """(state, arrays) of a checkpoint: its JSON training state and its state arrays, each shaped like ``params``."""
    try:
        state = json.loads(text_member(path, contents, "training_state"))
    except (TypeError, json.JSONDecodeError):
        raise ValueError(f"{path}: a model file without a readable training state; "
                         "resume needs a file written by fit(..., checkpoint=...)") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: damaged training state (not a JSON object)")
    arrays = {key[len(STATE_PREFIX):]: value for key, value in contents.items() if key.startswith(STATE_PREFIX)}
    for name, array in arrays.items():
        if array.shape != params.shape or array.dtype != params.dtype or not np.isfinite(array).all():
            raise ValueError(f"{path}: state array {name} must be {params.size} finite {params.dtype} values")
    return state, arrays
