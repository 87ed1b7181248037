"""Data sets: MNIST (found, downloaded or sampled) and the IDX reader."""
from .download import DownloadError
from .idx import ChecksumError, IdxError, read_idx
from .mnist import Split, cache_directory, load_data_wrapper, load_mnist

__all__ = ["load_mnist", "load_data_wrapper", "read_idx", "cache_directory", "Split",
           "IdxError", "ChecksumError", "DownloadError"]
