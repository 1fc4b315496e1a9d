"""The network layer: IPv4 with options and fragments, IPv6 with its extension headers.

Decoders take the whole frame and the offset where the header starts, and return the header
(or a problem marker), the upper-layer protocol to decode next (``-1`` when there is nothing
to decode: a later fragment, ESP, an unknown header), and where the upper layer starts and ends.
The end comes from the header's own length field, so Ethernet padding (frames below 60 bytes)
is never taken for payload; a header that claims more than was captured is cut by the snap
length, not malformed.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from wirekit.net.capture.frozen import builder
from wirekit.net.capture.problems import Malformed, Truncated

__all__ = ["IPOption", "IPv4", "IPv6", "IPv6Extension", "decode_ipv4", "decode_ipv6",
           "protocol_name"]

_PROTOCOLS = {0: "HOPOPT", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 41: "IPv6",
              43: "IPv6-Route", 44: "IPv6-Frag", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6",
              59: "IPv6-NoNxt", 60: "IPv6-Opts", 89: "OSPF", 103: "PIM", 112: "VRRP",
              132: "SCTP"}


def protocol_name(number: int) -> str:
    """IANA's keyword for an IP protocol number (``6`` -> ``TCP``)."""
    return _PROTOCOLS.get(number, f"ip-proto-{number}")


_IP_OPTIONS = {0: "EOL", 1: "NOP", 7: "RR", 68: "TS", 130: "SEC", 131: "LSRR", 137: "SSRR",
               148: "RA"}


@dataclass(frozen=True, slots=True)
class IPOption:
    """One IPv4 option (RFC 791 section 3.1): its type and the bytes after the length."""

    type: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return _IP_OPTIONS.get(self.type, f"opt-{self.type}")

    def __str__(self) -> str:
        return self.name if not self.data else f"{self.name} {self.data.hex()}"


def _parse_ip_options(raw: bytes) -> tuple[IPOption, ...]:
    """Type-length-value options; EOL ends them, a bad length ends them quietly."""
    found, at = [], 0
    while at < len(raw):
        kind = raw[at]
        if kind == 0:
            found.append(IPOption(0))
            break
        if kind == 1:
            found.append(IPOption(1))
            at += 1
            continue
        if at + 1 >= len(raw) or raw[at + 1] < 2 or at + raw[at + 1] > len(raw):
            break  # a malformed option: what came before is still shown
        found.append(IPOption(kind, raw[at + 2:at + raw[at + 1]]))
        at += raw[at + 1]
    return tuple(found)


@dataclass(frozen=True, slots=True)
class IPv4:
    """An IPv4 header (RFC 791). ``fragment_offset`` is in bytes (the field times 8);
    ``flags`` holds the three flag bits (0b010 DF, 0b001 MF)."""

    src: str
    dst: str
    protocol: int
    ttl: int
    length: int
    identification: int
    flags: int
    fragment_offset: int
    tos: int
    header_length: int
    checksum: int
    option_bytes: bytes = b""

    @property
    def dont_fragment(self) -> bool:
        return bool(self.flags & 0b010)

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags & 0b001)

    @property
    def is_fragment(self) -> bool:
        return self.more_fragments or self.fragment_offset > 0

    @property
    def options(self) -> tuple[IPOption, ...]:
        return _parse_ip_options(self.option_bytes)

    def __str__(self) -> str:
        flags = "+" if self.more_fragments else "DF" if self.dont_fragment else "none"
        text = (f"IP (tos 0x{self.tos:x}, ttl {self.ttl}, id {self.identification}, "
                f"offset {self.fragment_offset}, flags [{flags}], "
                f"proto {protocol_name(self.protocol)} ({self.protocol}), length {self.length}")
        if self.option_bytes:
            text += ", options (" + ",".join(str(o) for o in self.options) + ")"
        return f"{text}) {self.src} > {self.dst}"


_EXTENSIONS = {0: "hop-by-hop", 43: "routing", 44: "fragment", 51: "AH", 60: "destination",
               135: "mobility", 139: "HIP", 140: "shim6"}


@dataclass(frozen=True, slots=True)
class IPv6Extension:
    """One IPv6 extension header (RFC 8200 section 4): its type, the next header it names,
    and its bytes after those two fields."""

    header: int
    next_header: int
    data: bytes

    @property
    def name(self) -> str:
        return _EXTENSIONS.get(self.header, str(self.header))

    @property
    def fragment_offset(self) -> int:
        """A fragment header's offset, in bytes (RFC 8200 section 4.5); 0 for others."""
        if self.header != 44 or len(self.data) < 2:
            return 0
        return (int.from_bytes(self.data[:2], "big") >> 3) * 8

    @property
    def more_fragments(self) -> bool:
        return self.header == 44 and len(self.data) >= 2 and bool(self.data[1] & 1)

    @property
    def identification(self) -> int:
        return int.from_bytes(self.data[2:6], "big") if self.header == 44 else 0

    def __str__(self) -> str:
        if self.header == 44:
            more = "+" if self.more_fragments else ""
            return f"frag (0x{self.identification:08x}:{self.fragment_offset}|{more})"
        return self.name


@dataclass(frozen=True, slots=True)
class IPv6:
    """An IPv6 header (RFC 8200) with its extension headers. ``next_header`` is the fixed
    header's own field; ``protocol`` is the upper-layer protocol after the extensions."""

    src: str
    dst: str
    next_header: int
    hop_limit: int
    payload_length: int
    traffic_class: int
    flow_label: int
    extensions: tuple[IPv6Extension, ...] = ()
    protocol: int = -1

    def __str__(self) -> str:
        exts = "".join(f"{ext} " for ext in self.extensions)
        return (f"IP6 (class 0x{self.traffic_class:x}, flowlabel 0x{self.flow_label:05x}, "
                f"hlim {self.hop_limit}, next-header {protocol_name(self.next_header)} "
                f"({self.next_header}), payload length {self.payload_length}) {exts}"
                f"{self.src} > {self.dst}")


_new_ipv4 = builder(IPv4)
_new_ipv6 = builder(IPv6)
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_inet_ntoa = socket.inet_ntoa
_inet_ntop = socket.inet_ntop
_AF_INET6 = socket.AF_INET6
#: header or problem, protocol to decode next (-1: none), payload start and end, a problem
#: found after the header (an extension header cut short)
NetworkResult = tuple[IPv4 | IPv6 | Truncated | Malformed, int, int, int, Truncated | None]


def decode_ipv4(data: bytes, offset: int) -> NetworkResult:
    """Decode an IPv4 header at ``offset`` (RFC 791 section 3.1)."""
    available = len(data) - offset
    if available < 20:
        return Truncated("IP", 20, available), -1, offset, offset, None
    vihl, tos, total, ident, frag, ttl, proto, checksum, src, dst = _IPV4.unpack_from(
        data, offset)
    hlen = (vihl & 15) << 2
    if vihl >> 4 != 4:
        return Malformed("IP", f"version {vihl >> 4}"), -1, offset, offset, None
    if hlen < 20:
        return Malformed("IP", f"header length {hlen} < 20"), -1, offset, offset, None
    if available < hlen:
        return Truncated("IP", hlen, available), -1, offset, offset, None
    if total < hlen:
        return Malformed("IP", f"total length {total} < {hlen}"), -1, offset, offset, None
    options = data[offset + 20:offset + hlen] if hlen > 20 else b""
    header = _new_ipv4(_inet_ntoa(src), _inet_ntoa(dst), proto, ttl, total, ident, frag >> 13,
                  (frag & 0x1FFF) << 3, tos, hlen, checksum, options)
    end = min(offset + total, len(data))
    # A later fragment carries no upper-layer header (RFC 791: offset counts 8-byte units).
    return header, (-1 if frag & 0x1FFF else proto), offset + hlen, end, None


def _walk_extensions(data: bytes, at: int, end: int, next_header: int
                     ) -> tuple[list[IPv6Extension], int, int, Truncated | None]:
    """Follow the chain of extension headers (RFC 8200 section 4.1); returns them, the
    upper-layer protocol (-1 when it cannot be decoded) and where it starts."""
    found: list[IPv6Extension] = []
    while next_header in _EXTENSIONS:
        if end - at < 8:
            return found, -1, at, Truncated("IP6-ext", 8, end - at)
        if next_header == 44:
            size = 8
        elif next_header == 51:  # AH counts 4-byte units, minus 2 (RFC 4302 section 2.2)
            size = (data[at + 1] + 2) * 4
        else:
            size = (data[at + 1] + 1) * 8
        if end - at < size:
            return found, -1, at, Truncated("IP6-ext", size, end - at)
        ext = IPv6Extension(next_header, data[at], data[at + 2:at + size])
        found.append(ext)
        next_header, at = data[at], at + size
        if ext.header == 44 and ext.fragment_offset:
            return found, -1, at, None  # a later fragment: no upper-layer header here
    if next_header in (50, 59):  # ESP is opaque; No Next Header ends the packet
        return found, -1, at, None
    return found, next_header, at, None


def decode_ipv6(data: bytes, offset: int) -> NetworkResult:
    """Decode an IPv6 header and its extension headers at ``offset`` (RFC 8200)."""
    available = len(data) - offset
    if available < 40:
        return Truncated("IP6", 40, available), -1, offset, offset, None
    first, plen, nh, hlim, src, dst = _IPV6.unpack_from(data, offset)
    if first >> 28 != 6:
        return Malformed("IP6", f"version {first >> 28}"), -1, offset, offset, None
    end = min(offset + 40 + plen if plen else len(data), len(data))  # 0: jumbogram, RFC 2675
    start = offset + 40
    if nh in _EXTENSIONS or nh in (50, 59):
        exts, proto, start, problem = _walk_extensions(data, start, end, nh)
        header = _new_ipv6(_inet_ntop(_AF_INET6, src), _inet_ntop(_AF_INET6, dst), nh, hlim, plen,
                      (first >> 20) & 0xFF, first & 0xFFFFF, tuple(exts), proto)
        return header, proto, start, end, problem
    header = _new_ipv6(_inet_ntop(_AF_INET6, src), _inet_ntop(_AF_INET6, dst), nh, hlim, plen,
                  (first >> 20) & 0xFF, first & 0xFFFFF, (), nh)
    return header, nh, start, end, None
