"""GPT files: .npz without pickle, or .safetensors, written atomically, read back by ``fastnet.load``.

Members: ``gpt_format`` (the format's version, 1), ``config`` (JSON: vocab_size,
context, n_layer, n_head, n_embd, bias, gelu — "erf" when absent, as files before
the setting), ``params`` (the flat vector, float32
or float64), ``tokenizer`` (JSON, see ``fastnet.text``; absent when the model
has none) and ``fastnet_version``. A training checkpoint adds
``training_state`` (JSON) and the optimizer's moments as ``state_adam_m`` and
``state_adam_v``. In a .safetensors file the texts and the version are its
metadata and ``params`` is split into nanoGPT's named tensors. Every member is checked before a model is built, so a
damaged or foreign file raises ValueError naming it.
"""
import json

import numpy as np

from ..core import model_files
from ..core.storage import json_value
from .._version import __version__
from ..text import tokenizer_from_json
from .layout import Config, check_config, count_params, named_views, tensor_shapes

FORMAT = 1
CONFIG_KEYS = ("vocab_size", "context", "n_layer", "n_head", "n_embd", "bias", "gelu")


def _arrays(model, path):
    """The file's members; in a .safetensors file the parameters are nanoGPT's named tensors (``layout``), the
    tied head once, so that the weights load by name elsewhere."""
    weights = {"params": model.params}
    if model_files.is_safetensors_path(path):
        weights = named_views(model.params, model.shape)
    arrays = {model_files.GPT_FORMAT_KEY: np.int64(FORMAT), "config": np.str_(json.dumps(model.config)),
              **weights, "fastnet_version": np.str_(__version__)}
    if model.tokenizer is not None:
        arrays["tokenizer"] = np.str_(model.tokenizer.to_json())
    return arrays


def save(model, path):
    """Write the GPT ``model`` (and its tokenizer) to ``path`` atomically."""
    return model_files.write_atomically(path, _arrays(model, path))


def save_checkpoint(model, path, state, arrays):
    """Write ``model`` with a training ``state`` (JSON-serialisable) and state ``arrays``, atomically."""
    return model_files.write_atomically(path, model_files.with_training_state(_arrays(model, path), state, arrays))


def is_gpt_file(file):
    """Whether the opened ``model_files.ModelFile`` holds a GPT."""
    return model_files.GPT_FORMAT_KEY in file


def read(file):
    """(config, params, tokenizer or None) of an opened GPT file, each member checked; ``GPT`` checks the values.

    The config is read first and decides how many parameters the file must hold.
    """
    version = file.array(model_files.GPT_FORMAT_KEY)
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT:
        raise ValueError(f"{file.path}: not a GPT file of format {FORMAT} (gpt_format is {version!r})")
    config = json_value(file.text("config", "null"), f"{file.path}: config")
    if isinstance(config, dict) and "gelu" not in config:
        config["gelu"] = "erf"  # written before the setting existed
    if not isinstance(config, dict) or sorted(config) != sorted(CONFIG_KEYS):
        raise ValueError(f"{file.path}: config must hold exactly {', '.join(CONFIG_KEYS)}")
    sizes = [config[key] for key in CONFIG_KEYS[:-2]]
    if not all(type(size) is int and 1 <= size <= model_files.MAX_WIDTH for size in sizes) \
            or not isinstance(config["bias"], bool):
        raise ValueError(f"{file.path}: config holds invalid sizes ({config})")
    try:
        check_config(Config(**config))
    except ValueError as exc:
        raise ValueError(f"{file.path}: config: {exc}") from None
    params = model_files.flat_params(file, count_params(Config(**config)), tensor_shapes(Config(**config)))
    tokenizer = None
    if "tokenizer" in file:
        try:
            tokenizer = tokenizer_from_json(file.text("tokenizer"))
        except ValueError as exc:
            raise ValueError(f"{file.path}: tokenizer: {exc}") from None
    return config, params, tokenizer


def read_checkpoint(file):
    """(config, params, state, arrays) of an opened GPT checkpoint; the optimizer's moments must be there."""
    config, params, _ = read(file)
    state, arrays = model_files.read_training_state(file, params)
    missing = [name for name in ("adam_m", "adam_v") if name not in arrays]
    if missing:
        raise ValueError(f"{file.path}: the checkpoint lacks the optimizer state {', '.join(missing)}")
    return config, params, state, arrays
