"""Batch prediction on Dask arrays: ``fastnet.dask.predict(net, X)``.

    >>> import dask.array as da
    >>> X = da.from_zarr("images.zarr")          # (n, 784), chunked by rows
    >>> labels = fastnet.dask.predict(net, X)    # a lazy (n,) int64 array
    >>> labels.compute()

Each chunk of rows is one task that calls ``net.predict``, whose compiled
forward pass releases the GIL: Dask's threaded scheduler (or a distributed
cluster) predicts chunks in parallel. The network enters the task graph once.
Needs dask (``pip install "dask[distributed]"``).
"""
import numpy as np

__all__ = ["predict"]


def _predict_block(block, net):
    return net.predict(block) if len(block) else np.empty(0, np.int64)


def predict(net, X):
    """Labels (n,) int64 for the rows of the dask array X (n, n_0): lazy, one task per chunk of rows."""
    import dask
    import dask.array as da

    from .mlp.network import Network

    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastnet.Network; got {type(net).__name__}")
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask array (for a NumPy array call net.predict(X)); got {type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ValueError(f"X must have shape (n, {net.sizes[0]}) to match the input layer; got shape {X.shape}")
    rows = X.rechunk({1: -1})  # each task gets whole rows
    return rows.map_blocks(_predict_block, dask.delayed(net), drop_axis=1, dtype=np.int64,
                           meta=np.empty(0, np.int64))
