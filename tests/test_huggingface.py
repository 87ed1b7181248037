"""GPT-2 from and to Hugging Face transformers: the same logits and greedy tokens both ways, checkpoints read
from their directories, what a fastnet GPT cannot hold refused by name; the 124M configuration on both compiled
backends (random weights: nothing is downloaded here)."""
import json
import os

import numpy as np
import pytest

import fastnet

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")  # the test extra has it: CI fails without it
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model  # noqa: E402

SMALL = dict(vocab_size=50, n_positions=16, n_embd=24, n_layer=2, n_head=3)
TOLERANCE = {"float32": 1e-4, "float64": 1e-9}  # relative to the largest logit


def random_gpt2(seed=0, std=0.3, **config):
    """A GPT2LMHeadModel with random weights wider than its initialisation (so that every path matters)."""
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(**{**SMALL, **config}, bos_token_id=0, eos_token_id=0)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, std)
    return model


def hf_logits(model, tokens, dtype):
    with torch.no_grad():
        return model.to({"float32": torch.float32, "float64": torch.float64}[dtype])(
            torch.from_numpy(np.asarray(tokens))).logits.numpy()


def assert_close(actual, expected, dtype):
    error = np.abs(actual - expected).max() / np.abs(expected).max()
    assert error <= TOLERANCE[dtype], f"relative error {error:.2e}"


def greedy(model, prompt, count):
    with torch.no_grad():
        return model.generate(torch.tensor([prompt]), max_new_tokens=count, do_sample=False, pad_token_id=0)[0].tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["gelu_new", "gelu"])
def test_a_transformers_gpt2_gives_the_same_logits_and_greedy_tokens(dtype, activation):
    hf = random_gpt2(activation_function=activation)
    model = fastnet.GPT.from_huggingface(hf, dtype=dtype)
    assert model.gelu == {"gelu_new": "tanh", "gelu": "erf"}[activation] and model.bias
    tokens = np.random.default_rng(1).integers(0, 50, (3, 16))
    assert_close(model.logits(tokens), hf_logits(hf, tokens, dtype), dtype)
    assert model.generate([5, 7, 11], 12, top_k=1).tolist() == greedy(hf, [5, 7, 11], 12)


@pytest.mark.parametrize("bias,gelu", [(False, "erf"), (True, "tanh")])
def test_to_huggingface_gives_a_gpt2_with_the_same_logits_and_tokens(bias, gelu):
    model = fastnet.GPT(50, context=16, n_layer=2, n_head=3, n_embd=24, bias=bias, gelu=gelu, dtype="float64",
                        seed=0)
    model.params = model.params + np.random.default_rng(0).normal(0, 0.3, model.num_params)
    hf = model.to_huggingface()
    assert isinstance(hf, GPT2LMHeadModel) and not hf.training
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()  # tied
    tokens = np.random.default_rng(2).integers(0, 50, (2, 16))
    assert_close(hf_logits(hf, tokens, "float64"), model.logits(tokens), "float64")
    assert greedy(hf, [3, 1], 10) == model.generate([3, 1], 10, top_k=1).tolist()
    again = fastnet.GPT.from_huggingface(hf, dtype="float64")
    if bias:
        np.testing.assert_array_equal(again.params, model.params)
    else:  # GPT-2 always has biases: zero ones
        np.testing.assert_array_equal(again.logits(tokens), model.logits(tokens))


def test_checkpoint_directories_load_single_sharded_and_pytorch_bin(tmp_path):
    hf = random_gpt2()
    tokens = np.random.default_rng(3).integers(0, 50, (2, 16))
    expected = hf_logits(hf, tokens, "float32")
    hf.save_pretrained(tmp_path / "single")
    hf.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert os.path.exists(tmp_path / "sharded" / "model.safetensors.index.json")
    os.makedirs(tmp_path / "bin")
    torch.save(hf.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    hf.config.to_json_file(tmp_path / "bin" / "config.json")
    GPT2Model(hf.config).save_pretrained(tmp_path / "base")  # a GPT2Model: names without "transformer."
    for name in ("single", "sharded", "bin"):
        assert_close(fastnet.GPT.from_huggingface(tmp_path / name).logits(tokens), expected, "float32")
    base = GPT2Model.from_pretrained(tmp_path / "base")
    assert fastnet.GPT.from_huggingface(tmp_path / "base").state_dict()["transformer.h.1.mlp.c_fc.weight"].shape \
        == tuple(base.h[1].mlp.c_fc.weight.shape[::-1])
    state = hf.state_dict()
    assert_close(fastnet.GPT.from_huggingface(state, config=hf.config.to_dict()).logits(tokens), expected, "float32")


REFUSED = {
    "activation_function": ("relu", "activation_function='relu'"),
    "add_cross_attention": (True, "add_cross_attention=True"),
    "n_inner": (40, "n_inner=40"),
    "layer_norm_epsilon": (1e-6, "layer_norm_epsilon=1e-06"),
    "scale_attn_by_inverse_layer_idx": (True, "scale_attn_by_inverse_layer_idx=True"),
    "scale_attn_weights": (False, "scale_attn_weights=False"),
    "tie_word_embeddings": (False, "tie_word_embeddings=False"),
}


@pytest.mark.parametrize("setting", list(REFUSED))
def test_what_a_fastnet_gpt_cannot_hold_is_refused_by_name(setting):
    value, message = REFUSED[setting]
    config = {**random_gpt2().config.to_dict(), setting: value}
    with pytest.raises(ValueError, match=f"cannot be a fastnet GPT: .*{message}"):
        fastnet.GPT.from_huggingface(random_gpt2().state_dict(), config=config)


def test_untied_heads_mismatched_shapes_and_missing_configs_are_refused(tmp_path):
    hf = random_gpt2()
    state = dict(hf.state_dict())
    state["lm_head.weight"] = state["transformer.wte.weight"] + 1
    with pytest.raises(ValueError, match="lm_head.weight differs"):
        fastnet.GPT.from_huggingface(state, config=hf.config)
    with pytest.raises(ValueError, match=r"c_attn.weight has shape \(24, 72\), not \(36, 108\)"):
        fastnet.GPT.from_huggingface(hf.state_dict(), config={**hf.config.to_dict(), "n_embd": 36})
    with pytest.raises(ValueError, match="needs its config"):
        fastnet.GPT.from_huggingface(hf.state_dict())
    with pytest.raises(ValueError, match="no config.json"):
        fastnet.GPT.from_huggingface(tmp_path)
    with pytest.raises(TypeError, match="checkpoint directory"):
        fastnet.GPT.from_huggingface(42)
    cross = random_gpt2(add_cross_attention=True)
    with pytest.raises(ValueError, match="cross-attention"):
        fastnet.GPT.from_huggingface(cross.state_dict(), config=hf.config)



@pytest.fixture(scope="module")
def gpt2_124m():
    """GPT-2's 124M configuration (vocab 50,257, context 1,024, 12 layers, 12 heads, n_embd 768), random weights."""
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config()).eval()
    assert json.loads(hf.config.to_json_string())["n_embd"] == 768
    return hf


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_the_124m_configuration_runs_on_both_compiled_backends(gpt2_124m, backend):
    model = fastnet.GPT.from_huggingface(gpt2_124m, backend=backend)
    assert model.num_params == 124_439_808
    tokens = np.random.default_rng(4).integers(0, 50257, (1, 24))
    assert_close(model.logits(tokens), hf_logits(gpt2_124m, tokens, "float32"), "float32")
    assert model.generate(tokens[0, :8], 6, top_k=1).tolist() == greedy(gpt2_124m, tokens[0, :8].tolist(), 6)
    # a training step: the gradient of 23 next-token predictions, one AdamW step, a lower loss on them
    x, y = tokens[:, :-1], tokens[:, 1:]
    k, p = model.kernels, model.params
    loss, grad = k.loss_and_gradient(p, model.shape, x, y, np.empty_like(p))
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    k.adamw_step(p, grad, np.zeros_like(p), np.zeros_like(p), 1, 1e-4, 0.9, 0.99, 1e-8, 0.1, model.decay_mask, 1.0)
    assert model.loss(x, y) < loss
