"""Downloading the MNIST files: checksummed, atomic, with a progress bar.

A file is streamed into a temporary file beside its destination, verified
(parsed as IDX and checked against the official MD5 of its uncompressed
contents), flushed to disk and only then renamed into place. An interrupted
or corrupt download therefore never leaves a file in the cache.
"""
import os

from ..core.storage import replace_atomically
from ..core.progress import ProgressBar
from .idx import IdxError, read_idx

# Public mirrors of the original gzip files, tried in order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MIRRORS_VARIABLE = "FASTNET_MNIST_MIRRORS"  # comma-separated base URLs, replacing MIRRORS
TIMEOUT_SECONDS = 30


class DownloadError(OSError):
    """No mirror could provide a verified copy of a file."""


def mirrors():
    """Base URLs to try: $FASTNET_MNIST_MIRRORS when set, else MIRRORS."""
    configured = os.environ.get(MIRRORS_VARIABLE)
    if configured:
        return tuple(url.strip() for url in configured.split(",") if url.strip())
    return MIRRORS


def _fetch(url, destination, md5, progress):
    """Download ``url`` to ``destination`` atomically, verifying ``md5`` of the IDX contents."""
    import urllib.request  # only a download needs it: kept out of `import fastnet`

    def receive(out):
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            total = int(response.headers.get("Content-Length") or 0)
            bar = ProgressBar(total, f"downloading {os.path.basename(destination)}", enabled=progress, unit="B")
            received = 0
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(received)
            bar.close()
            if total and received != total:
                raise DownloadError(f"{url}: connection closed after {received} of {total} bytes")

    replace_atomically(destination, receive, verify=lambda temporary: read_idx(temporary, md5=md5))


def download(filename, directory, md5, *, base_urls=None, progress=True):
    """Fetch ``filename`` (e.g. "train-images-idx3-ubyte.gz") into ``directory`` from the first mirror that serves
    a verified copy.

    Returns the path written. Raises DownloadError listing every attempt when
    none succeeds.
    """
    os.makedirs(directory, exist_ok=True)
    destination = os.path.join(directory, filename)
    failures = []
    for base in base_urls or mirrors():
        url = base.rstrip("/") + "/" + filename
        try:
            _fetch(url, destination, md5, progress)
            return destination
        except (OSError, IdxError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            failures.append(f"{url}: {exc}")
    raise DownloadError(f"could not download {filename}:\n  " + "\n  ".join(failures))
