"""Frames built by hand, byte by byte from the RFCs, to feed the decoders and the filters.

Checksums are computed (RFC 1071) so tcpdump and the kernel see well-formed packets.
"""

from __future__ import annotations

import socket
import struct

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(payload: bytes, kind: int = 0x0800, src: bytes = MAC_A, dst: bytes = MAC_B,
             vlans: tuple[int, ...] = ()) -> bytes:
    tags = b"".join(struct.pack("!HH", 0x8100, (3 << 13) | vid) for vid in vlans)
    return dst + src + tags + struct.pack("!H", kind) + payload


def ipv4(payload: bytes, proto: int, src: str = "10.0.0.1", dst: str = "10.0.0.2", *,
         ttl: int = 64, ident: int = 1, flags: int = 0b010, offset: int = 0,
         options: bytes = b"", tos: int = 0, total: int | None = None) -> bytes:
    ihl = 5 + len(options) // 4
    length = ihl * 4 + len(payload) if total is None else total
    header = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, tos, length, ident,
                         (flags << 13) | (offset // 8), ttl, proto, 0, socket.inet_aton(src),
                         socket.inet_aton(dst)) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(payload: bytes, nh: int, src: str = "2001:db8::1", dst: str = "2001:db8::2", *,
         hlim: int = 64, tclass: int = 0, flow: int = 0) -> bytes:
    first = (6 << 28) | (tclass << 20) | flow
    return struct.pack("!IHBB16s16s", first, len(payload), nh, hlim,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def ext(nh: int, body: bytes = b"\0" * 6) -> bytes:
    """A hop-by-hop/destination/routing extension header (length in 8-byte units - 1)."""
    body += b"\0" * ((-(len(body) + 2)) % 8)
    return struct.pack("!BB", nh, (len(body) + 2) // 8 - 1) + body


def fragment_header(nh: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", nh, 0, (offset // 8) << 3 | int(more), ident)


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    if ":" in src:
        return (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                + struct.pack("!IxxxB", length, proto))
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", proto, length)


def tcp(sport: int, dport: int, *, seq: int = 1000, ack: int = 0, flags: int = 0x02,
        window: int = 65535, options: bytes = b"", payload: bytes = b"", urgent: int = 0,
        src: str = "10.0.0.1", dst: str = "10.0.0.2") -> bytes:
    options += b"\0" * (-len(options) % 4)
    offset = (5 + len(options) // 4) << 4 | (flags >> 8)
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset, flags & 0xFF, window, 0,
                         urgent) + options
    total = header + payload
    value = checksum(_pseudo(src, dst, 6, len(total)) + total)
    return total[:16] + struct.pack("!H", value) + total[18:]


def udp(sport: int, dport: int, payload: bytes = b"", *, src: str = "10.0.0.1",
        dst: str = "10.0.0.2") -> bytes:
    total = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    value = checksum(_pseudo(src, dst, 17, len(total)) + total) or 0xFFFF
    return total[:6] + struct.pack("!H", value) + total[8:]


def icmp(kind: int, code: int = 0, ident: int = 7, seq: int = 1, payload: bytes = b"ping",
         *, v6: bool = False, src: str = "::1", dst: str = "::1") -> bytes:
    body = struct.pack("!BBHHH", kind, code, 0, ident, seq) + payload
    pseudo = _pseudo(src, dst, 58, len(body)) if v6 else b""
    return body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]


def arp(op: int, sender_ip: str, target_ip: str, sender: bytes = MAC_A,
        target: bytes = b"\0" * 6) -> bytes:
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sender,
                       socket.inet_aton(sender_ip), target, socket.inet_aton(target_ip))


def tcp4(sport: int, dport: int, src: str = "10.0.0.1", dst: str = "10.0.0.2",
         **kw: object) -> bytes:
    """An Ethernet/IPv4/TCP frame."""
    return ethernet(ipv4(tcp(sport, dport, src=src, dst=dst, **kw), 6, src, dst))  # type: ignore[arg-type]


def udp4(sport: int, dport: int, payload: bytes = b"", src: str = "10.0.0.1",
         dst: str = "10.0.0.2") -> bytes:
    return ethernet(ipv4(udp(sport, dport, payload, src=src, dst=dst), 17, src, dst))


def tcp6(sport: int, dport: int, src: str = "2001:db8::1", dst: str = "2001:db8::2",
         **kw: object) -> bytes:
    return ethernet(ipv6(tcp(sport, dport, src=src, dst=dst, **kw), 6, src, dst), 0x86DD)  # type: ignore[arg-type]


def udp6(sport: int, dport: int, payload: bytes = b"", src: str = "2001:db8::1",
         dst: str = "2001:db8::2") -> bytes:
    return ethernet(ipv6(udp(sport, dport, payload, src=src, dst=dst), 17, src, dst), 0x86DD)


def mixed_frames() -> list[bytes]:
    """A little of everything the filters distinguish: v4/v6, TCP/UDP/ICMP/SCTP, ARP, RARP,
    fragments, extension headers, VLAN tags, options, and some cut short."""
    frames = [
        tcp4(40000, 80), tcp4(80, 40000, "10.0.0.2", "10.0.0.1", flags=0x12, ack=1001),
        tcp4(40001, 443, "10.1.2.3", "192.168.1.9", flags=0x18, payload=b"hello"),
        tcp4(22, 50000, "192.168.1.9", "10.1.2.3", flags=0x10),
        udp4(5353, 53, b"query", "10.0.0.3", "10.0.0.53"),
        udp4(53, 5353, b"answer", "10.0.0.53", "10.0.0.3"),
        udp4(1234, 1500, b"range", "172.16.0.1", "172.16.0.2"),
        ethernet(ipv4(icmp(8, payload=b"x" * 8), 1, "10.0.0.1", "10.0.0.9")),
        ethernet(ipv4(icmp(0, payload=b"x" * 8), 1, "10.0.0.9", "10.0.0.1")),
        ethernet(ipv4(struct.pack("!HHII", 3868, 80, 1, 0), 132, "10.0.0.1", "10.0.0.2")),
        ethernet(ipv4(udp(9, 80, b"a" * 16)[:16], 17, flags=0b001, ident=77)),
        ethernet(ipv4(b"b" * 16, 17, flags=0, offset=16, ident=77)),
        ethernet(ipv4(tcp(40002, 8080), 6, "10.0.0.1", "10.0.0.2", options=b"\x94\x04\0\0")),
        tcp6(40000, 80), tcp6(80, 40000, "2001:db8::2", "2001:db8::1", flags=0x12),
        tcp6(41000, 22, "fe80::1", "fe80::2"),
        udp6(5353, 53, b"q6"), udp6(1000, 2000, b"p", "::1", "::1"),
        ethernet(ipv6(icmp(128, v6=True, src="2001:db8::1", dst="2001:db8::2"), 58), 0x86DD),
        ethernet(ipv6(icmp(135, v6=True, src="fe80::1", dst="ff02::1:ff00:2"), 58, "fe80::1",
                      "ff02::1:ff00:2"), 0x86DD),
        ethernet(ipv6(ext(6) + tcp(40003, 80, src="2001:db8::1", dst="2001:db8::2"), 0),
                 0x86DD),
        ethernet(ipv6(fragment_header(17, 0, True, 9) + udp(7, 53, b"frag"), 44), 0x86DD),
        ethernet(ipv6(fragment_header(17, 8, False, 9) + b"tail", 44), 0x86DD),
        ethernet(arp(1, "10.0.0.1", "10.0.0.2"), 0x0806),
        ethernet(arp(2, "10.0.0.2", "10.0.0.1", MAC_B, MAC_A), 0x0806, MAC_B, MAC_A),
        ethernet(arp(3, "10.0.0.5", "10.0.0.6"), 0x8035),
        ethernet(ipv4(tcp(40004, 80), 6), vlans=(10,)),
        ethernet(b"\x00" * 46, 0x88CC),
        tcp4(40005, 80)[:40], tcp4(40006, 80)[:36], udp4(40007, 53, b"cut")[:30],
        tcp6(40008, 80)[:60], udp4(9999, 9999, b"x" * 100)[:20],
    ]
    return frames
