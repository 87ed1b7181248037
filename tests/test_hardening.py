"""Defects found by trying fastnet as a hostile or careless user would (issue #14); each test failed before its fix."""
import os
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastnet
from fastnet.backends import load

COMPILED = [name for name in fastnet.backends.available() if name != "numpy"]


def _problem():
    X = np.zeros((100, 6), np.float32)
    X[:, :2] = np.random.default_rng(0).random((100, 2))  # mostly zeros: prepared as CSR rows
    return fastnet.Network([6, 4, 3], seed=0), X


# -- 1. the prepared inputs of the public kernel API cannot be made to point outside memory


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("attack", ["indptr", "indices", "values", "examples", "width", "mode"])
def test_prepared_inputs_are_read_only(name, attack):
    kernels = load(name)
    net, X = _problem()
    inputs = kernels.prepare_inputs(X)
    with pytest.raises((ValueError, AttributeError)):
        if attack in ("indptr", "indices", "values"):
            getattr(inputs, attack)[:] = 2 ** 31 - 1
        else:
            setattr(inputs, attack, 10 ** 7)
    labels = kernels.predict(*net.kernel_arguments[:4], inputs, np.empty(len(X), np.int64))
    np.testing.assert_array_equal(labels, net.predict(X))


# -- 2. every backend propagates NaN and overflow the same way


@pytest.mark.parametrize("activation", fastnet.core.codes.ACTIVATIONS)
@pytest.mark.parametrize("rows", [5, 40])  # the matrix-vector path and the packed one
def test_nan_parameters_give_nan_outputs_on_every_backend(activation, rows):
    X = np.random.default_rng(1).random((rows, 6)).astype(np.float32)
    for name in fastnet.backends.available():
        net = fastnet.Network([6, 40, 3], activation=activation, backend=name, seed=0)
        net.weights[0][:, 2] = np.nan
        outputs = net.kernels.feedforward(*net.kernel_arguments[:4], X, np.empty((rows, 3), np.float32))
        assert np.isnan(outputs).all(), name


# -- 8. no rows in, no rows out


def test_feedforward_of_no_rows(backend):
    net = fastnet.Network([784, 16, 10], backend=backend, seed=0)
    assert net.feedforward(np.zeros((0, 784))).shape == (0, 10)
    assert net.predict(np.zeros((0, 784))).shape == (0,)


# -- 5 and 13. the command line: one line, never a traceback; output paths checked before training


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "fastnet.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("arguments", [
    ["train", "--eta", "1e300", "--epochs", "1", "--no-download", "--sizes", "784,4,10"],
    ["train", "--save", "/proc/x/net.npz", "--no-download", "--epochs", "1"],
    ["train", "--checkpoint", "/proc/x/c.npz", "--no-download", "--epochs", "1"],
])
def test_cli_failures_are_one_line(arguments):
    result = _cli(*arguments)
    assert result.returncode == 2, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("fastnet train: error:")]
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr
    assert "Epoch" not in result.stdout  # refused before training started


def test_cli_debug_shows_the_traceback():
    result = _cli("--debug", "train", "--eta", "1e300", "--epochs", "1", "--no-download", "--sizes", "784,4,10")
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_a_batch_larger_than_the_data_is_one_batch():
    X, y = np.random.default_rng(2).random((30, 6)), np.arange(30) % 3
    whole, huge = fastnet.Network([6, 4, 3], seed=0), fastnet.Network([6, 4, 3], seed=0)
    whole.fit(X, y, epochs=2, batch_size=30, seed=1, progress=False)
    huge.fit(X, y, epochs=2, batch_size=10 ** 30, seed=1, progress=False)  # overflowed the kernels' int64 before
    np.testing.assert_array_equal(huge.params, whole.params)


def test_fit_checks_the_checkpoint_folder_before_training(tmp_path):
    net, X = _problem()
    before = net.params.copy()
    with pytest.raises(ValueError, match="checkpoint"):
        net.fit(X, np.arange(100) % 3, epochs=1, checkpoint="/proc/x/c.npz", progress=False)
    np.testing.assert_array_equal(net.params, before)


# -- 7. two threads fitting one network


def _second_fit_error(fit):
    """The error of ``fit()`` called while another ``fit(callbacks=[...])`` of the same model waits in a callback."""
    started, release, errors = threading.Event(), threading.Event(), []

    def slow_callback(model, record):
        started.set()
        release.wait(10)

    worker = threading.Thread(target=lambda: fit(callbacks=[slow_callback]))
    worker.start()
    started.wait(10)
    try:
        fit()
    except RuntimeError as exc:
        errors.append(str(exc))
    finally:
        release.set()
        worker.join()
    return errors[0] if errors else None


def test_concurrent_fit_on_one_network_is_refused():
    net, X = _problem()
    y = np.arange(100) % 3
    error = _second_fit_error(lambda **options: net.fit(X, y, epochs=1, progress=False, **options))
    assert error and "Network is already training" in error
    net.fit(X, y, epochs=1, progress=False)  # free again afterwards


# -- 10. saved files: the mode a normal file gets, no temporary files left by a killed save


def test_saved_files_get_the_umask_mode_and_stale_temporaries_are_removed(tmp_path):
    net, _ = _problem()
    previous = os.umask(0o022)
    try:
        path = net.save(tmp_path / "net.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    stale = tmp_path / ".fastnet-999999999-deadbeef.tmp"  # left by a process that no longer exists
    stale.write_bytes(b"x" * 100)
    live = tmp_path / f".fastnet-{os.getpid()}-cafe.tmp"  # another save of this process, under way
    live.write_bytes(b"x")
    net.save(tmp_path / "net.npz")
    assert not stale.exists() and live.exists()


# -- 3. non-finite parameters are never used silently


def test_predictions_from_non_finite_parameters_raise(backend, tmp_path):
    net = fastnet.Network([6, 4, 3], backend=backend, seed=0)
    X = np.random.default_rng(3).random((5, 6))
    net.weights[1][0, 0] = np.inf
    for method in (net.predict, net.feedforward, lambda X: net.accuracy(X, np.zeros(5, int))):
        with pytest.raises(ValueError, match="NaN or infinite"):
            method(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.save(tmp_path / "net.npz")
    assert not (tmp_path / "net.npz").exists()
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.fit(X, np.zeros(5, int), epochs=1, progress=False)


def test_a_step_that_makes_parameters_non_finite_is_undone(backend):
    net = fastnet.Network([6, 4, 3], backend=backend, seed=0)
    X, y = np.random.default_rng(3).random((5, 6)), np.arange(5) % 3
    before = net.params.copy()
    with pytest.raises(fastnet.TrainingDiverged):
        net.update_mini_batch(X, y, 1e300)
    np.testing.assert_array_equal(net.params, before)


# -- 4. divergence and stalling are said, not silent


def test_training_stuck_at_chance_warns():
    X, y = np.random.default_rng(4).random((200, 6)), np.arange(200) % 10
    net = fastnet.Network([6, 8, 10], activation="relu", cost="log_likelihood", seed=0)
    with pytest.warns(fastnet.TrainingWarning, match="chance|rose"):
        net.fit(X, y, epochs=4, eta=1e6, progress=False)


# -- 9. an unusable cache folder falls back like download=False


def test_unwritable_cache_still_loads_mnist(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FASTNET_CACHE", str(blocker / "cache"))
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    monkeypatch.setenv("FASTNET_MNIST_MIRRORS", "http://127.0.0.1:9/")
    data = fastnet.datasets.load_mnist(progress=False, dtype="uint8")
    assert "shipped" in data.source and len(data[0].labels) == 60000


# -- 11 and 12. accepted without complaint before


@pytest.mark.parametrize("call, error, message", [
    (lambda net, X: net.evaluate(X, np.zeros((5, 3))), ValueError, "one-hot"),
    (lambda net, X: net.evaluate(X, np.full((5, 3), 0.5)), ValueError, "one-hot"),
    (lambda net, X: net.evaluate(X, np.array([True, False, True, False, True])), TypeError, "bool"),
    (lambda net, X: fastnet.Network([6, 3], dtype=None), ValueError, "dtype"),
    (lambda net, X: fastnet.Network({6: 1, 3: 2}), TypeError, "sizes"),
    (lambda net, X: net.fit(X, np.zeros(5, int), eta=10 ** 400, progress=False), ValueError, "eta"),
    (lambda net, X: net.fit(X, np.zeros(5, int), callbacks=5, progress=False), TypeError, "callbacks"),
])
def test_more_bad_input(call, error, message):
    net = fastnet.Network([6, 4, 3], seed=0)
    with pytest.raises(error, match=message):
        call(net, np.random.default_rng(5).random((5, 6)))


def test_resume_refuses_a_checkpoint_past_the_asked_epochs(tmp_path):
    net, X = _problem()
    y = np.arange(100) % 3
    path = tmp_path / "c.npz"
    net.fit(X, y, epochs=3, checkpoint=path, seed=0, progress=False)
    with pytest.raises(ValueError, match="3 epochs"):
        fastnet.Network([6, 4, 3], seed=0).fit(X, y, epochs=2, resume=path, seed=0, progress=False)


def test_numpy_error_state_of_the_caller_does_not_matter(backend):
    net = fastnet.Network([6, 4, 3], output="softmax", cost="log_likelihood", backend=backend, seed=0)
    X = np.random.default_rng(6).random((50, 6)) * 100
    with np.errstate(all="raise"):
        net.fit(X, np.arange(50) % 3, epochs=2, progress=False)
        assert net.predict(X).shape == (50,)


def test_far_negative_sigmoid_is_zero_on_every_path(backend):
    net = fastnet.Network([1, 1], backend=backend, seed=0)
    net.weights[0][...] = 1
    net.biases[0][...] = 0
    assert net.feedforward(np.array([-1e4]))[0] == 0  # the one-example path
    assert net.feedforward(np.full((40, 1), -1e4))[0, 0] == 0


def test_initial_parameters_do_not_need_float64_copies_of_the_network():
    net = fastnet.Network([784, 16, 16, 10], seed=3)
    again = fastnet.Network([784, 16, 16, 10], seed=3, dtype="float64")
    np.testing.assert_array_equal(net.params, again.params.astype(np.float32))
    import tracemalloc
    tracemalloc.start()
    fastnet.Network([1000, 2000, 10], seed=0)  # 2,022,010 float32 parameters: 8 MB
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.5 * 2_022_010 * 4


# -- 6. fastnet.load: only ValueError, bounded memory, never a hang


def _saved(tmp_path):
    return fastnet.Network([6, 4, 3], seed=0).save(tmp_path / "net.npz")


def _members(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("case", ["plain npy", "fifo", "huge params header", "huge sizes", "mismatched sizes",
                                  "uint64 sizes", "negative sizes", "object params", "big-endian params"])
def test_crafted_network_files_raise_value_error(tmp_path, case):
    path = tmp_path / "crafted.npz"
    members = _members(_saved(tmp_path))
    if case == "plain npy":
        np.save(tmp_path / "crafted.npy", np.zeros(3))
        path = tmp_path / "crafted.npy"
    elif case == "fifo":
        os.mkfifo(path)
    else:
        if case == "huge sizes":
            members["sizes"] = np.array([784, 200000, 10])
        elif case == "mismatched sizes":
            members["sizes"] = np.array([6, 5, 3])
        elif case == "uint64 sizes":
            members["sizes"] = np.array([2 ** 63, 4, 3], np.uint64)
        elif case == "negative sizes":
            members["sizes"] = np.array([6, -4, 3])
        elif case == "object params":
            members["params"] = np.array([object()] * 43, dtype=object)
        elif case == "big-endian params":
            members["params"] = members["params"].astype(">f4")
        if case == "object params":
            _save_with_object(path, members)
        else:
            np.savez(path, **members)
        if case == "huge params header":  # a header claiming 1e10 values for a member of 8 bytes
            _rewrite_header(path, "params.npy", (10 ** 10,))
    with pytest.raises(ValueError, match="crafted"):
        fastnet.load(path)


def _save_with_object(path, members):
    """np.savez refuses nothing: write an object-dtype member as numpy would with pickles allowed."""
    import io
    import zipfile
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value, allow_pickle=True)
            archive.writestr(name + ".npy", buffer.getvalue())


def _rewrite_header(path, member, shape):
    import io
    import zipfile
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    contents[member] = buffer.getvalue() + b"\0" * 8
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def test_load_never_reads_a_member_it_does_not_know(tmp_path):
    path = tmp_path / "net.npz"
    members = _members(_saved(tmp_path))
    np.savez(path, **members, junk=np.zeros(2_000_000))  # 16 MB nobody asked for
    _rewrite_header(path, "extra.npy", (10 ** 10,))  # and a member claiming 80 GB
    import tracemalloc
    tracemalloc.start()
    fastnet.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4_000_000


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    given = None


if given is not None:
    _FILES = {}

    def _valid_bytes(kind):
        if kind not in _FILES:
            import tempfile
            folder = tempfile.mkdtemp()
            if kind == "network":
                path = fastnet.Network([6, 4, 3], seed=0).save(os.path.join(folder, "f.npz"))
            elif kind == "checkpoint":
                path = os.path.join(folder, "f.npz")
                fastnet.Network([6, 4, 3], seed=0).fit(np.random.default_rng(0).random((20, 6)), np.arange(20) % 3,
                                                        epochs=1, momentum=0.5, checkpoint=path, progress=False)
            else:
                model = fastnet.GPT(13, context=8, n_layer=1, n_head=2, n_embd=8, seed=0)
                model.tokenizer = fastnet.text.CharTokenizer("abcdefghijklm")
                path = model.save(os.path.join(folder, "f.npz"))
            with open(path, "rb") as file:
                _FILES[kind] = file.read()
        return _FILES[kind]

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(kind=st.sampled_from(["network", "checkpoint", "gpt"]), flips=st.lists(st.integers(0, 10 ** 9), max_size=4),
           cut=st.one_of(st.none(), st.integers(0, 10 ** 9)))
    def test_fuzzed_files_raise_only_value_error(tmp_path, kind, flips, cut):
        data = bytearray(_valid_bytes(kind))
        for flip in flips:
            data[flip % len(data)] ^= 1 << (flip % 8)
        if cut is not None:
            data = data[:cut % (len(data) + 1)]
        path = tmp_path / "fuzzed.npz"
        path.write_bytes(bytes(data))
        try:
            fastnet.load(path)
        except ValueError:
            pass
        if kind == "checkpoint":
            net = fastnet.Network([6, 4, 3], seed=0)
            try:
                net.fit(np.random.default_rng(0).random((20, 6)), np.arange(20) % 3, epochs=2, momentum=0.5,
                        resume=path, progress=False)
            except ValueError:
                pass


def test_checkpoint_with_an_impossible_epoch_is_refused(tmp_path):
    import json
    net, X = _problem()
    y = np.arange(100) % 3
    path = tmp_path / "c.npz"
    net.fit(X, y, epochs=2, checkpoint=path, seed=0, progress=False)
    members = _members(path)
    state = json.loads(str(members["training_state"]))
    state["epoch"] = -5
    members["training_state"] = np.str_(json.dumps(state))
    np.savez(path, **members)
    with pytest.raises(ValueError, match="damaged training state"):
        fastnet.Network([6, 4, 3], seed=0).fit(X, y, epochs=3, resume=path, seed=0, progress=False)


def test_idx_sets_that_do_not_fit_together_are_refused(tmp_path):
    from test_mnist import fake_idx_set
    fake_idx_set(tmp_path / "empty", train=0, test=5)
    with pytest.raises(fastnet.datasets.IdxError, match="no images"):
        fastnet.datasets.load_mnist(tmp_path / "empty", verify=False, progress=False)


def test_bench_refuses_a_non_positive_train_size():
    result = _cli("bench", "--train-size", "0", "--only", "numpy")
    assert result.returncode == 2 and "--train-size" in result.stderr


@pytest.mark.parametrize("name", COMPILED)
def test_read_only_arrays_the_kernels_write_are_refused(name):
    kernels = load(name)
    net, X = _problem()
    params, sizes, activation, output, cost = net.kernel_arguments
    frozen = params.copy()
    frozen.flags.writeable = False
    Y = np.eye(3, dtype=np.float32)[np.arange(100) % 3]
    with pytest.raises(ValueError, match="params must be a writable array"):
        kernels.sgd_epoch(frozen, sizes, activation, output, cost, X, Y, np.arange(100), 10, 0.1)
    out = np.empty((100, 3), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be a writable array"):
        kernels.feedforward(params, sizes, activation, output, X, out)


def test_overflowing_inputs_diverge_alike_on_every_backend():
    """The issue's case: cython used to finish with finite parameters where the others diverged."""
    X, y = np.full((40, 784), 3e38, np.float32), np.arange(40) % 10
    for name in fastnet.backends.available():
        net = fastnet.Network([784, 16, 16, 10], backend=name, seed=0)
        before = net.params.copy()
        with pytest.raises(fastnet.TrainingDiverged, match="the cost became nan"):
            net.fit(X, y, epochs=1, progress=False)
        np.testing.assert_array_equal(net.params, before)


def test_concurrent_fit_on_one_gpt_is_refused():
    model = fastnet.GPT(13, context=8, n_layer=1, n_head=2, n_embd=8, seed=0)
    stream = np.random.default_rng(0).integers(0, 13, 200)
    error = _second_fit_error(lambda **options: model.fit(stream, iters=2, eval_interval=1, eval_batches=1,
                                                          progress=False, **options))
    assert error and "GPT is already training" in error


def test_divergence_from_weight_decay_names_lmbda():
    net, X = _problem()
    with pytest.raises(fastnet.TrainingDiverged, match="or lmbda than 1e"):
        net.fit(X, np.arange(100) % 3, epochs=2, eta=0.5, lmbda=1e30, progress=False)
