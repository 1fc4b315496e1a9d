"""Run one handler on one connection or datagram, for every blocking concurrency mode.

This is where the server's promises are kept whatever the handler does: ``finish()`` always
runs, the connection is always closed, a handler that raises is logged with its client and
never takes the server down, and every connection ends with one log line.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from wirekit.errors import (
    ConnectionClosed,
    MessageTooLarge,
    NetworkError,
    Timeout,
    TLSError,
)
from wirekit.net.address import Address
from wirekit.net.stream import Stream
from wirekit.server.connlog import ConnectionRecord, logger
from wirekit.server.core import ConnectionCore
from wirekit.server.drivers.blocking import serve_core
from wirekit.server.handlers import DatagramHandler, StreamHandler

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
    process = server.process
    entry = process.track(sock)
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
                serve_core(server, stream, handler, entry)
                outcome, level = handler.outcome, handler.level
            else:
                handler.handle()
        finally:
            handler.finish()
    except Exception as exc:
        outcome, level = conclude(exc, server.handler.__name__, client)
    finally:
        process.untrack(entry)
        stream.close()
        record.log(outcome, stream.bytes_received, stream.bytes_sent, level)


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


HANDLER_KINDS = (StreamHandler, DatagramHandler, ConnectionCore)
