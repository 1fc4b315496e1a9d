"""Socket options by name (course slide 1-37): ``{"reuse_address": True, "nodelay": True}``.

The table is data: each name maps to the ``(level, option)`` pair the kernel wants, so a typo
is an error that lists the valid names rather than a silent no-op.
"""

from __future__ import annotations

import socket

from wirekit.errors import ConfigError
from wirekit.net.oserrors import translating

__all__ = ["OPTIONS", "apply_options", "get_option", "set_option"]

OPTIONS: dict[str, tuple[int, int]] = {
    "reuse_address": (socket.SOL_SOCKET, socket.SO_REUSEADDR),
    "keepalive": (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    "broadcast": (socket.SOL_SOCKET, socket.SO_BROADCAST),
    "receive_buffer": (socket.SOL_SOCKET, socket.SO_RCVBUF),
    "send_buffer": (socket.SOL_SOCKET, socket.SO_SNDBUF),
    "nodelay": (socket.IPPROTO_TCP, socket.TCP_NODELAY),
}
if hasattr(socket, "SO_REUSEPORT"):
    OPTIONS["reuse_port"] = (socket.SOL_SOCKET, socket.SO_REUSEPORT)
if hasattr(socket, "IPV6_V6ONLY"):
    OPTIONS["ipv6_only"] = (socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)

_TCP_ONLY = {"nodelay"}


def _lookup(name: str) -> tuple[int, int]:
    try:
        return OPTIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown socket option {name!r}; known: {', '.join(sorted(OPTIONS))}"
        ) from None


def set_option(sock: socket.socket, name: str, value: int | bool) -> None:
    level, option = _lookup(name)
    with translating(f"setsockopt {name}"):
        sock.setsockopt(level, option, int(value))


def get_option(sock: socket.socket, name: str) -> int:
    level, option = _lookup(name)
    with translating(f"getsockopt {name}"):
        return sock.getsockopt(level, option)


def apply_options(sock: socket.socket, options: dict[str, int | bool]) -> None:
    """Set several options; TCP-only options are skipped on Unix and UDP sockets."""
    is_tcp = sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM
    for name, value in options.items():
        if name in _TCP_ONLY and not is_tcp:
            _lookup(name)
            continue
        set_option(sock, name, value)
