"""The digit page's answers: a ``Network``'s every layer, its weights and its archetypes, as JSON-ready values.

Every method takes values already checked by ``fastnet.serve.payloads`` and
returns plain lists and numbers. The network is only read, never trained, so
any number of requests may use it at once: the forward pass runs in compiled
code that does not hold the GIL.
"""
import numpy as np

from .. import pictures

# The archetype the page draws: the regularised one of ``fastnet show archetype`` (L2 and a little blur give
# strokes rather than speckle).
ARCHETYPE_OPTIONS = {"l2": 0.02, "blur_sigma": 0.5}
DECIMALS = 6  # weights sent to the page, rounded: 6 decimals are far below what a colour shows


class DigitModel:
    """A trained digit network as the web page sees it.

    ``network`` a ``fastnet.Network`` whose input layer is a square image
    (784 = 28x28 for MNIST); ``source`` says where it came from (shown on the page).
    """

    def __init__(self, network, source):
        self.side = pictures.image_side(network)
        self.network = network
        self.source = source

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
