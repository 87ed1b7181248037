"""fastnet.lessons (issue 31): the numbers behind the seed's explanations, against the library's own math."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnet
from fastnet import lessons


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.random((200, 16))
    y = X[:, :4].argmax(axis=1)  # a rule the network can learn
    net = fastnet.Network([16, 8, 4], seed=0, dtype="float64", backend="numpy")
    net.fit(X, y, epochs=3, eta=3.0, seed=0, progress=False)
    return net, X, y


def test_nudges_are_backprop_read_layer_by_layer(problem):
    net, X, _ = problem
    nudges = lessons.nudges(net, X[0], 2)
    nabla_b, nabla_w = net.backprop(X[0], 2)
    for got, expected in zip(nudges["deltas"], nabla_b):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(nudges["weight_gradients"], nabla_w):
        np.testing.assert_array_equal(got, expected)
    # ∂C/∂W_l = δ_l a_{l-1}ᵀ: the weights' nudges are the deltas times the activations feeding them
    activations = net.activations(X[0])
    for l, weight_gradient in enumerate(nudges["weight_gradients"]):
        np.testing.assert_allclose(weight_gradient, np.outer(nudges["deltas"][l], activations[l]), rtol=1e-12)
    output = net.feedforward(X[0])
    np.testing.assert_array_equal(nudges["desired"], np.eye(4)[2] - output)
    assert nudges["cost"] == pytest.approx(0.5 * np.sum((output - np.eye(4)[2]) ** 2), rel=1e-12)


def test_a_cohorts_mean_vote_and_learning(problem):
    net, X, y = problem
    cohort = lessons.cohort_nudges(net, X[0], 2, X, y, size=9, seed=1)
    assert cohort["desired"].shape == (10, 4) and cohort["labels"][0] == 2
    np.testing.assert_allclose(cohort["mean_desired"], cohort["desired"].mean(axis=0), rtol=1e-12)
    copy = fastnet.Network([16, 8, 4], dtype="float64", backend="numpy")
    copy.params = net.params
    result = lessons.learn(copy, X[0], 3, eta=3.0, steps=50)
    assert result["cost_after"] < result["cost_before"] and result["prediction_after"] == 3


def test_the_cost_surface(problem):
    net, X, y = problem
    before = net.params.copy()
    params = lessons.largest_gradient_params(net, X[0], 2)
    gradient = net.gradient(X[:1], [2])
    assert np.abs(gradient[params[0]]) == np.abs(gradient).max()
    surface = lessons.cost_surface(net, params, X, y, span=2.0, n=5, steps=25, eta=2.0)
    np.testing.assert_array_equal(net.params, before)  # the caller's network is not touched
    assert surface["grid"][2, 2] == net.cost(X, y)
    moved = net.params.copy()
    moved[params[0]] += 2.0
    moved[params[1]] -= 1.0
    probe = fastnet.Network([16, 8, 4], dtype="float64", backend="numpy")
    probe.params = moved
    assert surface["grid"][4, 1] == pytest.approx(probe.cost(X, y), rel=1e-12)
    costs = surface["path"][:, 2]
    assert costs[-1] < costs[0] and np.all(np.diff(costs) <= 1e-12)
    with pytest.raises(ValueError, match="two different"):
        lessons.cost_surface(net, [3, 3], X, y)
    with pytest.raises(ValueError, match="params must be at most"):
        lessons.cost_surface(net, [3, net.num_params], X, y)


def test_parameter_names_follow_the_layout():
    sizes = [3, 2, 1]  # W1 (2, 3), b1 (2,), W2 (1, 2), b2 (1,)
    names = [lessons.parameter_name(sizes, i) for i in range(11)]
    assert names == ["W1[0, 0]", "W1[0, 1]", "W1[0, 2]", "W1[1, 0]", "W1[1, 1]", "W1[1, 2]", "b1[0]", "b1[1]",
                     "W2[0, 0]", "W2[0, 1]", "b2[0]"]
    with pytest.raises(ValueError):
        lessons.parameter_name(sizes, 11)


@pytest.fixture(scope="module")
def gpt():
    tokenizer = fastnet.text.CharTokenizer.fit("the quick brown fox jumps over the lazy dog")
    model = fastnet.GPT(tokenizer.vocab_size, context=8, n_layer=1, n_head=2, n_embd=8, dtype="float64",
                        backend="numpy", seed=0)
    model.tokenizer = tokenizer
    return model


def test_embeddings_neighbours_and_dots(gpt):
    wte = gpt.state_dict()["transformer.wte.weight"]
    points = lessons.embedding_points(gpt)
    centred = wte - wte.mean(axis=0)
    variances = np.var(points, axis=0) * len(points)
    singular = np.linalg.svd(centred, compute_uv=False)
    np.testing.assert_allclose(variances, singular[:2] ** 2, rtol=1e-10)  # the two largest directions
    near = lessons.neighbours(gpt, 5, 3)
    cosines = [wte[t] @ wte[5] / np.linalg.norm(wte[t]) / np.linalg.norm(wte[5]) for t in range(len(wte))]
    cosines[5] = -np.inf
    assert [t for t, _ in near] == list(np.argsort(cosines)[::-1][:3])
    tokens = gpt.tokenizer.encode("the fox")
    final, dots, p = lessons.next_token_dots(gpt, tokens, temperature=0.5)
    np.testing.assert_allclose(dots, gpt.logits(tokens)[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p, gpt.next_token_probabilities(tokens, temperature=0.5), rtol=1e-10, atol=1e-15)
    assert final.shape == (8,)


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastnet.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_show_surface_and_embeddings_draw_pngs(tmp_path, gpt):
    result = run("show", "surface", "--epochs", "1", "--train-size", "2000", "--backend", "numpy", "--out",
                 tmp_path / "surface.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "gradient descent on them lowers the mean cost" in result.stdout
    assert (tmp_path / "surface.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gpt.save(tmp_path / "gpt.npz")
    result = run("show", "embeddings", "--model", tmp_path / "gpt.npz", "--out", tmp_path / "emb.png", cwd=tmp_path)
    assert result.returncode == 0 and "token embeddings" in result.stdout, result.stderr
    assert os.path.getsize(tmp_path / "emb.png") > 1000
    result = run("show", "embeddings", cwd=tmp_path)
    assert result.returncode == 2 and "--model gpt.npz" in result.stderr
