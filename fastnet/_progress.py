"""Progress bars (tqdm's), drawn only where someone is watching."""
import sys


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
