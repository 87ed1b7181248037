"""The IDX reader on good, truncated, corrupt, mismatched and random files."""
import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnet.datasets import ChecksumError, IdxError, read_idx


def idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write(path, contents, compress):
    path.write_bytes(gzip.compress(contents, mtime=0) if compress else contents)
    return path


IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, compress):
    contents = idx_bytes(IMAGES)
    path = write(tmp_path / "images", contents, compress)
    np.testing.assert_array_equal(read_idx(path, md5=hashlib.md5(contents).hexdigest()), IMAGES)


def test_other_types_are_native_byte_order(tmp_path):
    values = np.array([[1.5, -2.0], [3.25, 1e10]], dtype=">f4")
    array = read_idx(write(tmp_path / "floats", idx_bytes(values, 0x0D), False))
    assert array.dtype == np.float32 and array.dtype.isnative
    np.testing.assert_array_equal(array, values)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("cut", [2, 6, 15, 20])
def test_truncated(tmp_path, compress, cut):
    path = write(tmp_path / "truncated", idx_bytes(IMAGES)[:cut], compress)
    with pytest.raises(IdxError, match="truncated") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(idx_bytes(np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IdxError, match="cut.gz: corrupt or truncated gzip"):
        read_idx(path)


@pytest.mark.parametrize("magic", [b"\x00\x00\x08\x00", b"\x01\x00\x08\x03", b"\x00\x00\x07\x03", b"PK\x03\x04"])
def test_wrong_magic(tmp_path, magic):
    path = write(tmp_path / "bad", magic + idx_bytes(IMAGES)[4:], False)
    with pytest.raises(IdxError, match="not an IDX file"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_extra_bytes(tmp_path, compress):
    path = write(tmp_path / "long", idx_bytes(IMAGES) + b"\x00", compress)
    with pytest.raises(IdxError, match="size mismatch"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_lying_header_is_caught_before_allocating(tmp_path, compress):
    header = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)  # ~6e29 bytes
    path = write(tmp_path / "huge", header + b"\x00" * 100, compress)
    with pytest.raises(IdxError, match="size mismatch"):
        read_idx(path)


def test_checksum_mismatch(tmp_path):
    path = write(tmp_path / "images", idx_bytes(IMAGES), True)
    with pytest.raises(ChecksumError, match="MD5 of the uncompressed contents is"):
        read_idx(path, md5="0" * 32)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.binary(max_size=200), compress=st.booleans())
def test_random_bytes_never_crash(tmp_path, contents, compress):
    path = write(tmp_path / "random", contents, compress)
    try:
        array = read_idx(path)
    except IdxError:
        return
    assert array.nbytes <= len(contents)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dims=st.lists(st.integers(0, 6), min_size=1, max_size=3),
       type_code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]),
       damage=st.integers(-30, 30), compress=st.booleans())
def test_damaged_valid_files(tmp_path, dims, type_code, damage, compress):
    """A well-formed file with bytes cut off or appended: read exactly when undamaged, IdxError otherwise."""
    itemsize = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}[type_code]
    header = bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    contents = header + bytes(range(256)) * 8
    contents = contents[: len(header) + int(np.prod(dims)) * itemsize]
    damaged = contents[:len(contents) + damage] if damage < 0 else contents + b"\x01" * damage
    path = write(tmp_path / "damaged", damaged, compress)
    if damage == 0:
        assert read_idx(path).shape == tuple(dims)
    else:
        with pytest.raises(IdxError):
            read_idx(path)
