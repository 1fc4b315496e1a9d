"""Name and service lookups (course slide 1-53), IPv4 and IPv6 alike.

Thin, typed wrappers over the resolver that return plain values and raise
:class:`LookupFailed` with the name that failed, instead of ``socket.gaierror`` codes.
"""

from __future__ import annotations

import ipaddress
import socket

from wirekit.errors import LookupFailed

__all__ = ["hostname", "is_ip", "resolve", "reverse", "service_name", "service_port"]


def hostname() -> str:
    """This machine's host name."""
    return socket.gethostname()


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def resolve(name: str, family: int = socket.AF_UNSPEC) -> list[str]:
    """Every address of ``name`` (IPv6 and IPv4 unless ``family`` narrows it), in the order
    the resolver prefers, without duplicates."""
    try:
        infos = socket.getaddrinfo(name, None, family, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupFailed(f"cannot resolve {name!r}: {getattr(exc, 'strerror', exc)}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def reverse(ip: str) -> tuple[str, list[str]]:
    """The name registered for an address and its aliases (a PTR lookup or /etc/hosts)."""
    if not is_ip(ip):
        raise LookupFailed(f"{ip!r} is not an IP address")
    try:
        name, aliases, _ = socket.gethostbyaddr(ip)
    except (socket.herror, socket.gaierror) as exc:
        raise LookupFailed(f"no name for {ip}: {exc.strerror or exc}") from exc
    return name, aliases


def service_port(name: str, protocol: str = "tcp") -> int:
    """The port of a service from the system's services database: ``"http"`` -> 80."""
    try:
        return socket.getservbyname(name, protocol)
    except OSError as exc:
        raise LookupFailed(f"unknown {protocol} service {name!r}") from exc


def service_name(port: int, protocol: str = "tcp") -> str:
    """The service registered for a port: 25 -> ``"smtp"``."""
    try:
        return socket.getservbyport(port, protocol)
    except (OSError, OverflowError) as exc:
        raise LookupFailed(f"no {protocol} service registered for port {port}") from exc
