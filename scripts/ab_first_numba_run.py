"""A/B: the first run on the Numba backend (every kernel compiled from an empty cache) of two source trees.

    python scripts/ab_first_numba_run.py OLD_TREE NEW_TREE [--rounds 3]

Every round runs, alternating the trees, one fresh process per tree and job,
each with a Numba cache of its own, empty: ``fastnet train --backend numba
--epochs 1`` (the digit network) and ``fastnet gpt train --backend numba
--iters 2 --threads 1`` (the GPT, no sample). It prints each job's median
wall time per tree (from the process's start, imports included) and the
median compile time of each kernel, as the compile notices report them.
"""
import re
import statistics

from ab_epoch import ab_parser, alternate

CHILD = r"""
import contextlib, io, json, os, sys, tempfile, time
start = time.perf_counter()
cache = tempfile.TemporaryDirectory()
os.environ["NUMBA_CACHE_DIR"] = cache.name
from fastnet.cli import main
job = sys.argv[1]
arguments = {"mlp": ["train", "--backend", "numba", "--epochs", "1"],
             "gpt": ["gpt", "train", "--backend", "numba", "--iters", "2", "--eval-interval", "1000", "--sample", "0",
                     "--threads", "1", "--save", os.path.join(cache.name, "gpt.npz")]}[job]
said = io.StringIO()
with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
    main(arguments)
result = {job: time.perf_counter() - start}
for line in said.getvalue().splitlines():
    if "done compiling the Numba kernel" in line:
        name, seconds = line.split("kernel ", 1)[1].rsplit(" in ", 1)
        result[f"{job}: {name}"] = float(seconds.rstrip(" s"))
print(json.dumps(result))
"""
JOBS = ("mlp", "gpt")


def main():
    args = ab_parser(__doc__, 3).parse_args()
    values = alternate(args.old, args.new, CHILD, [[job] for job in JOBS], args.rounds)
    for key in sorted({key for key, _ in values}, key=lambda key: (key.split(":")[0], ":" in key, key)):
        old, new = (values.get((key, side)) for side in ("old", "new"))
        if not old or not new:
            continue
        label = key if ":" in key else f"{key}: the whole run, wall"
        old, new = statistics.median(old), statistics.median(new)
        print(f"{re.sub(r' +', ' ', label)}: old {old:.1f} s, new {new:.1f} s, new / old {new / old:.2f}")


if __name__ == "__main__":
    main()
