"""``run_wsgi_as_cgi(app)``: run a WSGI application as a CGI script (course slide 4-48).

The course's ending for WSGI was ``wsgiref.handlers.CGIHandler().run(hello_app)``: the same
application, deployed under any web server that speaks CGI. This does the same with the checks
the rest of wirekit makes: the WSGI environ holds the CGI meta-variables and ``HTTP_*`` fields
only (not the whole process environment), ``wsgi.input`` stops at ``CONTENT_LENGTH``, the
status and headers the application gives are validated before a byte is written (a CR or LF in
a value is the application's bug, never a header injection), and an exception becomes a plain
500 with the traceback on stderr (the server's error log), not in the page.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from wirekit.errors import LocalProtocolError

__all__ = ["run_wsgi_as_cgi", "wsgi_environ_from_cgi"]

_CGI_VARIABLES = frozenset({
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT",
    "REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE",  # RFC 3875 §4.1
    "REMOTE_PORT", "REQUEST_URI", "DOCUMENT_ROOT", "SCRIPT_FILENAME", "HTTPS",  # extensions
})
_DEFAULTS = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "", "QUERY_STRING": "",
             "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.0"}
_STATUS = re.compile(r"[1-5][0-9][0-9] [\t\x20-\x7e\x80-\xff]*\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                         "te", "trailer", "transfer-encoding", "upgrade"})
_FAILURE = (b"Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
            b"500 Internal Server Error\n")


class _BoundedInput:
    """``wsgi.input`` for a CGI script: stdin, but never past ``CONTENT_LENGTH`` (§4.2)."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._remaining = length

    def read(self, size: int | None = -1) -> bytes:
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._stream.read(want) if want else b""
        self._remaining -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._stream.readline(want) if want else b""
        self._remaining -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def wsgi_environ_from_cgi(cgi_env: Mapping[str, str], stdin: IO[bytes],
                          errors: IO[str]) -> dict[str, Any]:
    """The PEP 3333 environ for a CGI request described by ``cgi_env``."""
    environ: dict[str, Any] = {name: value for name, value in cgi_env.items()
                               if name in _CGI_VARIABLES or name.startswith("HTTP_")}
    for name, value in _DEFAULTS.items():
        environ.setdefault(name, value)
    raw = environ.get("CONTENT_LENGTH", "").strip()
    length = int(raw) if raw.isascii() and raw.isdigit() else 0
    https = environ.get("HTTPS", "").lower() in ("on", "1", "yes")
    environ.update({
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if https else "http",
        "wsgi.input": _BoundedInput(stdin, length),
        "wsgi.input_terminated": True,
        "wsgi.errors": errors,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": True,
    })
    return environ


class _Responder:
    """``start_response`` and ``write`` for one CGI response on ``stdout``."""

    def __init__(self, stdout: IO[bytes]) -> None:
        self.stdout = stdout
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            if self.sent:  # PEP 3333: too late to change the status; re-raise
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise LocalProtocolError("start_response called twice without exc_info")
        if not isinstance(status, str) or not _STATUS.match(status):
            raise LocalProtocolError(f"invalid WSGI status {status!r}")
        for name, value in headers:
            if not (isinstance(name, str) and _TOKEN.match(name)) or not isinstance(value, str) \
                    or _BAD_VALUE.search(value) or name.lower() in _HOP_BY_HOP:
                raise LocalProtocolError(f"invalid or hop-by-hop header {name!r}: {value!r}")
        self.status, self.headers = status, list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray):
            raise LocalProtocolError(f"WSGI body chunks must be bytes, not {type(data).__name__}")
        self._send_head()
        if data:
            self.stdout.write(data)
            self.stdout.flush()

    def _send_head(self) -> None:
        if self.sent:
            return
        if self.status is None:
            raise LocalProtocolError("the application did not call start_response")
        lines = [f"Status: {self.status}"] + [f"{name}: {value}" for name, value in self.headers]
        self.stdout.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.sent = True

    def finish(self) -> None:
        self._send_head()
        self.stdout.flush()


def run_wsgi_as_cgi(
    app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
    environ: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Answer the one CGI request this process was started for with ``app``; the exit code.

    Defaults: the request from the process environment (see :mod:`wirekit.http.cgienv`),
    ``sys.stdin.buffer``, ``sys.stdout.buffer`` and ``sys.stderr``. Returns 0, or 1 after an
    error (logged to ``stderr`` and answered with 500 if nothing was sent yet).
    """
    if environ is None:
        from wirekit.http.cgienv import cgi_environ

        environ = cgi_environ()
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stdout = stdout if stdout is not None else sys.stdout.buffer
    stderr = stderr if stderr is not None else sys.stderr
    responder = _Responder(stdout)
    result: Iterable[bytes] | None = None
    try:
        result = app(wsgi_environ_from_cgi(environ, stdin, stderr), responder.start_response)
        for chunk in result:
            responder.write(chunk)
        responder.finish()
        return 0
    except Exception:
        traceback.print_exc(file=stderr)
        if not responder.sent:
            stdout.write(_FAILURE)
            stdout.flush()
        return 1
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                traceback.print_exc(file=stderr)
