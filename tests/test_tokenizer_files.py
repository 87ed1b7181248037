"""GPT-2's tokenizer files (vocab.json + merges.txt, tokenizer.json): fastnet encodes and decodes exactly as the
``tokenizers`` package does, saves files it reads back, and refuses other kinds of tokenizer by name."""
import json

import numpy as np
import pytest

import fastnet
from fastnet.text import BPETokenizer, tokenizer_from_json

tokenizers = pytest.importorskip("tokenizers")  # in the test extra: CI fails without it (FASTNET_NO_SKIPS)

UNICODE = ("Ünïcödé: ΑΒΓ δέκα, 中文字符 🙂🙃 e\u0301 ٣٤٥ ² Ⅻ ½ \u3000x\xa0y \x1c\x1d z\t\t\n\n  don't I'M we'll "
           "12345 ... --- __init__ \u200b\r\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shakespeare_text):
    """A ByteLevelBPETokenizer trained by ``tokenizers`` on Tiny Shakespeare, saved in both forms."""
    folder = tmp_path_factory.mktemp("tokenizer")
    (folder / "input.txt").write_text(shakespeare_text, encoding="utf-8")
    theirs = tokenizers.ByteLevelBPETokenizer()
    theirs.train([str(folder / "input.txt")], vocab_size=1500, min_frequency=2, special_tokens=["<|endoftext|>"],
                 show_progress=False)
    theirs.save(str(folder / "tokenizer.json"))
    theirs.save_model(str(folder), "ts")
    return folder


@pytest.fixture(scope="module")
def shakespeare_text():
    return fastnet.datasets.load_text()


def test_every_token_of_tiny_shakespeare_and_of_unicode_text_equals_the_tokenizers_package(trained,
                                                                                            shakespeare_text):
    theirs = tokenizers.Tokenizer.from_file(str(trained / "tokenizer.json"))
    from_json = BPETokenizer.from_tokenizer_json(trained / "tokenizer.json")
    from_files = BPETokenizer.from_files(trained / "ts-vocab.json", trained / "ts-merges.txt")
    assert from_json.vocab_size == from_files.vocab_size == theirs.get_vocab_size() == 1500
    expected = np.array(theirs.encode(shakespeare_text).ids)
    np.testing.assert_array_equal(from_json.encode(shakespeare_text), expected)
    np.testing.assert_array_equal(from_files.encode(shakespeare_text), expected)
    assert from_json.decode(expected) == shakespeare_text
    for text in (UNICODE, "<|endoftext|>First Citizen:<|endoftext|>", " ", "", "'s'S'st"):
        assert from_json.encode(text).tolist() == theirs.encode(text).ids, text
        assert from_json.decode(from_json.encode(text)) == text
    # vocab.json + merges.txt carry no special tokens: there, <|endoftext|> is text (as in tokenizers)
    plain = tokenizers.ByteLevelBPETokenizer.from_file(str(trained / "ts-vocab.json"), str(trained / "ts-merges.txt"))
    assert from_files.encode("a<|endoftext|>b").tolist() == plain.encode("a<|endoftext|>b").ids


def test_add_prefix_space_as_the_tokenizers_package_applies_it(trained):
    data = json.loads((trained / "tokenizer.json").read_text(encoding="utf-8"))
    data["pre_tokenizer"]["add_prefix_space"] = True
    (trained / "prefix.json").write_text(json.dumps(data), encoding="utf-8")
    theirs = tokenizers.Tokenizer.from_file(str(trained / "prefix.json"))
    ours = BPETokenizer.from_tokenizer_json(trained / "prefix.json")
    for text in ("Hello<|endoftext|>world <|endoftext|> x", UNICODE, " already spaced"):
        assert ours.encode(text).tolist() == theirs.encode(text).ids
        assert ours.decode(ours.encode(text)) == theirs.decode(theirs.encode(text).ids, skip_special_tokens=False)


def test_saved_files_are_read_back_by_both(trained, tmp_path):
    ours = BPETokenizer.from_tokenizer_json(trained / "tokenizer.json")
    ours.save_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    ours.save_tokenizer_json(tmp_path / "tokenizer.json")
    assert (tmp_path / "merges.txt").read_text(encoding="utf-8") == (trained / "ts-merges.txt").read_text(
        encoding="utf-8")
    assert json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8")) == json.loads(
        (trained / "ts-vocab.json").read_text(encoding="utf-8"))
    theirs = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    again = BPETokenizer.from_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    for text in (UNICODE, "<|endoftext|>To be, or not to be"):
        assert theirs.encode(text).ids == ours.encode(text).tolist()
        assert again.encode(text.replace("<|endoftext|>", "")).tolist() == ours.encode(
            text.replace("<|endoftext|>", "")).tolist()
    # fastnet's own files keep it whole (a GPT saved with it, say)
    copy = tokenizer_from_json(ours.to_json())
    assert copy.encode(UNICODE + "<|endoftext|>").tolist() == ours.encode(UNICODE + "<|endoftext|>").tolist()
    model = fastnet.GPT(ours.vocab_size, context=8, n_layer=1, n_head=1, n_embd=4, seed=0)
    model.tokenizer = ours
    loaded = fastnet.load(model.save(tmp_path / "gpt.npz"))
    assert loaded.tokenizer.encode(UNICODE).tolist() == ours.encode(UNICODE).tolist()


def test_a_tokenizer_fastnet_trains_with_gpt2s_split_is_read_by_the_tokenizers_package(tmp_path,
                                                                                        shakespeare_text):
    ours = BPETokenizer.train(shakespeare_text[:50_000], 400, split="gpt2", backend="numpy")
    ours.save_tokenizer_json(tmp_path / "tokenizer.json")
    theirs = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    sample = shakespeare_text[50_000:60_000] + UNICODE
    assert theirs.encode(sample).ids == ours.encode(sample).tolist()
    with pytest.raises(ValueError, match='split="gpt2"'):
        BPETokenizer.train(shakespeare_text[:5000], 300, backend="numpy").save_tokenizer_json(tmp_path / "x.json")


def _tokenizer_json(trained, change):
    data = json.loads((trained / "tokenizer.json").read_text(encoding="utf-8"))
    change(data)
    return json.dumps(data)


REFUSED = {
    "a WordPiece model": (lambda d: d["model"].update(type="WordPiece"), "its model is 'WordPiece'"),
    "a normalizer": (lambda d: d.update(normalizer={"type": "NFKC"}), "normalizes text \\(NFKC\\)"),
    "a Split pre-tokenizer": (lambda d: d.update(pre_tokenizer={"type": "Split"}), "pre-tokenizer is Split"),
    "a template post-processor": (lambda d: d.update(post_processor={"type": "TemplateProcessing"}),
                                  "post_processor is TemplateProcessing"),
    "byte fallback": (lambda d: d["model"].update(byte_fallback=True), "byte_fallback=True"),
    "dropout": (lambda d: d["model"].update(dropout=0.1), "dropout=0.1"),
    "an lstrip added token": (lambda d: d["added_tokens"][0].update(lstrip=True), "sets lstrip"),
    "a merge of unknown tokens": (lambda d: d["model"]["merges"].append(["qqq", "zzz"]), "the vocabulary lacks"),
    "a gap in the ids": (lambda d: d["model"]["vocab"].update({"Ġthe": 5000}), "without a gap"),
    "a vocabulary that is a list": (lambda d: d["model"].update(vocab=["a"]), "must map each token"),
    "a missing byte": (lambda d: d["model"]["vocab"].update({"ĀĀ": d["model"]["vocab"].pop("Ā")}),
                       "every single byte"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_other_tokenizers_and_damaged_files_are_refused_by_name(trained, tmp_path, case):
    change, message = REFUSED[case]
    (tmp_path / "tokenizer.json").write_text(_tokenizer_json(trained, change), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        BPETokenizer.from_tokenizer_json(tmp_path / "tokenizer.json")


def test_damaged_vocab_and_merges_files_are_refused(trained, tmp_path):
    (tmp_path / "bad_merges.txt").write_text("#version: 0.2\nĠ t\nh e x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3 must be two tokens"):
        BPETokenizer.from_files(trained / "ts-vocab.json", tmp_path / "bad_merges.txt")
    (tmp_path / "vocab.json").write_text('{"a": 0, "b": 0}', encoding="utf-8")
    with pytest.raises(ValueError, match="one id to several tokens"):
        BPETokenizer.from_files(tmp_path / "vocab.json", trained / "ts-merges.txt")
    (tmp_path / "latin1.txt").write_bytes(b"#version: 0.2\n\xe9 t\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        BPETokenizer.from_files(trained / "ts-vocab.json", tmp_path / "latin1.txt")
