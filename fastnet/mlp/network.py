"""The Network: one API over every backend.

This module checks and converts arguments, owns the parameters and hands
checked arrays to the active backend's kernels (``fastnet.backends``).
"""
import collections
import threading

import numpy as np

from .. import backends
from ..backends.numpy import mlp as numpy_backend
from ..backends.numpy.mlp import mean_cost
from ..core.checks import (as_batch, as_inputs, as_labels, as_targets, check_choice, check_dtype, check_finite_params,
                           check_positive_finite, check_seed, check_sizes)
from ..core.codes import ACTIVATIONS, COSTS, OUTPUTS, output_for
from ..core.records import TrainingDiverged, held
from . import files as persistence, training
from .book_format import book_pairs
from .init import INITS, initial_params
from .layout import sizes_array, split_params


KernelArguments = collections.namedtuple("KernelArguments", "params sizes activation output cost")


class Network:
    """A fully connected feed-forward network trained by mini-batch SGD.

    ``sizes`` lists the layer widths, input first: ``[784, 16, 16, 10]`` is
    3Blue1Brown's network (13,002 parameters), ``[784, 30, 10]`` the book's
    (23,860). Layer l computes ``a_{l+1} = f(W_l a_l + b_l)`` with
    ``W_l = weights[l]`` of shape ``(sizes[l+1], sizes[l])`` and
    ``b_l = biases[l]`` of shape ``(sizes[l+1],)``; f is ``activation`` in the
    hidden layers and ``output`` in the output layer. The input layer has no
    biases: it only holds the input.

    Parameters
    ----------
    sizes : sequence of int
    activation : "sigmoid", "relu", "tanh" or "gelu" (the exact, erf form) in the hidden layers
    cost : the cost C = 1/n Σ_x C_x that training minimises, with C_x:
        "quadratic" ½ ‖a_L − y‖² (the book's first network);
        "cross_entropy" −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)] (sigmoid outputs);
        "log_likelihood" −ln a_y (softmax outputs)
    output : "sigmoid" or "softmax" (outputs that sum to 1); by default the
        one the cost is defined for: softmax for "log_likelihood", else sigmoid
    init : "normal" (N(0, 1) weights, the book's), "xavier" (N(0, 1/n_in)) or
        "he" (N(0, 2/n_in)); biases are N(0, 1) in every scheme
    dtype : "float32" or "float64", for parameters and computation
    backend : "auto" or a name from ``fastnet.backends.available()``
    seed : int or None; the same seed gives bit-identical parameters (and,
        through ``fit``, training) on the same backend and machine
    """

    def __init__(self, sizes, *, activation="sigmoid", cost="quadratic", output=None, init="normal",
                 dtype="float32", backend="auto", seed=None):
        self._sizes = check_sizes(sizes)
        self._activation = check_choice("activation", activation, ACTIVATIONS)
        self._cost = check_choice("cost", cost, COSTS)
        expected_output = output_for(cost)
        self._output = expected_output if output is None else check_choice("output", output, OUTPUTS)
        if self._output != expected_output:
            raise ValueError(f"output={output!r} does not go with cost={cost!r}: the {cost} cost needs "
                             f"{expected_output} outputs (quadratic and cross_entropy: sigmoid; "
                             f"log_likelihood: softmax)")
        check_choice("init", init, INITS)
        self._dtype = check_dtype(dtype)
        self._rng = np.random.default_rng(check_seed("seed", seed))
        self.use_backend(backend)
        self._sizes_array = sizes_array(self._sizes)
        self._params = initial_params(self._sizes, init, self._rng, self._dtype)
        self._weights, self._biases = (tuple(views) for views in split_params(self._params, self._sizes))
        self._training = threading.Lock()

    def __getstate__(self):
        """For pickle and copy: everything but the lock and the backend module (kept by name)."""
        state = dict(self.__dict__)
        del state["_training"], state["_kernels"], state["_weights"], state["_biases"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._kernels = backends.load(self._backend)
        self._weights, self._biases = (tuple(views) for views in split_params(self._params, self._sizes))
        self._training = threading.Lock()

    def __repr__(self):
        return (f"Network({list(self._sizes)}, activation={self._activation!r}, cost={self._cost!r}, "
                f"output={self._output!r}, dtype={self._dtype.name!r}, backend={self._backend!r})")

    # -- parameters ---------------------------------------------------------

    @property
    def sizes(self):
        """Layer widths, input layer first."""
        return list(self._sizes)

    @property
    def num_layers(self):
        """Number of layers, the input layer included (as in the book)."""
        return len(self._sizes)

    @property
    def num_params(self):
        """Number of weights and biases."""
        return self._params.size

    @property
    def dtype(self):
        return self._dtype

    @property
    def activation(self):
        return self._activation

    @property
    def cost_name(self):
        """The cost's name ("quadratic", "cross_entropy" or "log_likelihood"); ``cost(X, y)`` evaluates it."""
        return self._cost

    @property
    def output(self):
        """The output layer's function: "sigmoid" or "softmax"."""
        return self._output

    @property
    def params(self):
        """All weights and biases in one flat array (layout: fastnet.mlp.layout); writable."""
        return self._params

    @params.setter
    def params(self, value):
        array = np.asarray(value)
        if array.shape != self._params.shape:
            raise ValueError(f"params must have shape {self._params.shape}; got shape {array.shape}")
        checked, _ = as_inputs("params", array.reshape(1, -1), array.size, self._dtype, pixels=False)
        self._params[...] = checked[0]

    @property
    def weights(self):
        """Per-layer weight matrices, writable views into ``params``."""
        return self._weights

    @weights.setter
    def weights(self, values):
        self._assign_layers("weights", self._weights, values)

    @property
    def biases(self):
        """Per-layer bias vectors, writable views into ``params``."""
        return self._biases

    @biases.setter
    def biases(self, values):
        self._assign_layers("biases", self._biases, values)

    def _assign_layers(self, argument, views, values):
        values = list(values)
        if len(values) != len(views):
            raise ValueError(f"{argument} must hold {len(views)} arrays, one per layer; got {len(values)}")
        checked = []
        for layer, (view, value) in enumerate(zip(views, values)):
            array = np.asarray(value)
            if array.size != view.size or array.squeeze().shape != view.squeeze().shape:
                raise ValueError(f"{argument}[{layer}] must have shape {view.shape}; got shape {array.shape}")
            rows, _ = as_inputs(f"{argument}[{layer}]", array.reshape(1, -1), view.size, self._dtype, pixels=False)
            checked.append(rows.reshape(view.shape))
        for view, value in zip(views, checked):
            view[...] = value

    # -- backend ------------------------------------------------------------

    @property
    def backend(self):
        """Name of the backend that runs the kernels; assign a name to switch."""
        return self._backend

    @backend.setter
    def backend(self, name):
        self.use_backend(name)

    def use_backend(self, name):
        """Run the kernels on backend ``name`` ("auto" picks the fastest usable one)."""
        self._kernels = backends.load(name)
        self._backend = backends.resolve(name)
        return self

    # -- what the kernels take (for the training loop and for code that calls a backend directly)

    @property
    def kernels(self):
        """The backend module whose kernels run this network (``fastnet.backends.KERNELS``)."""
        return self._kernels

    @property
    def kernel_arguments(self):
        """``KernelArguments(params, sizes, activation, output, cost)``: the first arguments of every kernel.

        ``params`` is the network's own array (kernels that train update it in
        place); ``sizes`` the int64 layer widths; the rest integer codes
        (``fastnet.core.codes``).
        """
        return KernelArguments(self._params, self._sizes_array, *self._codes)

    def training_lock(self):
        """A context that holds the network for one training run (``fastnet.core.records.held``)."""
        return held(self._training, self)

    @property
    def rng(self):
        """The network's random generator: ``fit`` draws its visiting orders from it when no seed is given."""
        return self._rng

    # -- evaluation ---------------------------------------------------------

    def _outputs(self, rows):
        check_finite_params(self._params)
        out = np.empty((len(rows), self._sizes[-1]), dtype=self._dtype)
        if len(rows) == 0:
            return out
        return self._kernels.feedforward(self._params, self._sizes_array, *self._codes[:2], rows, out)

    @property
    def _codes(self):
        """(activation, output, cost): the codes the kernels take."""
        return ACTIVATIONS.index(self._activation), OUTPUTS.index(self._output), COSTS.index(self._cost)

    def feedforward(self, x):
        """The network's output for x.

        One example ``(n_0,)`` gives ``(n_L,)``; rows ``(n, n_0)`` give
        ``(n, n_L)``; a book-style column ``(n_0, 1)`` gives a column ``(n_L, 1)``.
        """
        rows, form = as_inputs("x", x, self._sizes[0], self._dtype)
        outputs = self._outputs(rows)
        if form == "batch":
            return outputs
        return outputs[0] if form == "single" else outputs.reshape(-1, 1)

    def activations(self, x):
        """Every layer's activations for x: the list [a_0, a_1, ..., a_L], input first.

        a_0 is x as the network reads it (uint8 pixels v as v / 255), a_l =
        f(W_l a_{l-1} + b_l) and a_L the output. One example ``(n_0,)`` gives
        vectors ``(n_l,)``; rows ``(n, n_0)`` give ``(n, n_l)`` arrays; a
        book-style column ``(n_0, 1)`` gives columns ``(n_l, 1)``.
        """
        rows, form = as_inputs("x", x, self._sizes[0], self._dtype)
        check_finite_params(self._params)
        every = np.empty((len(rows), sum(self._sizes[1:])), dtype=self._dtype)
        if len(rows):
            self._kernels.activations(self._params, self._sizes_array, *self._codes[:2], rows, every)
        layers = [rows] + np.split(every, np.cumsum(self._sizes[1:-1]), axis=1)
        if form == "batch":
            return layers
        return [layer[0] if form == "single" else layer.reshape(-1, 1) for layer in layers]

    def predict(self, X):
        """Predicted class labels: argmax of the output. An int for one example, else an int64 array."""
        rows, form = as_inputs("X", X, self._sizes[0], self._dtype)
        labels = self._predict(rows)
        return labels if form == "batch" else int(labels[0])

    def evaluate(self, X, y=None):
        """Number of examples classified correctly (as the book's ``evaluate``).

        ``X`` (n, n_0) with labels ``y`` (n,) or one-hot (n, n_L); or, as in the
        book, a list of ``(x, label)`` pairs and no ``y``.
        """
        if y is None:
            X, y = book_pairs("test_data", X, self._sizes)
        rows = as_batch("X", X, self._sizes[0], self._dtype)
        return self._count_correct(rows, as_labels("y", y, len(rows), self._sizes[-1]))

    def _count_correct(self, rows, labels):
        return int(np.count_nonzero(self._predict(rows) == labels))

    def _predict(self, rows):
        check_finite_params(self._params)
        labels = np.empty(len(rows), dtype=np.int64)
        if len(rows) == 0:
            return labels
        return self._kernels.predict(self._params, self._sizes_array, *self._codes[:2], rows, labels)

    def accuracy(self, X, y):
        """Fraction of examples classified correctly."""
        return self.evaluate(X, y) / len(X)

    def cost(self, X, y):
        """Mean cost over the examples: (1/n) Σ_x C_x."""
        rows = as_batch("X", X, self._sizes[0], self._dtype)
        targets = as_targets("y", y, len(rows), self._sizes[-1], self._dtype)
        return mean_cost(self._codes[2], self._outputs(rows), targets)

    # -- gradients ----------------------------------------------------------

    def _example(self, x, y):
        """One example as a (1, n_0) row and (1, n_L) target, and whether it was a column."""
        rows, form = as_inputs("x", x, self._sizes[0], self._dtype)
        if form == "batch":
            raise ValueError(f"x must be one example, shape ({self._sizes[0]},) or ({self._sizes[0]}, 1); got shape "
                             f"{np.shape(x)}")
        y = np.asarray(y)
        if y.ndim == 0:
            y = y.reshape(1)
        elif y.shape in ((self._sizes[-1],), (self._sizes[-1], 1)):
            y = y.reshape(1, -1)
        else:
            raise ValueError(f"y must be a class label or a one-hot vector of length {self._sizes[-1]}; got shape "
                             f"{y.shape}")
        return rows, as_targets("y", y, 1, self._sizes[-1], self._dtype), form == "column"

    def backprop(self, x, y):
        """``(nabla_b, nabla_w)``: the gradient of one example's cost, layer by layer.

        Shaped like ``biases`` and ``weights``; for a book-style column x the
        bias gradients are columns too, as in the book.
        """
        row, target, column = self._example(x, y)
        grad = np.empty_like(self._params)
        self._kernels.backprop(self._params, self._sizes_array, *self._codes, row[0], target[0], grad)
        nabla_w, nabla_b = split_params(grad, self._sizes)
        if column:
            nabla_b = [b.reshape(-1, 1) for b in nabla_b]
        return nabla_b, nabla_w

    def gradient(self, X, y):
        """The gradient (P,) of the mean cost over the rows of X, laid out like ``params``."""
        rows = as_batch("X", X, self._sizes[0], self._dtype)
        targets = as_targets("y", y, len(rows), self._sizes[-1], self._dtype)
        grad = np.empty_like(self._params)
        return self._kernels.gradient(self._params, self._sizes_array, *self._codes, rows, targets, grad)

    def input_gradient(self, x, y, *, cost=None):
        """∂C_x/∂x (n_0,): how one example's cost changes with each input value.

        Backpropagation carried one layer further, to the input (``W_0ᵀ δ_1``);
        gradient descent on x with it draws what the network takes for label y
        (``fastnet.mlp.pictures.archetype``). ``cost`` names the cost to
        differentiate (default: the network's own); it must be one defined for
        the network's output layer. Computed by the NumPy reference on every
        backend: it is not a training kernel.
        """
        cost = self._cost if cost is None else check_choice("cost", cost, COSTS)
        if output_for(cost) != self._output:
            raise ValueError(f"cost {cost!r} is not defined for {self._output} outputs")
        row, target, _ = self._example(x, y)
        out = np.empty(self._sizes[0], self._dtype)
        return numpy_backend.input_gradient(self._params, self._sizes_array, *self._codes[:2], COSTS.index(cost),
                                            row[0], target[0], out)

    # -- training -----------------------------------------------------------

    def update_mini_batch(self, X, y, eta=None):
        """One SGD step on one mini-batch: params -= eta · (mean gradient over the batch).

        Also accepts the book's form ``update_mini_batch(mini_batch, eta)``
        with a list of ``(x, y)`` pairs.
        """
        if eta is None:
            (X, y), eta = book_pairs("mini_batch", X, self._sizes), y
        eta = check_positive_finite("eta", eta)
        rows = as_batch("X", X, self._sizes[0], self._dtype)
        targets = as_targets("y", y, len(rows), self._sizes[-1], self._dtype)
        check_finite_params(self._params)
        with self.training_lock():
            before = self._params.copy()
            self._kernels.sgd_epoch(*self.kernel_arguments, rows, targets, np.arange(len(rows)), len(rows), eta)
            if not np.isfinite(self._params).all():
                self._params[...] = before
                raise TrainingDiverged(f"the step made the parameters NaN or infinite: try a smaller eta "
                                                f"than {eta} (the parameters from before the step are kept)")

    def fit(self, X, y, *, epochs=30, batch_size=10, eta=3.0, lmbda=0.0, momentum=0.0, validation=None,
            test=None, seed=None, progress=True, callbacks=None, halve_eta_patience=None,
            early_stopping_patience=None, checkpoint=None, resume=None, training_metrics="running",
            halve_eta_after=None, augment=None):
        """Train by mini-batch stochastic gradient descent; returns a ``fastnet.History``.

        Each epoch visits the examples in an order drawn from
        ``numpy.random.default_rng(seed)`` (or the network's own generator when
        ``seed`` is None), cut into mini-batches of ``batch_size``; the last,
        shorter batch is averaged over its own size. Every backend visits the
        same batches in the same order.

        ``lmbda``: L2 regularisation with the book's semantics, the cost
        C + (λ/2n) Σ w² over the n training examples: each step multiplies the
        weights (not the biases) by 1 − eta·λ/n. ``momentum`` μ in [0, 1):
        v = μ v − eta ∇, params += v.

        X may be uint8 pixels (read as v / 255), float32 or float64; a compiled
        backend prepares it in one pass, and again only when X has changed
        since it was last prepared.

        Each epoch records the training cost and accuracy: by default
        (``training_metrics="running"``) those of the epoch's own forward
        passes, at no extra cost; ``"exact"`` measures the whole training set
        after the epoch instead. ``validation=(X_val, y_val)`` and
        ``test=(X_test, y_test)`` are measured after each epoch (cost and
        accuracy, see ``History``). With a validation set, ``halve_eta_patience=k`` halves
        eta after k epochs without a better validation accuracy, and
        ``early_stopping_patience=k`` stops after k such epochs and returns to
        the parameters of the best one.

        ``halve_eta_after=[k, ...]`` halves eta after each of those epochs (a
        fixed schedule). ``augment`` is a callable ``f(X, rng)`` that gives the
        rows each epoch trains on (same shape; drawn with the epoch's generator
        after its visiting order), such as ``fastnet.datasets.random_shifts()``;
        the training metrics are then those of the changed rows.

        ``checkpoint=path`` saves the network and the training state after
        every epoch (atomically); ``resume=path`` continues from such a file,
        with the same arguments, to the same result as an uninterrupted run
        (``epochs`` counts from the start of training).

        ``progress`` draws a bar on a terminal. Each of ``callbacks`` is called
        as ``callback(net, record)`` after every epoch with that epoch's
        record; training stops after an epoch for which any returns True.
        If the cost becomes NaN or infinite, ``TrainingDiverged`` is raised
        and the parameters from before that epoch are kept.
        """
        with self.training_lock():
            return training.fit(self, X, y, epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda,
                                momentum=momentum, validation=validation, test=test, seed=seed, progress=progress,
                                callbacks=callbacks, halve_eta_patience=halve_eta_patience,
                                early_stopping_patience=early_stopping_patience, checkpoint=checkpoint, resume=resume,
                                training_metrics=training_metrics, halve_eta_after=halve_eta_after, augment=augment)

    def save(self, path):
        """Write the network to ``path`` (.npz, atomically); read it back with ``fastnet.load``.

        A network whose params hold NaN or infinite values is refused (ValueError): no file is written.
        """
        check_finite_params(self._params)
        return persistence.save(self, path)

    # -- other formats (fastnet.mlp.export; onnx and torch are imported only when asked for)

    def to_onnx(self, path):
        """Write the network to ``path`` as an ONNX model: input "x" (n, n_0), output "y" (n, n_L)."""
        from . import export

        check_finite_params(self._params)
        return export.to_onnx(self, path)

    def to_torch(self):
        """A ``torch.nn.Sequential`` (Linear and activation modules) with this network's parameters and outputs."""
        from . import export

        check_finite_params(self._params)
        return export.to_torch(self)

    @classmethod
    def from_torch(cls, module, *, cost=None, backend="auto"):
        """A Network from a ``torch.nn.Sequential`` of Linear layers, each followed by Sigmoid, ReLU, Tanh or GELU
        (the same one in every hidden layer) and Sigmoid or Softmax after the last
        (``fastnet.mlp.export.from_torch``)."""
        from . import export

        return export.from_torch(module, cls, cost=cost, backend=backend)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """The book's ``SGD``: the same arguments and data format, the same printed lines.

        ``training_data`` is a list of ``(x, y)`` with x ``(784, 1)`` and y a
        one-hot ``(10, 1)``; ``test_data`` a list of ``(x, label)``.
        """
        X, Y = book_pairs("training_data", training_data, self._sizes)
        test = None if test_data is None else book_pairs("test_data", test_data, self._sizes)

        def print_epoch(net, record):
            if test is None:
                print(f"Epoch {record['epoch'] - 1} complete")
            else:
                print(f"Epoch {record['epoch'] - 1}: {round(record['test_accuracy'] * len(test[0]))} / {len(test[0])}")

        self.fit(X, Y, epochs=epochs, batch_size=mini_batch_size, eta=eta, test=test, progress=False,
                 callbacks=[print_epoch])
