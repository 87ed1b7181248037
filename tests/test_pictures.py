"""The numbers behind the pictures (the drawing itself is run by tests/test_cli.py)."""
import numpy as np
import pytest
from conftest import random_problem

import fastnet
from fastnet.mlp import pictures


def test_first_layer_images_are_the_rows_of_w0():
    net = fastnet.Network([784, 5, 10], seed=0)
    images = pictures.first_layer_images(net)
    assert images.shape == (5, 28, 28)
    np.testing.assert_array_equal(images[2].reshape(-1), net.weights[0][2])
    with pytest.raises(ValueError, match="not a square image"):
        pictures.first_layer_images(fastnet.Network([10, 3, 2]))


def test_confusion_matrix_counts_true_against_predicted():
    X, y = random_problem([16, 6, 4], 200)
    net = fastnet.Network([16, 6, 4], seed=0)
    matrix = pictures.confusion_matrix(net, X, y)
    predicted = net.predict(X)
    assert matrix.sum() == 200 and np.trace(matrix) == net.evaluate(X, y)
    assert matrix[1, 3] == np.count_nonzero((y == 1) & (predicted == 3))


def test_junk_confidence_reports_the_largest_output():
    net = fastnet.Network([16, 6, 4], cost="log_likelihood", seed=0)
    report = pictures.junk_confidence(net, count=50, seed=1)
    outputs = net.feedforward(report["images"])
    np.testing.assert_array_equal(report["labels"], outputs.argmax(axis=1))
    np.testing.assert_allclose(report["confidence"], outputs.max(axis=1))
    assert report["label_counts"].sum() == 50 and 0 <= report["share_confident"] <= 1
    assert np.all((report["images"] >= 0) & (report["images"] < 1))


def test_blur_keeps_a_flat_image_and_spreads_a_point():
    flat = np.full(49, 0.3)
    np.testing.assert_allclose(pictures.blur(flat, 1.0), flat)
    point = np.zeros(49)
    point[24] = 1.0  # the centre of a 7x7 image
    blurred = pictures.blur(point, 1.0)
    assert blurred.sum() == pytest.approx(1.0) and blurred[24] < 1 and blurred[23] == pytest.approx(blurred[25])


@pytest.mark.parametrize("cost", ["quadratic", "log_likelihood"])
def test_archetype_makes_the_network_name_the_digit(cost):
    X, _ = random_problem([16, 8, 3], 600, seed=2)
    y = X[:, :3].argmax(axis=1)  # learnable: the brightest of the first three pixels
    net = fastnet.Network([16, 8, 3], cost=cost, init="xavier", seed=0)
    net.fit(X, y, epochs=20, eta=0.5, progress=False)
    assert net.accuracy(X, y) > 0.8
    for digit in range(3):
        image = pictures.archetype(net, digit, steps=100, step_size=0.05)
        assert image.shape == (16,) and np.all((image >= 0) & (image <= 1))
        assert net.predict(image) == digit
    with pytest.raises(ValueError, match=r"digit must hold class labels in \[0, 3\)"):
        pictures.archetype(net, 7)
