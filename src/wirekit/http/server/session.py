"""``HTTPSession``: one connection of the HTTP server, as a sans-IO connection core.

Every per-connection decision of the server is made here, once, for every concurrency mode
(the drivers in ``wirekit.server.drivers`` only move bytes and run work):

=======================  ====================================================================
decision                 rule
=======================  ====================================================================
first request            its head must be complete ``timeouts.header`` after the connection
                         opened (None: wait forever)
a head in progress       complete within ``timeouts.header`` of its first byte, however the
                         bytes trickle in (slowloris, SECURITY.md L04), else 408 and close
keep-alive               between requests, close after ``timeouts.keep_alive`` of silence;
                         HTTP/1.0 and ``Connection: close`` end after the response (the core
                         ``Connection`` decides framing and persistence, RFC 9112 §9.3)
small request content    up to ``INLINE_BODY`` bytes with a ``Content-Length`` is collected
                         here, with ``timeouts.read`` between its pieces, before the
                         application runs: a slow sender holds no thread
larger content           streamed to the application's ``wsgi.input`` as it reads
100-continue             answered when the application first reads ``wsgi.input``; an
                         application that answers without reading gets its response out and
                         the connection ends (RFC 9110 §10.1.1)
unread content           after the response (a small one leaves first, so a client waiting
                         for it hears it at once), up to ``DRAIN_LIMIT`` more is read and
                         dropped to keep the connection; beyond that, the connection ends
refused requests         400/413/414/431/501/505 get a short answer, a log line with the client
                         and whatever request line was read, and a lingering close
the application          always runs off the I/O path (``shell.run``); its response leaves in
                         slices of ``OUTPUT_SLICE`` bytes, and the next slice is produced only
                         once the client reads (no thread waits on a slow reader)
a client not reading     the response waits up to ``timeouts.write`` for it, then the
                         connection is aborted
graceful stop            a request in progress finishes and its response says
                         ``Connection: close``; an idle connection stays ``LAST_CALL``
                         seconds, and a request that arrives meanwhile (it was on the wire
                         when the server stopped) is answered the same way
server full              a new connection gets ``overload_response`` (503) when no idle one
                         can make room (the driver asks; ``idle`` says who can go)
=======================  ====================================================================

The application runs in :class:`~wirekit.http.server.wsgi.Exchange`, on whatever thread the
driver gives work to; while it runs, the protocol core ``Connection`` belongs to that work
(it reads the request content through it) and this session waits for ``work_done``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wirekit.errors import LimitExceeded, RemoteProtocolError, Timeout
from wirekit.http.server.body import EMPTY_BODY, StreamedBody
from wirekit.http.server.responses import log_exchange, refuse
from wirekit.http.server.wsgi import Exchange
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
from wirekit.server.core import ConnectionCore, Work, WorkIO

if TYPE_CHECKING:
    from wirekit.http.server.server import HTTPServer

__all__ = ["DRAIN_LIMIT", "INLINE_BODY", "LAST_CALL", "LINGER_SECONDS", "OUTPUT_SLICE",
           "HTTPSession"]

logger = logging.getLogger("wirekit.http.server")

#: Content up to this size is collected before the application runs (it then holds no
#: thread while a slow client sends it); larger content is streamed to ``wsgi.input``.
INLINE_BODY = 64 * 1024
#: What is left of a request body the application did not read is discarded, up to this
#: much, to keep the connection; a larger rest costs less to abandon with the connection.
DRAIN_LIMIT = 256 * 1024
#: How long a refused client may keep sending before the connection is closed under it.
LINGER_SECONDS = 2.0
#: A response is produced in slices of about this size; the next one when the client reads.
OUTPUT_SLICE = 256 * 1024
_JOIN_MAX = 64 * 1024  # held output up to this size leaves in one write
#: An answer up to this size, given without reading all the content, leaves before the rest of
#: the content is drained.
EARLY_ANSWER = 64 * 1024
#: At a graceful stop an idle connection stays this long (at most its keep-alive), so a
#: request already on the wire is answered (with ``Connection: close``) instead of being cut
#: off by our close; round trips beyond a quarter second are rare.
LAST_CALL = 0.25

_READING, _COLLECTING, _WORKING, _WAITING, _CLOSED = range(5)
_OUTSIDE = object()  # the request's path is outside the server's SCRIPT_NAME: 404

_OVERLOAD_BODY = b"Service Unavailable: the server is at its connection limit\n"
OVERLOAD_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%b"
    % (len(_OVERLOAD_BODY), _OVERLOAD_BODY))


class _Output:
    """What the application writes, held for the session to send (one buffer per slice).

    Writes beyond twice the slice size from inside the application call (the legacy
    ``write()`` callable, which cannot be paused) go out at once through the work's blocking
    I/O, so that path is bounded too; the response's iterable is paused instead (``full``)."""

    __slots__ = ("_zero_copy", "in_call", "io", "parts", "sendfile", "size")

    def __init__(self, work_io: WorkIO) -> None:
        self.io = work_io
        self.parts: list[bytes] = []
        self.size = 0
        self.in_call = True  # inside the application call (until it returns)
        self._zero_copy = work_io.zero_copy
        self.sendfile: Callable[[Any, int, int], int] | None = \
            None if self._zero_copy is None else self._send_file

    def _send_file(self, file: Any, offset: int, count: int) -> int:
        """``sendfile(2)`` through the work's I/O, after the head that is still held."""
        if self.size:
            self.flush(self.io.send)
        zero_copy = self._zero_copy
        assert zero_copy is not None  # this method is installed only when it is set
        return zero_copy(file, offset, count)

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size > 2 * OUTPUT_SLICE and self.in_call:
            self.flush(self.io.send)

    def full(self) -> bool:
        return self.size >= OUTPUT_SLICE

    def take(self) -> bytes:
        parts = self.parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.parts, self.size = [], 0
        return data

    def flush(self, send: Callable[[bytes], object]) -> None:
        """Send what is held: small parts joined into one write, large ones as they are
        (joining a MiB body to its head would copy it into a fresh buffer first)."""
        if self.size <= _JOIN_MAX or len(self.parts) == 1:
            send(self.take())
            return
        parts, self.parts, self.size = self.parts, [], 0
        for part in parts:
            send(part)


class HTTPSession(ConnectionCore):
    """One HTTP/1.1 connection of an :class:`~wirekit.http.server.HTTPServer`."""

    overload_response = OVERLOAD_RESPONSE
    server: HTTPServer

    def __init__(self, client_address: Any, server: HTTPServer) -> None:
        super().__init__(client_address, server)
        self.conn = Connection(Role.SERVER, limits=server.limits,
                               server_header=server.server_header)
        self.timeouts = server.timeouts
        self.state = _READING
        self.head_started = False
        self.stopping = False
        self.exchange: Exchange | None = None
        self.output: _Output | None = None
        self.collected: tuple[Request, list[bytes]] | None = None
        self.shared: Any = None  # this client's part of the environ, made on first use
        self.request: Request | None = None  # in progress, for refusals and the application
        self.body: Any = None  # its content: a file-like object, or None to stream it
        self.length: int | None = None  # its length, when known
        self.outcome = "closed"

    @property
    def idle(self) -> bool:
        return self.state is _READING and not self.conn.partial_head

    # -- events from the driver -------------------------------------------------------------
    def connection_made(self, shell: Any) -> None:
        self.shell = shell
        self._await_head(self.timeouts.header)

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state is _READING:
            self.conn.receive_data(data)
            self._process()
        elif state is _COLLECTING:
            self.conn.receive_data(data)
            self._collect()
        elif state is _WAITING:
            self.conn.receive_data(data)  # pipelined; read once the response is out

    def eof_received(self) -> None:
        if self.state in (_READING, _COLLECTING, _WAITING):
            self.conn.receive_data(b"")
            if self.state is _READING:
                self._process()
            elif self.state is _COLLECTING:
                self._collect()

    def deadline_reached(self) -> None:
        state = self.state
        if state is _WAITING:
            self._close("closed: the client stopped reading the response", abort=True)
        elif self.conn.partial_head or state is _COLLECTING:
            self.outcome = "closed on header timeout (408)"
            self._refuse(408, "Request Timeout\n")
        elif state is _READING:
            self._close("closed on idle timeout")

    def writable(self) -> None:
        if self.state is _WAITING:
            self._next_slice()

    def stop(self) -> None:
        """Graceful stop: what is in progress finishes, the next response says
        ``Connection: close``, and an idle connection goes after ``LAST_CALL`` (a request
        already on its way is answered, not cut off)."""
        self.stopping = True
        if self.state is _READING:  # else the work owns the core ``Connection``
            self.conn.disable_keep_alive()
            if not self.conn.partial_head:
                keep_alive = self.timeouts.keep_alive
                wait = LAST_CALL if keep_alive is None else min(LAST_CALL, keep_alive)
                self.shell.set_deadline(self.shell.now() + wait)

    def connection_lost(self) -> None:
        if self.exchange is not None:
            self.exchange.abandon()
            self.exchange = None
        self.state = _CLOSED

    # -- reading requests -------------------------------------------------------------------
    def _await_head(self, wait: float | None) -> None:
        self.state = _READING
        self.head_started = False
        self.shell.set_deadline(None if wait is None else self.shell.now() + wait)

    def _process(self) -> None:
        """Handle the next buffered request, if a whole head is here."""
        conn = self.conn
        try:
            event = conn.next_event()
        except (RemoteProtocolError, LimitExceeded) as exc:
            self._refuse(exc.status, f"{exc}\n", exc)
            return
        if type(event) is Request:
            self._begin(event)
        elif event is NEED_DATA:
            if conn.partial_head and not self.head_started:
                self.head_started = True  # the head must now be complete in time
                header = self.timeouts.header
                self.shell.set_deadline(None if header is None else self.shell.now() + header)
        else:  # ConnectionClosed, or PAUSED after a last request
            self._close(self.outcome)

    def _begin(self, request: Request) -> None:
        conn = self.conn
        self.request = request
        length = conn.their_content_length
        if self.stopping:
            conn.disable_keep_alive()
        if length == 0:
            conn.next_event()  # the EndOfMessage of a request without content
            self._run(request, EMPTY_BODY, 0)
        elif length is not None and length <= INLINE_BODY:
            self.state = _COLLECTING
            self.collected = (request, [])
            self._collect()
        else:
            self._run(request, None, length)

    def _collect(self) -> None:
        """Gather small content; run the application once it is all here."""
        conn = self.conn
        assert self.collected is not None  # set with the _COLLECTING state, cleared on leaving
        request, parts = self.collected
        try:
            while True:
                if conn.they_are_waiting_for_100_continue:
                    self.shell.send(conn.send(InformationalResponse(100)))
                event = conn.next_event()
                if type(event) is Data:
                    parts.append(event.data)
                elif type(event) is EndOfMessage:
                    break
                else:  # NEED_DATA: the rest must come within the read timeout
                    read = self.timeouts.read
                    self.shell.set_deadline(None if read is None else self.shell.now() + read)
                    return
        except (RemoteProtocolError, LimitExceeded) as exc:
            self.collected = None
            self._refuse(exc.status, f"{exc}\n", exc)
            return
        self.collected = None
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._run(request, io.BytesIO(body), len(body))

    # -- running the application ------------------------------------------------------------
    def _run(self, request: Request, body: Any, length: int | None) -> None:
        """The application, off the I/O path: the environ is made there too."""
        self.state = _WORKING
        self.shell.set_deadline(None)
        if self.shared is None:
            self.shared = self.server.environ_template.connection(self.client_address)
        self.body, self.length = body, length
        self.shell.run(Work(self._call_application))

    def _call_application(self, work_io: WorkIO) -> Exchange | object:
        """(Work) the environ, the application call, and its response's first slice."""
        conn, body, request = self.conn, self.body, self.request
        assert request is not None  # set by _begin, before _run
        streamed = body is None
        if streamed:
            body = StreamedBody(_puller(conn, work_io, self.timeouts.read))
        server = self.server
        environ = server.environ_template.request(self.shared, request, body, self.length)
        if environ is None:
            return _OUTSIDE
        output = _Output(work_io)
        exchange = Exchange(conn, environ, output)
        self.exchange, self.output = exchange, output
        exchange.start(server.app)
        output.in_call = False
        if not exchange.done:
            exchange.pump()
        if streamed and exchange.done:
            if 0 < output.size <= EARLY_ANSWER and conn.their_state is State.SEND_BODY:
                # The answer goes out before the unread content is drained: a client that
                # waits for it (an upload refused with 413 or 403, sent in parts) hears it
                # at once instead of after the read timeout. A small answer cannot block:
                # it fits the socket's send buffer even while the client is still sending.
                output.flush(work_io.send)
            _drain_rest(conn, exchange, body)
        return exchange

    def work_done(self, work: Work) -> None:
        if self.state is _CLOSED:
            return
        if work.error is not None:
            self._failed(work.error)
            return
        if work.result is _OUTSIDE:
            self._refuse(404, "Not Found: outside this server's SCRIPT_NAME\n")
            return
        exchange = self.exchange
        output = self.output
        if output is not None and output.size:
            output.flush(self.shell.send)
        if exchange is not None and not exchange.done:
            self.state = _WAITING
            if not getattr(self.shell, "writing_paused", False):
                self._next_slice()
            else:
                write = self.timeouts.write
                self.shell.set_deadline(None if write is None else self.shell.now() + write)
            return
        self._exchange_done()

    def _next_slice(self) -> None:
        self.state = _WORKING
        self.shell.set_deadline(None)
        self.shell.run(Work(self._pump_work))

    def _pump_work(self, work_io: WorkIO) -> Exchange | None:
        exchange = self.exchange
        if exchange is not None:
            exchange.pump()
        return exchange

    def _exchange_done(self) -> None:
        exchange, conn = self.exchange, self.conn
        self.exchange = self.output = None
        self.served = True
        if exchange is not None and (sink := self.server.access_sink) is not None:
            log_exchange(sink, exchange.environ, exchange)
        if exchange is None or exchange.must_close or self.stopping or not conn.reusable:
            # Content the application left unread may still be arriving: a plain close would
            # answer it with a reset that destroys the response (an upload refused with 413
            # or 403 by the application). Linger as a refusal does.
            self._close("closed" if self.outcome == "closed" else self.outcome,
                        linger=conn.their_state is State.SEND_BODY)
            return
        conn.start_next_cycle()
        self._await_head(self.timeouts.keep_alive)
        if not conn.needs_data:
            self._process()  # a pipelined request is already here

    # -- ending -----------------------------------------------------------------------------
    def _failed(self, error: BaseException) -> None:
        """The work raised: the peer went away or broke the content (no answer possible
        any more), or a bug; the connection ends."""
        if self.exchange is not None:
            self.exchange.abandon()
            self.exchange = None
        if isinstance(error, Timeout):
            self._close(f"closed: {error}", abort=True)
        elif isinstance(error, ConnectionError | OSError):
            self._close("disconnected by the client", abort=True)
        else:
            logger.error("HTTP exchange with %s failed", self.client_address, exc_info=error)
            self._close("handler error", abort=True)

    def _refuse(self, status: int, text: str, exc: BaseException | None = None) -> None:
        """Answer with an error and a lingering close (see ``Shell.close``); logged with
        the client and what was read of the request line."""
        if self.state is _READING:  # the head itself was refused: its first line, as read
            raw = self.conn.trailing_data[0] or self.conn.head_line
            request_line = bytes(raw.split(b"\r\n", 1)[0][:200]).decode("latin-1")
        elif (request := self.request) is not None:
            request_line = f"{request.method} {request.target} HTTP/{request.http_version}"
        else:
            request_line = ""
        self.state = _CLOSED
        if status != 408 or self.outcome == "closed":
            self.outcome = f"refused with {status}"
        logger.info("%s refused with %d: %s (request line: %r)", self.client_address,
                    status, text.strip(), request_line)
        size = refuse(self.conn, self.shell.send, status, text)
        if (sink := self.server.access_sink) is not None:
            sink.request(self._remote(), request_line or "-", status, size)
        self.shell.set_deadline(None)
        self.shell.close(linger=LINGER_SECONDS)

    def _remote(self) -> str:
        address = self.client_address
        return "-" if address.is_unix else address.host or "-"

    def _close(self, outcome: str, abort: bool = False, linger: bool = False) -> None:
        self.state = _CLOSED
        self.outcome = outcome
        self.shell.set_deadline(None)
        if abort:
            self.shell.abort()
        elif linger:
            self.shell.close(linger=LINGER_SECONDS)
        else:
            self.shell.close()


def _puller(conn: Connection, work_io: WorkIO, read_timeout: float | None) -> Any:
    """``wsgi.input``'s source: content decoded by the core as the application reads it;
    ``100 Continue`` goes out on the first read (RFC 9110 §10.1.1)."""

    def pull() -> bytes:
        while True:
            if conn.they_are_waiting_for_100_continue:
                work_io.send(conn.send(InformationalResponse(100)))
            event = conn.next_event()
            if type(event) is Data:
                return event.data
            if type(event) is EndOfMessage:
                return b""
            conn.receive_data(work_io.recv(read_timeout))

    return pull


def _drain_rest(conn: Connection, exchange: Exchange, body: StreamedBody) -> None:
    """The application answered without reading all the content: read the rest and drop
    it (keeping the connection), unless the client still waits for 100 Continue or the rest
    is large."""
    if exchange.must_close or conn.their_state is not State.SEND_BODY:
        return
    if conn.they_are_waiting_for_100_continue:
        exchange.must_close = True
        return
    try:
        if not body.drain(DRAIN_LIMIT):
            exchange.must_close = True
    except Exception:
        exchange.must_close = True

