"""fit beyond the book's first network: costs, L2, momentum, validation, schedules, checkpoints."""
import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import random_problem

import fastnet
from fastnet.mlp.layout import split_params


def _without_seconds(history):
    return [{key: value for key, value in record.items() if key != "seconds"} for record in history]


@pytest.mark.parametrize("cost, output", [("quadratic", "sigmoid"), ("cross_entropy", "sigmoid"),
                                          ("log_likelihood", "softmax")])
def test_costs_choose_their_output_layer(cost, output):
    net = fastnet.Network([4, 3, 2], cost=cost, seed=0)
    assert (net.cost_name, net.output) == (cost, output)
    assert fastnet.Network([4, 3, 2], cost=cost, output=output).output == output
    other = {"sigmoid": "softmax", "softmax": "sigmoid"}[output]
    with pytest.raises(ValueError, match=f"output='{other}' does not go with cost='{cost}'"):
        fastnet.Network([4, 3, 2], cost=cost, output=other)


def test_l2_step_is_the_books_weight_decay(backend):
    """One step: w -> (1 − eta λ/n) w − eta ∇_w, b -> b − eta ∇_b, n the training set size."""
    sizes, n, eta, lmbda = [6, 5, 3], 8, 0.5, 4.0
    X, y = random_problem(sizes, n, seed=1)
    net = fastnet.Network(sizes, dtype="float64", backend=backend, seed=0)
    start, grad = net.params.copy(), net.gradient(X, y)
    net.fit(X, y, epochs=1, batch_size=n, eta=eta, lmbda=lmbda, progress=False)
    reference = fastnet.Network(sizes, dtype="float64", seed=0)
    decay = 1 - eta * lmbda / n
    for W, b, W0, b0, gW, gb in zip(net.weights, net.biases, reference.weights, reference.biases,
                                    *split_params(grad, sizes)):
        np.testing.assert_allclose(W, decay * W0 - eta * gW, rtol=0, atol=1e-14)
        np.testing.assert_allclose(b, b0 - eta * gb, rtol=0, atol=1e-14)
    assert not np.array_equal(net.params, start)


def test_momentum_steps_by_hand(backend):
    """v = μ v − eta ∇C, p += v, over three full-batch steps."""
    sizes, eta, mu = [5, 4, 2], 0.3, 0.9
    X, y = random_problem(sizes, 6, seed=2)
    net = fastnet.Network(sizes, dtype="float64", backend=backend, seed=0)
    reference = fastnet.Network(sizes, dtype="float64", seed=0)
    velocity = np.zeros_like(reference.params)
    for _ in range(3):
        velocity = mu * velocity - eta * reference.gradient(X, y)
        reference.params += velocity
    net.fit(X, y, epochs=3, batch_size=6, eta=eta, momentum=mu, progress=False)
    np.testing.assert_allclose(net.params, reference.params, rtol=0, atol=1e-13)


def test_validation_is_monitored_every_epoch():
    X, y = random_problem([8, 6, 3], 60, seed=3)
    net = fastnet.Network([8, 6, 3], cost="log_likelihood", seed=0)
    history = net.fit(X[:40], y[:40], epochs=3, eta=0.5, validation=(X[40:], y[40:]), progress=False,
                      training_metrics="exact")
    for key in ("train_cost", "train_accuracy", "validation_cost", "validation_accuracy"):
        assert len(history[key]) == 3
    assert history[-1]["validation_cost"] == pytest.approx(net.cost(X[40:], y[40:]))
    assert history[-1]["validation_accuracy"] == net.accuracy(X[40:], y[40:])
    assert history[-1]["train_accuracy"] == net.accuracy(X[:40], y[:40])
    assert history.best_epoch == 1 + int(np.argmax(history["validation_accuracy"]))


def _unlearnable_validation(width):
    """Three identical inputs labelled 0, 1 and 2: the validation accuracy is 1/3 whatever the network learns."""
    return np.full((3, width), 0.5), np.array([0, 1, 2])


def test_eta_halves_on_a_plateau_of_validation_accuracy():
    X, y = random_problem([8, 6, 3], 30)
    net = fastnet.Network([8, 6, 3], seed=0)
    history = net.fit(X, y, epochs=7, eta=1.0, validation=_unlearnable_validation(8), halve_eta_patience=2,
                      progress=False)
    # Epoch 1 is the best; after 2 epochs without improvement eta halves, and the count starts again.
    assert history["eta"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert history["validation_accuracy"] == [pytest.approx(1 / 3)] * 7


def test_early_stopping_returns_to_the_best_epoch():
    X, y = random_problem([8, 6, 3], 30)
    net = fastnet.Network([8, 6, 3], seed=0)
    after = []
    history = net.fit(X, y, epochs=20, eta=1.0, validation=_unlearnable_validation(8), early_stopping_patience=3,
                      callbacks=[lambda net, record: after.append(net.params.copy())], progress=False)
    assert len(history) == 4 and history.stopped_early and history.best_epoch == 1
    np.testing.assert_array_equal(net.params, after[0])


@pytest.mark.parametrize("options, error, message", [
    ({"lmbda": -1.0}, ValueError, "lmbda must be a finite number >= 0; got -1.0"),
    ({"lmbda": "5"}, TypeError, "lmbda must be a finite number >= 0"),
    ({"momentum": 1.0}, ValueError, "momentum must be a finite number >= 0 and < 1; got 1.0"),
    ({"momentum": float("nan")}, ValueError, "momentum must be a finite number >= 0 and < 1"),
    ({"halve_eta_patience": 2}, ValueError, "pass validation="),
    ({"early_stopping_patience": 0, "validation": ([[0.0] * 4], [0])}, ValueError,
     "early_stopping_patience must be at least 1"),
    ({"validation": ([[0.0] * 3], [0])}, ValueError, r"validation\[0\]"),
])
def test_bad_training_options(options, error, message):
    X, y = random_problem([4, 3, 2], 10)
    net = fastnet.Network([4, 3, 2], seed=0)
    before = net.params.copy()
    with pytest.raises(error, match=message):
        net.fit(X, y, epochs=1, progress=False, **options)
    np.testing.assert_array_equal(net.params, before)


# -- checkpoints -----------------------------------------------------------------------------

FULL_OPTIONS = dict(batch_size=7, eta=0.5, lmbda=1.0, momentum=0.5, seed=11, halve_eta_patience=2,
                    early_stopping_patience=50, progress=False)


def _problem():
    X, y = random_problem([10, 8, 3], 70, seed=4)
    return (X[:56], y[:56]), (X[56:], y[56:])


def test_resume_gives_the_uninterrupted_result(tmp_path):
    (X, y), validation = _problem()
    whole = fastnet.Network([10, 8, 3], cost="cross_entropy", seed=0)
    expected = whole.fit(X, y, epochs=6, validation=validation, **FULL_OPTIONS)

    first = fastnet.Network([10, 8, 3], cost="cross_entropy", seed=0)
    first.fit(X, y, epochs=3, validation=validation, checkpoint=tmp_path / "run.npz", **FULL_OPTIONS)
    resumed = fastnet.Network([10, 8, 3], cost="cross_entropy", seed=99)  # other starting parameters
    history = resumed.fit(X, y, epochs=6, validation=validation, resume=tmp_path / "run.npz", **FULL_OPTIONS)
    np.testing.assert_array_equal(resumed.params, whole.params)
    assert _without_seconds(history) == _without_seconds(expected) and history.best_epoch == expected.best_epoch
    # A checkpoint is also a network file.
    np.testing.assert_array_equal(fastnet.load(tmp_path / "run.npz").params, first.params)


def test_resume_refuses_other_settings_and_plain_network_files(tmp_path):
    (X, y), validation = _problem()
    net = fastnet.Network([10, 8, 3], seed=0)
    net.fit(X, y, epochs=1, validation=validation, checkpoint=tmp_path / "run.npz", **FULL_OPTIONS)
    options = dict(FULL_OPTIONS, lmbda=2.0)
    with pytest.raises(ValueError, match=r"other settings: lmbda 1.0 \(now 2.0\)"):
        net.fit(X, y, epochs=2, validation=validation, resume=tmp_path / "run.npz", **options)
    with pytest.raises(ValueError, match="the checkpoint's network has sizes"):
        fastnet.Network([10, 5, 3]).fit(X, y, epochs=2, validation=validation, resume=tmp_path / "run.npz",
                                        **FULL_OPTIONS)
    net.save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="without a readable training state"):
        net.fit(X, y, epochs=2, resume=tmp_path / "plain.npz", progress=False)
    with pytest.raises(FileNotFoundError):
        net.fit(X, y, epochs=2, resume=tmp_path / "missing.npz", progress=False)


def test_damaged_training_state_is_refused(tmp_path):
    (X, y), _ = _problem()
    net = fastnet.Network([10, 8, 3], seed=0)
    net.fit(X, y, epochs=1, checkpoint=tmp_path / "run.npz", progress=False, momentum=0.5)
    contents = dict(np.load(tmp_path / "run.npz", allow_pickle=False))
    state = json.loads(str(contents["training_state"]))
    del state["rng"]
    np.savez(tmp_path / "norng.npz", **dict(contents, training_state=np.str_(json.dumps(state))))
    np.savez(tmp_path / "badvelocity.npz", **dict(contents, state_velocity=np.zeros(3)))
    del contents["state_velocity"]
    np.savez(tmp_path / "novelocity.npz", **contents)
    generator_state = net._rng.bit_generator.state
    for name, message in (("norng", "damaged training state"), ("badvelocity", "state array velocity"),
                          ("novelocity", "damaged training state")):
        with pytest.raises(ValueError, match=message):
            net.fit(X, y, epochs=2, resume=tmp_path / f"{name}.npz", progress=False, momentum=0.5)
    with pytest.raises(ValueError, match="other settings"):
        net.fit(X, y, epochs=2, resume=tmp_path / "run.npz", progress=False, momentum=0.9)
    assert net._rng.bit_generator.state == generator_state  # a refused resume changed nothing


def test_divergence_checkpoints_the_last_good_parameters(tmp_path):
    """Softmax with ReLU at a huge eta overflows to NaN; the checkpoint holds the parameters from before."""
    X, y = random_problem([10, 8, 3], 50, seed=5)
    X *= 100
    net = fastnet.Network([10, 8, 3], activation="relu", cost="log_likelihood", seed=0, backend="numpy")
    with pytest.raises(fastnet.TrainingDiverged, match="smaller eta than 1e\\+30.*checkpointed"):
        with np.errstate(all="ignore"):
            net.fit(X, y, epochs=3, eta=1e30, checkpoint=tmp_path / "run.npz", progress=False)
    assert np.isfinite(net.params).all()
    np.testing.assert_array_equal(fastnet.load(tmp_path / "run.npz").params, net.params)


_TRAINER = textwrap.dedent("""
    import sys
    import numpy as np
    import fastnet
    X = np.random.default_rng(0).random((3000, 64))
    y = (X[:, :10].argmax(axis=1))
    net = fastnet.Network([64, 32, 10], cost="cross_entropy", seed=0, backend="numpy")
    def report(net, record):
        print(record["epoch"], flush=True)
    net.fit(X, y, epochs=int(sys.argv[2]), batch_size=1, eta=0.1, lmbda=1.0, momentum=0.5, seed=1,
            progress=False, callbacks=[report], **({sys.argv[3]: sys.argv[1]} if len(sys.argv) > 3 else {}))
    net.save(sys.argv[1] + ".final.npz")
""")


def test_sigkill_mid_run_loses_at_most_one_epoch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_TRAINER)
    checkpoint = str(tmp_path / "run.npz")
    epochs = 12
    process = subprocess.Popen([sys.executable, str(script), checkpoint, str(epochs), "checkpoint"],
                               stdout=subprocess.PIPE, text=True)
    finished = []
    while len(finished) < 3:  # let a few epochs finish, then kill it in the middle of the next
        line = process.stdout.readline()
        assert line, "the training process ended early"
        finished.append(int(line))
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = json.loads(str(np.load(checkpoint, allow_pickle=False)["training_state"]))
    assert state["epoch"] >= finished[-1] - 1 and state["epoch"] < epochs

    subprocess.run([sys.executable, str(script), checkpoint, str(epochs), "resume"], check=True, capture_output=True)
    subprocess.run([sys.executable, str(script), str(tmp_path / "whole"), str(epochs)], check=True,
                   capture_output=True)
    resumed = fastnet.load(checkpoint + ".final.npz")
    uninterrupted = fastnet.load(str(tmp_path / "whole") + ".final.npz")
    np.testing.assert_array_equal(resumed.params, uninterrupted.params)


def test_save_and_load_keep_output_and_dtype(tmp_path):
    net = fastnet.Network([7, 5, 3], activation="relu", cost="log_likelihood", dtype="float64", seed=0)
    loaded = fastnet.load(net.save(tmp_path / "net.npz"))
    assert (loaded.activation, loaded.cost_name, loaded.output, loaded.dtype) == ("relu", "log_likelihood",
                                                                                  "softmax", np.float64)
    contents = dict(np.load(tmp_path / "net.npz", allow_pickle=False))
    np.savez(tmp_path / "wrongdtype.npz", **dict(contents, dtype=np.str_("float32")))
    np.savez(tmp_path / "nan.npz", **dict(contents, params=np.full_like(contents["params"], np.nan)))
    np.savez(tmp_path / "badoutput.npz", **dict(contents, output=np.str_("sigmoid")))
    for name, message in (("wrongdtype", "metadata says dtype float32"), ("nan", "NaN"),
                          ("badoutput", "does not go with cost")):
        with pytest.raises(ValueError, match=message):
            fastnet.load(tmp_path / f"{name}.npz")
    assert fastnet.load(tmp_path / "net.npz", backend="numpy").backend == "numpy"
