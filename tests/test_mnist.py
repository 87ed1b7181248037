"""Where MNIST comes from (path, FASTNET_DATA, cache, the copy shipped in the package, a download from a local
server) and the decoded arrays kept beside the cache."""
import gzip
import http.server
import os
import struct
import threading

import numpy as np
import pytest

from fastnet.datasets import ChecksumError, IdxError, load_mnist, mnist
from fastnet.datasets.download import DownloadError, download

STEMS = [stem for stem, _ in mnist.FILES.values()]


@pytest.fixture(autouse=True)
def isolated_sources(monkeypatch, tmp_path):
    """No FASTNET_DATA, an empty cache, and mirrors that must be set by the test."""
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTNET_MNIST_MIRRORS", "http://127.0.0.1:9/unreachable/")


def fake_idx_set(directory, train=12, test=5, seed=0):
    """Valid IDX files in MNIST's shape but not MNIST (like Fashion-MNIST)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for stem in STEMS:
        n = train if stem.startswith("train") else test
        array = rng.integers(0, 256, (n, 28, 28)) if "images" in stem else rng.integers(0, 10, n)
        array = array.astype(np.uint8)
        header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (directory / (stem + ".gz")).write_bytes(gzip.compress(header + array.tobytes()))
    return directory


class MirrorServer:
    """A local HTTP server with three mirrors of a folder: /good/, /truncated/ and /wrong/."""

    def __init__(self, directory):
        served = directory

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                mirror, _, name = self.path.strip("/").partition("/")
                path = os.path.join(served, name)
                if mirror not in ("good", "truncated", "wrong") or not os.path.isfile(path):
                    self.send_error(404)
                    return
                data = open(path, "rb").read()
                if mirror == "wrong":
                    data = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x01\x02")
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if mirror == "truncated" else data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, mirror):
        return f"http://127.0.0.1:{self.server.server_port}/{mirror}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server(mnist_directory):
    mirrors = MirrorServer(mnist_directory)
    yield mirrors
    mirrors.close()


def test_explicit_path_and_shapes(mnist_directory):
    (train_X, train_y), (test_X, test_y) = data = load_mnist(mnist_directory, progress=False)
    assert train_X.shape == (60000, 784) and test_X.shape == (10000, 784)
    assert train_X.dtype == np.float32 and 0 <= train_X.min() and train_X.max() == 1
    assert train_y.dtype == np.int64
    assert np.bincount(test_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist_directory in data.source
    assert 0.78 < np.mean(train_X == 0) < 0.83  # MNIST is mostly zeros


def test_nielsen_split(mnist_directory):
    train, validation, test = load_mnist(mnist_directory, split="nielsen", dtype="float64", progress=False)
    assert (len(train.labels), len(validation.labels), len(test.labels)) == (50000, 10000, 10000)
    assert train.images.dtype == np.float64
    full_train, _ = load_mnist(mnist_directory, dtype="float64", progress=False)
    np.testing.assert_array_equal(validation.images, full_train.images[50000:])


def test_environment_variable(mnist_directory, monkeypatch):
    monkeypatch.setenv("FASTNET_DATA", mnist_directory)
    assert "FASTNET_DATA" in load_mnist(progress=False).source


def test_missing_files_are_named(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="lacks the MNIST files train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="FASTNET_DATA"):
        load_mnist()


def test_cache_is_used(mnist_directory, tmp_path):
    cache = tmp_path / "cache" / "mnist"
    cache.mkdir(parents=True)
    for stem in STEMS:
        os.symlink(os.path.join(os.path.abspath(mnist_directory), stem + ".gz"), cache / (stem + ".gz"))
    assert "cache" in load_mnist(download=False, progress=False).source


def test_the_shipped_mnist_when_nothing_else(capsys):
    (train_X, train_y), (test_X, test_y) = data = load_mnist(download=False, progress=False)
    assert (len(train_y), len(test_y)) == (60000, 10000)
    assert data.source == "MNIST shipped with fastnet"
    assert capsys.readouterr().err == ""
    train, validation, test = load_mnist(download=False, split="nielsen", progress=False)
    assert (len(train.labels), len(validation.labels), len(test.labels)) == (50000, 10000, 10000)


def test_the_shipped_mnist_is_the_official_one(mnist_directory):
    shipped = load_mnist(download=False, progress=False, dtype="uint8")
    official = load_mnist(mnist_directory, progress=False, dtype="uint8")
    for ours, theirs in zip(shipped, official):
        np.testing.assert_array_equal(ours.images, theirs.images)
        np.testing.assert_array_equal(ours.labels, theirs.labels)


@pytest.fixture
def nothing_shipped(monkeypatch, tmp_path):
    """An installation without the MNIST files in the package."""
    monkeypatch.setattr(mnist, "EMBEDDED_DIRECTORY", str(tmp_path / "not-shipped"))


def test_uint8_pixels_are_the_float_images_times_255():
    (pixels, labels), (test_pixels, _) = load_mnist(download=False, progress=False, dtype="uint8")
    (images, same_labels), _ = load_mnist(download=False, progress=False)
    assert pixels.dtype == np.uint8 and pixels.shape == (60000, 784)
    scaled = pixels.astype(np.float32)
    scaled /= 255
    assert scaled.tobytes() == images.tobytes()
    np.testing.assert_array_equal(labels, same_labels)
    assert test_pixels.shape == (10000, 784)


def test_decoded_arrays_are_kept_and_read_back(monkeypatch):
    first = load_mnist(download=False, progress=False, dtype="uint8")
    decoded = os.path.join(os.environ["FASTNET_CACHE"], "decoded")
    assert len([name for name in os.listdir(decoded) if name.endswith(".npy")]) == 4
    monkeypatch.setattr(mnist, "read_idx", None)  # a second load must not decode
    second = load_mnist(download=False, progress=False, dtype="uint8")
    for ours, theirs in zip(first, second):
        np.testing.assert_array_equal(ours.images, theirs.images)
        np.testing.assert_array_equal(ours.labels, theirs.labels)


def test_a_changed_file_is_decoded_again(tmp_path):
    directory = fake_idx_set(tmp_path / "fake", seed=0)
    (before, _), _ = load_mnist(directory, verify=False, dtype="uint8")
    (expected, _), _ = load_mnist(fake_idx_set(tmp_path / "other", seed=1), verify=False, dtype="uint8")
    os.replace(tmp_path / "other" / "train-images-idx3-ubyte.gz", directory / "train-images-idx3-ubyte.gz")
    (after, _), _ = load_mnist(directory, verify=False, dtype="uint8")
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, expected)


def test_a_damaged_decoded_file_is_decoded_again(tmp_path):
    directory = fake_idx_set(tmp_path / "fake")
    (expected, _), _ = load_mnist(directory, verify=False, dtype="uint8")
    decoded = os.path.join(os.environ["FASTNET_CACHE"], "decoded")
    for name in os.listdir(decoded):
        with open(os.path.join(decoded, name), "r+b") as file:
            file.truncate(20)
    (images, _), _ = load_mnist(directory, verify=False, dtype="uint8")
    np.testing.assert_array_equal(images, expected)


def test_an_unverified_decoding_is_not_used_by_a_verified_load(tmp_path):
    directory = fake_idx_set(tmp_path / "fake")
    load_mnist(directory, verify=False)
    with pytest.raises(ChecksumError):
        load_mnist(directory)


def test_download_skips_bad_mirrors_and_fills_the_cache(server, monkeypatch, mnist_directory, nothing_shipped):
    monkeypatch.setenv("FASTNET_MNIST_MIRRORS", ",".join([server.url("missing"), server.url("truncated"),
                                                          server.url("wrong"), server.url("good")]))
    data = load_mnist(progress=False)
    assert "downloaded" in data.source
    cache = mnist.cache_directory()
    assert sorted(os.listdir(cache)) == sorted(stem + ".gz" for stem in STEMS)  # no partial files
    (train_X, _), _ = load_mnist(mnist_directory, progress=False)
    np.testing.assert_array_equal(data[0].images, train_X)
    assert "cache" in load_mnist(download=False, progress=False).source


def test_interrupted_download_leaves_nothing(server, monkeypatch, nothing_shipped):
    monkeypatch.setenv("FASTNET_MNIST_MIRRORS", server.url("truncated"))
    with pytest.raises(DownloadError, match="connection closed after"):
        download("t10k-labels-idx1-ubyte.gz", mnist.cache_directory(), mnist.FILES["test_labels"][1], progress=False)
    assert os.listdir(mnist.cache_directory()) == []
    with pytest.raises(FileNotFoundError, match="MNIST not found: the download failed .*FASTNET_DATA"):
        load_mnist(progress=False)


def test_nothing_is_downloaded_when_the_package_ships_mnist(monkeypatch):
    monkeypatch.setattr(mnist.downloads, "download", None)  # would fail if called
    assert load_mnist(progress=False).source == "MNIST shipped with fastnet"


def test_without_shipped_files_or_network_the_error_says_what_to_do(nothing_shipped):
    with pytest.raises(FileNotFoundError, match="download failed"):
        load_mnist(progress=False)
    with pytest.raises(FileNotFoundError, match="does not include MNIST.*allow the download"):
        load_mnist(download=False, progress=False)


def test_other_idx_data_needs_verify_false(tmp_path):
    directory = fake_idx_set(tmp_path / "fashion")
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz: MD5"):
        load_mnist(directory)
    (train_X, train_y), (test_X, test_y) = load_mnist(directory, verify=False)
    assert train_X.shape == (12, 784) and test_y.shape == (5,)


def test_mismatched_image_and_label_files(tmp_path):
    directory = fake_idx_set(tmp_path / "a", train=12)
    other = fake_idx_set(tmp_path / "b", train=11)
    os.replace(other / "train-labels-idx1-ubyte.gz", directory / "train-labels-idx1-ubyte.gz")
    with pytest.raises(IdxError, match="holds 11 labels but .*train-images-idx3-ubyte.gz holds 12 images"):
        load_mnist(directory, verify=False)


def test_images_file_in_place_of_labels(tmp_path):
    directory = fake_idx_set(tmp_path / "a")
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes((directory / "t10k-images-idx3-ubyte.gz").read_bytes())
    with pytest.raises(IdxError, match="t10k-labels-idx1-ubyte.gz: expected uint8 labels"):
        load_mnist(directory, verify=False)


def test_raw_files_and_dotted_names(tmp_path, mnist_directory):
    directory = tmp_path / "raw"
    directory.mkdir()
    for stem in STEMS:
        contents = gzip.decompress(open(os.path.join(mnist_directory, stem + ".gz"), "rb").read())
        (directory / stem.replace("-idx", ".idx")).write_bytes(contents)
    (train_X, _), _ = load_mnist(directory, progress=False)
    assert train_X.shape == (60000, 784)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split must be one of 'standard', 'nielsen'"):
        load_mnist(split="book")
    with pytest.raises(ValueError, match="dtype must be"):
        load_mnist(dtype="int8")
