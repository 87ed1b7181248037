"""Text cut into tokens: characters, or byte-pair-encoded words and fragments.

Both tokenizers have ``vocab_size``, ``encode(text) -> int64 array``,
``decode(ids) -> str``, ``to_bytes(ids) -> bytes`` (for decoding a stream
piece by piece), ``save(path)`` and ``load(path)`` (JSON), and ``to_json()``;
``tokenizer_from_json`` reads either kind back.
"""
import codecs
import collections
import json
import os
import re

import numpy as np

from .core.checks import check_int, is_integer
from .core.storage import json_value, read_bytes, replace_atomically


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of the training text's characters.

    (nanoGPT's shakespeare_char.) Encoding a character outside the
    vocabulary raises ValueError.
    """

    kind = "char"

    def __init__(self, characters):
        characters = list(characters)
        if not characters or not all(isinstance(c, str) and len(c) == 1 for c in characters) \
                or len(set(characters)) != len(characters):
            raise ValueError("characters must be distinct one-character strings (at least one)")
        _check_no_surrogates("characters", "".join(characters))
        self.characters = characters
        self._ids = {c: i for i, c in enumerate(characters)}

    @classmethod
    def fit(cls, text):
        """The tokenizer whose vocabulary is the sorted characters of ``text`` (UTF-8 text: no lone surrogates)."""
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self):
        return len(self.characters)

    def encode(self, text):
        """Token ids (int64) of the characters of ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        try:
            return np.fromiter((self._ids[c] for c in text), np.int64, len(text))
        except KeyError as exc:
            raise ValueError(f"text holds the character {exc.args[0]!r}, which is not in this tokenizer's "
                             f"vocabulary of {self.vocab_size} characters") from None

    def decode(self, ids):
        """The text of token ids."""
        return "".join(self.characters[i] for i in _check_ids(ids, self.vocab_size))

    def to_bytes(self, ids):
        """The UTF-8 bytes of ``decode(ids)``."""
        return self.decode(ids).encode("utf-8")

    def to_json(self):
        return json.dumps({"kind": self.kind, "characters": "".join(self.characters)})

    def save(self, path):
        return _save(self, path)

    @classmethod
    def load(cls, path):
        return _load(path, cls)


# The pre-split, after GPT-2's: words with their leading space, numbers,
# runs of punctuation, runs of spaces; every character falls in one chunk.
# Merges never cross chunks, so tokens are words or pieces of words.
SPLIT_PATTERN = re.compile(r" ?[^\W\d_]+| ?\d+| ?[^\s\w]+|_+|\s+(?!\S)|\s+|.", re.DOTALL)


class BPETokenizer:
    """Byte-level byte-pair encoding: the 256 bytes, then ``merges`` learned from a text.

    Token i < 256 is byte i; token 256 + r is the merge r, the pair of tokens
    ``merges[r]``. Encoding turns the UTF-8 bytes of each chunk of the text
    (``SPLIT_PATTERN``) into tokens and applies the merges in the order they
    were learned, so ``decode(encode(s)) == s`` for every string.
    """

    kind = "bpe"
    CACHED_CHUNKS = 8192  # the chunk cache's bound (least recently used dropped first): a server stays bounded
    CACHED_CHUNK_LENGTH = 64  # longer chunks are encoded each time

    def __init__(self, merges):
        if isinstance(merges, np.ndarray):  # (n, 2) integer ids, as the training kernels return them
            merges = merges.tolist()
        if not isinstance(merges, (list, tuple)):
            raise ValueError(f"merges must be a list of pairs of token ids; got {type(merges).__name__}")
        checked = []
        for rank, pair in enumerate(merges):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                    and all(is_integer(t) and 0 <= t < 256 + rank for t in pair)):
                raise ValueError(f"merge {rank} must be a pair of integer ids of earlier tokens (< {256 + rank}); "
                                 f"got {pair!r}")
            checked.append((int(pair[0]), int(pair[1])))
        self._ranks = {pair: rank for rank, pair in enumerate(checked)}
        if len(self._ranks) != len(checked):
            twice = next(pair for rank, pair in enumerate(checked) if self._ranks[pair] != rank)
            raise ValueError(f"merges must be distinct; {list(twice)} appears twice")
        self.merges = checked
        self._bytes = [bytes([b]) for b in range(256)]
        for a, b in checked:
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._chunk_cache = collections.OrderedDict()

    @classmethod
    def train(cls, text, vocab_size, *, backend="auto"):
        """Learn ``vocab_size - 256`` merges from ``text``.

        Each step merges the most frequent adjacent pair of tokens within the
        chunks of the text (each distinct chunk weighted by how often it
        occurs). Tie rule: among equally frequent pairs, the one with the
        smallest (first token, second token). The loop runs on ``backend``'s
        GPT kernels (``bpe_merges``); every backend learns the same merges.
        """
        from . import backends
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        vocab_size = check_int("vocab_size", vocab_size, 256)
        kernels = backends.load_gpt(backend)[1]
        chunks = collections.Counter(SPLIT_PATTERN.findall(text))
        words = [chunk.encode("utf-8") for chunk in chunks]
        ids = np.frombuffer(b"".join(words), np.uint8).astype(np.int64)
        word_of = np.repeat(np.arange(len(words), dtype=np.int64), [len(word) for word in words])
        weights = np.array(list(chunks.values()), np.int64)[word_of]
        return cls(kernels.bpe_merges(ids, word_of, weights, vocab_size).tolist())

    @property
    def vocab_size(self):
        return 256 + len(self.merges)

    def _encode_chunk(self, chunk):
        cached = self._chunk_cache.get(chunk)
        if cached is not None:
            self._chunk_cache.move_to_end(chunk)
            return cached
        tokens = list(chunk.encode("utf-8"))
        while len(tokens) > 1:
            ranked = [(self._ranks.get(pair, len(self._ranks)), i) for i, pair in enumerate(zip(tokens, tokens[1:]))]
            rank, i = min(ranked)
            if rank == len(self._ranks):
                break
            merged = 256 + rank
            pair = self.merges[rank]
            out, j = [], 0
            while j < len(tokens):  # every occurrence of the pair, left to right
                if j + 1 < len(tokens) and (tokens[j], tokens[j + 1]) == pair:
                    out.append(merged)
                    j += 2
                else:
                    out.append(tokens[j])
                    j += 1
            tokens = out
        if len(chunk) <= self.CACHED_CHUNK_LENGTH:
            self._chunk_cache[chunk] = tokens
            if len(self._chunk_cache) > self.CACHED_CHUNKS:
                self._chunk_cache.popitem(last=False)
        return tokens

    def encode(self, text):
        """Token ids (int64) of ``text`` (UTF-8 text: a lone surrogate such as "\\ud800" is refused)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        _check_no_surrogates("text", text)
        tokens = [t for chunk in SPLIT_PATTERN.findall(text) for t in self._encode_chunk(chunk)]
        return np.array(tokens, np.int64)

    def to_bytes(self, ids):
        """The bytes that token ids stand for."""
        return b"".join(self._bytes[i] for i in _check_ids(ids, self.vocab_size))

    def decode(self, ids):
        """The text of token ids (byte sequences that are not UTF-8, as sampled ids may make, become U+FFFD)."""
        return self.to_bytes(ids).decode("utf-8", errors="replace")

    def to_json(self):
        return json.dumps({"kind": self.kind, "merges": self.merges})

    def save(self, path):
        return _save(self, path)

    @classmethod
    def load(cls, path):
        return _load(path, cls)


def decode_stream(tokenizer, ids):
    """Yield the text of each token id of the iterable ``ids`` as it arrives.

    A character whose UTF-8 bytes span several tokens (byte-pair tokens may
    split one) is yielded once all its bytes have come; bytes that never form
    a character become U+FFFD.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for token in ids:
        piece = decoder.decode(tokenizer.to_bytes([token]))
        if piece:
            yield piece
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_no_surrogates(argument, text):
    """ValueError if ``text`` holds a lone surrogate (a str that is not Unicode text: it has no UTF-8 bytes)."""
    found = _SURROGATE.search(text)
    if found:
        raise ValueError(f"{argument} holds the lone surrogate {found.group()!r} at {found.start()}, "
                         "which is not a character (it has no UTF-8 encoding)")


def _check_ids(ids, vocab_size):
    array = np.asarray(ids)
    if array.size == 0 and array.ndim == 1:
        return []
    if array.dtype.kind not in "iu" or array.ndim > 1:
        raise TypeError(f"ids must be a sequence of integer token ids; got {array.dtype} {array.shape}")
    array = array.reshape(-1)
    if len(array) and (array.min() < 0 or array.max() >= vocab_size):
        raise ValueError(f"ids must be in [0, {vocab_size}); got values from {array.min()} to {array.max()}")
    return array.tolist()


def tokenizer_from_json(text):
    """The tokenizer that ``to_json`` wrote (either kind); ValueError for anything else."""
    data = json_value(text, "the tokenizer")
    try:
        kind = data["kind"]
        if kind == CharTokenizer.kind and isinstance(data["characters"], str):
            return CharTokenizer(data["characters"])
        if kind == BPETokenizer.kind and isinstance(data["merges"], list):
            return BPETokenizer(data["merges"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a fastnet tokenizer ({type(exc).__name__}: {exc})") from None
    raise ValueError("not a fastnet tokenizer (unknown kind or contents)")


def _save(tokenizer, path):
    return replace_atomically(path, tokenizer.to_json().encode("utf-8"))


def _load(path, cls):
    path = os.fspath(path)
    raw = read_bytes(path)
    try:
        tokenizer = tokenizer_from_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(tokenizer, cls):
        raise ValueError(f"{path}: holds a {tokenizer.kind} tokenizer, not a {cls.kind} one")
    return tokenizer
