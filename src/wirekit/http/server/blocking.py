"""The HTTP connection loop for the blocking modes (sync, threads, fork, prefork workers).

One thread owns one connection: read a request head within the header deadline, run the
exchange, and go round again while the connection stays persistent. The request body is
pulled from the socket only when the application reads ``wsgi.input``, so an upload streams
through in constant memory and ``Expect: 100-continue`` is answered only if the body is
wanted.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from wirekit.errors import LimitExceeded, RemoteProtocolError, Timeout
from wirekit.http.server.body import EMPTY_BODY, StreamedBody
from wirekit.http.server.exchange import Exchange
from wirekit.http.server.responses import log_exchange, refuse
from wirekit.net.stream import Stream
from wirekit.proto.http import (
    NEED_DATA,
    Connection,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Role,
    State,
)
from wirekit.server.handlers import StreamHandler

if TYPE_CHECKING:
    from wirekit.http.server.server import HTTPServer

__all__ = ["HTTPHandler"]

# What is left of a request body the application did not read is discarded, up to this much,
# to keep the connection; a larger rest costs less to abandon with the connection.
DRAIN_LIMIT = 256 * 1024
# How long a refused client may keep sending before the connection is closed under it.
LINGER_SECONDS = 2.0


def linger(stream: Stream) -> None:
    """After refusing a request, read and drop what the client is still sending for a
    moment before closing: closing with unread bytes makes the kernel send a reset, and the
    client would see "connection reset" instead of our 413/414 (Apache's lingering close)."""
    if stream.is_tls:
        return  # no half-close under TLS; the response was sent, close now
    try:
        stream.shutdown("write")
        deadline = time.monotonic() + LINGER_SECONDS
        while (left := deadline - time.monotonic()) > 0 and stream.recv(65536, timeout=left):
            pass
    except Exception:
        return  # reset, timeout, anything: the connection is being closed anyway


def _evented() -> Any:
    """The asyncio driver, imported on first use (blocking modes never need asyncio)."""
    global _EVENTED  # noqa: PLW0603 - a one-time lazy import, then a plain lookup
    if _EVENTED is None:
        from wirekit.http.server import evented

        _EVENTED = evented
    return _EVENTED


_EVENTED: Any = None


class _StreamOutput:
    __slots__ = ("sendfile", "write")

    def __init__(self, stream: Stream) -> None:
        self.write = stream.sendall
        self.sendfile = stream.sendfile


class HTTPHandler(StreamHandler):
    """Serves HTTP/1.1 on one connection for :class:`~wirekit.http.server.HTTPServer`."""

    server: HTTPServer

    @staticmethod
    def protocol_factory(server: Any, client: Any, done: Any) -> Any:
        """The same protocol as callbacks on an event loop (the ``async`` mode)."""
        return _evented().HTTPProtocol(server, client, done)

    def handle(self) -> None:
        server, stream = self.server, self.stream
        conn = Connection(Role.SERVER, limits=server.limits, server_header=server.server_header)
        shared = server.environ_template.connection(self.client_address)
        out = _StreamOutput(stream)
        app, template = server.app, server.environ_template
        wait = server.timeouts.header
        while True:
            request = self._next_request(conn, wait)
            if request is None:
                return
            length = conn.their_content_length
            if length == 0:
                conn.next_event()  # the EndOfMessage of a request without content
                body: Any = EMPTY_BODY
            else:
                body = StreamedBody(self._puller(conn))
            environ = template.request(shared, request, body, length)
            exchange = Exchange(conn, environ, out) if environ is not None else None
            if exchange is None:
                refuse(conn, out.write, 404, "Not Found: outside this server's SCRIPT_NAME\n")
                return
            exchange.run(app)
            stream.served = True
            if server.access_log:
                log_exchange(environ, exchange)  # type: ignore[arg-type]
            if exchange.must_close or conn.our_state is not State.DONE:
                return
            if conn.their_state is State.SEND_BODY and not self._discard_rest(conn, body):
                return
            if conn.their_state is not State.DONE:
                return
            conn.start_next_cycle()
            if server.stopping.is_set():
                return  # graceful shutdown: the response went out, the connection ends
            wait = server.timeouts.keep_alive

    def _next_request(self, conn: Connection, wait: float | None) -> Request | None:
        """The next request head, or None when the connection should end (closed by the
        peer, idle too long, or refused with a 4xx that has been sent)."""
        stream, server = self.stream, self.server
        head_deadline: float | None = None
        while True:
            try:
                event = conn.next_event()
            except (RemoteProtocolError, LimitExceeded) as exc:
                refuse(conn, stream.sendall, exc.status, f"{exc}\n")  # type: ignore[attr-defined]
                linger(stream)
                return None
            if type(event) is Request:
                return event
            if event is not NEED_DATA:
                return None  # ConnectionClosed
            if conn.partial_head:
                # A head has started: it must be complete within the header timeout
                # (slowloris, SECURITY.md L04), however the bytes trickle in.
                if head_deadline is None:
                    head_deadline = time.monotonic() + (server.timeouts.header or 1e9)
                timeout: float | None = max(head_deadline - time.monotonic(), 0.001)
            else:
                timeout = wait
                stream.idle = True
                # A worker being recycled still answers a new connection's first request.
                if server.stopping.is_set() and (stream.served or not server.recycling):
                    return None
            try:
                data = stream.recv(65536, timeout=timeout)
            except Timeout:
                if conn.partial_head:
                    refuse(conn, stream.sendall, 408, "Request Timeout\n")
                return None
            conn.receive_data(data)

    def _puller(self, conn: Connection) -> Any:
        stream, read_timeout = self.stream, self.server.timeouts.read

        def pull() -> bytes:
            while True:
                if conn.they_are_waiting_for_100_continue:
                    stream.sendall(conn.send(InformationalResponse(100)))
                event = conn.next_event()
                if type(event) is Data:
                    return event.data
                if type(event) is EndOfMessage:
                    return b""
                conn.receive_data(stream.recv(65536, timeout=read_timeout))

        return pull

    @staticmethod
    def _discard_rest(conn: Connection, body: Any) -> bool:
        """The application answered without reading the whole body: read the rest and drop it
        (keeping the connection), unless the client is still waiting for 100 Continue or the
        rest is large."""
        if conn.they_are_waiting_for_100_continue or not isinstance(body, StreamedBody):
            return False
        try:
            return body.drain(DRAIN_LIMIT)
        except Exception:
            return False
