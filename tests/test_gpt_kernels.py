"""The compiled GPT kernels (Numba, Cython) against the NumPy reference, and what they refuse."""
import threading

import numpy as np
import pytest

import fastnet
from fastnet import backends
from fastnet.backends.numpy import gpt as numpy_gpt

from conftest import compiled_variants, running

COMPILED = compiled_variants()  # numba, and cython at every CPU level this CPU runs
# relative to the largest reference value: float64 to 1e-10, float32 to 1e-4 (as the issue asks)
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
SHAPES = {  # odd sizes on purpose: widths that are not a multiple of a vector, one head, T = 1
    "nanogpt-like": dict(vocab_size=65, context=16, n_layer=2, n_head=4, n_embd=32),
    "odd": dict(vocab_size=7, context=5, n_layer=1, n_head=3, n_embd=9),
    "one head": dict(vocab_size=11, context=6, n_layer=3, n_head=1, n_embd=8),
    # heads of 20 values (a vector of 16 or 8 and a tail) over 21 positions (past 16 lanes and two tiles of 8 rows)
    "wide heads": dict(vocab_size=13, context=21, n_layer=1, n_head=2, n_embd=40),
}


def kernels(variant):
    return backends.load_gpt(variant.partition("@")[0])[1]


@pytest.fixture(autouse=True)
def _cpu_level(request):
    """A test parametrised by ``name`` runs at that variant's CPU level (compiled_variants)."""
    callspec = getattr(request.node, "callspec", None)
    with running(callspec.params.get("name", "") if callspec else ""):
        yield


def close(actual, expected, dtype, what):
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    error = float(np.max(np.abs(np.asarray(actual, np.float64) - expected))) / scale
    assert error <= TOLERANCE[dtype], f"{what}: relative error {error:.2e} > {TOLERANCE[dtype]:.0e}"


def model_and_batch(shape, dtype, bias, seed=0, batch=3):
    """bias: False, True, or "tanh" (biases and GPT-2's GELU)."""
    model = fastnet.GPT(**SHAPES[shape], bias=bool(bias), gelu="tanh" if bias == "tanh" else "erf", dtype=dtype,
                        seed=seed, backend="numpy")
    rng = np.random.default_rng(seed)
    # away from the initial point, so that LayerNorm's weights and the biases are not 1 and 0
    model.params = model.params + rng.normal(0, 0.05, model.params.size).astype(dtype)
    tokens = rng.integers(0, model.vocab_size, (batch, model.context))
    targets = rng.integers(0, model.vocab_size, (batch, model.context))
    return model, tokens, targets


CASES = [(name, shape, dtype, bias) for name in COMPILED for shape in SHAPES for dtype in ("float64", "float32")
         for bias in (False, True, "tanh")]


@pytest.mark.parametrize("name,shape,dtype,bias", CASES)
def test_forward_kernels_equal_the_reference(name, shape, dtype, bias):
    model, tokens, targets = model_and_batch(shape, dtype, bias)
    k, p, c = kernels(name), model.params, model.shape
    for T in (1, model.context // 2 + 1, model.context):
        x, y = tokens[:, :T], targets[:, :T]
        close(k.logits(p, c, x), numpy_gpt.logits(p, c, x), dtype, f"logits T={T}")
        close(k.attention_weights(p, c, x), numpy_gpt.attention_weights(p, c, x), dtype, f"attention T={T}")
        assert abs(k.loss(p, c, x, y) - numpy_gpt.loss(p, c, x, y)) <= TOLERANCE[dtype] * numpy_gpt.loss(p, c, x, y)


@pytest.mark.parametrize("name,shape,dtype,bias", CASES)
def test_gradient_equals_the_reference(name, shape, dtype, bias):
    model, tokens, targets = model_and_batch(shape, dtype, bias)
    k, p, c = kernels(name), model.params, model.shape
    expected, actual = np.empty_like(p), np.full_like(p, np.nan)  # NaN: every value must be written
    value = numpy_gpt.loss_and_gradient(p, c, tokens, targets, expected)[0]
    got, grad = k.loss_and_gradient(p, c, tokens, targets, actual)
    assert grad is actual
    assert abs(got - value) <= TOLERANCE[dtype] * value
    close(actual, expected, dtype, "gradient")


@pytest.mark.parametrize("name,shape,dtype,bias", CASES)
@pytest.mark.parametrize("batch", [1, 2, 7, 16])  # the decode step's products take rows 4, 2 and 1 at a time
def test_cached_decoding_equals_the_reference(name, shape, dtype, bias, batch):
    model, tokens, _ = model_and_batch(shape, dtype, bias, batch=batch)
    k, p, c = kernels(name), model.params, model.shape
    ours, theirs = k.new_cache(c, batch, p.dtype), numpy_gpt.new_cache(c, batch, p.dtype)
    close(k.prefill(p, c, tokens[:, :2], ours), numpy_gpt.prefill(p, c, tokens[:, :2], theirs), dtype, "prefill")
    for position in range(2, model.context):
        close(k.decode_step(p, c, tokens[:, position], position, ours),
              numpy_gpt.decode_step(p, c, tokens[:, position], position, theirs), dtype, f"decode {position}")
    close(ours, theirs, dtype, "cache")


@pytest.mark.parametrize("name,shape,dtype,bias", CASES)
def test_prefill_gives_the_full_pass_last_logits_and_every_key_and_value(name, shape, dtype, bias):
    """prefill leaves out the last block's attention output, its MLP and the head for every position but the
    last: its logits must still be the full pass's at the last position, and its cache every layer's keys and
    values, in every backend (NumPy's prefill too), for prompts of 1 position, some, and the whole context."""
    model, tokens, _ = model_and_batch(shape, dtype, bias)
    p, c = model.params, model.shape
    for T in (1, 2, model.context):
        x = tokens[:, :T]
        logits, saved = numpy_gpt.forward(p, c, x)
        qkv = np.stack([numpy_gpt._kept_by(kept, "attention")[0] for kept in saved["blocks"]])  # (L, B, T, 3C)
        keys_values = qkv.reshape(c.n_layer, 3, T, 3, c.n_head, c.head_size)[:, :, :, 1:].transpose(0, 3, 1, 4, 2, 5)
        for k in (numpy_gpt, kernels(name)):
            cache = np.full((c.n_layer, 2, 3, c.n_head, c.context, c.head_size), np.nan, p.dtype)
            close(k.prefill(p, c, x, cache), logits[:, -1], dtype, f"{k.__name__} prefill T={T}")
            close(cache[..., :T, :], keys_values, dtype, f"{k.__name__} cache T={T}")
            assert np.isnan(cache[..., T:, :]).all()  # nothing past the prompt


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("clip", [0.0, 1.0, 1e-3])
def test_adamw_step_equals_the_reference(name, dtype, clip):
    rng = np.random.default_rng(1)
    model = fastnet.GPT(13, context=4, n_layer=1, n_head=2, n_embd=8, dtype=dtype, backend="numpy")
    state = [rng.normal(size=model.params.size).astype(dtype) for _ in range(3)]
    state[2] = np.abs(state[2])  # v >= 0
    grad = rng.normal(size=model.params.size).astype(dtype)
    runs = []
    for k in (numpy_gpt, kernels(name)):
        params, m, v, g = model.params.copy(), state[1].copy(), state[2].copy(), grad.copy()
        norm = k.adamw_step(params, g, m, v, 7, 3e-3, 0.9, 0.99, 1e-8, 0.1, model.decay_mask, clip)
        runs.append((norm, params, m, v, g))
    assert abs(runs[1][0] - runs[0][0]) <= TOLERANCE[dtype] * runs[0][0]
    for what, ours, reference in zip(("params", "m", "v", "grad"), runs[1][1:], runs[0][1:]):
        close(ours, reference, dtype, what)


@pytest.mark.parametrize("name", COMPILED)
def test_fifty_fit_steps_equal_the_reference(name):
    stream = np.random.default_rng(0).integers(0, 13, 600)
    models = []
    for backend in ("numpy", name.partition("@")[0]):
        model = fastnet.GPT(13, context=8, n_layer=2, n_head=2, n_embd=16, dtype="float64", seed=3, backend=backend)
        history = model.fit(stream, iters=50, batch_size=4, eval_interval=25, eval_batches=2, seed=5,
                            progress=False)
        models.append((model, history))
    (reference, expected), (model, history) = models
    np.testing.assert_allclose(model.params, reference.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(history.losses, expected.losses, rtol=1e-8)


SAMPLING = [(0, 1.0), (1, 1.0), (5, 0.7), (64, 2.0), (65, 1.0), (1000, 0.5)]  # (top_k, temperature); 0: every token


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sampling_kernels_draw_the_reference_tokens(name, dtype):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, (16, 65)).astype(dtype)
    logits[1] = np.round(logits[1])  # ties, at the k-th largest too: nanoGPT keeps them all
    logits[2, ::2] = -1e30  # weights that underflow to 0: never drawn, even with u close to 1
    logits[3, 7], logits[4, :] = np.nan, np.nan  # no distribution: -1
    logits[5, 1], logits[6, :] = np.inf, -np.inf
    logits[7, :3] = -np.inf  # tokens that cannot be drawn: fine
    uniforms = rng.random(16)
    uniforms[:3] = [0.0, np.nextafter(1.0, 0), 0.5]
    for top_k, temperature in SAMPLING:
        expected = numpy_gpt.sample_tokens(logits, temperature, top_k, uniforms)
        np.testing.assert_array_equal(kernels(name).sample_tokens(logits, temperature, top_k, uniforms), expected)
    tokens = numpy_gpt.sample_tokens(logits, 1.0, 0, uniforms)
    assert tokens[3:7].tolist() == [-1] * 4 and tokens[7] >= 3
    valid = np.flatnonzero(tokens >= 0)
    assert np.all(numpy_gpt.next_token_weights(logits, 1.0, 0)[valid, tokens[valid]] > 0)


@pytest.mark.parametrize("name", COMPILED)
def test_the_compiled_decoding_loop_equals_the_reference(name):
    model, tokens, _ = model_and_batch("nanogpt-like", "float64", True, batch=4)
    p, c = model.params, model.shape
    uniforms = np.random.default_rng(2).random((10, 4))
    results = []
    for k in (numpy_gpt, kernels(name)):
        cache = k.new_cache(c, 4, p.dtype)
        k.prefill(p, c, tokens[:, :5], cache)
        results.append((k.decode_tokens(p, c, tokens[:, 5], 5, cache, uniforms, 0.9, 7), cache))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    assert results[0][0].shape == (10, 4)
    close(results[1][1], results[0][1], "float64", "cache")  # positions 5..14 written by the loop


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_embd", [32, 24])  # 24: a multiple of 8 lanes, not of 16 (AVX-512's floats)
@pytest.mark.parametrize("batch", [1, 7])
def test_a_long_decoding_loop_gives_the_bits_of_its_steps(name, dtype, n_embd, batch):
    """From TILED_MIN_STEPS steps a call, Cython's loop reads a copy of the weights laid out for one sequence's
    products: the same sums, so the same cache and tokens as one decode_step and sample_tokens at a time."""
    model = fastnet.GPT(65, context=40, n_layer=2, n_head=2, n_embd=n_embd, bias=True, dtype=dtype, seed=4,
                        backend="numpy")
    rng = np.random.default_rng(4)
    p, c = model.params + rng.normal(0, 0.05, model.params.size).astype(dtype), model.shape
    prompt, uniforms = rng.integers(0, 65, (batch, 3)), rng.random((30, batch))
    k = kernels(name)
    caches = [k.new_cache(c, batch, p.dtype) for _ in range(2)]
    for cache in caches:
        k.prefill(p, c, prompt, cache)
    looped = k.decode_tokens(p, c, prompt[:, -1], 3, caches[0], uniforms, 1.0, 0)
    token, stepped = prompt[:, -1], []
    for i in range(30):
        logits = k.decode_step(p, c, token, 3 + i, caches[1])
        token = k.sample_tokens(logits, 1.0, 0, uniforms[i])
        stepped.append(token)
    np.testing.assert_array_equal(looped, np.array(stepped))
    np.testing.assert_array_equal(caches[0], caches[1])


@pytest.mark.parametrize("name", COMPILED)
def test_sampling_kernels_refuse_bad_arguments(name):
    model, tokens, _ = model_and_batch("odd", "float64", False)
    k, p, c = kernels(name), model.params, model.shape
    logits = np.zeros((2, 7))
    for uniforms, message in ((np.array([0.5, 1.0]), r"\[0, 1\)"), (np.array([0.5, np.nan]), r"\[0, 1\)"),
                              (np.array([0.5]), "uniforms must be a float64 array of shape"),
                              (np.array([0.5, 0.5], np.float32), "uniforms must be a float64")):
        with pytest.raises(ValueError, match=message):
            k.sample_tokens(logits, 1.0, 0, uniforms)
    for temperature, top_k, message in ((0.0, 0, "temperature"), (np.inf, 0, "temperature"), (1.0, -1, "top_k"),
                                        (1.0, 2.5, "top_k")):
        with pytest.raises(ValueError, match=message):
            k.sample_tokens(logits, temperature, top_k, np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="logits must be"):
        k.sample_tokens(np.zeros((2, 0)), 1.0, 0, np.zeros(2))
    cache = k.new_cache(c, 1, p.dtype)
    with pytest.raises(ValueError, match="position must be an integer in \\[0, 2\\] for 3 step"):
        k.decode_tokens(p, c, tokens[:1, 0], 3, cache, np.zeros((3, 1)), 1.0, 0)  # context 5: positions 3..5
    with pytest.raises(ValueError, match="uniforms must be a float64 array of shape \\(2, 1\\)"):
        k.decode_tokens(p, c, tokens[:1, 0], 0, cache, np.zeros((2, 2)), 1.0, 0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", [1, 16])
def test_every_backend_draws_the_same_tokens_within_and_past_the_context(dtype, batch):
    """context 80: the compiled loop's chunks (1, 2, 4, ... 64 tokens) fill it; 40 more come from full passes."""
    prompts = np.random.default_rng(batch).integers(0, 17, (batch, 3))
    outputs = []
    for name in backends.available():
        model = fastnet.GPT(17, context=80, n_layer=2, n_head=2, n_embd=16, dtype=dtype, seed=4, backend=name)
        outputs.append(model.generate(prompts, 117, temperature=0.8, top_k=9, seed=9))
        streamed = np.array(list(model.stream(prompts[0], 117, temperature=0.8, top_k=9, seed=9)))
        if batch == 1:
            np.testing.assert_array_equal(streamed, outputs[-1][0, 3:])
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    assert outputs[0].shape == (batch, 120)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_generation_gives_the_same_tokens_on_every_backend(dtype):
    outputs = []
    for name in backends.available():
        model = fastnet.GPT(17, context=12, n_layer=2, n_head=2, n_embd=16, dtype=dtype, seed=4, backend=name)
        # past the context too: each token after it is predicted from a fresh window
        outputs.append(model.generate([1, 2, 3], 30, temperature=0.8, seed=9))
    # float32 too: the backends' probabilities differ by rounding (~1e-7), far from moving a draw of these seeds
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    assert all(len(out) == 33 for out in outputs)


@pytest.mark.parametrize("name", COMPILED)
def test_threads_sharing_a_model_get_the_same_gradients(name):
    model, tokens, targets = model_and_batch("nanogpt-like", "float64", False)
    k, p, c = kernels(name), model.params, model.shape
    expected = k.loss_and_gradient(p, c, tokens, targets, np.empty_like(p))[1].copy()
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(k.loss_and_gradient(p, c, tokens, targets, np.empty_like(p))[1])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for grad in results:
        np.testing.assert_array_equal(grad, expected)


def test_the_workspaces_are_reused_and_results_are_copies():
    if not COMPILED:
        pytest.skip("no compiled backend here")
    model, tokens, _ = model_and_batch("odd", "float64", True)
    k, p, c = kernels(COMPILED[0]), model.params, model.shape
    first = k.logits(p, c, tokens)
    kept = first.copy()
    k.logits(p, c, tokens[:, ::-1])  # the same workspace, other values
    np.testing.assert_array_equal(first, kept)


BAD_CALLS = [
    ("tokens", lambda k, p, c, x, g: k.logits(p, c, x + 100), "token ids"),
    ("negative tokens", lambda k, p, c, x, g: k.logits(p, c, x - 100), "token ids"),
    ("float tokens", lambda k, p, c, x, g: k.logits(p, c, x.astype(float)), "integer"),
    ("1-D tokens", lambda k, p, c, x, g: k.logits(p, c, x[0]), "2-D"),
    ("too long", lambda k, p, c, x, g: k.logits(p, c, np.zeros((1, c.context + 1), int)), "shape"),
    ("empty", lambda k, p, c, x, g: k.logits(p, c, np.zeros((1, 0), int)), "shape"),
    ("short params", lambda k, p, c, x, g: k.logits(p[:-1], c, x), "params"),
    ("int params", lambda k, p, c, x, g: k.logits(p.astype(int), c, x), "params"),
    ("strided params", lambda k, p, c, x, g: k.logits(np.repeat(p, 2)[::2], c, x), "params"),
    ("targets shape", lambda k, p, c, x, g: k.loss(p, c, x, x[:, :-1]), "targets"),
    ("targets range", lambda k, p, c, x, g: k.loss(p, c, x, x + 100), "targets"),
    ("grad dtype", lambda k, p, c, x, g: k.loss_and_gradient(p, c, x, x, g.astype(np.float32)), "grad"),
    ("grad read-only", lambda k, p, c, x, g: k.loss_and_gradient(p, c, x, x, np.broadcast_to(g, g.shape)), "grad"),
    ("cache shape", lambda k, p, c, x, g: k.prefill(p, c, x, np.zeros((1, 2, 3))), "cache"),
    ("cache batch", lambda k, p, c, x, g: k.decode_step(p, c, x[:, 0], 1, k.new_cache(c, 7, p.dtype)), "cache"),
    ("position", lambda k, p, c, x, g: k.decode_step(p, c, x[:, 0], c.context, k.new_cache(c, 3, p.dtype)),
     "position"),
    ("negative position", lambda k, p, c, x, g: k.decode_step(p, c, x[:, 0], -1, k.new_cache(c, 3, p.dtype)),
     "position"),
    ("heads that do not split n_embd", lambda k, p, c, x, g: k.logits(p, c._replace(n_head=2), x), "multiple"),
    ("adam moments", lambda k, p, c, x, g: k.adamw_step(p.copy(), g, g[:-1], g.copy(), 1, 1e-3, 0.9, 0.99, 1e-8,
                                                         0.1, np.ones_like(p), 1.0), "m must"),
    ("adam mask", lambda k, p, c, x, g: k.adamw_step(p.copy(), g, g.copy(), g.copy(), 1, 1e-3, 0.9, 0.99, 1e-8,
                                                      0.1, np.ones(p.size, np.float32), 1.0), "decay_mask"),
]


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("what,call,message", BAD_CALLS, ids=[case[0] for case in BAD_CALLS])
def test_compiled_kernels_refuse_what_they_would_misread(name, what, call, message):
    model, tokens, _ = model_and_batch("odd", "float64", False)
    grad = np.zeros_like(model.params)
    with pytest.raises(ValueError, match=message):
        call(kernels(name), model.params, model.shape, tokens, grad)


def test_the_pytorch_peer_decodes_with_its_cache_as_with_full_passes():
    torch = pytest.importorskip("torch")
    from fastnet.bench.torch_gpt import from_fastnet

    model = fastnet.GPT(13, context=8, n_layer=2, n_head=2, n_embd=16, dtype="float64", seed=0, backend="numpy")
    module = from_fastnet(model)
    prompt = torch.tensor([[3, 1, 4]])
    torch.manual_seed(0)
    cached = module.generate_cached(prompt, 5)  # fills the context: 3 + 5 = 8
    torch.manual_seed(0)
    assert torch.equal(cached, module.generate(prompt, 5))
    with torch.no_grad():
        cache = module.new_cache(1)
        module(cached[:, :4], cache=cache)
        step, _ = module(cached[:, 4:5], cache=cache, position=4)
        np.testing.assert_allclose(step[0, -1].numpy(), module(cached[:, :5])[0][0, -1].numpy(), rtol=1e-12)


BPE_TEXTS = {
    "runs and ties": "aaaa aaa ab ab ba ba aaaaaaa bbb abab",
    "utf-8": "naïve café — ünïcödé 東京 東京 東京 ☃☃☃ ",
    "shakespeare": None,  # the first 20,000 characters of Tiny Shakespeare
}


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("which", BPE_TEXTS)
def test_bpe_training_learns_the_reference_merges(name, which):
    from fastnet.datasets.text import load_text
    from fastnet.text import BPETokenizer

    text = BPE_TEXTS[which] or load_text()[:20000]
    for vocab_size in (256, 300, 700):  # 700: more merges than the short texts allow
        expected = BPETokenizer.train(text, vocab_size, backend="numpy").merges
        assert BPETokenizer.train(text, vocab_size, backend=name.partition("@")[0]).merges == expected


@pytest.mark.parametrize("name", COMPILED)
def test_bpe_kernel_checks_its_words_and_hands_large_vocabularies_to_numpy(name, monkeypatch):
    k = kernels(name)
    ids = np.array([97, 97, 97, 98, 97, 98], np.int64)
    word_of, weights = np.array([0, 0, 0, 1, 1, 1], np.int64), np.array([2, 2, 2, 1, 1, 1], np.int64)
    expected = numpy_gpt.bpe_merges(ids, word_of, weights, 260)
    np.testing.assert_array_equal(k.bpe_merges(ids, word_of, weights, 260), expected)
    monkeypatch.setattr("fastnet.backends.compiled_gpt.DIRECT_COUNT_MAX", 256 ** 2)  # now 260² is "large"
    np.testing.assert_array_equal(k.bpe_merges(ids, word_of, weights, 260), expected)
    for bad in ((ids + 300, word_of, weights), (ids, word_of[::-1].copy(), weights), (ids, word_of, weights[:-1]),
                (ids.astype(np.int32), word_of, weights), (ids, word_of, -weights)):
        with pytest.raises(ValueError):
            k.bpe_merges(*bad, 260)
    with pytest.raises(ValueError, match="vocab_size"):
        k.bpe_merges(ids, word_of, weights, 255)
