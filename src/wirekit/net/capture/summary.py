"""How a packet is shown: one tcpdump-style line, a JSON object, a hex dump.

The line follows tcpdump's default output (``tcpdump -nn -S``: numeric addresses and ports,
absolute sequence numbers), so a reader who knows tcpdump can read it and a test can compare
the two field by field::

    IP 127.0.0.1.45678 > 127.0.0.1.8000: Flags [S], seq 1234, win 65495, options [...], length 0
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from wirekit.net.capture.ip import IPv4, IPv6, protocol_name
from wirekit.net.capture.link import ARP, Ethernet, LinuxSLL2, ethertype_name
from wirekit.net.capture.transport import ICMP, TCP, UDP, ICMPv6, TCPFlags

if TYPE_CHECKING:
    from wirekit.net.capture.packet import Packet

__all__ = ["clock", "hexdump", "packet_dict", "summarize"]


def clock(timestamp_ns: int) -> str:
    """``HH:MM:SS.ffffff`` in local time, as tcpdump prints it."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    try:
        text = time.strftime("%H:%M:%S", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):  # a year past 9999 in a hostile file: UTC
        hours, rest = divmod(seconds % 86400, 3600)
        text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{text}.{nanos // 1000:06d}"


def _tcp_text(tcp: TCP, payload: int) -> str:
    parts = [f"Flags [{tcp.flag_text}]"]
    if payload or tcp.flags & (TCPFlags.SYN | TCPFlags.FIN | TCPFlags.RST):
        parts.append(f"seq {tcp.seq}:{(tcp.seq + payload) & 0xFFFFFFFF}" if payload
                     else f"seq {tcp.seq}")
    if tcp.flags & TCPFlags.ACK:
        parts.append(f"ack {tcp.ack}")
    parts.append(f"win {tcp.window}")
    if tcp.flags & TCPFlags.URG:
        parts.append(f"urg {tcp.urgent}")
    if tcp.option_bytes:
        parts.append("options [" + ",".join(str(o) for o in tcp.options) + "]")
    parts.append(f"length {payload}")
    return ", ".join(parts)


def _upper(packet: Packet, ip: IPv4 | IPv6) -> str:  # noqa: PLR0911  # one per kind
    """The part after ``src > dst:`` for an IP packet."""
    transport, payload = packet.transport, len(packet.payload)
    if packet.problem is not None:
        return str(packet.problem)
    if isinstance(transport, TCP):
        return _tcp_text(transport, payload)
    if isinstance(transport, UDP):  # tcpdump trusts the UDP length (a first fragment)
        return f"UDP, length {transport.length - 8 if transport.length >= 8 else payload}"
    if isinstance(transport, ICMP | ICMPv6):
        return f"{transport}, length {payload + 8}"
    if isinstance(ip, IPv4) and ip.fragment_offset:
        return (f"ip-proto-{ip.protocol} frag id {ip.identification}, offset "
                f"{ip.fragment_offset}, length {payload}")
    frag = next((e for e in ip.extensions if e.header == 44), None) \
        if isinstance(ip, IPv6) else None
    if frag is not None and frag.fragment_offset:
        return f"{frag}, length {payload}"
    proto = ip.protocol
    return f"{protocol_name(proto).lower() if proto >= 0 else 'ip6'}, length {payload}"


def _endpoints(packet: Packet, ip: IPv4 | IPv6) -> str:
    transport = packet.transport
    if isinstance(transport, TCP | UDP):
        return f"{ip.src}.{transport.sport} > {ip.dst}.{transport.dport}"
    at = packet._layers()[5]
    if transport is None and ip.protocol in (6, 17, 132) and 0 <= at <= len(packet.data) - 4:
        ports = packet.data[at:at + 4]  # a header cut short still shows its ports
        return (f"{ip.src}.{int.from_bytes(ports[:2], 'big')} > "
                f"{ip.dst}.{int.from_bytes(ports[2:], 'big')}")
    return f"{ip.src} > {ip.dst}"


def summarize(packet: Packet) -> str:
    """One line for ``packet``, tcpdump style."""
    link, network, problem = packet.link, packet.network, packet.problem
    prefix = f"{link.interface} " if isinstance(link, LinuxSLL2) else ""
    if isinstance(network, IPv4 | IPv6):
        family = "IP" if isinstance(network, IPv4) else "IP6"
        text = f"{family} {_endpoints(packet, network)}: {_upper(packet, network)}"
        return prefix + text
    elif isinstance(network, ARP):
        text = f"{network}, length {packet.length - _link_length(packet)}"
    elif problem is not None and link is None:
        text = f"{problem}, length {packet.length}"
    else:
        kind = getattr(link, "ethertype", getattr(link, "protocol", -1))
        if problem is not None:
            name = {0x0800: "IP", 0x86DD: "IP6", 0x0806: "ARP"}.get(kind, ethertype_name(kind))
            text = f"{name} {problem}"
        else:
            text = f"ethertype {ethertype_name(kind)}, length {packet.length}"
        return prefix + text
    if problem is not None:
        text += f" {problem}"
    return prefix + text


def _link_length(packet: Packet) -> int:
    decoded = packet._layers()
    return max(decoded[4], 0)


def _value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _layer_dict(value)
    return value


def _layer_dict(layer: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"layer": type(layer).__name__}
    for spec in dataclasses.fields(layer):
        found[spec.name] = _value(getattr(layer, spec.name))
    if isinstance(layer, TCP):
        found["flag_names"] = list(layer.flag_names)
        found["options"] = [str(o) for o in layer.options]
    elif isinstance(layer, ICMP | ICMPv6):
        found["name"] = layer.name
    elif isinstance(layer, IPv4) and layer.option_bytes:
        found["options"] = [str(o) for o in layer.options]
    return found


def packet_dict(packet: Packet) -> dict[str, Any]:
    """The packet as plain JSON types: time, lengths, each decoded layer, the payload size."""
    layers = {"link": packet.link, "network": packet.network, "transport": packet.transport}
    found: dict[str, Any] = {
        "time": packet.timestamp, "length": packet.length, "captured": len(packet.data),
        "summary": packet.summary()}
    for name, layer in layers.items():
        found[name] = None if layer is None else _layer_dict(layer)
    if isinstance(packet.link, Ethernet) and not packet.link.vlans:
        found["link"].pop("vlans")
    found["payload_length"] = len(packet.payload)
    found["problem"] = None if packet.problem is None else _layer_dict(packet.problem)
    return found


def hexdump(data: bytes) -> str:
    """``tcpdump -X`` layout: ``0x0000:  4500 003c ...  E..<..``."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at:at + 16]
        words = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 33 <= b < 127 else "." for b in chunk)  # isgraph
        lines.append(f"\t0x{at:04x}:  {words:<39}  {text}")
    return "\n".join(lines)
