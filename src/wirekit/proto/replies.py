"""Numbered replies: the ``NNN text`` answers SMTP (RFC 5321 §4.2) and FTP (RFC 959 §4.2) share.

A reply is a three-digit code and one or more lines of text. A multi-line reply repeats the
code on every line, with ``-`` after it on all but the last::

    250-mail.example.org greets you
    250-SIZE 26214400
    250 PIPELINING

The first digit says what kind of answer it is (1 preliminary, 2 done, 3 send more, 4 try
again later, 5 failed); the rest is detail. SMTP servers that announce ENHANCEDSTATUSCODES
(RFC 2034) begin each line's text with a ``class.subject.detail`` code (RFC 3463) whose class
repeats the first digit: ``550 5.1.1 no such user``.

FTP's multi-line replies differ in one way: between the first line (``211-``) and the last
(``211 ``) the lines may hold any text, not only ``211-`` lines (RFC 959 §4.2), so a
directory listing in a ``STAT`` reply is not a syntax error. ``ReplyParser(ftp=True)`` accepts
that; the SMTP default requires the code on every line.

Everything here is bounded, because a reply is the peer's to make arbitrarily long: a line
is at most ``max_line`` octets (smtplib and ftplib: 8192, after CVE-2013-1752 and bpo-30119)
and a reply at most ``max_lines`` lines (an endless ``250-`` continuation is an error, not a
memory leak; SECURITY.md F02, M03). Lines end with CRLF only: a bare LF inside a line is
refused, so a reply cannot be cut differently by two parsers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from wirekit.errors import LocalProtocolError, MessageTooLarge, RemoteProtocolError
from wirekit.proto.buffer import ReceiveBuffer

__all__ = ["MAX_REPLY_LINE", "MAX_REPLY_LINES", "Reply", "ReplyParser", "format_reply"]

#: The longest reply line accepted, CRLF excluded: smtplib's and ftplib's ``_MAXLINE`` (the
#: RFC 5321 §4.5.3.1.5 limit is 512, which real servers exceed in EHLO and FTP help texts).
MAX_REPLY_LINE: Final = 8192
#: The most lines in one reply: an EHLO answer has a dozen, an FTP ``FEAT`` a few dozen.
MAX_REPLY_LINES: Final = 100

# RFC 3463 §2: class "." subject "." detail, 1-3 digits each, class 2, 4 or 5.
_ENHANCED = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |$)")
_FORBIDDEN_TEXT = re.compile(r"[\r\n\x00]")


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply: ``code``, its ``lines`` of text (without code, separator or enhanced code)
    and the RFC 3463 ``enhanced`` code when the reply carried one (``"2.1.0"``)."""

    code: int
    lines: tuple[str, ...] = ("",)
    enhanced: str | None = None

    @property
    def text(self) -> str:
        """The lines joined by newlines (what an error message shows)."""
        return "\n".join(self.lines)

    @property
    def kind(self) -> int:
        """The first digit: 1 preliminary, 2 completed, 3 intermediate, 4 transient, 5 permanent."""
        return self.code // 100

    @property
    def ok(self) -> bool:
        """A positive completion (2yz)."""
        return 200 <= self.code < 300

    def __str__(self) -> str:
        head = f"{self.code} {self.enhanced} " if self.enhanced else f"{self.code} "
        return head + " / ".join(self.lines)

    def to_bytes(self) -> bytes:
        return format_reply(self.code, self.lines, self.enhanced)


def format_reply(code: int, text: str | Iterable[str] = "", enhanced: str | None = None) -> bytes:
    """The wire form of a reply; every line carries ``enhanced`` when given (RFC 2034 §4).

    Raises :class:`LocalProtocolError` for a code outside 100-599, an enhanced code whose class
    does not match the code, and text holding CR, LF or NUL (each of which would let the text
    end the reply early and inject another).
    """
    if not (isinstance(code, int) and 100 <= code <= 599):
        raise LocalProtocolError(f"a reply code is three digits from 100 to 599, not {code!r}")
    lines = [text] if isinstance(text, str) else list(text) or [""]
    if enhanced is not None:
        match = _ENHANCED.fullmatch(enhanced)
        if match is None or int(match.group(1)) != code // 100:
            raise LocalProtocolError(f"enhanced code {enhanced!r} does not fit reply {code}")
    out: list[str] = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        if _FORBIDDEN_TEXT.search(line):
            raise LocalProtocolError(f"reply text may not hold CR, LF or NUL: {line!r}")
        body = f"{enhanced} {line}" if enhanced else line
        sep = "-" if index < last else " "
        out.append(f"{code}{sep}{body}".rstrip(" ") + "\r\n")
    return "".join(out).encode()


class ReplyParser:
    """Cuts replies out of the bytes a server sends, without I/O.

    Feed bytes with :meth:`receive_data` (``b""`` at end of input) and take replies with
    :meth:`next_reply`, which returns ``None`` until a whole reply has arrived. Raises
    :class:`RemoteProtocolError` for malformed replies and :class:`MessageTooLarge` past the
    bounds; either leaves the parser unusable, since the rest of the stream cannot be trusted.

    ``enhanced=False`` leaves RFC 3463 codes in the text (FTP has none).
    """

    __slots__ = ("_buffer", "_code", "_eof", "_failed", "_lines", "enhanced", "ftp",
                 "max_line", "max_lines")

    def __init__(self, *, ftp: bool = False, enhanced: bool = True,
                 max_line: int = MAX_REPLY_LINE, max_lines: int = MAX_REPLY_LINES) -> None:
        self.ftp, self.enhanced = ftp, enhanced
        self.max_line, self.max_lines = max_line, max_lines
        self._buffer = ReceiveBuffer()
        self._code: bytes | None = None  # the code of a multi-line reply in progress
        self._lines: list[bytes] = []
        self._eof = False
        self._failed = False

    def receive_data(self, data: bytes) -> None:
        if data:
            if self._eof:
                raise LocalProtocolError("bytes received after the end of input")
            self._buffer.feed(data)
        else:
            self._eof = True

    @property
    def closed(self) -> bool:
        """The peer ended its input and every reply before that was taken."""
        return self._eof and not self._buffer and self._code is None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a reply (after STARTTLS they must be none)."""
        return len(self._buffer) + sum(len(line) for line in self._lines)

    def take_unparsed(self) -> bytes:
        """Remove and return what arrived beyond the last whole reply."""
        return self._buffer.take_all()

    def next_reply(self) -> Reply | None:
        """The next whole reply, or ``None`` while more bytes are needed (or at a clean end
        of input: see :attr:`closed`)."""
        if self._failed:
            raise RemoteProtocolError("the reply stream is broken by an earlier error")
        try:
            return self._next()
        except (RemoteProtocolError, MessageTooLarge):
            self._failed = True
            raise

    def _next(self) -> Reply | None:
        buffer, limit = self._buffer, self.max_line
        while True:
            try:
                raw = buffer.read_until(b"\r\n", limit, keep=False)
            except MessageTooLarge:
                raise MessageTooLarge(f"a reply line is longer than {limit} octets",
                                      limit="max_line") from None
            if raw is None:
                if self._eof and (buffer or self._code is not None):
                    raise RemoteProtocolError("the connection closed in the middle of a reply")
                return None
            reply = self._line(raw)
            if reply is not None:
                return reply

    def _line(self, raw: bytes) -> Reply | None:
        """Take one line (CRLF removed); the reply when it was the last line.

        A line is ``[1-5][0-9][0-9]``, then ``" "`` (the last line), ``"-"`` (more follow)
        or nothing, then text. Checked by hand rather than by a regex: every reply of a
        session passes here, and the match object's groups cost more than the checks."""
        if b"\n" in raw or b"\r" in raw:
            raise RemoteProtocolError(f"bare CR or LF inside a reply line: {raw[:80]!r}")
        head, sep = raw[:3], raw[3:4]
        numbered = len(head) == 3 and head.isdigit() and b"0" < head[:1] < b"6"
        code = self._code
        if code is not None and self.ftp and (not numbered or head != code or sep != b" "):
            self._add(raw[4:] if numbered and head == code else raw)
            return None  # RFC 959 §4.2: any text between the first and the last line
        if not numbered or (sep not in {b" ", b"-"} and len(raw) > 3):
            raise RemoteProtocolError(f"not a reply line: {raw[:80]!r}")
        if code is not None and head != code:
            raise RemoteProtocolError(
                f"a multi-line reply changed its code from {code.decode()} to {head.decode()}")
        if sep == b"-":
            self._add(raw[4:])
            self._code = head
            return None
        if code is None:
            return self._reply(int(head), [raw[4:]])  # one line, the common case
        self._add(raw[4:])
        lines, self._lines, self._code = self._lines, [], None
        return self._reply(int(head), lines)

    def _add(self, text: bytes) -> None:
        if len(self._lines) >= self.max_lines:
            raise MessageTooLarge(f"a reply has more than {self.max_lines} lines",
                                  limit="max_lines")
        self._lines.append(text)

    def _reply(self, code: int, raw_lines: list[bytes]) -> Reply:
        # RFC 6531 §3.7.4: reply text may be UTF-8; anything else is shown, not trusted.
        lines = [line.decode("utf-8", "replace") for line in raw_lines]
        enhanced = None
        if self.enhanced and lines[0][1:2] == "." and (match := _ENHANCED.match(lines[0])) \
                and int(match.group(1)) == code // 100:
            enhanced = match.group(0).rstrip(" ")
            prefix = len(enhanced)
            lines = [line[prefix:].lstrip(" ") if line.startswith(enhanced) else line
                     for line in lines]
        return Reply(code, tuple(lines), enhanced)
