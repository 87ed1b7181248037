"""The files both models are saved in: written atomically, read without pickle, each member checked.

A path ending ``.safetensors`` is written in the safetensors format
(``fastnet.core.safetensors``: arrays as tensors, texts in its metadata), any
other as .npz; either is read by what its first bytes are, not by its name.
A model file holds the model's arrays and metadata members (the wing's files
module says which: ``fastnet.mlp.files``, ``fastnet.gpt.files``). A training
checkpoint adds ``training_state`` (JSON text) and the arrays training needs
(the momentum velocity, the best parameters so far, AdamW's moments), each
named ``state_<name>``. Every piece is checked before anything is built, so a
truncated, corrupt or foreign file raises ValueError naming it.
"""
import json
import math
import os
import zipfile

import numpy as np

from . import safetensors
from .storage import json_value, open_for_reading, replace_atomically

STATE_PREFIX = "state_"
GPT_FORMAT_KEY = "gpt_format"  # present in GPT files only (fastnet.gpt.files): how fastnet.load tells them apart
MAX_WIDTH = 1 << 31  # the widest layer or embedding a file may claim


def is_safetensors_path(path):
    return os.fspath(path).lower().endswith(".safetensors")


def write_atomically(path, arrays):
    """Write ``arrays`` (name -> array; 0-d text arrays are the texts) to ``path`` atomically (see
    ``replace_atomically``): np.savez, or safetensors for a path ending .safetensors."""
    if not is_safetensors_path(path):
        return replace_atomically(path, lambda out: np.savez(out, **arrays))
    return replace_atomically(path, lambda out: safetensors.write(out, *safetensors.split_members(arrays)))


def flat_params(file, count, shapes, mismatch=None):
    """The flat parameter vector (float32 or float64) of a model of ``count`` parameters whose tensors are
    ``shapes``, (name, shape) pairs in the vector's order: the member ``params`` (``mismatch(found shape)`` words a
    wrong size), or, as a .safetensors file holds it, one member per tensor, each checked (all one dtype) before the
    next is read. ``shapes`` is walked only in the second case, as far as the file holds its tensors (a file may
    claim sizes too large to list)."""
    if "params" in file:
        return file.array("params", shape=(count,), dtypes=("float32", "float64"), mismatch=mismatch)
    parts = []
    for name, shape in shapes:
        parts.append(file.array(name, shape=shape, dtypes=("float32", "float64")))
        if parts[-1].dtype != parts[0].dtype:
            raise ValueError(f"{file.path}: member {name}: dtype {parts[-1].dtype}, but the tensors before it are "
                             f"{parts[0].dtype}")
    return np.concatenate([part.reshape(-1) for part in parts])


def with_training_state(contents, state, arrays):
    """``contents`` plus a training ``state`` (JSON-serialisable dict) and state ``arrays`` (prefixed names)."""
    contents = dict(contents, training_state=np.str_(json.dumps(state)))
    contents.update({STATE_PREFIX + name: array for name, array in arrays.items()})
    return contents


# Members other than the parameter-sized arrays may inflate at most this much when compressed (deflate reaches
# ~1000x on crafted data), and at most SMALL_MEMBER_BYTES when stored: a crafted file cannot make load allocate
# much more than its own size plus the network it describes.
MAX_INFLATION = 64
SMALL_MEMBER_BYTES = 1 << 24
MAX_WIDTH = 1 << 31


class ModelFile:
    """A fastnet .npz opened for reading: members are read one at a time, only when asked, each checked.

    Every problem (not a regular file, not a zip, a damaged header, a member
    that claims more data than it holds, a shape or dtype that does not fit)
    raises ValueError naming the file. Nothing is unpickled.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._handle = open_for_reading(self.path)
        try:
            self._zip = zipfile.ZipFile(self._handle)
            self._members = {info.filename[:-len(".npy")]: info for info in self._zip.infolist()
                             if info.filename.endswith(".npy")}
        except Exception as exc:  # noqa: BLE001 - zipfile raises many kinds for damaged archives
            self._handle.close()
            raise ValueError(f"{self.path}: not a readable fastnet network file, nor a GPT file "
                             f"({type(exc).__name__}: {exc})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._zip.close()
        self._handle.close()

    def __contains__(self, name):
        return name in self._members

    def names(self):
        return list(self._members)

    def _fail(self, name, problem):
        raise ValueError(f"{self.path}: member {name}: {problem}")

    def array(self, name, *, shape=None, dtypes=None, mismatch=None):
        """Member ``name`` as an array; with ``shape`` (and ``dtypes``) given, anything else is refused unread.

        ``mismatch(found_shape)`` words the error for another shape (default: the shapes found and expected).
        """
        info = self._members.get(name)
        if info is None:
            self._fail(name, "missing")
        if shape is None and info.file_size > max(SMALL_MEMBER_BYTES, MAX_INFLATION * info.compress_size):
            self._fail(name, f"claims {info.file_size} bytes, too many for what it holds")
        try:
            with self._zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version not in ((1, 0), (2, 0)):
                    self._fail(name, f"unknown .npy version {version}")
                reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                found_shape, fortran, dtype = reader(member)
                if dtype.hasobject or dtype.kind not in "biufU" or dtype.byteorder == ">":
                    self._fail(name, f"dtype {dtype} is not one fastnet writes")
                if shape is not None and tuple(found_shape) != tuple(shape):
                    if mismatch is not None:
                        raise ValueError(f"{self.path}: {mismatch(found_shape)}")
                    self._fail(name, f"shape {found_shape}, but {tuple(shape)} was expected")
                if dtypes is not None and dtype.name not in dtypes:
                    self._fail(name, f"dtype {dtype}, but one of {', '.join(dtypes)} was expected")
                count = math.prod(found_shape)
                if count * dtype.itemsize > info.file_size:
                    self._fail(name, f"claims {count} values, more than it holds")
                array = np.empty(found_shape, dtype, order="F" if fortran else "C")
                view = memoryview(array.reshape(-1, order="A").view(np.uint8)) if count else memoryview(b"")
                if member.readinto(view) != len(view):
                    self._fail(name, "truncated")
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged header or stream can raise many kinds
            self._fail(name, f"unreadable ({type(exc).__name__}: {exc})")
        return array if array.flags.c_contiguous else np.ascontiguousarray(array)

    def text(self, name, default=None):
        """The text value ``name`` (a 0-d string member), or ``default`` when absent."""
        if name not in self:
            return default
        value = self.array(name)
        if value.dtype.kind != "U" or value.ndim != 0:
            self._fail(name, f"must be a text value; got {value.dtype} {value.shape}")
        return str(value)


def open_file(path):
    """A saved model's members, read one at a time: a ``ModelFile`` (.npz) or a
    ``safetensors.SafetensorsFile``, by the file's first bytes (a damaged file named .safetensors that is not a
    zip archive is read as one, for its error)."""
    with open_for_reading(path) as handle:
        start = handle.read(safetensors.SNIFF_BYTES)
    zip_archive = start[:2] == b"PK"  # as .npz files are
    if safetensors.is_safetensors(start) or (not zip_archive and is_safetensors_path(path)):
        return safetensors.SafetensorsFile(path)
    return ModelFile(path)


def read_training_state(file, params):
    """(state, arrays) of a checkpoint: its JSON training state and its state arrays, each shaped like ``params``."""
    text = file.text("training_state")
    if text is None:
        raise ValueError(f"{file.path}: a model file without a readable training state; "
                         "resume needs a file written by fit(..., checkpoint=...)")
    state = json_value(text, f"{file.path}: the training state")
    if not isinstance(state, dict):
        raise ValueError(f"{file.path}: damaged training state (not a JSON object)")
    arrays = {}
    for member in file.names():
        if member.startswith(STATE_PREFIX):
            name = member[len(STATE_PREFIX):]
            expected = f"state array {name} must be {params.size} finite {params.dtype} values"
            try:
                arrays[name] = file.array(member, shape=params.shape, dtypes=(params.dtype.name,))
            except ValueError:
                raise ValueError(f"{file.path}: {expected}") from None
            if not np.isfinite(arrays[name]).all():
                raise ValueError(f"{file.path}: {expected}")
    return state, arrays
