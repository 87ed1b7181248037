"""GPT files: .npz without pickle, written atomically, read back by ``fastnet.load``.

Members: ``gpt_format`` (the format's version, 1), ``config`` (JSON: vocab_size,
context, n_layer, n_head, n_embd, bias), ``params`` (the flat vector, float32
or float64), ``tokenizer`` (JSON, see ``fastnet.text``; absent when the model
has none) and ``fastnet_version``. A training checkpoint adds
``training_state`` (JSON) and the optimizer's moments as ``state_adam_m`` and
``state_adam_v``. Every member is checked before a model is built, so a
damaged or foreign file raises ValueError naming it.
"""
import json
import os

import numpy as np

from .. import persistence
from .._version import __version__
from ..text import tokenizer_from_json

FORMAT = 1
CONFIG_KEYS = ("vocab_size", "context", "n_layer", "n_head", "n_embd", "bias")


def _arrays(model):
    arrays = {persistence.GPT_FORMAT_KEY: np.int64(FORMAT), "config": np.str_(json.dumps(model.config)),
              "params": model.params, "fastnet_version": np.str_(__version__)}
    if model.tokenizer is not None:
        arrays["tokenizer"] = np.str_(model.tokenizer.to_json())
    return arrays


def save(model, path):
    """Write ``model`` (and its tokenizer) to ``path`` atomically."""
    return persistence.write_atomically(path, _arrays(model))


def save_checkpoint(model, path, state, arrays):
    """Write ``model`` with a training ``state`` (JSON-serialisable) and state ``arrays``, atomically."""
    contents = _arrays(model)
    contents["training_state"] = np.str_(json.dumps(state))
    contents.update({persistence.STATE_PREFIX + name: array for name, array in arrays.items()})
    return persistence.write_atomically(path, contents)


def build(path, contents, backend):
    """The GPT that the file's members describe, every piece checked."""
    from .model import GPT

    version = contents[persistence.GPT_FORMAT_KEY]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT:
        raise ValueError(f"{path}: a GPT file of an unknown format version ({version!r}); this fastnet reads {FORMAT}")
    missing = [key for key in ("config", "params") if key not in contents]
    if missing:
        raise ValueError(f"{path}: not a complete GPT file (missing {', '.join(missing)})")
    try:
        config = json.loads(persistence.text_member(path, contents, "config"))
    except json.JSONDecodeError:
        raise ValueError(f"{path}: config is not valid JSON") from None
    if not isinstance(config, dict) or sorted(config) != sorted(CONFIG_KEYS):
        raise ValueError(f"{path}: config must hold exactly {', '.join(CONFIG_KEYS)}")
    params = contents["params"]
    if params.ndim != 1 or params.dtype.name not in ("float32", "float64"):
        raise ValueError(f"{path}: params must be a 1-D float32 or float64 array; got {params.dtype} {params.shape}")
    try:
        model = GPT(**config, dtype=params.dtype.name, backend=backend)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid GPT config ({exc})") from None
    if params.shape != model.params.shape:
        raise ValueError(f"{path}: holds {params.size} parameters, but its config needs {model.num_params}")
    try:
        model.params = params
        if "tokenizer" in contents:
            model.tokenizer = tokenizer_from_json(persistence.text_member(path, contents, "tokenizer"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return model


def load_checkpoint(path, model):
    """(params, state, arrays) of the GPT checkpoint at ``path``, checked to fit ``model``."""
    path = os.fspath(path)
    contents = persistence.read_arrays(path)
    if persistence.GPT_FORMAT_KEY not in contents:
        raise ValueError(f"{path}: not a GPT checkpoint")
    saved = build(path, contents, "numpy")
    if saved.config != model.config or saved.dtype != model.dtype:
        raise ValueError(f"{path}: the checkpoint's GPT is {saved!r}; this one is {model!r}")
    try:
        state = json.loads(persistence.text_member(path, contents, "training_state"))
    except (TypeError, json.JSONDecodeError):
        raise ValueError(f"{path}: a GPT file without a readable training state; resume needs a file written by "
                         "fit(..., checkpoint=...)") from None
    arrays = {key[len(persistence.STATE_PREFIX):]: value for key, value in contents.items()
              if key.startswith(persistence.STATE_PREFIX)}
    for name in ("adam_m", "adam_v"):
        array = arrays.get(name)
        if array is None or array.shape != saved.params.shape or array.dtype != saved.dtype \
                or not np.isfinite(array).all():
            raise ValueError(f"{path}: state array {name} must be {saved.num_params} finite {saved.dtype} values")
    return saved.params, state, arrays
