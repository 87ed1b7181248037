"""The digit network's wing: ``Network`` (``network``), its training loop (``training``), the flat parameter
layout (``layout``), initialisation (``init``), the book's data format (``book_format``), files and
checkpoints (``files``), ONNX and PyTorch (``export``), pictures of what it learned (``pictures``) and the
``fastnet train`` and ``fastnet show`` commands (``cli``)."""
