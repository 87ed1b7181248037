"""``fastnet gpt train | sample | next``, run as a user would run them."""
import pytest
from test_cli import run

import fastnet

SMALL = ("--context", "16", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "4",
         "--eval-batches", "2", "--seed", "0")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpt")
    text = folder / "poem.txt"
    text.write_text("the cat sat on the mat; the dog sat on the log.\n" * 40, encoding="utf-8")
    saved = folder / "model.npz"
    result = run("gpt", "train", "--data", str(text), "--iters", "20", "--eval-interval", "10", "--save", str(saved),
                 "--sample", "30", *SMALL)
    return folder, text, saved, result


def test_train_reports_evaluations_saves_and_samples(trained):
    _, _, saved, result = trained
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("step")]
    assert [line.split(":")[0] for line in steps] == ["step     0", "step    10", "step    20"]
    assert "val loss" in steps[-1] and "sample:" in result.stdout
    model = fastnet.load(saved)
    assert isinstance(model, fastnet.GPT) and model.context == 16 and model.tokenizer.vocab_size == model.vocab_size


def test_sample_streams_a_continuation_and_is_seeded(trained):
    _, _, saved, _ = trained
    first = run("gpt", "sample", "--model", str(saved), "--prompt", "the ", "-n", "40", "--seed", "1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("the ") and len(first.stdout) >= 40
    again = run("gpt", "sample", "--model", str(saved), "--prompt", "the ", "-n", "40", "--seed", "1")
    assert again.stdout == first.stdout


def test_next_lists_the_likeliest_tokens(trained):
    _, _, saved, _ = trained
    result = run("gpt", "next", "--model", str(saved), "--prompt", "the ca", "-k", "5")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 5 and all("%" in row for row in rows)


def test_bpe_training_and_resume(trained):
    folder, text, _, _ = trained
    checkpoint, saved = folder / "bpe-checkpoint.npz", folder / "bpe.npz"
    arguments = ("gpt", "train", "--data", str(text), "--tokenizer", "bpe", "--vocab-size", "260", "--iters", "6",
                 "--eval-interval", "3", "--save", str(saved), "--checkpoint", str(checkpoint), "--resume",
                 "--sample", "0", *SMALL)
    result = run(*arguments)
    assert result.returncode == 0, result.stderr
    assert "bpe tokenizer, 260 tokens" in result.stdout
    again = run(*arguments)  # the checkpoint is finished: nothing left to train
    assert again.returncode == 0 and "resuming from" in again.stdout
    assert fastnet.load(saved).tokenizer.vocab_size == 260


@pytest.mark.parametrize("arguments, message", [
    (("gpt", "train", "--data", "/nonexistent.txt"), "No such file"),
    (("gpt", "train", "--n-embd", "10", "--n-head", "3", "--iters", "1"), "multiple of n_head"),
    (("gpt", "train", "--lr", "-1", "--iters", "1"), "lr must be"),
    (("gpt", "train", "--save", "/proc/x/gpt.npz"), "cannot write"),
    (("gpt", "train", "--resume"), "--checkpoint"),
    (("gpt", "sample", "--model", "/nonexistent.npz"), "No such file"),
])
def test_errors_are_one_line(arguments, message):
    result = run(*arguments)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_network_file_or_an_unknown_character_is_refused(trained, tmp_path):
    _, _, saved, _ = trained
    network = fastnet.Network([4, 3, 2], seed=0).save(tmp_path / "net.npz")
    result = run("gpt", "sample", "--model", str(network))
    assert result.returncode == 2 and "not a GPT" in result.stderr
    result = run("gpt", "next", "--model", str(saved), "--prompt", "Zebra")
    assert result.returncode == 2 and "'Z'" in result.stderr
