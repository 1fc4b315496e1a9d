"""One request and its response: running a WSGI application to the letter of PEP 3333.

An :class:`Exchange` sits between a connection's sans-IO core and the application and is the
same for every concurrency mode; the I/O driver only gives it an ``Output`` (``write`` bytes,
``sendfile``). What it guarantees whatever the application does:

* headers are sent at the first non-empty body chunk (or the end), never before; a body of one
  chunk leaves in a single write together with its head;
* the status line and every header are validated by the core: CR, LF or NUL anywhere is a 500
  and a log line, never an injected header (SECURITY.md W01);
* a body longer than its ``Content-Length`` is cut at that length, a shorter one ends the
  connection, so a keep-alive connection never desynchronises (W02);
* an exception before the head is a plain 500 without a traceback; after it, the connection is
  closed, since a response cannot be taken back (W03); ``close()`` on the iterable always runs,
  also when the client went away (W04);
* an error in the request body that the application's ``wsgi.input.read()`` ran into (bad
  chunking, the size limit) is answered with its own status (400, 413), not blamed on the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from wirekit.errors import LimitExceeded, LocalProtocolError, NetworkError, RemoteProtocolError
from wirekit.http.server.files import FileWrapper
from wirekit.proto.http import Connection, Response

__all__ = ["Exchange", "Output", "logger"]

logger = logging.getLogger("wirekit.http.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_ERROR_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]
_STATUS_CACHE: dict[str, tuple[int, str]] = {}


class Output(Protocol):
    """Where an exchange's bytes go: a socket, a transport, a test buffer."""

    def write(self, data: bytes) -> None: ...

    def sendfile(self, file: Any, offset: int, count: int) -> int: ...


def parse_status(status: object) -> tuple[int, str]:
    """``"200 OK"`` -> ``(200, "OK")``; a bad status line is a 500 (``LocalProtocolError``)."""
    cached = _STATUS_CACHE.get(status)  # type: ignore[arg-type]
    if cached is not None:
        return cached
    if type(status) is not str or len(status) < 4 or status[3] != " " or \
            not status[:3].isdigit() or not status.isascii():
        raise LocalProtocolError(f"invalid WSGI status {status!r} (PEP 3333: '200 OK')")
    parsed = int(status[:3]), status[4:]
    if parsed[0] < 100:
        raise LocalProtocolError(f"invalid WSGI status {status!r}")
    if len(_STATUS_CACHE) < 256 and "\r" not in status and "\n" not in status:
        _STATUS_CACHE[status] = parsed
    return parsed


class Exchange:
    """Runs ``app`` for one request on ``conn`` and writes the response to ``out``."""

    __slots__ = ("body_bytes", "conn", "environ", "head_sent", "headers", "must_close", "out",
                 "status", "status_code")  # fmt: skip

    def __init__(self, conn: Connection, environ: dict[str, Any], out: Output) -> None:
        self.conn = conn
        self.environ = environ
        self.out = out
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.status_code = 0
        self.body_bytes = 0
        self.must_close = False

    # -- the two callables PEP 3333 gives the application -----------------------------------
    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback (PEP 3333)
        elif self.status is not None:
            raise LocalProtocolError("start_response() called twice without exc_info")
        if type(headers) is not list:
            raise LocalProtocolError(f"WSGI headers must be a list, got {type(headers)}")
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        """The legacy ``write()`` callable: sends the head first if needed."""
        if self.status is None:
            raise LocalProtocolError("write() before start_response()")
        self._send_chunk(data)

    # -- running ----------------------------------------------------------------------------
    def run(self, app: WSGIApp, defer: Callable[[Exchange, Any], None] | None = None
            ) -> bool:
        """Call the application and send its response. With ``defer``, a response that is
        not a list is handed to ``defer(self, result)`` to finish elsewhere (an event loop
        sends iterators and files from a worker thread); returns False then."""
        try:
            result = app(self.environ, self.start_response)
        except Exception as exc:
            self._failed(exc)
            return True
        if type(result) is list:
            if len(result) == 1 and self._send_whole(result[0]):
                return True  # the usual `return [body]`, in one write
        elif defer is not None:
            defer(self, result)
            return False
        self.finish(result)
        return True

    def _send_whole(self, body: object) -> bool:
        """Head and the only body chunk in one buffer; False to take the general path
        (which then reports whatever is wrong with the response)."""
        status = self.status
        if type(body) is not bytes or status is None or self.head_sent:
            return False
        try:
            code_reason = _STATUS_CACHE.get(status) or parse_status(status)
            out = self.conn.send_response(code_reason[0], self.headers, body,
                                          reason=code_reason[1])
        except LocalProtocolError:
            return False  # a bad header or a wrong length
        self.status_code, self.head_sent = code_reason[0], True
        self.body_bytes = len(body)
        self.out.write(out)
        return True

    def finish(self, result: Iterable[bytes]) -> None:
        """Send the application's response; ``close()`` it whatever happens."""
        try:
            self._respond(result)
        except Exception as exc:
            self._failed(exc)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.exception("close() of the application's response raised")

    def _respond(self, result: Iterable[bytes]) -> None:
        if type(result) is list and len(result) == 1 and self._send_whole(result[0]):
            return
        if type(result) is FileWrapper and (where := result.sendable()) is not None:
            self._send_file(result, *where)
            return
        for chunk in result:
            if chunk:
                self._send_chunk(chunk)
                if self.must_close:
                    return
        self._finish()

    def _send_head(self, first: bytes, length: int | None = None) -> None:
        """The head, with ``first`` (the first content) in the same write."""
        if self.status is None:
            raise LocalProtocolError("the application returned without calling start_response")
        code, reason = parse_status(self.status)
        headers = self.headers
        if length is not None and not any(n.lower() == "content-length" for n, _ in headers):
            headers = [*headers, ("Content-Length", str(length))]
        head = self.conn.send(Response(code, headers, reason))
        self.status_code, self.head_sent = code, True
        self.out.write(head + self._framed(first) if first else head)

    def _send_chunk(self, data: bytes) -> None:
        if type(data) is not bytes:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise LocalProtocolError(
                    f"the application yielded {type(data).__name__}, not bytes (PEP 3333)")
            data = bytes(data)
        if not self.head_sent:
            self._send_head(data)
        elif data:
            self.out.write(self._framed(data))

    def _framed(self, data: bytes) -> bytes:
        """Frame content; content past the announced length is cut there and the connection
        is closed afterwards (W02)."""
        remaining = self.conn.content_remaining
        if remaining is not None and len(data) > remaining:
            logger.warning("%s: the application sent more than its Content-Length; cut at it",
                           self._request_line())
            data = data[:remaining]
            self.must_close = True
        self.body_bytes += len(data)
        return self.conn.send_data(data)

    def _finish(self) -> None:
        if not self.head_sent:
            if self.status is None:
                raise LocalProtocolError(
                    "the application returned without calling start_response")
            self._send_head(b"")
        if self.must_close:
            self.conn.send_failed()
            return
        try:
            end = self.conn.send_end_of_message()
        except LocalProtocolError as exc:  # fewer bytes than Content-Length promised
            logger.warning("%s: %s; closing the connection", self._request_line(), exc)
            self.conn.send_failed()
            self.must_close = True
            return
        if end:
            self.out.write(end)

    def _send_file(self, wrapper: FileWrapper, offset: int, available: int) -> None:
        self._send_head(b"", length=available)
        if self.environ["REQUEST_METHOD"] == "HEAD" or self.status_code in (204, 304):
            self._finish()  # no content goes out (RFC 9110 §6.4.1)
            return
        count = self.conn.content_remaining
        if count is None:  # chunked (the app set Transfer-Encoding): iterate it
            for chunk in wrapper:
                self._send_chunk(chunk)
            self._finish()
            return
        sent = self.out.sendfile(wrapper.filelike, offset, count) if count else 0
        self.body_bytes += sent
        if sent < count:  # the file shrank under us: the length was a promise
            self.conn.send_failed()
            self.must_close = True
            return
        self.conn.content_sent(count)
        self._finish()

    # -- failures ---------------------------------------------------------------------------
    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, NetworkError):
            raise exc  # the peer went away: nothing to answer, the driver closes
        if isinstance(exc, RemoteProtocolError | LimitExceeded):
            # Raised by wsgi.input: the request body was bad, not the application.
            status = getattr(exc, "status", 400)
            logger.info("%s: %s", self._request_line(), exc)
            self._answer_error(status, f"{exc}\n")
            return
        if isinstance(exc, LocalProtocolError):
            logger.error("%s: invalid response from the application: %s",
                         self._request_line(), exc)
        else:
            logger.error("%s: the application raised", self._request_line(), exc_info=exc)
        self._answer_error(500, "Internal Server Error\n")

    def _answer_error(self, status: int, text: str) -> None:
        self.must_close = True
        if self.head_sent:
            self.conn.send_failed()  # a response cannot be taken back: end the connection
            return
        body = text.encode("utf-8", "replace")
        self.status_code, self.head_sent = status, True
        self.body_bytes = len(body)
        self.out.write(self.conn.send_response(
            status, [*_ERROR_HEADERS, ("Connection", "close")], body))

    def _request_line(self) -> str:
        env = self.environ
        return f'"{env["REQUEST_METHOD"]} {env["RAW_URI"]} {env["SERVER_PROTOCOL"]}"'

