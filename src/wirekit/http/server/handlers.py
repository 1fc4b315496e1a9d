"""Handler classes in the course's style (4-50): ``do_GET``, ``send_response``, ``wfile``.

The standard library's ``BaseHTTPRequestHandler`` parses HTTP itself, line by line, and its
``wfile`` is the raw socket: any mistake in a handler becomes a malformed response. Here the
same class shape is a thin adapter over WSGI, so a handler gets wirekit's parser, limits,
header validation and every concurrency mode, and what it writes is framed by the server::

    class Hello(RequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"Hello World\\n")

    HTTPServer(Hello, "127.0.0.1:8000").serve_forever()
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from wirekit.errors import LocalProtocolError
from wirekit.proto.http import Headers, reason_phrase

__all__ = ["RequestHandler", "handler_app"]

logger = logging.getLogger("wirekit.http.server")


def _header_name(key: str) -> str:
    """``HTTP_USER_AGENT`` -> ``User-Agent``."""
    return "-".join(part.capitalize() for part in key.split("_"))


def _request_headers(environ: dict[str, Any]) -> Headers:
    fields = [(_header_name(key[5:]), value) for key, value in environ.items()
              if key.startswith("HTTP_")]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            fields.append((_header_name(key), environ[key]))
    return Headers(fields)


class _WFile:
    """The handler's ``wfile``: writes become response content, framed by the server."""

    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler

    def write(self, data: bytes) -> int:
        handler = self._handler
        write = handler._write
        if write is None:
            if handler._status is None:
                raise LocalProtocolError("wfile.write() before send_response()")
            handler.end_headers()
            write = handler._write
            assert write is not None  # end_headers() started the response: _status is set
        write(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: every write is handed to the server at once."""


class RequestHandler:
    """One request, handled by the ``do_<METHOD>`` method of a subclass.

    Attributes as in the standard library: ``command``, ``path`` (the request-target as
    sent, with its query), ``request_version``, ``headers`` (case-insensitive),
    ``client_address``, ``rfile`` (the request body) and ``wfile`` (the response body); plus
    ``environ``, the WSGI environ the adapter was given.
    """

    server_version: ClassVar[str] = "wirekit"
    error_content_type: ClassVar[str] = "text/html; charset=utf-8"

    def __init__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> None:
        self.environ = environ
        self._start_response = start_response
        self.command: str = environ["REQUEST_METHOD"]
        self.path: str = environ.get("RAW_URI") or (
            environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""))
        self.request_version: str = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        self.headers: Headers = environ.get("wirekit.headers") or _request_headers(environ)
        port = environ.get("REMOTE_PORT") or "0"
        self.client_address = (environ.get("REMOTE_ADDR", ""), int(port))
        self.rfile = environ["wsgi.input"]
        self.wfile = _WFile(self)
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self._write: Callable[[bytes], Any] | None = None

    # -- the course's API -------------------------------------------------------------------
    def send_response(self, code: int, message: str | None = None) -> None:
        """Start the response with ``code`` (the reason phrase defaults to the standard)."""
        if self._write is not None:
            raise LocalProtocolError("send_response() after the headers were sent")
        self._status = f"{code} {message or reason_phrase(code)}"
        self._headers = []

    def send_header(self, keyword: str, value: str) -> None:
        if self._write is not None:
            raise LocalProtocolError("send_header() after end_headers()")
        self._headers.append((keyword, str(value)))

    def end_headers(self) -> None:
        if self._status is None:
            raise LocalProtocolError("end_headers() before send_response()")
        if self._write is None:
            self._write = self._start_response(self._status, self._headers)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """An HTML error page; every text in it is escaped."""
        phrase = message or reason_phrase(code)
        body = (f"<!DOCTYPE html>\n<title>{code} {html.escape(phrase)}</title>\n"
                f"<h1>{code} {html.escape(phrase)}</h1>\n"
                + (f"<p>{html.escape(explain)}</p>\n" if explain else "")).encode("utf-8")
        self.send_response(code, message)
        self.send_header("Content-Type", self.error_content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Messages from the handler go to the ``wirekit.http.server`` logger."""
        logger.info("%s %s", self.client_address[0], format % args)

    # -- the adapter ------------------------------------------------------------------------
    def run(self) -> Iterable[bytes]:
        method = getattr(self, "do_" + self.command, None)
        if method is None:
            self.send_error(501, f"Unsupported method ({self.command})")
        else:
            method()
            if self._status is None:
                raise LocalProtocolError(
                    f"{type(self).__name__}.do_{self.command} sent no response")
            self.end_headers()
        return []


def handler_app(handler_class: type[RequestHandler]) -> Callable[..., Iterable[bytes]]:
    """A WSGI application that runs ``handler_class`` for each request."""
    if not (isinstance(handler_class, type) and issubclass(handler_class, RequestHandler)):
        raise TypeError(f"{handler_class!r} is not a RequestHandler subclass")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return handler_class(environ, start_response).run()

    app.__name__ = app.__qualname__ = handler_class.__name__
    return app
