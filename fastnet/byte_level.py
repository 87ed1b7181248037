"""GPT-2's byte-level BPE as its files hold it: vocab.json + merges.txt, or a ``tokenizers`` tokenizer.json.

A token is a byte string; the files write each byte as one printable character
(``BYTE_TO_CHAR``: GPT-2's table, printable bytes as themselves, the others
moved to U+0100 onwards, so that a space is "Ġ"). vocab.json maps each token's
characters to its id; merges.txt lists the merges in the order they apply, one
"left right" pair per line after a "#version" line. Text is cut into chunks by
GPT-2's pattern (``gpt2_split_pattern``: contractions, letters, numbers, other
symbols, each with an optional leading space, and runs of spaces) before the
merges apply within each chunk. ``fastnet.text.BPETokenizer`` reads and writes
these files through this module.
"""
import functools
import json
import re
import sys
import unicodedata

from .core.storage import json_value


def _byte_to_char():
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, moved = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + moved)
            moved += 1
    return table


BYTE_TO_CHAR = _byte_to_char()
CHAR_TO_BYTE = {char: byte for byte, char in BYTE_TO_CHAR.items()}

# Unicode's White_Space, as the Rust regex engine of ``tokenizers`` reads \s (Python's \s adds \x1c-\x1f).
_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


@functools.cache
def _category_class(prefix):
    """A regex character class body of every code point whose Unicode category starts with ``prefix``."""
    ranges, start = [], None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and unicodedata.category(chr(code)).startswith(prefix)
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(code - 1)) if code - 1 > start else ""))
            start = None
    return "".join(ranges)


@functools.cache
def gpt2_split_pattern():
    """GPT-2's pre-split, ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``,
    for Python's re (letters and numbers by Unicode category, built once, ~0.3 s)."""
    letters, numbers = _category_class("L"), _category_class("N")
    return re.compile(rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{_SPACE}{letters}{numbers}]+"
                      rf"|[{_SPACE}]+(?![^{_SPACE}])|[{_SPACE}]+")


def to_chars(token):
    """A token's bytes as the files write them."""
    return "".join(BYTE_TO_CHAR[b] for b in token)


def to_bytes(chars):
    """The bytes of a token as the files write it; a character outside the table stands for its UTF-8 bytes."""
    return b"".join(bytes([CHAR_TO_BYTE[c]]) if c in CHAR_TO_BYTE else c.encode("utf-8") for c in chars)


def check_vocab(vocab, what):
    """``vocab`` ({chars: id}, vocab.json's contents); ValueError naming ``what`` unless ids are distinct
    integers >= 0."""
    if not isinstance(vocab, dict) or not all(type(i) is int and i >= 0 for i in vocab.values()):
        raise ValueError(f"{what} must map each token to an integer id >= 0")
    if len(set(vocab.values())) != len(vocab):
        raise ValueError(f"{what} gives one id to several tokens")
    return vocab


def read_merges(text, what):
    """[(left chars, right chars)] of merges.txt's text in order (the "#version" line and blank lines skipped)."""
    merges = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{what}: line {number} must be two tokens separated by one space; got {line!r}")
        merges.append(tuple(parts))
    return merges


def read_tokenizer_json(text, what):
    """(vocab {chars: id}, merges [(left, right)], added {content: id}, add_prefix_space) of a ``tokenizers``
    tokenizer.json holding GPT-2's byte-level BPE; ValueError naming each part that is another kind."""
    data = json_value(text, what)
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise ValueError(f"{what}: not a tokenizer.json (no model)")
    model = data["model"]

    def refuse(problem):
        raise ValueError(f"{what}: {problem}; fastnet reads GPT-2's byte-level BPE")

    if model.get("type", "BPE") != "BPE":
        refuse(f"its model is {model.get('type')!r}")
    for key, allowed in (("dropout", (None,)), ("continuing_subword_prefix", (None, "")),
                         ("end_of_word_suffix", (None, "")), ("byte_fallback", (False, None)),
                         ("ignore_merges", (False, None))):
        if model.get(key) not in allowed:
            refuse(f"its model sets {key}={model.get(key)!r}")
    if data.get("normalizer") is not None:
        refuse(f"it normalizes text ({_kind(data['normalizer'])})")
    pre = data.get("pre_tokenizer")
    if not (isinstance(pre, dict) and pre.get("type") == "ByteLevel" and pre.get("use_regex", True) is True):
        refuse(f"its pre-tokenizer is {_kind(pre)}, not ByteLevel with GPT-2's pattern")
    for part in ("post_processor", "decoder"):
        if data.get(part) is not None and _kind(data[part]) != "ByteLevel":
            refuse(f"its {part} is {_kind(data[part])}")
    vocab = check_vocab(model.get("vocab"), f"{what}: model.vocab")
    merges = []
    for merge in model.get("merges") or []:
        pair = merge.split(" ") if isinstance(merge, str) else merge
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)):
            raise ValueError(f"{what}: model.merges holds {merge!r}, not a pair of tokens")
        merges.append(tuple(pair))
    added = {}
    for token in data.get("added_tokens") or []:
        if not (isinstance(token, dict) and isinstance(token.get("content"), str) and token["content"]
                and type(token.get("id")) is int and token["id"] >= 0):
            raise ValueError(f"{what}: added_tokens holds {token!r}, not a token with its content and id")
        for option in ("single_word", "lstrip", "rstrip"):
            if token.get(option):
                refuse(f"the added token {token['content']!r} sets {option}")
        added[token["content"]] = token["id"]
    return vocab, merges, added, bool(pre.get("add_prefix_space", False))


def _kind(part):
    return part.get("type") if isinstance(part, dict) else repr(part)


def tokenizer_json(vocab, merges, added, add_prefix_space):
    """The text of a tokenizer.json that ``tokenizers`` reads as this byte-level BPE (the form its own
    ByteLevelBPETokenizer saves)."""
    byte_level = {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": True,
                  "use_regex": True}
    data = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for content, i in added.items()],
        "normalizer": None, "pre_tokenizer": byte_level,
        "post_processor": {**byte_level, "add_prefix_space": True, "trim_offsets": False},
        "decoder": {**byte_level, "add_prefix_space": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [list(pair) for pair in merges]},
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def merges_txt(merges):
    """The text of merges.txt."""
    return "#version: 0.2\n" + "".join(f"{left} {right}\n" for left, right in merges)
