"""Network addresses as values: parse once, format back, hand to the socket layer.

Accepted forms (what a person types on a command line):

====================  ==========================================
``host:port``         ``example.org:80``, ``127.0.0.1:8000``
``[v6]:port``         ``[::1]:8080`` (brackets required with a port)
``:port``             all interfaces, ``:8000``
``host``              only where the caller supplies a default port
``unix:/path``        a Unix domain socket (``unix:`` + a path)
====================  ==========================================

Port 0 asks the kernel for a free port.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any

from wirekit.errors import InvalidAddress

__all__ = ["Address", "AddressLike"]

# RFC 1123 host names plus underscores (seen in service records); IP literals are checked apart.
_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?:\.(?!-)[A-Za-z0-9_-]{1,63})*\.?$")
_PORT = re.compile(r"^[0-9]{1,5}$")


def _parse_port(text: str, original: str) -> int:
    if not _PORT.match(text) or int(text) > 65535:
        raise InvalidAddress(f"invalid port {text!r} in address {original!r} (0-65535)")
    return int(text)


def _check_host(host: str, original: str) -> str:
    if host == "" or _HOSTNAME.match(host):
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise InvalidAddress(f"invalid host {host!r} in address {original!r}") from None


@dataclass(frozen=True, slots=True)
class Address:
    """A TCP/UDP endpoint (``host``, ``port``) or a Unix socket (``path``).

    ``host == ""`` means all interfaces (for binding). Build one with :meth:`parse` or
    :meth:`of`; ``str(address)`` gives back the canonical text form.
    """

    host: str | None = None
    port: int | None = None
    path: str | None = None

    @classmethod
    def parse(cls, text: str, default_port: int | None = None) -> Address:
        """Parse ``host:port``, ``[::1]:port``, ``:port``, ``unix:/path`` (or a bare host)."""
        if not isinstance(text, str):
            raise InvalidAddress(f"an address must be a string, got {type(text).__name__}")
        original = text
        text = text.strip()
        if any(ord(c) < 0x21 or c == "\x7f" for c in text) or not text:
            raise InvalidAddress(f"invalid address {original!r}")
        if text.startswith("unix:"):
            path = text[5:]
            if not path or path.startswith("@"):
                raise InvalidAddress(
                    f"invalid Unix socket address {original!r}: expected unix:/path/to/socket"
                )
            return cls(path=path)
        if text.startswith("["):
            return cls._parse_bracketed(text, original, default_port)
        if text.count(":") > 1:
            # A bare IPv6 literal: only unambiguous when the caller gives the port.
            if default_port is None:
                raise InvalidAddress(
                    f"write IPv6 addresses with a port as [addr]:port: {original!r}"
                )
            return cls(_check_host(text, original), default_port)
        host, sep, port = text.partition(":")
        if not sep:
            if default_port is None:
                raise InvalidAddress(f"missing port in address {original!r} (expected host:port)")
            return cls(_check_host(host, original), default_port)
        return cls(_check_host(host, original), _parse_port(port, original))

    @classmethod
    def _parse_bracketed(cls, text: str, original: str, default_port: int | None) -> Address:
        end = text.find("]")
        if end < 0:
            raise InvalidAddress(f"missing ']' in address {original!r}")
        host, rest = text[1:end], text[end + 1 :]
        if ":" not in host:
            raise InvalidAddress(f"brackets are only for IPv6 addresses: {original!r}")
        host = _check_host(host, original)
        if rest == "" and default_port is not None:
            return cls(host, default_port)
        if not rest.startswith(":"):
            raise InvalidAddress(f"expected [IPv6]:port, got {original!r}")
        return cls(host, _parse_port(rest[1:], original))

    @classmethod
    def of(cls, value: AddressLike, default_port: int | None = None) -> Address:
        """Accept an ``Address``, a string, a ``(host, port)`` tuple or a Unix path tuple."""
        if isinstance(value, Address):
            return value
        if isinstance(value, str):
            return cls.parse(value, default_port)
        if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], int):
            host = str(value[0])
            return cls(_check_host(host, repr(value)), _parse_port(str(value[1]), repr(value)))
        raise InvalidAddress(f"cannot use {value!r} as an address")

    @classmethod
    def from_sockaddr(cls, family: int, sockaddr: Any) -> Address:
        """Build an address from what ``accept``/``recvfrom``/``getsockname`` return."""
        if family == getattr(socket, "AF_UNIX", None):
            path = sockaddr.decode() if isinstance(sockaddr, bytes) else sockaddr
            return cls(path=path or "")
        host, port = sockaddr[0], sockaddr[1]
        if host.startswith("::ffff:") and "." in host:
            host = host[7:]  # IPv4 client on a dual-stack listener
        return cls(host, port)

    @property
    def is_unix(self) -> bool:
        return self.path is not None

    @property
    def is_ipv6(self) -> bool:
        return self.host is not None and ":" in self.host

    @property
    def family(self) -> int:
        """The socket family to use; a host name maps to AF_UNSPEC (resolved later)."""
        if self.is_unix:
            return socket.AF_UNIX
        host = self.host or ""
        for family in (socket.AF_INET, socket.AF_INET6):  # a C parse, not ipaddress's
            try:
                socket.inet_pton(family, host)
            except OSError:
                continue
            return family
        if "%" not in host:
            return socket.AF_UNSPEC
        try:  # an IPv6 scope (fe80::1%eth0), which only ipaddress reads
            ip = ipaddress.ip_address(host)
        except ValueError:
            return socket.AF_UNSPEC
        return socket.AF_INET6 if ip.version == 6 else socket.AF_INET

    def with_port(self, port: int) -> Address:
        return Address(self.host, port)

    def __str__(self) -> str:
        if self.is_unix:
            return f"unix:{self.path}"
        host = f"[{self.host}]" if self.is_ipv6 else (self.host or "")
        return f"{host}:{self.port}"


AddressLike = Address | str | tuple
