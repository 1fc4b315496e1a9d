"""The HTTP server: WSGI applications and course-style handler classes over HTTP/1.1.

See ``docs/http-server.md``. The protocol itself is :mod:`wirekit.proto.http`; serving
(concurrency, limits, shutdown) is :mod:`wirekit.server`.
"""

from wirekit.http.server.files import FileWrapper
from wirekit.http.server.handlers import RequestHandler, handler_app
from wirekit.http.server.server import HTTPServer, WSGIApp

__all__ = ["FileWrapper", "HTTPServer", "RequestHandler", "WSGIApp", "handler_app"]
