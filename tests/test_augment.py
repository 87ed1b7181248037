"""Training on changed images each epoch (augment, random_shifts), a fixed eta schedule, and the best preset."""
import numpy as np
import pytest

import fastnet
from fastnet.datasets import random_shifts


def _images(n=40, seed=0):
    """uint8 28x28 images, blank within 2 pixels of the edge (as MNIST's digits are)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 2:26, 2:26] = rng.integers(0, 256, (n, 24, 24))
    return images.reshape(n, 784)


@pytest.mark.parametrize("max_shift", [1, 2])
def test_random_shifts_move_each_image_within_range(max_shift):
    X = _images()
    shifted = random_shifts(max_shift)(X, np.random.default_rng(1))
    assert shifted.shape == X.shape and shifted.dtype == X.dtype
    moves = set()
    for before, after in zip(X.reshape(-1, 28, 28), shifted.reshape(-1, 28, 28)):
        found = [(a, b) for a in range(-max_shift, max_shift + 1) for b in range(-max_shift, max_shift + 1)
                 if np.array_equal(np.roll(before, (a, b), axis=(0, 1)), after)]
        assert found, "not a shift of the image"
        moves.add(found[0])
    assert len(moves) > 1
    again = random_shifts(max_shift)(X, np.random.default_rng(1))
    np.testing.assert_array_equal(again, shifted)


def test_pixels_shifted_out_are_dropped_and_zeros_come_in():
    X = np.full((200, 16), 7, np.uint8)
    shifted = random_shifts(1, shape=(4, 4))(X, np.random.default_rng(0)).reshape(-1, 4, 4)
    for image in shifted:
        assert (image == 7).sum() in (16, 12, 9)  # no move, one of the two axes, or both


@pytest.mark.parametrize("arguments, error", [((0,), ValueError), ((1.5,), TypeError), ((1, (28,)), TypeError),
                                              ((3, (3, 28)), ValueError)])
def test_random_shifts_arguments(arguments, error):
    with pytest.raises(error):
        random_shifts(*arguments)


@pytest.mark.parametrize("backend", fastnet.backends.available())
def test_fit_with_augment_is_the_loop_over_changed_images(backend):
    """Each epoch: the visiting order, then augment(X, rng) from the same generator, then the epoch."""
    X, y = _images(60), np.arange(60) % 10
    shifts = random_shifts(2)
    net = fastnet.Network([784, 12, 10], dtype="float64", backend=backend, seed=3)
    by_hand = fastnet.Network([784, 12, 10], dtype="float64", backend=backend, seed=3)
    history = net.fit(X, y, epochs=3, batch_size=7, eta=0.5, seed=9, augment=shifts, progress=False)
    rng, targets = np.random.default_rng(9), np.eye(10)[y]
    for _ in range(3):
        order = rng.permutation(60)
        rows = by_hand.kernels.prepare_inputs(shifts(X, rng), by_hand.dtype)
        by_hand.kernels.sgd_epoch(*by_hand.kernel_arguments, rows, targets, order, 7, 0.5)
    np.testing.assert_array_equal(net.params, by_hand.params)
    assert len(history) == 3


def test_augment_must_keep_the_shape():
    net, X, y = fastnet.Network([784, 5, 10], seed=0), _images(20), np.arange(20) % 10
    with pytest.raises(ValueError, match=r"augment must return an array of shape \(20, 784\)"):
        net.fit(X, y, epochs=1, augment=lambda X, rng: X[:10], progress=False)
    with pytest.raises(TypeError, match="augment must be a callable"):
        net.fit(X, y, epochs=1, augment=3, progress=False)


def test_halve_eta_after_given_epochs():
    X, y = _images(30), np.arange(30) % 10
    net = fastnet.Network([784, 5, 10], seed=0)
    history = net.fit(X, y, epochs=5, eta=0.8, halve_eta_after=[1, 3], progress=False)
    assert history["eta"] == [0.8, 0.4, 0.4, 0.2, 0.2]
    for bad, error in (([0], ValueError), ("3", TypeError), ([1.5], TypeError)):
        with pytest.raises(error, match="halve_eta_after"):
            net.fit(X, y, epochs=1, halve_eta_after=bad, progress=False)


def test_a_schedule_and_shifts_resume_as_if_never_stopped(tmp_path):
    X, y = _images(50), np.arange(50) % 10
    options = dict(eta=0.5, batch_size=8, seed=4, halve_eta_after=[2], augment=random_shifts(1), progress=False)
    whole = fastnet.Network([784, 6, 10], dtype="float64", seed=1)
    whole.fit(X, y, epochs=4, **options)
    stopped = fastnet.Network([784, 6, 10], dtype="float64", seed=1)
    stopped.fit(X, y, epochs=2, checkpoint=tmp_path / "run.npz", **options)  # as if killed after epoch 2
    resumed = fastnet.Network([784, 6, 10], dtype="float64", seed=1)
    resumed.fit(X, y, epochs=4, resume=tmp_path / "run.npz", **options)
    np.testing.assert_array_equal(resumed.params, whole.params)
    with pytest.raises(ValueError, match="other settings: augment"):
        resumed.fit(X, y, epochs=4, resume=tmp_path / "run.npz", **{**options, "augment": random_shifts(2)})


def test_the_best_preset_sets_defaults_and_explicit_options_win(tmp_path):
    from test_cli import run

    result = run("train", "--preset", "best", "--epochs", "1", "--sizes", "784,20,10", "--seed", "0",
                 env={"FASTNET_CACHE": str(tmp_path), "FASTNET_DATA": ""})
    assert result.returncode == 0, result.stderr
    assert "Network([784, 20, 10], activation='relu', cost='log_likelihood', output='softmax'" in result.stdout
    assert "SGD: 1 epoch, batch size 100, eta 0.05, lmbda 5.0, momentum 0.9" in result.stdout


def test_an_epoch_rolled_back_after_a_halving_resumes_with_the_halved_eta(tmp_path):
    """The checkpoint written when an epoch diverges holds the eta that epoch ran with, halved only once."""
    import types

    X, y = _images(30), np.arange(30) % 10
    net = fastnet.Network([784, 5, 10], dtype="float64", backend="numpy", seed=0)
    real, calls = net.kernels, []

    def sgd_epoch(params, *args, **options):  # the second epoch ends with a NaN in the parameters
        real.sgd_epoch(params, *args, **options)
        calls.append(1)
        if len(calls) == 2:
            params[0] = np.nan

    net._kernels = types.SimpleNamespace(**{name: getattr(real, name) for name in fastnet.backends.KERNELS})
    net._kernels.sgd_epoch = sgd_epoch
    path = tmp_path / "run.npz"
    with pytest.raises(fastnet.TrainingDiverged):
        net.fit(X, y, epochs=3, eta=0.8, halve_eta_after=[1], checkpoint=path, seed=2, progress=False)
    net._kernels = real
    history = net.fit(X, y, epochs=3, eta=0.8, halve_eta_after=[1], resume=path, seed=2, progress=False)
    assert history["eta"] == [0.8, 0.4, 0.4]
