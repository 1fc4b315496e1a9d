"""The one boundary where raw ``OSError`` and ``ssl`` errors become wirekit errors.

Code above the socket layer catches wirekit's tree only (DESIGN.md principle 6); this module is
the single place that knows which errno means what.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from wirekit.errors import (
    ConnectError,
    ConnectionClosed,
    LookupFailed,
    NetworkError,
    Timeout,
    TLSError,
    WirekitError,
)

__all__ = ["translate", "translating"]

_CLOSED_ERRNOS = {
    errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN, errno.ESHUTDOWN,
}


def translate(  # noqa: PLR0911 - one return per kind of failure reads best as a table
    exc: BaseException, phase: str, seconds: float | None = None
) -> WirekitError:
    """Return the wirekit error for ``exc`` raised while doing ``phase``."""
    if isinstance(exc, WirekitError):
        return exc
    if isinstance(exc, TimeoutError | socket.timeout | ssl.SSLWantReadError
                  | ssl.SSLWantWriteError):
        return Timeout(phase, seconds)  # a TLS record that did not complete in time
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        return TLSError(f"TLS error during {phase}: {reason}")
    if isinstance(exc, socket.gaierror):
        return LookupFailed(exc.errno, f"cannot resolve during {phase}: {exc.strerror}")
    if isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        if phase == "connect":
            return ConnectError(exc.errno, f"cannot connect: {text}")
        if exc.errno in _CLOSED_ERRNOS:
            return ConnectionClosed(exc.errno, f"connection closed by peer during {phase}: {text}")
        return NetworkError(exc.errno, f"{phase} failed: {text}")
    return NetworkError(f"{phase} failed: {exc!r}")


@contextmanager
def translating(phase: str, seconds: float | None = None) -> Iterator[None]:
    """``with translating("read"):`` re-raises socket errors as wirekit errors."""
    try:
        yield
    except WirekitError:
        raise
    except (OSError, ssl.SSLError) as exc:
        raise translate(exc, phase, seconds) from exc
