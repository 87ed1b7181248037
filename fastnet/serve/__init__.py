"""``fastnet serve``: a local web page to draw a digit and watch the network think, or type a prompt and watch the GPT.

    >>> from fastnet.serve import DigitModel, LanguageModel, make_app, run
    >>> app = make_app(DigitModel(net, "my network"), LanguageModel(gpt, "gpt.npz"))
    >>> run(app, host="127.0.0.1", port=8000)          # blocks; Ctrl-C stops

Modules: ``app`` (routes: the JSON API and the static page), ``payloads``
(request bodies checked), ``digits`` and ``language`` (what each page asks of
its model), ``cli`` (the command), ``static/`` (the page: plain HTML, CSS and
JavaScript, no build step, nothing fetched from the internet).

Needs Starlette and uvicorn: ``pip install "fastnet-3b1b[serve]"``.
"""
from .digits import DigitModel
from .language import LanguageModel

__all__ = ["DigitModel", "LanguageModel", "make_app", "listen", "url", "run"]
BACKLOG = 2048  # connections waiting to be accepted (uvicorn's default)
REQUEST_TIMEOUT = 30  # seconds a client has to send a whole request (headers and body)


def make_app(digits, language, hosts=None, port=None):
    """The ASGI application (Starlette) for ``digits`` (``DigitModel``) and ``language`` (``LanguageModel``).

    It answers only requests whose Host header is one of ``hosts`` (default:
    127.0.0.1, localhost and [::1]) on ``port`` (None: any); see ``app.Guard``.
    """
    from .app import LOOPBACK_NAMES, make_app

    return make_app(digits, language, hosts=LOOPBACK_NAMES if hosts is None else hosts, port=port)


def listen(host="127.0.0.1", port=8000):
    """A socket bound to host:port and listening (port 0: any free port), or OSError naming the address.

    Connections wait in its backlog from now on, until ``run`` accepts them.
    """
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(BACKLOG)
    except OSError as exc:
        listener.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener


def url(listener):
    """The address of a listening socket as a URL, such as http://127.0.0.1:8000/."""
    host, port = listener.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def run(app, *, host="127.0.0.1", port=8000, listener=None, on_start=None, request_timeout=REQUEST_TIMEOUT):
    """Serve ``app`` with uvicorn until interrupted (Ctrl-C), on ``listener`` or a new ``listen(host, port)``.

    ``on_start(url)`` is called once the socket listens. A connection that has
    not sent a whole request (headers and body) ``request_timeout`` seconds
    after it opened, or after its previous answer, is closed.
    """
    import uvicorn

    from .connections import deadline_protocol

    listener = listen(host, port) if listener is None else listener
    if on_start is not None:
        on_start(url(listener))
    with listener:
        config = uvicorn.Config(app, log_level="warning", backlog=BACKLOG, timeout_graceful_shutdown=2,
                                http=deadline_protocol(request_timeout))
        uvicorn.Server(config).run(sockets=[listener])
