"""Small WSGI applications the client tests talk to (through a real server)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

StartResponse = Callable[..., Any]


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers as the application saw them (lower-case names)."""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
               if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def echo_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """Answers with JSON describing the request: method, path, query, headers, body."""
    body = read_body(environ)
    answer = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ.get("QUERY_STRING", ""),
        "headers": request_headers(environ),
        "body": body.decode("latin-1"),
        "sha256": hashlib.sha256(body).hexdigest(),
        "client_port": environ.get("REMOTE_PORT"),
    }
    data = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


def status_app(status: str, headers: list[tuple[str, str]] | None = None,
               body: bytes = b"") -> Callable[..., list[bytes]]:
    """Always answers ``status`` with ``headers`` and ``body``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        read_body(environ)
        start_response(status, [*(headers or []), ("Content-Length", str(len(body)))])
        return [body]

    return app


def routes(table: dict[str, Callable[..., list[bytes]]]) -> Callable[..., list[bytes]]:
    """Dispatch on PATH_INFO; 404 for anything else."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        handler = table.get(environ["PATH_INFO"])
        if handler is None:
            read_body(environ)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such page"]
        return handler(environ, start_response)

    return app


def keep_alive_handler(respond: Callable[[Any, bytes], tuple[int, list, bytes]],
                       log: list[tuple[Any, bytes]], max_requests: int = 100
                       ) -> Callable[[Any], None]:
    """A raw-socket handler (for the ``raw_server`` fixture) speaking HTTP/1.1 keep-alive
    through wirekit's server-side core: ``respond(request, body) -> (status, headers, body)``
    for each request; every request and its body is appended to ``log``."""
    from wirekit.proto.http import (
        NEED_DATA,
        Connection,
        ConnectionClosed,
        Data,
        EndOfMessage,
        Role,
        State,
    )
    from wirekit.proto.http import Request as RequestHead

    def handler(sock: Any) -> None:
        conn = Connection(Role.SERVER)
        request, body = None, b""
        served = 0
        while served < max_requests:
            event = conn.next_event()
            if event is NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, RequestHead):
                request, body = event, b""
            elif isinstance(event, Data):
                body += event.data
            elif isinstance(event, EndOfMessage):
                log.append((request, body))
                status, headers, content = respond(request, body)
                sock.sendall(conn.send_response(status, headers, content))
                served += 1
                if conn.our_state is not State.DONE:
                    return
                conn.start_next_cycle()
            elif isinstance(event, ConnectionClosed):
                return

    return handler
