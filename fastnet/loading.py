"""``fastnet.load``: a saved model, whichever kind it is (a ``Network`` or a ``GPT``)."""
import os

from .core import model_files
from .mlp import files as persistence
from .gpt import files as gpt_files
from .gpt.model import GPT
from .mlp.network import Network


def load(path, *, backend="auto"):
    """The model saved at ``path`` (by ``save`` or as a training checkpoint), on ``backend``.

    Raises ValueError naming the file for anything that is not a complete,
    consistent fastnet file.
    """
    path = os.fspath(path)
    with model_files.open_file(path) as file:
        if gpt_files.is_gpt_file(file):
            config, params, tokenizer = gpt_files.read(file)
            return _built(path, GPT.to_be_filled, dict(config, dtype=params.dtype.name), params, backend,
                          tokenizer=tokenizer)
        settings, params = persistence.read_network(file)
    return _built(path, Network, settings, params, backend)


def _built(path, build, settings, params, backend, **attributes):
    """``build(**settings)`` (``Network``, or ``GPT.to_be_filled``) holding ``params`` (and ``attributes``);
    ValueError naming ``path`` if it cannot be."""
    try:
        model = build(**settings, backend=backend)
    except (TypeError, ValueError) as exc:
        kind = "network" if build is Network else "GPT"
        raise ValueError(f"{path}: invalid {kind} metadata ({exc})") from None
    if params.shape != model.params.shape:
        raise ValueError(f"{path}: holds {params.size} parameters, but its settings need {model.num_params}")
    try:
        model.params = params
        for name, value in attributes.items():
            setattr(model, name, value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return model
