"""wirekit: the whole of Python network programming in one modern, fast, safe package.

Layers mirror the network stack: ``wirekit.net`` (sockets) → ``wirekit.server`` (serving) →
protocols (``wirekit.proto`` sans-IO cores, then ``http``, ``rpc``, ``mail``, ``ftp``) →
applications (``demo``, ``cli``). ``wirekit.data`` is a side column with no network imports.
"""

from wirekit.errors import (
    AuthenticationError,
    ConfigError,
    ConnectError,
    ConnectionClosed,
    IncompleteRead,
    InvalidAddress,
    LimitExceeded,
    LocalProtocolError,
    LookupFailed,
    MessageTooLarge,
    NetworkError,
    ProtocolError,
    RemoteProtocolError,
    Timeout,
    TLSError,
    WirekitError,
)

__version__ = "0.1.0"

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
    "__version__",
]
