"""A minimal text progress bar, drawn only where someone is watching."""
import sys
import time


def will_draw(enabled=True, stream=None):
    """Whether a bar asked for (``enabled``) is drawn on ``stream`` (stderr by default): on a terminal or in Jupyter."""
    stream = sys.stderr if stream is None else stream
    return enabled and (getattr(stream, "isatty", lambda: False)() or "ipykernel" in sys.modules)


class ProgressBar:
    """``[#####.....] 50%  label`` redrawn in place on ``stream`` (stderr by default).

    Draws nothing when the stream is not a terminal (logs, CI) or when
    ``enabled`` is false; ``close()`` erases the bar.
    """

    width = 30

    def __init__(self, total, label="", *, stream=None, enabled=True):
        self.stream = sys.stderr if stream is None else stream
        self.total = max(total, 1)
        self.label = label
        self.enabled = will_draw(enabled, self.stream)
        self._last_draw = 0.0

    def update(self, done):
        now = time.monotonic()
        if not self.enabled or (now - self._last_draw < 0.1 and done < self.total):
            return
        self._last_draw = now
        filled = int(self.width * min(done, self.total) / self.total)
        percent = 100 * min(done, self.total) / self.total
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {percent:3.0f}%  {self.label}")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\r" + " " * (self.width + 10 + len(self.label)) + "\r")
            self.stream.flush()
