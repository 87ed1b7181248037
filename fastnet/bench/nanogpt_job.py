"""``fastnet bench gpt --nanogpt DIR``: the user's job, nanoGPT's own ``train.py`` against ``fastnet gpt train``.

The job is nanoGPT's CPU example from its README (Tiny Shakespeare by
characters; 4 layers, 4 heads, n_embd 128, context 64, batch 12, no dropout,
``--compile=False``) for ``iters`` steps, evaluated every 250 steps on 20
batches; ``fastnet gpt train`` runs the same configuration (its defaults). Each
runs in its own process with the same thread count (OMP_NUM_THREADS for
PyTorch, ``--threads`` for fastnet), one after the other, timed by the wall
clock from start to exit. nanoGPT's files are copied from the checkout to a
temporary folder (the checkout is not written to) with its data prepared as its
``data/shakespeare_char/prepare.py`` does, from fastnet's copy of the text.
"""
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..text import CharTokenizer
from . import THREAD_VARIABLES

NANOGPT_FILES = ("train.py", "model.py", "configurator.py", os.path.join("config", "train_shakespeare_char.py"))


def nanogpt_arguments(iters):
    return ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20",
            "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128",
            f"--max_iters={iters}", f"--lr_decay_iters={iters}", "--dropout=0.0", "--always_save_checkpoint=False"]


def check_checkout(checkout):
    """``checkout`` if it holds nanoGPT's files; ValueError naming the missing ones."""
    missing = [name for name in NANOGPT_FILES if not os.path.isfile(os.path.join(checkout, name))]
    if missing:
        raise ValueError(f"--nanogpt {checkout}: not a nanoGPT checkout (no {', '.join(missing)})")
    return checkout


def prepare_data(folder, text):
    """train.bin, val.bin and meta.pkl of ``text`` in ``folder``, as nanoGPT's shakespeare_char/prepare.py makes
    them (characters sorted, the first 90% for training, uint16 ids)."""
    tokenizer = CharTokenizer.fit(text)  # the sorted characters, as prepare.py numbers them
    chars = tokenizer.characters
    stoi = {ch: i for i, ch in enumerate(chars)}
    ids = tokenizer.encode(text).astype(np.uint16)
    cut = int(len(text) * 0.9)
    os.makedirs(folder, exist_ok=True)
    ids[:cut].tofile(os.path.join(folder, "train.bin"))
    ids[cut:].tofile(os.path.join(folder, "val.bin"))
    with open(os.path.join(folder, "meta.pkl"), "wb") as file:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, file)


def _timed(command, cwd, env):
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    losses = re.findall(r"val loss ([0-9.]+)", result.stdout)
    return seconds, float(losses[-1]) if losses else float("nan")


def run(checkout, *, iters=2000, threads=1, stream=None):
    """{contender: {"seconds", "val_loss"}} of the job, nanoGPT's train.py then fastnet gpt train; prints a table."""
    from ..datasets.text import load_text

    stream = sys.stdout if stream is None else stream
    check_checkout(checkout)
    env = dict(os.environ, **{name: str(threads) for name in THREAD_VARIABLES})
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name in NANOGPT_FILES:
            os.makedirs(os.path.dirname(os.path.join(work, name)), exist_ok=True)
            shutil.copy(os.path.join(checkout, name), os.path.join(work, name))
        prepare_data(os.path.join(work, "data", "shakespeare_char"), load_text())
        seconds, loss = _timed([sys.executable, "train.py", *nanogpt_arguments(iters)], work, env)
        results["nanoGPT train.py (PyTorch)"] = {"seconds": seconds, "val_loss": loss}
        seconds, loss = _timed([sys.executable, "-m", "fastnet.cli", "gpt", "train", "--iters", str(iters),
                                "--threads", str(threads), "--seed", "0", "--sample", "0", "--save",
                                os.path.join(work, "gpt.npz")], work, env)
        results["fastnet gpt train"] = {"seconds": seconds, "val_loss": loss}
    reference = results["nanoGPT train.py (PyTorch)"]["seconds"]
    print(f"\nThe user's job: nanoGPT's CPU example, {iters} steps, {threads} thread{'s' * (threads > 1)}\n",
          file=stream)
    print("| contender | seconds, start to exit | final val loss | speed-up over nanoGPT |\n|---|---:|---:|---:|",
          file=stream)
    for name, row in results.items():
        print(f"| {name} | {row['seconds']:.1f} | {row['val_loss']:.4f} | {reference / row['seconds']:.2f}x |",
              file=stream)
    return results
