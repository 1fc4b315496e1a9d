"""The HTTP client's errors, as branches of wirekit's one tree (``wirekit.errors``).

Connection, timeout and TLS failures are the tree's own ``ConnectError``, ``Timeout`` and
``TLSError`` (with ``ProxyError`` for a proxy that refused to tunnel); what is specific to HTTP
hangs below::

    ConfigError (ValueError)
    └── InvalidRequest                  refused before any byte is sent (SECURITY.md K05)
        └── InvalidURL
            └── UnsupportedScheme
    ConnectError
    └── ProxyError                      the proxy answered CONNECT with a non-2xx status
    ProtocolError
    ├── HTTPError                       a 4xx/5xx answer: status, reason, headers, body
    └── RemoteProtocolError
        ├── RedirectError               a redirect we will not follow (file:, data:, ...)
        │   └── TooManyRedirects
        └── ContentDecodingError        a corrupt gzip/deflate body
    MessageTooLarge
    ├── BodyTooLarge                    a body over max_body, read whole (stream=True reads on)
    └── DecompressionLimitExceeded      a decompression bomb (SECURITY.md K08)
    ResourceError (OSError)             a file: or ftp: URL that could not be read
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any

from wirekit.errors import (
    ConfigError,
    ConnectError,
    MessageTooLarge,
    ProtocolError,
    RemoteProtocolError,
    WirekitError,
)
from wirekit.proto.http import Headers

if TYPE_CHECKING:
    from wirekit.http.client.response import Response

__all__ = [
    "BodyTooLarge",
    "ContentDecodingError",
    "DecompressionLimitExceeded",
    "HTTPError",
    "InvalidRequest",
    "InvalidURL",
    "ProxyError",
    "RedirectError",
    "ResourceError",
    "TooManyRedirects",
    "UnsupportedScheme",
]


class InvalidRequest(ConfigError):
    """A method, header or body that cannot be sent safely; nothing reached the network."""


class InvalidURL(InvalidRequest):
    """A URL that cannot be parsed, or is ambiguous (``a@b@c``, ``[::1]x``, CR/LF/SP inside)."""


class UnsupportedScheme(InvalidURL):
    """A URL scheme this client does not fetch (or does not fetch in that context)."""


class ProxyError(ConnectError):
    """The proxy refused to open a tunnel (``status`` is its answer to ``CONNECT``)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "proxy error"


class HTTPError(ProtocolError):
    """The server answered with a 4xx or 5xx status.

    Carries ``status``, ``reason``, ``headers``, ``url`` and ``body`` (the decoded content, up
    to the session's ``max_error_body``), like ``urllib.error.HTTPError`` which it replaces;
    ``code``, ``read()`` and ``getcode()`` keep urllib-era code working.
    """

    def __init__(self, response: Response, body: bytes) -> None:
        self.response = response
        self.reason = response.reason
        self.headers: Headers = response.headers
        self.url = response.url
        self.body = body
        super().__init__(f"HTTP {response.status} {response.reason} ({response.url})",
                         status=response.status)

    @property
    def code(self) -> int:
        """``status`` (the urllib spelling)."""
        return self.status

    def getcode(self) -> int:
        """``status`` (urllib)."""
        return self.status

    def read(self) -> bytes:
        """``body`` (urllib's HTTPError was a file-like response too)."""
        return self.body

    @property
    def text(self) -> str:
        """``body`` decoded with the response's charset."""
        return self.body.decode(self.response.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        """``body`` parsed as JSON (APIs put their error details there)."""
        return _json.loads(self.body)

    def __reduce__(self):  # pragma: no cover - keeps pickling from calling __init__ wrongly
        return (ProtocolError, (str(self), self.status))


class RedirectError(RemoteProtocolError):
    """A redirect that will not be followed: an unsupported scheme, a body that cannot be
    sent again, a missing or malformed ``Location``."""


class TooManyRedirects(RedirectError):
    """More redirects than ``max_redirects`` (default 20); ``response`` is the last one."""

    def __init__(self, message: str, response: Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class ContentDecodingError(RemoteProtocolError):
    """The content could not be decoded as its ``Content-Encoding`` says."""


class BodyTooLarge(MessageTooLarge):
    """A response read whole (not ``stream=True``) is larger than the session's ``max_body``:
    raise the limit, pass ``max_body=None``, or stream it with ``stream=True``."""


class DecompressionLimitExceeded(MessageTooLarge):
    """The decoded content grew past ``max_decompressed`` (a decompression bomb, or a
    legitimately large download: raise the limit or pass ``decode_content=False``)."""


class ResourceError(WirekitError, OSError):
    """A ``file:`` or ``ftp:`` resource could not be read: missing, a directory, no
    permission, or an FTP error reply (``errno`` set when the OS gave one)."""

    def __str__(self) -> str:
        return self.strerror if self.strerror else super().__str__()
