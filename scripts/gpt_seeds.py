"""The GPT's validation loss over seeds: nanoGPT's 20-batch estimate and the loss on the whole validation text.

    python scripts/gpt_seeds.py train --seeds 0-4            # `fastnet gpt train --seed S` for each seed
    python scripts/gpt_seeds.py evaluate gpt-seed0.npz ...   # models already trained
    python scripts/gpt_seeds.py evaluate --nanogpt out/ckpt.pt

nanoGPT's estimate (the mean over 20 random batches of 12 windows) moves by
about ±0.01 from one draw to the next; the whole validation text (111,540
characters in windows of the context) gives each model one exact number.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import fastnet


def whole_text_loss(model, tokens, batch=256):
    """Mean next-token cross-entropy over ``tokens`` cut into non-overlapping windows of the context."""
    T = model.context
    windows = (len(tokens) - 1) // T
    inputs, targets = tokens[:windows * T].reshape(windows, T), tokens[1:windows * T + 1].reshape(windows, T)
    total = sum(model.loss(inputs[i:i + batch], targets[i:i + batch]) * len(inputs[i:i + batch])
                for i in range(0, windows, batch))
    return total / windows


def validation_tokens(tokenizer):
    return tokenizer.encode(fastnet.datasets.split_text(fastnet.datasets.load_text())[1])


def evaluate(model, name):
    loss = whole_text_loss(model, validation_tokens(model.tokenizer))
    print(f"{name}: loss on the whole validation text {loss:.4f}", flush=True)
    return loss


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("train", "evaluate"))
    parser.add_argument("models", nargs="*", help="saved GPT files (evaluate)")
    parser.add_argument("--seeds", default="0-4", help="train: seeds as A-B (default 0-4)")
    parser.add_argument("--nanogpt", metavar="CKPT", action="append", default=[], help="evaluate a nanoGPT ckpt.pt")
    parser.add_argument("--out", default=".", help="train: folder for the models and logs")
    args = parser.parse_args()
    if args.mode == "evaluate":
        for path in args.models:
            evaluate(fastnet.load(path), path)
        char_tokenizer = fastnet.text.CharTokenizer.fit(fastnet.datasets.load_text())
        for path in args.nanogpt:
            model = fastnet.GPT.from_nanogpt(path)
            model.tokenizer = char_tokenizer  # nanoGPT's shakespeare_char: the same sorted characters
            evaluate(model, path)
        return
    first, last = (int(part) for part in args.seeds.split("-"))
    estimates, losses, walls = [], [], []
    for seed in range(first, last + 1):
        saved = os.path.join(args.out, f"gpt-seed{seed}.npz")
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "fastnet.cli", "gpt", "train", "--seed", str(seed), "--save",
                                 saved, "--sample", "0"], capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - start)
        estimates.append(float(result.stdout.split("done: val loss ")[1].split()[0]))
        losses.append(evaluate(fastnet.load(saved), f"seed {seed}"))
        print(f"seed {seed}: val loss (20 batches) {estimates[-1]:.4f}, {walls[-1]:.0f} s wall", flush=True)
    print(f"val loss (20 batches): median {statistics.median(estimates):.4f}, min {min(estimates):.4f}, "
          f"max {max(estimates):.4f}; whole validation text: median {statistics.median(losses):.4f}; "
          f"wall median {statistics.median(walls):.0f} s; {int(np.sum(np.array(estimates) <= 1.89))} of "
          f"{len(estimates)} seeds <= 1.89")


if __name__ == "__main__":
    main()
