"""The transport layer: TCP with its flags and options, UDP, ICMP and ICMPv6.

Each decoder returns the header (or a problem marker) and the offset where the payload starts.
TCP options stay bytes until asked for (``TCP.options``): Linux puts timestamps in every segment,
and most readers of a capture never look at them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from wirekit.net.capture.frozen import builder
from wirekit.net.capture.problems import Malformed, Truncated

__all__ = ["ICMP", "TCP", "UDP", "ICMPv6", "TCPFlags", "TCPOption", "decode_transport"]


class TCPFlags:
    """The TCP flag bits (RFC 9293 section 3.1; ECE/CWR RFC 3168; AE RFC 9768)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80
    AE = 0x100


_FLAG_NAMES = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10),
               ("URG", 0x20), ("ECE", 0x40), ("CWR", 0x80), ("AE", 0x100))
# tcpdump's letters, in tcpdump's order (print-tcp.c tcp_flag_values): "S." is SYN+ACK.
_FLAG_LETTERS = (("F", 0x01), ("S", 0x02), ("R", 0x04), ("P", 0x08), (".", 0x10),
                 ("U", 0x20), ("E", 0x40), ("W", 0x80), ("e", 0x100))
_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS",
                 19: "md5", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo"}


@dataclass(frozen=True, slots=True)
class TCPOption:
    """One TCP option (RFC 9293 section 3.2): its kind and the bytes after the length."""

    kind: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return _OPTION_NAMES.get(self.kind, f"opt-{self.kind}")

    @property
    def value(self) -> int | tuple[int, ...] | None:
        """MSS or window scale as an int, TS as (val, ecr), SACK as (left, right, ...)."""
        if self.kind in (2, 3) and self.data:
            return int.from_bytes(self.data, "big")
        if self.kind in (5, 8) and len(self.data) % 4 == 0:
            return struct.unpack(f"!{len(self.data) // 4}I", self.data)
        return None

    def __str__(self) -> str:  # tcpdump's spelling: "mss 65495,sackOK,TS val 1 ecr 0"
        value = self.value
        if self.kind == 8 and isinstance(value, tuple) and len(value) == 2:
            return f"TS val {value[0]} ecr {value[1]}"
        if self.kind == 5 and isinstance(value, tuple):
            edges = " ".join(f"{{{value[i]}:{value[i + 1]}}}" for i in range(0, len(value) - 1, 2))
            return f"sack {len(value) // 2} {edges}"
        if isinstance(value, int):
            return f"{self.name} {value}"
        return self.name if not self.data else f"{self.name} 0x{self.data.hex()}"


def _parse_tcp_options(raw: bytes) -> tuple[TCPOption, ...]:
    found, at = [], 0
    while at < len(raw):
        kind = raw[at]
        if kind in (0, 1):
            found.append(TCPOption(kind))
            at += 1
            if kind == 0:
                break
            continue
        if at + 1 >= len(raw) or raw[at + 1] < 2 or at + raw[at + 1] > len(raw):
            break  # a bad length: the options before it are still shown
        found.append(TCPOption(kind, raw[at + 2:at + raw[at + 1]]))
        at += raw[at + 1]
    return tuple(found)


@dataclass(frozen=True, slots=True)
class TCP:
    """A TCP header (RFC 9293 section 3.1). ``flags`` is the 9 flag bits as an int."""

    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    checksum: int
    urgent: int
    header_length: int
    option_bytes: bytes = b""

    @property
    def flag_text(self) -> str:
        """tcpdump's flags: ``S``, ``S.``, ``.``, ``P.``, ``F.``, ``R.``."""
        return "".join(letter for letter, bit in _FLAG_LETTERS if self.flags & bit)

    @property
    def flag_names(self) -> tuple[str, ...]:
        return tuple(name for name, bit in _FLAG_NAMES if self.flags & bit)

    @property
    def options(self) -> tuple[TCPOption, ...]:
        return _parse_tcp_options(self.option_bytes)

    def __str__(self) -> str:
        text = f"TCP {self.sport} > {self.dport}: Flags [{self.flag_text}], seq {self.seq}"
        if self.flags & TCPFlags.ACK:
            text += f", ack {self.ack}"
        text += f", win {self.window}"
        if self.option_bytes:
            text += ", options [" + ",".join(str(o) for o in self.options) + "]"
        return text


@dataclass(frozen=True, slots=True)
class UDP:
    """A UDP header (RFC 768). ``length`` counts the header and the data."""

    sport: int
    dport: int
    length: int
    checksum: int

    def __str__(self) -> str:
        return f"UDP {self.sport} > {self.dport}, length {self.length - 8}"


_ICMP_TYPES = {0: "echo reply", 3: "unreachable", 4: "source quench", 5: "redirect",
               8: "echo request", 9: "router advertisement", 10: "router solicitation",
               11: "time exceeded", 12: "parameter problem", 13: "time stamp request",
               14: "time stamp reply"}
_UNREACHABLE = {0: "net", 1: "host", 2: "protocol", 3: "port", 4: "need to frag",
                9: "net prohibited", 10: "host prohibited", 13: "administratively prohibited"}
_ICMPv6_TYPES = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded",
                 4: "parameter problem", 128: "echo request", 129: "echo reply",
                 130: "multicast listener query", 131: "multicast listener report",
                 133: "router solicitation", 134: "router advertisement",
                 135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect",
                 143: "multicast listener report v2"}


@dataclass(frozen=True, slots=True)
class _ControlMessage:
    """What ICMP and ICMPv6 headers share: type, code, checksum and 4 type-specific bytes,
    which are an identifier and a sequence number in echo messages (RFC 792, RFC 4443)."""

    type: int
    code: int
    checksum: int
    rest: bytes

    @property
    def identifier(self) -> int:
        return int.from_bytes(self.rest[:2], "big")

    @property
    def sequence(self) -> int:
        return int.from_bytes(self.rest[2:4], "big")


@dataclass(frozen=True, slots=True)
class ICMP(_ControlMessage):
    """An ICMP header (RFC 792): type, code, checksum and the 4 type-specific bytes, which
    are an identifier and a sequence number for echo and timestamp messages."""

    @property
    def name(self) -> str:
        name = _ICMP_TYPES.get(self.type, f"type-#{self.type}")
        if self.type == 3:
            return f"{_UNREACHABLE.get(self.code, f'#{self.code}')} unreachable"
        return name

    def __str__(self) -> str:
        if self.type in (0, 8, 13, 14):
            return f"ICMP {self.name}, id {self.identifier}, seq {self.sequence}"
        return f"ICMP {self.name}"


@dataclass(frozen=True, slots=True)
class ICMPv6(_ControlMessage):
    """An ICMPv6 header (RFC 4443 section 2.1; neighbour discovery RFC 4861)."""

    @property
    def name(self) -> str:
        return _ICMPv6_TYPES.get(self.type, f"type-#{self.type}")

    def __str__(self) -> str:
        if self.type in (128, 129):
            return f"ICMP6, {self.name}, id {self.identifier}, seq {self.sequence}"
        return f"ICMP6, {self.name}"


_new_tcp = builder(TCP)
_new_udp = builder(UDP)
_new_icmp = builder(ICMP)
_new_icmpv6 = builder(ICMPv6)
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")
_ICMP = struct.Struct("!BBH4s")
Transport = TCP | UDP | ICMP | ICMPv6


def _decode_tcp(data: bytes, start: int, end: int) -> tuple[TCP | Truncated | Malformed, int]:
    if end - start < 20:
        return Truncated("TCP", 20, end - start), start
    sport, dport, seq, ack, off, flags, window, checksum, urgent = _TCP.unpack_from(data, start)
    hlen = (off >> 4) << 2
    if hlen < 20:
        return Malformed("TCP", f"header length {hlen} < 20"), start
    if end - start < hlen:
        return Truncated("TCP", hlen, end - start), start
    options = data[start + 20:start + hlen] if hlen > 20 else b""
    flags |= (off & 1) << 8  # the AE (formerly NS) bit sits beside the data offset
    return _new_tcp(sport, dport, seq, ack, flags, window, checksum, urgent, hlen, options), \
        start + hlen


def decode_transport(protocol: int, data: bytes, start: int, end: int
                     ) -> tuple[Transport | Truncated | Malformed | None, int]:
    """Decode the header of IP ``protocol`` in ``data[start:end]``; ``None`` for a protocol
    wirekit does not decode (its bytes are the payload)."""
    if protocol == 6:
        return _decode_tcp(data, start, end)
    if protocol == 17:
        if end - start < 8:
            return Truncated("UDP", 8, end - start), start
        return _new_udp(*_UDP.unpack_from(data, start)), start + 8
    if protocol in (1, 58):
        name = "ICMP" if protocol == 1 else "ICMP6"
        if end - start < 8:
            return Truncated(name, 8, end - start), start
        kind, code, checksum, rest = _ICMP.unpack_from(data, start)
        new = _new_icmp if protocol == 1 else _new_icmpv6
        return new(kind, code, checksum, rest), start + 8
    return None, start
