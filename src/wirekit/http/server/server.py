"""``HTTPServer``: a WSGI application (or a handler class) served over HTTP/1.1.

    from wirekit.http.server import HTTPServer

    def hello_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello World\\n"]

    HTTPServer(hello_app, "127.0.0.1:8000").serve_forever()

It is a :class:`wirekit.server.Server` whose handler speaks HTTP, so everything the server
framework does (concurrency modes, access control, limits, graceful shutdown, TLS) applies
unchanged. Every mode runs the same connection core (``session.HTTPSession``). The default,
``concurrency="async"``, keeps every connection on one event loop and runs the application
on a pool of worker threads, so neither a slow client nor a blocking application holds up
anyone else; ``"threads"`` gives each connection a thread of its own; ``"prefork"`` runs N
worker processes of either kind.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConfigError
from wirekit.http.server.accesslog import AccessSink, LoggerSink
from wirekit.http.server.environ import EnvironTemplate
from wirekit.http.server.files import FileWrapper
from wirekit.http.server.handlers import RequestHandler, handler_app
from wirekit.http.server.session import HTTPSession
from wirekit.net.address import AddressLike
from wirekit.server import Server
from wirekit.server.modes import Mode, make_mode

__all__ = ["HTTPServer", "WSGIApp"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class HTTPServer(Server):
    """Serve ``app`` (a WSGI callable, or a :class:`RequestHandler` subclass) on ``address``.

    ``script_name`` mounts the application under a path prefix (PEP 3333 ``SCRIPT_NAME``);
    ``access_log`` writes one Common Log Format line per request to the
    ``wirekit.http.access`` logger; ``forwarded_allow_ips`` lists the proxies (addresses or
    networks, ``"unix"`` for a Unix socket peer) whose ``X-Forwarded-For``/``-Proto`` are
    believed: from anyone else those fields are removed from the environ.
    """

    def __init__(
        self,
        app: WSGIApp,
        address: AddressLike = "127.0.0.1:8000",
        *,
        concurrency: str | Mode = "async",
        workers: int | None = None,
        tls: ssl.SSLContext | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        limits: Limits = DEFAULT_LIMITS,
        script_name: str = "",
        server_header: str | None = "wirekit",
        access_log: bool | AccessSink = False,
        forwarded_allow_ips: Iterable[str] = (),
        **server_options: Any,
    ) -> None:
        if isinstance(app, type) and issubclass(app, RequestHandler):
            app = handler_app(app)  # a course-style handler class with do_GET...
        if not callable(app):
            raise ConfigError(f"the application must be a WSGI callable, got {app!r}")
        if script_name and not script_name.startswith("/"):
            raise ConfigError(f"script_name must start with '/', got {script_name!r}")
        mode = make_mode(concurrency, workers)
        super().__init__(HTTPSession, address, concurrency=mode, tls=tls, timeouts=timeouts,
                         limits=limits, **server_options)
        self.app: WSGIApp = app  # type: ignore[assignment]  # callable(), checked above
        self.server_header = server_header
        # Where request lines go: the ``wirekit.http.access`` logger for True, or a sink of
        # one's own (``StreamSink(sys.stderr)`` batches the writes, as ``wirekit serve`` does).
        self.access_sink: AccessSink | None = (
            LoggerSink() if access_log is True else access_log or None)
        host = "localhost" if self.address.is_unix else self.address.host or "localhost"
        port = "" if self.address.is_unix else str(self.address.port)
        self.environ_template = EnvironTemplate(
            server_name=host, server_port=port, url_scheme="https" if tls else "http",
            multithread=mode.multithread, multiprocess=mode.multiprocess,
            file_wrapper=FileWrapper, script_name=script_name,
            server_software=server_header or "wirekit",
            forwarded_allow_ips=forwarded_allow_ips,
        )  # fmt: skip

    def process_ending(self) -> None:
        flush = getattr(self.access_sink, "flush", None)
        if flush is not None:
            flush()

    @property
    def url(self) -> str:
        """The base URL clients use (``http://127.0.0.1:8000``; on a Unix socket
        ``http+unix://%2Frun%2Fapp.sock``, the form wirekit's client and requests-unixsocket
        read; ``curl --unix-socket /run/app.sock http://localhost/`` is the curl spelling)."""
        scheme = "https" if self.tls else "http"
        if self.address.is_unix:
            return f"{scheme}+unix://{quote(self.address.path or '', safe='')}"
        host = self.address.host or "localhost"
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.address.port}"

    def __repr__(self) -> str:
        return f"<HTTPServer {self.app!r} on {self.url} ({self.mode})>"
