"""fastnet bench: runs every contender it can, skips the missing ones, writes JSON."""
import json
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
