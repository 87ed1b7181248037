"""The safetensors format, written and read without the ``safetensors`` package (tested against it).

A file is: 8 bytes, the header's length N (little-endian unsigned); N bytes of
JSON, ``{"__metadata__": {text: text}, name: {"dtype": "F32", "shape": [...],
"data_offsets": [begin, end]}, ...}``, padded with spaces; then the tensors'
bytes, little-endian and C-ordered, ``begin`` and ``end`` counted from the
end of the header. The tensors tile the data exactly (no gap, no overlap).
Nothing in it is code: reading it runs none.

``SafetensorsFile`` reads one as ``model_files.ModelFile`` reads an .npz
(members by name, each checked, read only when asked): tensors are the
array members, the metadata's texts the text members. Every problem raises
ValueError naming the file, before more than the header is read.
"""
import json
import math
import os
import struct

import numpy as np

from .storage import json_value, open_for_reading

# safetensors' dtype names; BF16 is read as float32 (NumPy has no bfloat16), exactly.
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
NAMES = {np.dtype(code): name for name, code in DTYPES.items()}
MAX_HEADER_BYTES = 1 << 26  # 64 MB: ~500,000 tensors' entries; the safetensors package allows 100 MB
MAX_DIMENSIONS = 16
METADATA = "__metadata__"


SNIFF_BYTES = 9  # the header's length and the "{" that opens it


def is_safetensors(start):
    """Whether a file whose first SNIFF_BYTES bytes are ``start`` begins as a safetensors file does."""
    return len(start) == SNIFF_BYTES and start[8:9] == b"{" and struct.unpack("<Q", start[:8])[0] >= 2


def write(out, tensors, metadata=None):
    """Write ``tensors`` ({name: array}) and ``metadata`` ({text: text}) to the binary file ``out``."""
    header, offset, arrays = {}, 0, []
    if metadata:
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()):
            raise TypeError("safetensors metadata must map text to text")
        header[METADATA] = dict(metadata)
    for name, value in tensors.items():
        array = np.asarray(value)
        little = array.dtype.newbyteorder("<")
        if little not in NAMES:
            raise TypeError(f"tensor {name}: dtype {array.dtype} has no safetensors name")
        array = np.ascontiguousarray(array, little)
        header[name] = {"dtype": NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the package writes it
    out.write(struct.pack("<Q", len(text)))
    out.write(text)
    for array in arrays:
        out.write(memoryview(array.reshape(-1)).cast("B") if array.size else b"")


INTEGERS = "fastnet_integers"  # the metadata entry naming the entries that hold integers (JSON)


def split_members(members):
    """(tensors, metadata) for a model file's members: floating-point arrays as tensors; texts (0-d str arrays)
    and integers (the file's format version, a network's sizes) in the metadata, the integers as JSON named by
    its ``fastnet_integers`` entry: the tensors are then exactly the model's weights."""
    tensors, metadata, integers = {}, {}, []
    for name, value in members.items():
        array = np.asarray(value)
        if array.dtype.kind == "U" and array.ndim == 0:
            metadata[name] = str(array)
        elif array.dtype.kind in "iu":
            metadata[name] = json.dumps(array.tolist())
            integers.append(name)
        else:
            tensors[name] = array
    if integers:
        metadata[INTEGERS] = json.dumps(integers)
    return tensors, metadata


def _stored(kind):
    """The NumPy dtype of a safetensors dtype name's bytes (BF16: 16-bit words)."""
    return np.dtype("<u2") if kind == "BF16" else np.dtype(DTYPES[kind])


class SafetensorsFile:
    """A safetensors file opened for reading: the header checked whole, each tensor read when asked.

    The interface of ``model_files.ModelFile``: ``names()``, ``in``,
    ``array(name, shape=, dtypes=, mismatch=)``, ``text(name, default)``.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._handle = open_for_reading(self.path)
        try:
            self._read_header()
        except BaseException:
            self._handle.close()
            raise

    def _fail(self, problem):
        raise ValueError(f"{self.path}: not a readable safetensors file ({problem})")

    def _read_header(self):
        size = os.fstat(self._handle.fileno()).st_size
        start = self._handle.read(8)
        if len(start) < 8:
            self._fail("shorter than its 8-byte header length")
        length = struct.unpack("<Q", start)[0]
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            self._fail(f"a header of {length} bytes in a file of {size}")
        raw = self._handle.read(length)
        try:
            header = json_value(raw.decode("utf-8"), "the header")
        except (UnicodeDecodeError, ValueError) as exc:
            self._fail(str(exc))
        if not isinstance(header, dict):
            self._fail("the header is not a JSON object")
        metadata = header.pop(METADATA, None) or {}
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            self._fail("its metadata must map text to text")
        self._metadata, self._data_start, data_size = metadata, 8 + length, size - 8 - length
        self._integers = self._integer_entries()
        self._tensors = {}
        for name, entry in header.items():
            self._tensors[name] = self._checked_entry(name, entry, data_size)
        spans = sorted((begin, end) for _, _, begin, end in self._tensors.values())
        covered = 0
        for begin, end in spans:
            if begin != covered:
                self._fail(f"its tensors must tile the data; a {'gap' if begin > covered else 'overlap'} at byte "
                           f"{min(begin, covered)}")
            covered = end
        if covered != data_size:
            self._fail(f"its tensors hold {covered} bytes of the {data_size} after the header")

    def _integer_entries(self):
        """{name: int64 array} of the metadata entries ``split_members`` wrote as integers."""
        if INTEGERS not in self._metadata:
            return {}
        names = json_value(self._metadata[INTEGERS], f"{self.path}: the {INTEGERS} entry")
        if not (isinstance(names, list) and all(isinstance(n, str) and n in self._metadata for n in names)):
            self._fail(f"its {INTEGERS} entry must list metadata entries")
        integers = {}
        for name in names:
            value = json_value(self._metadata[name], f"{self.path}: {name}")
            flat = value if isinstance(value, list) else [value]
            if not all(type(n) is int and -2**63 <= n < 2**63 for n in flat):
                self._fail(f"its metadata entry {name} must be an integer or a list of integers")
            integers[name] = np.array(value, np.int64)
        return integers

    def _checked_entry(self, name, entry, data_size):
        """(dtype, shape, begin, end) of a header entry, each part checked."""
        if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}):
            self._fail(f"tensor {name!r}: an entry must hold exactly dtype, shape and data_offsets")
        kind, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if kind not in DTYPES and kind != "BF16":
            self._fail(f"tensor {name!r}: dtype {kind!r} is not one fastnet reads ({', '.join(DTYPES)}, BF16)")
        if not (isinstance(shape, list) and len(shape) <= MAX_DIMENSIONS
                and all(type(n) is int and n >= 0 for n in shape)):
            self._fail(f"tensor {name!r}: shape {shape!r} is not a list of sizes")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(n) is int for n in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data_size):
            self._fail(f"tensor {name!r}: data_offsets {offsets!r} are not within the {data_size} bytes of data")
        if math.prod(shape) * _stored(kind).itemsize != offsets[1] - offsets[0]:
            self._fail(f"tensor {name!r}: shape {shape} of {kind} needs {math.prod(shape) * _stored(kind).itemsize} "
                       f"bytes; its offsets hold {offsets[1] - offsets[0]}")
        return kind, tuple(shape), offsets[0], offsets[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()

    def close(self):
        self._handle.close()

    def __contains__(self, name):
        return name in self._tensors or name in self._metadata

    def names(self):
        return list(self._tensors) + list(self._metadata)

    def tensor_names(self):
        return list(self._tensors)

    def array(self, name, *, shape=None, dtypes=None, mismatch=None):
        """Tensor ``name``; with ``shape`` (and ``dtypes``) given, anything else is refused unread."""
        if name in self._integers:
            return self._integers[name].copy()
        if name in self._metadata:
            return np.array(self._metadata[name])
        if name not in self._tensors:
            raise ValueError(f"{self.path}: member {name}: missing")
        kind, found, begin, end = self._tensors[name]
        if shape is not None and found != tuple(shape):
            if mismatch is not None:
                raise ValueError(f"{self.path}: {mismatch(found)}")
            raise ValueError(f"{self.path}: member {name}: shape {found}, but {tuple(shape)} was expected")
        result = np.dtype("float32") if kind == "BF16" else _stored(kind).newbyteorder("=")
        if dtypes is not None and result.name not in dtypes:
            raise ValueError(f"{self.path}: member {name}: dtype {result.name}, but one of {', '.join(dtypes)} "
                             "was expected")
        raw = np.empty(found, _stored(kind))
        self._handle.seek(self._data_start + begin)
        view = memoryview(raw.reshape(-1)).cast("B") if raw.size else memoryview(b"")
        if self._handle.readinto(view) != end - begin:
            raise ValueError(f"{self.path}: member {name}: truncated")
        if kind == "BF16":  # the upper half of a float32
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return raw.astype(result, copy=False)

    def text(self, name, default=None):
        """The metadata text ``name``, or ``default`` when absent."""
        if name in self._tensors:
            raise ValueError(f"{self.path}: member {name}: must be a text value; it is a tensor")
        return self._metadata.get(name, default)
