"""``async``: every connection on one asyncio event loop, on uvloop when it is installed.

Two handler shapes run here. An :class:`AsyncStreamHandler` gets a task and an
:class:`AsyncStream`. A connection core (a :class:`FramedHandler`, the HTTP server) runs
straight from the loop's callbacks through ``server/drivers/event_loop.py`` (no task, no
future per message), with its work on the driver's worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Any

from wirekit.errors import ConfigError
from wirekit.net.address import Address
from wirekit.net.aio import AsyncStream, StreamProtocol
from wirekit.server.acceptor import BACKOFF, CAPACITY_ERRNOS, TRANSIENT_ERRNOS
from wirekit.server.connlog import ConnectionRecord, logger
from wirekit.server.core import ConnectionCore
from wirekit.server.drivers.event_loop import LoopShell, WorkerPool
from wirekit.server.handlers import (
    AsyncStreamHandler,
    DatagramHandler,
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


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: Server) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        endpoint = self.server.datagram
        assert endpoint is not None  # this protocol serves the server's datagram endpoint
        sender = Address.from_sockaddr(endpoint.socket.family, addr)
        if self.server.permits(sender):
            serve_datagram(self.server, data, sender)

    def error_received(self, exc: Exception) -> None:
        logger.debug("datagram error ignored: %s", exc)


class Async(Mode):
    name = "async"
    multithread = True  # applications run on worker threads
    handlers = (AsyncStreamHandler, DatagramHandler, ConnectionCore)

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
        self.stopping = False  # connections were told to stop

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        server = self.server
        stop = asyncio.Event()
        self.all_closed = asyncio.Event()
        if self.cores:
            self.pool = WorkerPool(loop, self.mode.threads)

        def on_wake() -> None:
            server.process.waker.drain()
            if server.process.stopping.is_set():
                stop.set()

        loop.add_reader(server.process.waker.fileno(), on_wake)
        beat = loop.create_task(self._heartbeat())
        if server.process.stopping.is_set():
            stop.set()
        if server.datagram is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(server), sock=server.datagram.socket)
            await stop.wait()
            transport.abort()
        else:
            acceptor = loop.create_task(self._serve_cores() if self.cores
                                        else self._accept_loop())
            await stop.wait()
            self._tell_connections()
            acceptor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acceptor
            server.close_listener()
            await self._drain()
        beat.cancel()
        loop.remove_reader(server.process.waker.fileno())
        if self.pool is not None:
            self.pool.stop()

    async def _heartbeat(self) -> None:
        while True:
            self.server.process.heartbeat()
            await asyncio.sleep(self.server.process.tick_interval)

    async def _serve_cores(self) -> None:
        """Connection cores: the loop's own accept loop (uvloop's, in C: a new connection
        costs no task and no coroutine), each admitted in its first callback."""
        loop = asyncio.get_running_loop()
        server = self.server
        assert server.process.listener is not None  # a stream server (datagrams are served apart)
        listening = server.process.listener.socket
        listening.setblocking(False)
        write_timeout, pool = server.timeouts.write, self.pool
        assert pool is not None  # made by main() for connection cores

        def new_shell() -> LoopShell:
            return LoopShell(None, pool, self._done, write_timeout, admit=self._admit_core)

        accepting = await loop.create_server(
            new_shell, sock=listening, ssl=server.accept_tls, backlog=server.limits.backlog,
            ssl_handshake_timeout=server.timeouts.handshake if server.accept_tls else None)
        try:
            await loop.create_future()  # until cancelled at shutdown
        finally:
            accepting.close()

    def _admit_core(self, shell: LoopShell, transport: asyncio.Transport
                    ) -> ConnectionCore | None:
        """Policy, the connection cap (make room, or a fast refusal), the budget; then the
        connection's core."""
        server = self.server
        sock = transport.get_extra_info("socket")
        client = Address.from_sockaddr(sock.family, transport.get_extra_info("peername") or "")
        if not server.permits(client):
            logger.warning("%s refused by the access policy", client)
            transport.abort()
            return None
        if len(self.connections) >= self.limit and not self._make_room():
            answer = getattr(server.handler, "overload_response", None)
            if answer:
                transport.write(answer)
            transport.close()
            logger.warning("connection refused: %d connections, all busy",
                           len(self.connections))
            return None
        if server.process.spend_connection_budget():
            server.process.recycle()
        self.connections[shell] = None
        if self.stopping:  # accepted as the server stops: told once it is up
            asyncio.get_running_loop().call_soon(shell.request_stop)
        return server.core_for(client)

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        server = self.server
        assert server.process.listener is not None  # a stream server (datagrams are served apart)
        listening = server.process.listener.socket
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
        answer = getattr(self.server.handler, "overload_response", None)
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
        if server.process.spend_connection_budget():
            server.process.recycle()
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
        protocol: Any = None
        try:
            if self.cores:
                core = server.core_for(client)
                assert self.pool is not None  # made by main() for connection cores
                protocol = LoopShell(core, self.pool, self._done,
                                     server.timeouts.write)
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
            handler: Any = server.handler(client, server)  # an AsyncStreamHandler
            handler.stream = stream
            handler.setup()
            try:
                await handler.handle()
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

    def _tell_connections(self) -> None:
        """Every connection learns of the stop (its core decides what that means), before
        the listener closes: a client that sees connects refused knows its open
        connections were told. One admitted after this is told as it starts."""
        self.stopping = True
        for connection in list(self.connections):
            if type(connection) is LoopShell:
                connection.request_stop()

    async def _drain(self) -> None:
        """Everything gets the grace period to finish, then is aborted."""
        loop = asyncio.get_running_loop()
        grace = self.server.timeouts.shutdown_grace
        all_closed = self.all_closed
        assert all_closed is not None  # made by main()
        if self.connections:
            all_closed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_closed.wait(), grace)
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
