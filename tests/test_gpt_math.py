"""The GPT's math: every op's backward pass against central differences, the whole model, the cache, AdamW.

Every gradient is checked in float64 against central differences of the
forward pass (step 1e-6: truncation ~1e-12, rounding ~1e-10), and the whole
model against PyTorch autograd where torch is installed (an outside oracle).
"""
import math

import numpy as np
import pytest

import fastnet
from fastnet.backends.numpy import gpt as ref
from fastnet.gpt import layout
from fastnet.gpt.training import learning_rate

STEP = 1e-6
TOLERANCE = 1e-7  # relative to the gradient's largest entry


def numeric_gradient(f, x):
    """∂f/∂x by central differences; f() reads x, which is perturbed in place and restored."""
    grad = np.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + STEP
        plus = f()
        flat[i] = saved - STEP
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * STEP)
    return grad


def assert_gradient(analytic, numeric):
    scale = max(np.abs(numeric).max(), 1e-3)
    assert np.abs(analytic - numeric).max() <= TOLERANCE * scale, np.abs(analytic - numeric).max() / scale


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _projection(rng, shape):
    """A fixed random R: the scalar loss sum(output · R) makes dout = R."""
    return rng.normal(size=shape)


@pytest.mark.parametrize("bias", [False, True])
def test_layernorm_backward(rng, bias):
    x = rng.normal(size=(2, 3, 6)) * 2 + 1
    norm = layout.Norm(rng.normal(size=6), rng.normal(size=6) if bias else None)
    dnorm = layout.Norm(np.zeros(6), np.zeros(6) if bias else None)
    R = _projection(rng, x.shape)
    y, saved = ref.layernorm_forward(x, norm)
    np.testing.assert_allclose(((y - (norm.bias if bias else 0)) / norm.weight).mean(axis=-1), 0, atol=1e-12)
    dx = ref.layernorm_backward(R, saved, norm, dnorm)

    def f():
        return float((ref.layernorm_forward(x, norm)[0] * R).sum())

    assert_gradient(dx, numeric_gradient(f, x))
    assert_gradient(dnorm.weight, numeric_gradient(f, norm.weight))
    if bias:
        assert_gradient(dnorm.bias, numeric_gradient(f, norm.bias))


@pytest.mark.parametrize("bias", [False, True])
def test_linear_backward(rng, bias):
    x = rng.normal(size=(2, 3, 5))
    linear = layout.Linear(rng.normal(size=(4, 5)), rng.normal(size=4) if bias else None)
    dlinear = layout.Linear(np.zeros((4, 5)), np.zeros(4) if bias else None)
    R = _projection(rng, (2, 3, 4))
    np.testing.assert_allclose(ref.linear_forward(x, linear), x @ linear.weight.T + (linear.bias if bias else 0))
    dx = ref.linear_backward(R, x, linear, dlinear)

    def f():
        return float((ref.linear_forward(x, linear) * R).sum())

    assert_gradient(dx, numeric_gradient(f, x))
    assert_gradient(dlinear.weight, numeric_gradient(f, linear.weight))
    if bias:
        assert_gradient(dlinear.bias, numeric_gradient(f, linear.bias))


def test_attention_backward_and_causal_weights(rng):
    B, T, n_head, hs = 2, 5, 2, 3
    qkv = rng.normal(size=(B, T, 3 * n_head * hs))
    R = _projection(rng, (B, T, n_head * hs))
    y, att = ref.attention_forward(qkv, n_head)
    np.testing.assert_allclose(att.sum(axis=-1), 1)
    assert np.all(att[..., np.triu(np.ones((T, T), bool), 1)] == 0)  # nothing from the future
    # head 0, position 2, written out: softmax(q·k_j/√hs) over j <= 2, then the weighted sum of v_j
    q, k, v = (qkv[0, :, part * n_head * hs:part * n_head * hs + hs] for part in range(3))
    weights = np.exp(q[2] @ k[:3].T / math.sqrt(hs))
    weights /= weights.sum()
    np.testing.assert_allclose(y[0, 2, :hs], weights @ v[:3])
    dqkv = ref.attention_backward(R, qkv, att, n_head)
    assert_gradient(dqkv, numeric_gradient(lambda: float((ref.attention_forward(qkv, n_head)[0] * R).sum()), qkv))


def test_gelu_is_the_exact_erf_form_and_its_backward(rng):
    x = rng.normal(size=(3, 7)) * 3
    y, cdf = ref.gelu_forward(x)
    expected = np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x)
    np.testing.assert_allclose(y, expected, rtol=1e-14, atol=1e-15)
    R = _projection(rng, x.shape)
    assert_gradient(ref.gelu_backward(R, x, cdf),
                    numeric_gradient(lambda: float((ref.gelu_forward(x)[0] * R).sum()), x))


def test_gelu_tanh_is_gpt2s_approximation_and_its_backward(rng):
    x = rng.normal(size=(3, 7)) * 3
    y, s = ref.gelu_forward(x, "tanh")
    c = math.sqrt(2 / math.pi)
    expected = np.vectorize(lambda v: 0.5 * v * (1 + math.tanh(c * (v + 0.044715 * v ** 3))))(x)
    np.testing.assert_allclose(y, expected, rtol=1e-14, atol=1e-15)
    assert np.abs(y - ref.gelu_forward(x)[0]).max() > 1e-5  # not the exact form
    R = _projection(rng, x.shape)
    assert_gradient(ref.gelu_backward(R, x, s, "tanh"),
                    numeric_gradient(lambda: float((ref.gelu_forward(x, "tanh")[0] * R).sum()), x))


def test_cross_entropy_and_its_backward(rng):
    logits = rng.normal(size=(2, 3, 7)) * 4
    targets = rng.integers(0, 7, (2, 3))
    loss, probs = ref.cross_entropy_forward(logits, targets)
    by_hand = np.mean([-math.log(math.exp(logits[b, t, targets[b, t]]) / np.exp(logits[b, t]).sum())
                       for b in range(2) for t in range(3)])
    assert loss == pytest.approx(by_hand, rel=1e-13)
    dlogits = ref.cross_entropy_backward(probs, targets)
    assert_gradient(dlogits, numeric_gradient(lambda: ref.cross_entropy_forward(logits, targets)[0], logits))


def test_embedding_backward_accumulates_repeated_tokens(rng):
    wte, wpe = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    tokens = np.array([[1, 1, 4], [0, 1, 2]])
    R = _projection(rng, (2, 3, 3))
    dwte, dwpe = np.zeros_like(wte), np.zeros_like(wpe)
    ref.embedding_backward(R, tokens, dwte, dwpe)

    def f():
        return float((ref.embedding_forward(tokens, wte, wpe) * R).sum())

    assert_gradient(dwte, numeric_gradient(f, wte))
    assert_gradient(dwpe, numeric_gradient(f, wpe))


def small_model(bias=True, dtype="float64", seed=1, gelu="erf", **shape):
    config = dict(vocab_size=11, context=8, n_layer=2, n_head=2, n_embd=8)
    config.update(shape)
    model = fastnet.GPT(**config, bias=bias, gelu=gelu, dtype=dtype, seed=seed)
    # larger than the 0.02 initialisation, so that every path (attention included) carries gradient
    model.params[:] = np.random.default_rng(seed).normal(0, 0.3, model.num_params)
    return model


@pytest.mark.parametrize("bias", [False, True])
def test_whole_model_gradient_against_central_differences(bias):
    model = small_model(bias)
    rng = np.random.default_rng(2)
    tokens, targets = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
    assert_gradient(model.gradient(tokens, targets),
                    numeric_gradient(lambda: model.loss(tokens, targets), model.params))


def test_changing_a_later_token_leaves_earlier_logits_unchanged():
    model = small_model()
    tokens = np.random.default_rng(3).integers(0, 11, 8)
    before = model.logits(tokens)
    for t in range(7):
        changed = tokens.copy()
        changed[t + 1:] = (changed[t + 1:] + 1 + t) % 11
        after = model.logits(changed)
        np.testing.assert_array_equal(after[:t + 1], before[:t + 1])
        assert not np.allclose(after[t + 1:], before[t + 1:])


def test_cached_decoding_gives_the_logits_of_a_full_pass():
    model = small_model()
    tokens = np.random.default_rng(4).integers(0, 11, (2, 8))
    full = model.logits(tokens)
    cache = ref.new_cache(model.shape, 2, model.dtype)
    steps = [ref.prefill(model.params, model.shape, tokens[:, :3], cache)]
    for position in range(3, 8):
        steps.append(ref.decode_step(model.params, model.shape, tokens[:, position], position, cache))
    np.testing.assert_allclose(np.stack(steps, axis=1), full[:, 2:], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("prompt_length", [1, 5, 8])
def test_greedy_generation_equals_argmax_by_full_recomputation(prompt_length):
    model = small_model()
    prompt = np.random.default_rng(5).integers(0, 11, prompt_length)
    generated = model.generate(prompt, 20, top_k=1)  # past the context of 8: the window slides
    sequence = list(prompt)
    for _ in range(20):
        sequence.append(int(model.logits(np.array(sequence[-8:]))[-1].argmax()))
    assert generated.tolist() == sequence


def test_sampling_is_seeded_and_follows_top_k():
    model = small_model()
    prompt = np.array([1, 2, 3])
    first = model.generate(prompt, 30, temperature=1.5, seed=7)
    assert first.tolist() == model.generate(prompt, 30, temperature=1.5, seed=7).tolist()
    assert list(model.stream(prompt, 30, temperature=1.5, seed=7)) == first[3:].tolist()
    batch = model.generate(np.stack([prompt, prompt]), 10, top_k=3, seed=1)
    assert batch.shape == (2, 13)
    for row in batch:  # every sampled token is among the 3 likeliest after its prefix
        for t in range(3, 13):
            assert row[t] in np.argsort(model.logits(row[max(0, t - 8):t])[-1])[-3:]


def test_next_token_probabilities_are_the_softmax_of_the_last_logits():
    model = small_model()
    tokens = np.array([4, 2, 9])
    p = model.next_token_probabilities(tokens, temperature=0.5)
    expected = np.exp(model.logits(tokens)[-1] / 0.5)
    np.testing.assert_allclose(p, expected / expected.sum(), rtol=1e-12)
    long = np.arange(20) % 11  # longer than the context: the last 8 tokens
    np.testing.assert_allclose(model.next_token_probabilities(long),
                               model.next_token_probabilities(long[-8:]), rtol=1e-12)


def test_attention_weights_rows_are_distributions_over_the_past():
    model = small_model()
    att = model.attention(np.array([1, 5, 3, 3, 0]))
    assert att.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(att.sum(axis=-1), 1)
    assert np.all(np.triu(att, 1) == 0)


def test_adamw_step_by_hand():
    """Two steps on three parameters, the second and third decayed, clipped to norm 1, written out."""
    params = np.array([1.0, -2.0, 0.5])
    m, v = np.zeros(3), np.zeros(3)
    mask = np.array([0.0, 1.0, 1.0])
    lr, wd, b1, b2, eps = 0.1, 0.5, 0.9, 0.99, 1e-8
    grads = [np.array([3.0, 4.0, 0.0]), np.array([0.1, -0.2, 0.3])]
    expected, em, ev = params.copy(), np.zeros(3), np.zeros(3)
    for step, g in enumerate(grads, start=1):
        norm = math.sqrt((g ** 2).sum())
        g_clipped = g * min(1.0, 1.0 / (norm + 1e-6))
        expected = expected * (1 - lr * wd * mask)
        em = b1 * em + (1 - b1) * g_clipped
        ev = b2 * ev + (1 - b2) * g_clipped ** 2
        expected = expected - lr * (em / (1 - b1 ** step)) / (np.sqrt(ev / (1 - b2 ** step)) + eps)
        returned = ref.adamw_step(params, g.copy(), m, v, step, lr, b1, b2, eps, wd, mask, 1.0)
        assert returned == pytest.approx(norm)
        np.testing.assert_allclose(params, expected, rtol=1e-14)
        if step == 1:  # clipped to (0.6, 0.8, 0); m̂ = g and v̂ = g², so each moves by lr·sign(g) after decay
            np.testing.assert_allclose(params, [1.0 - 0.1, -2.0 * 0.95 - 0.1, 0.5 * 0.95], rtol=1e-7)


def test_learning_rate_schedule_is_nanogpts():
    schedule = dict(iters=2000, lr=1e-3, min_lr=1e-4, warmup=100)
    assert learning_rate(0, **schedule) == pytest.approx(1e-3 / 101)
    assert learning_rate(99, **schedule) == pytest.approx(1e-3 * 100 / 101)
    assert learning_rate(100, **schedule) == pytest.approx(1e-3)
    assert learning_rate(1050, **schedule) == pytest.approx(1e-4 + 0.5 * 9e-4)
    assert learning_rate(2000, **schedule) == pytest.approx(1e-4)


def test_layout_has_nanogpts_names_shapes_and_decay_groups():
    config = layout.Config(vocab_size=65, context=64, n_layer=4, n_head=4, n_embd=128, bias=False)
    shapes = dict(layout.tensor_shapes(config))
    assert shapes["transformer.h.3.attn.c_attn.weight"] == (384, 128)
    assert shapes["transformer.h.0.mlp.c_proj.weight"] == (128, 512)
    assert len(shapes) == 2 + 4 * 6 + 1
    # nanoGPT's CPU configuration: 0.80 M parameters (nanoGPT prints 0.80M, wpe excluded)
    assert layout.count_params(config) == 804_096
    assert layout.count_params(config) - 64 * 128 == 795_904
    decayed = layout.decayed(config)
    assert decayed.sum() == sum(np.prod(s) for s in shapes.values() if len(s) == 2)


def test_logits_and_gradient_agree_with_pytorch_autograd():
    torch = pytest.importorskip("torch")
    from fastnet.bench.torch_gpt import from_fastnet

    for bias, gelu in ((False, "erf"), (True, "erf"), (True, "tanh")):
        model = small_model(bias, context=6, n_embd=12, n_head=3, gelu=gelu)
        rng = np.random.default_rng(6)
        tokens, targets = rng.integers(0, 11, (4, 6)), rng.integers(0, 11, (4, 6))
        module = from_fastnet(model)
        logits, loss = module(torch.from_numpy(tokens), torch.from_numpy(targets))
        loss.backward()
        np.testing.assert_allclose(model.logits(tokens), logits.detach().numpy(), rtol=1e-12, atol=1e-12)
        assert model.loss(tokens, targets) == pytest.approx(loss.item(), rel=1e-12)
        grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
        ours = layout.named_views(model.gradient(tokens, targets), model.shape)
        assert sorted(grads) == sorted(ours)
        for name, grad in grads.items():
            np.testing.assert_allclose(ours[name], grad, rtol=1e-10, atol=1e-12, err_msg=name)
