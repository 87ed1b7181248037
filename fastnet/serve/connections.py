"""Connections that must send their requests in bounded time (a slow or stalled client is cut off).

uvicorn's HTTP/1.1 protocol (h11) times out idle keep-alive connections, but
not a client that opens a connection and never finishes its headers, nor one
that stops halfway through a body: each would hold a connection (and, for a
body, a waiting request) forever. ``deadline_protocol(seconds)`` is that
protocol with a deadline: from the moment a connection opens, or its previous
answer was sent, the client has ``seconds`` to deliver a whole request;
otherwise the connection is closed (the route waiting for the body sees the
client disconnect and ends quietly).
"""
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def deadline_protocol(seconds):
    """uvicorn's h11 protocol class with a ``seconds`` deadline per request (pass it as ``http=``)."""

    class DeadlineProtocol(H11Protocol):
        _deadline = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._watch()

        def data_received(self, data):
            super().data_received(data)
            self._watch()

        def on_response_complete(self):
            super().on_response_complete()
            self._watch()

        def connection_lost(self, exc):
            self._cancel()
            super().connection_lost(exc)

        def _watch(self):
            """Arm the deadline while a request is awaited or arriving; disarm it once it has all arrived."""
            waiting = self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing()
            if waiting and self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._too_slow)
            elif not waiting:
                self._cancel()

        def _cancel(self):
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self):
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol
