"""Hardening II (issue 25): the GPT's files, tokenizers, sweeps, bridges and the CLI under bad input.

Each test names the item of the issue it covers; each failed before its fix.
The web server's items (11-14) are in test_serve.py and test_serve_server.py,
MPI's (3) in test_distributed.py.
"""
import json
import math
import os
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fastnet
from fastnet import GPT, Network
from fastnet.book import network2
from fastnet.text import BPETokenizer, CharTokenizer, tokenizer_from_json

TINY = dict(context=4, n_layer=1, n_head=1, n_embd=4)
DEEP = 100_000  # nesting that overflows Python's recursive JSON decoder


def tiny_gpt(backend="numpy", **options):
    model = GPT(10, **{**TINY, **options}, backend=backend, seed=0)
    model.tokenizer = CharTokenizer("abcdefghij")
    return model


def rewritten(path, out, **members):
    """The .npz at ``path`` with ``members`` replaced (text as 0-d strings), written to ``out``."""
    with np.load(path) as data:
        arrays = dict(data)
    arrays.update({name: np.str_(value) if isinstance(value, str) else value for name, value in members.items()})
    np.savez(out, **arrays)
    return out


def run_python(code, timeout=120):
    """Run ``code`` in a fresh interpreter; a hang past ``timeout`` seconds fails the test (not a speed check)."""
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s: {code}")


def run_cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "fastnet.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


# -- 1. sizes checked arithmetically before anything is built -----------------------------------------------------

@pytest.mark.parametrize("key", ["n_layer", "n_embd", "vocab_size", "context"])
def test_a_gpt_file_claiming_huge_sizes_is_refused_at_once(tmp_path, key):
    """Item 1: a config claiming 2**31 - 1 layers (or any huge size) is refused from arithmetic, not walked."""
    saved = tiny_gpt().save(tmp_path / "gpt.npz")
    config = dict(tiny_gpt().config, **{key: 2**31 - 1})
    if key == "n_embd":
        config["n_head"] = 2**31 - 1
    crafted = rewritten(saved, tmp_path / "crafted.npz", config=json.dumps(config))
    result = run_python(f"import fastnet\ntry:\n    fastnet.load({str(crafted)!r})\n"
                        f"except ValueError as e:\n    print('refused:', e)", timeout=60)
    assert result.returncode == 0 and "refused:" in result.stdout and "params" in result.stdout, result


@pytest.mark.parametrize("key", ["n_layer", "n_embd"])
def test_a_safetensors_gpt_file_claiming_huge_sizes_is_refused_at_once(tmp_path, key):
    """Item 1 for .safetensors files, whose parameters are one tensor per name: the names are not listed whole
    before the first missing or misshapen tensor is found."""
    from fastnet.core import safetensors

    saved = tiny_gpt().save(tmp_path / "gpt.safetensors")
    with safetensors.SafetensorsFile(saved) as file:
        tensors = {name: file.array(name) for name in file.tensor_names()}
        metadata = {name: file.text(name) for name in file.names() if name not in tensors}
    config = dict(tiny_gpt().config, **{key: 2**31 - 1})
    if key == "n_embd":
        config["n_head"] = 2**31 - 1
    with open(tmp_path / "crafted.safetensors", "wb") as out:
        safetensors.write(out, tensors, dict(metadata, config=json.dumps(config)))
    result = run_python(f"import fastnet\ntry:\n    fastnet.load({str(tmp_path / 'crafted.safetensors')!r})\n"
                        f"except ValueError as e:\n    print('refused:', e)", timeout=60)
    assert result.returncode == 0 and "refused:" in result.stdout and "member" in result.stdout, result


def test_count_params_is_arithmetic():
    """Item 1: the count every check uses equals the layout's tensor by tensor, for every shape."""
    from fastnet.gpt import layout
    for bias in (False, True):
        for n_layer in (1, 3):
            config = layout.Config(vocab_size=7, context=5, n_layer=n_layer, n_head=2, n_embd=6, bias=bias)
            assert layout.count_params(config) == sum(math.prod(s) for _, s in layout.tensor_shapes(config))


# -- 2. every path opened for reading goes through one check ------------------------------------------------------

def _readers(tmp_path):
    return {
        "fastnet.load": fastnet.load,
        "GPT.from_nanogpt": GPT.from_nanogpt,
        "CharTokenizer.load": CharTokenizer.load,
        "BPETokenizer.load": BPETokenizer.load,
        "network2.load": network2.load,
        "read_idx": fastnet.datasets.read_idx,
        "load_text": fastnet.datasets.load_text,
        "BPETokenizer.from_files": lambda fifo: BPETokenizer.from_files(fifo, fifo),
        "BPETokenizer.from_tokenizer_json": BPETokenizer.from_tokenizer_json,
        "GPT.from_huggingface": lambda fifo: GPT.from_huggingface(_checkpoint_with_weights_at(tmp_path, fifo)),
    }


def _checkpoint_with_weights_at(tmp_path, weights):
    """A Hugging Face checkpoint folder whose model.safetensors is ``weights`` (a link to it)."""
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(dict(model_type="gpt2", vocab_size=10, n_positions=8, n_embd=8,
                                                        n_layer=1, n_head=2)))
    os.symlink(weights, folder / "model.safetensors")
    return folder


@pytest.mark.parametrize("reader", ["fastnet.load", "GPT.from_nanogpt", "CharTokenizer.load", "BPETokenizer.load",
                                    "network2.load", "read_idx", "load_text", "BPETokenizer.from_files",
                                    "BPETokenizer.from_tokenizer_json", "GPT.from_huggingface"])
def test_no_reader_blocks_on_a_fifo(tmp_path, reader):
    """Item 2: a FIFO given as a file is refused at once by every reader (from_nanogpt blocked forever)."""
    if reader == "GPT.from_nanogpt":
        pytest.importorskip("torch")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            _readers(tmp_path)[reader](fifo)
        except Exception as exc:  # noqa: BLE001 - recorded and checked below
            outcome["error"] = exc

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(20)
    if thread.is_alive():  # unblock the reader (it sees end of file) before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail(f"{reader} blocked on a FIFO")
    assert isinstance(outcome.get("error"), ValueError) and "not a regular file" in str(outcome["error"])


# -- 4. bounds named, not MemoryError ----------------------------------------------------------------------------

@pytest.mark.parametrize("call, bound", [
    (lambda g: g.generate([1, 2], 10**12), "max_new_tokens must be at most"),
    (lambda g: g.stream([1, 2], 10**12), "max_new_tokens must be at most"),
    (lambda g: g.generate(np.zeros((100_000, 2), np.int64), 10**6), "at most"),
    (lambda g: g.fit(np.arange(100) % 10, batch_size=10**12, iters=1, progress=False), "batch_size"),
])
def test_huge_requests_name_their_bound(call, bound):
    """Item 4: generate/stream/fit asked for astronomically much: ValueError naming the bound, before any work."""
    with pytest.raises(ValueError, match=bound):
        call(tiny_gpt())


def test_network_fit_with_a_huge_batch_is_one_batch():
    """Item 4: Network.fit(batch_size=10**12) takes the whole data as one batch (no allocation of the size asked)."""
    net = Network([4, 3, 2], seed=0, backend="numpy")
    X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    assert len(net.fit(X, y, epochs=1, batch_size=10**12, progress=False)) == 1


def test_sample_refuses_a_huge_count_before_printing(tmp_path):
    """Item 4: fastnet gpt sample -n 10**14: one line naming the bound, nothing streamed first."""
    tiny_gpt().save(tmp_path / "gpt.npz")
    result = run_cli("gpt", "sample", "--model", tmp_path / "gpt.npz", "--prompt", "abc", "-n", 10**14)
    assert result.returncode == 2 and "at most" in result.stderr and result.stdout == "", result
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("seeds", ["0-10000000", "0-99999999999999", ",".join(map(str, range(150_000)))])
def test_seed_ranges_are_bounded(seeds):
    """Item 4: --seeds 0-10000000 took 414 MB to parse; now a ValueError naming the bound, in bounded memory."""
    from fastnet.sweeps.grid import parse_seeds
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="at most"):
            parse_seeds(seeds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


def test_grids_are_bounded():
    """Item 4: a grid of more configurations than the bound is refused before they are listed."""
    from fastnet.sweeps.grid import check_grid, parse_grid
    with pytest.raises(ValueError, match="at most"):
        check_grid({"eta": list(range(1000)), "lmbda": list(range(1000)), "batch_size": list(range(1, 100))})
    with pytest.raises(ValueError, match="at most"):
        fastnet.sweep({"eta": [1.0]}, np.zeros((2, 784)), [0, 1], test=(np.zeros((2, 784)), [0, 1]),
                      seeds=range(10**9))
    with pytest.raises(ValueError, match="eta.*twice"):
        parse_grid("eta=0.5 eta=3")


# -- 5. the book's JSON: shapes checked before allocating --------------------------------------------------------

def test_network2_load_checks_shapes_before_allocating(tmp_path):
    """Item 5: a 100-byte file claiming sizes [20000, 20000] allocated 1.6 GB before its shapes were checked."""
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"sizes": [20000, 20000], "weights": [[[0.5]]], "biases": [[[0.1]]],
                                "cost": "CrossEntropyCost"}))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="weights"):
            network2.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


def test_network2_round_trip_still_works(tmp_path):
    """Item 5: the checks accept what save writes."""
    net = network2.Network([4, 3, 2])
    net.save(tmp_path / "net.json")
    loaded = network2.load(tmp_path / "net.json")
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, loaded.weights))


# -- 6, 7. non-finite GPT parameters -----------------------------------------------------------------------------

def test_a_diverging_gpt_step_is_undone_on_every_backend(backend):
    """Item 6: after TrainingDiverged the parameters are those from before the step (they held NaN on NumPy and
    Cython), and save still writes a file fastnet.load reads."""
    model = tiny_gpt(backend)
    tokens = np.arange(200) % 10
    before = []

    def remember(model, record):
        before.append(model.params.copy())

    with pytest.raises(fastnet.TrainingDiverged, match="kept"):
        model.fit(tokens, iters=50, lr=1e30, warmup=0, eval_interval=1, eval_batches=1, progress=False,
                  callbacks=[remember], seed=0)
    assert np.isfinite(model.params).all()
    assert np.array_equal(model.params, before[-1])


def test_non_finite_gpt_parameters_are_refused(tmp_path):
    """Item 7: NaN parameters made generate return token 0 and next_token_probabilities NaN; save wrote a file
    that load refuses."""
    model = tiny_gpt()
    model.params[3] = np.nan
    for call in (lambda: model.generate([1, 2], 3), lambda: model.next_token_probabilities([1, 2]),
                 lambda: model.logits([1, 2]), lambda: list(model.stream([1, 2], 3)),
                 lambda: model.attention([1, 2]), lambda: model.save(tmp_path / "nan.npz")):
        with pytest.raises(ValueError, match="NaN or infinite"):
            call()
    assert not (tmp_path / "nan.npz").exists()


# -- 9. output paths checked by creating a file there ------------------------------------------------------------

def test_an_uncreatable_save_path_is_refused_before_training(tmp_path):
    """Item 9: fastnet train --save /proc/x.npz trained first and failed after (os.access says yes as root)."""
    result = run_cli("train", "--save", "/proc/fastnet-test.npz", "--epochs", 1)
    assert result.returncode == 2 and "--save" in result.stderr and "epoch" not in result.stdout.lower(), result


def test_check_destination_creates_and_removes_a_probe(tmp_path):
    """Item 9: the check leaves nothing behind where it succeeds."""
    from fastnet.core.storage import check_destination
    check_destination("out", tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="out"):
        check_destination("out", "/proc/x.npz")


# -- 10. from_torch / to_torch -----------------------------------------------------------------------------------

def _look_alikes(torch):
    """Modules that look like torch.nn's own and compute something else."""
    class ReLU(torch.nn.Module):  # the same name as torch.nn.ReLU, another function
        def forward(self, x):
            return 2 * x

    class DoublingLinear(torch.nn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

    return ReLU, DoublingLinear


@pytest.mark.parametrize("case", ["named ReLU", "Linear subclass", "bfloat16", "meta"])
def test_from_torch_refuses_what_it_cannot_reproduce(case):
    """Item 10: a user class named ReLU that doubles, a Linear subclass with its own forward, bfloat16 and meta
    tensors: ValueError, not a network giving other outputs."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    ReLU, DoublingLinear = _look_alikes(torch)
    module = {
        "named ReLU": lambda: nn.Sequential(nn.Linear(4, 3), ReLU(), nn.Linear(3, 2), nn.Sigmoid()),
        "Linear subclass": lambda: nn.Sequential(DoublingLinear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Sigmoid()),
        "bfloat16": lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Sigmoid()).to(torch.bfloat16),
        "meta": lambda: nn.Sequential(nn.Linear(4, 3, device="meta"), nn.ReLU(), nn.Linear(3, 2, device="meta"),
                                      nn.Sigmoid()),
    }[case]()
    with pytest.raises(ValueError):
        Network.from_torch(module)


def test_to_torch_refuses_non_finite_parameters():
    """Item 10: to_torch of NaN parameters is refused, as to_onnx is."""
    pytest.importorskip("torch")
    net = Network([4, 3, 2], seed=0)
    net.params[0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.to_torch()


# -- 15, 16. RecursionError and OverflowError become ValueError --------------------------------------------------

def test_deeply_nested_json_is_a_value_error(tmp_path):
    """Item 15: deeply nested JSON in a GPT file's config and tokenizer, a checkpoint's training state, a
    tokenizer file and the book's JSON raised RecursionError."""
    deep = "[" * DEEP + "]" * DEEP
    saved = tiny_gpt().save(tmp_path / "gpt.npz")
    for member in ("config", "tokenizer"):
        with pytest.raises(ValueError):
            fastnet.load(rewritten(saved, tmp_path / f"{member}.npz", **{member: deep}))
    with pytest.raises(ValueError):
        tokenizer_from_json(deep)
    (tmp_path / "tok.json").write_text(deep)
    with pytest.raises(ValueError):
        CharTokenizer.load(tmp_path / "tok.json")
    (tmp_path / "net.json").write_text(deep)
    with pytest.raises(ValueError):
        network2.load(tmp_path / "net.json")
    model = tiny_gpt()
    tokens = np.arange(200) % 10
    model.fit(tokens, iters=2, eval_interval=1, eval_batches=1, progress=False, seed=0,
              checkpoint=tmp_path / "ckpt.npz")
    damaged = rewritten(tmp_path / "ckpt.npz", tmp_path / "deep_ckpt.npz", training_state=deep)
    with pytest.raises(ValueError):
        tiny_gpt().fit(tokens, iters=2, eval_interval=1, eval_batches=1, progress=False, seed=0, resume=damaged)


def test_overflowing_numbers_are_value_errors(tmp_path):
    """Item 16: a checkpoint's rng state of 2**200 and temperature=10**400 raised OverflowError."""
    with pytest.raises(ValueError, match="temperature"):
        tiny_gpt().generate([1], 2, temperature=10**400)
    with pytest.raises(ValueError, match="temperature"):
        tiny_gpt().next_token_probabilities([1], temperature=10**400)
    tokens = np.arange(200) % 10
    tiny_gpt().fit(tokens, iters=2, eval_interval=1, eval_batches=1, progress=False, seed=0,
                   checkpoint=tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz") as data:
        state = json.loads(str(data["training_state"]))
    state["rng"]["state"]["state"] = 2**200
    damaged = rewritten(tmp_path / "ckpt.npz", tmp_path / "big.npz", training_state=json.dumps(state))
    with pytest.raises(ValueError, match="damaged training state"):
        tiny_gpt().fit(tokens, iters=2, eval_interval=1, eval_batches=1, progress=False, seed=0, resume=damaged)
    X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    Network([4, 3, 2], seed=0).fit(X, y, epochs=1, progress=False, checkpoint=tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as data:
        state = json.loads(str(data["training_state"]))
    state["rng"]["state"]["state"] = 2**200
    damaged = rewritten(tmp_path / "net.npz", tmp_path / "bignet.npz", training_state=json.dumps(state))
    with pytest.raises(ValueError, match="damaged training state"):
        Network([4, 3, 2], seed=0).fit(X, y, epochs=2, progress=False, resume=damaged)


# -- 17. tokenizers: refused, not coerced -----------------------------------------------------------------------

@pytest.mark.parametrize("merges", [[[True, False]], [["1", "2"]], [[1.7, 2.2]], [[97, 98], [97, 98]],
                                    [[97, 98, 99]], [[-1, 2]], [[97, None]]])
def test_bad_merges_are_refused(merges):
    """Item 17: merges of bools, strings, floats or duplicates were coerced to ints and accepted."""
    with pytest.raises(ValueError):
        tokenizer_from_json(json.dumps({"kind": "bpe", "merges": merges}))
    with pytest.raises(ValueError):
        BPETokenizer(merges)


def test_empty_ids_and_empty_prompts():
    """Item 17: decode([]) is ""; logits([]) says the prompt is empty (it said float64 was not an integer)."""
    assert CharTokenizer("ab").decode([]) == "" and BPETokenizer([]).decode([]) == ""
    with pytest.raises(ValueError, match="at least one token"):
        tiny_gpt().logits([])


# -- 18. errors that were not ValueError ------------------------------------------------------------------------

@pytest.mark.parametrize("picture", ["weights", "confusion", "junk", "archetype", "curves"])
def test_show_with_a_gpt_file_says_so(tmp_path, picture):
    """Item 18: fastnet show weights --model gpt.npz raised AttributeError."""
    tiny_gpt().save(tmp_path / "gpt.npz")
    result = run_cli("show", picture, "--model", tmp_path / "gpt.npz", cwd=tmp_path)
    assert result.returncode == 2 and "holds a GPT, not a digit network" in result.stderr, result
    assert "AttributeError" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_fastnet_dask_as_the_readme_writes_it():
    """Item 18: ``import fastnet; fastnet.dask.predict`` raised AttributeError unless fastnet.dask was imported."""
    result = run_python("import fastnet\n"
                        "print(callable(fastnet.dask.predict), callable(fastnet.sklearn.NetworkClassifier))")
    assert result.returncode == 0 and result.stdout.split() == ["True", "True"], result


def test_importing_fastnet_does_not_import_dask():
    """Item 18: the lazy attributes import Dask and scikit-learn only when asked."""
    result = run_python("import fastnet, sys\nprint('dask' in sys.modules, 'sklearn' in sys.modules)")
    assert result.stdout.split() == ["False", "False"], result


@pytest.mark.parametrize("sizes", [(2.7,), ("30",), (True,), (0,), ((3, 4),)])
def test_classifier_refuses_non_integer_hidden_sizes(sizes):
    """Item 18: hidden_layer_sizes=(2.7,) or ("30",) silently became 2 or 30."""
    from fastnet.sklearn import NetworkClassifier
    X, y = np.random.default_rng(0).random((20, 4)), np.arange(20) % 2
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        NetworkClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_gpt_train_checks_its_numbers_before_loading_data(tmp_path):
    """Item 18: gpt train --iters 0 --batch-size 0 is refused before the data and model are built."""
    result = run_cli("gpt", "train", "--iters", 0, "--batch-size", 0, "--data", tmp_path / "missing.txt",
                     cwd=tmp_path)
    assert result.returncode == 2 and "--iters" in result.stderr and "data:" not in result.stdout, result


def test_a_damaged_json_lines_results_file_is_named(tmp_path):
    """Item 18: a damaged JSON-lines results file raised JSONDecodeError without its name."""
    from fastnet.sweeps.table import ResultsFile
    path = tmp_path / "sweep.jsonl"
    path.write_text('{"eta": 1\n')
    with pytest.raises(ValueError, match="sweep.jsonl"):
        ResultsFile(path, ["eta"]).read()


# -- 11. bounded caches in a long-running process ----------------------------------------------------------------

def test_the_bpe_chunk_cache_is_bounded():
    """Item 11: 1,500 prompts of 4,000 random characters grew the server from 175 to 366 MB, never freed."""
    tokenizer = BPETokenizer.train("the quick brown fox jumps over the lazy dog " * 50, 300, backend="numpy")
    rng = np.random.default_rng(0)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzéßж0123456789 .,;!?"))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            tokenizer.encode("".join(rng.choice(alphabet, 4000)))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 16 * 2**20, f"{grown / 2**20:.1f} MB kept after 300 prompts"
    prompt = "the quick brown fox " * 10
    assert tokenizer.encode(prompt).tolist() == BPETokenizer(tokenizer.merges).encode(prompt).tolist()


# -- the files' JSON members, fuzzed ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                           | st.text(max_size=8), lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)
CONFIG_VALUES = st.fixed_dictionaries({}, optional={key: JSON_VALUES | st.integers(-3, 2**40) for key in
                                                    ("vocab_size", "context", "n_layer", "n_head", "n_embd", "bias")})
TOKENIZERS = (st.fixed_dictionaries({"kind": st.sampled_from(["char", "bpe", "other"])},
                                    optional={"characters": JSON_VALUES, "merges": JSON_VALUES
                                              | st.lists(st.lists(JSON_VALUES | st.integers(0, 300), max_size=3),
                                                         max_size=4)})
              | JSON_VALUES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=CONFIG_VALUES | JSON_VALUES, tokenizer=TOKENIZERS)
def test_fuzzed_gpt_file_members_raise_only_value_error(tmp_path, config, tokenizer):
    """Items 1, 15, 17 (must show): a GPT file's config and tokenizer as random JSON: a model or ValueError."""
    saved = tmp_path / "gpt.npz"
    if not saved.exists():
        tiny_gpt().save(saved)
    crafted = rewritten(saved, tmp_path / "crafted.npz", config=json.dumps(config), tokenizer=json.dumps(tokenizer))
    try:
        fastnet.load(crafted)
    except ValueError:
        pass
    try:
        tokenizer_from_json(json.dumps(tokenizer))
    except ValueError:
        pass
