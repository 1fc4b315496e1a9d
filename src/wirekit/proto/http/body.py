"""Readers for received message content: by length, chunked, or until the connection closes.

Each reader takes bytes off the front of the receive buffer and returns ``Data``, the
``EndOfMessage`` or ``None`` ("need more bytes"); ``eof()`` says what a close means at this
point. Content bytes are never parsed, only counted, so a body can never be mistaken for the
next request (SECURITY.md H12, H13).

The chunked reader is wirekit's own rather than llhttp's: httptools does not report where a
message ends inside the bytes it was fed, so after a chunked body llhttp would run on into the
next pipelined request, and llhttp refuses ``5; ext`` (a space after ``;``) which the corpus
requires. The grammar below is RFC 9112 §7.1 with the hardening of SECURITY.md H05/H06.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Final, Literal

from wirekit.config import Limits
from wirekit.errors import MessageTooLarge, RemoteProtocolError
from wirekit.proto.http.events import END_OF_MESSAGE, Data, EndOfMessage
from wirekit.proto.http.framing import FORBIDDEN_TRAILERS
from wirekit.proto.http.grammar import TCHAR
from wirekit.proto.http.headers import Headers
from wirekit.proto.http.parser import FieldSectionParser

__all__ = ["BodyReader", "ChunkedReader", "LengthReader", "UntilCloseReader"]

ReadResult = Data | EndOfMessage | None

_TOKEN = TCHAR.encode() + rb"+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1.1). chunk-size is 1*HEXDIG, capped at 16
# digits (64 bits). chunk-ext allows BWS around ";" (as the corpus's "5; a; b=c" needs) but
# not around "=", and needs a name: "4;", "4;a=", "4;a = b" and a bare trailing space are
# refused (SECURITY.md H05/H06). Every alternative starts with a distinct byte class, so the
# match is linear in the line length (no backtracking blow-up, L06).
_CHUNK_LINE: Final = re.compile(
    rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:=(?:" + _TOKEN + rb"|" + _QUOTED
    + rb"))?)*)"
)
_NO_FIELDS: Final = frozenset[str]()


def _take(buf: bytearray, n: int) -> bytes:
    """Remove and return the first ``n`` bytes (deleting from the front is O(1) in CPython)."""
    if n == len(buf):
        data = bytes(buf)
        buf.clear()
        return data
    if n > 4096:  # avoid the second copy that bytes(buf[:n]) makes for big pieces
        with memoryview(buf) as view:
            data = view[:n].tobytes()
    else:
        data = bytes(buf[:n])
    del buf[:n]
    return data


class LengthReader:
    """Content delimited by ``Content-Length`` (RFC 9112 §6.2)."""

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    def read(self, buf: bytearray) -> ReadResult:
        remaining = self.remaining
        if remaining == 0:
            return END_OF_MESSAGE
        if not buf:
            return None
        data = _take(buf, min(remaining, len(buf)))
        self.remaining = remaining - len(data)
        return Data(data)

    def read_piece(self, piece: bytes) -> tuple[Data | EndOfMessage, bytes]:
        """``read`` for one received piece kept whole: the event, and the bytes after the
        content (which go back to the buffer)."""
        remaining = self.remaining
        if remaining == 0:
            return END_OF_MESSAGE, piece
        if len(piece) <= remaining:
            self.remaining = remaining - len(piece)
            return Data(piece), b""
        self.remaining = 0
        return Data(piece[:remaining]), piece[remaining:]

    def eof(self) -> EndOfMessage:
        raise RemoteProtocolError(
            f"connection closed with {self.remaining} bytes of content still expected"
        )


class UntilCloseReader:
    """Content that ends when the server closes (RFC 9112 §6.3 rule 8; responses only)."""

    __slots__ = ()

    def read(self, buf: bytearray) -> ReadResult:
        return Data(_take(buf, len(buf))) if buf else None

    def read_piece(self, piece: bytes) -> tuple[Data | EndOfMessage, bytes]:
        return Data(piece), b""

    def eof(self) -> EndOfMessage:
        return END_OF_MESSAGE


class _Phase(enum.Enum):
    """Where the chunked reader is within the coding."""

    __hash__ = object.__hash__  # members are singletons; Enum's own hash is Python code

    SIZE = "chunk-size line"
    DATA = "chunk data"
    DATA_END = "CRLF after chunk data"
    TRAILERS = "trailer section"


class _Again(enum.Enum):
    """A step consumed framing bytes and the next step may run at once."""

    AGAIN = "again"


_AGAIN: Final = _Again.AGAIN
_StepResult = ReadResult | Literal[_Again.AGAIN]


class ChunkedReader:
    """The chunked transfer coding (RFC 9112 §7.1), strictly.

    The chunk-size line is limited by ``max_header_field``, the trailer section by
    ``max_header_block`` and ``max_header_count``, and the sum of chunk sizes by
    ``max_request_body`` (checked when each size is announced, before its data arrives: 413).
    """

    __slots__ = ("_chunk_start", "_fields", "_limits", "_max_body", "_phase", "_remaining",
                 "_scan", "_total")  # fmt: skip

    def __init__(self, limits: Limits, fields: FieldSectionParser, max_body: int) -> None:
        self._limits = limits
        self._fields = fields
        self._max_body = max_body
        self._phase = _Phase.SIZE
        self._remaining = 0
        self._total = 0
        self._scan = 0
        self._chunk_start = False

    def read(self, buf: bytearray) -> ReadResult:
        step = _STEPS[self._phase]
        result = step(self, buf)
        while result is _AGAIN:
            result = _STEPS[self._phase](self, buf)
        return result

    def eof(self) -> EndOfMessage:
        raise RemoteProtocolError(f"connection closed in the {self._phase.value}")

    def _read_size(self, buf: bytearray) -> _StepResult:
        max_line = self._limits.max_header_field
        lf = buf.find(b"\n", self._scan)
        if lf < 0:
            if len(buf) > max_line:
                raise MessageTooLarge(
                    f"chunk-size line longer than {max_line} bytes",
                    limit="max_header_field", status=400,
                )
            self._scan = len(buf)
            return None
        if lf == 0 or buf[lf - 1] != 0x0D:
            raise RemoteProtocolError("bare LF in a chunk-size line (RFC 9112 §7.1)")
        if lf + 1 > max_line:
            raise MessageTooLarge(
                f"chunk-size line longer than {max_line} bytes",
                limit="max_header_field", status=400,
            )
        line = _take(buf, lf + 1)[:-2]
        self._scan = 0
        match = _CHUNK_LINE.fullmatch(line)
        if match is None:
            raise RemoteProtocolError(f"invalid chunk-size line {line[:60]!r} (RFC 9112 §7.1)")
        size = int(match.group(1), 16)  # safe: the regex admits hex digits only
        if size == 0:
            self._phase = _Phase.TRAILERS
            return _AGAIN
        self._total += size
        if self._total > self._max_body:
            raise MessageTooLarge(
                f"chunked content exceeds the server's limit of {self._max_body} bytes "
                "(max_request_body)", limit="max_request_body", status=413
            )
        self._remaining = size
        self._chunk_start = True
        self._phase = _Phase.DATA
        return _AGAIN

    def _read_data(self, buf: bytearray) -> _StepResult:
        if not buf:
            return None
        data = _take(buf, min(self._remaining, len(buf)))
        self._remaining -= len(data)
        start, self._chunk_start = self._chunk_start, False
        end = self._remaining == 0
        if end:
            self._phase = _Phase.DATA_END
        return Data(data, start, end)

    def _read_data_end(self, buf: bytearray) -> _StepResult:
        # Both bytes are checked, not just counted (h11 CVE-2025-43859, SECURITY.md H05).
        if len(buf) < 2:
            if buf and buf[0] != 0x0D:
                raise RemoteProtocolError("chunk data not followed by CRLF (RFC 9112 §7.1)")
            return None
        if buf[0] != 0x0D or buf[1] != 0x0A:
            raise RemoteProtocolError("chunk data not followed by CRLF (RFC 9112 §7.1)")
        del buf[:2]
        self._phase = _Phase.SIZE
        return _AGAIN

    def _read_trailers(self, buf: bytearray) -> _StepResult:
        if buf[:2] == b"\r\n":
            del buf[:2]
            return END_OF_MESSAGE
        if not buf or buf == b"\r":
            return None
        max_block = self._limits.max_header_block
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0 or end + 4 > max_block:
            if len(buf) > max_block or end >= 0:
                raise MessageTooLarge(
                    f"trailer section larger than {max_block} bytes",
                    limit="max_header_block", status=431,
                )
            if buf.find(b"\n\n", self._scan) >= 0:
                raise RemoteProtocolError("bare LF in the trailer section (RFC 9112 §2.2)")
            self._scan = max(self._scan, len(buf) - 3)
            return None
        fields, _ = self._fields.parse(_take(buf, end + 4), _NO_FIELDS)
        for name, _value in fields:
            if name.lower() in FORBIDDEN_TRAILERS:
                raise RemoteProtocolError(f"{name!r} is not allowed in trailers (RFC 9110 §6.5.1)")
        return EndOfMessage(Headers._trusted(fields))


# Explicit dispatch table: phase -> step (DESIGN.md principle 7, no getattr reflection).
_STEPS: Final[dict[_Phase, Callable[[ChunkedReader, bytearray], _StepResult]]] = {
    _Phase.SIZE: ChunkedReader._read_size,
    _Phase.DATA: ChunkedReader._read_data,
    _Phase.DATA_END: ChunkedReader._read_data_end,
    _Phase.TRAILERS: ChunkedReader._read_trailers,
}

BodyReader = LengthReader | ChunkedReader | UntilCloseReader
