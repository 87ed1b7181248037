"""nanoGPT's GPT architecture in PyTorch, written for fastnet's comparisons (needs torch).

The modules, attribute names and parameter shapes are those of nanoGPT's
model.py (``transformer.wte``, ``transformer.h[i].attn.c_attn``, ...), so
``GPT.state_dict()`` of fastnet loads into it and back; without dropout.
Used by the tests (logits and autograd gradients as an outside oracle) and
by benchmarks (PyTorch training the same model, and generating with nanoGPT's
``generate`` and with a key/value cache).
"""
import torch
from torch import nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    def __init__(self, width, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head = n_head

    def forward(self, x, cache=None, position=None):
        """With ``cache`` (2, B, nh, context, hs): x holds the positions from ``position`` on (several only
        from 0); their keys and values are stored."""
        B, T, C = x.shape
        q, k, v = (part.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for part in self.c_attn(x).split(C, dim=2))
        if cache is not None:
            cache[0, :, :, position:position + T], cache[1, :, :, position:position + T] = k, v
            k, v = cache[0, :, :, :position + T], cache[1, :, :, :position + T]
            y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)  # T > 1: from position 0
        else:  # nanoGPT's flash path (the same math as the explicit mask and softmax)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, n_embd, bias, gelu):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU(approximate="tanh" if gelu == "tanh" else "none")
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, bias, gelu):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias)
        self.attn = CausalSelfAttention(n_embd, n_head, bias)
        self.ln_2 = LayerNorm(n_embd, bias)
        self.mlp = MLP(n_embd, bias, gelu)

    def forward(self, x, cache=None, position=None):
        x = x + self.attn(self.ln_1(x), cache, position)
        return x + self.mlp(self.ln_2(x))


class TorchGPT(nn.Module):
    """``TorchGPT(**fastnet_gpt.config)``: forward(idx, targets=None) -> (logits, loss), as nanoGPT's."""

    def __init__(self, vocab_size, context, n_layer, n_head, n_embd, bias, gelu="erf"):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),
            wpe=nn.Embedding(context, n_embd),
            h=nn.ModuleList([Block(n_embd, n_head, bias, gelu) for _ in range(n_layer)]),
            ln_f=LayerNorm(n_embd, bias),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied

    def forward(self, idx, targets=None, cache=None, position=0):
        """(logits, loss) as nanoGPT's; with ``cache`` (n_layer, 2, B, nh, context, hs) from ``new_cache``,
        idx holds the positions from ``position`` on, and their keys and values are stored."""
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(position, position + T, device=idx.device))
        for layer, block in enumerate(self.transformer.h):
            x = block(x, None if cache is None else cache[layer], position)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
        return logits, loss

    def new_cache(self, batch):
        """Zeros for the keys and values of every layer and position, as ``forward``'s ``cache``."""
        h = self.transformer.h
        n_head, C, context = h[0].attn.n_head, self.transformer.wte.weight.shape[1], self.transformer.wpe.num_embeddings
        return torch.zeros(len(h), 2, batch, n_head, context, C // n_head, dtype=self.transformer.wte.weight.dtype)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0):
        """nanoGPT's generate: the whole (cropped) sequence through the model for every new token."""
        context = self.transformer.wpe.num_embeddings
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -context:])
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx

    @torch.no_grad()
    def generate_cached(self, idx, max_new_tokens, temperature=1.0):
        """``generate`` with a key/value cache: one position per token (while the sequence fits the context)."""
        cache = self.new_cache(idx.shape[0])
        logits, _ = self(idx, cache=cache)
        out = [idx]
        position = idx.shape[1]
        for produced in range(max_new_tokens):
            token = torch.multinomial(F.softmax(logits[:, -1, :] / temperature, dim=-1), num_samples=1)
            out.append(token)
            if produced < max_new_tokens - 1:
                logits, _ = self(token, cache=cache, position=position)
                position += 1
        return torch.cat(out, dim=1)


def from_fastnet(model, dtype=None):
    """A ``TorchGPT`` holding the parameters of the fastnet ``GPT`` ``model`` (in its dtype unless given)."""
    import numpy as np

    dtype = dtype or {np.dtype("float32"): torch.float32, np.dtype("float64"): torch.float64}[model.dtype]
    module = TorchGPT(**model.config).to(dtype)
    module.load_state_dict({name: torch.from_numpy(np.array(view)) for name, view in model.state_dict().items()})
    return module
