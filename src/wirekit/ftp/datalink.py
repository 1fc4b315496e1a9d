"""FTP data connections: opened to the server (passive) or accepted from it (active), under TLS
when PROT P is in force, and moved through in flat memory.

Passive mode connects to the *control connection's peer* and the port the server named,
never to the address in a 227 reply: that address is the server's (or a rewriter's) to choose,
and following it lets a hostile server turn the client into a port scanner of the client's own
network (CVE-2021-4189, SECURITY.md F01; ftplib does the same since 3.11's hardening). Active
mode listens on the control connection's local address and accepts a connection only from the
control connection's peer; any other is closed and the wait goes on.

A data connection under TLS resumes the control connection's TLS session (RFC 4217 §10.2:
servers such as vsftpd with ``require_ssl_reuse`` refuse a data connection that does not, as
proof that it comes from the same client). Reads go into one preallocated buffer and writes
come from it or from ``sendfile(2)``, so a 1 GiB transfer holds one block in memory.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from typing import BinaryIO, Final

from wirekit.errors import ConnectError, Timeout
from wirekit.net.deadline import Deadline
from wirekit.net.oserrors import translate

__all__ = ["BLOCK", "DataConnection", "accept_data", "connect_data", "listen_data", "secure"]

#: Bytes moved per system call: large enough that a 1 GiB transfer takes 4,096 calls, small
#: enough to stay in the CPU cache (ftplib's default of 8 KiB costs 16x the calls).
BLOCK: Final = 256 * 1024
_DATA_CONNECTION = "FTP data connection"
_TRANSFER = "FTP data transfer"


def connect_data(host: str, port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the server's data port (passive mode)."""
    try:
        sock = socket.create_connection((host, port), timeout)
    except OSError as exc:
        error = translate(exc, "connect", timeout)
        if isinstance(error, Timeout):
            raise Timeout(f"{_DATA_CONNECTION} to {host} port {port}", timeout) from exc
        if isinstance(error, ConnectError):
            raise ConnectError(exc.errno, f"cannot open the {_DATA_CONNECTION} to {host} port "
                                          f"{port}: {exc.strerror or exc}") from exc
        raise error from exc
    return sock


def listen_data(local_host: str) -> socket.socket:
    """A listening socket for active mode, on the control connection's local address."""
    family = socket.AF_INET6 if ":" in local_host else socket.AF_INET
    try:
        return socket.create_server((local_host, 0), family=family, backlog=1)
    except OSError as exc:
        raise translate(exc, "listen for the FTP data connection") from exc


def accept_data(listener: socket.socket, server_host: str, timeout: float | None
                ) -> socket.socket:
    """The server's connection to ``listener`` (active mode); connections from any other
    host are closed unread (SECURITY.md F01)."""
    deadline = Deadline(timeout)
    expected = _ip(server_host)
    while True:
        try:
            listener.settimeout(deadline.remaining(_DATA_CONNECTION))
            sock, address = listener.accept()
        except TimeoutError as exc:
            raise Timeout(f"{_DATA_CONNECTION} (the server never connected)", timeout) from exc
        except OSError as exc:
            raise translate(exc, _DATA_CONNECTION, timeout) from exc
        if _ip(address[0]) == expected:
            return sock
        sock.close()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(host.partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def secure(sock: socket.socket, context: ssl.SSLContext, hostname: str,
           session: ssl.SSLSession | None, timeout: float | None) -> ssl.SSLSocket:
    """``sock`` under TLS, resuming ``session``; the certificate is checked as the control
    connection's was."""
    try:
        sock.settimeout(timeout)
        return context.wrap_socket(sock, server_hostname=hostname, session=session)
    except (OSError, ValueError) as exc:
        sock.close()
        raise translate(exc, f"TLS handshake on the {_DATA_CONNECTION}", timeout) from exc


class DataConnection:
    """One data connection: ``readinto`` until it returns 0, or ``sendall``/``sendfile`` then
    ``close``. ``timeout`` bounds each wait for the peer (a stalled transfer is a
    :class:`Timeout` naming the data transfer), not the whole transfer."""

    __slots__ = ("sock", "timeout")

    def __init__(self, sock: socket.socket, timeout: float | None) -> None:
        self.sock = sock
        self.timeout = timeout
        sock.settimeout(timeout)

    @property
    def is_tls(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    @property
    def session_reused(self) -> bool:
        """Under TLS: the control connection's session was resumed (RFC 4217 §10.2)."""
        return isinstance(self.sock, ssl.SSLSocket) and bool(self.sock.session_reused)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        try:
            return self.sock.recv_into(buffer)
        except OSError as exc:
            raise translate(exc, _TRANSFER, self.timeout) from exc

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise translate(exc, _TRANSFER, self.timeout) from exc

    def sendfile(self, file: BinaryIO, offset: int, count: int) -> int:
        """Up to ``count`` bytes of ``file`` from ``offset`` by ``sendfile(2)`` (plain
        connections; the caller falls back to reads and ``sendall`` under TLS)."""
        try:
            return self.sock.sendfile(file, offset, count)
        except OSError as exc:
            raise translate(exc, _TRANSFER, self.timeout) from exc

    def close(self, *, graceful: bool = False) -> None:
        """Close; ``graceful`` ends TLS with a close_notify first, so the server can tell a
        finished upload from a cut one (RFC 4217 §12.1)."""
        sock = self.sock
        try:
            if graceful and isinstance(sock, ssl.SSLSocket):
                sock.unwrap()
        except (OSError, ValueError) as exc:
            raise translate(exc, _TRANSFER, self.timeout) from exc
        finally:
            sock.close()
