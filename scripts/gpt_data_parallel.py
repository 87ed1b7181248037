"""Data-parallel GPT training on MPI: tokens per second and the Allreduce's time per step, for N ranks.

    OMP_NUM_THREADS=1 mpiexec -n 1 python scripts/gpt_data_parallel.py
    OMP_NUM_THREADS=1 mpiexec -n 2 python scripts/gpt_data_parallel.py

nanoGPT's CPU configuration (4 blocks, 4 heads, width 128, context 64) on
Tiny Shakespeare's characters, ``--batch-size`` windows per rank, one BLAS
thread per rank. ``GPT.fit(comm=...)`` runs as users run it; the communicator
is wrapped to time its Allreduce calls (one per step: the flat gradient and
the loss). Rank 0 prints one JSON line.
"""
import argparse
import json
import time

from mpi4py import MPI

import fastnet


class TimedComm:
    """``comm`` whose Allreduce calls are timed (seconds summed in ``allreduce_seconds``)."""

    def __init__(self, comm):
        self.comm, self.allreduce_seconds, self.allreduce_calls = comm, 0.0, 0

    def Allreduce(self, *args, **kwargs):  # noqa: N802 - mpi4py's name
        start = time.perf_counter()
        self.comm.Allreduce(*args, **kwargs)
        self.allreduce_seconds += time.perf_counter() - start
        self.allreduce_calls += 1

    def __getattr__(self, name):
        return getattr(self.comm, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    comm = TimedComm(MPI.COMM_WORLD)
    text = fastnet.datasets.load_text()
    tokenizer = fastnet.text.CharTokenizer.fit(text)
    tokens = tokenizer.encode(text)
    model = fastnet.GPT(tokenizer.vocab_size, backend=args.backend, seed=0)
    model.fit(tokens, iters=2, batch_size=args.batch_size, eval_batches=1, progress=False, seed=0, comm=comm)  # warm
    comm.allreduce_seconds, comm.allreduce_calls = 0.0, 0
    comm.Barrier()
    start = time.perf_counter()
    model.fit(tokens, iters=args.iters, batch_size=args.batch_size, eval_interval=args.iters, eval_batches=1,
              progress=False, seed=1, comm=comm)
    comm.Barrier()
    wall = time.perf_counter() - start
    ranks = comm.Get_size()
    allreduce = comm.comm.allreduce(comm.allreduce_seconds, op=MPI.MAX) / args.iters
    if comm.Get_rank() == 0:
        print(json.dumps({"ranks": ranks, "backend": model.backend, "params": model.num_params,
                          "allreduce_bytes": (model.num_params + 1) * model.dtype.itemsize,
                          "batch_per_rank": args.batch_size, "iters": args.iters, "seconds": wall,
                          "step_ms": 1000 * wall / args.iters,
                          "tokens_per_s": args.iters * args.batch_size * ranks * model.context / wall,
                          "allreduce_ms_per_step": 1000 * allreduce,
                          "allreduce_calls": comm.allreduce_calls}), flush=True)


if __name__ == "__main__":
    main()
