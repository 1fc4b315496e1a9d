"""The HTTP connection as an asyncio protocol, for the ``async`` mode (uvloop when present).

The fast path: a request that is complete when it arrives (no content, or content of at most
``INLINE_BODY`` bytes that is all here) runs the WSGI application right in ``data_received``,
and a response that is a list (the usual ``return [body]``) goes out in one
``transport.write``. No task, no future, no thread hop per request.

Everything else leaves the event loop for a worker thread, so the loop never blocks on I/O
the application does through WSGI: a request body still arriving (the application pulls it
from ``wsgi.input`` while the loop feeds it in), and a response that is an iterator or a file
(iterated and written from the thread, with the transport's flow control). While a thread
owns the exchange the loop only queues the bytes that arrive; the sans-IO connection is
touched by one thread at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import queue
import select
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from wirekit.errors import ConnectionClosed, LimitExceeded, RemoteProtocolError, Timeout
from wirekit.http.server.blocking import LINGER_SECONDS
from wirekit.http.server.body import EMPTY_BODY, StreamedBody
from wirekit.http.server.exchange import Exchange, logger
from wirekit.http.server.responses import log_exchange, refuse
from wirekit.net.address import Address
from wirekit.net.oserrors import translate
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
from wirekit.server.connlog import ConnectionRecord

if TYPE_CHECKING:
    from wirekit.http.server.server import HTTPServer

__all__ = ["HTTPProtocol"]

#: Content up to this size is collected in memory and the application runs inline.
INLINE_BODY = 64 * 1024
# Bytes queued for a worker thread before the loop stops reading the socket.
_INBOX_HIGH = 1 << 20
_BLOCK = 64 * 1024
_FLUSH_EVERY = 256 * 1024

_executors: dict[int, ThreadPoolExecutor] = {}


def _executor() -> ThreadPoolExecutor:
    """One pool per process (a forked worker makes its own)."""
    pid = os.getpid()
    pool = _executors.get(pid)
    if pool is None:
        pool = _executors[pid] = ThreadPoolExecutor(64, thread_name_prefix="wirekit-http")
    return pool


class HTTPProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection served from the event loop."""

    # What a worker thread needs, made the first time one is used (most connections never
    # leave the loop, and a threading.Event is not free).
    _inbox: queue.SimpleQueue[bytes | None] | None = None
    _can_write: threading.Event | None = None

    @property
    def inbox(self) -> queue.SimpleQueue[bytes | None]:
        if self._inbox is None:
            self._inbox = queue.SimpleQueue()
        return self._inbox

    @property
    def can_write(self) -> threading.Event:
        """Set while the transport accepts more (flow control for worker threads)."""
        if self._can_write is None:
            self._can_write = threading.Event()
            if not self.write_paused or self.closing:
                self._can_write.set()
        return self._can_write

    def __init__(self, server: HTTPServer, client: Address, done: Any) -> None:
        self.server, self.client, self.done = server, client, done
        self.conn = Connection(Role.SERVER, limits=server.limits,
                               server_header=server.server_header)
        self.shared = server.environ_template.connection(client)
        self.app = server.app
        self.make_environ = server.environ_template.request
        self.access_log = server.access_log
        self.record = ConnectionRecord(client)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.bytes_in = self.bytes_out = 0
        self.busy = False  # a worker thread owns the connection
        self.inbox_size = 0
        self.reading_paused = False
        self.write_paused = False
        self.closing = False
        self.lingering = False
        self.idle = False  # the last exchange ended with nothing buffered
        self.stop_when_idle = False
        self.pending: tuple[Request, list[bytes]] | None = None  # collecting a small body
        self.outcome = "closed"
        timeouts = server.timeouts
        self.keep_alive = timeouts.keep_alive or 5.0
        self.header_timeout = timeouts.header or 10.0
        self.deadline = self.loop.time() + self.header_timeout
        self.head_started = False
        self.timer: asyncio.TimerHandle | None = None

    # -- asyncio callbacks ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.timer = self.loop.call_at(self.deadline, self._on_timer)

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self.lingering:
            return  # refused: what the client still sends is dropped until it stops
        if self.busy:
            self.inbox.put(data)
            self.inbox_size += len(data)
            if self.inbox_size > _INBOX_HIGH and not self.reading_paused:
                self.reading_paused = True
                self.transport.pause_reading()  # type: ignore[union-attr]
            return
        self.conn.receive_data(data)
        self._process()

    def eof_received(self) -> bool:
        if self.lingering:
            return False  # the client is done too: close
        if self.busy:
            self.inbox.put(b"")
            return True  # keep our side open: the worker thread still answers
        self.conn.receive_data(b"")
        self._process()
        return True

    def pause_writing(self) -> None:
        self.write_paused = True
        if self._can_write is not None:
            self._can_write.clear()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._can_write is not None:
            self._can_write.set()
        if not self.busy and not self.closing:
            self._process()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closing = True
        if self._can_write is not None:
            self._can_write.set()  # wake a worker blocked on flow control; its writes fail
        if self.busy:
            self.inbox.put(None)
        if self.timer is not None:
            self.timer.cancel()
        if exc is not None and self.outcome == "closed":
            self.outcome = "disconnected by the client"
        self.record.log(self.outcome, self.bytes_in, self.bytes_out)
        self.done(self)

    # -- serving ----------------------------------------------------------------------------
    def _process(self) -> None:
        """Handle every complete request that is buffered (pipelining), in order."""
        conn = self.conn
        self.idle = False
        while not (self.busy or self.closing or self.write_paused or self.idle):
            if self.pending is not None:
                if not self._collect():
                    return
                continue
            try:
                event = conn.next_event()
            except (RemoteProtocolError, LimitExceeded) as exc:
                self._refuse(exc.status, f"{exc}\n")  # type: ignore[attr-defined]
                return
            if type(event) is Request:
                self.head_started = False
                if conn.their_content_length == 0:  # the common case, inline
                    conn.next_event()  # its EndOfMessage
                    self._run_inline(event, EMPTY_BODY, 0)
                else:
                    self._start(event)
            elif event is NEED_DATA:
                if conn.partial_head and not self.head_started:
                    self.head_started = True  # slowloris: the head must finish in time
                    self.deadline = self.loop.time() + self.header_timeout
                elif self.stop_when_idle and not conn.partial_head:
                    self.close()
                return
            else:  # ConnectionClosed, or PAUSED after a last request
                self.close()
                return

    def _start(self, request: Request) -> None:
        """A request with content: collect it if small, else stream it to a thread."""
        length = self.conn.their_content_length
        if length is not None and length <= INLINE_BODY:
            self.pending = (request, [])
            self.deadline = self.loop.time() + (self.server.timeouts.read or 30.0)
            self._collect()
        else:
            self._run_threaded(request, length)

    def _collect(self) -> bool:
        """Gather a small body; run the exchange once it is complete. False: need data."""
        conn = self.conn
        request, parts = self.pending  # type: ignore[misc]
        try:
            while True:
                if conn.they_are_waiting_for_100_continue:
                    self._write(conn.send(InformationalResponse(100)))
                event = conn.next_event()
                if type(event) is Data:
                    parts.append(event.data)
                elif type(event) is EndOfMessage:
                    break
                else:
                    return False
        except (RemoteProtocolError, LimitExceeded) as exc:
            self.pending = None
            self._refuse(exc.status, f"{exc}\n")  # type: ignore[attr-defined]
            return False
        self.pending = None
        body = b"".join(parts)
        self._run_inline(request, io.BytesIO(body), len(body))
        return True

    def _run_inline(self, request: Request, body: Any, length: int | None) -> None:
        environ = self.make_environ(self.shared, request, body, length)
        if environ is None:
            self._refuse(404, "Not Found: outside this server's SCRIPT_NAME\n")
            return
        exchange = Exchange(self.conn, environ, self)
        if exchange.run(self.app, defer=self._defer):
            self._exchange_done(exchange)

    def _defer(self, exchange: Exchange, result: Any) -> None:
        """The response is an iterator or a file: finish it from a worker thread."""
        self._to_thread()
        exchange.out = _ThreadOutput(self)
        future = _executor().submit(exchange.finish, result)
        future.add_done_callback(lambda f: self._from_thread(exchange, f))

    def _run_threaded(self, request: Request, length: int | None) -> None:
        """A body too large to hold or still arriving: the exchange runs in a thread and
        pulls the body as the application reads it."""
        self._to_thread()
        body = StreamedBody(self._puller())
        environ = self.server.environ_template.request(self.shared, request, body, length)
        if environ is None:
            self.busy = False
            self._refuse(404, "Not Found: outside this server's SCRIPT_NAME\n")
            return
        exchange = Exchange(self.conn, environ, _ThreadOutput(self))

        def work() -> None:
            exchange.run(self.server.app)
            if not exchange.must_close and self.conn.their_state is State.SEND_BODY and \
                    not self.conn.they_are_waiting_for_100_continue:
                with contextlib.suppress(Exception):
                    body.drain(256 * 1024)  # keep the connection if the rest is small

        future = _executor().submit(work)
        future.add_done_callback(lambda f: self._from_thread(exchange, f))

    def _to_thread(self) -> None:
        """(Loop) a worker thread takes the connection; its flow-control objects are made
        here, on the loop's thread, before the worker can race for them."""
        self.busy = True
        _ = self.inbox, self.can_write

    def _puller(self) -> Any:
        conn, inbox, out = self.conn, self.inbox, _ThreadOutput(self)
        read_timeout = self.server.timeouts.read

        def pull() -> bytes:  # runs in the worker thread, which owns conn meanwhile
            while True:
                if conn.they_are_waiting_for_100_continue:
                    out.write(conn.send(InformationalResponse(100)))
                event = conn.next_event()
                if type(event) is Data:
                    return event.data
                if type(event) is EndOfMessage:
                    return b""
                try:
                    data = inbox.get(timeout=read_timeout)
                except queue.Empty:
                    raise Timeout("read", read_timeout) from None
                if data is None:
                    raise ConnectionClosed("the client closed the connection")
                self._consumed(len(data))
                conn.receive_data(data)

        return pull

    def _consumed(self, size: int) -> None:
        """(Worker thread) bytes left the inbox: resume reading once it has room."""
        self.inbox_size -= size
        if self.reading_paused and self.inbox_size < _INBOX_HIGH // 2:
            self.loop.call_soon_threadsafe(self._resume_reading)

    def _resume_reading(self) -> None:
        if self.reading_paused and not self.closing:
            self.reading_paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]

    def _from_thread(self, exchange: Exchange, future: Any) -> None:
        """(Worker thread) the exchange ended: hand the connection back to the loop."""
        if future.exception() is not None and not isinstance(
                future.exception(), ConnectionError | OSError):
            logger.error("HTTP exchange failed", exc_info=future.exception())
        with contextlib.suppress(RuntimeError):  # the loop is gone at shutdown
            self.loop.call_soon_threadsafe(self._back_from_thread, exchange,
                                           future.exception() is not None)

    def _back_from_thread(self, exchange: Exchange, failed: bool) -> None:
        self.busy = False
        if self.closing:
            return
        while self._inbox is not None:  # bytes that arrived meanwhile, in order
            try:
                data = self._inbox.get_nowait()
            except queue.Empty:
                break
            if data is None:
                return
            self.conn.receive_data(data)
        self.inbox_size = 0
        self._resume_reading()
        if failed:
            exchange.must_close = True
        self._exchange_done(exchange)
        if not self.closing:
            self._process()

    def _exchange_done(self, exchange: Exchange) -> None:
        conn = self.conn
        if self.access_log:
            log_exchange(exchange.environ, exchange)
        if exchange.must_close or conn.our_state is not State.DONE or \
                conn.their_state is not State.DONE:
            self.close()
            return
        conn.start_next_cycle()
        self.deadline = self.loop.time() + self.keep_alive
        if self.stop_when_idle and not conn.partial_head:
            self.close()
        elif conn.needs_data:
            self.idle = True  # the usual end: no pipelined request waiting

    # -- output (the Exchange's Output on the loop) -----------------------------------------
    def write(self, data: bytes) -> None:
        self.bytes_out += len(data)
        self.transport.write(data)  # type: ignore[union-attr]

    _write = write

    def sendfile(self, file: Any, offset: int, count: int) -> int:  # pragma: no cover
        raise AssertionError("files are sent from a worker thread")

    # -- ending -----------------------------------------------------------------------------
    def _refuse(self, status: int, text: str) -> None:
        """Answer with an error, then close once the client stops sending (lingering close:
        see ``blocking.linger``)."""
        refuse(self.conn, self._write, status, text)
        transport = self.transport
        if transport is None or self.closing or not transport.can_write_eof() or \
                transport.get_extra_info("sslcontext") is not None:
            self.close()
            return
        self.closing = self.lingering = True
        transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.close)

    def _on_timer(self) -> None:
        now = self.loop.time()
        if self.busy:
            self.timer = self.loop.call_at(now + self.keep_alive, self._on_timer)
            return
        if now < self.deadline:
            self.timer = self.loop.call_at(self.deadline, self._on_timer)
            return
        if self.conn.partial_head or self.pending is not None:
            self.outcome = "closed on header timeout (408)"
            self._refuse(408, "Request Timeout\n")
        else:
            self.outcome = "closed on idle timeout"
            self.close()

    def close_when_idle(self) -> None:
        """At shutdown: close now if no request is in progress, else after its response."""
        self.stop_when_idle = True
        if not self.busy and self.pending is None and not self.conn.partial_head:
            self.close()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()


class _ThreadOutput:
    """An Exchange's output from a worker thread. Writes are handed to the loop; every
    ``_FLUSH_EVERY`` bytes the thread waits until the loop has taken them, and while the
    transport's buffer is above its high-water mark, so memory stays bounded however fast
    the application produces (SECURITY.md L05)."""

    __slots__ = ("flushed", "protocol", "timeout", "unflushed")

    def __init__(self, protocol: HTTPProtocol) -> None:
        self.protocol = protocol
        self.timeout = protocol.server.timeouts.write
        self.flushed = threading.Event()
        self.unflushed = 0

    def write(self, data: bytes) -> None:
        protocol = self.protocol
        if protocol.closing:
            raise ConnectionClosed("the client closed the connection")
        protocol.loop.call_soon_threadsafe(protocol.write, data)
        self.unflushed += len(data)
        if self.unflushed >= _FLUSH_EVERY:
            self.unflushed = 0
            self.flushed.clear()
            protocol.loop.call_soon_threadsafe(self.flushed.set)
            if not (self.flushed.wait(self.timeout) and protocol.can_write.wait(self.timeout)):
                raise Timeout("send", self.timeout)

    def sendfile(self, file: Any, offset: int, count: int) -> int:
        """``sendfile(2)`` straight to the socket from this thread, once everything the loop
        had to write is out (the connection is ours until the exchange ends, so nothing can
        interleave); TLS reads and hands over blocks instead."""
        protocol = self.protocol
        transport = protocol.transport
        sock = transport.get_extra_info("socket")  # type: ignore[union-attr]
        if sock is None or transport.get_extra_info("sslcontext") is not None:  # type: ignore
            return self._copy(file, offset, count)
        self._drain()
        fd, source, sent = sock.fileno(), file.fileno(), 0
        try:
            while sent < count:
                if protocol.closing:
                    raise ConnectionClosed("the client closed the connection")
                try:
                    done = os.sendfile(fd, source, offset + sent, count - sent)
                except BlockingIOError:
                    if not select.select([], [fd], [], self.timeout)[1]:
                        raise Timeout("send", self.timeout) from None
                    continue
                if done == 0:
                    break  # the file ended early
                sent += done
        except OSError as exc:
            raise translate(exc, "send", self.timeout) from exc
        finally:
            protocol.bytes_out += sent
        return sent

    def _drain(self) -> None:
        """Wait until the transport has written everything it holds."""
        protocol = self.protocol

        async def drained() -> None:
            while not protocol.closing and protocol.transport.get_write_buffer_size():  # type: ignore
                await asyncio.sleep(0.001)

        asyncio.run_coroutine_threadsafe(drained(), protocol.loop).result(self.timeout)

    def _copy(self, file: Any, offset: int, count: int) -> int:
        sent, fd = 0, file.fileno()
        while sent < count:
            block = os.pread(fd, min(_BLOCK, count - sent), offset + sent)
            if not block:
                break
            self.write(block)
            sent += len(block)
        return sent
