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
=======  ===========================  =================================================================

The models run in worker threads (``run_in_threadpool``), so a request never
blocks the event loop, and the network's compiled forward pass releases the
GIL: requests are answered in parallel.
"""
import json
import os

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import payloads
from .payloads import BadRequest

STATIC = os.path.join(os.path.dirname(__file__), "static")
TOP_TOKENS = 20  # the next-token list's default length


async def _body(request):
    """The request's JSON object; a body over MAX_BODY_BYTES is refused (413) by its Content-Length, or as soon
    as the bytes read pass the limit, without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > payloads.MAX_BODY_BYTES:
        raise BadRequest(f"the request body must be at most {payloads.MAX_BODY_BYTES} bytes; got {declared}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > payloads.MAX_BODY_BYTES:
            raise BadRequest(f"the request body must be at most {payloads.MAX_BODY_BYTES} bytes", 413)
    return payloads.decode(bytes(body))


def make_app(digits, language):
    """The Starlette application serving ``digits`` (a ``DigitModel``) and ``language`` (a ``LanguageModel``)."""

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"))

    async def health(request):
        return JSONResponse({"status": "ok", "network": digits.describe(), "gpt": language.status()})

    async def network(request):
        return JSONResponse(digits.describe())

    async def layer(request):
        index = request.path_params["index"]
        if not 1 <= index < len(digits.network.sizes):
            raise BadRequest(f"layer must be from 1 to {len(digits.network.sizes) - 1}; got {index}", 404)
        return JSONResponse(await run_in_threadpool(digits.layer, index))

    async def predict(request):
        pixels = payloads.pixels(await _body(request), digits.network.sizes[0])
        return JSONResponse(await run_in_threadpool(digits.predict, pixels))

    async def archetype(request):
        body = await _body(request)
        digit = payloads.integer(body, "digit", 0, digits.network.sizes[-1] - 1)
        seed = payloads.integer(body, "seed", 0, 2**32 - 1, default=0)
        return JSONResponse(await run_in_threadpool(digits.archetype, digit, seed))

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
            for piece in pieces:
                yield json.dumps({"text": piece}) + "\n"
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
        Route("/api/network/layers/{index:int}", layer),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/archetype", archetype, methods=["POST"]),
        Route("/api/gpt", gpt_status),
        Route("/api/gpt/next", gpt_next, methods=["POST"]),
        Route("/api/gpt/generate", gpt_generate, methods=["POST"]),
        Route("/api/gpt/attention", gpt_attention, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={BadRequest: refused, HTTPException: http_error})
