"""Packet capture's errors, as branches of wirekit's one tree (``wirekit.errors``)::

    ConfigError (ValueError)
    └── InvalidFilter                   a filter expression that does not parse or compile
    NetworkError (OSError)
    └── CaptureError                    the capture socket failed (no such interface, ...)
        └── CapturePermissionError (PermissionError)
                                        AF_PACKET needs root or CAP_NET_RAW (packet(7))
    CaptureFileError (ValueError)       a file that is not pcap or pcapng, or is cut in a header

A packet that is truncated or malformed is *not* an error: it is decoded as far as it goes and
carries a :class:`~wirekit.net.capture.problems.Truncated` or ``Malformed`` marker, because a
sniffer exists to show broken traffic, not to stop at it.
"""

from __future__ import annotations

from wirekit.errors import ConfigError, NetworkError, WirekitError

__all__ = ["CaptureError", "CaptureFileError", "CapturePermissionError", "InvalidFilter"]


class InvalidFilter(ConfigError):
    """A filter expression that does not parse (``position`` is the offending character) or
    cannot be compiled for the link type."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class CaptureError(NetworkError):
    """Capturing on an interface failed: no such interface, the kernel refused the filter..."""


class CapturePermissionError(CaptureError, PermissionError):
    """Opening an ``AF_PACKET`` socket needs root or the ``CAP_NET_RAW`` capability."""


class CaptureFileError(WirekitError, ValueError):
    """A capture file that is not pcap or pcapng, or whose file header is cut short."""
