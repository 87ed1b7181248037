"""The fastnet command line, run as a user would run it."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from test_mnist import fake_idx_set

import fastnet


def run(*args, env=None):
    environment = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "fastnet.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=300)


def test_info():
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert f"fastnet {fastnet.__version__}" in result.stdout
    assert "numpy    usable" in result.stdout and "numpy " in result.stdout and "cpu:" in result.stdout
    assert "auto -> " in result.stdout


def test_train_and_save(mnist, tmp_path):
    directory = tmp_path / "data"
    fake_idx_set(directory, train=200, test=50)
    saved = tmp_path / "net.npz"
    result = run("train", "--data", str(directory), "--no-verify", "--sizes", "784,8,10", "--epochs", "2",
                 "--eta", "1.5", "--seed", "3", "--save", str(saved))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("Epoch")]
    assert len(epochs) == 2 and "test accuracy" in epochs[0] and "/50)" in epochs[0] and "cost" in epochs[0]
    assert "13,002" not in result.stdout and "6,370 parameters" in result.stdout
    net = fastnet.load(saved)
    assert net.sizes == [784, 8, 10]
    # The same seed reproduces the saved parameters exactly.
    again = tmp_path / "again.npz"
    run("train", "--data", str(directory), "--no-verify", "--sizes", "784,8,10", "--epochs", "2",
        "--eta", "1.5", "--seed", "3", "--save", str(again))
    np.testing.assert_array_equal(fastnet.load(again).params, net.params)


def test_train_defaults_to_the_3blue1brown_network_on_the_shipped_mnist(tmp_path):
    result = run("train", "--epochs", "1", "--no-download",
                 env={"FASTNET_CACHE": str(tmp_path), "FASTNET_DATA": ""})
    assert result.returncode == 0, result.stderr
    assert "Network([784, 16, 16, 10], activation='sigmoid'" in result.stdout and "13,002 parameters" in result.stdout
    assert "batch size 10, eta 3.0" in result.stdout
    assert "MNIST shipped with fastnet; 60,000 training, 10,000 test images" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--sizes", "784"], "sizes must list at least two layers"),
    (["train", "--sizes", "784,x,10"], "comma-separated layer widths"),
    (["train", "--eta", "-1", "--no-download"], "eta must be a positive finite number"),
    (["train", "--batch-size", "0", "--no-download"], "--batch-size must be at least 1"),
    (["train", "--backend", "fortran"], "backend must be one of"),
    (["train", "--data", "/nonexistent"], "lacks the MNIST files"),
    (["train", "--sizes", "100,10", "--no-download"], r"shape \(100,\)"),
])
def test_bad_arguments_give_one_clear_line(args, message, tmp_path):
    result = run(*args, env={"FASTNET_CACHE": str(tmp_path), "FASTNET_DATA": ""})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_missing_numba_is_skipped_and_explained():
    code = ("import sys; sys.modules['numba'] = None; import fastnet, fastnet.cli; "
            "print(fastnet.backends.available()); print(fastnet.Network([4, 2]).backend); fastnet.cli.main(['info'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    usable = eval(lines[0])  # the printed list of usable backends
    assert "numba" not in usable and lines[1] == usable[0]
    assert any(re.match(r"numba +not usable: (ModuleNotFound|Import)Error", line.strip()) for line in lines)
    code = "import sys; sys.modules['numba'] = None; import fastnet; fastnet.Network([4, 2], backend='numba')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "BackendUnavailable" in result.stderr and 'pip install numba' in result.stderr


def test_train_with_validation_checkpoint_and_resume(tmp_path):
    directory = tmp_path / "data"
    fake_idx_set(directory, train=200, test=50)
    common = ["train", "--data", str(directory), "--no-verify", "--sizes", "784,8,10", "--cost", "log_likelihood",
              "--init", "xavier", "--eta", "0.5", "--lmbda", "2", "--momentum", "0.5", "--seed", "3",
              "--validation-size", "40", "--halve-eta-patience", "1"]
    first = run(*common, "--epochs", "2", "--checkpoint", str(tmp_path / "run.npz"), "--resume")
    assert first.returncode == 0, first.stderr
    assert "resuming" not in first.stdout and "validation" in first.stdout and "eta" in first.stdout
    resumed = run(*common, "--epochs", "4", "--checkpoint", str(tmp_path / "run.npz"), "--resume",
                  "--save", str(tmp_path / "resumed.npz"), "--curves", str(tmp_path / "curves.png"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    assert [line.split(":")[0] for line in resumed.stdout.splitlines() if line.startswith("Epoch")] == \
        ["Epoch   3/4", "Epoch   4/4"]
    whole = run(*common, "--epochs", "4", "--save", str(tmp_path / "whole.npz"))
    assert whole.returncode == 0, whole.stderr
    np.testing.assert_array_equal(fastnet.load(tmp_path / "resumed.npz").params,
                                  fastnet.load(tmp_path / "whole.npz").params)
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("picture, expected", [
    ("weights", None), ("curves", "training accuracy"), ("confusion", "most often confused"),
    ("junk", "largest output median"), ("archetype", "L2 + blur: the network's output"),
])
def test_show_draws_every_picture(picture, expected, tmp_path):
    pytest.importorskip("matplotlib")
    directory = tmp_path / "data"
    fake_idx_set(directory, train=100, test=30)
    out = tmp_path / f"{picture}.png"
    result = run("show", picture, "--data", str(directory), "--no-verify", "--sizes", "784,9,10", "--epochs", "1",
                 "--seed", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG") and f"drawn to {out}" in result.stdout
    if expected:
        assert expected in result.stdout
    if picture == "junk":  # the sigmoid/quadratic network against a softmax one
        assert "quadratic, sigmoid" in result.stdout and "log_likelihood, softmax" in result.stdout


def test_show_reads_saved_networks_and_refuses_bad_ones(tmp_path):
    pytest.importorskip("matplotlib")
    directory = tmp_path / "data"
    fake_idx_set(directory, train=100, test=30)
    path = fastnet.Network([784, 4, 10], seed=0).save(tmp_path / "net.npz")
    result = run("show", "weights", "--data", str(directory), "--no-verify", "--model", str(path), "--out",
                 str(tmp_path / "w.png"))
    assert result.returncode == 0, result.stderr
    assert "Epoch" not in result.stdout  # nothing trained: the saved network was drawn
    (tmp_path / "broken.npz").write_bytes(b"junk")
    result = run("show", "weights", "--data", str(directory), "--no-verify", "--model", str(tmp_path / "broken.npz"))
    assert result.returncode == 2 and "not a readable fastnet network file" in result.stderr
    assert "Traceback" not in result.stderr


def test_what_a_newcomer_tripped_on(tmp_path):
    """Issue 16's list: the output width, a missing matplotlib, data loaded only when needed, and the wording."""
    result = run("train", "--sizes", "784,16,16", "--epochs", "1")
    assert result.returncode == 2 and "--sizes must end with 10 output neurons, one per digit" in result.stderr
    code = ("import sys; sys.modules['matplotlib'] = None; from fastnet.cli import main; "
            "sys.exit(main(['show', 'weights']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2 and "drawing needs matplotlib" in result.stderr and "Epoch" not in result.stdout
    saved = tmp_path / "net.npz"
    fastnet.Network([784, 16, 16, 10], seed=0).save(saved)
    empty = tmp_path / "no-mnist-here"
    empty.mkdir()
    result = run("show", "weights", "--model", str(saved), "--out", str(tmp_path / "w.png"),
                 env={"FASTNET_DATA": str(empty)})  # a picture of a saved network reads no data
    assert result.returncode == 0, result.stderr
    assert "data:" not in result.stdout and (tmp_path / "w.png").exists()
    info = run("info").stdout
    assert "Cython (the compiler, needed only to build the extension at install)" in info
    help_text = run("train", "--help").stdout
    assert "Train a network on MNIST" in help_text and "the same seed gives" in help_text
