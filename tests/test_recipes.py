"""The change recipes of docs/architecture.md, carried out: a throwaway activation added to a temporary copy of
the package by following the recipe's steps, then used."""
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

import fastnet

RECIPE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} no longer has {old!r} where the recipe says"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_new_activation_by_the_recipe(tmp_path):
    """Softsign, f(z) = z / (1 + |z|) with f' = (1 − |a|)², added by steps 1, 2 and 5 of the recipe: the NumPy
    reference trains with it and its gradient equals finite differences, the CLI offers it, PyTorch export
    carries it, and both compiled backends, whose switch (steps 3-4) was not extended, refuse by the
    activation's name instead of computing another function."""
    recipe = RECIPE.read_text(encoding="utf-8")
    for place in ("fastnet/core/codes.py", "fastnet/backends/numpy/mlp.py", "ACTIVATION_FUNCTIONS",
                  "DERIVATIVE_NEEDS_Z", "fastnet/mlp/export.py", "TORCH_ACTIVATIONS", "HANDLED_ACTIVATIONS"):
        assert place in recipe
    copy = tmp_path / "fastnet"
    shutil.copytree(pathlib.Path(fastnet.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # Step 1: its name, whether f' needs z, and its code's constant.
    codes = copy / "core" / "codes.py"
    _edit(codes, '"gelu": True}', '"gelu": True, "softsign": False}')
    _edit(codes, "SIGMOID, RELU, TANH, GELU = range", "SIGMOID, RELU, TANH, GELU, SOFTSIGN = range")
    # Step 2: the function and its derivative, paired in the reference's table.
    mlp = copy / "backends" / "numpy" / "mlp.py"
    _edit(mlp, "from ...core.codes import (", "from ...core.codes import (SOFTSIGN, ")
    _edit(mlp, "    GELU: (gelu, gelu_derivative),\n", "    GELU: (gelu, gelu_derivative),\n"
          "    SOFTSIGN: (lambda z, out: np.divide(z, 1 + np.abs(z), out=out),\n"
          "               lambda a, z, out: np.square(1 - np.abs(a), out=out)),\n")
    # Step 5: the PyTorch module it is.
    _edit(copy / "mlp" / "export.py", '"gelu": "GELU"}', '"gelu": "GELU", "softsign": "Softsign"}')
    program = textwrap.dedent("""
        import numpy as np
        import fastnet
        try:
            import torch
        except ImportError:
            torch = None
        import contextlib, io
        from fastnet.cli import main
        assert fastnet.__file__.startswith(%r), fastnet.__file__
        rng = np.random.default_rng(0)
        X, y = rng.random((40, 6)), rng.integers(0, 3, 40)
        net = fastnet.Network([6, 5, 3], activation="softsign", backend="numpy", seed=1, dtype=np.float64)
        grad = net.gradient(X[:4], y[:4])
        numeric = np.zeros_like(grad)
        params = net.params
        for i in range(params.size):
            saved = params[i]
            params[i] = saved + 1e-6; up = net.cost(X[:4], y[:4])
            params[i] = saved - 1e-6; down = net.cost(X[:4], y[:4])
            params[i] = saved
            numeric[i] = (up - down) / 2e-6
        assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-8), abs(grad - numeric).max()
        before = net.cost(X, y)
        net.fit(X, y, epochs=20, batch_size=5, eta=3.0)
        assert net.cost(X, y) < before
        if torch is not None:
            assert np.allclose(net.to_torch().double()(torch.from_numpy(X)).detach().numpy(), net.feedforward(X))
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):
            main(["train", "--help"])
        assert "softsign" in shown.getvalue(), shown.getvalue()
        for backend in %r:
            try:
                fastnet.Network([6, 5, 3], activation="softsign", backend=backend)
            except Exception as error:
                assert "softsign" in str(error), (backend, error)
            else:
                raise AssertionError(backend + " accepted an activation it has no branch for")
        print("ok" if torch is not None else "ok without torch")
    """) % (str(copy), [name for name in ("numba", "cython") if name in fastnet.backends.available()])
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0 and result.stdout.strip().startswith("ok"), result.stderr[-3000:]
    if result.stdout.strip() == "ok without torch":
        pytest.skip("torch is not installed: step 5 (the PyTorch export) was not checked")
