"""Answers the server gives on its own (4xx for bad requests, 408, 503) and the access log
line of an exchange: the pieces both I/O drivers share outside the application's exchange."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from wirekit.errors import LocalProtocolError, NetworkError
from wirekit.http.server.accesslog import AccessSink
from wirekit.proto.http import Connection

__all__ = ["log_exchange", "refuse"]

_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]


def refuse(conn: Connection, write: Callable[[bytes], Any], status: int, text: str) -> int:
    """Send a short plain-text error and mark the connection for closing; the size of the
    content sent (0 if nothing could be: a response was already under way)."""
    body = text.encode("utf-8", "replace")
    try:
        out = conn.send_response(status, _HEADERS, body)
    except LocalProtocolError:
        conn.send_failed()
        return 0
    with contextlib.suppress(NetworkError, OSError):
        write(out)
    return len(body)


def log_exchange(sink: AccessSink, environ: dict[str, Any], exchange: Any) -> None:
    """The access log line of one request (Common Log Format)."""
    line = f'{environ["REQUEST_METHOD"]} {environ["RAW_URI"]} {environ["SERVER_PROTOCOL"]}'
    sink.request(environ.get("REMOTE_ADDR", "-"), line, exchange.status_code,
                 exchange.body_bytes, environ.get("REMOTE_USER") or "-")
