"""Fixtures for the HTTP server tests: a started ``HTTPServer`` and raw-socket helpers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wirekit.http.server import HTTPServer

MODES = ["threads", "async"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each test taking ``mode`` runs under the thread pool and the event loop."""
    return request.param


@pytest.fixture
def http_server() -> Iterator[Callable[..., HTTPServer]]:
    """``http_server(app, concurrency=None, **options)`` -> a running HTTPServer (None: the
    server's default mode)."""
    servers: list[HTTPServer] = []

    def start(app: Any, concurrency: Any = None, **options: Any) -> HTTPServer:
        if concurrency is not None:
            options["concurrency"] = concurrency
        server = HTTPServer(app, "127.0.0.1:0", **options)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.shutdown(timeout=10)


def exchange(server: HTTPServer, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send raw bytes, half-close, and read everything until the server closes."""
    with socket.create_connection((server.address.host, server.address.port), 5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock, wait)


def read_all(sock: socket.socket, wait: float = 5.0) -> bytes:
    sock.settimeout(wait)
    chunks = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def hello_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The course's hello world (and the benchmark's): fixed length, one chunk."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello World\n"]
