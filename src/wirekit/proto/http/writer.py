"""Serialising heads and framing outgoing content (RFC 9112 §3-§7).

Everything an application hands us is validated on the way out: a field name must be a token,
a value must not contain CR, LF, NUL or another control character, and a reason phrase likewise
(RFC 9110 §5.5: such values are "invalid and dangerous"). A violation is a
``LocalProtocolError`` with status 500 raised *before* any byte is produced, so the server can
still answer 500 and log it, and a header can never be injected (SECURITY.md W01; gunicorn
CVE-2018-1000164, uvicorn CVE-2020-7695).

The body writers turn content into wire bytes for the framing chosen by the connection:
exact ``Content-Length`` accounting, chunked framing, close-delimited, or nothing at all (HEAD,
1xx, 204, 304), so an application bug can never produce a message the peer would mis-frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from wirekit.errors import LocalProtocolError
from wirekit.proto.http.framing import FORBIDDEN_TRAILERS
from wirekit.proto.http.grammar import TOKEN as _TOKEN
from wirekit.proto.http.headers import Headers
from wirekit.proto.http.status import REASON_PHRASES, reason_phrase

__all__ = [
    "BodyWriter",
    "ChunkedWriter",
    "CloseWriter",
    "LengthWriter",
    "NoBodyWriter",
    "OutgoingHead",
    "check_field",
    "check_request_line",
    "encode_head",
    "encode_trailers",
    "request_head",
    "response_head",
]

# RFC 9110 §5.5: field-content is VCHAR, obs-text, SP and HTAB; every other control is refused.
_BAD_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The same set minus CR and LF, for checking a whole head whose CRLFs are counted separately.
_BAD_IN_HEAD: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_TARGET: Final = re.compile(r"[\x00-\x20\x7f]")
_DIGITS: Final = re.compile(r"[0-9]{1,18}")
# Fields the writer itself manages; an application's value is checked, not trusted.
_MANAGED: Final = frozenset({"content-length", "transfer-encoding", "connection", "date", "server",
                             "host", "expect", "upgrade"})  # fmt: skip
# Field names already checked, mapped to their lower-case form. Applications send the same few
# names over and over; the cache is cleared when full, so it stays small whatever they send.
_NAMES: dict[str, str] = {}
_NAMES_MAX: Final = 1024


def _text(item: object, what: str) -> str:
    if type(item) is str:
        return item
    if isinstance(item, bytes | bytearray):
        return bytes(item).decode("latin-1")
    raise LocalProtocolError(f"{what} must be str, got {type(item).__name__}")


def _checked_name(name: str) -> str:
    """Check a field name is a token (RFC 9110 §5.1) and return it lower-cased."""
    if _TOKEN.fullmatch(name) is None:
        raise LocalProtocolError(f"invalid header name {name[:100]!r} (RFC 9110 §5.1)")
    if len(_NAMES) >= _NAMES_MAX:
        _NAMES.clear()
    lname = _NAMES[name] = name.lower()
    return lname


def check_field(name: str, value: str) -> None:
    """Refuse a field that could break the message: status 500, nothing written."""
    _checked_name(name)
    if _BAD_VALUE.search(value) is not None:
        raise LocalProtocolError(
            f"invalid header value for {name!r}: contains CR, LF, NUL or another control "
            "character (RFC 9110 §5.5)"
        )


def check_request_line(method: str, target: str) -> None:
    """A method must be a token and a target must hold no SP or control (RFC 9112 §3)."""
    if _TOKEN.fullmatch(method) is None:
        raise LocalProtocolError(f"invalid method {method[:50]!r} (RFC 9110 §9.1)")
    if not target or _BAD_TARGET.search(target) is not None:
        raise LocalProtocolError(f"invalid request-target {target[:100]!r} (RFC 9112 §3.2)")


def encode_head(parts: list[str], *, start_line: bool = True) -> bytes:
    """Join a start line and ``name: value\r\n`` lines into one checked latin-1 head.

    Every part ends with exactly one CRLF by construction, so counting CRs and LFs finds any
    injected line break, and one search finds any other control: three C-speed passes over
    the head instead of a regular expression per value.
    """
    head = "".join(parts) + "\r\n"
    lines = len(parts) + 1
    if head.count("\r") != lines or head.count("\n") != lines or _BAD_IN_HEAD.search(head):
        _explain(parts[1:] if start_line else parts)
        raise LocalProtocolError(
            f"invalid start line {parts[0][:100]!r}: CR, LF or a control (RFC 9112 §3-4)"
        )
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(
            f"header text outside latin-1 at {exc.object[exc.start:exc.end]!r}; encode it "
            "first (e.g. RFC 8187 or percent-encoding)"
        ) from None


def _explain(field_parts: list[str]) -> None:
    """Find the field that failed the whole-head check and raise a precise error."""
    for part in field_parts:
        name, _, value = part[:-2].partition(": ")
        check_field(name, value)


def encode_trailers(trailers: Iterable[tuple[object, object]]) -> bytes:
    """The trailer section after the last chunk, with its final CRLF."""
    parts, _managed = _collect(trailers, framing_allowed=True, forbidden=FORBIDDEN_TRAILERS)
    return encode_head(parts, start_line=False)


class LengthWriter:
    """Content announced by ``Content-Length``: exactly that many bytes, no more, no fewer."""

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    def data(self, data: bytes) -> bytes:
        if len(data) > self.remaining:
            raise LocalProtocolError(
                f"{len(data)} bytes of content with only {self.remaining} left of the declared "
                "Content-Length"
            )
        self.remaining -= len(data)
        return data

    def end(self, trailers: Iterable[tuple[object, object]]) -> bytes:
        if self.remaining:
            raise LocalProtocolError(
                f"message ended {self.remaining} bytes short of its Content-Length"
            )
        if any(True for _ in trailers):
            raise LocalProtocolError("trailers need chunked framing, not Content-Length")
        return b""


class ChunkedWriter:
    """The chunked transfer coding (RFC 9112 §7.1); an empty piece writes nothing."""

    __slots__ = ()

    def data(self, data: bytes) -> bytes:
        # An empty chunk would be read as the last-chunk, ending the message early.
        return b"%x\r\n%b\r\n" % (len(data), data) if data else b""

    def end(self, trailers: Iterable[tuple[object, object]]) -> bytes:
        return b"0\r\n" + encode_trailers(trailers)


class CloseWriter:
    """Content delimited by closing the connection (HTTP/1.0 peers, unknown length)."""

    __slots__ = ()

    def data(self, data: bytes) -> bytes:
        return data

    def end(self, trailers: Iterable[tuple[object, object]]) -> bytes:
        if any(True for _ in trailers):
            raise LocalProtocolError("trailers need chunked framing")
        return b""


class NoBodyWriter:
    """HEAD, 1xx, 204 and 304 responses have no content (RFC 9110 §6.4.1): it is dropped."""

    __slots__ = ()

    def data(self, data: bytes) -> bytes:
        return b""

    def end(self, trailers: Iterable[tuple[object, object]]) -> bytes:
        return b""


BodyWriter = LengthWriter | ChunkedWriter | CloseWriter | NoBodyWriter
CHUNKED_WRITER: Final = ChunkedWriter()
CLOSE_WRITER: Final = CloseWriter()
NO_BODY_WRITER: Final = NoBodyWriter()


class OutgoingHead:
    """A serialised head plus what it decided: the body writer and connection persistence."""

    __slots__ = ("expect_continue", "head", "keep_alive", "upgrade", "writer")

    def __init__(self, head: bytes, writer: BodyWriter, keep_alive: bool) -> None:
        self.head = head
        self.writer = writer
        self.keep_alive = keep_alive
        self.expect_continue = False
        self.upgrade = False


class _Managed:
    """The managed fields found among an application's fields."""

    __slots__ = ("close", "connection_upgrade", "content_length", "date", "expect", "host",
                 "server", "te", "upgrade")  # fmt: skip

    def __init__(self) -> None:
        self.content_length: str | None = None
        self.te: str | None = None
        self.close = self.connection_upgrade = False
        self.date = self.server = self.host = self.upgrade = False
        self.expect: list[str] = []

    def note(self, lname: str, value: str, framing_allowed: bool) -> bool:
        """Record a managed field; return whether to keep it in the output."""
        if lname == "content-length":
            if self.content_length is not None or _DIGITS.fullmatch(value.strip()) is None:
                raise LocalProtocolError(f"invalid or repeated Content-Length {value!r}")
            self.content_length = value.strip()
            return framing_allowed
        if lname == "transfer-encoding":
            if self.te is not None or value.strip().lower() != "chunked":
                raise LocalProtocolError(
                    f"only 'Transfer-Encoding: chunked' can be sent, got {value!r}"
                )
            self.te = "chunked"
            return False  # re-added by the framing decision, once
        tokens = [t.strip(" \t").lower() for t in value.split(",")]
        if lname == "connection":
            self.close = self.close or "close" in tokens
            self.connection_upgrade = self.connection_upgrade or "upgrade" in tokens
        elif lname == "expect":
            self.expect.extend(tokens)
        elif lname == "date":
            self.date = True
        elif lname == "server":
            self.server = True
        elif lname == "host":
            self.host = True
        else:
            self.upgrade = True
        return True


_STATUS_LINES: Final = {code: f"HTTP/1.1 {code} {phrase}\r\n"
                        for code, phrase in REASON_PHRASES.items()}  # fmt: skip
_NO_MANAGED: Final = _Managed()  # shared "nothing managed found"; never written to


def _collect(
    raw_fields: Iterable[tuple[object, object]] | Headers, *, framing_allowed: bool,
    forbidden: frozenset[str] = frozenset(),
) -> tuple[list[str], _Managed]:  # fmt: skip
    """Check names and build the ``name: value\r\n`` lines; values are checked with the head."""
    managed = _NO_MANAGED  # replaced by a fresh record at the first managed field
    parts: list[str] = []
    names = _NAMES
    if isinstance(raw_fields, Headers):  # a mapping: its field lines are what goes out
        raw_fields = raw_fields.fields
    for raw_name, raw_value in raw_fields:
        name, value = raw_name, raw_value
        if type(name) is not str or type(value) is not str:
            name, value = _text(raw_name, "header name"), _text(raw_value, "header value")
        lname = names.get(name) or _checked_name(name)
        if lname in forbidden:
            raise LocalProtocolError(f"{name!r} must not be sent as a trailer (RFC 9110 §6.5.1)")
        if lname in _MANAGED:
            if managed is _NO_MANAGED:
                managed = _Managed()
            if not managed.note(lname, value, framing_allowed):
                continue
        parts.append(name + ": " + value + "\r\n")
    return parts, managed


# Recent response heads: an application answers with the same status and fields again and
# again, and the same inputs always give the same checked bytes. Key: every input of
# _build_response_head; value: the head, the Date it carries, its writer, keep-alive. A new
# second rebuilds a head once. Cleared when full, so it stays small whatever apps send.
_HEADS: dict[tuple[object, ...], tuple[bytes, str | None, int | BodyWriter, bool]] = {}
_HEADS_MAX: Final = 512


def response_head(
    status: int, reason: str, raw_fields: Iterable[tuple[object, object]] | Headers, *,
    request_method: str | None, peer_minor: int, keep_alive: bool, body_length: int | None,
    date: str | None, server: str | None,
) -> OutgoingHead:  # fmt: skip
    """Serialise a response head and choose its framing (RFC 9112 §6, RFC 9110 §6.4.1).

    ``body_length`` is the content length when the whole content is known now, else None.
    """
    fields = raw_fields
    key: tuple[object, ...] | None
    try:
        fields = tuple(raw_fields.fields if isinstance(raw_fields, Headers) else raw_fields)
        key = (
            status, reason, fields, request_method == "HEAD", peer_minor,
            keep_alive, body_length, server, date is None,
        )  # fmt: skip
        memo = _HEADS.get(key)
    except TypeError:  # unhashable fields (lists as pairs): no memo, same result
        key = memo = None
    if memo is not None and memo[1] == date:
        head, _, writer, keep = memo
        if type(writer) is int:
            writer = LengthWriter(writer)
        return OutgoingHead(head, writer, keep)  # type: ignore[arg-type]  # int wrapped above
    out = _build_response_head(
        status, reason, fields, request_method=request_method,
        peer_minor=peer_minor, keep_alive=keep_alive, body_length=body_length, date=date,
        server=server)  # fmt: skip
    if key is not None:
        _remember(_HEADS, key, (out.head, date, _stored(out.writer), out.keep_alive))
    return out


def _stored(writer: BodyWriter) -> int | BodyWriter:
    """A writer as a head memo keeps it: a length writer counts down, so its length."""
    return writer.remaining if type(writer) is LengthWriter else writer


def _remember(memo: dict[tuple[object, ...], Any], key: tuple[object, ...], value: Any) -> None:
    if len(memo) >= _HEADS_MAX:  # cleared when full: small whatever is sent
        memo.clear()
    memo[key] = value


def _build_response_head(
    status: int, reason: str, raw_fields: Iterable[tuple[object, object]] | Headers, *,
    request_method: str | None, peer_minor: int, keep_alive: bool, body_length: int | None,
    date: str | None, server: str | None,
) -> OutgoingHead:  # fmt: skip
    no_content_fields = status < 200 or status == 204  # CL/TE MUST NOT be sent (§8.6, §6.1)
    fields, managed = _collect(raw_fields, framing_allowed=not no_content_fields)
    start = None if reason else _STATUS_LINES.get(status)
    parts = [start or f"HTTP/1.1 {status} {reason or reason_phrase(status)}\r\n"]
    if date is not None and not managed.date:  # Date and Server lead, by convention
        parts.append("Date: " + date + "\r\n")
    if server is not None and not managed.server:
        parts.append("Server: " + server + "\r\n")
    parts += fields
    no_body = status < 200 or status in (204, 304) or request_method == "HEAD"
    if no_content_fields or (status == 304 and managed.content_length is None):
        writer: BodyWriter = NO_BODY_WRITER
    else:
        writer = _response_writer(parts, managed, no_body, request_method, peer_minor,
                                  body_length)  # fmt: skip
    keep_alive = keep_alive and not managed.close and writer is not CLOSE_WRITER
    if not keep_alive:
        if not managed.close:
            parts.append("Connection: close\r\n")
    elif peer_minor == 0:
        parts.append("Connection: keep-alive\r\n")  # RFC 9112 §9.3 / RFC 2068 §19.7.1
    return OutgoingHead(encode_head(parts), writer, keep_alive)


def _response_writer(
    parts: list[str], managed: _Managed, no_body: bool, request_method: str | None,
    peer_minor: int, body_length: int | None,
) -> BodyWriter:  # fmt: skip
    """Choose the framing of a response that may have content, adding its framing field.

    For HEAD (``no_body``) the fields are what GET would send and no content is written.
    """
    if managed.content_length is not None:
        length = int(managed.content_length)
        if body_length is not None and not no_body and body_length != length:
            raise LocalProtocolError(
                f"Content-Length {length} but the content is {body_length} bytes"
            )
        return NO_BODY_WRITER if no_body else LengthWriter(length)
    if body_length is not None and managed.te is None:
        if body_length or request_method != "HEAD":
            parts.append(f"Content-Length: {body_length}\r\n")
        return NO_BODY_WRITER if no_body else LengthWriter(body_length)
    if peer_minor >= 1:
        parts.append("Transfer-Encoding: chunked\r\n")
        return NO_BODY_WRITER if no_body else CHUNKED_WRITER
    # HTTP/1.0 cannot read chunked: closing the connection delimits the content (§6.3).
    return NO_BODY_WRITER if no_body else CLOSE_WRITER


# Recent request heads, as _HEADS for responses: a client sends the same head again and
# again (an RPC proxy, a poller). Key: every input; value: the head, its writer (a length or
# the shared chunked writer), keep-alive, expect-continue, upgrade.
_REQUEST_HEADS: dict[tuple[object, ...], tuple[bytes, int | BodyWriter, bool, bool, bool]] = {}


def request_head(
    method: str, target: str, raw_fields: Iterable[tuple[object, object]] | Headers, *,
    body_length: int | None,
) -> OutgoingHead:  # fmt: skip
    """Serialise a request head and choose its framing.

    Without ``Content-Length`` or ``Transfer-Encoding`` a request has no content (RFC 9112
    §6.3 rule 7), unless ``body_length`` says the whole content is known now; to stream a
    body of unknown length, send ``Transfer-Encoding: chunked``.
    """
    key: tuple[object, ...] | None
    try:
        fields = tuple(raw_fields.fields if isinstance(raw_fields, Headers) else raw_fields)
        key = (method, target, fields, body_length)
        memo = _REQUEST_HEADS.get(key)
    except TypeError:  # unhashable fields (lists as pairs): no memo, same result
        key = memo = None
    if memo is not None:
        head, writer, keep_alive, expect_continue, upgrade = memo
        out = OutgoingHead(head, LengthWriter(writer) if type(writer) is int
                           else writer, keep_alive)  # type: ignore[arg-type]  # int wrapped
        out.expect_continue, out.upgrade = expect_continue, upgrade
        return out
    out = _build_request_head(method, target, raw_fields, body_length)
    if key is not None:
        _remember(_REQUEST_HEADS, key, (out.head, _stored(out.writer), out.keep_alive,
                                        out.expect_continue, out.upgrade))
    return out


def _build_request_head(
    method: str, target: str, raw_fields: Iterable[tuple[object, object]] | Headers,
    body_length: int | None,
) -> OutgoingHead:  # fmt: skip
    check_request_line(method, target)
    fields, managed = _collect(raw_fields, framing_allowed=True)
    if not managed.host:
        raise LocalProtocolError("an HTTP/1.1 request needs a Host field (RFC 9112 §3.2)")
    parts = [f"{method} {target} HTTP/1.1\r\n", *fields]
    writer: BodyWriter
    if managed.content_length is not None:
        length = int(managed.content_length)
        if body_length is not None and body_length != length:
            raise LocalProtocolError(f"Content-Length {length} but the body is {body_length}")
        writer = LengthWriter(length)
    elif managed.te is not None:
        parts.append("Transfer-Encoding: chunked\r\n")
        writer = CHUNKED_WRITER
    else:
        if body_length:
            parts.append(f"Content-Length: {body_length}\r\n")
        writer = LengthWriter(body_length or 0)
    outgoing = OutgoingHead(encode_head(parts), writer, keep_alive=not managed.close)
    outgoing.expect_continue = "100-continue" in managed.expect
    outgoing.upgrade = managed.upgrade and managed.connection_upgrade  # RFC 9110 §7.8
    return outgoing
