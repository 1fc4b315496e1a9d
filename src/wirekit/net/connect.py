"""``connect()``: open a :class:`Stream` to a TCP, TLS or Unix address within one deadline."""

from __future__ import annotations

import socket
import sys
from typing import Any

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConnectError, LookupFailed, Timeout
from wirekit.net.address import Address, AddressLike
from wirekit.net.deadline import Deadline
from wirekit.net.options import apply_options
from wirekit.net.oserrors import translating
from wirekit.net.stream import DEFAULT, Stream, TimeoutArg, _Default, arm_kernel_timeout
from wirekit.net.tls import TLSLike, client_context

__all__ = ["connect"]

_KERNEL_CONNECT_TIMEOUT = sys.platform == "linux"


def connect(
    address: AddressLike,
    timeout: TimeoutArg = DEFAULT,
    *,
    tls: TLSLike = None,
    server_hostname: str | None = None,
    options: dict[str, int | bool] | None = None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    limits: Limits = DEFAULT_LIMITS,
) -> Stream:
    """Connect to ``address`` and return a :class:`Stream`.

    ``timeout`` bounds name resolution, connecting and the TLS handshake together (default
    ``timeouts.connect``). ``tls=True`` verifies the server against the system store;
    pass a :class:`~wirekit.config.TLSConfig` or an ``SSLContext`` to change that.
    TCP connections get ``TCP_NODELAY`` unless ``options`` says otherwise: request/response
    protocols should not wait for Nagle's algorithm.

    >>> with connect("example.org:80") as stream:             # doctest: +SKIP
    ...     stream.sendall(b"HEAD / HTTP/1.0\\r\\nHost: example.org\\r\\n\\r\\n")
    ...     status_line = stream.readline()
    """
    addr = Address.of(address)
    seconds = timeouts.connect if isinstance(timeout, _Default) else timeout
    deadline = Deadline(seconds)
    sock = (_open_unix(addr.path, deadline) if addr.path is not None
            else _open_tcp(addr, deadline, options))
    stream = Stream(sock, timeouts=timeouts, limits=limits)
    context = client_context(tls)
    if context is not None:
        hostname = server_hostname or (None if addr.is_unix else addr.host)
        try:
            stream.start_tls(context, server_hostname=hostname,
                             timeout=deadline.remaining("TLS handshake"))
        except BaseException:
            stream.close()
            raise
    return stream


def _open_unix(path: str, deadline: Deadline) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with translating("connect", deadline.seconds):
            sock.settimeout(deadline.remaining("connect"))
            sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def _open_tcp(addr: Address, deadline: Deadline, options: dict[str, int | bool] | None
              ) -> socket.socket:
    """Try each resolved address in order, sharing one deadline (RFC 8305 without racing)."""
    host = addr.host or "localhost"
    family = addr.family
    if family != socket.AF_UNSPEC and "%" not in host:
        # An IP literal: nothing to look up (getaddrinfo would cost a tenth of a connect).
        infos: list[tuple[Any, ...]] = [(family, socket.SOCK_STREAM, 0, "", (host, addr.port))]
    else:
        try:
            with translating("name lookup", deadline.seconds):
                infos = socket.getaddrinfo(host, addr.port, family, socket.SOCK_STREAM)
        except LookupFailed as exc:  # which name: "Name or service not known" is a riddle
            reason = getattr(exc.__cause__, "strerror", None) or exc.strerror
            raise LookupFailed(exc.errno, f"cannot resolve {host!r}: {reason}") from exc
        if not infos:
            raise LookupFailed(f"no address found for {addr.host!r}")
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if options:
                apply_options(sock, {"nodelay": True, **options})
            else:  # the usual case, without the generic table's lookups
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _bounded_connect(sock, sockaddr, deadline.remaining("connect"))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
            if deadline.expired:
                break
        except BaseException:
            sock.close()
            raise
    if isinstance(last, TimeoutError) or deadline.expired:
        raise Timeout(f"connect to {addr}", deadline.seconds) from last
    assert last is not None
    raise ConnectError(last.errno, f"cannot connect to {addr}: {last.strerror or last}") from last


def _bounded_connect(sock: socket.socket, sockaddr: Any, seconds: float | None) -> None:
    """Connect within ``seconds``. On Linux a blocking connect honours SO_SNDTIMEO (socket(7):
    EINPROGRESS when it expires), which saves the non-blocking connect, poll and mode
    switches of a Python timeout; the socket stays blocking, as a Stream wants it."""
    if not _KERNEL_CONNECT_TIMEOUT:
        sock.settimeout(seconds)
        sock.connect(sockaddr)
        return
    arm_kernel_timeout(sock, socket.SO_SNDTIMEO, seconds)
    try:
        sock.connect(sockaddr)
    except BlockingIOError:  # EINPROGRESS: the send timeout passed before the handshake
        raise TimeoutError("connect timed out") from None
