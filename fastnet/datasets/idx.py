"""Reading IDX files, the format MNIST is distributed in, raw or gzip-compressed.

An IDX file is a header followed by data::

    0x00 0x00 <type code> <ndim>      the magic number
    ndim big-endian uint32            the dimensions
    prod(dimensions) values           of the type, big-endian, row-major

The header is checked against the file's size before any data is read, so a
truncated, corrupt or hostile file raises IdxError (naming the file) instead
of allocating memory it does not describe.
"""
import gzip
import hashlib
import os
import struct
import zlib

import numpy as np

from ..core.storage import open_for_reading

TYPE_CODES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

# Deflate cannot expand data by more than about 1032:1, so a gzip file of s bytes
# cannot honestly hold more than this many times s bytes of IDX data.
_MAX_GZIP_RATIO = 1032
_CHUNK = 1 << 20


class IdxError(ValueError):
    """An IDX file that is truncated, corrupt or not what was expected."""

    def __init__(self, path, problem):
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = path


class ChecksumError(IdxError):
    """An IDX file whose contents do not have the expected MD5."""


def _parse_header(path, read):
    """(dtype, dims, header bytes) from the first bytes given by ``read(n)``."""
    magic = read(4)
    if len(magic) < 4:
        raise IdxError(path, f"file ends after {len(magic)} bytes, inside the 4-byte magic number")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in TYPE_CODES or magic[3] == 0:
        raise IdxError(path, f"not an IDX file (magic number {magic.hex()}; expected 0000 then a type code and a "
                             "dimension count)")
    ndim = magic[3]
    dims_bytes = read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise IdxError(path, f"truncated: the header declares {ndim} dimensions but the file ends inside them")
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    return TYPE_CODES[magic[2]], dims, magic + dims_bytes


def _read_exactly(stream, size):
    """Up to ``size`` bytes, read in chunks so a lying header cannot force one huge allocation."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(_CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def read_idx(path, *, md5=None):
    """The array stored in IDX file ``path`` (raw or gzip), in native byte order.

    ``md5``: when given, the hex MD5 the uncompressed contents must have
    (ChecksumError otherwise). Raises IdxError for any malformed file.
    """
    path = os.fspath(path)
    with open_for_reading(path) as raw:
        file_size = os.fstat(raw.fileno()).st_size
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        try:
            if compressed:
                return _read(path, gzip.GzipFile(fileobj=raw), md5, _MAX_GZIP_RATIO * file_size)
            return _read(path, raw, md5, file_size, exact=True)
        except (EOFError, OSError, zlib.error) as exc:
            raise IdxError(path, f"corrupt or truncated gzip data ({exc})") from None


def _read(path, stream, md5, size_limit, exact=False):
    dtype, dims, header = _parse_header(path, stream.read)
    data_size = int(np.prod(dims, dtype=object)) * dtype.itemsize
    total = len(header) + data_size
    if (exact and total != size_limit) or total > size_limit:
        raise IdxError(
            path, f"size mismatch: the header {tuple(dims)} describes {total} bytes, "
                  f"but the file {'holds' if exact else 'can hold at most'} {size_limit}")
    data = _read_exactly(stream, data_size)
    if len(data) < data_size:
        raise IdxError(path, f"truncated: the header {tuple(dims)} describes {data_size} bytes of data, the file "
                             f"holds {len(data)}")
    if stream.read(1):
        raise IdxError(path, f"size mismatch: the file holds more than the {total} bytes its header {tuple(dims)} "
                             "describes")
    if md5 is not None:
        actual = hashlib.md5(header + data).hexdigest()
        if actual != md5:
            raise ChecksumError(path, f"MD5 of the uncompressed contents is {actual}, expected {md5}")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))
