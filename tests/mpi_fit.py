"""Run by tests/test_distributed.py under ``mpiexec -n N``: data-parallel ``GPT.fit``, each rank's result saved.

Usage: mpi_fit.py FOLDER BATCH_SIZE [CHECKPOINT]. Every rank starts from a different seed, so equal results
show that rank 0's parameters were broadcast; each writes rank{r}.npy (its parameters) and rank 0 also
losses.npy.
"""
import os
import sys

import numpy as np
from mpi4py import MPI

import fastnet

folder, batch_size = sys.argv[1], int(sys.argv[2])
checkpoint = sys.argv[3] if len(sys.argv) > 3 else None
comm = MPI.COMM_WORLD
text = fastnet.datasets.load_text()[:20000]
tokenizer = fastnet.text.CharTokenizer.fit(text)
model = fastnet.GPT(tokenizer.vocab_size, context=16, n_layer=2, n_head=2, n_embd=32, dtype="float64",
                    backend=os.environ.get("FASTNET_TEST_BACKEND", "numpy"), seed=100 + comm.Get_rank())
history = model.fit(tokenizer.encode(text), iters=12, batch_size=batch_size, lr=1e-2, warmup=2, seed=3, eval_interval=5,
                    eval_batches=2, progress=False, checkpoint=checkpoint, comm=comm)
np.save(os.path.join(folder, f"rank{comm.Get_rank()}.npy"), model.params)
if comm.Get_rank() == 0:
    np.save(os.path.join(folder, "losses.npy"), np.array(history.losses))
    np.save(os.path.join(folder, "val_iterations.npy"), np.array(history["iteration"]))
