"""Peak memory of GPT-2's 124M configuration: fastnet's compiled backends against transformers, each job in a
fresh process (its peak resident set, ru_maxrss, after the model is built and the job has run once).

    python scripts/gpt2_peak_memory.py [--threads N]

Jobs: generation at batch 1 (a prompt of 16 tokens, 128 new ones, with the key/value cache) and one training
step at batch 1 x 256 tokens (loss, gradient, AdamW), as ``fastnet bench gpt --configs gpt2`` times them.
"""
import argparse
import json
import os
import subprocess
import sys

JOB = r"""
import json, resource, sys
import numpy as np
contender, job = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
prompt = rng.integers(0, 50257, 16)
tokens, targets = rng.integers(0, 50257, (1, 256)), rng.integers(0, 50257, (1, 256))
if contender == "transformers":
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    model = GPT2LMHeadModel(GPT2Config(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    if job == "generation":
        with torch.no_grad():
            model.eval().generate(torch.from_numpy(prompt)[None], do_sample=True, top_k=0, max_new_tokens=128,
                                  min_new_tokens=128, pad_token_id=0)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        logits = model(torch.from_numpy(tokens)).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 torch.from_numpy(targets).reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
else:
    import fastnet
    model = fastnet.GPT(50257, context=1024, n_layer=12, n_head=12, n_embd=768, bias=True, gelu="tanh",
                        backend=contender, seed=0)
    if job == "generation":
        model.generate(prompt, 128, seed=0)
    else:
        k, p = model.kernels, model.params
        grad, m, v = np.empty_like(p), np.zeros_like(p), np.zeros_like(p)
        k.loss_and_gradient(p, model.shape, tokens, targets, grad)
        k.adamw_step(p, grad, m, v, 1, 1e-4, 0.9, 0.99, 1e-8, 0.1, model.decay_mask, 1.0)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    env = dict(os.environ, **{name: str(args.threads) for name in
                              ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    print(f"| job | {' | '.join(CONTENDERS)} |\n|---|" + "---:|" * len(CONTENDERS))
    for job in ("generation", "training"):
        peaks = []
        for contender in CONTENDERS:
            result = subprocess.run([sys.executable, "-c", JOB, contender, job], env=env, capture_output=True,
                                    text=True, check=True)
            peaks.append(json.loads(result.stdout.strip().splitlines()[-1]))
        print(f"| {job} | " + " | ".join(f"{peak:,.0f} MB" for peak in peaks) + " |")


CONTENDERS = ("cython", "numba", "transformers")

if __name__ == "__main__":
    main()
