"""``serve_wsgi(app)``: a WSGI application on a loopback port, for tests and examples."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from wirekit.http.server import HTTPServer

__all__ = ["serve_wsgi"]


@contextlib.contextmanager
def serve_wsgi(app: Callable[..., Any], host: str = "127.0.0.1", *,
               concurrency: str = "threads", **options: Any) -> Iterator[str]:
    """Serve ``app`` with wirekit's HTTP server on ``host`` (an ephemeral port) in a
    background thread; yield its base URL (``http://127.0.0.1:PORT``).

    The server stops when the ``with`` block ends. ``options`` go to
    :class:`~wirekit.http.server.HTTPServer` (``tls=``, ``limits=``, ``timeouts=``...).
    """
    address = f"[{host}]:0" if ":" in host else f"{host}:0"
    server = HTTPServer(app, address, concurrency=concurrency, **options)
    server.start()
    try:
        yield server.url
    finally:
        server.shutdown(timeout=10)
