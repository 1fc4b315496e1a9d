"""The header block a CGI script prints, parsed and checked (RFC 3875 §6), without I/O.

A script is untrusted output as far as HTTP is concerned: a ``Location`` with a CR in it, or a
value folded onto a second line, would let it (or whoever controls its input) write arbitrary
header lines into the response. Every line is therefore checked like a header received from
the network: a token name, a colon, a value without control characters, no obs-fold; lines may
end in LF or CRLF (§6: "NL"), and the response is re-serialised with CRLF by the server. Any
violation is a :class:`ScriptOutputError`, which the gateway answers with 502.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wirekit.errors import RemoteProtocolError

__all__ = ["HeadParser", "ScriptHead", "ScriptOutputError"]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # CTLs except HTAB (RFC 9110 §5.5)
_STATUS = re.compile(rb"([1-5][0-9][0-9])(?:[ \t]+(.*))?\Z")
# PEP 3333 forbids an application to set hop-by-hop fields; the server owns the connection.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                         "te", "trailer", "trailers", "transfer-encoding", "upgrade"})


class ScriptOutputError(RemoteProtocolError):
    """A CGI script's output is not a valid CGI response; the gateway answers 502."""

    status = 502


@dataclass
class ScriptHead:
    """What the header block says. ``headers`` excludes ``Status`` and hop-by-hop fields."""

    status: int = 200
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    location: str | None = None
    content_length: int | None = None
    explicit_status: bool = False
    dropped: list[str] = field(default_factory=list)  # hop-by-hop names removed, for the log

    @property
    def local_redirect(self) -> bool:
        """§6.2.2: a ``Location`` that is a path on this server and no status of its own."""
        return (self.location is not None and self.location.startswith("/")
                and not self.location.startswith("//") and not self.explicit_status)


class HeadParser:
    """Feed script output until :meth:`feed` returns the :class:`ScriptHead`; the bytes after
    the blank line are then in :attr:`rest`."""

    def __init__(self, max_size: int = 64 * 1024) -> None:
        self.max_size = max_size
        self.rest = b""
        self._buffer = bytearray()
        self._scanned = 0  # lines before this offset are already parsed
        self._head = ScriptHead()
        self._fields = 0

    def feed(self, data: bytes) -> ScriptHead | None:
        """Parse what has arrived; ``None`` while the blank line is still to come."""
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end < 0:
                break
            line = bytes(self._buffer[self._scanned:end])
            if line.endswith(b"\r"):
                line = line[:-1]
            self._scanned = end + 1
            if not line:
                return self._finish()
            self._line(line)
        if len(self._buffer) > self.max_size:
            raise ScriptOutputError(
                f"script header block is longer than {self.max_size} bytes (no blank line)")
        return None

    def eof(self) -> None:
        """The script closed stdout before the blank line: always an error."""
        if not self._buffer:
            raise ScriptOutputError("script produced no output")
        raise ScriptOutputError("script output ends before the blank line after its headers")

    def _finish(self) -> ScriptHead:
        if self._scanned > self.max_size:
            raise ScriptOutputError(f"script header block is longer than {self.max_size} bytes")
        if not self._fields:  # §6.2: at least one of Content-Type, Location, Status
            raise ScriptOutputError("script output starts with a blank line (no CGI headers)")
        self.rest = bytes(self._buffer[self._scanned:])
        self._buffer.clear()
        head = self._head
        if head.location is not None and not head.explicit_status and not head.local_redirect:
            head.status = 302  # §6.2.3 client redirect
        return head

    def _line(self, line: bytes) -> None:
        if line[:1] in (b" ", b"\t"):
            raise ScriptOutputError("folded header line in script output (obs-fold)")
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not _TOKEN.match(raw_name):
            raise ScriptOutputError(f"malformed header line in script output: {line[:80]!r}")
        raw_value = raw_value.strip(b" \t")
        if _BAD_VALUE.search(raw_value):
            raise ScriptOutputError(f"control character in script header {raw_name[:40]!r}")
        self._fields += 1
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        lower = name.lower()
        head = self._head
        if lower == "status":
            self._status(head, raw_value)
        elif lower in _HOP_BY_HOP:
            head.dropped.append(name)
        else:
            if lower == "location":
                if head.location is not None or not value or " " in value or "\t" in value:
                    raise ScriptOutputError("invalid or repeated Location in script output")
                head.location = value
            elif lower == "content-length":
                if not raw_value.isdigit() or len(raw_value) > 18 or (
                        head.content_length is not None):
                    raise ScriptOutputError("invalid or repeated Content-Length from script")
                head.content_length = int(raw_value)
            head.headers.append((name, value))

    @staticmethod
    def _status(head: ScriptHead, raw_value: bytes) -> None:
        match = _STATUS.match(raw_value)
        if head.explicit_status or match is None or match.group(1)[:1] == b"1":
            raise ScriptOutputError(f"invalid or repeated Status in script output: "
                                    f"{raw_value[:40]!r}")
        head.status = int(match.group(1))
        head.reason = (match.group(2) or b"").decode("latin-1")
        head.explicit_status = True
