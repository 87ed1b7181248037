"""Backend selection: which module runs the network's kernels.

A backend is a module that provides every function named in ``KERNELS`` with
the same arguments and semantics as the NumPy reference
(``fastnet.backends.numpy.mlp``, which documents them). Backends are
imported only when first used, so ``import fastnet`` compiles nothing.

``"auto"`` means the ``FASTNET_BACKEND`` environment variable when it is set,
otherwise the first usable backend in ``AUTO_ORDER``, ordered by what the user
pays, start-up included: the precompiled Cython extension when it was built
(nothing compiles, it loads in milliseconds and runs the code for this CPU's
level, ``cpu_levels``), then Numba (as fast once compiled, but its first run
compiles for about 15 s and every process pays about a second to load it), then
the NumPy reference.
"""
import importlib
import os

KERNELS = ("prepare_inputs", "feedforward", "activations", "predict", "backprop", "gradient", "sgd_epoch")
# The GPT's kernels (``fastnet.GPT``), documented in the NumPy reference ``numpy_gpt``.
GPT_KERNELS = ("logits", "attention_weights", "loss", "loss_and_gradient", "new_cache", "prefill", "decode_step",
               "sample_tokens", "decode_tokens", "adamw_step", "bpe_merges")

# name -> (its package, how to make it usable), in auto's order of preference. A backend is a folder here whose
# ``mlp`` and ``gpt`` modules provide KERNELS and GPT_KERNELS (compiled ones: over the drivers of ``contract``).
_BACKENDS = {
    "cython": ("fastnet.backends.cython",
               "reinstall fastnet where a C compiler is available (pip install . builds the extension)"),
    "numba": ("fastnet.backends.numba", 'pip install numba'),
    "numpy": ("fastnet.backends.numpy", "NumPy is a dependency of fastnet: pip install numpy"),
}
AUTO_ORDER = tuple(_BACKENDS)
ENVIRONMENT_VARIABLE = "FASTNET_BACKEND"

_modules = {}
_failures = {}


class BackendUnavailable(ImportError):
    """A requested backend is known but cannot be used here."""


def names():
    """Every backend fastnet knows, usable here or not."""
    return tuple(_BACKENDS)


def _import(name):
    if name in _modules:
        return _modules[name]
    if name in _failures:
        return None
    module_name = _BACKENDS[name][0] + ".mlp"
    try:
        module = importlib.import_module(module_name)
        missing = [kernel for kernel in KERNELS if not callable(getattr(module, kernel, None))]
        if missing:
            raise ImportError(f"{module_name} lacks kernels {missing}")
    except Exception as exc:  # an unusable backend must never break fastnet itself
        _failures[name] = f"{type(exc).__name__}: {exc}"
        return None
    _modules[name] = module
    return module


def why_unavailable(name):
    """Why backend ``name`` cannot be used, or None when it can."""
    check_name(name)
    return None if _import(name) is not None else _failures[name]


def _usable():
    """The usable backends in auto's order, each imported only when the one before it is unusable."""
    return (name for name in AUTO_ORDER if _import(name) is not None)


def available():
    """Names of the backends usable here, in auto's order of preference."""
    return list(_usable())


def check_name(name, *, allow_auto=False):
    """Raise ValueError unless ``name`` names a backend (or "auto" when allowed)."""
    known = (("auto",) if allow_auto else ()) + names()
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"backend must be one of {', '.join(map(repr, known))}; got {name!r}")
    return name


def resolve(name="auto"):
    """The concrete backend name for ``name`` ("auto" or a backend name)."""
    check_name(name, allow_auto=True)
    if name == "auto":
        forced = os.environ.get(ENVIRONMENT_VARIABLE)
        if forced:
            if forced not in names():
                raise ValueError(
                    f"{ENVIRONMENT_VARIABLE}={forced!r} is not a backend; "
                    f"expected one of {', '.join(map(repr, names()))}"
                )
            return forced
        return next(_usable())  # imports no backend past the one it picks
    return name


def load(name):
    """The kernel module of backend ``name``; raises BackendUnavailable with a fix."""
    name = resolve(name)
    module = _import(name)
    if module is None:
        raise BackendUnavailable(
            f"the {name!r} backend is not usable here ({_failures[name]}); "
            f"to install it: {_BACKENDS[name][1]}"
        )
    return module


def load_gpt(name):
    """(backend name, GPT kernel module) for ``name``; "auto" is the first backend whose GPT kernels load.

    Raises BackendUnavailable, with a fix, for a named backend that cannot run here.
    """
    resolved = resolve(name)
    if name == "auto" and not os.environ.get(ENVIRONMENT_VARIABLE):
        candidates = _usable()
    else:
        load(resolved)  # a backend that cannot run here says how to install it
        candidates = [resolved]
    failures, tried = [], []
    for candidate in candidates:
        tried.append(candidate)
        try:
            return candidate, importlib.import_module(_BACKENDS[candidate][0] + ".gpt")
        except Exception as exc:  # e.g. a partial build: the MLP extension without the GPT's
            failures.append(f"{candidate}: {type(exc).__name__}: {exc}")
    raise BackendUnavailable(f"no GPT kernels could be loaded for backend {name!r} ({'; '.join(failures)}); "
                             f"to install: {_BACKENDS[tried[0]][1]}")
