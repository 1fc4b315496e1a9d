"""The sans-IO HTTP/1.1 core shared by wirekit's server and client (RFC 9110, RFC 9112).

``Connection`` turns received bytes into events and events into bytes, and never touches a
socket, so the same logic serves the threaded, forking and asyncio servers and the client.
Start lines and framing are wirekit's; field lines are validated by llhttp (httptools).
See ``docs/http-core.md`` for a walk-through.
"""

from wirekit.proto.http.connection import Connection
from wirekit.proto.http.dates import format_http_date, http_date
from wirekit.proto.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    InformationalResponse,
    Request,
    Response,
    Wait,
)
from wirekit.proto.http.headers import Headers
from wirekit.proto.http.parser import STANDARD_METHODS
from wirekit.proto.http.state import Role, State
from wirekit.proto.http.status import REASON_PHRASES, reason_phrase

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "REASON_PHRASES",
    "STANDARD_METHODS",
    "Connection",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Headers",
    "InformationalResponse",
    "Request",
    "Response",
    "Role",
    "State",
    "Wait",
    "format_http_date",
    "http_date",
    "reason_phrase",
]
