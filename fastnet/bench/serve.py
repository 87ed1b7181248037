"""``fastnet bench serve``: ``fastnet serve``'s prediction route under load, on loopback.

A real server (``fastnet serve`` in its own process, port chosen by the
system) answers MNIST test images: first one request at a time (the latency
of one prediction, as the page sees it), then ``concurrent`` requests at once
from as many client threads. Every answer is checked against the same
network's ``predict`` in this process.
"""
from concurrent.futures import ThreadPoolExecutor
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

import fastnet

START_TIMEOUT = 600  # seconds: a first run compiles the kernels
REQUEST_TIMEOUT = 120


class Server:
    """``fastnet serve --port 0 OPTIONS...`` in a child process; ``url`` once it listens.

    Its output is read by a thread (``output``: the lines so far), so waiting
    for the address never blocks past ``timeout`` seconds.
    """

    def __init__(self, *options, timeout=START_TIMEOUT):
        command = [sys.executable, "-m", "fastnet.cli", "serve", "--port", "0", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output, lines = [], queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:  # the process ended
                break
            if line.startswith("fastnet serve: http://"):
                self.url = line.split()[2]
                return
        self.close()
        raise RuntimeError("fastnet serve did not start: " + "".join(self.output[-5:]))

    def _read(self, lines):
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def post(url, route, body):
    """POST ``body`` as JSON; (seconds taken, HTTP status, decoded answer)."""
    request = urllib.request.Request(url + route.lstrip("/"), data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        answer = json.loads(response.read())
        return time.perf_counter() - start, response.status, answer


def _summary(seconds):
    ms = sorted(1000 * s for s in seconds)
    return {"median_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))], "max_ms": ms[-1]}


def run(*, sequential=200, concurrent=200, seed=0, stream=None):
    """Measure; returns the results (printed as a short table) including how many answers were wrong."""
    stream = sys.stdout if stream is None else stream
    (_, _), (test_X, _) = fastnet.datasets.load_mnist(download=False, progress=False)
    images = test_X[:max(sequential, concurrent)].astype(np.float64)
    net = fastnet.Network([784, 16, 16, 10], seed=seed)
    expected = net.predict(images)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "net.npz")
        net.save(path)
        with Server("--model", path, "--gpt-iters", "0") as server:
            post(server.url, "/api/predict", {"pixels": images[0].tolist()})  # warm: the first call may compile
            bodies = [{"pixels": image.tolist()} for image in images]
            alone = [post(server.url, "/api/predict", bodies[i]) for i in range(sequential)]
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrent) as pool:
                together = list(pool.map(lambda i: post(server.url, "/api/predict", bodies[i]), range(concurrent)))
            wall = time.perf_counter() - start
    wrong = int(sum(status != 200 or answer["prediction"] != expected[i]
                    for replies in (alone, together) for i, (_, status, answer) in enumerate(replies)))
    results = {"sequential": {"requests": sequential, **_summary([s for s, _, _ in alone])},
               "concurrent": {"requests": concurrent, "wall_s": wall, "requests_per_s": concurrent / wall,
                              **_summary([s for s, _, _ in together])},
               "wrong_answers": wrong}
    print(f"POST /api/predict, 784-16-16-10, fastnet serve on loopback ({os.cpu_count()} cores):", file=stream)
    print(f"  one at a time: {sequential} requests, median {results['sequential']['median_ms']:.2f} ms, "
          f"p90 {results['sequential']['p90_ms']:.2f} ms", file=stream)
    print(f"  {concurrent} at once: all answered in {wall:.2f} s ({results['concurrent']['requests_per_s']:.0f}/s), "
          f"median {results['concurrent']['median_ms']:.1f} ms, max {results['concurrent']['max_ms']:.1f} ms",
          file=stream)
    print(f"  wrong answers: {wrong}", file=stream)
    return results
