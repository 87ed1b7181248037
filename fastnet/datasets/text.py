"""Text for the GPT: Tiny Shakespeare, shipped inside the package, or any UTF-8 text file."""
import bz2
import hashlib
import os

from ..core.storage import read_bytes

EMBEDDED = os.path.join(os.path.dirname(__file__), "tinyshakespeare.txt.bz2")
EMBEDDED_MD5 = "6fb458f1232090904fb40fe944165e91"  # of input.txt, as char-rnn and nanoGPT have it
TRAIN_FRACTION = 0.9


def load_text(path=None):
    """The text of a UTF-8 file at ``path``; without a path, Tiny Shakespeare (1,115,394 characters).

    Raises ValueError naming the file when it is not a regular file, is
    empty, holds NUL bytes (a binary file) or is not valid UTF-8.
    """
    if path is None:
        with bz2.open(EMBEDDED, "rb") as file:
            raw = file.read()
        if hashlib.md5(raw).hexdigest() != EMBEDDED_MD5:
            raise ValueError(f"{EMBEDDED}: the shipped Tiny Shakespeare is damaged (checksum mismatch); reinstall "
                             "fastnet")
        return raw.decode("utf-8")
    path = os.fspath(path)
    raw = read_bytes(path)
    if not raw:
        raise ValueError(f"{path}: the file is empty")
    if b"\0" in raw:
        raise ValueError(f"{path}: holds NUL bytes, so it is not a text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def split_text(text, train_fraction=TRAIN_FRACTION):
    """(train, validation): the first ``train_fraction`` of the characters and the rest, as nanoGPT splits."""
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be between 0 and 1; got {train_fraction!r}")
    cut = int(len(text) * train_fraction)
    return text[:cut], text[cut:]
