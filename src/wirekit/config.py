"""Shared defaults: every timeout and limit in wirekit starts here.

The values are frozen dataclasses so a configuration can be passed around and shared between
threads and processes without anyone changing it underneath; derive a variant with
``dataclasses.replace(DEFAULT_LIMITS, max_body=...)``. Each default is justified in a comment,
most by what trusted servers and clients ship with (see ``shared/SECURITY.md`` section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from wirekit.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUTS", "Limits", "TLSConfig", "Timeouts"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def _check_positive(obj: DataclassInstance, *, allow_none: bool) -> None:
    """Reject zero, negative and NaN values in a settings dataclass."""
    for field in fields(obj):
        value = getattr(obj, field.name)
        if value is None and allow_none:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{type(obj).__name__}.{field.name} must be a number, got {value!r}")
        if math.isnan(value) or value <= 0:
            raise ConfigError(f"{type(obj).__name__}.{field.name} must be > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait in each phase. ``None`` means wait forever and must be asked for."""

    # httpx and SECURITY.md: 5 s is long enough for any loopback or LAN connect and short
    # enough that a dead host does not hang a command.
    connect: float | None = 5.0
    # One read or write on an established connection: 30 s (client read timeout, SECURITY.md).
    read: float | None = 30.0
    write: float | None = 30.0
    # A server closes a connection on which nothing arrives for this long (waitress uses 120 s,
    # gunicorn 30 s for a worker); idle keep-alive connections use ``keep_alive`` instead.
    idle: float | None = 60.0
    # Total time to receive a request's header block: a deadline, not per recv, so that a
    # slowloris client sending a byte a second is still cut off (SECURITY.md L04).
    header: float | None = 10.0
    # Total time to receive one framed message (a line, a length-prefixed frame) once its
    # first byte arrived: a deadline, so a client dripping a byte at a time is cut off too.
    message: float | None = 30.0
    # Idle keep-alive between requests (uvicorn 5 s, gunicorn 2 s).
    keep_alive: float | None = 5.0
    # Authentication handshake on the object channel (SECURITY.md R03).
    handshake: float | None = 5.0
    # How long a graceful shutdown waits for running handlers (gunicorn graceful_timeout 30 s).
    shutdown_grace: float | None = 30.0

    def __post_init__(self) -> None:
        _check_positive(self, allow_none=True)


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on what a peer can make wirekit hold or do."""

    # HTTP request line / single header field / header count: gunicorn 4094 / 8190 / 100;
    # wirekit takes 8190 for both lines so long query strings still work.
    max_request_line: int = 8190
    max_header_field: int = 8190
    max_header_count: int = 100
    # Whole header block: 64 KiB (h11 uses 16 KiB, waitress 256 KiB).
    max_header_block: int = 64 * KiB
    # Bodies read into memory (XML, JSON, HTML documents, RPC calls): 10 MiB.
    max_body: int = 10 * MiB
    # Request content the HTTP server passes to an application, which reads it as a stream
    # (wsgi.input): 1 GiB as waitress (gunicorn has no bound, nginx 1 MiB). An upload of a
    # few hundred MiB to Flask or Django must work; the forms layer and CGI keep their own
    # smaller caps for what they hold (`wirekit serve --max-body`).
    max_request_body: int = 1 * GiB
    # One framed message (line, length-prefixed frame) on a plain socket: 1 MiB.
    max_message: int = 1 * MiB
    # A single text line read with readline(): the same bound as a header field.
    max_line: int = 64 * KiB
    # Largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header).
    max_datagram: int = 65507
    # Concurrent connections a server handles at once; the excess waits in the listen backlog.
    max_connections: int = 1000
    # Listen backlog: gunicorn 2048; 1024 keeps a burst of connects from being refused (L05).
    backlog: int = 1024

    def __post_init__(self) -> None:
        _check_positive(self, allow_none=False)


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """How to set up TLS. Verification is on unless ``verify=False`` is said explicitly."""

    verify: bool = True
    cafile: str | None = None  # extra trust anchors, e.g. a test CA; default: the system store
    certfile: str | None = None  # our own certificate (server, or client-certificate auth)
    keyfile: str | None = None
    server_hostname: str | None = None  # override the name checked against the certificate


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_LIMITS = Limits()
