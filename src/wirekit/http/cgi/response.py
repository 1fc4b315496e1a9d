"""The WSGI response of a CGI request: the script's body as a closeable iterable, or an error.

:class:`ScriptBody` is a class rather than a generator on purpose: PEP 3333 promises that the
server calls ``close()`` on the iterable even when the client goes away before the first
chunk, and a generator that never started would run none of its cleanup. ``close()`` is what
kills and reaps the script.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from wirekit.errors import Timeout
from wirekit.http.cgi.output import ScriptOutputError
from wirekit.http.cgi.process import ScriptProcess
from wirekit.http.pages import PageRenderer, error_page
from wirekit.proto.http import reason_phrase

__all__ = ["ScriptBody", "error_response", "log_text"]

logger = logging.getLogger("wirekit.http.cgi")

_CHUNK = 64 * 1024


def log_text(raw: bytes | bytearray | str, limit: int = 2000) -> str:
    """Text safe for one log line: control characters and invalid UTF-8 escaped, cut short."""
    text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes | bytearray) else raw
    if len(text) > limit:
        text = "..." + text[-limit:]
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def error_response(start_response: Callable[..., Any], status: int,
                   detail: str | None = None, *, page: PageRenderer | None = None,
                   root: str = "./") -> list[bytes]:
    """A short text/plain answer; ``detail`` only for the client's own mistakes (4xx).

    With ``page``, an HTML page in the application's look linking back to ``root``.
    """
    reason = reason_phrase(status) or "Error"
    detail = detail if status < 500 else None
    if page is not None:
        body, kind = error_page(page, status, root, detail), "text/html; charset=utf-8"
    else:
        text = f"{status} {reason}\n" + (detail + "\n" if detail else "")
        body, kind = text.encode("utf-8", "replace"), "text/plain; charset=utf-8"
    start_response(f"{status} {reason}", [("Content-Type", kind),
                                         ("Content-Length", str(len(body)))])
    return [body]


class ScriptBody:
    """Iterate over the script's stdout after its headers, in pieces of at most 64 KiB.

    With a ``Content-Length`` from the script, exactly that many bytes are passed on. A script
    that runs out of time, or ends before its ``Content-Length``, makes iteration raise: the
    headers are gone already, so the server must cut the connection rather than let the
    client take a short body for a whole one.
    """

    def __init__(self, process: ScriptProcess, first: bytes, content_length: int | None,
                 head_only: bool, name: Path, spool: IO[bytes] | None = None) -> None:
        self._process = process
        self._first = first
        self._remaining = content_length
        self._done = head_only
        self._name = name
        self._spool = spool
        self._closed = False

    def __iter__(self) -> ScriptBody:
        return self

    def __next__(self) -> bytes:
        while not self._done:
            if self._first:
                data, self._first = self._first, b""
            else:
                data = self._read()
            if self._remaining is not None:
                data = data[: self._remaining]
                self._remaining -= len(data)
                if self._remaining == 0:
                    self._done = True
            if data:
                return data
        raise StopIteration

    def _read(self) -> bytes:
        try:
            data = self._process.read(_CHUNK)
        except Timeout:
            self._done = True
            logger.error("CGI %s ran out of time after sending its headers; stream cut",
                         self._name)
            raise
        if not data:
            self._done = True
            if self._remaining:
                logger.error("CGI %s ended %d bytes short of its Content-Length", self._name,
                             self._remaining)
                raise ScriptOutputError("script output shorter than its Content-Length")
        return data

    def close(self) -> None:
        """Stop the script (if it still runs), reap it, and log how it ended."""
        if self._closed:
            return
        self._closed = True
        if self._spool is not None:
            self._spool.close()
        finished = self._done and not self._process.timed_out
        code = self._process.close(complete=finished and self._remaining == 0)
        tail = self._process.stderr_tail
        if finished and code != 0:
            logger.warning("CGI %s exited with status %d; stderr tail: %s", self._name, code,
                           log_text(tail))
        elif tail:
            logger.info("CGI %s wrote %d bytes to stderr; tail: %s", self._name,
                        self._process.stderr_total, log_text(tail))
