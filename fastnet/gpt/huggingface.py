"""GPT-2 as Hugging Face ``transformers`` holds it, to and from fastnet's GPT.

``GPT2LMHeadModel`` is nanoGPT's architecture (fastnet's) under the same
tensor names, with three differences of storage: its linear layers are
``Conv1D``, whose weight is stored (in, out), the transpose of
``torch.nn.Linear``'s (out, in); its MLP's GELU is the tanh approximation
(``activation_function="gelu_new"``); it always has biases. A checkpoint
directory holds ``config.json`` and the weights, ``model.safetensors``
(read by fastnet's own reader: no ``transformers`` needed) or
``pytorch_model.bin`` (read by torch, weights only), or shards of either
listed by an index. What a fastnet GPT cannot hold (another activation,
cross-attention, an untied head, scaled or reordered attention, another
LayerNorm epsilon or MLP width) is refused by name.
"""
import os
import re

import numpy as np

from ..core import safetensors
from ..core.storage import json_value, open_for_reading, read_bytes
from . import layout

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")  # stored (in, out)
GELUS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu": "erf"}  # transformers' names -> fastnet's
BUFFERS = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)")  # causal-mask buffers older checkpoints store
SINGLE_FILES = ("model.safetensors", "pytorch_model.bin")
INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def config_from(hf_config):
    """fastnet's GPT settings (vocab_size, context, n_layer, n_head, n_embd, bias, gelu) of a ``GPT2Config`` or its
    dict; ValueError naming each setting a fastnet GPT cannot hold."""
    c = hf_config.to_dict() if hasattr(hf_config, "to_dict") else dict(hf_config)
    problems = []

    def expect(name, allowed, default, what):
        value = c.get(name, default)
        if value not in allowed:
            problems.append(f"{name}={value!r} ({what})")

    expect("model_type", ("gpt2",), "gpt2", "only GPT-2's architecture")
    expect("activation_function", tuple(GELUS), "gelu_new", f"the GELUs fastnet runs: {', '.join(GELUS)}")
    expect("add_cross_attention", (False,), False, "cross-attention")
    expect("tie_word_embeddings", (True,), True, "an output head tied to the token embedding")
    expect("scale_attn_weights", (True,), True, "attention scaled by 1/√head size")
    expect("scale_attn_by_inverse_layer_idx", (False,), False, "no per-layer attention scaling")
    expect("layer_norm_epsilon", (1e-5,), 1e-5, "LayerNorm's epsilon 1e-5")
    missing = [name for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head") if name not in c]
    if missing:
        raise ValueError(f"the Hugging Face config lacks {', '.join(missing)}")
    if c.get("n_inner") not in (None, 4 * c["n_embd"]):
        problems.append(f"n_inner={c['n_inner']!r} (an MLP 4·n_embd wide)")
    if problems:
        raise ValueError("this GPT-2 cannot be a fastnet GPT: " + "; ".join(problems))
    return dict(vocab_size=c["vocab_size"], context=c["n_positions"], n_layer=c["n_layer"], n_head=c["n_head"],
                n_embd=c["n_embd"], bias=True, gelu=GELUS[c.get("activation_function", "gelu_new")])


def state_from(hf_state, config):
    """nanoGPT's state dict (NumPy arrays) of a GPT-2 state dict, ``transformers``' names and Conv1D layout:
    the ``transformer.`` prefix optional (a ``GPT2Model``'s), buffers dropped, Conv1D weights transposed after
    their shape is checked."""
    shapes = dict(layout.tensor_shapes(layout.Config(**config)))
    state, problems = {}, []
    for key, value in hf_state.items():
        name = key if not isinstance(key, str) or key.startswith(("transformer.", "lm_head.")) else f"transformer.{key}"
        if isinstance(name, str) and BUFFERS.fullmatch(name[len("transformer."):]):
            continue
        if isinstance(name, str) and ("crossattention" in name or "ln_cross_attn" in name):
            raise ValueError("this GPT-2 has cross-attention, which a fastnet GPT cannot hold")
        array = _array(value)
        if isinstance(name, str) and name.endswith(CONV1D) and name in shapes:
            expected = shapes[name][::-1]
            if array.shape != expected:
                problems.append(f"{key} has shape {array.shape}, not {expected} (Conv1D: in, out)")
                continue
            array = array.T
        state[name] = array
    if problems:
        raise ValueError("the GPT-2 weights do not fit its config: " + "; ".join(problems))
    return state


def _array(value):
    if hasattr(value, "detach"):  # a torch tensor; bfloat16 has no NumPy dtype
        value = value.detach().cpu()
        value = value.float() if str(value.dtype) == "torch.bfloat16" else value
        return value.numpy()
    return np.asarray(value)


def read_checkpoint(directory):
    """(config dict, state dict) of a Hugging Face checkpoint directory (config.json and its weights)."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{directory}: not a directory holding config.json and the weights of a GPT-2")
    config_path = os.path.join(directory, "config.json")
    if not os.path.exists(config_path):
        raise ValueError(f"{directory}: no config.json")
    hf_config = json_value(read_bytes(config_path), config_path)
    if not isinstance(hf_config, dict):
        raise ValueError(f"{config_path}: not a JSON object")
    files = _weight_files(directory)
    state = {}
    for path in files:
        state.update(_read_weights(path))
    return hf_config, state


def _weight_files(directory):
    for name in SINGLE_FILES:
        if os.path.exists(os.path.join(directory, name)):
            return [os.path.join(directory, name)]
    for name in INDEXES:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            index = json_value(read_bytes(path), path)
            shards = index.get("weight_map") if isinstance(index, dict) else None
            if not isinstance(shards, dict) or not all(isinstance(f, str) and os.path.basename(f) == f
                                                       for f in shards.values()):
                raise ValueError(f"{path}: its weight_map must map names to file names in the directory")
            return [os.path.join(directory, f) for f in dict.fromkeys(shards.values())]
    raise ValueError(f"{directory}: no weights ({', '.join(SINGLE_FILES + INDEXES)})")


def _read_weights(path):
    if path.endswith(".bin"):
        try:
            import torch
        except ImportError:
            raise ImportError("reading pytorch_model.bin needs PyTorch: pip install torch (or convert the "
                              "checkpoint to model.safetensors)") from None
        with open_for_reading(path) as file:
            try:
                return torch.load(file, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds for a file that is not one
                raise ValueError(f"{path}: not a PyTorch state dict ({type(exc).__name__}: {exc})") from None
    with safetensors.SafetensorsFile(path) as file:
        return {name: file.array(name) for name in file.tensor_names()}


def to_transformers(model):
    """A ``transformers.GPT2LMHeadModel`` (eval mode, the model's dtype) holding ``model``'s parameters."""
    try:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        raise ImportError("to_huggingface needs transformers and PyTorch: pip install fastnet[huggingface]") from None
    c = model.config
    hf_config = GPT2Config(vocab_size=c["vocab_size"], n_positions=c["context"], n_embd=c["n_embd"],
                           n_layer=c["n_layer"], n_head=c["n_head"], n_inner=None, layer_norm_epsilon=1e-5,
                           activation_function={"tanh": "gelu_new", "erf": "gelu"}[c["gelu"]], resid_pdrop=0.0,
                           embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True, bos_token_id=None,
                           eos_token_id=None)
    dtype = {np.dtype("float32"): torch.float32, np.dtype("float64"): torch.float64}[model.dtype]
    hf = GPT2LMHeadModel(hf_config).to(dtype).eval()
    ours = model.state_dict()
    with torch.no_grad():
        for name, parameter in hf.named_parameters():
            if name == layout.HEAD_NAME:
                continue  # tied to wte
            if name in ours:
                value = torch.from_numpy(np.ascontiguousarray(ours[name].T if name.endswith(CONV1D) else ours[name]))
                parameter.copy_(value)
            elif name.endswith(".bias"):  # a fastnet GPT without biases: GPT-2's are zero
                parameter.zero_()
            else:
                raise ValueError(f"GPT2LMHeadModel has {name}, which this GPT does not")
    return hf
