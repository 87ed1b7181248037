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

from . import byte_level
from .core.checks import check_choice, check_int, is_integer
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
# How a BPETokenizer cuts text into chunks: its ``split`` -> the compiled pattern (GPT-2's built on first use).
SPLIT_PATTERNS = {"fastnet": lambda: SPLIT_PATTERN, "gpt2": byte_level.gpt2_split_pattern}


class BPETokenizer:
    """Byte-level byte-pair encoding: the 256 bytes, then ``merges`` learned from a text.

    Token i < 256 is byte i; token 256 + r is the merge r, the pair of tokens
    ``merges[r]``. Encoding turns the UTF-8 bytes of each chunk of the text
    (``SPLIT_PATTERN``, or GPT-2's with ``split="gpt2"``) into tokens and
    applies the merges in the order they were learned, so
    ``decode(encode(s)) == s`` for every string.

    GPT-2's files (``from_files``, ``from_tokenizer_json``) number the tokens
    their own way: ``tokens`` then gives each id's bytes, a merge makes the
    token of its two tokens' bytes, and ``special`` tokens ({text: id}) are
    taken whole wherever their text appears. ``add_prefix_space`` puts a space
    before each piece of text that does not start with one (as GPT-2's
    pre-tokenizer option; decoding keeps that space).
    """

    kind = "bpe"
    CACHED_CHUNKS = 8192  # the chunk cache's bound (least recently used dropped first): a server stays bounded
    CACHED_CHUNK_LENGTH = 64  # longer chunks are encoded each time

    def __init__(self, merges, *, tokens=None, split="fastnet", special=None, add_prefix_space=False):
        if isinstance(merges, np.ndarray):  # (n, 2) integer ids, as the training kernels return them
            merges = merges.tolist()
        if not isinstance(merges, (list, tuple)):
            raise ValueError(f"merges must be a list of pairs of token ids; got {type(merges).__name__}")
        self._split = check_choice("split", split, SPLIT_PATTERNS)
        self._add_prefix_space = bool(add_prefix_space)
        self._numbered = tokens is not None
        if self._numbered:
            if not (isinstance(tokens, (list, tuple)) and all(isinstance(t, bytes) and t for t in tokens)):
                raise ValueError("tokens must be a list of non-empty byte strings, one per id")
            self._bytes = list(tokens)
        else:
            if special:
                raise ValueError("special tokens need the tokens' own numbering (tokens=...)")
            self._bytes = [bytes([b]) for b in range(256)]  # then one per merge, below
        self._special = _checked_special(special, len(self._bytes))
        specials = set(self._special.values())
        ids = {t: i for i, t in enumerate(self._bytes) if i not in specials} if self._numbered else None
        self._byte_ids = [ids.get(bytes([b])) for b in range(256)] if self._numbered else list(range(256))
        if None in self._byte_ids:
            raise ValueError(f"tokens must hold every single byte; byte {self._byte_ids.index(None)} has none")
        checked, self._merged = [], []
        for rank, pair in enumerate(merges):
            limit = len(self._bytes)
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                    and all(is_integer(t) and 0 <= t < limit for t in pair)):
                raise ValueError(f"merge {rank} must be a pair of integer ids of earlier tokens (< {limit}); "
                                 f"got {pair!r}")
            pair = (int(pair[0]), int(pair[1]))
            joined = self._bytes[pair[0]] + self._bytes[pair[1]]
            if self._numbered:
                merged = ids.get(joined)
                if merged is None:
                    raise ValueError(f"merge {rank} {list(pair)} makes a token that tokens does not hold")
            else:
                merged = len(self._bytes)
                self._bytes.append(joined)
            checked.append(pair)
            self._merged.append(merged)
        self._ranks = {pair: rank for rank, pair in enumerate(checked)}
        if len(self._ranks) != len(checked):
            twice = next(pair for rank, pair in enumerate(checked) if self._ranks[pair] != rank)
            raise ValueError(f"merges must be distinct; {list(twice)} appears twice")
        self.merges = checked
        self._special_pattern = re.compile("(" + "|".join(map(re.escape, sorted(self._special, key=len,
                                                                                 reverse=True))) + ")") \
            if self._special else None
        self._chunk_cache = collections.OrderedDict()

    @classmethod
    def train(cls, text, vocab_size, *, split="fastnet", backend="auto"):
        """Learn ``vocab_size - 256`` merges from ``text``.

        Each step merges the most frequent adjacent pair of tokens within the
        chunks of the text (each distinct chunk weighted by how often it
        occurs). Tie rule: among equally frequent pairs, the one with the
        smallest (first token, second token). The loop runs on ``backend``'s
        GPT kernels (``bpe_merges``); every backend learns the same merges.
        ``split="gpt2"`` cuts the text as GPT-2 does, so that the tokenizer can
        be saved to GPT-2's files (``save_files``, ``save_tokenizer_json``).
        """
        from . import backends
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        vocab_size = check_int("vocab_size", vocab_size, 256)
        pattern = SPLIT_PATTERNS[check_choice("split", split, SPLIT_PATTERNS)]()
        kernels = backends.load_gpt(backend)[1]
        chunks = collections.Counter(pattern.findall(text))
        words = [chunk.encode("utf-8") for chunk in chunks]
        ids = np.frombuffer(b"".join(words), np.uint8).astype(np.int64)
        word_of = np.repeat(np.arange(len(words), dtype=np.int64), [len(word) for word in words])
        weights = np.array(list(chunks.values()), np.int64)[word_of]
        return cls(kernels.bpe_merges(ids, word_of, weights, vocab_size).tolist(), split=split)

    # -- GPT-2's files -------------------------------------------------------

    @classmethod
    def from_files(cls, vocab, merges):
        """The tokenizer of GPT-2's ``vocab.json`` and ``merges.txt`` (paths), as ``tokenizers``' ByteLevelBPE
        reads them (GPT-2's split; no special tokens: a vocabulary entry such as <|endoftext|> is an ordinary
        token, as there)."""
        chars = byte_level.check_vocab(json_value(_read_text(vocab), os.fspath(vocab)), os.fspath(vocab))
        pairs = byte_level.read_merges(_read_text(merges), os.fspath(merges))
        return cls._from_chars(chars, pairs, {}, False, os.fspath(merges))

    @classmethod
    def from_tokenizer_json(cls, path):
        """The tokenizer of a ``tokenizers`` tokenizer.json holding GPT-2's byte-level BPE (its added tokens
        taken whole, as there); ValueError naming what is of another kind."""
        vocab, pairs, added, prefix = byte_level.read_tokenizer_json(_read_text(path), os.fspath(path))
        return cls._from_chars(vocab, pairs, added, prefix, os.fspath(path))

    @classmethod
    def _from_chars(cls, vocab, pairs, added, add_prefix_space, what):
        size = max([*vocab.values(), *added.values()], default=-1) + 1
        tokens = [None] * size
        for chars, i in vocab.items():
            tokens[i] = byte_level.to_bytes(chars)
        for content, i in added.items():
            tokens[i] = content.encode("utf-8")
        if None in tokens:
            raise ValueError(f"{what}: the ids must run from 0 without a gap; {tokens.index(None)} has no token")
        unknown = [f"{left} {right}" for left, right in pairs if left not in vocab or right not in vocab][:3]
        if unknown:
            raise ValueError(f"{what}: merges of tokens the vocabulary lacks: {', '.join(unknown)}")
        try:
            return cls([(vocab[left], vocab[right]) for left, right in pairs], tokens=tokens, split="gpt2",
                       special=added, add_prefix_space=add_prefix_space)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None

    def _chars(self):
        if self._split != "gpt2":
            raise ValueError("GPT-2's files cut text as GPT-2 does: this tokenizer splits as fastnet's own "
                             "(train it with split=\"gpt2\")")
        specials = set(self._special.values())
        vocab = {byte_level.to_chars(token): i for i, token in enumerate(self._bytes) if i not in specials}
        vocab.update(self._special)  # as the files of tokenizers hold them: their text as it is
        merges = [(byte_level.to_chars(self._bytes[a]), byte_level.to_chars(self._bytes[b])) for a, b in self.merges]
        return vocab, merges

    def save_files(self, vocab, merges):
        """Write GPT-2's ``vocab.json`` and ``merges.txt`` (atomically) at the two paths given; returns them."""
        chars, pairs = self._chars()
        return (replace_atomically(vocab, json.dumps(chars, ensure_ascii=False).encode("utf-8")),
                replace_atomically(merges, byte_level.merges_txt(pairs).encode("utf-8")))

    def save_tokenizer_json(self, path):
        """Write a tokenizer.json that ``tokenizers.Tokenizer.from_file`` reads as this tokenizer (atomically)."""
        chars, pairs = self._chars()
        return replace_atomically(path, byte_level.tokenizer_json(chars, pairs, self._special,
                                                                  self._add_prefix_space).encode("utf-8"))

    @property
    def vocab_size(self):
        return len(self._bytes)

    @property
    def split_pattern(self):
        """The compiled pattern whose matches are the chunks merges stay within."""
        return SPLIT_PATTERNS[self._split]()

    def _encode_chunk(self, chunk):
        cached = self._chunk_cache.get(chunk)
        if cached is not None:
            self._chunk_cache.move_to_end(chunk)
            return cached
        tokens = [self._byte_ids[b] for b in chunk.encode("utf-8")]
        while len(tokens) > 1:
            ranked = [(self._ranks.get(pair, len(self._ranks)), i) for i, pair in enumerate(zip(tokens, tokens[1:]))]
            rank, i = min(ranked)
            if rank == len(self._ranks):
                break
            merged = self._merged[rank]
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
        pieces = self._special_pattern.split(text) if self._special_pattern else [text]
        tokens, pattern = [], self.split_pattern
        for i, piece in enumerate(pieces):  # special tokens at odd positions
            if i % 2:
                tokens.append(self._special[piece])
            elif piece:
                if self._add_prefix_space and not piece.startswith(" "):
                    piece = " " + piece
                tokens.extend(t for chunk in pattern.findall(piece) for t in self._encode_chunk(chunk))
        return np.array(tokens, np.int64)

    def to_bytes(self, ids):
        """The bytes that token ids stand for."""
        return b"".join(self._bytes[i] for i in _check_ids(ids, self.vocab_size))

    def decode(self, ids):
        """The text of token ids (byte sequences that are not UTF-8, as sampled ids may make, become U+FFFD)."""
        return self.to_bytes(ids).decode("utf-8", errors="replace")

    def to_json(self):
        data = {"kind": self.kind, "merges": self.merges}
        if self._numbered:
            data["tokens"] = [byte_level.to_chars(token) for token in self._bytes]
        if self._split != "fastnet":
            data["split"] = self._split
        if self._special:
            data["special"] = self._special
        if self._add_prefix_space:
            data["add_prefix_space"] = True
        return json.dumps(data, ensure_ascii=False)

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
            tokens = data.get("tokens")
            if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
                raise ValueError("tokens must be a list of texts")
            return BPETokenizer(data["merges"], tokens=None if tokens is None else list(map(byte_level.to_bytes,
                                                                                              tokens)),
                                split=data.get("split", "fastnet"), special=data.get("special"),
                                add_prefix_space=data.get("add_prefix_space", False))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a fastnet tokenizer ({type(exc).__name__}: {exc})") from None
    raise ValueError("not a fastnet tokenizer (unknown kind or contents)")


def _checked_special(special, size):
    """``special`` ({text: id}) checked against the vocabulary size; {} for None."""
    if special is None:
        return {}
    if not (isinstance(special, dict) and all(isinstance(k, str) and k and is_integer(i) and 0 <= i < size
                                              for k, i in special.items())):
        raise ValueError(f"special must map non-empty texts to token ids < {size}")
    return {k: int(i) for k, i in special.items()}


def _read_text(path):
    raw = read_bytes(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{os.fspath(path)}: not UTF-8 text ({exc})") from None


def _save(tokenizer, path):
    return replace_atomically(path, tokenizer.to_json().encode("utf-8"))


def _load(path, cls):
    path = os.fspath(path)
    text = _read_text(path)
    try:
        tokenizer = tokenizer_from_json(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(tokenizer, cls):
        raise ValueError(f"{path}: holds a {tokenizer.kind} tokenizer, not a {cls.kind} one")
    return tokenizer
