"""The seed's explanations as numbers, for the web page and ``fastnet show``: how a network learns, and what a
GPT's embeddings hold.

Video 3, backprop as a story: ``nudges`` is what one example asks of every
layer (its gradient, read layer by layer), ``cohort_nudges`` the votes of a
random mini-batch and their mean, ``learn`` gradient steps on one example.
Video 2, the cost as a surface: ``cost_surface`` over two parameters, with the
path gradient descent takes on it. Video 5, embeddings: ``embedding_points``
(the token embeddings projected by PCA), ``neighbours`` (cosine similarity) and
``next_token_dots`` (the last position's vector dotted with every embedding:
the logits, which softmax turns into the next-token distribution).
"""
import copy

import numpy as np

from .core.checks import as_labels, check_int, check_positive_finite, check_seed

MAX_SURFACE_POINTS = 101  # a surface's grid is at most this many points a side
SURFACE_SAMPLE = 500  # training images the page's and fastnet show's surfaces take the mean cost over
MAX_LEARN_STEPS = 1000


# -- the digit network: backprop's nudges ------------------------------------------------------------------------

def _label(net, label):
    return int(as_labels("label", [label], 1, net.sizes[-1])[0])


def nudges(net, x, label):
    """What one example (image ``x``, its ``label``) asks of every layer of ``net``.

    With a_l each layer's activations, z_l = W_l a_{l-1} + b_l and
    δ_l = ∂C_x/∂z_l each layer's error (backpropagation's deltas):

    - ``desired``: y − a_L (n_L,), how far each output is from what the example
      wants: up for its label, down for the others (the video's nudges);
    - ``deltas``: δ_l for l = 1..L, each (n_l,), from the output back;
      a bias's gradient is its δ, so these are also ``bias_gradients``;
    - ``weight_gradients``: ∂C_x/∂W_l = δ_l a_{l-1}ᵀ, each (n_l, n_{l-1}):
      large where the previous activation is high ("change the weights
      where the activations are high");
    - ``weight_gradient_norms``: per layer, each neuron's ‖∂C_x/∂W_l[j]‖,
      its share of the vote on its incoming weights;
    - ``cost`` (C_x), ``output`` (a_L), ``prediction``, ``label``.

    ``deltas`` and ``weight_gradients`` are ``net.backprop(x, label)``'s.
    """
    label = _label(net, label)
    output = net.activations(x)[-1]
    nabla_b, nabla_w = net.backprop(x, label)
    target = np.zeros_like(output)
    target[label] = 1
    deltas = [b.reshape(-1) for b in nabla_b]
    return {"cost": net.cost(_as_row(x), [label]), "output": output, "prediction": int(np.argmax(output)),
            "label": label, "desired": target - output, "deltas": deltas, "bias_gradients": deltas,
            "weight_gradients": nabla_w, "weight_gradient_norms": [np.linalg.norm(w, axis=1) for w in nabla_w]}


def _as_row(x):
    """One example as a batch of one row: (n_0,) -> (1, n_0)."""
    return np.asarray(x).reshape(1, -1)


def cohort_nudges(net, x, label, X, y, *, size=9, seed=0):
    """The example's nudge beside those of ``size`` random training examples (rows of X, labels y), and their mean.

    Each example's vote is its gradient; stochastic gradient descent steps
    along the mean vote of a random cohort. Returns ``indices`` (the rows
    drawn), ``desired`` (size + 1, n_L), the example's first, ``mean_desired``
    (n_L,), ``mean_deltas`` (the mean bias gradient per layer, each (n_l,))
    and ``mean_first_layer`` (the mean ∂C/∂W_1, (n_1, n_0)).
    """
    size = check_int("size", size, 1, 1000)
    indices = np.random.default_rng(check_seed("seed", seed)).choice(len(X), size=size, replace=False)
    votes = [nudges(net, x, label)] + [nudges(net, X[i], y[i]) for i in indices]

    def mean(values):  # in float64, whatever the network's dtype
        return np.mean(values, axis=0, dtype=np.float64)

    desired = np.stack([vote["desired"] for vote in votes]).astype(np.float64)
    return {"indices": indices, "desired": desired, "labels": [vote["label"] for vote in votes],
            "mean_desired": mean(desired),
            "mean_deltas": [mean([vote["deltas"][l] for vote in votes]) for l in range(net.num_layers - 1)],
            "mean_first_layer": mean([vote["weight_gradients"][0] for vote in votes])}


def learn(net, x, label, *, eta, steps):
    """Take ``steps`` gradient steps of size ``eta`` on one example; the cost and prediction before and after.

    Changes ``net``'s parameters in place (``update_mini_batch`` on a batch of that one example).
    """
    label = _label(net, label)
    eta = check_positive_finite("eta", eta)
    steps = check_int("steps", steps, 1, MAX_LEARN_STEPS)
    row = _as_row(x)
    before = (net.cost(row, [label]), int(net.predict(row)[0]))
    for _ in range(steps):
        net.update_mini_batch(row, [label], eta)
    return {"cost_before": before[0], "prediction_before": before[1], "cost_after": net.cost(row, [label]),
            "prediction_after": int(net.predict(row)[0])}


def largest_gradient_params(net, x, label, count=2):
    """Indices into ``net.params`` of the ``count`` parameters with the largest |∂C_x/∂p| for one example."""
    gradient = net.gradient(_as_row(x), [_label(net, label)])
    return [int(i) for i in np.argsort(-np.abs(gradient), kind="stable")[:count]]


def parameter_name(sizes, index):
    """Which weight or bias ``params[index]`` of a network of ``sizes`` is, such as "W1[3, 402]" (layers from 1)."""
    offset = 0
    for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), 1):
        if index < offset + n_out * n_in:
            return f"W{layer}[{(index - offset) // n_in}, {(index - offset) % n_in}]"
        offset += n_out * n_in
        if index < offset + n_out:
            return f"b{layer}[{index - offset}]"
        offset += n_out
    raise ValueError(f"index must be below the {offset} parameters; got {index}")


def cost_surface(net, params, X, y, *, span=1.0, n=21, steps=20, eta=1.0):
    """The mean cost over (X, y) as two parameters vary around their values, and gradient descent's path on it.

    ``params``: two indices into ``net.params`` (its layout: layer by layer,
    W_l row-major then b_l). ``grid[a][b]`` is the mean cost with
    p_i = v_i + s_a and p_j = v_j + s_b for the ``n`` offsets s from −span to
    +span (n odd puts the current values at the centre); every other parameter
    is held. ``path``: ``steps`` steps of gradient descent on those two
    parameters alone, from the current values (p ← p − eta ∂C/∂p), as
    [p_i, p_j, cost] rows. Computed on a copy: ``net`` is not touched.
    """
    if not (isinstance(params, (list, tuple)) and len(params) == 2):
        raise ValueError(f"params must be two parameter indices; got {params!r}")
    i, j = (check_int("params", p, 0, net.num_params - 1) for p in params)
    if i == j:
        raise ValueError(f"params must be two different parameters; got {i} twice")
    span = check_positive_finite("span", span)
    n = check_int("n", n, 2, MAX_SURFACE_POINTS)
    steps = check_int("steps", steps, 0, MAX_LEARN_STEPS)
    eta = check_positive_finite("eta", eta)
    saved, net = net.params.copy(), copy.deepcopy(net)
    offsets = np.linspace(-span, span, n)
    grid = np.empty((n, n))
    for a, da in enumerate(offsets):
        for b, db in enumerate(offsets):
            net.params[i], net.params[j] = saved[i] + da, saved[j] + db
            grid[a, b] = net.cost(X, y)
    net.params[...] = saved
    path = [[float(saved[i]), float(saved[j]), net.cost(X, y)]]
    for _ in range(steps):
        gradient = net.gradient(X, y)
        net.params[i] -= eta * gradient[i]
        net.params[j] -= eta * gradient[j]
        path.append([float(net.params[i]), float(net.params[j]), net.cost(X, y)])
    return {"params": [i, j], "values": [float(saved[i]), float(saved[j])], "offsets": offsets, "grid": grid,
            "path": np.array(path)}


# -- the GPT: what embeddings hold -----------------------------------------------------------------------------

def token_texts(model):
    """The text of every token of ``model``'s tokenizer (its id's position), as the page shows it."""
    if model.tokenizer is None:
        raise ValueError("the GPT has no tokenizer, so its tokens have no text")
    return [model.tokenizer.to_bytes([t]).decode("utf-8", errors="replace")
            for t in range(model.tokenizer.vocab_size)]


def _embeddings(model):
    """The token embeddings wte (V, C) in float64, for the tokens the tokenizer knows."""
    vocab = model.vocab_size if model.tokenizer is None else model.tokenizer.vocab_size
    return model.state_dict()["transformer.wte.weight"][:vocab].astype(np.float64)


def embedding_points(model):
    """Each token's embedding projected on the two principal directions of all of them: (V, 2).

    PCA: the embeddings centred on their mean, projected on the first two
    right singular vectors of that matrix (directions of largest variance;
    each direction's sign is NumPy's SVD's).
    """
    wte = _embeddings(model)
    centred = wte - wte.mean(axis=0)
    _, _, directions = np.linalg.svd(centred, full_matrices=False)
    return centred @ directions[:2].T


def neighbours(model, token, k=10):
    """The ``k`` tokens whose embeddings point most nearly the way ``token``'s does: [(token id, cosine)], highest
    first, ``token`` itself left out. cosine(a, b) = a·b / (‖a‖ ‖b‖)."""
    wte = _embeddings(model)
    token = check_int("token", token, 0, len(wte) - 1)
    k = check_int("k", k, 1, len(wte) - 1) if len(wte) > 1 else 0
    norms = np.linalg.norm(wte, axis=1)
    cosines = wte @ wte[token] / np.maximum(norms * norms[token], np.finfo(np.float64).tiny)
    cosines[token] = -np.inf
    order = np.argsort(-cosines, kind="stable")[:k]
    return [(int(t), float(cosines[t])) for t in order]


def next_token_dots(model, tokens, temperature=1.0):
    """(h, dots, p): the last position's final vector h (C,) (after the last LayerNorm), its dot products with
    every token embedding, h·wte[t] (the logits, (V,)), and p = softmax(dots / temperature), the next-token pdf.

    Computed by the NumPy reference (``numpy_gpt.forward``, ``numpy_gpt.softmax``) on the model's parameters.
    """
    from .backends.numpy import gpt as numpy_gpt
    from .gpt import layout

    rows = np.asarray(tokens, dtype=np.int64).reshape(1, -1)[:, -model.context:]
    model.logits(rows)  # the model's own checks: token ids, finite parameters
    params = model.params.astype(np.float64)
    _, saved = numpy_gpt.forward(params, model.shape, rows)
    final = saved["xf"][0, -1]
    dots = layout.tensors(params, model.shape).wte @ final
    return final, dots, numpy_gpt.softmax(dots / check_positive_finite("temperature", temperature))
