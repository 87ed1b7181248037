"""The Network API: parameters, shapes, reproducibility, training, the book's interface, saving."""
import contextlib
import io
import os

import numpy as np
import pytest
from conftest import random_problem

import fastnet


@pytest.mark.parametrize("sizes, count", [([784, 16, 16, 10], 13002), ([784, 30, 10], 23860), ([3, 1], 4),
                                          ([2, 5, 5, 5, 1], 81)])
def test_parameter_count(sizes, count):
    net = fastnet.Network(sizes)
    assert net.num_params == count == net.params.size
    assert [w.shape for w in net.weights] == list(zip(sizes[1:], sizes[:-1]))
    assert [b.shape for b in net.biases] == [(n,) for n in sizes[1:]]
    assert net.sizes == sizes and net.num_layers == len(sizes)


def test_weights_and_biases_are_views_into_params():
    net = fastnet.Network([4, 3, 2], seed=0)
    assert net.params.flags.c_contiguous and net.params.ndim == 1
    net.weights[1][0, 2] = 7.5
    net.biases[0][...] = -1
    assert net.params[3 * 4 + 3 + 2] == 7.5  # W_0 (12), b_0 (3), then row 0 of W_1
    assert np.all(net.params[12:15] == -1)
    net.params[:12] = 0.25
    assert np.all(net.weights[0] == 0.25)
    with pytest.raises(TypeError):
        net.weights[0] = np.zeros((3, 4))  # a tuple: replacing a view would silently unlink it


def test_assigning_whole_layers_copies_into_params():
    net = fastnet.Network([4, 3, 2], seed=0)
    net.weights = [np.ones((3, 4)), np.full((2, 3), 2.0)]
    net.biases = [np.zeros((3, 1)), np.ones(2)]  # book-style columns are accepted
    assert np.all(net.weights[1] == 2) and np.all(net.biases[0] == 0)
    assert np.shares_memory(net.weights[0], net.params)
    with pytest.raises(ValueError, match=r"weights\[1\] must have shape \(2, 3\)"):
        net.weights = [np.ones((3, 4)), np.ones((3, 2))]
    with pytest.raises(ValueError, match="params must have shape"):
        net.params = np.zeros(5)


def test_feedforward_shapes():
    net = fastnet.Network([784, 16, 16, 10], seed=0)
    x = np.random.default_rng(0).random(784)
    single, column, batch = net.feedforward(x), net.feedforward(x.reshape(784, 1)), net.feedforward(np.stack([x, x, x]))
    assert single.shape == (10,) and column.shape == (10, 1) and batch.shape == (3, 10)
    np.testing.assert_array_equal(single, column[:, 0])
    np.testing.assert_allclose(batch[2], single, rtol=1e-5)  # BLAS may round a 1-row product differently
    assert single.dtype == np.float32 and np.all((single > 0) & (single < 1))
    assert isinstance(net.predict(x), int) and net.predict(np.stack([x, x])).shape == (2,)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_activations_are_every_layer_of_the_forward_pass(backend, activation):
    net = fastnet.Network([784, 16, 16, 10], activation=activation, cost="log_likelihood", dtype="float64", seed=0,
                          backend=backend)
    pixels = np.random.default_rng(0).integers(0, 256, (3, 784)).astype(np.uint8)
    layers = net.activations(pixels)
    assert [layer.shape for layer in layers] == [(3, 784), (3, 16), (3, 16), (3, 10)]
    np.testing.assert_array_equal(layers[0], pixels / 255)  # the input as the network reads it
    weights, biases = net.weights, net.biases
    for l in range(3):  # a_l = f(W_l a_{l-1} + b_l), softmax at the output
        z = layers[l] @ weights[l].T + biases[l]
        expected = (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) if l == 2
                    else 1 / (1 + np.exp(-z)) if activation == "sigmoid" else np.maximum(z, 0))
        np.testing.assert_allclose(layers[l + 1], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layers[-1], net.feedforward(pixels), rtol=1e-12, atol=1e-14)
    one = net.activations(pixels[1])
    assert [layer.shape for layer in one] == [(784,), (16,), (16,), (10,)]
    column = net.activations(pixels[1].reshape(784, 1))
    assert [layer.shape for layer in column] == [(784, 1), (16, 1), (16, 1), (10, 1)]
    for a, b, c in zip(one, column, layers):
        np.testing.assert_array_equal(a, b[:, 0])
        np.testing.assert_allclose(a, c[1], rtol=1e-12, atol=1e-14)
    assert [layer.shape for layer in net.activations(np.empty((0, 784)))] == [(0, 784), (0, 16), (0, 16), (0, 10)]
    with pytest.raises(ValueError, match="x must have shape"):
        net.activations(np.zeros(783))
    with pytest.raises(ValueError, match="NaN"):
        net.activations(np.full(784, np.nan))


def test_same_seed_gives_bit_identical_parameters_and_training():
    X, y = random_problem([20, 8, 3], 50)
    runs = []
    for _ in range(2):
        net = fastnet.Network([20, 8, 3], seed=42)
        runs.append(net.params.copy())
        net.fit(X, y, epochs=2, batch_size=7, eta=1.0, progress=False)
        runs.append(net.params.copy())
    np.testing.assert_array_equal(runs[0], runs[2])
    np.testing.assert_array_equal(runs[1], runs[3])
    assert not np.array_equal(runs[0], fastnet.Network([20, 8, 3], seed=43).params)


def test_float32_and_float64_start_from_the_same_draws():
    a = fastnet.Network([10, 4, 2], dtype="float32", seed=1).params
    b = fastnet.Network([10, 4, 2], dtype="float64", seed=1).params
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_array_equal(a, b.astype(np.float32))


@pytest.mark.parametrize("init, std", [("normal", 1.0), ("xavier", 1 / np.sqrt(400)), ("he", np.sqrt(2 / 400))])
def test_init_schemes(init, std):
    net = fastnet.Network([400, 300, 1], init=init, dtype="float64", seed=0)
    assert net.weights[0].std() == pytest.approx(std, rel=0.02)
    assert net.biases[0].std() == pytest.approx(1.0, rel=0.2)


def test_fit_history_and_seeded_order():
    X, y = random_problem([6, 5, 3], 40)
    net = fastnet.Network([6, 5, 3], seed=0)
    start = net.params.copy()
    history = net.fit(X, y, epochs=3, batch_size=9, eta=0.5, test=(X, y), seed=7, progress=False,
                      training_metrics="exact")
    assert len(history) == 3 and history["epoch"] == [1, 2, 3]
    assert all(set(record) == {"epoch", "eta", "seconds", "train_cost", "train_accuracy", "test_cost",
                               "test_accuracy"} for record in history)
    assert history[-1]["train_cost"] == pytest.approx(net.cost(X, y)) == history[-1]["test_cost"]
    assert history[-1]["test_accuracy"] == net.accuracy(X, y) == history[-1]["train_accuracy"]
    assert history["eta"] == [0.5] * 3 and history.best_epoch is None and not history.stopped_early
    # The same seed on a fresh copy visits the same batches: identical result.
    other = fastnet.Network([6, 5, 3])
    other.params = start
    other.fit(X, y, epochs=3, batch_size=9, eta=0.5, seed=7, progress=False)
    np.testing.assert_array_equal(other.params, net.params)
    assert net.fit(X, y, epochs=0, progress=False) == []


def test_epoch_is_the_visiting_order_cut_into_batches():
    """fit == update_mini_batch over order[0:m], order[m:2m], ... with the last batch shorter."""
    X, y = random_problem([6, 5, 3], 23)
    net = fastnet.Network([6, 5, 3], dtype="float64", seed=0)
    by_hand = fastnet.Network([6, 5, 3], dtype="float64", seed=0)
    net.fit(X, y, epochs=1, batch_size=10, eta=2.0, seed=11, progress=False)
    order = np.random.default_rng(11).permutation(23)
    for start in range(0, 23, 10):
        rows = order[start:start + 10]
        by_hand.update_mini_batch(X[rows], y[rows], 2.0)
    np.testing.assert_allclose(net.params, by_hand.params, rtol=0, atol=1e-14)


def test_progress_pieces_do_not_change_the_result(monkeypatch):
    X, y = random_problem([6, 5, 3], 95)
    results = []
    monkeypatch.setattr(fastnet.mlp.training, "will_draw", lambda enabled: enabled)  # as if on a terminal
    for progress in (False, True):
        net = fastnet.Network([6, 5, 3], dtype="float64", seed=0)
        monkeypatch.setattr(fastnet.mlp.training, "PROGRESS_PIECES", 4)
        net.fit(X, y, epochs=1, batch_size=10, eta=1.0, seed=1, progress=progress)
        results.append(net.params)
    np.testing.assert_array_equal(*results)


def test_short_run_on_1000_images_learns(mnist, backend):
    (train_X, train_y), (test_X, test_y) = mnist
    net = fastnet.Network([784, 30, 10], backend=backend, seed=0)
    before = net.accuracy(test_X, test_y)
    history = net.fit(train_X[:1000], train_y[:1000], epochs=30, batch_size=10, eta=3.0,
                      test=(test_X, test_y), seed=0, progress=False)
    assert before < 0.2
    assert history[-1]["test_accuracy"] > 0.80
    assert history[-1]["train_cost"] < history[0]["train_cost"]


def test_book_interface(mnist, capsys):
    (train_X, train_y), (test_X, test_y) = mnist
    one_hot = np.eye(10)[:, :, None]
    training_data = [(x.reshape(784, 1), one_hot[label]) for x, label in zip(train_X[:300], train_y[:300])]
    test_data = list(zip([x.reshape(784, 1) for x in test_X[:200]], test_y[:200].tolist()))
    net = fastnet.Network([784, 30, 10], seed=0)
    net.SGD(training_data, 3, 10, 3.0, test_data=test_data)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0", "Epoch 1", "Epoch 2"]
    correct = net.evaluate(test_data)
    assert lines[-1] == f"Epoch 2: {correct} / 200"
    assert correct == net.evaluate(test_X[:200], test_y[:200])
    net.SGD(training_data[:20], 1, 10, 3.0)
    assert capsys.readouterr().out == "Epoch 0 complete\n"
    before = net.params.copy()
    net.update_mini_batch(training_data[:10], 3.0)  # the book's two-argument form
    after_book = net.params.copy()
    net.params = before
    net.update_mini_batch(train_X[:10], train_y[:10], 3.0)
    np.testing.assert_array_equal(net.params, after_book)
    nabla_b, nabla_w = net.backprop(*training_data[0])
    assert [b.shape for b in nabla_b] == [(30, 1), (10, 1)]
    assert [w.shape for w in nabla_w] == [(30, 784), (10, 30)]


def test_load_data_wrapper_feeds_sgd(mnist_directory):
    training_data, validation_data, test_data = fastnet.datasets.load_data_wrapper(mnist_directory, progress=False)
    assert (len(training_data), len(validation_data), len(test_data)) == (50000, 10000, 10000)
    x, y = training_data[0]
    assert x.shape == (784, 1) and y.shape == (10, 1) and y.sum() == 1
    assert isinstance(test_data[0][1], int)
    net = fastnet.Network([784, 30, 10], seed=0)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        net.SGD(training_data[:2000], 1, 10, 3.0, test_data=test_data[:500])
    assert out.getvalue().startswith("Epoch 0: ")


def test_backend_switching_keeps_parameters(backend):
    net = fastnet.Network([5, 3, 2], seed=0)
    params = net.params.copy()
    net.backend = backend
    assert net.backend == backend
    assert net.use_backend("numpy") is net and net.backend == "numpy"
    np.testing.assert_array_equal(net.params, params)


def test_backend_environment_variable(monkeypatch):
    monkeypatch.setenv("FASTNET_BACKEND", "numpy")
    assert fastnet.Network([3, 2]).backend == "numpy"
    monkeypatch.setenv("FASTNET_BACKEND", "fortran")
    with pytest.raises(ValueError, match="FASTNET_BACKEND='fortran' is not a backend"):
        fastnet.Network([3, 2])
    assert "numpy" in fastnet.backends.available()


def test_unusable_backend_says_how_to_install(monkeypatch):
    monkeypatch.setitem(fastnet.backends._BACKENDS, "broken",
                        ("fastnet.backends.no_such_module", "pip install broken-thing"))
    monkeypatch.setattr(fastnet.backends, "_failures", {})
    assert "broken" not in fastnet.backends.available()
    assert "No module named" in fastnet.backends.why_unavailable("broken")
    with pytest.raises(fastnet.backends.BackendUnavailable, match="pip install broken-thing"):
        fastnet.Network([3, 2], backend="broken")


def test_save_and_load_round_trip(tmp_path):
    net = fastnet.Network([7, 5, 3], activation="tanh", dtype="float64", seed=0)
    path = net.save(tmp_path / "net.npz")
    loaded = fastnet.load(path)
    np.testing.assert_array_equal(loaded.params, net.params)
    assert (loaded.sizes, loaded.activation, loaded.dtype) == ([7, 5, 3], "tanh", np.float64)
    assert [name for name in os.listdir(tmp_path)] == ["net.npz"]  # no temporary left behind


def test_load_rejects_damaged_files(tmp_path):
    path = fastnet.Network([7, 5, 3], seed=0).save(tmp_path / "net.npz")
    data = open(path, "rb").read()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    np.savez(tmp_path / "mismatched.npz", params=np.zeros(5), sizes=np.array([7, 5, 3]), activation="sigmoid",
             cost="quadratic", fastnet_version="0")
    np.savez(tmp_path / "badmeta.npz", params=np.zeros(4), sizes=np.array([3, 0]), activation="sigmoid",
             cost="quadratic", fastnet_version="0")
    for name, message in [("truncated", "not a readable"), ("garbage", "not a readable"), ("foreign", "missing params"),
                          ("mismatched", "holds 5 parameters"), ("badmeta", "invalid network metadata")]:
        with pytest.raises(ValueError, match=message):
            fastnet.load(tmp_path / f"{name}.npz")


def test_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    net = fastnet.Network([4, 2], seed=0)
    path = net.save(tmp_path / "net.npz")
    before = open(path, "rb").read()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        fastnet.Network([4, 2], seed=1).save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["net.npz"]


def test_divergence_keeps_last_good_parameters():
    """A NaN cost stops training with advice, restoring the parameters from before the bad epoch.

    Sigmoid outputs with the quadratic cost saturate rather than diverge, so the
    kernel is wrapped to poison the parameters in epoch 2.
    """
    import types

    net = fastnet.Network([4, 5, 2], seed=0)
    X, y = random_problem([4, 5, 2], 20)
    real, calls = net._kernels, []

    def poisoned_epoch(params, *args):
        real.sgd_epoch(params, *args)
        calls.append(params.copy())
        if len(calls) == 2:
            params[3] = np.nan

    net._kernels = types.SimpleNamespace(prepare_inputs=real.prepare_inputs, feedforward=real.feedforward,
                                         predict=real.predict, sgd_epoch=poisoned_epoch)
    with pytest.raises(fastnet.TrainingDiverged, match="epoch 2.*smaller eta than 3.0"):
        net.fit(X, y, epochs=3, eta=3.0, progress=False)
    np.testing.assert_array_equal(net.params, calls[0])


def test_callbacks_see_every_epoch_and_can_stop_training():
    X, y = random_problem([6, 5, 3], 40)
    seen = []
    net = fastnet.Network([6, 5, 3], seed=0)
    history = net.fit(X, y, epochs=5, progress=False, callbacks=[lambda net, record: seen.append(record["epoch"]),
                                                                lambda net, record: record["epoch"] == 3])
    assert seen == [1, 2, 3] and len(history) == 3
    with pytest.raises(TypeError, match="callbacks must be callables"):
        net.fit(X, y, epochs=1, progress=False, callbacks=["print"])
