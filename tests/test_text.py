"""Tokenizers and text files for the GPT."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnet
from fastnet.backends.numpy.gpt import merge_pair
from fastnet.text import SPLIT_PATTERN, BPETokenizer, CharTokenizer, tokenizer_from_json


@pytest.fixture(scope="module")
def shakespeare():
    return fastnet.datasets.load_text()


def test_shipped_text_is_tiny_shakespeare_split_as_nanogpt(shakespeare):
    assert len(shakespeare) == 1_115_394 and shakespeare.startswith("First Citizen:")
    train, val = fastnet.datasets.split_text(shakespeare)
    assert (len(train), len(val)) == (1_003_854, 111_540)
    assert CharTokenizer.fit(shakespeare).vocab_size == 65


def test_char_tokenizer(tmp_path):
    tokenizer = CharTokenizer.fit("hello world")
    assert tokenizer.characters == sorted(set("hello world"))
    ids = tokenizer.encode("low")
    assert ids.dtype == np.int64 and tokenizer.decode(ids) == "low"
    with pytest.raises(ValueError, match="'!'"):
        tokenizer.encode("low!")
    tokenizer.save(tmp_path / "t.json")
    assert CharTokenizer.load(tmp_path / "t.json").characters == tokenizer.characters
    with pytest.raises(ValueError, match="bpe"):
        BPETokenizer.load(tmp_path / "t.json")


def test_bpe_learns_words_and_fragments(shakespeare):
    tokenizer = BPETokenizer.train(shakespeare[:200_000], 400)
    assert tokenizer.vocab_size == 400
    pieces = [tokenizer.decode([t]) for t in range(256, 400)]
    assert " the" in pieces and " and" in pieces  # frequent words become single tokens
    ids = tokenizer.encode("To be, or not to be: that is the question.")
    assert len(ids) < 30 and tokenizer.decode(ids) == "To be, or not to be: that is the question."


def test_bpe_tie_rule_and_merge_order():
    # "ab" and "cd" occur equally often; (a, b) = (97, 98) < (99, 100) is merged first
    tokenizer = BPETokenizer.train("ab,cd,ab,cd", 258)
    assert tokenizer.merges == [(97, 98), (99, 100)]
    # runs merge left to right: "aaa" with (a, a) -> "X a"
    ids, word_of, weights = merge_pair(np.array([97, 97, 97, 98]), np.zeros(4, np.int64), np.ones(4, np.int64),
                                       (97, 97), 256)
    assert ids.tolist() == [256, 97, 98] and word_of.tolist() == [0, 0, 0]


def test_bpe_merges_never_cross_chunks():
    tokenizer = BPETokenizer.train("a b a b a b a b", 300)
    assert all(" " not in tokenizer.decode([t])[1:] for t in range(256, tokenizer.vocab_size))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_bpe_round_trip_for_any_unicode(text):
    assert BPE.decode(BPE.encode(text)) == text
    assert "".join(SPLIT_PATTERN.findall(text)) == text


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1))
def test_char_round_trip(text):
    tokenizer = CharTokenizer.fit(text)
    assert tokenizer.decode(tokenizer.encode(text)) == text


BPE = BPETokenizer.train("Ünïcödé text, with ümlauts and 日本語 and emoji 🙂🙂 " * 20, 300)


def test_bpe_save_load_and_sampled_bytes(tmp_path):
    BPE.save(tmp_path / "bpe.json")
    loaded = BPETokenizer.load(tmp_path / "bpe.json")
    assert loaded.merges == BPE.merges
    assert loaded.decode([0xE6]) == "\ufffd"  # half a character, as sampling may produce
    with pytest.raises(ValueError, match="not a fastnet tokenizer"):
        tokenizer_from_json('{"kind": "bpe", "merges": [[1, 999]]}'.replace("999", "9999"))
    with pytest.raises(ValueError, match="not a fastnet tokenizer"):
        tokenizer_from_json("[1, 2]")


def test_bad_tokenizer_input():
    with pytest.raises(ValueError, match="vocab_size"):
        BPETokenizer.train("abc", 100)
    with pytest.raises(ValueError, match="non-empty"):
        CharTokenizer.fit("")
    with pytest.raises(TypeError, match="str"):
        BPE.encode(b"bytes")
    with pytest.raises(ValueError, match=r"\[0, 300\)"):
        BPE.decode([300])


def test_load_text_refuses_what_is_not_text(tmp_path):
    (tmp_path / "good.txt").write_text("Ünïcödé\n", encoding="utf-8")
    assert fastnet.datasets.load_text(tmp_path / "good.txt") == "Ünïcödé\n"
    (tmp_path / "binary.bin").write_bytes(b"abc\0def")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    for name, message in (("binary.bin", "NUL"), ("latin1.txt", "not UTF-8"), ("empty.txt", "empty")):
        with pytest.raises(ValueError, match=message):
            fastnet.datasets.load_text(tmp_path / name)
    with pytest.raises(ValueError, match="regular file"):
        fastnet.datasets.load_text(tmp_path)
    with pytest.raises(FileNotFoundError):
        fastnet.datasets.load_text(tmp_path / "missing.txt")
