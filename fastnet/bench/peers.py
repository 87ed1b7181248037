"""The contenders of ``fastnet bench``: fastnet's backends and the libraries a user would pick instead.

Each contender trains the same network (sigmoid layers, batch 10, eta 3.0,
float32) on the same data, one epoch per call, visiting the examples in the
order it is given. Where the library allows, it starts from fastnet's initial
parameters and minimises the quadratic cost C = (1/m) Σ ½‖a − y‖² over each
mini-batch, so that accuracies are comparable. A contender whose library is
missing reports why and is skipped, never an error.
"""
import contextlib
import importlib
import time

import numpy as np

import fastnet
from ..mlp.layout import split_params
from ..backends.cython import cpu_levels


# module -> what to install to get it, where the names differ
PACKAGES = {"sklearn": "scikit-learn", "jax": "jax jaxlib"}


class Contender:
    """One way to train the network. Subclasses set ``name`` and implement the hooks."""

    name = ""
    requires = ()  # modules that must import

    def missing(self):
        """Why this contender cannot run here, or None."""
        for module in self.requires:
            try:
                importlib.import_module(module)
            except Exception as exc:  # noqa: BLE001 - any failure to import means "skip"
                return (f"{module} is not usable ({type(exc).__name__}: {exc}); pip install "
                        f"{PACKAGES.get(module, module)}")
        return None

    def setup(self, sizes, params, X, Y, eta):
        """Prepare to train from flat fastnet parameters ``params`` on X (n, 784), one-hot Y (n, 10)."""
        raise NotImplementedError

    def epoch(self, order, batch_size):
        """One epoch over ``order`` cut into mini-batches of ``batch_size``."""
        raise NotImplementedError

    def predict(self, X):
        """Predicted labels for X."""
        raise NotImplementedError

    def compile_seconds(self):
        """Seconds spent compiling before the first epoch (0 when nothing compiles)."""
        return 0.0


class FastnetBackend(Contender):
    def __init__(self, backend, level=None):
        self.backend, self.level = backend, level  # level: the Cython backend's CPU level (cpu_levels), if forced
        self.name = f"fastnet {backend}" + (f" {level}" if level else "")

    def _at_level(self):
        return at_level(self.level)

    def missing(self):
        return fastnet.backends.why_unavailable(self.backend)

    def setup(self, sizes, params, X, Y, eta):
        self.net = fastnet.Network(sizes, backend=self.backend)
        self.net.params = params
        self.kernels = self.net.kernels
        self.inputs, self.Y, self.eta = self.kernels.prepare_inputs(X), Y, eta
        start = time.perf_counter()
        _, sizes, *codes = self.net.kernel_arguments
        warm_up = self.net.params.copy()  # compile (or load) outside the timed epochs, on a copy
        with self._at_level():
            self.kernels.sgd_epoch(warm_up, sizes, *codes, self.inputs, Y, np.arange(min(len(Y), 20)), 10, eta)
        self._compile = time.perf_counter() - start

    def compile_seconds(self):
        return self._compile

    def epoch(self, order, batch_size):
        with self._at_level():
            self.kernels.sgd_epoch(*self.net.kernel_arguments, self.inputs, self.Y, order, batch_size, self.eta)

    def predict(self, X):
        with self._at_level():
            return self.net.predict(X)


class BookLoop(Contender):
    """The book's network.py style, written here: column vectors, one example at a time, in NumPy."""

    name = "per-example NumPy (network.py style)"

    def setup(self, sizes, params, X, Y, eta):
        weights, biases = split_params(params.copy(), sizes)
        self.weights = [w.copy() for w in weights]
        self.biases = [b.reshape(-1, 1).copy() for b in biases]
        self.X, self.Y, self.eta = X, Y, eta

    @staticmethod
    def _sigmoid(z):
        return 0.5 * (1 + np.tanh(0.5 * z))

    def _backprop(self, x, y):
        activations, a = [x], x
        for w, b in zip(self.weights, self.biases):
            a = self._sigmoid(w @ a + b)
            activations.append(a)
        delta = (a - y) * a * (1 - a)
        nabla_b, nabla_w = [None] * len(self.weights), [None] * len(self.weights)
        for layer in range(len(self.weights) - 1, -1, -1):
            nabla_b[layer], nabla_w[layer] = delta, delta @ activations[layer].T
            if layer:
                a = activations[layer]
                delta = (self.weights[layer].T @ delta) * a * (1 - a)
        return nabla_b, nabla_w

    def epoch(self, order, batch_size):
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            sum_b = [np.zeros_like(b) for b in self.biases]
            sum_w = [np.zeros_like(w) for w in self.weights]
            for i in batch:
                nabla_b, nabla_w = self._backprop(self.X[i].reshape(-1, 1), self.Y[i].reshape(-1, 1))
                sum_b = [s + n for s, n in zip(sum_b, nabla_b)]
                sum_w = [s + n for s, n in zip(sum_w, nabla_w)]
            step = self.eta / len(batch)
            self.weights = [w - step * n for w, n in zip(self.weights, sum_w)]
            self.biases = [b - step * n for b, n in zip(self.biases, sum_b)]

    def predict(self, X):
        a = X.T
        for w, b in zip(self.weights, self.biases):
            a = self._sigmoid(w @ a + b)
        return a.argmax(axis=0)


class PyTorch(Contender):
    """nn.Sequential of Linear + Sigmoid, the quadratic cost, plain SGD, on the CPU."""

    name = "PyTorch"
    requires = ("torch",)

    def setup(self, sizes, params, X, Y, eta):
        import torch

        layers = []
        for w, b in zip(*split_params(params, sizes)):
            linear = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(w.copy()))
                linear.bias.copy_(torch.from_numpy(b.copy()))
            layers += [linear, torch.nn.Sigmoid()]
        self.torch = torch
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=eta, momentum=0)
        self.X, self.Y = torch.from_numpy(X), torch.from_numpy(Y)

    def epoch(self, order, batch_size):
        torch = self.torch
        order = torch.from_numpy(order)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            self.optimizer.zero_grad()
            outputs = self.model(self.X[batch])
            loss = 0.5 * ((outputs - self.Y[batch]) ** 2).sum() / len(batch)  # mean over the batch of ½‖a − y‖²
            loss.backward()
            self.optimizer.step()

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(X)).argmax(dim=1).numpy()


class Jax(Contender):
    """The whole epoch compiled by XLA: jax.lax.scan over the mini-batches, gradients by jax.grad."""

    name = "JAX (lax.scan)"
    requires = ("jax",)

    def setup(self, sizes, params, X, Y, eta):
        import jax
        import jax.numpy as jnp

        weights, biases = split_params(params, sizes)
        self.params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(weights, biases)]
        self.X, self.Y, self.jax, self.jnp = jnp.asarray(X), jnp.asarray(Y), jax, jnp

        def forward(layers, x):
            for w, b in layers:
                x = jax.nn.sigmoid(x @ w.T + b)
            return x

        def cost(layers, x, y):
            return 0.5 * jnp.sum((forward(layers, x) - y) ** 2) / x.shape[0]

        def step(layers, batch):
            x, y = batch
            gradients = jax.grad(cost)(layers, x, y)
            return [(w - eta * gw, b - eta * gb) for (w, b), (gw, gb) in zip(layers, gradients)], None

        @jax.jit
        def epoch(layers, X, Y, batches):
            return jax.lax.scan(step, layers, (X[batches], Y[batches]))[0]

        self._epoch, self._forward = epoch, jax.jit(forward)
        self._compiled, self._compile = None, None

    def epoch(self, order, batch_size):
        if len(order) % batch_size:
            order = order[: len(order) - len(order) % batch_size]  # lax.scan needs equal batches
        batches = self.jnp.asarray(order.reshape(-1, batch_size))
        if self._compiled is None:  # compiled ahead of the first epoch, timed on its own
            start = time.perf_counter()
            self._compiled = self._epoch.lower(self.params, self.X, self.Y, batches).compile()
            self._compile = time.perf_counter() - start
        self.params = self.jax.block_until_ready(self._compiled(self.params, self.X, self.Y, batches))

    def compile_seconds(self):
        return self._compile or 0.0

    def predict(self, X):
        return np.asarray(self._forward(self.params, self.jnp.asarray(X)).argmax(axis=1))


class ScikitLearn(Contender):
    """MLPClassifier, solver "sgd", logistic hidden units, no momentum or regularisation.

    scikit-learn's classifier has no quadratic cost: its output layer is a
    softmax with the log-loss, and it draws its own initial weights. One epoch
    is one ``partial_fit`` over the examples in the given order.
    """

    name = "scikit-learn MLPClassifier"
    requires = ("sklearn",)

    def setup(self, sizes, params, X, Y, eta):
        import warnings

        from sklearn.neural_network import MLPClassifier

        warnings.filterwarnings("ignore", module="sklearn")
        self.model = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="logistic", solver="sgd",
                                   batch_size=10, learning_rate_init=eta, momentum=0.0, nesterovs_momentum=False,
                                   alpha=0.0, shuffle=False, random_state=0)
        self.X, self.labels, self.classes = X, Y.argmax(axis=1), np.arange(sizes[-1])

    def epoch(self, order, batch_size):
        self.model.batch_size = batch_size
        self.model.partial_fit(self.X[order], self.labels[order], classes=self.classes)

    def predict(self, X):
        return self.model.predict(X)


def time_alternated(ready, examples, epochs, batch_size, seed=0):
    """{name: [seconds of each epoch]}: epoch 1 of every contender, then epoch 2, ... on the same orders."""
    seconds = {contender.name: [] for contender in ready}
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(examples)
        for contender in ready:
            start = time.perf_counter()
            contender.epoch(order, batch_size)
            seconds[contender.name].append(time.perf_counter() - start)
    return seconds


def at_level(level):
    """A context in which the Cython backend runs at CPU ``level`` (None: as configured)."""
    return cpu_levels.use(level) if level else contextlib.nullcontext()


def fastnet_variants():
    """(backend, CPU level or None) for each of fastnet's backends; the Cython one once per CPU level this CPU
    runs, best first (``cpu_levels``)."""
    for name in fastnet.backends.names():
        if name == "cython" and fastnet.backends.why_unavailable(name) is None:
            yield from ((name, level) for level in reversed(cpu_levels.runnable(fastnet.backends.load(name).EXTENSION)))
        else:
            yield name, None


def contenders():
    """Every contender, fastnet's backends first."""
    return [*(FastnetBackend(name, level) for name, level in fastnet_variants()), BookLoop(), PyTorch(), Jax(),
            ScikitLearn()]
