"""Write the MNIST sample shipped in fastnet/datasets/sample from the real files.

    python scripts/make_mnist_sample.py ../shared/datasets/mnist

Takes the first TRAIN training and first TEST test images with their labels
(the real files, not synthetic data), writes them as gzip IDX files in the
original format, and records their counts and MD5s in manifest.json.
"""
import gzip
import hashlib
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fastnet.datasets.idx import read_idx  # noqa: E402
from fastnet.datasets.mnist import FILES, SAMPLE_DIRECTORY, _files_in  # noqa: E402

TRAIN, TEST = 5000, 1000


def idx_bytes(array):
    """The IDX encoding of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def main(source):
    found, missing = _files_in(source)
    if missing:
        sys.exit(f"{source} lacks {missing}")
    manifest = {"train": TRAIN, "test": TEST, "md5": {}}
    for key, (stem, md5) in FILES.items():
        array = read_idx(found[key], md5=md5)[: TRAIN if key.startswith("train") else TEST]
        contents = idx_bytes(array)
        manifest["md5"][key] = hashlib.md5(contents).hexdigest()
        with open(os.path.join(SAMPLE_DIRECTORY, stem + ".gz"), "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
                out.write(contents)
    with open(os.path.join(SAMPLE_DIRECTORY, "manifest.json"), "w") as out:
        json.dump(manifest, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "datasets", "mnist"))
