"""Data-parallel GPT training on MPI (``mpiexec -n 2``) against one process with the whole batch."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import fastnet  # noqa: E402

HERE = os.path.dirname(__file__)


def _mpiexec():
    beside_python = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside_python if os.path.exists(beside_python) else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install mpich)")
    return found


def _run_ranks(ranks, folder, batch_size, *checkpoint):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([_mpiexec(), "-n", str(ranks), sys.executable, os.path.join(HERE, "mpi_fit.py"),
                             str(folder), str(batch_size), *map(str, checkpoint)], capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_ranks_equal_one_process_with_twice_the_batch(tmp_path):
    _run_ranks(2, tmp_path, 3)
    rank0, rank1 = np.load(tmp_path / "rank0.npy"), np.load(tmp_path / "rank1.npy")
    np.testing.assert_array_equal(rank0, rank1)  # bit-identical on every rank

    text = fastnet.datasets.load_text()[:20000]
    tokenizer = fastnet.text.CharTokenizer.fit(text)
    alone = fastnet.GPT(tokenizer.vocab_size, context=16, n_layer=2, n_head=2, n_embd=32, dtype="float64",
                        backend="numpy", seed=100)  # rank 0's start
    start = alone.params.copy()
    history = alone.fit(tokenizer.encode(text), iters=12, batch_size=6, lr=1e-2, warmup=2, seed=3, eval_interval=5,
                        eval_batches=2, progress=False)
    assert np.abs(rank0 - start).max() > 0.02  # the ranks trained
    np.testing.assert_allclose(rank0, alone.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.load(tmp_path / "losses.npy"), history.losses, rtol=1e-12)
    assert np.load(tmp_path / "val_iterations.npy").tolist() == history["iteration"] == [0, 5, 10, 12]


def test_a_checkpoint_resumes_only_on_as_many_processes_as_wrote_it(tmp_path):
    checkpoint = tmp_path / "run.npz"
    _run_ranks(2, tmp_path, 3, checkpoint)
    text = fastnet.datasets.load_text()[:20000]
    tokenizer = fastnet.text.CharTokenizer.fit(text)
    model = fastnet.GPT(tokenizer.vocab_size, context=16, n_layer=2, n_head=2, n_embd=32, dtype="float64",
                        backend="numpy", seed=100)
    with pytest.raises(ValueError, match="ranks 2 \\(now None\\)"):  # one process would draw other batches
        model.fit(tokenizer.encode(text), iters=12, batch_size=3, lr=1e-2, warmup=2, seed=3, eval_interval=5,
                  eval_batches=2, progress=False, resume=checkpoint)


def test_fastnet_gpt_train_distributed(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text(fastnet.datasets.load_text()[:5000])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    options = ["--data", str(data), "--context", "16", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
               "--iters", "6", "--eval-interval", "3", "--eval-batches", "1", "--batch-size", "2", "--backend", "numpy",
               "--seed", "0", "--sample", "0", "--save", str(tmp_path / "gpt.npz")]
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "fastnet.cli", "gpt", "train",
                             "--distributed", *options], capture_output=True, text=True, timeout=600, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "batch 2 per process x 2 processes" in result.stdout
    assert result.stdout.count("done: val loss") == 1  # rank 0 alone speaks
    assert isinstance(fastnet.load(tmp_path / "gpt.npz"), fastnet.GPT)


def test_distributed_without_mpi4py_says_what_to_install():
    code = ("import sys, builtins; real = builtins.__import__; "
            "builtins.__import__ = lambda name, *a, **k: (_ for _ in ()).throw(ImportError('no mpi4py')) "
            "if name == 'mpi4py' else real(name, *a, **k); "
            "from fastnet.cli import main; sys.exit(main(['gpt', 'train', '--distributed', '--iters', '1']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--distributed needs mpi4py and an MPI library (pip install mpi4py mpich)" in result.stderr


RANK_OPTIONS = ["--context", "16", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--iters", "4",
                "--eval-interval", "2", "--eval-batches", "1", "--batch-size", "2", "--backend", "numpy", "--seed", "0",
                "--sample", "0"]


@pytest.mark.parametrize("rank1, message", [
    (["--iters", "6"], "rank 1 was given other settings than rank 0 (iters)"),
    (["--n-embd", "32"], "other settings than rank 0 (config)"),
    (["--batch-size", "3"], "other settings than rank 0 (batch_size)"),
    (["--lr", "2e-3"], "other settings than rank 0 (lr)"),
    (["--iters", "0"], "rank 1: --iters must be at least 1"),
    (["--save", "/proc/fastnet/gpt.npz"], "rank 1: --save: cannot write"),
])
def test_ranks_that_disagree_end_every_rank_at_once(tmp_path, rank1, message):
    """Issue 25, item 3: ranks given other settings (or one refusing its own) left the others spinning forever."""
    data = tmp_path / "text.txt"
    data.write_text(fastnet.datasets.load_text()[:3000])
    common = ["gpt", "train", "--distributed", "--data", str(data), *RANK_OPTIONS]
    command = [_mpiexec(), "-n", "1", sys.executable, "-m", "fastnet.cli", *common, "--save", str(tmp_path / "a.npz"),
               ":", "-n", "1", sys.executable, "-m", "fastnet.cli", *common, "--save", str(tmp_path / "b.npz"),
               *rank1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("the ranks were still running after 180 s")
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert not (tmp_path / "a.npz").exists()
