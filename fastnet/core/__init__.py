"""What both wings share, below the backends: the names and codes of activations and costs (``codes``),
argument checks (``checks``), floating-point matters (``numerics``), reading and writing files safely
(``storage``), progress (``progress``) and the pieces of a training run (``records``). Nothing here imports
a wing or a backend."""
