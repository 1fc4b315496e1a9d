"""The events of an HTTP/1.1 exchange, as nouns (DESIGN.md principle 7).

A message is one head event (``Request``, ``InformationalResponse`` or ``Response``),
then zero or more ``Data``, then ``EndOfMessage``; ``ConnectionClosed`` reports a clean close.
The same classes flow in both directions: ``Connection.next_event()`` returns them for what the
peer sent and ``Connection.send()`` takes them for what we send, so a server and a client share
one vocabulary (the h11 model).

Events are frozen: an event handed to an application, a log and the connection must not change
underneath any of them. ``NEED_DATA`` and ``PAUSED`` are not events but the two answers
``next_event()`` gives when it has none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

from wirekit.errors import LocalProtocolError
from wirekit.proto.http.headers import EMPTY_HEADERS, Headers, HeadersLike

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "InformationalResponse",
    "Request",
    "Response",
    "Wait",
]


class Wait(enum.Enum):
    """Why ``next_event()`` has no event to give."""

    __hash__ = object.__hash__  # members are singletons; Enum's own hash is Python code

    #: More bytes from the peer are needed: call ``receive_data()``.
    NEED_DATA = "NEED_DATA"
    #: The peer's next message must wait until this cycle ends (``start_next_cycle()``), or
    #: the connection switched protocols or must close. Do not read more from the socket.
    PAUSED = "PAUSED"


NEED_DATA = Wait.NEED_DATA
PAUSED = Wait.PAUSED


def _headers(value: HeadersLike) -> Headers:
    return value if type(value) is Headers else Headers(value)


@dataclass(frozen=True, slots=True, init=False)
class Request:
    """A request head: method, request-target, fields and version (RFC 9112 §3).

    ``method`` and ``target`` are exactly as on the wire (latin-1 text); the target is not
    percent-decoded or normalised, because that is the application layer's decision. For an
    absolute-form target the authority in it, not ``Host``, names the origin (RFC 9112
    §3.2.2). ``http_version`` is ``"1.0"`` or ``"1.1"``: a later 1.x is handled as 1.1
    (RFC 9110 §2.5).
    """

    method: str
    target: str
    headers: Headers
    http_version: str

    def __init__(
        self,
        method: str,
        target: str,
        headers: HeadersLike = EMPTY_HEADERS,
        http_version: str = "1.1",
    ) -> None:
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "headers", _headers(headers))
        object.__setattr__(self, "http_version", http_version)


@dataclass(frozen=True, slots=True, init=False)
class _ResponseBase:
    status_code: int
    headers: Headers
    reason: str
    http_version: str

    _low = 200
    _high = 999

    def __init__(
        self,
        status_code: int,
        headers: HeadersLike = EMPTY_HEADERS,
        reason: str = "",
        http_version: str = "1.1",
    ) -> None:
        # A three-digit code (RFC 9110 §15); the class decides which hundreds are allowed.
        if type(status_code) is not int or not self._low <= status_code <= self._high:
            raise LocalProtocolError(
                f"{type(self).__name__} status code must be an int in "
                f"{self._low}..{self._high}, got {status_code!r}"
            )
        object.__setattr__(self, "status_code", status_code)
        object.__setattr__(self, "headers", _headers(headers))
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "http_version", http_version)


@dataclass(frozen=True, slots=True, init=False)
class InformationalResponse(_ResponseBase):
    """A 1xx interim response (RFC 9110 §15.2): ``100 Continue``, ``103 Early Hints``, ``101``.

    ``reason`` empty means "the registered phrase" when sending.
    """

    _low = 100
    _high = 199


@dataclass(frozen=True, slots=True, init=False)
class Response(_ResponseBase):
    """A final response head (status 200-999). ``reason`` empty means the registered phrase."""


@dataclass(frozen=True, slots=True)
class Data:
    """A piece of message content.

    ``chunk_start``/``chunk_end`` say where a received piece sits in the sender's chunked
    framing; they carry no meaning for the content and are only there for proxies that want
    to preserve chunk boundaries.
    """

    data: bytes
    chunk_start: bool = False
    chunk_end: bool = False


@dataclass(frozen=True, slots=True, init=False)
class EndOfMessage:
    """The end of a message, with the trailer section of a chunked one (RFC 9112 §7.1.2).

    Trailers are never merged into the head's fields (RFC 9110 §6.5.1).
    """

    trailers: Headers

    def __init__(self, trailers: HeadersLike = EMPTY_HEADERS) -> None:
        object.__setattr__(self, "trailers", _headers(trailers))


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed its side cleanly, between messages."""


Event: TypeAlias = (
    Request | InformationalResponse | Response | Data | EndOfMessage | ConnectionClosed
)

# Shared instances for the common cases: events are immutable, so one object serves everyone.
END_OF_MESSAGE = EndOfMessage()
CONNECTION_CLOSED = ConnectionClosed()

# The parser builds an event per message from values it has already checked; setting the slots
# directly skips the frozen-dataclass ``object.__setattr__`` calls (half the cost).
_new = object.__new__
_request_slots = tuple(Request.__dict__[n].__set__ for n in ("method", "target", "headers",
                                                             "http_version"))  # fmt: skip


def trusted_request(method: str, target: str, headers: Headers, http_version: str) -> Request:
    """A ``Request`` from parsed, validated parts (no conversion, no checks)."""
    request = _new(Request)
    set_method, set_target, set_headers, set_version = _request_slots
    set_method(request, method)
    set_target(request, target)
    set_headers(request, headers)
    set_version(request, http_version)
    return request
