"""MNIST: where the files are found, and how they become arrays.

Sources, in order: the ``path`` argument; the ``FASTNET_DATA`` environment
variable; the cache folder (``$FASTNET_CACHE`` or ``~/.cache/fastnet``, in its
``mnist`` subfolder); the full MNIST shipped inside the package (the four
original files, 11 MB: the default offline); and, in an installation without
those files, a verified download from the public mirrors into the cache.

Decoded images and labels are kept beside the cache as ``.npy`` files
(``decoded_arrays``), written once after their checksums were verified, so a
second load reads them instead of decompressing and parsing again.
"""
import collections
import hashlib
import os

import numpy as np

from ..core.checks import check_choice
from ..core.storage import open_for_reading, replace_atomically
from ..core.pixels import PIXEL_MAX
from . import download as downloads
from .idx import IdxError, read_idx

# The four files and the MD5 of their uncompressed contents.
FILES = {
    "train_images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
}
SPLITS = ("standard", "nielsen")
DATA_VARIABLE = "FASTNET_DATA"
CACHE_VARIABLE = "FASTNET_CACHE"
EMBEDDED_DIRECTORY = os.path.join(os.path.dirname(__file__), "mnist_files")
DTYPES = ("float32", "float64", "uint8")

Split = collections.namedtuple("Split", ["images", "labels"])


class Mnist(tuple):
    """``(train, test)`` or, for the book's split, ``(train, validation, test)``.

    Each element is a ``Split(images, labels)``; ``source`` says where the
    data came from.
    """

    def __new__(cls, splits, source):
        self = super().__new__(cls, splits)
        self.source = source
        return self


def cache_directory():
    """Where downloaded files are kept: $FASTNET_CACHE/mnist or ~/.cache/fastnet/mnist."""
    root = os.environ.get(CACHE_VARIABLE) or os.path.join(os.path.expanduser("~"), ".cache", "fastnet")
    return os.path.join(root, "mnist")


def _find_file(directory, stem):
    """The file for ``stem`` in ``directory`` (raw or .gz; also the common "train-images.idx3-ubyte" spelling)."""
    spellings = (stem, stem.replace("-idx", ".idx"))
    for name in spellings:
        for candidate in (name, name + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    return None


def _files_in(directory):
    """{key: path} for the four files in ``directory``, and the stems that are missing."""
    found = {key: _find_file(directory, stem) for key, (stem, _) in FILES.items()}
    missing = [FILES[key][0] for key, path in found.items() if path is None]
    return found, missing


def _explicit_directory(directory, what):
    found, missing = _files_in(directory)
    if missing:
        raise FileNotFoundError(f"{what} {directory!r} lacks the MNIST files {', '.join(missing)} (raw or .gz)")
    return found


def locate(path=None, *, download=True, progress=True):
    """``({key: path}, description)`` of the MNIST files to read, trying each source in order."""
    if path is not None:
        return _explicit_directory(os.fspath(path), "path"), f"MNIST from {os.fspath(path)}"
    if os.environ.get(DATA_VARIABLE):
        directory = os.environ[DATA_VARIABLE]
        return _explicit_directory(directory, DATA_VARIABLE), f"MNIST from {directory} ({DATA_VARIABLE})"
    cache = cache_directory()
    found, missing = _files_in(cache)
    if not missing:
        return found, f"MNIST from the cache {cache}"
    embedded, missing_here = _files_in(EMBEDDED_DIRECTORY)
    if not missing_here:
        return embedded, "MNIST shipped with fastnet"
    reason = "this installation does not include MNIST"
    if download:
        try:
            for key, (stem, md5) in FILES.items():
                if found[key] is None:
                    found[key] = downloads.download(stem + ".gz", cache, md5, progress=progress)
            return found, f"MNIST downloaded to {cache}"
        except downloads.DownloadError as exc:
            attempts = str(exc).splitlines()[1:]
            reason = f"the download failed ({len(attempts)} mirrors tried; last: {attempts[-1].strip()})"
        except OSError as exc:  # the cache folder cannot be made or written
            reason = f"it cannot be downloaded into {cache} ({exc})"
    raise FileNotFoundError(f"MNIST not found: {reason}; put the four MNIST files in {cache} or point "
                            f"{DATA_VARIABLE} at them{'' if download else ', or allow the download'}")


def _read_split(images_path, labels_path, keys, verify):
    images = decoded_arrays(images_path, FILES[keys[0]][1] if verify else None)
    labels = decoded_arrays(labels_path, FILES[keys[1]][1] if verify else None)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IdxError(images_path, f"expected uint8 images (n, rows, columns); got {images.dtype} of shape "
                                    f"{images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IdxError(labels_path, f"expected uint8 labels (n,); got {labels.dtype} of shape {labels.shape}")
    if len(images) == 0:
        raise IdxError(images_path, "holds no images")
    if len(images) != len(labels):
        raise IdxError(labels_path, f"holds {len(labels)} labels but {images_path} holds {len(images)} images")
    if len(labels) and labels.max() > 9:
        raise IdxError(labels_path, f"holds label {labels.max()}; MNIST labels are 0 to 9")
    return images, labels


def decoded_arrays(path, md5):
    """The array of the IDX file at ``path`` (its MD5 checked when ``md5`` is given), read from a ``.npy``
    file in ``$FASTNET_CACHE/decoded`` when one was written before.

    The ``.npy`` file is named after the IDX file's real path, size, modification
    time and the MD5 asked for, so a changed file is decoded (and verified)
    again; it is written atomically after the IDX file was read and verified.
    Without a usable cache folder the file is decoded every time. (Read, not
    memory-mapped: a mapped file cut short by another program would crash the
    interpreter on the next read of the array.)
    """
    status = os.stat(path)
    identity = f"{os.path.realpath(path)}\0{status.st_size}\0{status.st_mtime_ns}\0{md5}"
    name = f"{os.path.basename(path).split('.')[0]}-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.npy"
    decoded = os.path.join(os.path.dirname(cache_directory()), "decoded", name)
    try:
        with open_for_reading(decoded) as file:
            return np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError):  # not written yet, damaged or not a file: decode again
        pass
    array = read_idx(path, md5=md5)
    try:
        os.makedirs(os.path.dirname(decoded), exist_ok=True)
        replace_atomically(decoded, lambda file: np.save(file, array, allow_pickle=False))
    except OSError:  # a read-only or full disk: cache nothing
        pass
    return array


def load_mnist(path=None, *, split="standard", download=True, verify=True, dtype="float32", progress=True):
    """MNIST as arrays: images (n, 784) of ``dtype``, labels (n,) int64.

    ``dtype`` "float32" or "float64" gives pixels scaled to [0, 1];
    "uint8" gives the original pixels 0..255 (4x less memory; fastnet's
    networks read uint8 pixels v as v / 255, bit for bit the values the
    float32 images hold).

    ``split="standard"`` gives ``(train, test)``: 60,000 and 10,000 images.
    ``split="nielsen"`` gives the book's ``(train, validation, test)``:
    50,000, 10,000 and 10,000 (the validation set is the last sixth of the
    original training set). Each is a ``Split(images, labels)``; the result's
    ``source`` attribute says where the files came from (module docstring).

    ``verify`` checks the MD5 of each file's contents against the official
    MNIST (pass False for other data in the same format, such as
    Fashion-MNIST); ``download=False`` never touches the network.
    """
    check_choice("split", split, SPLITS)
    check_choice("dtype", np.dtype(dtype).name if isinstance(dtype, (type, np.dtype)) else dtype, DTYPES)
    dtype = np.dtype(dtype)
    found, source = locate(path, download=download, progress=progress)
    parts = []
    for part in ("train", "test"):
        keys = (f"{part}_images", f"{part}_labels")
        images, labels = _read_split(found[keys[0]], found[keys[1]], keys, verify)
        images = images.reshape(len(images), -1)
        if dtype != np.uint8:
            images = images.astype(dtype)
            images /= PIXEL_MAX
        parts.append(Split(images, labels.astype(np.int64)))
    train, test = parts
    if train.images.shape[1] != test.images.shape[1]:
        raise IdxError(found["test_images"], f"holds images of {test.images.shape[1]} pixels, but the training "
                                             f"images have {train.images.shape[1]}")
    if split == "nielsen":
        cut = len(train.labels) - len(train.labels) // 6
        validation = Split(train.images[cut:], train.labels[cut:])
        train = Split(train.images[:cut], train.labels[:cut])
        return Mnist((train, validation, test), source)
    return Mnist((train, test), source)


def load_data_wrapper(path=None, **options):
    """The book's ``mnist_loader.load_data_wrapper()``: lists of pairs for ``Network.SGD``.

    ``(training_data, validation_data, test_data)``: training pairs are
    ``(x, y)`` with x a (784, 1) column and y a one-hot (10, 1) column;
    validation and test pairs are ``(x, label)``. Options go to ``load_mnist``.
    """
    train, validation, test = load_mnist(path, split="nielsen", **options)
    one_hot = np.eye(10, dtype=train.images.dtype)[:, :, None]

    def columns(images):
        return list(images[:, :, None])

    training_data = list(zip(columns(train.images), one_hot[train.labels]))
    validation_data = list(zip(columns(validation.images), validation.labels.tolist()))
    test_data = list(zip(columns(test.images), test.labels.tolist()))
    return training_data, validation_data, test_data
