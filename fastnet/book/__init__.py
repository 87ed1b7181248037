"""Drop-ins for the programs of Nielsen's book: ``fastnet.book.network`` (chapter 1) and ``network2`` (chapter 3).

Code written for the book's modules runs on them unchanged, in the book's data
format (lists of ``(x, y)`` pairs as ``mnist_loader.load_data_wrapper`` gives,
or ``fastnet.datasets.load_data_wrapper``), with fastnet's kernels doing the work.
"""
