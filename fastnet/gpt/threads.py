"""The GPT's training on several cores: one pool of threads over the batch's sequences, BLAS on one thread inside.

A step's batch of B sequences is cut into one chunk of whole sequences per
thread; each chunk's loss and gradient are computed by the backend's kernels
(the compiled ones release the GIL; NumPy's matrix products do too) on a
pool of ``threads`` threads. With B_k sequences in chunk
k, the step's loss is Σ_k (B_k / B) loss_k and its gradient Σ_k (B_k / B)
grad_k, summed in chunk order: the result does not depend on which thread
ran which chunk, and differs from one whole-batch call only by rounding
(1e-12 in float64). While the pool works, BLAS is held to one thread, so
that the pool's threads and BLAS's never compete for the cores (BLAS's own
threads spinning against a busy core made a step 3x slower than one thread).
The chunks run on the pool or one after another on the calling thread,
whichever has been faster lately (the other tried again after PROBE_FIRST
steps, then twice as many each time it loses again, up to PROBE_MOST):
with a core taken by another program, one thread wins; the arithmetic is the
same either way.
A batch of one sequence cannot be cut: its step gives the threads to BLAS,
whose products are then large enough to share. Each chunk has its own
gradient buffer: threads x the parameters' memory, besides the model's.

``default_threads()``: the physical cores this process may run on, fewer if
OMP_NUM_THREADS or a threadpoolctl limit already in force says so.
"""
import concurrent.futures
import os
import time

import numpy as np

CHUNKS_PER_THREAD = 1  # more make smaller products: 2 per thread cost 1.03-1.05x the step, helped no busy machine
# Steps between two tries of the way not in use (pool or one thread), to follow the machine: PROBE_FIRST, doubled
# each time the way tried loses again, up to PROBE_MOST (a losing try costs a slow step: 1.8x on a quiet machine)
PROBE_FIRST, PROBE_MOST = 25, 400
SMOOTHING = 0.3  # weight of a new step time in each way's running estimate


def physical_cores():
    """Cores (not hardware threads) among the CPUs this process may run on."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/core_cpus_list") as file:
                cores.add(file.read().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def _blas_limit():
    """The fewest threads a loaded BLAS is set to (a threadpoolctl limit in force), or None."""
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return min(counts) if counts else None


def default_threads():
    """The threads a GPT trains on unless told: physical cores, OMP_NUM_THREADS and a BLAS limit respected."""
    threads = physical_cores()
    requested = os.environ.get("OMP_NUM_THREADS", "").strip()
    if requested.isdigit() and int(requested) >= 1:
        threads = min(threads, int(requested))
    limit = _blas_limit()
    return max(1, min(threads, limit)) if limit else threads


def chunk_bounds(batch, threads):
    """[(start, stop)] of the chunks a batch of ``batch`` sequences is cut into for ``threads`` threads."""
    count = min(batch, max(1, threads) * CHUNKS_PER_THREAD)
    edges = np.linspace(0, batch, count + 1).round().astype(int).tolist()  # Python ints (see loss_and_gradient)
    return list(zip(edges[:-1], edges[1:]))


class ThreadedSteps:
    """A model's kernels run on ``threads`` threads: ``loss_and_gradient`` over chunks of the batch and
    ``mean_loss`` over batches. Use as a context manager (the pool and the BLAS limit last as long as it)."""

    def __init__(self, kernels, threads):
        self.kernels, self.threads = kernels, threads
        self._pool = None
        self._grads = {}
        self._way, self._seconds, self._count = "pool", {}, 0  # see _timed_map
        self._next_try, self._interval = 2, PROBE_FIRST

    def __enter__(self):
        from threadpoolctl import ThreadpoolController

        self._controller = ThreadpoolController()
        if self.threads > 1:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="fastnet-gpt")
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown()
        return False

    def _blas(self, threads):
        return self._controller.limit(limits=threads, user_api="blas")

    def loss_and_gradient(self, params, config, tokens, targets, grad):
        """(loss, grad) of the batch, as ``kernels.loss_and_gradient``; grad is overwritten."""
        if self._pool is None or len(tokens) < 2:
            with self._blas(self.threads):
                return self.kernels.loss_and_gradient(params, config, tokens, targets, grad)
        bounds = chunk_bounds(len(tokens), self.threads)
        grads = self._chunk_grads(len(bounds), grad)

        def chunk(k):
            start, stop = bounds[k]
            return self.kernels.loss_and_gradient(params, config, tokens[start:stop], targets[start:stop],
                                                  grads[k])[0]

        with self._blas(1):
            losses = self._timed_map(chunk, range(len(bounds)))
        # Python floats, which NumPy multiplies in grad's dtype: NumPy's float64 scalars (from NumPy integer bounds)
        # made it multiply a float32 gradient in float64 and cast back, 2.6x the time of this serial pass
        weights = [(stop - start) / len(tokens) for start, stop in bounds]
        np.multiply(grads[0], weights[0], out=grad)
        for k in range(1, len(bounds)):
            grads[k] *= weights[k]  # the chunk's own buffer: scratch
            grad += grads[k]
        return float(sum(w * loss for w, loss in zip(weights, losses))), grad

    def _timed_map(self, function, items):
        """[function(item)] on the pool or on this thread, whichever has lately been faster on this machine
        (a core taken by another program makes the pool slower than one thread): the same chunks and the same
        sums either way, so the results never depend on the choice."""
        self._count += 1
        trying = self._count == self._next_try
        way = ("inline" if self._way == "pool" else "pool") if trying else self._way
        start = time.perf_counter()
        results = list(self._pool.map(function, items)) if way == "pool" else [function(item) for item in items]
        seconds = time.perf_counter() - start
        if self._count > 1:  # the first step warms up whichever way runs it
            known = self._seconds.get(way)
            self._seconds[way] = seconds if known is None else (1 - SMOOTHING) * known + SMOOTHING * seconds
        if len(self._seconds) == 2:
            self._way = min(self._seconds, key=self._seconds.get)
        if trying:
            lost = way != self._way
            self._interval = min(2 * self._interval, PROBE_MOST) if lost and self._count > 2 else PROBE_FIRST
            self._next_try = self._count + self._interval
        return results

    def _chunk_grads(self, count, grad):
        key = (count, grad.shape, grad.dtype)
        if key not in self._grads:
            self._grads = {key: [np.empty_like(grad) for _ in range(count)]}
        return self._grads[key]

    def mean_loss(self, params, config, batches):
        """The mean of ``kernels.loss`` over [(tokens, targets)], the batches spread over the threads."""
        def loss(batch):
            return self.kernels.loss(params, config, *batch)

        with self._blas(1):
            if self._pool is None or self._way == "inline":
                return float(np.mean([loss(batch) for batch in batches]))
            return float(np.mean(list(self._pool.map(loss, batches))))
