"""Progress shown while long work runs: tqdm bars where someone is watching, and a heartbeat for work of unknown
length (a first compilation), so that no wait is silent."""
import sys
import threading
import time


def will_draw(enabled=True, stream=None):
    """Whether a bar asked for (``enabled``) is drawn on ``stream`` (stderr by default): on a terminal or in Jupyter."""
    stream = sys.stderr if stream is None else stream
    return enabled and (getattr(stream, "isatty", lambda: False)() or "ipykernel" in sys.modules)


class ProgressBar:
    """A tqdm bar on ``stream`` (stderr by default) that ``update(done)`` moves to ``done`` of ``total``.

    Draws nothing when the stream is not a terminal (logs, CI) or when
    ``enabled`` is false; ``close()`` erases the bar. ``unit`` names what is
    counted ("B" counts bytes, shown as kB, MB).
    """

    def __init__(self, total, label="", *, stream=None, enabled=True, unit="it"):
        from tqdm import tqdm  # imported when a bar is made: kept out of `import fastnet`

        stream = sys.stderr if stream is None else stream
        self._bar = tqdm(total=total or None, desc=label, file=stream, disable=not will_draw(enabled, stream),
                         leave=False, unit=unit, unit_scale=unit == "B", dynamic_ncols=True)

    def update(self, done):
        self._bar.update(done - self._bar.n)

    def close(self):
        self._bar.close()

    def clear(self):
        """Erase the bar for a moment (before printing a line); the next ``update`` draws it again."""
        self._bar.clear()


class Heartbeat:
    """Says that ``what`` is running when it takes longer than ``delay`` seconds, then how long it has run.

    On a terminal one line counts the seconds; elsewhere (logs, CI) a line is
    written every ``interval`` seconds, so no wait passes without output.
    ``stop()`` ends it, with a last line saying how long it took if anything
    was shown. Use as a context manager.
    """

    def __init__(self, what, *, note="", delay=2.0, interval=5.0, stream=None):
        self.what, self.note, self.delay, self.interval = what, note, delay, interval
        self.stream = sys.stderr if stream is None else stream
        self._stopped = threading.Event()
        self._shown = False
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="fastnet-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _write(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream: nothing to tell
            pass

    def _run(self):
        if self._stopped.wait(self.delay):
            return
        terminal = getattr(self.stream, "isatty", lambda: False)()
        self._shown = True
        self._write(f"fastnet: {self.what}{f' ({self.note})' if self.note else ''}\n")
        tick = 1.0 if terminal else self.interval
        while not self._stopped.wait(tick):
            seconds = time.monotonic() - self._start
            self._write(f"\r  ... {seconds:.0f} s" if terminal else f"fastnet: still {self.what}: {seconds:.0f} s\n")

    @property
    def shown(self):
        """Whether anything was written."""
        return self._shown

    def stop(self):
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._shown:
            terminal = getattr(self.stream, "isatty", lambda: False)()
            self._write(f"{chr(13) if terminal else ''}fastnet: done {self.what} in "
                        f"{time.monotonic() - self._start:.1f} s\n")
