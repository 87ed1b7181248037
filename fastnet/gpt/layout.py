"""Where each of the GPT's tensors lives in its one flat parameter vector.

The tensors, in order, with nanoGPT's names and shapes (C = n_embd, V =
vocab_size; the parts in brackets exist only with ``bias=True``)::

    transformer.wte.weight              (V, C)        token embeddings, also the output head
    transformer.wpe.weight              (context, C)  position embeddings
    for each block i:
    transformer.h.{i}.ln_1.weight       (C,)          [ln_1.bias (C,)]
    transformer.h.{i}.attn.c_attn.weight (3C, C)      [c_attn.bias (3C,)]   q, k, v side by side
    transformer.h.{i}.attn.c_proj.weight (C, C)       [c_proj.bias (C,)]
    transformer.h.{i}.ln_2.weight       (C,)          [ln_2.bias (C,)]
    transformer.h.{i}.mlp.c_fc.weight   (4C, C)       [c_fc.bias (4C,)]
    transformer.h.{i}.mlp.c_proj.weight (C, 4C)       [c_proj.bias (C,)]
    transformer.ln_f.weight             (C,)          [ln_f.bias (C,)]

Linear weights are ``(out, in)`` as in ``torch.nn.Linear``: y = x Wᵀ + b.
``lm_head.weight`` is not stored: it is tied to ``transformer.wte.weight``.
Gradients and the optimizer's moments use the same layout.
"""
import collections

import numpy as np

Linear = collections.namedtuple("Linear", "weight bias")       # bias is None without biases
Norm = collections.namedtuple("Norm", "weight bias")
Block = collections.namedtuple("Block", "ln_1 c_attn attn_proj ln_2 c_fc mlp_proj")
Op = collections.namedtuple("Op", "kind weights input output")  # weights: a Block field, or None

# One transformer block as the ops it runs: forward and decode walk it top to bottom, backward bottom to
# top. ``input`` and ``output`` name the block's values; "x" is the residual stream and an output "x+"
# is added to it (x = x + op(...)). Every implementation follows this table: the NumPy reference walks
# it, the compiled ones call their ops in its order (tests/test_structure.py reads them to check).
BLOCK_OPS = (
    Op("layernorm", "ln_1", "x", "h1"),
    Op("linear", "c_attn", "h1", "qkv"),       # q, k, v side by side
    Op("attention", None, "qkv", "y"),         # the vectors talk to each other
    Op("linear", "attn_proj", "y", "x+"),
    Op("layernorm", "ln_2", "x", "h2"),
    Op("linear", "c_fc", "h2", "u"),
    Op("gelu", None, "u", "g"),                # each vector on its own
    Op("linear", "mlp_proj", "g", "x+"),
)
Tensors = collections.namedtuple("Tensors", "wte wpe h ln_f")  # h: one Block per layer

HEAD_NAME = "lm_head.weight"
TIED_NAME = "transformer.wte.weight"

# The tensor index the compiled kernels read (``fastnet.backends.compiled_gpt.tensor_index``): where each tensor
# starts in the flat vector, the whole model's first, then each block's (weight and bias of each of
# BLOCK_TENSORS). Compiled code names its entries by these constants, never by bare numbers.
GLOBAL_TENSORS = ("transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight",
                  "transformer.ln_f.bias")
WTE, WPE, LN_F_WEIGHT, LN_F_BIAS = range(len(GLOBAL_TENSORS))
BLOCK_TENSORS = ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj")
(LN_1_WEIGHT, LN_1_BIAS, C_ATTN_WEIGHT, C_ATTN_BIAS, ATTN_PROJ_WEIGHT, ATTN_PROJ_BIAS, LN_2_WEIGHT, LN_2_BIAS,
 C_FC_WEIGHT, C_FC_BIAS, MLP_PROJ_WEIGHT, MLP_PROJ_BIAS) = range(2 * len(BLOCK_TENSORS))
PER_BLOCK = 2 * len(BLOCK_TENSORS)


def index_names(n_layer):
    """The names of the tensor index's entries, in order: GLOBAL_TENSORS, then each block's weights and biases."""
    return list(GLOBAL_TENSORS) + [f"transformer.h.{layer}.{tensor}.{part}" for layer in range(n_layer)
                                   for tensor in BLOCK_TENSORS for part in ("weight", "bias")]


# The GELU of the MLPs: "erf", the exact x Φ(x) (nanoGPT, torch.nn.GELU()), or "tanh", GPT-2's approximation
# ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))) (transformers' gelu_new, GELU(approximate="tanh")). A GELU's code
# for the compiled kernels is its index.
GELUS = ("erf", "tanh")
GELU_ERF, GELU_TANH = range(len(GELUS))


class Config(collections.namedtuple("Config", "vocab_size context n_layer n_head n_embd bias gelu",
                                    defaults=("erf",))):
    """The GPT's shape and its GELU; ``head_size`` = n_embd / n_head."""

    @property
    def head_size(self):
        return self.n_embd // self.n_head


def check_config(config):
    """``config`` if every size is a positive integer, n_embd a multiple of n_head (the heads split the
    width evenly) and gelu one of GELUS; ValueError naming what is wrong. The one check of a GPT's shape: the
    model, its files and the compiled kernels all call it."""
    for name in ("vocab_size", "context", "n_layer", "n_head", "n_embd"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if config.gelu not in GELUS:
        raise ValueError(f"gelu must be one of {', '.join(map(repr, GELUS))}; got {config.gelu!r}")
    if config.n_embd % config.n_head:
        raise ValueError(f"n_embd must be a multiple of n_head; got n_embd={config.n_embd}, n_head={config.n_head}")
    return config


def tensor_shapes(config):
    """(name, shape) of every tensor in the order of the flat vector (see the module docstring), one at a time: a
    config may claim more layers than could be listed (``count_params`` counts them by arithmetic)."""
    C = config.n_embd
    yield TIED_NAME, (config.vocab_size, C)
    yield "transformer.wpe.weight", (config.context, C)

    def layer(prefix, out_features, in_features=None):
        yield f"{prefix}.weight", (out_features,) if in_features is None else (out_features, in_features)
        if config.bias:
            yield f"{prefix}.bias", (out_features,)

    for i in range(config.n_layer):
        block = f"transformer.h.{i}"
        yield from layer(f"{block}.ln_1", C)  # a LayerNorm: weight (and bias) of C
        yield from layer(f"{block}.attn.c_attn", 3 * C, C)
        yield from layer(f"{block}.attn.c_proj", C, C)
        yield from layer(f"{block}.ln_2", C)
        yield from layer(f"{block}.mlp.c_fc", 4 * C, C)
        yield from layer(f"{block}.mlp.c_proj", C, 4 * C)
    yield from layer("transformer.ln_f", C)


def count_params(config):
    """Number of values in the flat vector (the tied head counted once), by arithmetic: O(1) for any n_layer.

    Each block holds 12·C² + 2·C values (c_attn 3C², attn c_proj C², c_fc and
    mlp c_proj 4C² each, two LayerNorm weights), plus 11·C biases with ``bias``.
    """
    C, bias = config.n_embd, bool(config.bias)
    block = 12 * C * C + 2 * C + (11 * C if bias else 0)
    return (config.vocab_size + config.context) * C + config.n_layer * block + C * (2 if bias else 1)


def named_views(flat, config):
    """{name: view into ``flat``} for every tensor, in order; writing a view writes ``flat``."""
    views, offset = {}, 0
    for name, shape in tensor_shapes(config):
        size = int(np.prod(shape))
        views[name] = flat[offset:offset + size].reshape(shape)
        offset += size
    return views


def tensors(flat, config):
    """The views of ``flat`` grouped as the model uses them: ``Tensors(wte, wpe, h, ln_f)``."""
    views = named_views(flat, config)

    def part(kind, prefix):
        return kind(views[f"{prefix}.weight"], views.get(f"{prefix}.bias"))

    blocks = [Block(part(Norm, f"transformer.h.{i}.ln_1"), part(Linear, f"transformer.h.{i}.attn.c_attn"),
                    part(Linear, f"transformer.h.{i}.attn.c_proj"), part(Norm, f"transformer.h.{i}.ln_2"),
                    part(Linear, f"transformer.h.{i}.mlp.c_fc"), part(Linear, f"transformer.h.{i}.mlp.c_proj"))
              for i in range(config.n_layer)]
    return Tensors(views[TIED_NAME], views["transformer.wpe.weight"], blocks, part(Norm, "transformer.ln_f"))


def decayed(config, dtype=np.float64):
    """A 0/1 vector in the flat layout: 1 on the tensors AdamW decays (the 2-D ones, as nanoGPT), 0 elsewhere."""
    mask = np.zeros(count_params(config), dtype)
    for view in named_views(mask, config).values():
        if view.ndim >= 2:
            view[...] = 1
    return mask
