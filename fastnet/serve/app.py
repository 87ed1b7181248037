"""The web application: the two pages (static files) and the JSON API they use.

Routes (every answer JSON, errors as ``{"error": message}`` with a 4xx status):

=======  ===========================  =================================================================
GET      /                            the page (``static/index.html``)
GET      /api/health                  ``{"status": "ok", "network": ..., "gpt": ...}``
GET      /api/network                 the digit network's sizes, activation, output and origin
GET      /api/network/layers/{l}      W_l (n_l, n_{l-1}) and b_l (n_l,) of layer l = 1..L
POST     /api/predict                 ``{"pixels": [784 numbers in [0, 1]]}`` -> prediction,
                                      probabilities, every layer's activations (input first)
POST     /api/archetype               ``{"digit": d, "seed": s}`` -> an input the network takes for d
GET      /api/gpt                     whether a GPT answers, its shape, the background training
POST     /api/gpt/next                ``{"prompt", "temperature", "top_k", "count"}`` -> tokens and
                                      probabilities, most likely first
POST     /api/gpt/generate            the same with ``max_new_tokens`` and ``seed``: a stream of
                                      JSON lines ``{"text": piece}``, then ``{"done": true}``
POST     /api/gpt/attention           ``{"prompt", "layer", "head"}`` -> tokens and weights (T, T)
POST     /api/backprop                ``{"pixels", "label"}`` -> the nudges that example asks for: cost,
                                      output, desired, deltas, bias_gradients, weight_gradient_norms,
                                      first_layer_gradient (``fastnet.lessons.nudges``)
POST     /api/learn                   ``{"pixels", "label", "eta", "steps"}`` -> cost and prediction before
                                      and after that many steps on the served copy
POST     /api/reset                   ``{}`` -> the network as the server loaded it
POST     /api/cohort                  ``{"pixels", "label", "seed"}`` -> the drawing's nudge of the outputs
                                      beside 9 random training images', and their mean
POST     /api/surface                 ``{"pixels", "label", "params", "span", "n", "steps", "eta"}`` -> the
                                      mean cost on a grid around two parameters, gradient descent's path
GET      /api/gpt/embeddings          every token and its embedding projected to 2-D by PCA
POST     /api/gpt/neighbours          ``{"token", "k"}`` -> ``[{"token", "text", "cosine"}]``, most similar first
POST     /api/gpt/dots                ``{"prompt", "temperature"}`` -> the last vector, its dot products
                                      with every embedding and the next-token distribution
=======  ===========================  =================================================================

Every request passes ``Guard`` first: the Host header must name this server
(127.0.0.1, localhost, [::1] or the --host value, with its port), so a page
on another domain that resolves to 127.0.0.1 (DNS rebinding) gets 400; a
POST must say ``Content-Type: application/json`` (415 otherwise) and, when a
browser sends an Origin, come from this server's own origin (403 otherwise),
so another site's page cannot make the browser post to it.

The models run in worker threads (``run_in_threadpool``), so a request never
blocks the event loop, and the network's compiled forward pass releases the
GIL: requests are answered in parallel.
"""
import json
import os
import urllib.parse

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import payloads
from .payloads import BadRequest

STATIC = os.path.join(os.path.dirname(__file__), "static")
TOP_TOKENS = 20  # the next-token list's default length
MAX_LEARN_STEPS = 200  # gradient steps one /api/learn or /api/surface request takes at most
MAX_SURFACE_SIDE = 41  # a surface's grid side: 41 x 41 mean costs over the sample take about a second


async def _body(request):
    """The request's JSON object; a body over MAX_BODY_BYTES is refused (413) by its Content-Length, or as soon
    as the bytes read pass the limit, without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit():  # (a 5,000-digit length is over the limit, not an int to parse)
        payloads.check_body_size(int(declared) if len(declared) < 19 else payloads.MAX_BODY_BYTES + 1)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            payloads.check_body_size(len(body))
    except ClientDisconnect:  # the client left mid-body (or was cut off for being too slow): no one to answer
        raise BadRequest("the client disconnected before sending the whole body") from None
    return payloads.decode(bytes(body))


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _host_and_port(authority):
    """(host name in lower case, port or None) of "host[:port]" ("[::1]:8000" gives "::1"); ("", None) if invalid."""
    if any(character in authority for character in "@/?#\\ "):  # a Host header is a name and a port, nothing else
        return "", None
    try:
        parts = urllib.parse.urlsplit(f"//{authority}")
        return parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number, or out of range
        return "", None


class Guard:
    """ASGI middleware: refuse requests for other hosts (400), POSTs that are not JSON (415) or that a page of
    another origin makes (403), before any route runs.

    ``hosts``: the host names this server answers to (lower case; IPv6 in
    brackets); ``port``: the port it serves (None: any).
    """

    def __init__(self, app, hosts, port):
        self.app, self.port = app, port
        self.hosts = {_host_and_port(host)[0] for host in hosts}

    def _authority_ok(self, authority):
        host, port = _host_and_port(authority)
        return host in self.hosts and (self.port is None or (port or 80) == self.port)

    def _refusal(self, scope):
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        host = headers.get("host", "")
        if not self._authority_ok(host):
            return 400, f"this server answers requests for {', '.join(sorted(self.hosts))}, not for Host {host!r}"
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            scheme, _, authority = (origin or "").partition("://")
            if origin is not None and not (scheme == "http" and self._authority_ok(authority)):
                return 403, f"requests from the page of another origin ({origin}) are refused"
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return 415, f"the request body must be JSON sent as Content-Type: application/json; got {kind!r}"
        return None

    async def __call__(self, scope, receive, send):
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            return await self.app(scope, receive, send)
        status, message = refusal
        return await JSONResponse({"error": message}, status_code=status)(scope, receive, send)


def make_app(digits, language, hosts=LOOPBACK_NAMES, port=None):
    """The Starlette application serving ``digits`` (a ``DigitModel``) and ``language`` (a ``LanguageModel``).

    It answers requests whose Host is one of ``hosts`` on ``port`` (None: any port); see ``Guard``.
    """

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"))

    async def health(request):
        return JSONResponse({"status": "ok", "network": digits.describe(), "gpt": language.status()})

    async def network(request):
        return JSONResponse(digits.describe())

    async def layer(request):
        text, count = request.path_params["index"], len(digits.network.sizes) - 1
        index = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None  # no huge numbers
        if index is None or not 1 <= index <= count:
            raise BadRequest(f"layer must be from 1 to {count}; got {text[:20]!r}", 404)
        return JSONResponse(await run_in_threadpool(digits.layer, index))

    async def predict(request):
        pixels = payloads.pixels(await _body(request), digits.network.sizes[0])
        return JSONResponse(await run_in_threadpool(digits.predict, pixels))

    async def archetype(request):
        body = await _body(request)
        digit = payloads.integer(body, "digit", 0, digits.network.sizes[-1] - 1)
        seed = payloads.integer(body, "seed", 0, 2**32 - 1, default=0)
        return JSONResponse(await run_in_threadpool(digits.archetype, digit, seed))

    def _example(body):
        return (payloads.pixels(body, digits.network.sizes[0]),
                payloads.integer(body, "label", 0, digits.network.sizes[-1] - 1))

    async def backprop(request):
        pixels, label = _example(await _body(request))
        return JSONResponse(await run_in_threadpool(digits.backprop, pixels, label))

    async def learn(request):
        body = await _body(request)
        pixels, label = _example(body)
        eta = payloads.positive(body, "eta", 100, 3.0)
        steps = payloads.integer(body, "steps", 1, MAX_LEARN_STEPS, default=1)
        return JSONResponse(await run_in_threadpool(digits.learn, pixels, label, eta, steps))

    async def reset(request):
        await _body(request)
        return JSONResponse(await run_in_threadpool(digits.reset))

    async def cohort(request):
        body = await _body(request)
        pixels, label = _example(body)
        seed = payloads.integer(body, "seed", 0, 2**32 - 1, default=0)
        return JSONResponse(await run_in_threadpool(digits.cohort, pixels, label, seed))

    async def surface(request):
        body = await _body(request)
        pixels, label = _example(body)
        params = body.get("params")
        if params is not None:
            if not isinstance(params, list) or len(params) != 2:
                raise BadRequest(f"params must be a list of two parameter indices; got {params!r}")
            params = [payloads.integer({"params": p}, "params", 0, digits.network.num_params - 1) for p in params]
            if params[0] == params[1]:
                raise BadRequest(f"params must be two different parameters; got {params}")
        options = dict(span=payloads.positive(body, "span", 100, 2.0),
                       n=payloads.integer(body, "n", 3, MAX_SURFACE_SIDE, default=21),
                       steps=payloads.integer(body, "steps", 0, MAX_LEARN_STEPS, default=20),
                       eta=payloads.positive(body, "eta", 100, 3.0))
        return JSONResponse(await run_in_threadpool(digits.surface, pixels, label, params, **options))

    async def gpt_embeddings(request):
        return JSONResponse(await run_in_threadpool(language.embeddings))

    async def gpt_neighbours(request):
        body = await _body(request)
        token = payloads.integer(body, "token", 0, 10**9)
        k = payloads.integer(body, "k", 1, 100, default=10)
        return JSONResponse(await run_in_threadpool(language.neighbours, token, k))

    async def gpt_dots(request):
        body = await _body(request)
        prompt, temperature = payloads.prompt(body), payloads.temperature(body)
        return JSONResponse(await run_in_threadpool(language.dots, prompt, temperature))

    async def gpt_status(request):
        return JSONResponse(language.status())

    def _sampling(body):  # a top_k above the vocabulary keeps every token
        return dict(temperature=payloads.temperature(body), top_k=payloads.optional_integer(body, "top_k", 1, 10**9))

    async def gpt_next(request):
        body = await _body(request)
        prompt, sampling = payloads.prompt(body), _sampling(body)
        count = payloads.integer(body, "count", 1, 1000, default=TOP_TOKENS)
        return JSONResponse(await run_in_threadpool(language.next_tokens, prompt, count=count, **sampling))

    async def gpt_generate(request):
        body = await _body(request)
        prompt, sampling = payloads.prompt(body), _sampling(body)
        count = payloads.integer(body, "max_new_tokens", 1, payloads.MAX_NEW_TOKENS, default=200)
        seed = payloads.optional_integer(body, "seed", 0, 2**32 - 1)
        pieces = await run_in_threadpool(language.generate, prompt, count, seed=seed, **sampling)

        def lines():  # iterated in a worker thread by Starlette: each token computed there
            try:
                for piece in pieces:
                    yield json.dumps({"text": piece}) + "\n"
            except ValueError as exc:  # the status is sent: the stream ends with the error instead of "done"
                yield json.dumps({"error": str(exc)}) + "\n"
                return
            yield json.dumps({"done": True}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def gpt_attention(request):
        body = await _body(request)
        prompt = payloads.prompt(body)
        layer = payloads.integer(body, "layer", 0, 10**6, default=0)  # the model's own bounds: checked there
        head = payloads.integer(body, "head", 0, 10**6, default=0)
        return JSONResponse(await run_in_threadpool(language.attention, prompt, layer, head))

    async def refused(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def http_error(request, exc):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    routes = [
        Route("/", index),
        Route("/api/health", health),
        Route("/api/network", network),
        Route("/api/network/layers/{index}", layer),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/archetype", archetype, methods=["POST"]),
        Route("/api/gpt", gpt_status),
        Route("/api/gpt/next", gpt_next, methods=["POST"]),
        Route("/api/gpt/generate", gpt_generate, methods=["POST"]),
        Route("/api/gpt/attention", gpt_attention, methods=["POST"]),
        Route("/api/backprop", backprop, methods=["POST"]),
        Route("/api/learn", learn, methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
        Route("/api/cohort", cohort, methods=["POST"]),
        Route("/api/surface", surface, methods=["POST"]),
        Route("/api/gpt/embeddings", gpt_embeddings),
        Route("/api/gpt/neighbours", gpt_neighbours, methods=["POST"]),
        Route("/api/gpt/dots", gpt_dots, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={BadRequest: refused, HTTPException: http_error})
    return Guard(app, hosts, port)
