"""The link layer: Ethernet II with 802.1Q tags, Linux "cooked" headers, and ARP.

A pcap file names its link type in the file header (the LINKTYPE_ registry,
https://www.tcpdump.org/linktypes.html); the decoder of the first header follows from it. Every
link header ends in an EtherType (IEEE 802.3 clause 3.2.6; values below 0x0600 are an 802.3
length, not a type), which chooses the network layer.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from enum import IntEnum

from wirekit.net.capture.frozen import builder
from wirekit.net.capture.problems import Malformed, Truncated

__all__ = [
    "ARP", "ETHERTYPE_ARP", "ETHERTYPE_IPV4", "ETHERTYPE_IPV6", "ETHERTYPE_RARP",
    "Ethernet", "LinkType", "LinuxSLL", "LinuxSLL2", "VlanTag", "decode_arp", "decode_link",
    "ethertype_name",
]

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_RARP = 0x8035
ETHERTYPE_IPV6 = 0x86DD
_VLAN_TPIDS = frozenset((0x8100, 0x88A8, 0x9100))  # 802.1Q, 802.1ad (QinQ), pre-standard QinQ
_NAMES = {ETHERTYPE_IPV4: "IPv4", ETHERTYPE_ARP: "ARP", ETHERTYPE_RARP: "Reverse ARP",
          ETHERTYPE_IPV6: "IPv6", 0x8100: "802.1Q", 0x88A8: "802.1Q-QinQ"}
_PACKET_TYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}  # <linux/if_packet.h> PACKET_*


class LinkType(IntEnum):
    """The LINKTYPE_ values wirekit reads (and, for ETHERNET, captures and writes)."""

    ETHERNET = 1
    RAW = 101          # bare IPv4 or IPv6, told apart by the version nibble
    LINUX_SLL = 113    # Linux "cooked" v1, 16 bytes (tcpdump -i any before libpcap 1.10)
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276   # Linux "cooked" v2, 20 bytes, with the interface index


def ethertype_name(value: int) -> str:
    return _NAMES.get(value, f"Unknown (0x{value:04x})")


def _mac(raw: bytes) -> str:
    return raw.hex(":")


@dataclass(frozen=True, slots=True)
class VlanTag:
    """One IEEE 802.1Q tag: priority (PCP), drop eligible (DEI) and VLAN id."""

    tpid: int
    priority: int
    drop_eligible: bool
    vlan: int

    def __str__(self) -> str:
        return f"vlan {self.vlan}, p {self.priority}"


@dataclass(frozen=True, slots=True)
class Ethernet:
    """An Ethernet II header. ``ethertype`` is the type after any VLAN tags in ``vlans``."""

    dst: str
    src: str
    ethertype: int
    vlans: tuple[VlanTag, ...] = ()

    def __str__(self) -> str:
        tags = "".join(f"{tag}, " for tag in self.vlans)
        return f"{self.src} > {self.dst}, {tags}ethertype {ethertype_name(self.ethertype)}"


@dataclass(frozen=True, slots=True)
class LinuxSLL:
    """Linux cooked header v1: how the kernel received the packet, without the link header."""

    packet_type: int
    arphrd: int
    address: str
    protocol: int

    def __str__(self) -> str:
        direction = _PACKET_TYPES.get(self.packet_type, str(self.packet_type))
        return f"{direction} {self.address or '-'} ethertype {ethertype_name(self.protocol)}"


@dataclass(frozen=True, slots=True)
class LinuxSLL2:
    """Linux cooked header v2: v1 plus the interface index (``tcpdump -i any``)."""

    protocol: int
    ifindex: int
    arphrd: int
    packet_type: int
    address: str

    @property
    def interface(self) -> str:
        try:
            return socket.if_indextoname(self.ifindex)
        except OSError:
            return f"if{self.ifindex}"

    def __str__(self) -> str:
        direction = _PACKET_TYPES.get(self.packet_type, str(self.packet_type))
        return f"{self.interface} {direction} ethertype {ethertype_name(self.protocol)}"


_ARP_OPS = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply"}


@dataclass(frozen=True, slots=True)
class ARP:
    """An ARP (RFC 826) or RARP message. Addresses are text when they are Ethernet and IPv4
    (hardware length 6, protocol length 4), hex otherwise."""

    hardware_type: int
    protocol_type: int
    opcode: int
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str

    @property
    def operation(self) -> str:
        return _ARP_OPS.get(self.opcode, f"op {self.opcode}")

    def __str__(self) -> str:
        if self.opcode == 1:
            return f"ARP, Request who-has {self.target_ip} tell {self.sender_ip}"
        if self.opcode == 2:
            return f"ARP, Reply {self.sender_ip} is-at {self.sender_mac}"
        return f"ARP, {self.operation} {self.sender_ip} > {self.target_ip}"


_new_ethernet = builder(Ethernet)
_ETH = struct.Struct("!6s6sH")
_TAG = struct.Struct("!HH")
_SLL = struct.Struct("!HHH8sH")
_SLL2 = struct.Struct("!HxxIHBB8s")
_ARP = struct.Struct("!HHBBH")

Link = Ethernet | LinuxSLL | LinuxSLL2
#: (link header or problem or None, EtherType of the payload or -1, offset of the payload)
LinkResult = tuple[Link | Truncated | Malformed | None, int, int]


def _decode_ethernet(data: bytes) -> LinkResult:
    if len(data) < 14:
        return Truncated("Ethernet", 14, len(data)), -1, 0
    dst, src, kind = _ETH.unpack_from(data)
    if kind not in _VLAN_TPIDS:  # the common case: no tags, no loop
        return _new_ethernet(dst.hex(":"), src.hex(":"), kind, ()), kind, 14
    tags, offset = [], 14
    while kind in _VLAN_TPIDS:
        if len(data) < offset + 4:
            return Truncated("802.1Q", offset + 4, len(data)), -1, 0
        tci, inner = _TAG.unpack_from(data, offset)
        tags.append(VlanTag(kind, tci >> 13, bool(tci & 0x1000), tci & 0x0FFF))
        kind, offset = inner, offset + 4
    return Ethernet(dst.hex(":"), src.hex(":"), kind, tuple(tags)), kind, offset


def _decode_raw(data: bytes, linktype: int) -> LinkResult:
    if linktype == LinkType.IPV4:
        return None, ETHERTYPE_IPV4, 0
    if linktype == LinkType.IPV6:
        return None, ETHERTYPE_IPV6, 0
    if not data:
        return Truncated("IP", 1, 0), -1, 0
    version = data[0] >> 4
    kind = {4: ETHERTYPE_IPV4, 6: ETHERTYPE_IPV6}.get(version)
    if kind is None:
        return Malformed("IP", f"version {version}"), -1, 0
    return None, kind, 0


def decode_link(linktype: int, data: bytes) -> LinkResult:  # noqa: PLR0911  # one per type
    """Decode the link header of a frame of ``linktype``."""
    if linktype == LinkType.ETHERNET:
        return _decode_ethernet(data)
    if linktype in (LinkType.RAW, LinkType.IPV4, LinkType.IPV6):
        return _decode_raw(data, linktype)
    if linktype == LinkType.LINUX_SLL:
        if len(data) < 16:
            return Truncated("SLL", 16, len(data)), -1, 0
        ptype, hatype, halen, addr, proto = _SLL.unpack_from(data)
        return LinuxSLL(ptype, hatype, _mac(addr[:min(halen, 8)]), proto), proto, 16
    if linktype == LinkType.LINUX_SLL2:
        if len(data) < 20:
            return Truncated("SLL2", 20, len(data)), -1, 0
        proto, ifindex, hatype, ptype, halen, addr = _SLL2.unpack_from(data)
        return LinuxSLL2(proto, ifindex, hatype, ptype, _mac(addr[:min(halen, 8)])), proto, 20
    return Malformed("link", f"unsupported link type {linktype}"), -1, 0


def decode_arp(data: bytes, offset: int, end: int) -> ARP | Truncated:
    """Decode an ARP or RARP message (RFC 826, RFC 903) at ``offset``."""
    if end - offset < 8:
        return Truncated("ARP", 8, end - offset)
    htype, ptype, hlen, plen, opcode = _ARP.unpack_from(data, offset)
    need = 8 + 2 * (hlen + plen)
    if end - offset < need:
        return Truncated("ARP", need, end - offset)
    at = offset + 8
    fields = []
    for size in (hlen, plen, hlen, plen):
        fields.append(data[at:at + size])
        at += size
    sha, spa, tha, tpa = fields
    if hlen == 6 and plen == 4:
        return ARP(htype, ptype, opcode, sha.hex(":"), socket.inet_ntoa(spa), tha.hex(":"),
                   socket.inet_ntoa(tpa))
    return ARP(htype, ptype, opcode, sha.hex(":"), spa.hex(), tha.hex(":"), tpa.hex())
