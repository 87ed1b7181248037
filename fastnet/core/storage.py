"""The files users hand the package and the files it writes: one check for every path read, one JSON reader,
one atomic writer and one check of a destination.

Every path fastnet opens for reading goes through ``open_for_reading``: it is
opened without blocking and refused unless it is a regular file, so a FIFO,
a device or a folder given as a file is a ValueError at once (a FIFO would
otherwise block forever). ``json_value`` turns every way JSON text can fail
(invalid, nested too deeply for the decoder) into ValueError. Every file
fastnet writes (models, checkpoints, tokenizers, ONNX, downloads, decoded
caches) goes through ``replace_atomically``, and every path a long run will
write to is first tried by ``check_destination``.
"""
import json
import os
import re
import secrets
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


_TEMPORARY = re.compile(r"\.fastnet-(\d+)-[0-9a-f]+\.tmp")


def _remove_stale_temporaries(directory):
    """Remove temporary files that saves killed mid-write left in ``directory`` (their process is gone)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is None or _process_alive(int(match.group(1))):
            continue
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            pass


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except (ProcessLookupError, OverflowError, ValueError):  # gone, or not a process id at all
        return False
    return True


def replace_atomically(path, contents, *, verify=None):
    """Write ``contents`` (bytes, or a function that writes into a binary file) to ``path`` atomically.

    A temporary file beside ``path`` (``.fastnet-PID-RANDOM.tmp``, created
    with the mode an ordinary file gets under the umask) is written, fsynced,
    checked by ``verify(temporary_path)`` when given (it raises to refuse the
    file), then renamed over ``path``, so an interrupted or refused save (an
    error, a crash, SIGKILL) leaves any previous file at ``path`` untouched.
    Temporary files of processes that no longer exist are removed first.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(directory)
    temporary, handle = _temporary_beside(path)
    try:
        with os.fdopen(handle, "wb") as out:
            if callable(contents):
                contents(out)
            else:
                out.write(contents)
            out.flush()
            os.fsync(out.fileno())
        if verify is not None:
            verify(temporary)
        os.replace(temporary, path)
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def _temporary_beside(path):
    """(name, descriptor) of a new empty temporary file in ``path``'s folder, open for writing."""
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    temporary = os.path.join(directory, f".fastnet-{os.getpid()}-{secrets.token_hex(8)}.tmp")
    return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def check_destination(argument, path):
    """Raise ValueError unless a file can be written at ``path``: a temporary file is created beside it, then removed.

    Checked before training, so that a long run is not lost to a bad output
    path (creating the file is the one test that holds for root, for
    read-only file systems and for /proc alike).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{argument}: {path} is a folder, not a file")
    try:
        temporary, handle = _temporary_beside(path)
    except OSError as exc:
        raise ValueError(f"{argument}: cannot write {path}: {exc.strerror or exc}") from None
    os.close(handle)
    os.remove(temporary)
