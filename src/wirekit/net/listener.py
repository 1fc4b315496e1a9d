"""``listen()``: a bound, listening socket that hands out :class:`Stream` objects.

``:8000`` listens on every interface, IPv6 and IPv4 together (a dual-stack socket) where the
machine has IPv6. Unix sockets are created with mode 0600 by default, a *stale* socket file left
by a crashed server is reclaimed, and a regular file at the path is never removed
(SECURITY.md N06, R05).
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConfigError, NetworkError
from wirekit.net.address import Address, AddressLike
from wirekit.net.options import apply_options
from wirekit.net.oserrors import translating
from wirekit.net.stream import Stream

__all__ = ["Listener", "bind_socket", "listen"]


class Listener:
    """A listening socket. ``address`` is the real bound address (port 0 resolved)."""

    def __init__(self, sock: socket.socket, *, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.socket = sock
        self.timeouts = timeouts
        self.limits = limits
        self.address = Address.from_sockaddr(sock.family, sock.getsockname())
        self._unix_inode = _inode(self.address.path) if self.address.is_unix else None

    def accept(self, timeout: float | None = None) -> Stream:
        """Wait for the next client. Waiting for a client has no natural end, so ``timeout``
        defaults to none; the accepted stream gets the listener's read/write timeouts."""
        with translating("accept", timeout):
            self.socket.settimeout(timeout)
            sock, _ = self.socket.accept()
        sock.setblocking(True)  # the Stream bounds each call with kernel timeouts
        return Stream(sock, timeouts=self.timeouts, limits=self.limits)

    def fileno(self) -> int:
        return self.socket.fileno()

    def forget_path(self) -> None:
        """In a forked worker: closing must not remove the Unix socket file the parent owns."""
        self._unix_inode = None

    def close(self) -> None:
        """Close; a Unix socket file is removed only if it is still the one we created."""
        self.socket.close()
        path = self.address.path
        if path and self._unix_inode is not None and _inode(path) == self._unix_inode:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Listener {self.address}>"


def listen(
    address: AddressLike,
    *,
    backlog: int | None = None,
    reuse_port: bool = False,
    mode: int = 0o600,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    limits: Limits = DEFAULT_LIMITS,
) -> Listener:
    """Bind and listen on ``address``.

    ``backlog`` defaults to ``limits.backlog`` (1024): connections beyond what a server is
    handling wait there instead of being refused. ``reuse_port`` lets several processes listen
    on one port (the kernel spreads connections between them). ``mode`` applies to Unix sockets.
    """
    sock = bind_socket(Address.of(address), socket.SOCK_STREAM, reuse_port=reuse_port, mode=mode)
    try:
        with translating("listen"):
            sock.listen(limits.backlog if backlog is None else backlog)
        return Listener(sock, timeouts=timeouts, limits=limits)
    except BaseException:
        sock.close()
        raise


def bind_socket(addr: Address, kind: int, *, reuse_port: bool = False, mode: int = 0o600
                ) -> socket.socket:
    """A socket of ``kind`` (stream or datagram) bound to ``addr``; shared with datagrams."""
    if addr.is_unix:
        return _bind_unix(addr.path or "", kind, mode)
    family, host = _bind_family(addr)
    sock = socket.socket(family, kind)
    try:
        options: dict[str, int | bool] = {"reuse_address": kind == socket.SOCK_STREAM}
        if reuse_port:
            options["reuse_port"] = True
        if family == socket.AF_INET6 and addr.host == "":
            options["ipv6_only"] = False  # dual stack: IPv4 clients arrive as ::ffff:a.b.c.d
        apply_options(sock, options)
        with translating(f"bind {addr}"):
            sock.bind((host, addr.port or 0))
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_family(addr: Address) -> tuple[int, str]:
    if addr.host == "":
        return (socket.AF_INET6, "::") if socket.has_ipv6 and _ipv6_works() else (
            socket.AF_INET, "0.0.0.0")
    if addr.family != socket.AF_UNSPEC:
        return addr.family, addr.host or ""
    with translating(f"resolve {addr.host}"):
        info = socket.getaddrinfo(addr.host, addr.port, 0, socket.SOCK_STREAM,
                                  flags=socket.AI_PASSIVE)
    return info[0][0], str(info[0][4][0])  # an IP address: getaddrinfo's sockaddr[0]


def _ipv6_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def _bind_unix(path: str, kind: int, mode: int) -> socket.socket:
    _reclaim_stale_socket(path, kind)
    sock = socket.socket(socket.AF_UNIX, kind)
    try:
        # Create with no permissions for others from the start, then set the asked mode.
        old_umask = os.umask(0o177)
        try:
            with translating(f"bind unix:{path}"):
                sock.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, mode)
    except BaseException:
        sock.close()
        raise
    return sock


def _reclaim_stale_socket(path: str, kind: int) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ConfigError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, kind)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)  # nobody is listening: a stale socket from a crashed server
        return
    except OSError as exc:  # busy (full backlog), another user's socket...: not ours to take
        raise NetworkError(f"unix:{path} exists and may be in use ({exc.strerror}); "
                           "not replacing it") from exc
    finally:
        probe.close()
    raise NetworkError(f"unix:{path} is in use by a running server")


def _inode(path: str | None) -> int | None:
    try:
        return os.lstat(path).st_ino if path else None
    except FileNotFoundError:
        return None
