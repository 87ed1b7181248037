"""Models saved as .safetensors: round trips, files the safetensors package reads and writes, files refused."""
import json
import shutil
import struct
import tracemalloc

import numpy as np
import pytest

import fastnet
from fastnet.core import safetensors as ours
from fastnet.text import BPETokenizer

st = pytest.importorskip("safetensors.numpy")  # in the test extra: CI fails without it (FASTNET_NO_SKIPS)


def _gpt(dtype="float32"):
    model = fastnet.GPT(300, context=8, n_layer=2, n_head=2, n_embd=8, bias=True, gelu="tanh", dtype=dtype, seed=0)
    model.tokenizer = BPETokenizer([(104, 101), (256, 108)])
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_models_round_trip_and_the_package_reads_their_weights_by_name(tmp_path, dtype):
    net = fastnet.Network([6, 5, 3], activation="relu", cost="log_likelihood", dtype=dtype, seed=0)
    loaded = fastnet.load(net.save(tmp_path / "net.safetensors"))
    assert (loaded.sizes, loaded.activation, loaded.cost_name, loaded.output, loaded.dtype) == \
        (net.sizes, net.activation, net.cost_name, net.output, net.dtype)
    np.testing.assert_array_equal(loaded.params, net.params)
    tensors = st.load_file(tmp_path / "net.safetensors")
    assert list(tensors) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # the weights alone, as to_torch names them
    np.testing.assert_array_equal(tensors["2.weight"], net.weights[1])

    model = _gpt(dtype)
    loaded = fastnet.load(model.save(tmp_path / "gpt.safetensors"))
    assert loaded.config == model.config and loaded.dtype == model.dtype
    np.testing.assert_array_equal(loaded.params, model.params)
    assert loaded.tokenizer.encode("hello").tolist() == model.tokenizer.encode("hello").tolist()
    tensors = st.load_file(tmp_path / "gpt.safetensors")
    assert set(tensors) == set(model.state_dict()) - {"lm_head.weight"}  # nanoGPT's names, the tied head once
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(tensor, model.state_dict()[name])
    from safetensors import safe_open
    with safe_open(tmp_path / "gpt.safetensors", "np") as file:
        metadata = file.metadata()
    assert json.loads(metadata["config"]) == model.config and metadata["gpt_format"] == "1"
    assert json.loads(metadata["tokenizer"])["merges"] == [[104, 101], [256, 108]]


def test_files_the_package_writes_load_and_the_format_is_told_by_its_bytes(tmp_path):
    model = _gpt("float64")
    model.save(tmp_path / "gpt.safetensors")
    tensors = st.load_file(tmp_path / "gpt.safetensors")
    from safetensors import safe_open
    with safe_open(tmp_path / "gpt.safetensors", "np") as file:
        metadata = file.metadata()
    st.save_file(dict(reversed(tensors.items())), tmp_path / "theirs.safetensors", metadata=metadata)
    np.testing.assert_array_equal(fastnet.load(tmp_path / "theirs.safetensors").params, model.params)
    shutil.copy(tmp_path / "gpt.safetensors", tmp_path / "model.bin")  # by the header, not the name
    np.testing.assert_array_equal(fastnet.load(tmp_path / "model.bin").params, model.params)
    model.save(tmp_path / "gpt.npz")
    shutil.copy(tmp_path / "gpt.npz", tmp_path / "npz_inside.safetensors")
    np.testing.assert_array_equal(fastnet.load(tmp_path / "npz_inside.safetensors").params, model.params)


def test_half_precision_tensors_read_as_the_package_reads_them(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    values = torch.randn(5, 7)
    save_file({"h": values.half(), "b": values.bfloat16()}, tmp_path / "half.safetensors")
    with ours.SafetensorsFile(tmp_path / "half.safetensors") as file:
        np.testing.assert_array_equal(file.array("h"), values.half().numpy())
        np.testing.assert_array_equal(file.array("b"), values.bfloat16().float().numpy())
        assert file.array("b").dtype == np.float32


def test_a_checkpoint_in_safetensors_resumes(tmp_path):
    tokens = np.random.default_rng(0).integers(0, 300, 400)
    options = dict(iters=6, batch_size=2, eval_interval=3, eval_batches=1, seed=1, progress=False)
    whole = _gpt("float64")
    whole.fit(tokens, **options)
    path = tmp_path / "checkpoint.safetensors"

    def interrupt(model, record):
        if record["iteration"] == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _gpt("float64").fit(tokens, checkpoint=path, callbacks=[interrupt], **options)
    resumed = _gpt("float64")
    resumed.fit(tokens, resume=path, **options)
    np.testing.assert_array_equal(resumed.params, whole.params)


def _file(header, data=b"", raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


BAD_FILES = {
    "a header longer than the file": (struct.pack("<Q", 1 << 40) + b"{}", "header of"),
    "a header length of 2**64 - 1": (struct.pack("<Q", 2**64 - 1) + b"{" + b" " * 20, "header of"),
    "shorter than its length": (b"\x05\x00", "shorter than"),
    "not JSON": (_file(None, raw_header=b"{not json"), "not valid JSON"),
    "not an object": (_file([1, 2]), "not a JSON object"),
    "huge shape": (_file({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 8]}}, b"\0" * 8),
                   "needs"),
    "offsets past the data": (_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
                              "not within"),
    "truncated data": (_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 12),
                       "not within"),
    "a gap": (_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), "gap"),
    "an overlap": (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), "overlap"),
    "unknown dtype": (_file({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0"), "dtype"),
    "negative size": (_file({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), "shape"),
    "metadata not text": (_file({"__metadata__": {"a": 1}}), "metadata"),
    "a bad integers entry": (_file({"__metadata__": {"fastnet_integers": "[\"x\"]"}}), "fastnet_integers"),
    "no weights": (_file({"__metadata__": {"gpt_format": "1", "fastnet_integers": "[\"gpt_format\"]",
                                           "config": json.dumps(_gpt().config)}}), "missing"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_damaged_and_crafted_files_are_refused_with_bounded_memory(tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            fastnet.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 22  # nothing a header claims is allocated before it is checked


def test_every_cut_and_every_flipped_header_byte_is_refused_or_read(tmp_path):
    """A GPT file cut at any point is refused by name; a file with any one header byte changed either loads
    (a change inside a name's or a number's text that still makes sense) or raises ValueError, nothing else."""
    path = _gpt().save(tmp_path / "gpt.safetensors")
    data = open(path, "rb").read()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.safetensors"
    for cut in sorted(set(rng.integers(0, len(data), 40).tolist()) | {0, 7, 8, header_end, len(data) - 1}):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="bad.safetensors"):
            fastnet.load(bad)
    for position in rng.choice(header_end, 150, replace=False):
        flipped = bytearray(data)
        flipped[position] ^= 1 << int(rng.integers(0, 8))
        bad.write_bytes(bytes(flipped))
        try:
            fastnet.load(bad)
        except ValueError:
            pass
