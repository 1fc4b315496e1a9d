"""``Response``: status, headers and a body read whole, in pieces, or by lines.

The body comes from a *source* (the HTTP connection, a local file, an FTP data connection)
and is decoded on the way out when ``Content-Encoding`` says gzip or deflate, within the
session's ``max_decompressed`` bound. ``read(amt)`` returns at most ``amt`` bytes and holds at
most one decoding step beyond them. When the body ends the source is told, so its HTTP
connection goes back to the pool; ``close()`` before the end closes the connection instead.

The urllib-era names (``getcode()``, ``geturl()``, ``info()``, ``getheader()``, iterating by
lines) are kept, so the course's ``urlopen`` examples work unchanged.
"""

from __future__ import annotations

import codecs
import json as _json
from collections.abc import Iterator
from typing import Any, Final, Protocol

from wirekit.http.client.decoding import Decoder, content_codings
from wirekit.http.client.errors import BodyTooLarge, ContentDecodingError
from wirekit.proto.http import Headers, reason_phrase
from wirekit.proto.http.headers import HeadersLike

__all__ = ["BodySource", "Response"]

_STEP: Final = 65536
_MAX_LINE: Final = 1 << 20
_BOMS: Final = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


class BodySource(Protocol):
    """Where a response's raw (still encoded) content comes from."""

    def next_chunk(self) -> bytes | None:
        """The next piece, or ``None`` at the end."""

    def finish(self) -> None:
        """The end was reached: release what the source holds (e.g. back to the pool)."""

    def abort(self) -> None:
        """Stop before the end (closes the underlying connection)."""


class Response:
    """An HTTP response (or a ``file:``/``ftp:`` one dressed as one).

    ``status``, ``reason``, ``headers`` (case-insensitive, multi-valued ``Headers``), ``url``
    (after redirects), ``history`` (the redirect responses, oldest first) and the body via
    ``read()``, ``content``, ``text``, ``json()``, ``iter_bytes()`` or iteration by lines.
    """

    __slots__ = ("_buffer", "_content", "_decoder", "_encoding", "_pos", "_source",
                 "_started", "headers", "history", "http_version", "method", "reason",
                 "status", "url")  # fmt: skip

    def __init__(
        self, status: int, headers: HeadersLike, *, url: str = "", reason: str = "",
        http_version: str = "1.1", method: str = "GET", source: BodySource | None = None,
        content: bytes | None = None, decode: bool = True, max_decompressed: int | None = None,
    ) -> None:  # fmt: skip
        self.status = status
        self.reason = reason or reason_phrase(status)
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.url = url
        self.http_version = http_version
        self.method = method
        self.history: list[Response] = []
        self._source = source
        self._content = content if source is None else None
        if self._content is None and source is None:
            self._content = b""
        self._pos = 0
        self._buffer = b""
        self._started = False
        self._encoding: str | None = None
        self._decoder: Decoder | None = None
        if decode and source is not None and "content-encoding" in self.headers:
            try:
                codings = content_codings(self.headers.get_list("content-encoding"))
            except ContentDecodingError:
                source.abort()
                raise
            if codings:
                self._decoder = Decoder(codings, max_decompressed)

    # -- reading ---------------------------------------------------------------------------

    def _next(self) -> bytes | None:
        """The next decoded piece (may be empty), or ``None`` at the end."""
        source = self._source
        if source is None:
            return None
        decoder = self._decoder
        try:
            if decoder is not None:
                out = decoder.read(_STEP)
                if out:
                    return out
            raw = source.next_chunk()
            if raw is None:
                self._source = None
                tail = decoder.flush() if decoder is not None else b""
                source.finish()
                return tail or None
            if decoder is None:
                return raw
            decoder.feed(raw)
            return decoder.read(_STEP)
        except BaseException:
            # A broken body (timeout, bad framing, a bomb): the connection cannot be reused.
            self._source = None
            source.abort()
            raise

    def read(self, amt: int | None = None) -> bytes:
        """Up to ``amt`` bytes of the (decoded) body; everything left when ``amt`` is None.
        ``b""`` at the end."""
        self._started = True
        if self._content is not None:
            end = len(self._content) if amt is None else self._pos + amt
            data = self._content[self._pos : end]
            self._pos += len(data)
            return data
        if amt is None:
            pieces = [self._buffer] if self._buffer else []
            self._buffer = b""
            while (piece := self._next()) is not None:
                pieces.append(piece)
            return b"".join(pieces)
        while len(self._buffer) < amt:
            piece = self._next()
            if piece is None:
                break
            self._buffer += piece
        data, self._buffer = self._buffer[:amt], self._buffer[amt:]
        return data

    def read1(self, amt: int = -1) -> bytes:
        """Up to ``amt`` bytes (any size when negative) with at most one read from the
        network: what has arrived, as ``io.BufferedReader.read1``; ``b""`` at the end. A
        parser fed from a live response (``wirekit.data``) starts on the first piece."""
        self._started = True
        if self._content is not None:
            return self.read(None if amt < 0 else amt)
        if not self._buffer:
            while (piece := self._next()) is not None and not piece:
                pass  # a decoder step that produced nothing yet
            if piece is None:
                return b""
            self._buffer = piece
        if amt < 0 or amt >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:amt], self._buffer[amt:]
        return data

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in pieces as they arrive (at most ``chunk_size`` bytes each if given)."""
        if chunk_size is not None:
            while data := self.read(chunk_size):
                yield data
            return
        self._started = True
        if self._content is not None:
            data = self.read()
            if data:
                yield data
            return
        if self._buffer:
            data, self._buffer = self._buffer, b""
            yield data
        while (piece := self._next()) is not None:
            if piece:
                yield piece

    def readline(self, limit: int = -1) -> bytes:
        """One line including its ``\\n`` (at most ``limit`` bytes if ``limit`` >= 0)."""
        self._started = True
        if self._content is not None:
            end = self._content.find(b"\n", self._pos)
            end = len(self._content) if end < 0 else end + 1
            if limit >= 0:
                end = min(end, self._pos + limit)
            data = self._content[self._pos : end]
            self._pos += len(data)
            return data
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                end = newline + 1
                break
            if 0 <= limit <= len(self._buffer):
                end = limit
                break
            piece = self._next()
            if piece is None:
                end = len(self._buffer)
                break
            self._buffer += piece
        if limit >= 0:
            end = min(end, limit)
        data, self._buffer = self._buffer[:end], self._buffer[end:]
        return data

    def __iter__(self) -> Iterator[bytes]:
        """Lines, like a file (and like ``urllib``'s responses); a line longer than 1 MiB
        comes in 1 MiB pieces, so a body without newlines cannot fill memory."""
        while line := self.readline(_MAX_LINE):
            yield line

    def iter_lines(self, keepends: bool = False) -> Iterator[str]:
        """Decoded text lines."""
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        pending = ""
        for piece in self.iter_bytes():
            pending += decoder.decode(piece)
            lines = pending.splitlines(keepends=True)
            pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
            for line in lines:
                yield line if keepends else line.rstrip("\r\n")
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    @property
    def content(self) -> bytes:
        """The whole (decoded) body, read now if needed and kept."""
        if self._content is None:
            if self._started:
                raise RuntimeError("the body was already partly read; use read() for the rest")
            self._content = self.read()
            self._pos = 0
        return self._content

    def load(self, max_body: int | None = None) -> Response:
        """Read the whole body now (and release the connection); returns ``self``.

        ``max_body`` bounds what is held (decoded); past it the connection is closed and
        ``BodyTooLarge`` raised. A ``Content-Length`` already above it fails before reading.
        """
        if self._content is not None or max_body is None:
            _ = self.content
            return self
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body and self._decoder is None:
            self.close()
            raise self._too_large(max_body)
        if self._started:
            raise RuntimeError("the body was already partly read; use read() for the rest")
        self._started = True
        pieces, held = [], 0
        while (piece := self._next()) is not None:
            held += len(piece)
            if held > max_body:
                self.close()
                raise self._too_large(max_body)
            pieces.append(piece)
        self._content = b"".join(pieces)
        self._pos = 0
        return self

    def _too_large(self, max_body: int) -> BodyTooLarge:
        return BodyTooLarge(f"the response body of {self.url} is larger than max_body="
                            f"{max_body} bytes: pass stream=True to read it in pieces, or "
                            "raise max_body", limit="max_body")

    @property
    def encoding(self) -> str:
        """The ``charset`` of ``Content-Type`` (``utf-8`` when absent or unknown; a BOM wins)."""
        if self._encoding is None:
            self._encoding = _charset(self.headers.get("content-type", "")) or "utf-8"
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        codecs.lookup(value)
        self._encoding = value

    @property
    def text(self) -> str:
        """The body decoded with :attr:`encoding` (undecodable bytes replaced)."""
        content = self.content
        for bom, name in _BOMS:
            if content.startswith(bom):
                return content.decode(name, errors="replace")
        return content.decode(self.encoding, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (``json.loads`` keyword arguments pass through)."""
        return _json.loads(self.content, **kwargs)

    # -- status ----------------------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """True below 400."""
        return self.status < 400

    def raise_for_status(self) -> Response:
        """Raise ``HTTPError`` for a 4xx/5xx status (reading up to 1 MiB of the body)."""
        if self.status >= 400:
            from wirekit.http.client.errors import HTTPError

            raise HTTPError(self, self.read_bounded(1 << 20))
        return self

    def read_bounded(self, limit: int) -> bytes:
        """At most ``limit`` bytes of the body, then the response is closed."""
        try:
            if self._content is not None:
                return self._content[:limit]
            return self.read(limit)
        finally:
            self.close()

    def discard(self, limit: int = 64 * 1024) -> None:
        """Throw the body away without decoding it (a redirect's): drained when short so
        the connection can be reused, else the connection is closed (SECURITY.md K08)."""
        source, self._source = self._source, None
        if source is None:
            return
        drained = 0
        while (raw := source.next_chunk()) is not None:
            drained += len(raw)
            if drained > limit:
                source.abort()
                return
        source.finish()

    # -- file-like and urllib compatibility ----------------------------------------------

    def close(self) -> None:
        """Stop reading; an unfinished body closes its connection (nothing is drained)."""
        source, self._source = self._source, None
        if source is not None:
            source.abort()

    @property
    def closed(self) -> bool:
        """The body was read to the end or the response closed."""
        return self._source is None

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def status_code(self) -> int:
        """``status`` (the requests spelling)."""
        return self.status

    @property
    def code(self) -> int:
        """``status`` (the urllib spelling)."""
        return self.status

    def getcode(self) -> int:
        """``status`` (urllib)."""
        return self.status

    def geturl(self) -> str:
        """The final URL, after redirects (urllib)."""
        return self.url

    def info(self) -> Headers:
        """The headers (urllib)."""
        return self.headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        """One header's value (http.client)."""
        return self.headers.get(name, default)

    def getheaders(self) -> list[tuple[str, str]]:
        """All header lines as pairs (http.client)."""
        return list(self.headers.fields)

    def __repr__(self) -> str:
        return f"<Response [{self.status} {self.reason}] {self.url}>"


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip('"').strip("'")
            try:
                return codecs.lookup(value).name
            except LookupError:
                return None
    if content_type.split(";", 1)[0].strip().lower() in ("application/json", "text/html"):
        return "utf-8"
    return None
