"""Data sets: MNIST (found, shipped or downloaded), the IDX reader, image shifts, and text for the GPT."""
from .augment import random_shifts
from .download import DownloadError
from .idx import ChecksumError, IdxError, read_idx
from .mnist import Split, cache_directory, load_data_wrapper, load_mnist
from .text import load_text, split_text

__all__ = ["load_mnist", "load_data_wrapper", "load_text", "split_text", "read_idx", "cache_directory", "Split",
           "random_shifts",
           "IdxError", "ChecksumError", "DownloadError"]
