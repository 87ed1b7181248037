"""Data sets: MNIST (found, downloaded or sampled), the IDX reader, and text for the GPT."""
from .download import DownloadError
from .idx import ChecksumError, IdxError, read_idx
from .mnist import Split, cache_directory, load_data_wrapper, load_mnist
from .text import load_text, split_text

__all__ = ["load_mnist", "load_data_wrapper", "load_text", "split_text", "read_idx", "cache_directory", "Split",
           "IdxError", "ChecksumError", "DownloadError"]
