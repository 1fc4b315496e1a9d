"""Run one handler on one connection or datagram, for every blocking concurrency mode.

This is where the server's promises are kept whatever the handler does: ``finish()`` always
runs, the connection is always closed, a handler that raises is logged with its client and
never takes the server down, and every connection ends with one log line.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from wirekit.errors import (
    ConnectionClosed,
    MessageTooLarge,
    NetworkError,
    Timeout,
    TLSError,
)
from wirekit.net.address import Address
from wirekit.net.framing import Framer, PassThroughFramer
from wirekit.net.oserrors import translate
from wirekit.net.stream import Stream
from wirekit.server.connlog import ConnectionRecord, logger
from wirekit.server.core import ConnectionCore
from wirekit.server.drivers.blocking import serve_core
from wirekit.server.handlers import DatagramHandler, FramedHandler, StreamHandler

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["conclude", "outcome_of", "serve_connection", "serve_datagram"]


def conclude(exc: BaseException, handler: str, client: Address) -> tuple[str, int]:
    """:func:`outcome_of`, and the traceback logged when the handler itself failed."""
    outcome, level = outcome_of(exc)
    if level == logging.ERROR:
        logger.error("handler %s raised for client %s", handler, client, exc_info=exc)
    return outcome, level


def outcome_of(exc: BaseException) -> tuple[str, int]:
    """How a connection ended, as words for the log line and a log level."""
    if isinstance(exc, Timeout):
        slow = exc.phase == "message"  # a message that trickled in (SECURITY.md L04)
        return (f"closed: {exc}" if slow else "closed on idle timeout"), logging.INFO
    if isinstance(exc, MessageTooLarge):
        return f"closed: {exc}", logging.WARNING
    if isinstance(exc, TLSError):
        return f"TLS handshake failed ({exc})", logging.INFO
    if isinstance(exc, ConnectionClosed | ConnectionError):
        return "disconnected by the client", logging.INFO
    if isinstance(exc, NetworkError):
        return f"network error ({exc})", logging.INFO
    return "handler error", logging.ERROR


def serve_connection(server: Server, sock: socket.socket, client: Address) -> None:
    stream = Stream(sock, timeouts=server.connection_timeouts, limits=server.limits)
    record = ConnectionRecord(client)
    server.track(stream)
    outcome, level = "closed", logging.INFO
    try:
        if server.accept_tls is not None:
            stream.start_tls(server.accept_tls, server_side=True)
        handler: Any = server.core_for(client) if server.proxy_policy is not None \
            else server.handler(client, server)
        handler.stream = stream
        handler.setup()
        try:
            if isinstance(handler, ConnectionCore):
                serve_core(server, stream, handler)
                outcome = handler.outcome
            elif isinstance(handler, FramedHandler):
                _serve_framed(handler, stream, server)
            else:
                handler.handle()
        finally:
            handler.finish()
    except Exception as exc:
        outcome, level = conclude(exc, server.handler.__name__, client)
    finally:
        server.untrack(stream)
        stream.close()
        record.log(outcome, stream.bytes_received, stream.bytes_sent, level)


def _serve_framed(handler: FramedHandler, stream: Stream, server: Server) -> None:
    """Read, cut messages, answer each. One ``recv`` per loop and the framer's ``feed``: the
    flattest path, because under the threads mode every Python frame between two syscalls is
    paid again in GIL hand-offs."""
    framer = handler.make_framer()
    if (banner := handler.greeting()) is not None:
        stream.sendall(banner)
    if type(framer) is PassThroughFramer and (sock := stream.armed_socket()) is not None:
        _serve_pass_through(handler, stream, sock, server, framer.max_size)
    else:
        _serve_messages(handler, framer, stream, server)


def _serve_messages(handler: FramedHandler, framer: Framer, stream: Stream, server: Server
                    ) -> None:
    handle, encode, send = handler.handle_message, framer.encode, stream.sendall
    served = False
    limit = server.timeouts.message
    deadline: float | None = None  # for the message in progress (SECURITY.md L04)
    while not handler.closing:
        if framer.between_messages:
            deadline = None
            # Idle = between messages. A connection still waiting for its first message
            # counts too, except in a worker being recycled, which serves its last ones.
            if served or not server.recycling:
                stream.idle = True
                if server.stopping.is_set():
                    return  # nothing in flight: closing loses nothing
            data = stream.recv()  # clears stream.idle when bytes arrive
        else:
            if deadline is None and limit is not None:
                deadline = time.monotonic() + limit
            data = _recv_before(stream, deadline, limit)
        if not data:
            framer.close()  # IncompleteRead if the client closed mid-message
            return
        try:
            messages = framer.feed(data)
        except MessageTooLarge:
            if (last_word := handler.on_too_large()) is not None:
                send(last_word)
            raise
        for message in messages:
            reply = handle(message)
            served = stream.served = True
            if reply is not None:
                send(encode(reply))
            if handler.closing:
                return


def _recv_before(stream: Stream, deadline: float | None, limit: float | None) -> bytes:
    """The rest of a message must arrive by ``deadline``, however it trickles in."""
    if deadline is None:
        return stream.recv()
    left = deadline - time.monotonic()
    if left <= 0:
        raise Timeout("message", limit)
    if stream.timeouts.read is not None and stream.timeouts.read < left:
        return stream.recv()  # the read timeout comes first
    try:
        return stream.recv(timeout=left)
    except Timeout:
        raise Timeout("message", limit) from None


def _serve_pass_through(handler: FramedHandler, stream: Stream, sock: socket.socket,
                        server: Server, max_size: int) -> None:
    """Every chunk is a message (echo, byte pumps): ``recv``, the handler, ``sendall`` on the
    plain socket (the stream armed the kernel timeouts), and nothing else between the system
    calls. Under the threads mode each bytecode there widens the window in which another
    thread wants the GIL, and on two cores that costs hand-offs (see bench/README.md).

    Graceful shutdown without a flag per message: the stream stays marked idle, because a
    pass-through connection blocked in ``recv`` is always between messages, and the server
    shuts only the *read* side of idle connections (:meth:`Server.close_idle_connections`).
    A reply being written still goes out, and the stop flag read after each answer ends the
    loop (a client that never pauses cannot keep it going)."""
    chunk = min(max_size, 65536)  # recv(n) allocates n bytes first: keep n small
    recv, send, handle = sock.recv, sock.sendall, handler.handle_message
    received = sent = 0
    stream.idle = True  # until the first answer, a recycling server spares it (``served``)
    try:
        while True:
            try:
                data = recv(chunk)
            except OSError as exc:
                raise _failed(exc, "read", stream.timeouts.read) from exc
            if not data:
                return
            reply = handle(data)
            if reply is not None:
                try:
                    send(reply)
                except OSError as exc:
                    raise _failed(exc, "send", stream.timeouts.write) from exc
                sent += len(reply)
            received += len(data)
            if handler.closing or server.stop_requested:
                return
            if not stream.served:
                stream.served = True
    finally:
        stream.bytes_received += received
        stream.bytes_sent += sent


def _failed(exc: OSError, phase: str, seconds: float | None) -> Exception:
    """A raw socket call's error as wirekit's: BlockingIOError is a kernel timeout firing."""
    if isinstance(exc, BlockingIOError):
        return Timeout(phase, seconds)
    return translate(exc, phase, seconds)


def serve_datagram(server: Server, data: bytes, sender: Address) -> None:
    endpoint = server.datagram
    assert endpoint is not None  # a datagram server has its endpoint
    factory: Any = server.handler  # a DatagramHandler subclass (checked by the Server)
    handler = factory(data, sender, server, endpoint.send_to)
    try:
        handler.setup()
        try:
            handler.handle()
        finally:
            handler.finish()
    except Exception:
        logger.exception("datagram handler %s raised for client %s",
                         server.handler.__name__, sender)


HANDLER_KINDS = (StreamHandler, FramedHandler, DatagramHandler, ConnectionCore)
