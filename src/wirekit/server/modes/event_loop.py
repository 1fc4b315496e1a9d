"""``async``: every connection on one asyncio event loop, on uvloop when it is installed.

Two handler shapes run here. An :class:`AsyncStreamHandler` gets a task and an
:class:`AsyncStream`. A :class:`FramedHandler` runs inline in the protocol's ``data_received``
callback (no task, no future per message), which is the fast path: a request/response protocol
then costs little more than a bare ``asyncio.Protocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Any

from wirekit.errors import ConfigError, MessageTooLarge, Timeout
from wirekit.net.address import Address
from wirekit.net.aio import AsyncStream, IdleTimer, StreamProtocol
from wirekit.net.framing import PassThroughFramer
from wirekit.server.acceptor import BACKOFF, CAPACITY_ERRNOS, TRANSIENT_ERRNOS
from wirekit.server.connlog import ConnectionRecord, logger
from wirekit.server.core import ConnectionCore
from wirekit.server.drivers.event_loop import LoopShell, WorkerPool
from wirekit.server.handlers import (
    AsyncStreamHandler,
    DatagramHandler,
    FramedHandler,
)
from wirekit.server.modes.base import Mode
from wirekit.server.runner import conclude, outcome_of, serve_datagram

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["Async", "new_event_loop"]



def new_event_loop(use_uvloop: bool = True) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class FramedProtocol(asyncio.Protocol):
    """Runs a :class:`FramedHandler` straight from the loop's callbacks."""

    def __init__(self, server: Server, client: Address, done: Any) -> None:
        self.server, self.client, self.done = server, client, done
        self.handler: FramedHandler = server.handler(client, server)  # type: ignore[assignment]
        self.framer = self.handler.make_framer()
        self.record = ConnectionRecord(client)
        self.bytes_in = self.bytes_out = 0
        self.outcome, self.level = "closed", logging.INFO
        self.transport: asyncio.Transport | None = None
        self.idle: IdleTimer | None = None
        self.served = False
        self.stop_when_idle = False
        self.write_paused = False
        self.eof = False  # the client half-closed while a backlog waited
        # Started when a message is partly in: it must be complete in Timeouts.message.
        self.message_timer: asyncio.TimerHandle | None = None
        # Messages of a chunk not yet answered because the client stopped reading replies.
        self.backlog: list[bytes] = []
        if type(self.framer) is PassThroughFramer:
            # Every chunk is a message: skip the framer's calls (echo, byte pumps).
            self._general_received = self.data_received
            self._max_message = self.framer.max_size
            self.data_received = self._pass_through_received  # type: ignore[method-assign]

    def _pass_through_received(self, data: bytes) -> None:
        """``data_received`` for a pass-through framer: the chunk is the message."""
        if len(data) > self._max_message:
            self._general_received(data)  # cut into max-size pieces by the framer
            return
        self.bytes_in += len(data)  # also what the idle timer watches
        handler = self.handler
        try:
            reply = handler.handle_message(data)
            self.served = True
            if reply is not None:
                self.transport.write(reply)  # type: ignore[union-attr]
                self.bytes_out += len(reply)
            if handler.closing:
                self.transport.close()  # type: ignore[union-attr]
            elif self.stop_when_idle:
                self.close_when_idle()
        except Exception as exc:
            self._fail(exc)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.server.connection_timeouts.read is not None:
            self.idle = IdleTimer(self.server.connection_timeouts.read, self._on_idle,
                                  progress=lambda: self.bytes_in)
        try:
            self.handler.setup()
            if (banner := self.handler.greeting()) is not None:
                self._write(banner)
            if self.handler.closing:
                self.transport.close()  # type: ignore[union-attr]
        except Exception as exc:
            self._fail(exc)

    def data_received(self, data: bytes) -> None:
        """The hot path: cut messages and answer them inline, with as few calls as possible."""
        self.bytes_in += len(data)  # also what the idle timer watches
        handler = self.handler
        try:
            try:
                messages = self.framer.feed(data)
            except MessageTooLarge:
                if (last := handler.on_too_large()) is not None:
                    self._write(last)
                raise
            self._answer(messages)
            if self.framer.between_messages:
                if self.message_timer is not None:
                    self.message_timer.cancel()
                    self.message_timer = None
            elif self.message_timer is None and (limit := self.server.timeouts.message):
                self.message_timer = asyncio.get_running_loop().call_later(
                    limit, self._on_slow_message, limit)
        except Exception as exc:
            self._fail(exc)

    def _on_slow_message(self, limit: float) -> None:
        self.outcome = f"closed: {Timeout('message', limit)}"  # SECURITY.md L04
        self.transport.abort()  # type: ignore[union-attr]

    def _answer(self, messages: list[bytes]) -> None:
        """Answer ``messages`` in order. If the client stops reading replies on the way (the
        transport calls ``pause_writing``), the rest wait in ``backlog`` until it reads again:
        a chunk of many small requests with big replies cannot fill the server's memory."""
        handler, transport = self.handler, self.transport
        for index, message in enumerate(messages):
            reply = handler.handle_message(message)
            self.served = True
            if reply is not None:
                out = self.framer.encode(reply)
                transport.write(out)  # type: ignore[union-attr]
                self.bytes_out += len(out)
            if handler.closing:
                transport.close()  # type: ignore[union-attr]
                return
            if self.write_paused:
                self.backlog = messages[index + 1:]
                return
        if self.stop_when_idle:
            self.close_when_idle()

    def close_when_idle(self) -> None:
        """At shutdown: close now if nothing is in flight, else after the current message.
        A connection still waiting for its first message is idle too, except in a worker
        being recycled, which serves its last connections."""
        self.stop_when_idle = True
        if (self.framer.between_messages and not self.backlog
                and (self.served or not self.server.recycling)):
            self.close()

    def _write(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]
        self.bytes_out += len(data)

    def _fail(self, exc: Exception) -> None:
        self.outcome, self.level = conclude(exc, type(self.handler).__name__, self.client)
        self.transport.abort()  # type: ignore[union-attr]

    def _on_idle(self) -> None:
        self.outcome = "closed on idle timeout"
        self.transport.abort()  # type: ignore[union-attr]

    def pause_writing(self) -> None:
        # The client is not reading our replies: stop reading its requests (and answering
        # those already read) until it does, so the write buffer stays bounded by the
        # transport's high-water mark (SECURITY.md L05).
        self.write_paused = True
        self.transport.pause_reading()  # type: ignore[union-attr]

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.backlog:
            waiting, self.backlog = self.backlog, []
            try:
                self._answer(waiting)
            except Exception as exc:
                self._fail(exc)
                return
            if self.write_paused or self.transport.is_closing():  # type: ignore[union-attr]
                return
            if self.eof:
                self.transport.close()  # type: ignore[union-attr]
                return
        self.transport.resume_reading()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        if self.backlog:  # half-closed with requests still to answer: answer them first
            self.eof = True
            return True
        return False  # the client is done: close our side too

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        if self.message_timer is not None:
            self.message_timer.cancel()
        if exc is not None and self.outcome == "closed":
            self.outcome = "disconnected by the client"
        try:
            self.handler.finish()
        except Exception:
            logger.exception("finish() raised for client %s", self.client)
        self.record.log(self.outcome, self.bytes_in, self.bytes_out, self.level)
        self.done(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: Server) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        sender = Address.from_sockaddr(self.server.datagram.socket.family, addr)  # type: ignore
        if self.server.permits(sender):
            serve_datagram(self.server, data, sender)

    def error_received(self, exc: Exception) -> None:
        logger.debug("datagram error ignored: %s", exc)


class Async(Mode):
    name = "async"
    handlers = (AsyncStreamHandler, FramedHandler, DatagramHandler, ConnectionCore)

    def __init__(self, max_connections: int | None = None, use_uvloop: bool = True,
                 threads: int = 32) -> None:
        if max_connections is not None and max_connections < 1:
            raise ConfigError(f"max_connections must be >= 1, got {max_connections}")
        if threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        self.max_connections = max_connections
        self.use_uvloop = use_uvloop
        # Worker threads for the work of connection cores (a WSGI application): the most
        # requests whose application runs at once (gunicorn gthread's default is 1 per
        # worker; granian's blocking threads default to a few dozen).
        self.threads = threads

    @classmethod
    def sized(cls, workers: int | None) -> Async:
        return cls() if workers is None else cls(max_connections=workers)

    def serve(self, server: Server) -> None:
        loop = new_event_loop(self.use_uvloop)
        self._session = (loop, _Run(server, self))
        try:
            loop.run_until_complete(self._session[1].main())
        finally:
            self._session = None
            loop.close()

    _session: tuple[asyncio.AbstractEventLoop, _Run] | None = None

    def active_connections(self, server: Server) -> int:
        return 0 if self._session is None else len(self._session[1].connections)

    def force_stop(self, server: Server) -> None:
        if self._session is not None:
            loop, run = self._session
            loop.call_soon_threadsafe(run.abort_all)

    def __str__(self) -> str:
        return "async" if self.max_connections is None else \
            f"async, max_connections={self.max_connections}"


class _Run:
    """One serving session of the async mode."""

    def __init__(self, server: Server, mode: Async) -> None:
        self.server, self.mode = server, mode
        self.connections: dict[Any, None] = {}  # oldest first: evicted first when idle
        self.tasks: set[asyncio.Task[None]] = set()
        self.limit = mode.max_connections or server.limits.max_connections
        self.slots = asyncio.Semaphore(self.limit)
        self.cores = issubclass(server.handler, ConnectionCore)
        self.pool: WorkerPool | None = None
        self.all_closed: asyncio.Event | None = None

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        server = self.server
        stop = asyncio.Event()
        self.all_closed = asyncio.Event()
        if self.cores:
            self.pool = WorkerPool(loop, self.mode.threads)

        def on_wake() -> None:
            server.waker.drain()
            if server.stopping.is_set():
                stop.set()

        loop.add_reader(server.waker.fileno(), on_wake)
        beat = loop.create_task(self._heartbeat())
        if server.stopping.is_set():
            stop.set()
        if server.datagram is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(server), sock=server.datagram.socket)
            await stop.wait()
            transport.abort()
        else:
            acceptor = loop.create_task(self._accept_loop())
            await stop.wait()
            acceptor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acceptor
            server.close_listener()
            await self._drain()
        beat.cancel()
        loop.remove_reader(server.waker.fileno())
        if self.pool is not None:
            self.pool.stop()

    async def _heartbeat(self) -> None:
        while True:
            self.server.heartbeat()
            await asyncio.sleep(self.server.tick_interval)

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        server = self.server
        listening = server.listener.socket  # type: ignore[union-attr]
        listening.setblocking(False)
        slots = None if self.cores else self.slots  # cores: full means evict or 503
        while True:
            if slots is not None:
                await slots.acquire()
            try:
                sock, sockaddr = await loop.sock_accept(listening)
            except asyncio.CancelledError:
                if slots is not None:
                    slots.release()
                raise
            except OSError as exc:
                if slots is not None:
                    slots.release()
                if exc.errno in CAPACITY_ERRNOS:
                    logger.warning("accept failed (%s); backing off", exc.strerror)
                    await asyncio.sleep(BACKOFF)
                elif exc.errno not in TRANSIENT_ERRNOS:
                    # The listening socket itself failed: say so and stop, rather than look
                    # healthy while nobody accepts.
                    logger.error("accept failed (%s); stopping the server", exc)
                    server.request_stop()
                    return
                continue
            # One connection per wakeup: prefork workers sharing this socket then take turns
            # (a worker that drained the backlog in one go took all 50 connections of a
            # burst, and the other worker none; measured).
            if self.cores and len(self.connections) >= self.limit and not self._make_room():
                self._turn_away(sock)
                continue
            self._admit(sock, sockaddr)

    def _make_room(self) -> bool:
        """At the connection cap: close the longest-idle connection (nothing in flight, so
        nothing is lost); False if every connection is busy."""
        for connection in self.connections:
            if not connection.closing and connection.core.idle:
                connection.core.outcome = "closed to make room (connection cap)"
                connection.close()
                return True
        return False

    def _turn_away(self, sock: socket.socket) -> None:
        """Every connection is busy: a fast answer (HTTP's 503) and close, instead of a
        client left waiting in the backlog."""
        answer = self.server.handler.overload_response  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            if answer:
                sock.setblocking(False)
                sock.send(answer)
        sock.close()
        logger.warning("connection refused: %d connections, all busy", len(self.connections))

    def _admit(self, sock: socket.socket, sockaddr: Any) -> None:
        """Policy, budget, then the connection starts in a task of its own."""
        server = self.server
        client = Address.from_sockaddr(sock.family, sockaddr or "")
        if not server.permits(client):
            logger.warning("%s refused by the access policy", client)
            sock.close()
            if not self.cores:
                self.slots.release()
            return
        if server.spend_connection_budget():
            server.recycle()
        sock.setblocking(False)
        self._spawn(self._connect(sock, client))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _done(self, connection: Any) -> None:
        self.connections.pop(connection, None)
        if not self.cores:
            self.slots.release()
        if not self.connections and self.all_closed is not None:
            self.all_closed.set()

    async def _connect(self, sock: socket.socket, client: Address) -> None:
        loop = asyncio.get_running_loop()
        server = self.server
        factory = FramedProtocol if issubclass(server.handler, FramedHandler) else None
        protocol: Any = None
        try:
            if self.cores:
                core = server.core_for(client)
                protocol = LoopShell(core, self.pool, self._done,  # type: ignore[arg-type]
                                     server.timeouts.write)
                self.connections[protocol] = None
                await loop.connect_accepted_socket(
                    lambda: protocol, sock, ssl=server.accept_tls,
                    ssl_handshake_timeout=server.timeouts.handshake if server.accept_tls
                    else None)
            elif factory is not None:
                protocol = factory(server, client, self._done)
                self.connections[protocol] = None
                await loop.connect_accepted_socket(
                    lambda: protocol, sock, ssl=server.accept_tls,
                    ssl_handshake_timeout=server.timeouts.handshake if server.accept_tls
                    else None)
            else:
                stream_protocol = StreamProtocol(idle=server.connection_timeouts.read)
                await loop.connect_accepted_socket(
                    lambda: stream_protocol, sock, ssl=server.accept_tls,
                    ssl_handshake_timeout=server.timeouts.handshake if server.accept_tls
                    else None)
                self._spawn(self._run_stream_handler(stream_protocol, client))
        except Exception as exc:
            logger.info("%s %s", client, outcome_of(exc)[0])
            sock.close()
            if protocol is not None:
                self.connections.pop(protocol, None)  # never connected: no connection_lost
            if not self.cores:
                self.slots.release()

    async def _run_stream_handler(self, protocol: StreamProtocol, client: Address) -> None:
        server = self.server
        stream = AsyncStream(protocol, timeouts=server.connection_timeouts, limits=server.limits)
        record = ConnectionRecord(client)
        self.connections[stream] = None
        outcome, level = "closed", logging.INFO
        try:
            handler = server.handler(client, server)
            handler.stream = stream  # type: ignore[attr-defined]
            handler.setup()
            try:
                await handler.handle()  # type: ignore[attr-defined]
            finally:
                handler.finish()
        except asyncio.CancelledError:
            outcome = "closed at shutdown"
        except Exception as exc:
            outcome, level = conclude(exc, server.handler.__name__, client)
        finally:
            stream.close()
            record.log(outcome, stream.bytes_received, stream.bytes_sent, level)
            self._done(stream)

    async def _drain(self) -> None:
        """Idle framed connections close now; the rest close after their current message.
        Everything gets the grace period to finish, then is aborted."""
        for connection in list(self.connections):
            if type(connection) is LoopShell:
                connection.request_stop()
            elif hasattr(connection, "close_when_idle"):
                connection.close_when_idle()
        loop = asyncio.get_running_loop()
        grace = self.server.timeouts.shutdown_grace
        if self.connections:
            self.all_closed.clear()  # type: ignore[union-attr]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_closed.wait(), grace)  # type: ignore[union-attr]
        if self.connections:
            logger.warning("grace period over: closing %d connection(s)", len(self.connections))
            self.abort_all()
            end = loop.time() + 5
            while (self.connections or self.tasks) and loop.time() < end:
                await asyncio.sleep(0.02)

    def abort_all(self) -> None:
        """Close every connection now and cancel the handlers (second signal, grace over)."""
        for connection in list(self.connections):
            connection.abort()
        for task in list(self.tasks):
            task.cancel()
