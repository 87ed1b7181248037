"""``fastnet serve``'s JSON API through Starlette's test client: every route, every bad request."""
import copy
import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
from starlette.testclient import TestClient  # noqa: E402

import fastnet  # noqa: E402
from fastnet.serve import DigitModel, LanguageModel, make_app, payloads  # noqa: E402
from fastnet.serve import language as language_module  # noqa: E402

LOCAL = "http://127.0.0.1:8000"  # the address fastnet serve answers by default (any other Host is refused)


def local_client(digits, language, **options):
    return TestClient(make_app(digits, language, **options), base_url=LOCAL)


TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 4


@pytest.fixture(scope="module")
def net():
    return fastnet.Network([784, 16, 16, 10], seed=0)


@pytest.fixture(scope="module")
def gpt():
    tokenizer = fastnet.text.CharTokenizer.fit(TEXT)
    model = fastnet.GPT(tokenizer.vocab_size, context=16, n_layer=2, n_head=2, n_embd=16, dtype="float64", seed=0)
    model.tokenizer = tokenizer
    return model


@pytest.fixture(scope="module")
def client(net, gpt):
    return local_client(DigitModel(net, "a test network"), LanguageModel(gpt, "a test GPT"))


def _pixels(seed=0):
    return np.random.default_rng(seed).random(784)


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="pad"' in page.text
    for element in ("pad", "prediction", "clear", "prompt", "next-tokens"):  # the ids the browser tests find
        assert f'id="{element}"' in page.text
    for name in ("draw.js", "digits.js", "gpt.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "https://" not in page.text and "http://" not in page.text  # nothing fetched from elsewhere: works offline


def test_health_and_network(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["gpt"]["ready"] and health["network"]["sizes"] == [784, 16, 16, 10]
    network = client.get("/api/network").json()
    assert network == {"sizes": [784, 16, 16, 10], "activation": "sigmoid", "output": "sigmoid", "cost": "quadratic",
                       "image_side": 28, "probabilities_are": "sigmoid outputs divided by their sum",
                       "source": "a test network"}


def test_layers_are_the_weights_and_biases(client, net):
    for layer in (1, 2, 3):
        answer = client.get(f"/api/network/layers/{layer}").json()
        np.testing.assert_allclose(answer["weights"], net.weights[layer - 1], atol=5e-7)
        np.testing.assert_allclose(answer["biases"], net.biases[layer - 1], atol=5e-7)
    for layer in (0, 4):
        answer = client.get(f"/api/network/layers/{layer}")
        assert answer.status_code == 404 and "layer must be from 1 to 3" in answer.json()["error"]


def test_predict_gives_every_layer_and_the_probabilities(client, net):
    pixels = _pixels()
    answer = client.post("/api/predict", json={"pixels": pixels.tolist()}).json()
    expected = net.activations(pixels)
    assert [len(layer) for layer in answer["activations"]] == [784, 16, 16, 10]
    for got, want in zip(answer["activations"], expected):
        np.testing.assert_array_equal(np.float32(got), want)  # exactly the network's float32 values
    outputs = expected[-1].astype(np.float64)
    np.testing.assert_allclose(answer["probabilities"], outputs / outputs.sum(), rtol=1e-12)
    assert answer["prediction"] == net.predict(pixels) == int(np.argmax(answer["probabilities"]))
    assert answer["probabilities_are"] == "sigmoid outputs divided by their sum"
    integers = client.post("/api/predict", json={"pixels": [0] * 392 + [1] * 392}).json()  # ints are numbers too
    assert integers["activations"][0] == [0.0] * 392 + [1.0] * 392


def test_softmax_probabilities_are_the_outputs():
    net = fastnet.Network([784, 10, 10], cost="log_likelihood", seed=1)
    client = local_client(DigitModel(net, "softmax"), LanguageModel())
    answer = client.post("/api/predict", json={"pixels": _pixels(1).tolist()}).json()
    assert answer["probabilities_are"] == "softmax outputs"
    np.testing.assert_allclose(answer["probabilities"], net.feedforward(_pixels(1)), rtol=1e-6)
    assert abs(sum(answer["probabilities"]) - 1) < 1e-6


def test_archetype_is_an_image_the_network_reads(client, net):
    answer = client.post("/api/archetype", json={"digit": 3, "seed": 2}).json()
    expected = fastnet.mlp.pictures.archetype(net, 3, seed=2, l2=0.02, blur_sigma=0.5)
    np.testing.assert_allclose(answer["pixels"], expected)
    assert answer["digit"] == 3 and answer["prediction"] == net.predict(expected)


@pytest.mark.parametrize("body, message", [
    ({"pixels": [0.5] * 783}, "pixels must be a list of 784 numbers in \\[0, 1\\] \\(row-major\\); got a list of 783"),
    ({"pixels": [0.5] * 785}, "got a list of 785"),
    ({}, "pixels must be a list of 784 .* got NoneType"),
    ({"pixels": "0.5"}, "got str"),
    ({"pixels": [0.5] * 783 + ["0.5"]}, "pixels must be numbers in \\[0, 1\\]; got '0.5'"),
    ({"pixels": [0.5] * 783 + [True]}, "got True"),
    ({"pixels": [0.5] * 783 + [None]}, "got None"),
    ({"pixels": [0.5] * 783 + [[0.5]]}, "got \\[0.5\\]"),
    ({"pixels": [0.5] * 783 + [1.5]}, "got 1.5"),
    ({"pixels": [0.5] * 783 + [-0.1]}, "got -0.1"),
])
def test_predict_refuses_bad_pixels(client, body, message):
    answer = client.post("/api/predict", json=body)
    assert answer.status_code == 400
    assert __import__("re").search(message, answer.json()["error"]), answer.json()


@pytest.mark.parametrize("raw, message", [
    (b'{"pixels": [' + b"0.5, " * 783 + b"NaN]}", "NaN is not a number in JSON"),
    (b'{"pixels": [' + b"0.5, " * 783 + b"Infinity]}", "Infinity is not a number in JSON"),
    (b'{"pixels": [' + b"0.5, " * 783 + b"1e400]}", "got inf"),  # a JSON number too large for a float
    (b'{"pixels": [' + b"0.5, " * 783 + b"1" + b"0" * 400 + b"]}", "got 1000"),  # an int beyond float64
    (b'{"pixels": [0.5,', "must be a JSON object: Expecting value"),
    (b"", "must be a JSON object"),
    (b"[0.5]", "must be a JSON object; got a JSON list"),
    (b"\xff\xfe\x00", "must be a JSON object"),
    (b"[" * 100000 + b"]" * 100000, "at most 65536 bytes"),
])
def test_predict_refuses_bodies_that_are_not_json_objects(client, raw, message):
    answer = client.post("/api/predict", content=raw, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500 and message in answer.json()["error"], answer.json()


def test_bodies_over_the_limit_are_refused_unread(client):
    big = json.dumps({"pixels": [0.123456789] * 10000}).encode()
    answer = client.post("/api/predict", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "at most 65536 bytes" in answer.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(100):
            yield b" " * 1000
    answer = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_unknown_routes_and_methods_are_json_errors(client):
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    assert client.get("/api/nothing").status_code == 404
    answer = client.get("/api/predict")
    assert answer.status_code == 405 and answer.json() == {"error": "Method Not Allowed"}
    assert client.get("/static/../app.py").status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"digit": 10}, "digit must be an integer from 0 to 9; got 10"),
    ({"digit": -1}, "got -1"),
    ({"digit": "3"}, "got '3'"),
    ({"digit": 2.5}, "got 2.5"),
    ({}, "got None"),
    ({"digit": 3, "seed": -1}, "seed must be an integer from 0"),
])
def test_archetype_refuses_bad_digits(client, body, message):
    answer = client.post("/api/archetype", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"]


# -- the GPT --------------------------------------------------------------------------------------------


def test_next_tokens_are_the_models_distribution(client, gpt):
    answer = client.post("/api/gpt/next", json={"prompt": "To be", "temperature": 0.8, "top_k": 5}).json()
    p = gpt.next_token_probabilities(gpt.tokenizer.encode("To be"), temperature=0.8, top_k=5)
    order = np.argsort(-p, kind="stable")[:5]
    assert answer["tokens"] == [gpt.tokenizer.decode([t]) for t in order]
    np.testing.assert_allclose(answer["probabilities"], p[order], rtol=1e-12)
    assert abs(sum(answer["probabilities"]) - 1) < 1e-9  # the top 5 carry everything
    every = client.post("/api/gpt/next", json={"prompt": "To be"}).json()  # defaults: temperature 1, 20 tokens
    assert len(every["tokens"]) == 20 and every["probabilities"] == sorted(every["probabilities"], reverse=True)
    more = client.post("/api/gpt/next", json={"prompt": "To be", "top_k": 10**6, "count": 1000}).json()
    assert len(more["tokens"]) == gpt.vocab_size and abs(sum(more["probabilities"]) - 1) < 1e-9


def test_generate_streams_what_generate_draws(client, gpt):
    with client.stream("POST", "/api/gpt/generate", json={"prompt": "To", "max_new_tokens": 30, "seed": 7,
                                                          "temperature": 0.9, "top_k": 10}) as response:
        assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1] == {"done": True}
    expected = gpt.generate(gpt.tokenizer.encode("To"), 30, temperature=0.9, top_k=10, seed=7)[2:]
    assert "".join(line["text"] for line in lines[:-1]) == gpt.tokenizer.decode(expected)
    assert len(lines) == 31  # one line per character token, then done


def test_attention_is_the_models(client, gpt):
    prompt = "Whether 'tis nobler in the mind"  # longer than the context of 16: its last 16 tokens
    answer = client.post("/api/gpt/attention", json={"prompt": prompt, "layer": 1, "head": 1}).json()
    tokens = gpt.tokenizer.encode(prompt)[-16:]
    assert answer["tokens"] == list(prompt[-16:]) and (answer["layer"], answer["head"]) == (1, 1)
    np.testing.assert_allclose(answer["weights"], gpt.attention(tokens)[1, 1], rtol=1e-12)
    answer = client.post("/api/gpt/attention", json={"prompt": prompt, "layer": 2, "head": 0})
    assert answer.status_code == 400 and "layer must be below 2 and head below 2; got 2, 0" in answer.json()["error"]


@pytest.mark.parametrize("route", ["next", "generate", "attention"])
@pytest.mark.parametrize("body, message", [
    ({}, "prompt must be a string of 1 to 4000 characters; got NoneType"),
    ({"prompt": ""}, "got 0 characters"),
    ({"prompt": "x" * 4001}, "got 4001 characters"),
    ({"prompt": 3}, "got int"),
    ({"prompt": "To be é"}, "prompt: text holds the character 'é', which is not in this tokenizer's vocabulary"),
])
def test_gpt_routes_refuse_bad_prompts(client, route, body, message):
    answer = client.post(f"/api/gpt/{route}", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.json()


@pytest.mark.parametrize("route", ["next", "generate"])
@pytest.mark.parametrize("field, value, message", [
    ("temperature", 0, "temperature must be a number above 0 and at most 100; got 0"),
    ("temperature", -1, "got -1"),
    ("temperature", "hot", "got 'hot'"),
    ("temperature", 1e308 * 10, "got inf"),
    ("top_k", 0, "top_k must be an integer from 1"),
    ("top_k", 1.5, "got 1.5"),
    ("top_k", True, "got True"),
])
def test_gpt_routes_refuse_bad_sampling(client, route, field, value, message):
    answer = client.post(f"/api/gpt/{route}", content=json.dumps({"prompt": "To", field: value}).encode(),
                         headers={"content-type": "application/json"})
    if value == 1e308 * 10:  # json.dumps writes Infinity, which is not JSON
        assert answer.status_code == 400 and "Infinity is not a number" in answer.json()["error"]
        return
    assert answer.status_code == 400 and message in answer.json()["error"], answer.json()


@pytest.mark.parametrize("body, message", [
    ({"prompt": "To", "max_new_tokens": 0}, "max_new_tokens must be an integer from 1 to 2000; got 0"),
    ({"prompt": "To", "max_new_tokens": 2001}, "got 2001"),
    ({"prompt": "To", "seed": -3}, "seed must be an integer from 0"),
])
def test_generate_refuses_bad_lengths_and_seeds(client, body, message):
    answer = client.post("/api/gpt/generate", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"]


def test_without_a_gpt_the_routes_say_so(net):
    client = local_client(DigitModel(net, "net"), LanguageModel())
    status = client.get("/api/gpt").json()
    assert status["ready"] is False and "fastnet gpt train" in status["how_to"]
    for route in ("next", "generate", "attention"):
        answer = client.post(f"/api/gpt/{route}", json={"prompt": "To"})
        assert answer.status_code == 503 and "no GPT is loaded yet" in answer.json()["error"]


def test_the_background_gpt_answers_while_it_trains_and_stops_when_asked(net, monkeypatch):
    monkeypatch.setitem(language_module.BACKGROUND_CONFIG, "n_layer", 1)
    monkeypatch.setitem(language_module.BACKGROUND_CONFIG, "n_embd", 16)
    language = LanguageModel()
    client = local_client(DigitModel(net, "net"), language)
    language.train_in_background(20, seed=0)
    deadline = time.monotonic() + 300
    while language.training["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    status = client.get("/api/gpt").json()
    assert status["training"]["state"] == "done", status
    assert status["training"]["iteration"] == 20 and status["config"]["n_layer"] == 1
    assert status["source"] == "trained here: 1 block, 4 heads, width 16, context 64, 20 steps on Tiny Shakespeare"
    answer = client.post("/api/gpt/next", json={"prompt": "ROMEO:"}).json()
    assert len(answer["tokens"]) == 20
    language.stop(timeout=10)  # after the end: nothing to stop, returns at once


def test_a_gpt_without_tokenizer_is_refused(gpt):
    bare = fastnet.GPT(gpt.vocab_size, context=16, n_layer=1, n_head=1, n_embd=8, seed=0)
    with pytest.raises(ValueError, match="no tokenizer"):
        LanguageModel(bare, "bare")


def test_a_network_whose_input_is_not_square_is_refused():
    with pytest.raises(ValueError, match="the input layer \\(20 values\\) is not a square image"):
        DigitModel(fastnet.Network([20, 3], seed=0), "flat")


def test_payload_limits_are_consistent():
    assert len(json.dumps({"pixels": [0.12345678901234567] * 784})) < payloads.MAX_BODY_BYTES


# -- issue 25 (hardening II): hosts, origins, content types, bounded answers -------------------------------------

@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:8000", 200), ("localhost:8000", 200), ("LOCALHOST:8000", 200), ("[::1]:8000", 200),
    ("attacker.example:8000", 400), ("attacker.example", 400), ("127.0.0.1:8001", 400), ("127.0.0.1", 400),
    ("", 400), ("127.0.0.1:x", 400), ("127.0.0.1.attacker.example:8000", 400), ("attacker@127.0.0.1:8000", 400),
    ("127.0.0.1:8000/x", 400),
])
def test_only_the_servers_own_host_names_are_answered(net, host, status):
    """Item 12: the server answered any Host header, so a page on a domain resolving to 127.0.0.1 (DNS
    rebinding) could read the API."""
    client = local_client(DigitModel(net, "net"), LanguageModel(), port=8000)
    for answer in (client.get("/api/network", headers={"host": host}),
                   client.post("/api/predict", json={"pixels": [0.0] * 784}, headers={"host": host})):
        assert answer.status_code == status, (host, answer.text)
        if status == 400:
            assert "not for Host" in answer.json()["error"]


@pytest.mark.parametrize("headers, status", [
    ({"content-type": "text/plain"}, 415),
    ({"content-type": "application/x-www-form-urlencoded"}, 415),
    ({"content-type": "multipart/form-data; boundary=x"}, 415),
    ({}, 415),
    ({"content-type": "application/json; charset=utf-8"}, 200),
    ({"content-type": "application/json", "origin": "http://attacker.example"}, 403),
    ({"content-type": "application/json", "origin": "null"}, 403),
    ({"content-type": "application/json", "origin": "http://127.0.0.1:9999"}, 403),
    ({"content-type": "application/json", "origin": "https://127.0.0.1:8000"}, 403),
    ({"content-type": "application/json", "origin": "http://127.0.0.1:8000"}, 200),
    ({"content-type": "application/json", "origin": "http://localhost:8000"}, 200),
])
def test_posts_must_be_json_from_this_origin(net, headers, status):
    """Item 12: a simple cross-origin POST (Content-Type text/plain, a foreign Origin) ran the model."""
    client = local_client(DigitModel(net, "net"), LanguageModel(), port=8000)
    body = json.dumps({"pixels": [0.0] * 784}).encode()
    answer = client.post("/api/predict", content=body, headers=headers)
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize("index", ["1" * 4301, "0" * 5000 + "1", "abc", "-1", "１", "1.0", "0", "4"])
def test_bad_layer_numbers_are_404_not_500(client, index):
    """Item 14: /api/network/layers/ followed by 4,301 digits answered 500 (Python's int conversion limit)."""
    answer = client.get(f"/api/network/layers/{index}")
    assert answer.status_code == 404 and "layer must be from 1 to 3" in answer.json()["error"]


def test_prompts_with_lone_surrogates_are_refused(client):
    """Item 14: a lone surrogate made /api/gpt/next and /attention answer 500 and /generate end without done."""
    for route in ("next", "generate", "attention"):
        answer = client.post(f"/api/gpt/{route}", content=b'{"prompt": "To \\ud800 be"}',
                             headers={"content-type": "application/json"})
        assert answer.status_code == 400 and "prompt" in answer.json()["error"], answer.text


def test_tokenizers_with_lone_surrogates_are_refused(tmp_path):
    """Item 14: a CharTokenizer could hold "\\ud800" (built, or loaded from a GPT file), which has no UTF-8."""
    with pytest.raises(ValueError, match="surrogate"):
        fastnet.text.CharTokenizer("ab\ud800")
    with pytest.raises(ValueError, match="surrogate"):
        fastnet.text.CharTokenizer.fit("To be\udfff")
    with pytest.raises(ValueError, match="surrogate"):
        fastnet.text.BPETokenizer([]).encode("a\ud800")
    model = fastnet.GPT(4, context=4, n_layer=1, n_head=1, n_embd=4, seed=0)
    model.tokenizer = fastnet.text.CharTokenizer("abc")
    model.save(tmp_path / "gpt.npz")
    with np.load(tmp_path / "gpt.npz") as data:
        arrays = dict(data)
    arrays["tokenizer"] = np.str_(json.dumps({"kind": "char", "characters": "ab\ud800"}))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="surrogate"):
        fastnet.load(tmp_path / "bad.npz")


def test_generate_ends_with_an_error_line_when_the_model_fails_mid_stream(net, gpt, monkeypatch):
    """Item 14: a failure after the answer's status ended the stream without a last line; it now says why."""
    language = LanguageModel(gpt, "a test GPT")

    def failing(*args, **kwargs):
        yield "To"
        raise ValueError("the model failed")

    monkeypatch.setattr(language, "generate", lambda *args, **kwargs: failing())
    answer = local_client(DigitModel(net, "net"), language).post("/api/gpt/generate", json={"prompt": "To"})
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines == [{"text": "To"}, {"error": "the model failed"}]


ROUTES = ["/api/predict", "/api/archetype", "/api/gpt/next", "/api/gpt/generate", "/api/gpt/attention",
          "/api/backprop", "/api/learn", "/api/reset", "/api/cohort", "/api/surface", "/api/gpt/neighbours",
          "/api/gpt/dots"]
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                           | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(st.text(max_size=10), children, max_size=5), max_leaves=30)
FIELDS = ["pixels", "digit", "seed", "prompt", "temperature", "top_k", "count", "max_new_tokens", "layer", "head",
          "label", "eta", "steps", "params", "span", "n", "token", "k"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES),
       body=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6) | JSON_VALUES)
def test_fuzzed_json_bodies_never_get_a_5xx(fuzz_client, route, body):
    """Item 14 (must show): random JSON values, sizes and nesting on every route: 2xx or 4xx, never 5xx."""
    answer = fuzz_client.post(route, json=body)
    assert answer.status_code < 500, (route, body, answer.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), raw=st.binary(max_size=200)
       | st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth)
       | st.integers(1, 3000).map(lambda depth: b'{"prompt": ' + b"[" * depth + b"]" * depth + b"}"))
def test_fuzzed_raw_bodies_never_get_a_5xx(fuzz_client, route, raw):
    """Item 14 (must show): bytes that may not be JSON at all, and deep nesting: never 5xx, server alive after."""
    answer = fuzz_client.post(route, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code < 500, (route, raw[:50], answer.text)
    assert fuzz_client.get("/api/health").status_code == 200


@pytest.fixture(scope="module")
def fuzz_client(net, gpt):
    """A client whose server errors come back as 500 answers (not raised), as a browser would see them; its
    network is a copy (/api/learn trains it)."""
    rng = np.random.default_rng(0)
    training = (rng.random((50, 784)), rng.integers(0, 10, 50))
    return TestClient(make_app(DigitModel(copy.deepcopy(net), "net", training=training),
                               LanguageModel(gpt, "a test GPT")), base_url=LOCAL, raise_server_exceptions=False)


# -- issue 31: how it learns (backprop's nudges, the cost surface) and what embeddings hold ---------------------

@pytest.fixture(scope="module")
def learner(mnist):
    """A network trained a little, served with 1,000 training images; its own copy (the lessons may train it)."""
    (X, y), _ = mnist
    net = fastnet.Network([784, 16, 16, 10], seed=1)
    net.fit(X[:3000], y[:3000], epochs=2, seed=0, progress=False)
    return net, X[:1000], y[:1000]


@pytest.fixture()
def lesson_client(learner, gpt):
    net, X, y = learner
    return local_client(DigitModel(net, "learner", training=(X, y)), LanguageModel(gpt, "a test GPT"))


def test_backprop_is_the_librarys_gradient(lesson_client, learner):
    net, X, _ = learner
    pixels = X[0].astype(np.float64)
    answer = lesson_client.post("/api/backprop", json={"pixels": pixels.tolist(), "label": 8}).json()
    nabla_b, nabla_w = net.backprop(pixels, 8)
    for got, expected in zip(answer["deltas"], nabla_b):
        assert got == expected.astype(np.float64).tolist()  # bit for bit: the same kernel, float32 read exactly
    assert answer["bias_gradients"] == answer["deltas"]
    assert answer["first_layer_gradient"] == nabla_w[0].astype(np.float64).tolist()
    assert answer["weight_gradient_norms"][0] == np.linalg.norm(nabla_w[0], axis=1).astype(np.float64).tolist()
    output = net.feedforward(pixels)
    assert answer["output"] == output.astype(np.float64).tolist()
    assert answer["desired"][8] > 0 and all(d <= 0 for i, d in enumerate(answer["desired"]) if i != 8)
    assert answer["cost"] == net.cost(pixels.reshape(1, -1), [8])
    assert len(answer["first_layer_gradient"]) == 16 and len(answer["first_layer_gradient"][0]) == 784


def test_learning_changes_only_the_served_copy_and_reset_restores_it(learner, gpt, tmp_path):
    net, X, y = learner
    path = tmp_path / "net.npz"
    net.save(path)
    before_file = path.read_bytes()
    served = fastnet.load(path)
    loaded = served.params.copy()
    digits = DigitModel(served, str(path), training=(X, y))
    client = local_client(digits, LanguageModel(gpt, "gpt"))
    pixels = X[0].astype(np.float64).tolist()
    wanted = (int(net.predict(X[:1])[0]) + 1) % 10
    answer = client.post("/api/learn", json={"pixels": pixels, "label": wanted, "eta": 3.0, "steps": 30}).json()
    assert answer["prediction_after"] == wanted and answer["cost_after"] < answer["cost_before"]
    assert not np.array_equal(digits.network.params, loaded)  # the network the server now answers with
    np.testing.assert_array_equal(served.params, loaded)  # the object it was given is never trained
    assert path.read_bytes() == before_file  # the model file is never written
    after = client.post("/api/predict", json={"pixels": pixels}).json()["prediction"]
    assert after == wanted  # predictions come from the trained copy
    assert client.post("/api/reset", json={}).json() == {"reset": True}
    np.testing.assert_array_equal(digits.network.params, loaded)
    assert client.post("/api/predict", json={"pixels": pixels}).json()["prediction"] == int(net.predict(X[:1])[0])


def test_the_surface_is_the_mean_cost_around_two_parameters(lesson_client, learner):
    net, X, y = learner
    pixels = X[0].astype(np.float64).tolist()
    answer = lesson_client.post("/api/surface", json={"pixels": pixels, "label": 3, "n": 5, "span": 1.0,
                                                      "steps": 10, "eta": 1.0}).json()
    i, j = answer["params"]
    assert [i, j] == fastnet.lessons.largest_gradient_params(net, X[0].astype(np.float64), 3)
    sample = answer["sample"]
    assert answer["grid"][2][2] == net.cost(X[:sample], y[:sample])  # the centre: the network as it is
    costs = [row[2] for row in answer["path"]]
    assert costs[-1] < costs[0] and all(b <= a + 1e-12 for a, b in zip(costs, costs[1:]))
    moved = net.params.copy()
    moved[i] += answer["offsets"][0]
    probe = fastnet.Network(net.sizes, seed=0)
    probe.params = moved
    assert answer["grid"][0][2] == pytest.approx(probe.cost(X[:sample], y[:sample]), rel=1e-12)
    chosen = lesson_client.post("/api/surface", json={"pixels": pixels, "label": 3, "params": [5, 7], "n": 3}).json()
    assert chosen["params"] == [5, 7] and chosen["names"] == ["W1[0, 5]", "W1[0, 7]"]


def test_a_cohort_is_ten_votes_and_their_mean(lesson_client, learner):
    net, X, y = learner
    answer = lesson_client.post("/api/cohort", json={"pixels": X[0].astype(np.float64).tolist(),
                                                     "label": 3}).json()
    assert len(answer["desired"]) == 10 and len(answer["images"]) == 9 and answer["labels"][0] == 3
    np.testing.assert_allclose(answer["mean_desired"], np.mean(answer["desired"], axis=0), rtol=1e-12)


@pytest.mark.parametrize("route, body, message", [
    ("/api/backprop", {"pixels": [0.0] * 784, "label": 10}, "label must be an integer from 0 to 9"),
    ("/api/learn", {"pixels": [0.0] * 784, "label": 3, "eta": 0}, "eta must be a number above 0"),
    ("/api/learn", {"pixels": [0.0] * 784, "label": 3, "steps": 10**6}, "steps must be an integer from 1 to 200"),
    ("/api/surface", {"pixels": [0.0] * 784, "label": 3, "params": [1, 1]}, "two different parameters"),
    ("/api/surface", {"pixels": [0.0] * 784, "label": 3, "params": [1, 10**9]}, "params must be an integer"),
    ("/api/surface", {"pixels": [0.0] * 784, "label": 3, "n": 1000}, "n must be an integer from 3 to 41"),
    ("/api/gpt/neighbours", {"token": -1}, "token must be an integer"),
    ("/api/gpt/neighbours", {"token": 10**6}, "token must be below"),
])
def test_the_lessons_refuse_bad_requests(lesson_client, route, body, message):
    answer = lesson_client.post(route, json=body)
    assert 400 <= answer.status_code < 500 and message in answer.json()["error"], answer.text


def test_without_training_images_the_cohort_and_surface_say_so(client):
    for route in ("/api/cohort", "/api/surface"):
        answer = client.post(route, json={"pixels": [0.0] * 784, "label": 3})
        assert answer.status_code == 503 and "no training images" in answer.json()["error"]


def test_embeddings_are_the_pca_of_wte(lesson_client, gpt):
    answer = lesson_client.get("/api/gpt/embeddings").json()
    wte = gpt.state_dict()["transformer.wte.weight"].astype(np.float64)
    centred = wte - wte.mean(axis=0)
    _, _, vt = np.linalg.svd(centred)
    expected = centred @ vt[:2].T
    points = np.array(answer["points"])
    assert points.shape == (gpt.vocab_size, 2) and len(answer["tokens"]) == gpt.vocab_size
    for axis in range(2):  # up to sign
        sign = np.sign(points[:, axis] @ expected[:, axis])
        np.testing.assert_allclose(points[:, axis], sign * expected[:, axis], atol=1e-12)


def test_neighbours_are_a_cosine_top_k(lesson_client, gpt):
    answer = lesson_client.post("/api/gpt/neighbours", json={"token": 3, "k": 5}).json()
    wte = gpt.state_dict()["transformer.wte.weight"].astype(np.float64)
    cosines = wte @ wte[3] / (np.linalg.norm(wte, axis=1) * np.linalg.norm(wte[3]))
    cosines[3] = -np.inf
    expected = np.argsort(-cosines, kind="stable")[:5]
    assert [row["token"] for row in answer] == expected.tolist()
    np.testing.assert_allclose([row["cosine"] for row in answer], cosines[expected], rtol=1e-12)


def test_dots_give_the_next_token_distribution(lesson_client, gpt):
    answer = lesson_client.post("/api/gpt/dots", json={"prompt": "To be", "temperature": 0.7}).json()
    tokens = gpt.tokenizer.encode("To be")
    np.testing.assert_allclose(answer["dots"], gpt.logits(tokens)[-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(answer["probabilities"], gpt.next_token_probabilities(tokens, temperature=0.7),
                               rtol=1e-9, atol=1e-15)
    assert len(answer["vector"]) == gpt.n_embd
