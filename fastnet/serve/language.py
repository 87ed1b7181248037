"""The GPT page's answers: the next-token distribution, a streamed continuation, attention maps.

``LanguageModel`` holds the GPT the page talks to: a saved one (``fastnet
serve --gpt PATH``), or a small one it trains itself in a background thread on
Tiny Shakespeare, served as it learns (a copy of its parameters taken at every
evaluation, so no answer ever mixes two training steps).
"""
import threading
import time

import numpy as np

from .. import datasets, lessons, text as texts
from ..gpt import GPT
from .payloads import BadRequest

# The model trained in the background when no --gpt is given: characters of Tiny Shakespeare, small enough that
# a few hundred steps a minute run on one core beside the page.
BACKGROUND_CONFIG = dict(context=64, n_layer=4, n_head=4, n_embd=64)
BACKGROUND_TRAINING = dict(batch_size=12, lr=2e-3, min_lr=2e-4, warmup=50, eval_batches=4)
HOW_TO = "train one with `fastnet gpt train --save gpt.npz` (a few minutes), then `fastnet serve --gpt gpt.npz`"


def _shape():
    c = BACKGROUND_CONFIG
    return (f"{c['n_layer']} block{'s' * (c['n_layer'] != 1)}, {c['n_head']} heads, width {c['n_embd']}, "
            f"context {c['context']}")


def _copy(model):
    """A new GPT with ``model``'s shape, backend, tokenizer and (a copy of its) parameters."""
    config = model.config
    copy = GPT.to_be_filled(config.pop("vocab_size"), **config, dtype=model.dtype.name, backend=model.backend)
    copy.params = model.params
    copy.tokenizer = model.tokenizer
    return copy


class LanguageModel:
    """The GPT behind the page, or none yet: ``model`` is None until one can answer."""

    def __init__(self, model=None, source=None):
        if model is not None and model.tokenizer is None:
            raise ValueError("the GPT has no tokenizer, so it cannot read a prompt")
        self.model = model
        self.source = source
        self.training = None  # the background run's last record and its length, while there is one
        self._stop = threading.Event()
        self._thread = None

    # -- the background model --------------------------------------------------

    def train_in_background(self, iters, *, seed=0, backend="auto"):
        """Start training a small GPT on Tiny Shakespeare in a daemon thread; it answers from step 0 on."""
        self.source = f"training in the background: {_shape()}, on Tiny Shakespeare's characters"
        self.training = {"iteration": 0, "iters": iters, "state": "starting"}
        self._thread = threading.Thread(target=self._train, args=(iters, seed, backend), name="fastnet-gpt-training",
                                        daemon=True)
        self._thread.start()

    def _train(self, iters, seed, backend):
        try:
            text = datasets.load_text()
            tokenizer = texts.CharTokenizer.fit(text)
            train_text, val_text = datasets.split_text(text)
            model = GPT(tokenizer.vocab_size, **BACKGROUND_CONFIG, backend=backend, seed=seed)
            model.tokenizer = tokenizer
            start = time.perf_counter()

            def publish(model, record):
                self.model = _copy(model)
                self.training = {"iteration": record["iteration"], "iters": iters, "state": "training",
                                 "train_loss": record["train_loss"], "val_loss": record["val_loss"],
                                 "seconds": round(time.perf_counter() - start, 1)}
                return self._stop.is_set()

            model.fit(tokenizer.encode(train_text), val=tokenizer.encode(val_text), iters=iters,
                      eval_interval=max(1, min(100, iters // 10)), seed=seed, progress=False, callbacks=[publish],
                      **BACKGROUND_TRAINING)
            self.training["state"] = "stopped" if self._stop.is_set() else "done"
            self.source = f"trained here: {_shape()}, {self.training['iteration']} steps on Tiny Shakespeare"
        except Exception as exc:  # noqa: BLE001 - the page says what went wrong; the digit page keeps working
            self.training = {**(self.training or {}), "state": "failed", "error": f"{type(exc).__name__}: {exc}"}

    def stop(self, timeout=None):
        """Ask the background training to stop at its next evaluation, and wait up to ``timeout`` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- answers ---------------------------------------------------------------

    def status(self):
        """Whether a model answers, where it came from, its shape and the background training's progress."""
        model = self.model
        return {"ready": model is not None, "source": self.source, "training": self.training,
                "config": None if model is None else model.config, "how_to": HOW_TO}

    def _ready(self):
        model = self.model  # one read: the background thread may publish a newer copy meanwhile
        if model is None:
            raise BadRequest("no GPT is loaded yet: " + (self.training or {}).get("error", "it is still starting"),
                             status=503)
        return model

    def _encode(self, model, prompt):
        try:
            tokens = model.tokenizer.encode(prompt)
        except ValueError as exc:  # a character outside a character tokenizer's vocabulary
            raise BadRequest(f"prompt: {exc}") from None
        if len(tokens) == 0:
            raise BadRequest("prompt must hold at least one token")
        return tokens

    def _piece(self, model, token):
        return model.tokenizer.to_bytes([int(token)]).decode("utf-8", errors="replace")

    def next_tokens(self, prompt, temperature, top_k, count):
        """The ``count`` likeliest next tokens after ``prompt`` (most likely first) and their probabilities,
        from softmax(logits / temperature) kept to the top_k likeliest (None: all), as ``generate`` draws."""
        model = self._ready()
        p = model.next_token_probabilities(self._encode(model, prompt), temperature=temperature, top_k=top_k)
        order = np.argsort(-p, kind="stable")[:count]
        order = order[p[order] > 0]  # past top_k every probability is 0: not worth a row
        return {"tokens": [self._piece(model, t) for t in order], "probabilities": p[order].tolist()}

    def generate(self, prompt, max_new_tokens, temperature, top_k, seed):
        """Yield the continuation of ``prompt`` as text pieces, token by token (arguments checked first)."""
        model = self._ready()
        tokens = model.stream(self._encode(model, prompt), max_new_tokens, temperature=temperature, top_k=top_k,
                              seed=seed)
        return texts.decode_stream(model.tokenizer, tokens)

    def attention(self, prompt, layer, head):
        """The attention weights of ``layer`` and ``head`` over the prompt's last ``context`` tokens.

        ``weights[i][j]``: how much position i attends to position j (0 for j > i; rows sum to 1).
        """
        model = self._ready()
        if not (layer < model.n_layer and head < model.n_head):
            raise BadRequest(f"layer must be below {model.n_layer} and head below {model.n_head}; got {layer}, {head}")
        tokens = self._encode(model, prompt)[-model.context:]
        weights = model.attention(tokens)[layer, head]
        return {"tokens": [self._piece(model, t) for t in tokens], "layer": layer, "head": head,
                "weights": weights.astype(np.float64).tolist()}

    # -- what embeddings hold (the seed's video 5) ------------------------------------------------------------

    def embeddings(self):
        """Every token's text and its embedding projected to two dimensions by PCA (``lessons.embedding_points``)."""
        model = self._ready()
        return {"tokens": lessons.token_texts(model), "points": lessons.embedding_points(model).tolist()}

    def neighbours(self, token, k):
        """The ``k`` tokens whose embeddings have the largest cosine similarity with ``token``'s."""
        model = self._ready()
        if token >= model.tokenizer.vocab_size:
            raise BadRequest(f"token must be below {model.tokenizer.vocab_size}; got {token}")
        texts_of = lessons.token_texts(model)
        return [{"token": t, "text": texts_of[t], "cosine": cosine}
                for t, cosine in lessons.neighbours(model, token, min(k, len(texts_of) - 1))]

    def dots(self, prompt, temperature):
        """The prompt's final vector, its dot products with every token embedding (the logits) and
        softmax(logits / temperature): the next-token distribution, step by step."""
        model = self._ready()
        final, dots, p = lessons.next_token_dots(model, self._encode(model, prompt), temperature)
        tokens = lessons.token_texts(model)  # the tokenizer's: a vocabulary may be padded past it
        return {"vector": final.tolist(), "dots": dots[:len(tokens)].tolist(),
                "probabilities": p[:len(tokens)].tolist(), "tokens": tokens}
