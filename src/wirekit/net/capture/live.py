"""Live capture on an interface with an ``AF_PACKET`` socket (packet(7); course slide 1-45).

The slide's sniffer is ``socket(AF_PACKET, SOCK_DGRAM)`` and ``recvfrom``; this is the same
socket grown into what tcpdump does with it:

* ``SOCK_RAW`` on Ethernet and loopback, so frames keep their link header (LINKTYPE_ETHERNET);
  ``SOCK_DGRAM`` on ``any`` and other links, with a Linux cooked v2 header (LINKTYPE_LINUX_SLL2)
  rebuilt from the address the kernel returns, as libpcap does;
* the filter compiled to BPF and attached before the socket is bound to its interface, with a
  reject-everything program in between and the queue drained, so no unfiltered packet leaks
  in;
* on loopback every packet is seen twice, leaving and arriving: the kernel filter drops the
  outgoing copy (``SKF_AD_PKTTYPE``), as libpcap drops it in user space;
* ``MSG_TRUNC`` for the length on the wire, ``SO_TIMESTAMPNS`` for the kernel's nanosecond
  timestamp, ``PACKET_STATISTICS`` for what the kernel dropped because the socket's buffer was
  full (reading them resets them, so they are summed here).

Without root or ``CAP_NET_RAW`` the socket cannot be opened: :class:`CapturePermissionError`.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wirekit.net.capture.bpf import KERNEL_COOKED, Instruction, attach, compile_filter
from wirekit.net.capture.errors import CaptureError, CapturePermissionError
from wirekit.net.capture.filter import Filter
from wirekit.net.capture.link import LinkType
from wirekit.net.capture.packet import Packet
from wirekit.net.capture.pcap import DEFAULT_SNAPLEN

__all__ = ["CaptureStats", "LiveCapture", "capture"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, PACKET_STATISTICS = 1, 1, 6
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_RAW_HATYPES = (1, 772)  # ARPHRD_ETHER, ARPHRD_LOOPBACK: frames carry an Ethernet header
_SLL2 = struct.Struct("!HxxIHBB8s")
_TIMESPEC = struct.Struct("=qq")


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """``captured``: packets handed out; ``received``: packets the kernel filter accepted;
    ``dropped``: accepted ones the kernel dropped because the socket's buffer was full."""

    captured: int
    received: int
    dropped: int

    def __str__(self) -> str:
        return (f"{self.captured} packets captured\n{self.received} packets received by "
                f"filter\n{self.dropped} packets dropped by kernel")


def _interface_index(name: str) -> int:
    if name == "any":
        return 0
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise CaptureError(errno.ENODEV, f"no such interface: {name!r} (see 'ip link')") from None


def _loopback_index() -> int | None:
    try:
        return socket.if_nametoindex("lo")
    except OSError:  # a system without "lo": nothing to skip
        return None


def _hardware_type(name: str) -> int:
    try:
        return int(Path(f"/sys/class/net/{name}/type").read_text())
    except (OSError, ValueError):
        return 1


def _open_socket(kind: int) -> socket.socket:
    family = getattr(socket, "AF_PACKET", None)
    if family is None:
        raise CaptureError(errno.EAFNOSUPPORT, "packet capture needs Linux (AF_PACKET)")
    try:
        return socket.socket(family, kind, socket.htons(ETH_P_ALL))
    except PermissionError as exc:
        raise CapturePermissionError(
            exc.errno, "capturing packets needs root or CAP_NET_RAW "
            "(the kernel refused socket(AF_PACKET))") from exc
    except OSError as exc:
        raise CaptureError(exc.errno, f"cannot open a packet socket: {exc.strerror}") from exc


class LiveCapture:
    """An open capture on ``interface`` (``"any"`` for all). Iterate it for packets; it is
    open (and filtering) from construction, so traffic sent afterwards is seen.

    ``count`` and ``timeout`` (seconds, for the whole iteration) end the iteration, which
    then closes the socket; :attr:`stats` stays readable."""

    def __init__(self, interface: str = "any", expression: str | Filter = "", *,
                 count: int | None = None, timeout: float | None = None,
                 snaplen: int = DEFAULT_SNAPLEN, promiscuous: bool = False,
                 buffer_size: int | None = None) -> None:
        self.interface, self.count, self.timeout, self.snaplen = interface, count, timeout, \
            snaplen
        self.filter = expression if isinstance(expression, Filter) else Filter(expression)
        self._index = _interface_index(interface)
        self._cooked = interface == "any" or _hardware_type(interface) not in _RAW_HATYPES
        self.linktype = LinkType.LINUX_SLL2 if self._cooked else LinkType.ETHERNET
        loopback = _loopback_index() if interface in ("lo", "any") else None
        # The kernel keeps whole packets (a smaller accept value would cut the skb, and
        # MSG_TRUNC would then report the cut length); the receive buffer applies snaplen.
        self.program: list[Instruction] = compile_filter(
            self.filter.tree, KERNEL_COOKED if self._cooked else LinkType.ETHERNET,
            DEFAULT_SNAPLEN, skip_outgoing_ifindex=loopback)
        self._captured = self._received = self._dropped = 0
        self._sock = _open_socket(socket.SOCK_DGRAM if self._cooked else socket.SOCK_RAW)
        try:
            self._setup(promiscuous, buffer_size)
        except BaseException:
            self._sock.close()
            raise
        self._buffer = bytearray(max(snaplen, 1))
        self._view = memoryview(self._buffer)
        self._received = self._dropped = 0  # what the reject-all program counted is not ours
        self._names: dict[str, int] = {}
        self.closed = False

    def _setup(self, promiscuous: bool, buffer_size: int | None) -> None:
        sock = self._sock
        attach(sock, [Instruction(0x06, 0, 0, 0)])  # reject everything until bound
        if self._index:
            sock.bind((self.interface, ETH_P_ALL))
        sock.setblocking(False)
        try:
            while True:
                sock.recv(1)
        except BlockingIOError:
            pass
        attach(sock, self.program)
        sock.setblocking(True)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if buffer_size:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_size)
        if promiscuous and self._index:
            membership = struct.pack("iHH8s", self._index, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, membership)
        self._read_kernel_stats()  # resets the kernel's counters

    def fileno(self) -> int:
        return self._sock.fileno()

    def _read_kernel_stats(self) -> None:
        raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        packets, drops = struct.unpack("II", raw)
        self._received += packets
        self._dropped += drops

    @property
    def stats(self) -> CaptureStats:
        """Counts so far (the kernel's are read, and summed, on each call while open)."""
        if not self.closed:
            self._read_kernel_stats()
        return CaptureStats(self._captured, self._received, self._dropped)

    def next_packet(self, timeout: float | None = None) -> Packet | None:
        """The next packet, or ``None`` if none came within ``timeout`` seconds."""
        self._sock.settimeout(timeout)
        while True:
            try:
                size, ancillary, _, address = self._sock.recvmsg_into(
                    [self._buffer], 64, socket.MSG_TRUNC)
            except TimeoutError:
                return None
            if address[2] == PACKET_OUTGOING and address[0] == "lo":
                continue  # the kernel filter drops these; kept for kernels without SKF_AD
            stamp = time.time_ns()
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                    seconds, nanos = _TIMESPEC.unpack_from(data)
                    stamp = seconds * 1_000_000_000 + nanos
            data = bytes(self._view[:min(size, len(self._buffer))])
            self._captured += 1
            if self._cooked:
                return Packet(self._cooked_header(address) + data, stamp, size + 20,
                              self.linktype)
            return Packet(data, stamp, size, self.linktype)

    def _cooked_header(self, address: tuple[str, int, int, int, bytes]) -> bytes:
        name, protocol, pkttype, hatype, hwaddr = address
        index = self._names.get(name)
        if index is None:
            index = self._names[name] = _interface_index(name)
        return _SLL2.pack(protocol, index, hatype, pkttype, len(hwaddr), hwaddr)

    def __iter__(self) -> Iterator[Packet]:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        seen = 0
        try:
            while self.count is None or seen < self.count:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                packet = self.next_packet(left)
                if packet is None:
                    return
                seen += 1
                yield packet
        finally:
            self.close()

    def close(self) -> None:
        """Read the final statistics and close the socket (idempotent)."""
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self._read_kernel_stats()
        self.closed = True
        self._sock.close()

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def capture(interface: str = "any", expression: str | Filter = "", *,
            count: int | None = None, timeout: float | None = None,
            snaplen: int = DEFAULT_SNAPLEN, promiscuous: bool = False) -> LiveCapture:
    """Open a capture and return it, ready to iterate::

        for packet in capture("lo", "tcp port 8000", count=10):
            print(packet)

    It filters in the kernel from the moment it returns; ``with capture(...) as cap:`` lets
    a program start its traffic after opening and before reading."""
    return LiveCapture(interface, expression, count=count, timeout=timeout, snaplen=snaplen,
                       promiscuous=promiscuous)
