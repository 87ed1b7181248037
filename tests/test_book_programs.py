"""fastnet.book.network and fastnet.book.network2: the book's programs run unchanged on fastnet."""
import json
import random

import numpy as np
import pytest

from fastnet.book import network, network2


@pytest.fixture(scope="module")
def book_data(mnist):
    """The book's format: training pairs (x (784, 1), one-hot y (10, 1)), evaluation pairs (x, label)."""
    (X, y), (test_X, test_y) = mnist
    training = [(x.reshape(-1, 1).astype(np.float64), network2.vectorized_result(label)) for x, label in
                zip(X[:1000], y[:1000])]
    evaluation = [(x.reshape(-1, 1).astype(np.float64), int(label)) for x, label in zip(test_X[:300], test_y[:300])]
    return training, evaluation


def test_chapter_three_example_runs_unchanged(book_data, capsys):
    training_data, evaluation_data = book_data
    random.seed(12)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data, 3, 10, 0.5, lmbda=5.0, evaluation_data=evaluation_data, monitor_evaluation_cost=True,
        monitor_evaluation_accuracy=True, monitor_training_cost=True, monitor_training_accuracy=True)
    columns = (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)
    assert [len(column) for column in columns] == [3] * 4
    assert all(isinstance(count, int) for count in evaluation_accuracy + training_accuracy)
    assert training_accuracy[-1] > 700 and evaluation_accuracy[-1] > 200
    printed = capsys.readouterr().out.splitlines()
    assert printed[:6] == ["Epoch 0 training complete", f"Cost on training data: {training_cost[0]}",
                           f"Accuracy on training data: {training_accuracy[0]} / 1000",
                           f"Cost on evaluation data: {evaluation_cost[0]}",
                           f"Accuracy on evaluation data: {evaluation_accuracy[0]} / 300", ""]
    # The book's definitions, computed here from the network's outputs:
    outputs = [net.feedforward(x) for x, _ in evaluation_data]
    book_cost = sum(network2.CrossEntropyCost.fn(a, network2.vectorized_result(label))
                    for a, (_, label) in zip(outputs, evaluation_data)) / len(evaluation_data)
    book_cost += 0.5 * (5.0 / len(evaluation_data)) * sum(np.linalg.norm(w) ** 2 for w in net.weights)
    assert net.total_cost(evaluation_data, 5.0, convert=True) == pytest.approx(book_cost, rel=1e-5)
    assert net.accuracy(evaluation_data) == sum(int(np.argmax(a) == label)
                                                for a, (_, label) in zip(outputs, evaluation_data))
    assert net.accuracy(training_data, convert=True) == training_accuracy[-1]


def test_monitoring_evaluation_needs_evaluation_data(book_data):
    training_data, _ = book_data
    with pytest.raises(ValueError, match="need evaluation_data"):
        network2.Network([784, 10, 10]).SGD(training_data[:50], 1, 10, 0.5, monitor_evaluation_accuracy=True)


def test_the_same_python_seed_repeats_a_run(book_data):
    training_data, _ = book_data
    results = []
    for _ in range(2):
        random.seed(3)
        net = network2.Network([784, 10, 10], seed=4)
        net.SGD(training_data[:200], 2, 10, 0.5)
        results.append(net.params.copy())
    np.testing.assert_array_equal(*results)


def test_save_and_load_the_books_json(tmp_path, book_data):
    training_data, evaluation_data = book_data
    net = network2.Network([784, 12, 10], cost=network2.QuadraticCost, seed=1)
    path = tmp_path / "net.json"
    net.save(path)
    saved = json.loads(path.read_text())
    assert set(saved) == {"sizes", "weights", "biases", "cost"} and saved["cost"] == "QuadraticCost"
    assert np.array(saved["biases"][0]).shape == (12, 1)  # columns, as the book writes them
    again = network2.load(path)
    assert again.cost is network2.QuadraticCost and again.cost_name == "quadratic"
    np.testing.assert_allclose(again.params, net.params)
    assert again.accuracy(evaluation_data) == net.accuracy(evaluation_data)
    (tmp_path / "bad.json").write_text(json.dumps({"sizes": [784, 10], "cost": "NoSuchCost"}))
    with pytest.raises(ValueError, match="not a network2 JSON file"):
        network2.load(tmp_path / "bad.json")


def test_initialisers_and_columns():
    net = network2.Network([400, 100, 10], seed=0)
    assert abs(np.std(net.weights[0]) - 1 / np.sqrt(400)) < 0.005  # the default: N(0, 1/n_in)
    net.large_weight_initializer()
    assert abs(np.std(net.weights[0]) - 1) < 0.05 and net.biases[0].shape == (100, 1)
    net.biases[0][:] = 2.0  # a view, as the book's arrays are the network's own
    assert (net.params[400 * 100:400 * 100 + 100] == 2.0).all()
    with pytest.raises(ValueError, match="cost must be"):
        network2.Network([4, 2], cost="cross_entropy")


def test_chapter_one_network(book_data, capsys):
    training_data, evaluation_data = book_data
    net = network.Network([784, 30, 10], seed=0)
    assert net.biases[1].shape == (10, 1) and net.cost_name == "quadratic"
    net.SGD(training_data, 2, 10, 3.0, test_data=evaluation_data)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Epoch 0: ") and lines[1].endswith(" / 300")
    assert isinstance(net.evaluate(evaluation_data), int)
    assert isinstance(network.sigmoid(0.0), float) and network.sigmoid_prime(0.0) == 0.25


def test_numpy_and_python_seeds_repeat_a_run_as_in_the_book(book_data):
    training_data, _ = book_data
    results = []
    for _ in range(2):
        np.random.seed(5)
        random.seed(6)
        net = network2.Network([784, 10, 10])
        start = net.params.copy()
        net.SGD(training_data[:100], 1, 10, 0.5)
        results.append((start, net.params.copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.random.seed(5)
    first_bias = network.Network([784, 10, 10]).biases[0][0, 0]
    np.random.seed(5)
    assert first_bias == np.float32(np.random.standard_normal())  # the book's first draw: biases[0][0]
