"""fastnet bench: runs every contender it can, skips the missing ones, writes JSON."""
import json
import os
import subprocess
import sys

import pytest

from fastnet.bench.peers import BookLoop, FastnetBackend, contenders


def test_bench_runs_and_writes_json(mnist, tmp_path):
    path = tmp_path / "bench.json"
    code = ("import sys; sys.modules['torch'] = None; from fastnet import cli; "
            f"sys.exit(cli.main(['bench', '--train-size', '300', '--epochs', '2', '--sizes', '784,8,10', "
            f"'--only', 'fastnet', 'network.py', 'PyTorch', '--json', {str(path)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| contender | seconds per epoch (median)" in result.stdout
    assert "| PyTorch | skipped: torch is not usable" in result.stdout
    results = json.loads(path.read_text())
    (architecture,) = results["architectures"]
    assert architecture["sizes"] == [784, 8, 10]
    rows = {row["name"]: row for row in architecture["results"]}
    assert "skipped" in rows["PyTorch"]
    timed = [row for row in rows.values() if "epoch_seconds" in row]
    assert {"fastnet numpy", "per-example NumPy (network.py style)"} <= {row["name"] for row in timed}
    assert all(len(row["all_epoch_seconds"]) == 2 and 0 <= row["test_accuracy"] <= 1 for row in timed)
    assert min(row["times_fastnet_best"] for row in timed) == pytest.approx(1.0)


def test_same_start_same_network(mnist):
    """fastnet and the book-style loop, from the same parameters and order, learn the same network."""
    import numpy as np

    import fastnet

    (X, y), (test_X, test_y) = mnist
    X, Y = X[:500], np.eye(10, dtype=np.float32)[y[:500]]
    params = fastnet.Network([784, 12, 10], seed=1).params
    order = np.random.default_rng(2).permutation(500)
    predictions = []
    for contender in (FastnetBackend("numpy"), BookLoop()):
        contender.setup([784, 12, 10], params.copy(), X, Y, 3.0)
        contender.epoch(order, 10)
        predictions.append(contender.predict(test_X[:500]))
    assert np.mean(predictions[0] == predictions[1]) > 0.99


def test_every_contender_names_itself():
    names = [contender.name for contender in contenders()]
    assert len(names) == len(set(names)) and "PyTorch" in names and "JAX (lax.scan)" in names


def test_sweep_plots_and_compares_with_pytorch(mnist, tmp_path):
    pytest.importorskip("matplotlib")
    import numpy as np

    from fastnet.bench import sweep

    (X, y), _ = mnist
    X, Y = X[:200], np.eye(10, dtype=np.float32)[y[:200]]
    points = sweep.run(X, Y, epochs=1, widths=(16, 32), batch_sizes=(1, 10))
    assert [point["width"] for point in points["width"]] == [16, 32]
    assert all("fastnet numpy" in point["seconds"] for axis in points.values() for point in axis)
    sweep.plot(points, tmp_path / "sweep.png", "test")
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fake = {"width": [{"width": 16, "batch_size": 10, "seconds": {"fastnet numpy": 2.0, "PyTorch": 1.0}}],
            "batch": []}
    assert sweep.slower_than_pytorch(fake) == [("width", 16, 10, 2.0, 1.0)]


def _bench(tmp_path, *args, timeout=300):
    """``fastnet bench ARGS`` run from tmp_path: from the repository's root, "-c" would import its source tree,
    not the installed package."""
    code = f"import sys; from fastnet import cli; sys.exit(cli.main({['bench', *map(str, args)]!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def test_bench_gpt_prints_tables_and_writes_json(tmp_path):
    path = tmp_path / "gpt.json"
    result = _bench(tmp_path, "gpt", "--configs", "small", "--parts", "training", "generation", "--rounds", 2,
                    "--json", path, "--plot", tmp_path / "gpt.png")
    assert result.returncode == 0, result.stderr
    assert "| contender | ms per iteration |" in result.stdout
    assert "| contender | tokens/s (all rows) |" in result.stdout
    results = json.loads(path.read_text())
    training = results["training small"]
    import fastnet
    from fastnet.bench.peers import fastnet_variants

    for name, level in fastnet_variants():  # the training step: the Cython backend at every CPU level
        if fastnet.backends.why_unavailable(name) is None:
            assert training[f"fastnet {name}" + (f" {level}" if level else "")]["ms"] > 0
    for scenario in ("", ", batch 16", ", past the context"):  # batch 1 within the context, then the others
        generation = results[f"generation small{scenario}"]
        for name in fastnet.backends.available():
            assert generation[f"fastnet {name}"]["tokens_per_second"] > 0
    assert "Generation, batch 16: small, 16 x 31 tokens after a prompt of 1" in result.stdout
    assert "Generation, past the context: small, 1 x 32 tokens after a prompt of 32" in result.stdout
    assert results["cpu"] and results["versions"]["numpy"] and results["threads"] == 1
    assert (tmp_path / "gpt.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_gpt_refuses_bad_options(tmp_path):
    from test_cli import run

    result = run("bench", "gpt", "--rounds", "0")
    assert result.returncode != 0 and "--rounds" in result.stderr and "Traceback" not in result.stderr


def test_bench_fit_compares_fit_with_the_compiled_epoch_and_runs_train(tmp_path):
    path = tmp_path / "fit.json"
    result = _bench(tmp_path, "fit", "--train-size", 400, "--epochs", 2, "--rounds", 1, "--json", path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "| what | seconds (median) | × the compiled epoch |" in result.stdout
    results = json.loads(path.read_text())
    rows = {row["name"]: row for row in results["rows"]}
    import fastnet

    for name in set(fastnet.backends.available()) - {"numpy"}:
        assert rows[f"fastnet {name}"]["times_compiled_epoch"] == 1.0
        for dtype in ("float32", "float64", "uint8"):
            assert rows[f"fit(X {dtype}, epochs=1), {name}"]["times_compiled_epoch"] > 0
    (run,) = results["train_command"]
    assert run["wall_seconds"] > 0 and 30 < run["peak_rss_mb"] < 5000 and "Epoch  30/30" in run["last_line"]
    assert set(results["load_mnist_seconds"]) == {"uint8", "float32"}


def test_nanogpts_data_is_prepared_as_its_prepare_script_makes_it(tmp_path):
    """nanoGPT's data/shakespeare_char/prepare.py ends with: vocab size 65, train has 1,003,854 tokens, val has
    111,540 tokens."""
    import pickle

    import numpy as np

    import fastnet
    from fastnet.bench import nanogpt_job

    nanogpt_job.prepare_data(tmp_path, fastnet.datasets.load_text())
    assert np.fromfile(tmp_path / "train.bin", np.uint16).size == 1_003_854
    assert np.fromfile(tmp_path / "val.bin", np.uint16).size == 111_540
    meta = pickle.loads((tmp_path / "meta.pkl").read_bytes())
    assert meta["vocab_size"] == 65 and meta["itos"][0] == "\n" and meta["stoi"]["z"] == 64


FAKE_TRAIN = '''
import os, sys
args = sys.argv[1:]
assert args[0] == "config/train_shakespeare_char.py" and "--device=cpu" in args and "--max_iters=3" in args, args
assert os.path.getsize("data/shakespeare_char/train.bin") == 2 * 1_003_854
assert os.environ["OMP_NUM_THREADS"] == "1"
print("step 3: train loss 2.5000, val loss 2.4000")
'''


def test_the_nanogpt_job_runs_both_and_reports_them(tmp_path):
    """The job's plumbing against a stand-in checkout (its train.py checks what it is given and prints nanoGPT's
    line); fastnet gpt train runs for real. A folder without nanoGPT's files is refused by name."""
    from fastnet.bench import nanogpt_job

    checkout = tmp_path / "nanoGPT"
    (checkout / "config").mkdir(parents=True)
    (checkout / "train.py").write_text(FAKE_TRAIN)
    for name in ("model.py", "configurator.py", "config/train_shakespeare_char.py"):
        (checkout / name).write_text("")
    import io
    shown = io.StringIO()
    results = nanogpt_job.run(str(checkout), iters=3, threads=1, stream=shown)
    assert results["nanoGPT train.py (PyTorch)"]["val_loss"] == 2.4
    assert results["fastnet gpt train"]["seconds"] > 0 and 3 < results["fastnet gpt train"]["val_loss"] < 5
    assert "| fastnet gpt train |" in shown.getvalue()
    assert sorted(os.listdir(checkout)) == ["config", "configurator.py", "model.py", "train.py"]  # untouched
    with pytest.raises(ValueError, match="not a nanoGPT checkout .no train.py"):
        nanogpt_job.check_checkout(str(tmp_path))


def test_the_command_line_offers_every_gpt_configuration():
    from fastnet import cli
    from fastnet.bench.gpt import CONFIGS

    (option,) = [action for action in cli._parser()._subparsers._group_actions[0].choices["bench"]._actions
                 if "--configs" in action.option_strings]
    assert tuple(option.choices) == tuple(CONFIGS)
