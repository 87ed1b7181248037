"""The digit page's answers: a ``Network``'s every layer, its weights and its archetypes, as JSON-ready values.

Every method takes values already checked by ``fastnet.serve.payloads`` and
returns plain lists and numbers. The backprop view may train the served
network (``learn``; ``reset`` restores what the server loaded, and the model
file is never written): it trains a copy and then puts the copy in the old
one's place, one assignment, so a request reads one network from start to
end and never waits for training; learning requests take turns (a lock).
"""
import copy
import threading

import numpy as np

from .. import lessons
from ..mlp import pictures
from .payloads import BadRequest

# The archetype the page draws: the regularised one of ``fastnet show archetype`` (L2 and a little blur give
# strokes rather than speckle).
ARCHETYPE_OPTIONS = {"l2": 0.02, "blur_sigma": 0.5}
DECIMALS = 6  # weights sent to the page, rounded: 6 decimals are far below what a colour shows


class DigitModel:
    """A trained digit network as the web page sees it.

    ``network`` a ``fastnet.Network`` whose input layer is a square image
    (784 = 28x28 for MNIST); ``source`` says where it came from (shown on the
    page); ``training``: (X, y), training images for the cohort and the cost
    surface (None: those views answer that there are none).
    """

    def __init__(self, network, source, training=None):
        self.side = pictures.image_side(network)
        self.network = network
        self.source = source
        self.training = training
        self._loaded = copy.deepcopy(network)  # what ``reset`` restores
        self._learning = threading.Lock()

    @property
    def probabilities_are(self):
        """How the probabilities are made from the outputs (the page labels the bar chart with it)."""
        if self.network.output == "softmax":
            return "softmax outputs"
        return "sigmoid outputs divided by their sum"

    def describe(self):
        """The network's shape and origin: what the page needs to lay out its neurons."""
        net = self.network
        return {"sizes": list(net.sizes), "activation": net.activation, "output": net.output, "cost": net.cost_name,
                "image_side": self.side, "probabilities_are": self.probabilities_are, "source": self.source}

    def predict(self, pixels):
        """pixels (n_0,) float in [0, 1] -> prediction, probabilities and every layer's activations (input first).

        Probabilities: the softmax outputs as they are; sigmoid outputs divided by
        their sum (each sigmoid output alone is not a probability of the digit).
        """
        layers = self.network.activations(pixels)
        output = layers[-1].astype(np.float64)
        total = output.sum()
        probabilities = output / total if total > 0 else np.full(output.shape, 1 / output.size)
        return {"prediction": int(np.argmax(output)), "probabilities": probabilities.tolist(),
                "probabilities_are": self.probabilities_are,
                "activations": [layer.astype(np.float64).tolist() for layer in layers]}

    def layer(self, index):
        """Layer ``index`` (1..L): its weights W_l (n_l, n_{l-1}) and biases b_l (n_l,), rounded to DECIMALS."""
        net = self.network
        weights, biases = net.weights[index - 1], net.biases[index - 1]
        return {"layer": index, "weights": np.round(weights.astype(np.float64), DECIMALS).tolist(),
                "biases": np.round(biases.astype(np.float64), DECIMALS).tolist()}

    def archetype(self, digit, seed):
        """An input the network takes for ``digit`` (gradient descent on the image), with the network's answer."""
        image = pictures.archetype(self.network, digit, seed=seed, **ARCHETYPE_OPTIONS)
        return {"digit": digit, "pixels": image.tolist(), **self.predict(image)}

    # -- how it learns (the seed's video 3 and 2) ---------------------------------------------------------------

    def backprop(self, pixels, label):
        """The nudges one example asks for (``fastnet.lessons.nudges``), the first layer's weight gradient whole."""
        nudges = lessons.nudges(self.network, pixels, label)
        return {"cost": nudges["cost"], "label": label, "prediction": nudges["prediction"],
                "output": _listed(nudges["output"]), "desired": _listed(nudges["desired"]),
                "deltas": [_listed(d) for d in nudges["deltas"]],
                "bias_gradients": [_listed(b) for b in nudges["bias_gradients"]],
                "weight_gradient_norms": [_listed(n) for n in nudges["weight_gradient_norms"]],
                "first_layer_gradient": _listed(nudges["weight_gradients"][0])}

    def learn(self, pixels, label, eta, steps):
        """``steps`` gradient steps of ``eta`` on this example, on the served copy; cost and prediction before/after."""
        with self._learning:
            network = copy.deepcopy(self.network)
            answer = lessons.learn(network, pixels, label, eta=eta, steps=steps)
            self.network = network  # requests under way finish on the network they started with
        return answer

    def reset(self):
        """The network as the server loaded it, exactly."""
        with self._learning:
            self.network = copy.deepcopy(self._loaded)
        return {"reset": True}

    def _training(self):
        if self.training is None:
            raise BadRequest("no training images are loaded in this server", status=503)
        return self.training

    def cohort(self, pixels, label, seed):
        """This example's nudge of the outputs beside those of 9 random training images, and their mean."""
        X, y = self._training()
        cohort = lessons.cohort_nudges(self.network, pixels, label, X, y, size=COHORT, seed=seed)
        images = np.asarray(X[cohort["indices"]], np.float64) / (255 if X.dtype == np.uint8 else 1)
        return {"labels": cohort["labels"], "images": _listed(images),
                "desired": _listed(cohort["desired"]), "mean_desired": _listed(cohort["mean_desired"]),
                "mean_deltas": [_listed(d) for d in cohort["mean_deltas"]]}

    def surface(self, pixels, label, params, span, n, steps, eta):
        """The mean cost over ``lessons.SURFACE_SAMPLE`` training images around two parameters (default: the two
        with the largest gradient for this example), and gradient descent's path (``lessons.cost_surface``)."""
        X, y = self._training()
        network = self.network
        if params is None:
            params = lessons.largest_gradient_params(network, pixels, label)
        X, y = X[:lessons.SURFACE_SAMPLE], y[:lessons.SURFACE_SAMPLE]
        surface = lessons.cost_surface(network, params, X, y, span=span, n=n, steps=steps, eta=eta)
        names = [lessons.parameter_name(network.sizes, p) for p in surface["params"]]
        return {"params": surface["params"], "names": names,
                "values": surface["values"], "offsets": _listed(surface["offsets"]), "grid": _listed(surface["grid"]),
                "path": _listed(surface["path"]), "sample": len(y)}


COHORT = 9  # random training images beside the drawing: a mini-batch of 10


def _listed(array):
    """A NumPy array (or number) as nested lists of Python floats."""
    return np.asarray(array, dtype=np.float64).tolist()
