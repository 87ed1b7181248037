"""The contract of a compiled implementation: the drivers it provides and the positional parameters of each.

The kernel functions users call (``fastnet.backends.KERNELS`` and
``GPT_KERNELS``, documented by the NumPy reference) are the same Python code
for every compiled implementation: ``compiled_mlp`` and ``compiled_gpt`` check
the arguments, allocate the outputs and work arrays, and call the drivers
below, which must do exactly what their entry says to arrays that are already
checked: C-contiguous, of the dtype stated, of the shapes stated, index
ranges valid. A new implementation (one folder beside ``numba/`` and
``cython/``, one line in ``fastnet.backends._BACKENDS``) provides these
drivers; ``check_drivers`` refuses it at import if one is missing or takes
other parameters, and tests/test_contract.py runs that check on every
implementation present. Compiled code never sees unchecked input.

Shapes: n rows of X with n_0 inputs each; ``sizes`` (L + 1,) int64 the layer
widths; P parameters (``fastnet.mlp.layout``, ``fastnet.gpt.layout``); codes
from ``fastnet.core.codes``. ``real`` is float32 or float64, the same for
every real array of a call.
"""
import inspect

from ..core.codes import ACTIVATIONS

# name -> (positional parameters, what it does)
MLP_DRIVERS = {
    "count_nonzeros": (("source", "width", "counts"),
                       "counts (n,) int64 = the nonzeros of each row of source (n * width,) real; returns the first "
                       "row holding NaN or an infinity, or -1"),
    "to_csr": (("source", "width", "table", "indptr", "indices", "values"),
               "the nonzeros of each row of source as CSR rows: indptr (n + 1,) int64 counted by count_nonzeros, "
               "indices uint16 and values real of indptr[-1] + 1 entries; table (256,) real: uint8 pixels' values"),
    "csr_matches": (("source", "width", "table", "indptr", "indices", "values"),
                    "whether every row of source has exactly the nonzeros of its CSR row (a prepared X unchanged)"),
    "feedforward_kernel": (("params", "sizes", "activation", "output", "mode", "dense", "indptr", "indices",
                            "values", "examples", "out", "labels"),
                           "for each of the first examples inputs (mode: dense rows or CSR rows): out (examples, "
                           "n_L) = a_L when out has rows, labels (examples,) int64 = argmax a_L when labels has rows"),
    "matvec_kernel": (("params", "sizes", "activation", "output", "X", "out"),
                      "out (n, n_1 + ... + n_L) = every layer's activations for each row of X (n, n_0), side by side"),
    "gradient_kernel": (("params", "sizes", "activation", "output", "cost", "mode", "dense", "indptr", "indices",
                         "values", "examples", "targets", "grad"),
                        "grad (P,) = the mean of ∇C_x over the first examples inputs and targets (examples, n_L)"),
    "sgd_epoch_kernel": (("params", "sizes", "activation", "output", "cost", "mode", "dense", "indptr", "indices",
                          "values", "targets", "order", "batch_size", "eta", "l2", "momentum", "velocity",
                          "measured"),
                         "one epoch of mini-batch SGD over the examples in order (int64), params (P,) and velocity "
                         "(P, or empty) updated in place; measured (2, or empty) += Σ C_x and the count right"),
}

GPT_DRIVERS = {
    "forward": (("params", "index", "n_head", "gelu", "tokens", "acts", "training", "keys_values_only"),
                "fill acts (compiled_gpt.Activations) for tokens (B, T) int64, up to the logits (B * T, V); "
                "keys_values_only: up to the last block's acts.qkv (every block's keys and values), no further"),
    "loss": (("params", "index", "n_head", "gelu", "tokens", "targets", "acts"),
             "the mean cross-entropy (float64) of the logits for tokens against targets (B, T) int64"),
    "loss_and_gradient": (("params", "index", "n_head", "gelu", "tokens", "targets", "acts", "deltas", "grad"),
                          "the loss, and grad (P,) = ∂loss/∂params, overwritten (deltas: compiled_gpt.Deltas)"),
    "decode_step": (("params", "index", "n_head", "gelu", "tokens", "position", "cache", "work", "logits"),
                    "logits (B, V) for tokens (B,) appended at position, reading and extending the key/value cache "
                    "(n_layer, 2, B, n_head, context, head size); work: compiled_gpt.DecodeWork"),
    "decode_from": (("params", "index", "n_head", "gelu", "first_layer", "position", "cache", "work", "logits"),
                    "logits (B, V) of work.x (B, C), the residual stream entering block first_layer at position, "
                    "through that block and the ones after it as decode_step's, then the head"),
    "sample": (("logits", "temperature", "top_k", "uniforms", "weights", "tokens"),
               "tokens (B,) int64: each row of logits (B, V) drawn with its uniform (B,) float64, -1 where the "
               "logits have no distribution (numpy_gpt.sample_tokens); weights (2, V) float64: work"),
    "decode_tokens": (("params", "index", "n_head", "gelu", "tokens", "position", "cache", "work", "logits",
                       "uniforms", "temperature", "top_k", "weights", "drawn"),
                      "drawn (n, B) int64: n = len(uniforms) steps of decode_step and sample from tokens (B,) "
                      "at position (numpy_gpt.decode_tokens); returns the rows drawn (fewer after a row with -1)"),
    "adamw": (("params", "grad", "m", "v", "decay_mask", "step", "lr", "beta1", "beta2", "eps", "weight_decay",
               "clip"),
              "one AdamW step after clipping grad's norm to clip (0: no clipping), in place; returns the norm"),
    "bpe_merges": (("ids", "word_of", "weights", "vocab_size"),
                   "the merges (n, 2) int64 learned from the words in ids (int64), new tokens 256 up to vocab_size"),
}


def check_activations(implementation, handled):
    """Raise ImportError unless ``handled`` (the activation codes an implementation's compiled switch has a branch
    for) is every activation of ``fastnet.core.codes``: a code without its branch would run another function."""
    missing = [name for code, name in enumerate(ACTIVATIONS) if code not in handled]
    if missing or len(set(handled)) != len(ACTIVATIONS):
        raise ImportError(f"the {implementation} implementation has no compiled branch for the activation(s) "
                          f"{', '.join(missing) or '(unknown codes)'} of fastnet.core.codes")


def parameters(function):
    """The parameter names of a driver (a Numba dispatcher's Python function, a Cython function's own)."""
    return tuple(inspect.signature(getattr(function, "py_func", function)).parameters)


def check_drivers(implementation, drivers, table):
    """Raise ImportError unless ``drivers`` (name -> function) holds every driver of ``table`` with its parameters."""
    problems = []
    for name, (expected, _) in table.items():
        function = drivers.get(name)
        if function is None:
            problems.append(f"no {name}")
        elif parameters(function) != expected:
            problems.append(f"{name}({', '.join(parameters(function))}) instead of {name}({', '.join(expected)})")
    if problems:
        raise ImportError(f"the {implementation} implementation breaks the backend contract: {'; '.join(problems)}")
