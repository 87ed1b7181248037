"""Sweeps on Dask (``fastnet.sweep``, ``fastnet sweep``) and batch prediction on Dask arrays."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
import dask.array as da  # noqa: E402
from dask.distributed import Client  # noqa: E402

import fastnet  # noqa: E402
import fastnet.dask  # noqa: E402
from fastnet.sweeps import local_cluster, records  # noqa: E402
from fastnet.sweeps.grid import parse_grid, parse_seeds  # noqa: E402
from fastnet.sweeps.table import ResultsFile  # noqa: E402

GRID = {"eta": [1.0, 3.0], "sizes": [[784, 16, 10], [784, 30, 10]], "activation": ["sigmoid", "swish"]}


@pytest.fixture(scope="module")
def data(mnist):
    (X, y), (test_X, test_y) = mnist
    return X[:2000], y[:2000], test_X[:1000], test_y[:1000]


@pytest.fixture(scope="module")
def client():
    cluster = local_cluster(workers=2, processes=True)  # two worker processes: the data really travel
    with Client(cluster) as client:
        yield client
    cluster.close()


def test_a_sweep_on_two_workers_equals_each_configuration_alone(client, data, tmp_path):
    X, y, test_X, test_y = data
    rows = records(fastnet.sweep(GRID, X, y, test=(test_X, test_y), epochs=2, seeds=[0, 1], client=client,
                               out=tmp_path / "sweep.jsonl"))
    assert len(rows) == 16 and len(client.scheduler_info()["workers"]) == 2
    for row, (eta, sizes, activation, seed) in zip(rows, [(e, s, a, seed) for e in GRID["eta"] for s in GRID["sizes"]
                                                           for a in GRID["activation"] for seed in (0, 1)]):
        assert (row["eta"], row["sizes"], row["activation"], row["seed"], row["epochs"]) == \
               (eta, sizes, activation, seed, 2)
        if activation == "swish":  # not an activation fastnet knows: reported, not fatal
            assert "activation must be one of" in row["error"] and np.isnan(row["test_accuracy"])
            continue
        alone = fastnet.Network(sizes, activation=activation, seed=seed)
        history = alone.fit(X, y, epochs=2, eta=eta, seed=seed, test=(test_X, test_y), progress=False)
        assert row["test_accuracy"] == history[-1]["test_accuracy"]
        assert row["train_cost"] == history[-1]["train_cost"]
        assert "error" not in row or not isinstance(row["error"], str)
        assert row["seconds"] > 0
    written = ResultsFile(tmp_path / "sweep.jsonl", list(GRID)).read()
    assert len(written) == 16  # every row, in the order they finished


def test_a_finished_sweep_trains_nothing_again(client, data, tmp_path):
    X, y, test_X, test_y = data
    out = tmp_path / "sweep.csv"
    grid = {"eta": [3.0], "lmbda": [0.0, 5.0]}
    first = records(fastnet.sweep(grid, X, y, test=(test_X, test_y), epochs=1, seeds=[0], client=client, out=out))
    arrived = []
    again = records(fastnet.sweep(grid, X, y, test=(test_X, test_y), epochs=1, seeds=[0], client=client, out=out,
                                on_row=lambda *row: arrived.append(row)))
    assert arrived == [] and again == first  # read back from the CSV, the same values
    with pytest.raises(ValueError, match="holds rows of 1 epochs; this sweep trains 2"):
        fastnet.sweep(grid, X, y, test=(test_X, test_y), epochs=2, seeds=[0], client=client, out=out)
    with pytest.raises(ValueError, match="written by a sweep over other settings"):
        fastnet.sweep({"eta": [3.0]}, X, y, test=(test_X, test_y), epochs=1, seeds=[0], client=client, out=out)


ODD_VALUES = [float("nan"), float("inf"), -float("inf"), "true", "null", "NaN", "3", " 4", "[1]", [1, 2], True, None,
              "relu", 0.1, 1e-300, "a,b", 'say "hi"', "line\nbreak", "", np.float64(0.5), np.int64(7)]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_resumed_sweeps_never_duplicate_rows(client, data, tmp_path, suffix):
    """Issue 25, item 8: values that did not read back as themselves (nan, inf, "true", "null", lists...) were
    trained again on every resume and appended as duplicates (4 -> 7 -> 10 rows)."""
    X, y, test_X, test_y = data
    out = tmp_path / f"sweep{suffix}"
    grid = {"eta": ODD_VALUES}
    counts = []
    for _ in range(3):
        arrived = []
        fastnet.sweep(grid, X[:50], y[:50], test=(test_X[:20], test_y[:20]), epochs=1, seeds=[0], client=client,
                      out=out, on_row=lambda *row, arrived=arrived: arrived.append(row))
        counts.append((len(ResultsFile(out, ["eta"]).read()), len(arrived)))
    assert counts == [(len(ODD_VALUES), len(ODD_VALUES)), (len(ODD_VALUES), 0), (len(ODD_VALUES), 0)]


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path, mnist_directory):
    out = tmp_path / "sweep.csv"
    command = [sys.executable, "-m", "fastnet.cli", "sweep", "--grid", "eta=0.5,1,2,3 sizes=784,100,10;784,60,10",
               "--seeds", "0-1", "--epochs", "8", "--train-size", "10000", "--workers", "2", "--out", str(out),
               "--data", mnist_directory]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 4):  # header + 3 rows
        time.sleep(0.05)
    process.kill()
    process.wait()
    before = out.read_text().count("\n") - 1
    assert 3 <= before < 16, "the sweep must be killed half-way for this test to mean anything"
    with open(out, "a") as file:
        file.write("0.5,\"[784, 60")  # a row cut off by the kill
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test accuracy") == 16 - before  # only the rows that were missing
    rows = ResultsFile(out, ["eta", "sizes"]).read()
    keys = [(row["eta"], tuple(row["sizes"]), row["seed"]) for row in rows]
    assert len(rows) == 16 and len(set(keys)) == 16


def test_fastnet_sweep_uses_the_scheduler_it_is_given(tmp_path, mnist_directory):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        result = subprocess.run([sys.executable, "-m", "fastnet.cli", "sweep", "--grid", "eta=1,3", "--epochs", "1",
                                 "--train-size", "1000", "--scheduler", cluster.scheduler_address, "--out",
                                 str(tmp_path / "sweep.csv"), "--data", mnist_directory],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        assert f"on the cluster at {cluster.scheduler_address}" in result.stdout
        assert result.stdout.count("test accuracy") == 2
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        assert "train_one" in prefixes  # the rows were trained on this cluster


def test_grid_and_seed_texts():
    assert parse_grid("eta=0.5,1,3 sizes=784,30,10;784,100,10 lmbda=0,5 activation=relu") == {
        "eta": [0.5, 1, 3], "sizes": [[784, 30, 10], [784, 100, 10]], "lmbda": [0, 5], "activation": ["relu"]}
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4] and parse_seeds("0,3,7") == [0, 3, 7] and parse_seeds("3") == [3]
    for text, message in [("eta", "expected name=value"), ("colour=red", "not a setting a sweep can vary"),
                          ("sizes=784,x,10", "sizes takes integers")]:
        with pytest.raises(ValueError, match=message):
            parse_grid(text)
    for text in ("a-b", "", "-3"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(text)


@pytest.mark.parametrize("grid, seeds, epochs, message", [
    ({}, [0], 1, "grid must be a non-empty dict"),
    ({"eta": []}, [0], 1, "must be a non-empty list"),
    ({"eta": [1.0]}, [], 1, "seeds must be integers >= 0"),
    ({"eta": [1.0]}, [-1], 1, "seeds must be integers >= 0"),
    ({"eta": [1.0]}, [0], 0, "epochs must be an integer >= 1"),
])
def test_bad_sweeps_are_refused_before_any_cluster_starts(data, grid, seeds, epochs, message):
    X, y, test_X, test_y = data
    with pytest.raises(ValueError, match=message):
        fastnet.sweep(grid, X, y, test=(test_X, test_y), epochs=epochs, seeds=seeds)


@pytest.mark.parametrize("arrays, message", [
    (lambda X, y, tX, ty: (X[0], y, (tX, ty)), "X must be a non-empty 2-D array"),
    (lambda X, y, tX, ty: (X, y[:-1], (tX, ty)), "the labels of X must be 2000 integers"),
    (lambda X, y, tX, ty: (X, y.astype(float), (tX, ty)), "the labels of X must be 2000 integers"),
    (lambda X, y, tX, ty: (X, y, tX), "test must be a pair"),
    (lambda X, y, tX, ty: (X, y, (tX, ty[:5])), "the labels of test X must be 1000 integers"),
])
def test_bad_data_is_refused_before_any_cluster_starts(data, arrays, message):
    X, y, test = arrays(*data)
    with pytest.raises(ValueError, match=message):
        fastnet.sweep({"eta": [1.0]}, X, y, test=test, epochs=1)


def test_seeds_may_be_numpy_integers():
    from fastnet.sweeps import _check_seeds

    assert _check_seeds(np.arange(3)) == [0, 1, 2] and _check_seeds(np.int64(4)) == [4]
    assert all(type(seed) is int for seed in _check_seeds(np.arange(3)))


def test_sweep_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from fastnet.sweeps.plot import draw_sweep

    rows = [{"eta": eta, "sizes": [784, n, 10], "seed": seed, "test_accuracy": 0.9 + eta / 100 + seed / 1000}
            for eta in (1, 3) for n in (30, 100) for seed in (0, 1)]
    rows.append({"eta": 9, "sizes": [784, 30, 10], "seed": 0, "test_accuracy": float("nan"), "error": "diverged"})
    path = draw_sweep(rows, ["eta", "sizes"], tmp_path / "sweep.png")
    assert os.path.getsize(path) > 5000


def test_dask_predict_matches_predict_across_chunks(client, data):
    X, _, _, _ = data
    net = fastnet.Network([784, 16, 16, 10], seed=0)
    array = da.from_array(X, chunks=(700, 392))  # 3 chunks of rows, 2 of columns
    labels = fastnet.dask.predict(net, array)
    assert labels.shape == (2000,) and labels.dtype == np.int64 and labels.npartitions == 3
    np.testing.assert_array_equal(labels.compute(scheduler="threads"), net.predict(X))
    np.testing.assert_array_equal(client.compute(labels).result(), net.predict(X))  # on the cluster's workers


def test_dask_predict_refuses_what_it_cannot_read():
    net = fastnet.Network([784, 10], seed=0)
    with pytest.raises(TypeError, match="X must be a dask array"):
        fastnet.dask.predict(net, np.zeros((3, 784)))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 784\)"):
        fastnet.dask.predict(net, da.zeros((3, 783)))
    with pytest.raises(TypeError, match="net must be a fastnet.Network"):
        fastnet.dask.predict("net", da.zeros((3, 784)))


def test_an_output_that_cannot_be_written_is_refused_before_any_cluster_starts(data, tmp_path):
    """Issue 25, item 9: sweep --out /nodir/s.csv: refused before training, not after."""
    X, y, test_X, test_y = data
    for out in ("/nodir/s.csv", "/proc/s.csv", tmp_path):
        with pytest.raises(ValueError, match="out"):
            fastnet.sweep({"eta": [1.0]}, X, y, test=(test_X, test_y), epochs=1, seeds=[0], out=out)
