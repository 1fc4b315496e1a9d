"""Answers the server gives on its own (4xx for bad requests, 408, 503) and the access log
line of an exchange: the pieces both I/O drivers share outside the application's exchange."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from wirekit.errors import LocalProtocolError, NetworkError
from wirekit.http.server.accesslog import access_logger, log_request
from wirekit.proto.http import Connection

__all__ = ["log_exchange", "refuse"]

_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]


def refuse(conn: Connection, write: Callable[[bytes], Any], status: int, text: str,
           remote: str = "-", request_line: str = "-") -> None:
    """Send a short plain-text error and mark the connection for closing. Nothing is sent
    if the state does not allow a response any more (one was already under way). The
    access log gets the client and whatever was read of the request line."""
    body = text.encode("utf-8", "replace")
    try:
        out = conn.send_response(status, _HEADERS, body)
    except LocalProtocolError:
        conn.send_failed()
        return
    with contextlib.suppress(NetworkError, OSError):
        write(out)
    if access_logger.isEnabledFor(20):
        log_request(remote, request_line or "-", status, len(body))


def log_exchange(environ: dict[str, Any], exchange: Any) -> None:
    """The access log line of one request (Common Log Format)."""
    if access_logger.isEnabledFor(20):
        line = f'{environ["REQUEST_METHOD"]} {environ["RAW_URI"]} {environ["SERVER_PROTOCOL"]}'
        log_request(environ.get("REMOTE_ADDR", "-"), line, exchange.status_code,
                    exchange.body_bytes, environ.get("REMOTE_USER") or "-")
