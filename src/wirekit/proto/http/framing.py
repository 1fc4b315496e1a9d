"""Message framing and connection persistence for received heads (RFC 9112 §6, §9.3).

Given the few fields that decide them (``Content-Length``, ``Transfer-Encoding``, ``Host``,
``Connection``, ``Expect``, ``Upgrade``, ``Content-Type``), decide how long the body is, whether
the connection may be reused, and whether a protocol switch was proposed. Request smuggling
lives exactly here, so every ambiguity is refused rather than resolved (SECURITY.md H01-H04,
H11, H13); the decisions wirekit had to take where the RFC leaves room are:

* Duplicate ``Content-Length`` lines are refused even when identical, and so is the list form
  ``5, 5`` (SECURITY.md H03: "decide once and document it"). RFC 9110 §8.6 allows collapsing
  identical values, but llhttp, gunicorn and waitress refuse them and no honest client sends
  them; h11 accepts them, which the differential tests account for.
* ``Transfer-Encoding`` and ``Content-Length`` together: refused with 400 (RFC 9112 §6.1 lets a
  server instead ignore CL and close; refusing is the strict reading).
* ``identity`` in ``Transfer-Encoding`` is the pre-RFC 7230 "no coding" and is skipped, as
  gunicorn does (the corpus's valid files rely on it). A request whose codings are all
  ``identity`` is framed by ``Content-Length`` and its connection is never reused, so a peer that
  framed it differently cannot smuggle a second request behind it.
* ``chunked`` must appear exactly once and last; ``gzip, chunked`` is accepted (the content stays
  gzip-coded; the application sees the field). Unknown codings are 501 (RFC 9112 §6.1).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from wirekit.errors import MessageTooLarge, RemoteProtocolError
from wirekit.proto.http.grammar import TOKEN as _TOKEN
from wirekit.proto.http.parser import HOST_FIELD
from wirekit.proto.http.state import Switch

__all__ = [
    "FORBIDDEN_TRAILERS",
    "WATCHED_FIELDS",
    "BodyKind",
    "Framing",
    "request_framing",
    "response_framing",
]

#: The fields the framing rules read; the parser picks them out while splitting.
WATCHED_FIELDS: Final = frozenset(
    {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade",
     "content-type"}
)  # fmt: skip

# Fields that must appear at most once: two values would let two parsers disagree about the
# body length (CL), the virtual host (Host, RFC 9112 §3.2 MUST 400) or the content (Type).
_SINGLETONS: Final = frozenset({"content-length", "host", "content-type"})

#: Fields refused in a trailer section: those that frame the message, route it or manage the
#: connection, which a recipient must know before the content (RFC 9110 §6.5.1, RFC 9112
#: §7.1.2). Others (``Vary``, ``Content-Type``, digests) arrive as ``EndOfMessage.trailers`` and
#: are never merged into the head's fields.
FORBIDDEN_TRAILERS: Final = frozenset(
    {
        "content-length", "transfer-encoding", "trailer", "host", "connection", "keep-alive",
        "upgrade", "te", "expect", "proxy-connection",
    }
)  # fmt: skip

# RFC 9112 §7 transfer-coding registry (x-gzip/x-compress are aliases, §7.2).
_KNOWN_CODINGS: Final = frozenset({"chunked", "gzip", "deflate", "compress", "x-gzip",
                                   "x-compress"})  # fmt: skip
# Content-Length = 1*DIGIT (RFC 9110 §8.6), capped at 18 digits so the value fits in 63 bits
# and no int() ever sees "+5", "5_0" or non-ASCII digits (SECURITY.md H04).
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
# Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty when the target has no authority.
_HOST = re.compile(HOST_FIELD.pattern.decode("ascii"))
_KEEP_ALIVE: Final = ["keep-alive"]


class BodyKind(enum.Enum):
    """How the content of a message is delimited (RFC 9112 §6.3)."""

    __hash__ = object.__hash__  # members are singletons; Enum's own hash is Python code

    NONE = "none"
    LENGTH = "content-length"
    CHUNKED = "chunked"
    UNTIL_CLOSE = "until-close"


@dataclass(slots=True)
class Framing:
    """What a head says about its message and the connection."""

    kind: BodyKind
    length: int = 0
    keep_alive: bool = True
    expect_continue: bool = False
    switch: Switch | None = None


def _tokens(values: list[str] | None) -> list[str]:
    """List elements of a comma-separated field, lower-cased (RFC 9110 §5.6.1)."""
    if not values:
        return []
    if len(values) == 1 and "," not in values[0]:  # the usual "keep-alive" or "close"
        return [values[0].lower()] if values[0] else []
    return [t for v in values for t in (p.strip(" \t").lower() for p in v.split(",")) if t]


def _keep_alive(minor: int, connection: list[str]) -> bool:
    """RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" (RFC 2068)."""
    if "close" in connection:
        return False
    return minor >= 1 or "keep-alive" in connection


def _check_singletons(found: dict[str, list[str]]) -> None:
    for name, values in found.items():
        if len(values) > 1 and name in _SINGLETONS:
            raise RemoteProtocolError(f"more than one {name} field")


# The framing of the common GET: no content, persistent, nothing proposed. Shared (never
# mutated: request_framing copies before changing anything).
_PLAIN = Framing(BodyKind.NONE)


def _content_length(value: str) -> int:
    if _CONTENT_LENGTH.fullmatch(value) is None:
        raise RemoteProtocolError(f"invalid Content-Length {value[:40]!r} (RFC 9110 §8.6)")
    return int(value)


def _codings(values: list[str]) -> list[str]:
    """The transfer codings in order, a leading ``identity`` dropped; refuses anything odd."""
    codings: list[str] = []
    for value in values:
        for element in value.split(","):
            coding = element.strip(" \t").lower()
            if _TOKEN.fullmatch(coding) is None:  # empty elements, parameters, stray bytes
                raise RemoteProtocolError(f"invalid Transfer-Encoding {value[:60]!r}")
            if coding == "identity":
                if "chunked" in codings:  # "chunked, identity": chunked is not final
                    raise RemoteProtocolError("a transfer coding after chunked (RFC 9112 §6.3)")
                continue
            if coding not in _KNOWN_CODINGS:
                raise RemoteProtocolError(f"unknown transfer coding {coding[:40]!r}", status=501)
            codings.append(coding)
    return codings


def _chunked_is_final(codings: list[str]) -> bool:
    """RFC 9112 §7: chunked is applied once, and last."""
    return codings[-1] == "chunked" and codings.count("chunked") == 1


def request_framing(
    method: str, minor: int, found: dict[str, list[str]], *, max_body: int,
    require_host: bool,
) -> Framing:  # fmt: skip
    """Decide a request's body length and persistence (RFC 9112 §6.3 rules 3-7)."""
    _check_singletons(found)
    get = found.get
    host = get("host")
    if (minor >= 1 and host is not None and method != "CONNECT"
            and (len(found) == 1 or (len(found) == 2 and "connection" in found))
            and _HOST.fullmatch(host[0]) is not None
            and get("connection", _KEEP_ALIVE) == _KEEP_ALIVE):  # fmt: skip
        return _PLAIN  # only Host and perhaps "Connection: keep-alive": the usual GET
    if host is None:
        if minor >= 1 and require_host:
            raise RemoteProtocolError("HTTP/1.1 request without Host (RFC 9112 §3.2)")
    elif _HOST.fullmatch(host[0]) is None:
        raise RemoteProtocolError(f"invalid Host {host[0][:100]!r} (RFC 9110 §7.2)")
    connection = _tokens(get("connection"))
    framing = Framing(BodyKind.NONE, keep_alive=_keep_alive(minor, connection))
    if "content-length" in found or "transfer-encoding" in found:
        _request_body(framing, minor, found, max_body)
    if "expect" in found and minor >= 1:  # RFC 9110 §10.1.1: an HTTP/1.0 expectation is ignored
        expect = _tokens(found["expect"])
        if expect and expect != ["100-continue"]:
            raise RemoteProtocolError("unsupported expectation (RFC 9110 §10.1.1)", status=417)
        framing.expect_continue = bool(expect)
    if method == "CONNECT":
        framing.switch = Switch.CONNECT
    elif "upgrade" in found and "upgrade" in connection:  # RFC 9110 §7.8
        framing.switch = Switch.UPGRADE
    return framing


def _request_body(framing: Framing, minor: int, found: dict[str, list[str]], max_body: int) -> None:
    length = found.get("content-length")
    te = found.get("transfer-encoding")
    if te is not None:
        if minor == 0:
            raise RemoteProtocolError("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")
        codings = _codings(te)
        if codings:
            if not _chunked_is_final(codings):
                raise RemoteProtocolError("chunked is not the final transfer coding (§6.3)")
            if length is not None:
                raise RemoteProtocolError("both Content-Length and Transfer-Encoding (§6.1)")
            framing.kind = BodyKind.CHUNKED
            return
        framing.keep_alive = False  # "identity" only: see the module docstring
    if length is not None:
        framing.length = _content_length(length[0])
        if framing.length > max_body:
            raise MessageTooLarge(
                f"request content of {framing.length} bytes exceeds the server's limit of "
                f"{max_body} bytes (max_request_body)", limit="max_request_body", status=413,
            )
        framing.kind = BodyKind.LENGTH if framing.length else BodyKind.NONE


def response_framing(
    status: int, minor: int, found: dict[str, list[str]], request_method: str | None
) -> Framing:
    """Decide a response's body length and persistence (RFC 9112 §6.3 rules 1-8)."""
    _check_singletons(found)
    connection = _tokens(found.get("connection"))
    framing = Framing(BodyKind.NONE, keep_alive=_keep_alive(minor, connection))
    if status < 200:
        if status == 101:
            framing.switch = Switch.UPGRADE
        return framing
    if request_method == "HEAD" or status in (204, 304):
        return framing
    if request_method == "CONNECT" and status < 300:
        framing.switch = Switch.CONNECT
        return framing
    length = found.get("content-length")
    te = found.get("transfer-encoding")
    if te is not None:
        if minor == 0:
            raise RemoteProtocolError("Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1)")
        if length is not None:
            raise RemoteProtocolError("both Content-Length and Transfer-Encoding (§6.1)")
        codings = _codings(te)
        if codings and _chunked_is_final(codings):
            framing.kind = BodyKind.CHUNKED
            return framing
        if codings.count("chunked") > 1:
            raise RemoteProtocolError("chunked applied more than once (RFC 9112 §7)")
    elif length is not None:
        framing.length = _content_length(length[0])
        framing.kind = BodyKind.LENGTH if framing.length else BodyKind.NONE
        return framing
    # §6.3 rules 4 and 8: no usable length, so the body runs until the server closes.
    framing.kind = BodyKind.UNTIL_CLOSE
    framing.keep_alive = False
    return framing
