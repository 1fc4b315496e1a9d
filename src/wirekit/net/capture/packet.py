"""One captured packet: its bytes, when it was seen, and its layers decoded on first use.

Reading, filtering in the kernel and writing a file never decode anything; the layers are
decoded the first time one is asked for, all at once (one pass, offsets carried along), and the
result is kept on the packet. The upper layers (TCP options, the payload) stay bytes until they
are asked for. Decoding never raises: a header cut by the snap length or broken by its sender
ends the walk with a :class:`Truncated` or :class:`Malformed` marker in ``problem``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wirekit.net.capture.ip import IPv4, IPv6, decode_ipv4, decode_ipv6
from wirekit.net.capture.link import (
    ARP,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ETHERTYPE_RARP,
    Ethernet,
    LinkType,
    LinuxSLL,
    LinuxSLL2,
    decode_arp,
    decode_link,
)
from wirekit.net.capture.problems import Malformed, Truncated
from wirekit.net.capture.transport import ICMP, TCP, UDP, ICMPv6, decode_transport

__all__ = ["Decoded", "Packet", "decode"]

_PROBLEMS = (Truncated, Malformed)

Layer = (Ethernet | LinuxSLL | LinuxSLL2 | ARP | IPv4 | IPv6 | TCP | UDP | ICMP | ICMPv6
         | Truncated | Malformed)
#: link, network, transport, problem, network offset, transport offset, payload start and end
Decoded = tuple[Any, Any, Any, Any, int, int, int, int]


def decode(linktype: int, data: bytes) -> Decoded:  # noqa: PLR0911  # one exit per outcome
    """Walk the layers of ``data`` once; never raises."""
    end = len(data)
    link, kind, offset = decode_link(linktype, data)
    if type(link) in _PROBLEMS:
        return None, None, None, link, -1, -1, 0, end
    if kind in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        decoder = decode_ipv4 if kind == ETHERTYPE_IPV4 else decode_ipv6
        network, proto, start, end, problem = decoder(data, offset)
        if type(network) in _PROBLEMS:
            return link, None, None, network, offset, -1, offset, len(data)
        if proto < 0:
            return link, network, None, problem, offset, start, start, end
        transport, payload = decode_transport(proto, data, start, end)
        if type(transport) in _PROBLEMS:
            return link, network, None, transport, offset, start, start, end
        return link, network, transport, None, offset, start, payload, end
    if kind in (ETHERTYPE_ARP, ETHERTYPE_RARP):
        arp = decode_arp(data, offset, end)
        if type(arp) is Truncated:
            return link, None, None, arp, offset, -1, offset, end
        return link, arp, None, None, offset, -1, end, end
    return link, None, None, None, offset, -1, offset, end


@dataclass(frozen=True, slots=True)
class Packet:
    """A captured frame of ``linktype`` (see :class:`LinkType`), ``timestamp_ns`` nanoseconds
    after the epoch; ``wire_length`` is its length on the wire when the capture cut it
    (``None``: as captured)."""

    data: bytes
    timestamp_ns: int = 0
    wire_length: int | None = None
    linktype: int = LinkType.ETHERNET
    _decoded: Decoded | None = field(default=None, init=False, repr=False, compare=False)

    def _layers(self) -> Decoded:
        decoded = self._decoded
        if decoded is None:
            decoded = decode(self.linktype, self.data)
            object.__setattr__(self, "_decoded", decoded)
        return decoded

    @property
    def timestamp(self) -> float:
        """Seconds since the epoch, as ``time.time()`` gives them."""
        return self.timestamp_ns / 1e9

    @property
    def length(self) -> int:
        """The length on the wire (``len(data)`` unless the snap length cut the frame)."""
        return len(self.data) if self.wire_length is None else self.wire_length

    @property
    def link(self) -> Ethernet | LinuxSLL | LinuxSLL2 | None:
        return self._layers()[0]

    @property
    def network(self) -> IPv4 | IPv6 | ARP | None:
        return self._layers()[1]

    @property
    def transport(self) -> TCP | UDP | ICMP | ICMPv6 | None:
        return self._layers()[2]

    @property
    def problem(self) -> Truncated | Malformed | None:
        """Why decoding stopped early, if it did."""
        return self._layers()[3]

    @property
    def payload(self) -> bytes:
        """What follows the last decoded header (application data for TCP and UDP)."""
        decoded = self._layers()
        return self.data[decoded[6]:decoded[7]]

    @property
    def layers(self) -> tuple[Layer, ...]:
        link, network, transport, problem = self._layers()[:4]
        return tuple(x for x in (link, network, transport, problem) if x is not None)

    @property
    def ip(self) -> IPv4 | IPv6 | None:
        network = self._layers()[1]
        return network if type(network) is IPv4 or type(network) is IPv6 else None

    @property
    def arp(self) -> ARP | None:
        network = self._layers()[1]
        return network if type(network) is ARP else None

    @property
    def tcp(self) -> TCP | None:
        transport = self._layers()[2]
        return transport if type(transport) is TCP else None

    @property
    def udp(self) -> UDP | None:
        transport = self._layers()[2]
        return transport if type(transport) is UDP else None

    @property
    def icmp(self) -> ICMP | ICMPv6 | None:
        transport = self._layers()[2]
        return transport if type(transport) is ICMP or type(transport) is ICMPv6 else None

    def summary(self) -> str:
        """One tcpdump-style line without the time: addresses, ports, flags, lengths."""
        from wirekit.net.capture.summary import summarize

        return summarize(self)

    def as_dict(self) -> dict[str, Any]:
        """Every decoded field, JSON-ready (``wirekit sniff --json``)."""
        from wirekit.net.capture.summary import packet_dict

        return packet_dict(self)

    def hexdump(self) -> str:
        """The bytes as ``tcpdump -X`` shows them: offset, 16 bytes in hex, and ASCII."""
        from wirekit.net.capture.summary import hexdump

        return hexdump(self.data)

    def __str__(self) -> str:
        from wirekit.net.capture.summary import clock

        return f"{clock(self.timestamp_ns)} {self.summary()}"
