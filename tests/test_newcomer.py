"""What a newcomer meets first (issue 30): help that reads right, errors before any work, hints that work."""
import argparse
import concurrent.futures
import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from fastnet import cli


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fastnet.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _every_parser(parser, path=()):
    """(command words, parser) for the top parser and every subcommand's, nested ones too."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _every_parser(sub, path + (name,))


def test_no_help_text_shows_a_doubled_percent_sign():
    """Item 3: fastnet train --help printed "98.5%%"."""
    for path, parser in _every_parser(cli._parser()):
        text = parser.format_help()
        assert "%%" not in text, (path, text)


def test_no_option_may_be_abbreviated():
    """Item 3: --epoch 3 was silently taken as --epochs; every command refuses abbreviations alike."""
    for path, parser in _every_parser(cli._parser()):
        assert parser.allow_abbrev is False, path
    result = run("train", "--epoch", "3")
    assert result.returncode == 2 and "unrecognized arguments: --epoch 3" in result.stderr


@pytest.mark.parametrize("args, usage", [
    (["train", "--epochz", "3"], "usage: fastnet train"),
    (["gpt", "sample", "--tokenz", "3"], "usage: fastnet gpt sample"),
    (["serve", "--prot", "1"], "usage: fastnet serve"),
])
def test_an_unknown_option_shows_its_commands_usage(args, usage):
    """Item 3: train --epochz 3 printed the top-level usage instead of train's."""
    result = run(*args)
    assert result.returncode == 2 and result.stderr.startswith(usage) and "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["train", "--eta", "-1"], "--eta must be a positive finite number"),
    (["train", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["train", "--momentum", "1"], "--momentum must be"),
    (["train", "--lmbda", "-2"], "--lmbda must be"),
    (["show", "weights", "--eta", "nan"], "--eta must be a positive finite number"),
])
def test_training_options_are_checked_before_any_work(args, message, tmp_path):
    """Item 3: train --eta -1 was refused only after the data loaded and the header printed."""
    result = run(*args, "--data", tmp_path / "nothing-here", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and result.stdout == "", result


@pytest.mark.parametrize("command", ["sample", "next"])
def test_a_missing_gpt_says_how_to_make_one(command, tmp_path):
    """Item 3: gpt sample/next without gpt.npz said only "[Errno 2] No such file..."."""
    result = run("gpt", command, cwd=tmp_path)
    assert result.returncode == 2 and "fastnet gpt train" in result.stderr and "gpt.npz" in result.stderr, result
    assert len(result.stderr.splitlines()) == 1


def test_missing_peer_hints_name_the_package_to_install(monkeypatch):
    """Item 2: the bench said "pip install sklearn" (a deprecated placeholder on PyPI) for scikit-learn."""
    from fastnet.bench import peers
    real = peers.importlib.import_module

    def no_peers(name, *args):
        if name in ("sklearn", "jax", "torch"):
            raise ImportError(f"no {name}")
        return real(name, *args)

    monkeypatch.setattr(peers.importlib, "import_module", no_peers)
    hints = {module: peers.Contender.missing(type("C", (peers.Contender,), {"requires": (module,)})())
             for module in ("sklearn", "jax", "torch")}
    assert hints["sklearn"].endswith("pip install scikit-learn")
    assert hints["jax"].endswith("pip install jax jaxlib")
    assert hints["torch"].endswith("pip install torch")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_gpt_training_shows_its_progress_after_every_evaluation(monkeypatch):
    """Item 1: the step counter vanished after step 0's evaluation (the bar was closed there, for good)."""
    import fastnet
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    model = fastnet.GPT(10, context=4, n_layer=1, n_head=1, n_embd=4, backend="numpy", seed=0)
    kernels = model.kernels

    class Slow:  # steps long enough for tqdm to redraw (it redraws at most every 0.1 s)
        def __getattr__(self, name):
            return getattr(kernels, name)

        def loss_and_gradient(self, *args):
            time.sleep(0.15)
            return kernels.loss_and_gradient(*args)

    model._kernels = Slow()
    model.fit(np.arange(200) % 10, iters=6, eval_interval=3, eval_batches=1, seed=0, progress=True)
    shown = screen.getvalue()
    assert "4/6" in shown and "6/6" in shown, shown


def test_a_long_first_compilation_is_never_silent():
    """Item 1: the first fastnet train said it was compiling, then nothing for 86 s; a heartbeat now counts."""
    from fastnet.core.progress import Heartbeat
    log = io.StringIO()
    with Heartbeat("compiling the Numba kernel x (float32)", note="once", delay=0.0, interval=0.2, stream=log):
        time.sleep(1.1)
    lines = log.getvalue().splitlines()
    assert lines[0] == "fastnet: compiling the Numba kernel x (float32) (once)"
    assert sum(line.startswith("fastnet: still compiling the Numba kernel x (float32): ") for line in lines) >= 3
    assert lines[-1].startswith("fastnet: done compiling the Numba kernel x (float32) in 1.")
    quiet = io.StringIO()
    with Heartbeat("compiling y", delay=5.0, stream=quiet):
        pass
    assert quiet.getvalue() == ""  # quick work: nothing said


def test_a_long_first_call_of_a_cached_kernel_is_not_called_compiling(monkeypatch, capsys):
    """A GPT-2-sized first step ran 3 s and fastnet said "compiling the Numba kernel GPT loss_and_gradient ...
    done compiling in 3.0 s" although the kernel came from the cache: only compiling (or loading) is announced."""
    pytest.importorskip("numba")
    from fastnet.backends.numba import gpt as numba_gpt, mlp as numba_mlp

    class CachedKernel:  # a dispatcher whose machine code loads at once and whose call takes a while
        def typeof_pyval(self, value):
            return type(value)

        def compile(self, signature):
            pass

        def __call__(self, params, *rest):
            time.sleep(0.5)
            return "ran"

    monkeypatch.setattr(numba_mlp, "COMPILE_NOTICE_SECONDS", 0.1)
    monkeypatch.setattr(numba_mlp, "_never_cached", lambda kernel: False)
    call = numba_gpt._announced("cached_test_kernel", CachedKernel())  # a name no other test compiles
    assert call(np.zeros(3, np.float32), 1) == "ran"
    assert "compiling" not in capsys.readouterr().err


def test_a_kernel_first_called_by_two_threads_is_announced_and_compiled_once(monkeypatch, capsys):
    """A first `fastnet gpt train --backend numba` on two threads said "compiling the Numba kernel GPT
    loss_and_gradient" twice, and twice "done": each thread of the pool announced the compile it waited for."""
    pytest.importorskip("numba")
    from fastnet.backends.numba import gpt as numba_gpt, mlp as numba_mlp

    class SlowToCompile:  # a dispatcher that compiles for a while, once
        compiled = 0

        def typeof_pyval(self, value):
            return type(value)

        def compile(self, signature):
            time.sleep(0.5)
            SlowToCompile.compiled += 1

        def __call__(self, params, *rest):
            return "ran"

    monkeypatch.setattr(numba_mlp, "_never_cached", lambda kernel: True)
    call = numba_gpt._announced("two_threads_test_kernel", SlowToCompile())
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: call(np.zeros(3, np.float32), 1), range(2)))
    assert results == ["ran", "ran"]
    assert SlowToCompile.compiled == 1
    said = capsys.readouterr().err
    assert said.count("fastnet: compiling the Numba kernel GPT two_threads_test_kernel") == 1, said
    assert said.count("done compiling") == 1, said


def test_output_into_a_closed_pipe_ends_quietly():
    """`fastnet info | grep -q cython` closed the pipe early and fastnet printed "error: [Errno 32] Broken pipe"
    (found by CI's release check): a reader that stops reading is not an error to report."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone before fastnet writes its first line
    result = subprocess.run([sys.executable, "-m", "fastnet.cli", "info"], stdout=writer, stderr=subprocess.PIPE,
                            text=True, timeout=300)
    os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 141  # what a shell reports for a command ended by a closed pipe (128 + SIGPIPE)
