"""Reading the files users hand the package: one check for every path opened, one JSON reader.

Every path fastnet opens for reading goes through ``open_for_reading``: it is
opened without blocking and refused unless it is a regular file, so a FIFO,
a device or a folder given as a file is a ValueError at once (a FIFO would
otherwise block forever). ``json_value`` turns every way JSON text can fail
(invalid, nested too deeply for the decoder) into ValueError.
"""
import json
import os
import stat


def open_for_reading(path):
    """``path`` opened for binary reading, if it is a regular file; ValueError naming it otherwise.

    The file is opened with O_NONBLOCK and checked with fstat, so what is
    checked is what is read (no window between a check and the open).
    FileNotFoundError and PermissionError pass through as they are.
    """
    path = os.fspath(path)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError(f"{path}: not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_bytes(path):
    """The whole contents of the regular file ``path``."""
    with open_for_reading(path) as file:
        return file.read()


def json_value(text, what):
    """``json.loads(text)``; ValueError saying ``what`` is not valid JSON (RecursionError included)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is JSON nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{what} is not valid JSON ({exc})") from None
