"""The one exception tree of wirekit, arranged by cause.

Every error wirekit raises derives from :class:`WirekitError`, and also from the builtin
category a caller would already catch, so ``except ConnectionError`` or ``except TimeoutError``
keeps working around wirekit calls::

    WirekitError
    ├── ConfigError (ValueError)               a bad argument or setting, found before any I/O
    │   └── InvalidAddress                     an address string that cannot be parsed
    ├── NetworkError (OSError)                 the network failed under us
    │   ├── ConnectError (ConnectionError)     could not establish a connection
    │   ├── ConnectionClosed (ConnectionError) the peer went away
    │   │   └── IncompleteRead                 ... in the middle of a message (says how far)
    │   ├── TLSError                           handshake or certificate failure
    │   └── LookupFailed                       a name, address or service did not resolve
    ├── Timeout (TimeoutError)                 a deadline expired; says in which phase
    ├── ProtocolError                          bytes that break a protocol's rules
    │   ├── LocalProtocolError                 ... that *we* were asked to send
    │   └── RemoteProtocolError                ... that the peer sent
    ├── LimitExceeded                          a configured bound was hit
    │   └── MessageTooLarge                    a frame, line or datagram above its maximum
    └── AuthenticationError (PermissionError)  a peer failed to prove who it is

Raw ``OSError`` and ``ssl`` errors are translated at one boundary (:func:`wirekit.net.errors`),
so code above the socket layer only ever sees this tree.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectError",
    "ConnectionClosed",
    "IncompleteRead",
    "InvalidAddress",
    "LimitExceeded",
    "LocalProtocolError",
    "LookupFailed",
    "MessageTooLarge",
    "NetworkError",
    "ProtocolError",
    "RemoteProtocolError",
    "TLSError",
    "Timeout",
    "WirekitError",
]


class WirekitError(Exception):
    """Root of every error wirekit raises."""


class ConfigError(WirekitError, ValueError):
    """An argument or setting is invalid; raised before any network traffic."""


class InvalidAddress(ConfigError):
    """An address string (``host:port``, ``[::1]:80``, ``unix:/path``) cannot be parsed."""


class NetworkError(WirekitError, OSError):
    """The network failed: a socket-level error translated into wirekit's tree.

    Built as ``NetworkError(errno, message)`` it keeps ``errno`` for callers that branch on it,
    while ``str()`` stays a plain sentence (no ``[Errno N]`` prefix).
    """

    def __str__(self) -> str:
        return self.strerror if self.strerror else super().__str__()


class ConnectError(NetworkError, ConnectionError):
    """A connection could not be established (refused, unreachable, reset during connect)."""


class ConnectionClosed(NetworkError, ConnectionError):
    """The peer closed or reset the connection."""


class IncompleteRead(ConnectionClosed):
    """The peer closed in the middle of a message.

    ``partial`` holds the bytes that did arrive; ``expected`` is the total that was needed
    (``None`` when the message was delimited rather than counted).
    """

    def __init__(self, partial: bytes, expected: int | None, what: str = "message") -> None:
        self.partial = partial
        self.expected = expected
        self.what = what
        if expected is None:
            text = f"connection closed in the middle of a {what}: {len(partial)} bytes arrived"
        else:
            text = (
                f"connection closed in the middle of a {what}: "
                f"{len(partial)} of {expected} bytes arrived"
            )
        super().__init__(text)

    def __reduce__(self):  # keep the exception picklable across processes
        return (type(self), (self.partial, self.expected, self.what))


class TLSError(NetworkError):
    """A TLS handshake failed or a certificate did not verify."""


class LookupFailed(NetworkError):
    """A host name, address or service name could not be resolved."""


class Timeout(WirekitError, TimeoutError):
    """A deadline expired. ``phase`` says what was being waited for (connect, read, ...)."""

    def __init__(self, phase: str, seconds: float | None = None) -> None:
        self.phase = phase
        self.seconds = seconds
        if seconds is None:
            super().__init__(f"timed out during {phase}")
        else:
            super().__init__(f"timed out during {phase} (after {seconds:g} s)")

    def __reduce__(self):
        return (type(self), (self.phase, self.seconds))


class ProtocolError(WirekitError):
    """Bytes that break a protocol's rules.

    ``status`` is the HTTP status the error maps to when it ends an HTTP exchange
    (400 unless a subclass or the raiser says otherwise).
    """

    status: int = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class LocalProtocolError(ProtocolError):
    """This side was asked to send something the protocol forbids (our bug, not the peer's)."""

    status = 500


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids."""


class LimitExceeded(WirekitError):
    """A configured bound (size, count, rate) was exceeded.

    ``limit`` names the setting, so the message tells the user what to raise if the input was
    legitimate.
    """

    status: int = 413

    def __init__(self, message: str, limit: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        if status is not None:
            self.status = status


class MessageTooLarge(LimitExceeded):
    """A frame, line, header or datagram is larger than its configured maximum."""


class AuthenticationError(WirekitError, PermissionError):
    """A peer failed to authenticate (wrong key, bad credentials, refused handshake)."""
