"""Parsing message heads: start lines by wirekit, field lines by llhttp (httptools).

Division of labour, and why:

* wirekit finds the end of the head itself (``\\r\\n\\r\\n``, searched incrementally so a head fed
  one byte at a time costs linear time) and enforces the size limits on the raw bytes. llhttp
  has no limits of its own, and httptools concatenates partial header values with ``+=``,
  which is quadratic on a byte-at-a-time slowloris; feeding llhttp only complete heads avoids
  both problems.
* wirekit parses the start line. llhttp knows a fixed list of methods (so ``-BLARGH``, a valid
  token, is refused), rejects obs-text in the target, and accepts ``GET  /`` (two spaces) and
  ``HTTP/2.0``; RFC 9112 §3 needs different answers (400, 501, 505).
* llhttp (strict mode) validates the field lines: token names, no whitespace before the colon,
  no CTLs in values, CRLF only, no obs-fold. It is fed a synthetic start line and the field
  section without per-field callbacks; wirekit then splits the validated text once (cheaper
  than a Python call per field). llhttp is never asked to frame a body: RFC 9112 §6 framing is
  decided by
  :mod:`wirekit.proto.http.framing`, which is stricter than llhttp in some places (``Transfer-
  Encoding`` on HTTP/1.0) and must accept what llhttp refuses in others (chunk extensions with
  spaces). That is also why the llhttp instance runs with its two framing leniencies on: it
  must report fields, not judge ``Content-Length`` against ``Transfer-Encoding``.
"""

from __future__ import annotations

import re
from typing import Final

import httptools

from wirekit.config import Limits
from wirekit.errors import MessageTooLarge, RemoteProtocolError

__all__ = [
    "HOST_FIELD",
    "STANDARD_METHODS",
    "FieldSectionParser",
    "HeadFinder",
    "parse_request_line",
    "parse_status_line",
]

#: Methods defined by RFC 9110 §9 and RFC 5789 (PATCH). Pass it as ``methods=`` to a server
#: ``Connection`` to answer anything else with 501 (RFC 9110 §9.1).
STANDARD_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

# RFC 9112 §3: request-line = method SP request-target SP HTTP-version. One SP exactly. The
# method is a token (RFC 9110 §9.1); wirekit also refuses lower-case letters, as gunicorn does:
# standard methods are upper-case and a front end that upper-cases methods would disagree with
# us about "get". The target is any visible byte incl. obs-text (CTL and SP excluded).
_REQUEST_LINE = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Z]+) ([\x21-\x7e\x80-\xff]+) HTTP/([0-9])\.([0-9])"
)
# RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. The SP before an
# empty reason is often missing in the wild; accepting that cannot desynchronise anything.
_STATUS_LINE = re.compile(rb"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: ([\t \x21-\x7e\x80-\xff]*))?")

# RFC 3986 authority pieces, as RFC 9112 §3.2 uses them.
_REG_NAME = rb"[0-9A-Za-z._~!$&'()*+,;=%-]"
_IP_LITERAL = rb"\[[0-9A-Za-z:._~!$&'()*+,;=%-]+\]"
_USERINFO = rb"(?:[0-9A-Za-z._~!$&'()*+,;=:%-]*@)?"
_ABSOLUTE_FORM = re.compile(  # §3.2.2; http(s) URIs must not have an empty host (RFC 9110 §4.2)
    rb"[A-Za-z][A-Za-z0-9+.-]*://" + _USERINFO + rb"(?:" + _IP_LITERAL + rb"|" + _REG_NAME
    + rb"+)(?::[0-9]*)?(?:[/?#][\x21-\x7e\x80-\xff]*)?"
)
_AUTHORITY_FORM = re.compile(  # §3.2.3: CONNECT host:port, port required
    rb"(?:" + _IP_LITERAL + rb"|" + _REG_NAME + rb"+):[0-9]+"
)
#: Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty when the target has no authority.
HOST_FIELD: Final = re.compile(rb"(?:" + _IP_LITERAL + rb"|" + _REG_NAME + rb"*)(?::[0-9]*)?")


def parse_request_line(line: bytes | bytearray) -> tuple[str, str, int, int]:
    """Split and check a request-line; return ``(method, target, major, minor)``.

    The caller decides 505 for a major version other than 1 (RFC 9110 §15.6.6); everything
    malformed here is 400.
    """
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise RemoteProtocolError(f"malformed request-line {line[:200]!r}")
    raw_method, raw_target, major, minor = match.groups()
    method = raw_method.decode("ascii")
    _check_target_form(method, raw_target)
    return method, raw_target.decode("latin-1"), major[0] - 48, minor[0] - 48


def _check_target_form(method: str, target: bytes) -> None:
    """RFC 9112 §3.2: which of the four target forms each method may use."""
    if method == "CONNECT":
        if _AUTHORITY_FORM.fullmatch(target) is None:
            raise RemoteProtocolError("CONNECT needs an authority-form target (RFC 9112 §3.2.3)")
    elif target[0] == 0x2F:  # "/": origin-form, the common case
        return
    elif target == b"*":
        if method != "OPTIONS":
            raise RemoteProtocolError("only OPTIONS may use the '*' target (RFC 9112 §3.2.4)")
    elif _ABSOLUTE_FORM.fullmatch(target) is None:
        raise RemoteProtocolError(f"invalid request-target {target[:200]!r} (RFC 9112 §3.2)")


def parse_status_line(line: bytes | bytearray) -> tuple[int, str, int, int]:
    """Split and check a status-line; return ``(status, reason, major, minor)``."""
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise RemoteProtocolError(f"malformed status-line {line[:200]!r}")
    major, minor, status, reason = match.groups()
    return int(status), (reason or b"").decode("latin-1"), major[0] - 48, minor[0] - 48


class HeadFinder:
    """Finds where a head ends in the receive buffer, enforcing the size limits as it goes.

    Searches resume where the previous one stopped, so a head delivered one byte at a time is
    scanned once in total (SECURITY.md L06). The start line is limited by
    ``max_request_line`` (414) and the whole head, start line included, by
    ``max_header_block`` (431); both counts include the CRLFs.
    """

    __slots__ = ("_line_end", "_max_block", "_max_line", "_scan")

    def __init__(self, limits: Limits) -> None:
        self._max_line = limits.max_request_line
        self._max_block = limits.max_header_block
        self.reset()

    def reset(self) -> None:
        """Forget the current head: the next search starts a new one."""
        self._line_end = -1  # index of the CR ending the start line, once found
        self._scan = 0

    def find(self, buf: bytearray) -> int:
        """Return the index just past the blank line ending the head, or -1 for "not yet"."""
        if self._line_end < 0 and not self._find_start_line(buf):
            return -1
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0:
            if len(buf) > self._max_block:
                raise MessageTooLarge(
                    f"header section larger than {self._max_block} bytes",
                    limit="max_header_block", status=431,
                )
            if buf.find(b"\n\n", self._scan) >= 0:  # a bare-LF blank line: refuse now
                raise RemoteProtocolError("bare LF in the header section (RFC 9112 §2.2)")
            self._scan = max(self._scan, len(buf) - 3)
            return -1
        end += 4
        if end > self._max_block:
            raise MessageTooLarge(
                f"header section larger than {self._max_block} bytes",
                limit="max_header_block", status=431,
            )
        return end

    def _find_start_line(self, buf: bytearray) -> bool:
        if self._scan == 0:
            # RFC 9112 §2.2: ignore empty lines received before the start line.
            while buf[:2] == b"\r\n":
                del buf[:2]
            if buf == b"\r":  # maybe the next empty line: decide when its LF arrives
                return False
        lf = buf.find(b"\n", self._scan)
        if lf < 0:
            if len(buf) > self._max_line:
                raise _start_line_too_long(self._max_line)
            self._scan = len(buf)
            return False
        if lf == 0 or buf[lf - 1] != 0x0D:
            raise RemoteProtocolError("bare LF in the start line (RFC 9112 §2.2)")
        if lf + 1 > self._max_line:
            raise _start_line_too_long(self._max_line)
        self._line_end = self._scan = lf - 1
        return True

    @property
    def line_end(self) -> int:
        """Index of the CR that ends the start line (valid once :meth:`find` succeeded)."""
        return self._line_end


def _start_line_too_long(limit: int) -> MessageTooLarge:
    return MessageTooLarge(
        f"start line longer than {limit} bytes", limit="max_request_line", status=414
    )


class _Validator:
    """The object httptools calls back. It only notes where llhttp got to: the field lines are
    split in Python afterwards, from the validated text, which is cheaper than one Python
    callback per field."""

    __slots__ = ("complete", "message_complete")

    def __init__(self) -> None:
        self.complete = False
        self.message_complete = False

    def on_headers_complete(self) -> None:
        self.complete = True

    def on_message_complete(self) -> None:
        self.message_complete = True


# What llhttp sees before the field section; the real start line is parsed by wirekit.
_SYNTHETIC_START = b"GET / HTTP/1.1\r\n"

Fields = list[tuple[str, str]]
Found = dict[str, list[str]]


class FieldSectionParser:
    """Validates a complete field section (head fields or trailers) with llhttp, then splits it.

    Limits: at most ``max_header_count`` field lines, each at most ``max_header_field`` bytes
    including its CRLF (431 otherwise). Values lose leading and trailing SP/HTAB only (RFC 9112
    §5.1), never other whitespace; text is latin-1, so obs-text survives unchanged.
    """

    __slots__ = ("_last", "_last_section", "_llhttp", "_max_count", "_max_field", "_validator")

    def __init__(self, limits: Limits) -> None:
        # The last section parsed and its result: on a keep-alive connection a client usually
        # sends the same fields byte for byte, and the same bytes always parse the same way.
        self._last_section: bytes | None = None
        self._last: tuple[Fields, Found] = ([], {})
        self._validator = _Validator()
        self._llhttp: httptools.HttpRequestParser | None = None
        self._max_count = limits.max_header_count
        self._max_field = limits.max_header_field

    def parse(self, section: bytes | bytearray, watched: frozenset[str]) -> tuple[Fields, Found]:
        """Parse ``section`` (field lines each ending CRLF, then CRLF); also return the values
        of the ``watched`` fields (lower-case names) for the framing rules.

        The result is shared when the same section repeats: callers must not modify it."""
        if section == self._last_section:
            return self._last
        if section == b"\r\n":
            return [], {}
        self._validate(section)
        lines = section.decode("latin-1").split("\r\n")
        del lines[-2:]  # the empty strings after the last CRLF and the final CRLF
        if len(lines) > self._max_count:
            raise MessageTooLarge(
                f"more than {self._max_count} header fields", limit="max_header_count",
                status=431,
            )  # fmt: skip
        if max(map(len, lines)) + 2 > self._max_field:
            raise MessageTooLarge(
                f"a header field line is longer than {self._max_field} bytes",
                limit="max_header_field", status=431,
            )  # fmt: skip
        fields: Fields = []
        append = fields.append
        found: Found = {}
        for line in lines:
            # llhttp checked the grammar: a token name, ":", a value without CTLs or folds.
            name, _, value = line.partition(":")
            value = value.strip(" \t")
            if name.lower() in watched:
                found.setdefault(name.lower(), []).append(value)
            append((name, value))
        self._last_section, self._last = bytes(section), (fields, found)
        return fields, found

    def _validate(self, section: bytes | bytearray) -> None:
        validator = self._validator
        validator.complete = validator.message_complete = False
        llhttp = self._llhttp or self._new_llhttp()
        self._llhttp = None  # reused only if it ends this section in a clean state
        try:
            llhttp.feed_data(_SYNTHETIC_START + section)
        except httptools.HttpParserUpgrade:
            pass  # "Upgrade" fields: llhttp pauses after the head; the head itself is fine
        except httptools.HttpParserError as exc:
            raise RemoteProtocolError(f"invalid field section: {exc}") from None
        else:
            if validator.message_complete and llhttp.should_keep_alive():
                self._llhttp = llhttp
        if not validator.complete:  # cannot happen: the caller found the blank line
            raise RemoteProtocolError("field section did not end where expected")

    def _new_llhttp(self) -> httptools.HttpRequestParser:
        llhttp = httptools.HttpRequestParser(self._validator)
        # Framing is wirekit's decision (framing.py); llhttp must only judge the field lines.
        llhttp.set_dangerous_leniencies(
            lenient_transfer_encoding=True, lenient_chunked_length=True
        )
        return llhttp
