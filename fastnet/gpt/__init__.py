"""The GPT wing: a small transformer that predicts the next token (``GPT``), its training and files.

    >>> import fastnet
    >>> text = fastnet.datasets.load_text()                   # Tiny Shakespeare
    >>> tokenizer = fastnet.text.CharTokenizer.fit(text)
    >>> model = fastnet.GPT(tokenizer.vocab_size, seed=0)
    >>> model.tokenizer = tokenizer
    >>> history = model.fit(tokenizer.encode(text), iters=2000)

Modules: ``model`` (the API), ``layout`` (the flat parameter vector and its
nanoGPT names), ``training`` (AdamW, the schedule, checkpoints), ``files``
(save and load). The math is in ``fastnet.backends.numpy.gpt``.
"""
from .model import GPT
from .training import GPTHistory

__all__ = ["GPT", "GPTHistory"]
