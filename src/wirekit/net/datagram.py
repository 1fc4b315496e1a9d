"""Datagrams over UDP and Unix datagram sockets (course slides 1-41..1-44).

A datagram arrives whole or not at all, so there is no framing; what can go wrong instead is a
datagram larger than the receive buffer, which the kernel silently truncates. ``receive`` asks
the kernel (``MSG_TRUNC``) and raises :class:`MessageTooLarge` rather than hand out a cut one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, TypedDict, Unpack

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS
from wirekit.errors import MessageTooLarge
from wirekit.net.address import Address, AddressLike
from wirekit.net.listener import bind_socket
from wirekit.net.oserrors import translating

__all__ = ["Datagram", "DatagramEndpoint"]


@dataclass(frozen=True, slots=True)
class Datagram:
    data: bytes
    sender: Address


class _EndpointOptions(TypedDict, total=False):
    """The keyword options ``bind`` and ``connect`` pass on to the constructor."""

    max_size: int
    timeout: float | None


class DatagramEndpoint:
    """One datagram socket. Make one with :meth:`bind` (a server) or :meth:`connect` (a client).

    >>> server = DatagramEndpoint.bind("127.0.0.1:0")
    >>> client = DatagramEndpoint.connect(server.address)
    >>> client.send(b"ping")
    >>> server.receive().data
    b'ping'
    >>> client.close(); server.close()
    """

    def __init__(self, sock: socket.socket, *, max_size: int = DEFAULT_LIMITS.max_datagram,
                 timeout: float | None = DEFAULT_TIMEOUTS.read, owned_path: str | None = None
                 ) -> None:
        self.socket = sock
        self.max_size = max_size
        self.timeout = timeout
        self._owned_path = owned_path

    @classmethod
    def bind(cls, address: AddressLike, *, mode: int = 0o600,
             **kwargs: Unpack[_EndpointOptions]) -> DatagramEndpoint:
        addr = Address.of(address)
        sock = bind_socket(addr, socket.SOCK_DGRAM, mode=mode)
        return cls(sock, owned_path=addr.path, **kwargs)

    @classmethod
    def connect(cls, address: AddressLike, **kwargs: Unpack[_EndpointOptions]
                ) -> DatagramEndpoint:
        """A client socket aimed at ``address``. A Unix client binds a private temporary path
        so the server has somewhere to send replies."""
        addr = Address.of(address)
        owned = None
        target: str | tuple[Any, ...]
        if addr.path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            owned = os.path.join(tempfile.mkdtemp(prefix="wirekit-"), "client.sock")
            sock.bind(owned)
            target = addr.path
        else:
            with translating(f"resolve {addr.host}"):
                family, kind, proto, _, target = socket.getaddrinfo(
                    addr.host or "localhost", addr.port, addr.family, socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, kind, proto)
        with translating("connect"):
            sock.connect(target)
        return cls(sock, owned_path=owned, **kwargs)

    @property
    def address(self) -> Address:
        return Address.from_sockaddr(self.socket.family, self.socket.getsockname())

    def send(self, data: bytes) -> None:
        """Send to the connected peer."""
        self._check_size(data)
        with translating("send"):
            self.socket.send(data)

    def send_to(self, data: bytes, address: AddressLike) -> None:
        self._check_size(data)
        addr = Address.of(address)
        with translating("send"):
            self.socket.sendto(data, addr.path if addr.path is not None else (addr.host, addr.port))

    def receive(self, timeout: float | EllipsisType | None = ...) -> Datagram:
        """The next datagram. Raises :class:`Timeout` after ``timeout`` (default: the
        endpoint's) and :class:`MessageTooLarge` for a datagram above ``max_size``."""
        seconds = self.timeout if timeout is ... else timeout
        with translating("receive", seconds):
            self.socket.settimeout(seconds)
            data, _, flags, sender = self.socket.recvmsg(self.max_size + 1)
        if flags & socket.MSG_TRUNC or len(data) > self.max_size:
            raise MessageTooLarge(
                f"datagram larger than the maximum of {self.max_size} bytes dropped",
                limit="max_datagram",
            )
        return Datagram(data, Address.from_sockaddr(self.socket.family, sender))

    def close(self) -> None:
        self.socket.close()
        if self._owned_path:
            with contextlib.suppress(OSError):
                os.unlink(self._owned_path)
            if os.path.basename(self._owned_path) == "client.sock":
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.dirname(self._owned_path))

    def __enter__(self) -> DatagramEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_size(self, data: bytes) -> None:
        if len(data) > self.max_size:
            raise MessageTooLarge(f"datagram of {len(data)} bytes > maximum {self.max_size}")
