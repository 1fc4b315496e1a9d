"""The WSGI host: one request and its response, to the letter of PEP 3333.

An :class:`Exchange` sits between the HTTP session core (``session.py``) and the application
and is the same for every concurrency mode. It runs off the I/O path (a worker thread, or the
connection's own thread) and writes to an ``Output`` that buffers; the session hands what it
holds to the driver. A long response is produced in slices (:meth:`Exchange.pump` stops when
the output is ``full()``), so a client that does not read holds no thread while it waits.
What it guarantees whatever the application does:

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
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from wirekit.errors import (
    LimitExceeded,
    LocalProtocolError,
    NetworkError,
    RemoteProtocolError,
    Timeout,
)
from wirekit.http.server.files import FileWrapper
from wirekit.proto.http import Connection, Response

__all__ = ["Exchange", "Output", "logger"]

logger = logging.getLogger("wirekit.http.server")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_ERROR_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]
_STATUS_CACHE: dict[str, tuple[int, str]] = {}
# A file without sendfile(2) is read and sent in slices of this size.
_FILE_SLICE = 256 * 1024


class Output(Protocol):
    """Where an exchange's bytes go. ``full()`` says the exchange should stop producing and
    let the driver send what it holds (it is resumed with :meth:`Exchange.pump`);
    ``sendfile`` is None where the kernel cannot send a file straight to the peer."""

    def write(self, data: bytes) -> None: ...

    def full(self) -> bool: ...

    sendfile: Callable[[Any, int, int], int] | None


def parse_status(status: object) -> tuple[int, str]:
    """``"200 OK"`` -> ``(200, "OK")``; a bad status line is a 500 (``LocalProtocolError``)."""
    if type(status) is str and (cached := _STATUS_CACHE.get(status)) is not None:
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

    __slots__ = ("body_bytes", "chunks", "conn", "environ", "file", "head_sent", "headers",
                 "must_close", "out", "result", "status", "status_code")  # fmt: skip

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
        self.result: Any = None  # the application's iterable until it is closed
        self.chunks: Iterator[bytes] | None = None
        self.file: tuple[Any, int, int] | None = None  # (file, offset, bytes left)

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
    def start(self, app: WSGIApp) -> None:
        """Call the application; an exception before it returns is a 500 (or the request
        body's own 4xx). The response is then sent by :meth:`pump`."""
        try:
            result = app(self.environ, self.start_response)
            if result is None:
                raise LocalProtocolError("the application returned None, not an iterable")
            self.result = result
            if type(result) is list:
                if len(result) == 1 and self._send_whole(result[0]):
                    self._close_result()  # the usual `return [body]`, in one write
                else:
                    self.chunks = iter(result)
            elif type(result) is FileWrapper and (where := result.sendable()) is not None:
                self._start_file(result, *where)
        except Exception as exc:
            self._failed(exc)
            self._close_result()

    @property
    def done(self) -> bool:
        """The response is complete (or abandoned): nothing more to pump."""
        return self.result is None

    def pump(self) -> bool:
        """Send more of the response until it is complete (True) or the output is full
        (False: call again once the driver sent what it holds)."""
        if self.result is None:
            return True
        try:
            file = self.file
            complete = self._file_slice(file) if file is not None else self._chunk_slice()
        except Exception as exc:
            self._failed(exc)
            complete = True
        if complete:
            self._close_result()
        return complete

    def abandon(self) -> None:
        """The connection is gone mid-response: release the application's iterable."""
        self._close_result()

    def _chunk_slice(self) -> bool:
        if self.chunks is None:
            self.chunks = iter(self.result)
        out = self.out
        for chunk in self.chunks:
            if chunk:
                self._send_chunk(chunk)
                if self.must_close:
                    return True
                if out.full():
                    return False
        self._finish()
        return True

    def _close_result(self) -> None:
        """``close()`` on the application's iterable, exactly once (PEP 3333, W04)."""
        result, self.result, self.chunks, self.file = self.result, None, None, None
        if type(result) is list:  # the usual `return [body]`: nothing to close
            return
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                logger.exception("close() of the application's response raised")

    def _send_whole(self, body: object) -> bool:
        """Head and the only body chunk in one buffer; False to take the general path
        (which then reports whatever is wrong with the response)."""
        status = self.status
        if type(body) is not bytes or status is None or self.head_sent:
            return False
        try:
            code_reason = _STATUS_CACHE.get(status) or parse_status(status)
            head, content = self.conn.send_response_parts(code_reason[0], self.headers, body,
                                                          reason=code_reason[1])
        except LocalProtocolError:
            return False  # a bad header or a wrong length
        self.status_code, self.head_sent = code_reason[0], True
        self.body_bytes = len(body)
        self.out.write(head)
        if content:
            self.out.write(content)  # the output joins small parts, sends a large one as is
        return True

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

    def _start_file(self, wrapper: FileWrapper, offset: int, available: int) -> None:
        """A regular file: the head now, the content by ``sendfile(2)`` where the output has
        it, else read in slices (``pump``)."""
        self._send_head(b"", length=available)
        if self.environ["REQUEST_METHOD"] == "HEAD" or self.status_code in (204, 304):
            self._finish()  # no content goes out (RFC 9110 §6.4.1)
            self._close_result()
            return
        count = self.conn.content_remaining
        if count is None:  # chunked (the app set Transfer-Encoding): iterate it
            self.chunks = iter(wrapper)
            return
        self.file = (wrapper.filelike, offset, count)

    def _file_slice(self, state: tuple[Any, int, int]) -> bool:
        """``sendfile(2)`` as far as the output takes it (all of it from a blocking driver;
        until the peer's socket is full from the event loop's), then read slices into the
        output until it is full: the driver sends those, and the next pump resumes once the
        peer has read them."""
        file, offset, count = state
        sent, shrank = 0, False
        if (sendfile := self.out.sendfile) is not None and count:
            sent = sendfile(file, offset, count)
        fd = file.fileno()
        while sent < count and not self.out.full():
            block = os.pread(fd, min(_FILE_SLICE, count - sent), offset + sent)
            if not block:
                shrank = True
                break
            self.out.write(block)
            sent += len(block)
        self.body_bytes += sent
        if shrank:  # the file shrank under us: the length was a promise
            self.conn.send_failed()
            self.must_close = True
            return True
        self.conn.content_sent(sent)
        if sent < count:  # the peer is slower than the file: the rest on the next pump
            self.file = (file, offset + sent, count - sent)
            return False
        self._finish()
        return True

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
        if isinstance(exc, Timeout):
            # A deadline of the application's own (a CGI script out of time, an upstream
            # call): not a crash, so one line and no traceback; 504 if nothing was sent yet.
            logger.error("%s: %s%s", self._request_line(), exc,
                         "; the response was cut" if self.head_sent else "")
            self._answer_error(504, "Gateway Timeout\n")
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

