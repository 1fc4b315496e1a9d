"""Filters evaluated in user space on decoded packets (for files, and ``Filter.matches``).

The meaning is the kernel's: the same tree compiled to classic BPF by
:mod:`wirekit.net.capture.bpf` accepts exactly the packets this module accepts, and both
follow tcpdump's (libpcap's ``gencode.c``) choices, so a filter means the same on a live
interface, in a file, and in tcpdump:

* the protocol tests look at the outermost link-layer type (an 802.1Q-tagged frame is not
  ``ip``, as in tcpdump without ``vlan``);
* ``tcp``/``udp`` on IPv6 look at the fixed header's next header, or through one fragment
  header; ``port`` on IPv6 looks at the fixed header only (no extension-header walk);
* ``port`` on IPv4 skips later fragments (they carry no ports); ``host`` on IPv4 also
  matches ARP and RARP sender and target addresses;
* a test that needs a byte the capture does not have rejects the whole packet, as a BPF
  load past the end does.

Fields come from the decoded headers; where a header is cut short or malformed the test reads
the bytes at the same offsets the BPF program reads, so the two never disagree.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from wirekit.net.capture.grammar import And, Host, Length, Net, Node, Not, Or, Port, Proto
from wirekit.net.capture.ip import IPv4, IPv6
from wirekit.net.capture.link import ARP, Ethernet, LinkType, LinuxSLL, LinuxSLL2
from wirekit.net.capture.packet import Packet
from wirekit.net.capture.transport import TCP, UDP

__all__ = ["IP4", "IP6", "Predicate", "compile_predicate", "network_offset"]

IP4, IP6, ARP_TYPE, RARP_TYPE = 0x0800, 0x86DD, 0x0806, 0x8035
_TYPES = {"ip": IP4, "ip6": IP6, "arp": ARP_TYPE, "rarp": RARP_TYPE}
_PORT_PROTOS = {None: (6, 17, 132), "tcp": (6,), "udp": (17,), "sctp": (132,)}
_aton = socket.inet_aton
_pton6 = socket.inet_pton


def network_offset(linktype: int) -> int | None:
    """Where the network header starts for ``linktype`` (``None``: unsupported)."""
    return {LinkType.ETHERNET: 14, LinkType.LINUX_SLL: 16, LinkType.LINUX_SLL2: 20,
            LinkType.RAW: 0, LinkType.IPV4: 0, LinkType.IPV6: 0}.get(LinkType(linktype)) \
        if linktype in LinkType._value2member_map_ else None


class _OutOfBounds(Exception):
    """A test needed a byte beyond the capture: the packet is rejected (BPF semantics)."""


class View:
    """One packet as the tests see it: decoded headers, with raw bytes as the fallback."""

    __slots__ = ("_kind", "data", "link", "n", "network", "packet", "transport")

    def __init__(self, packet: Packet) -> None:
        self.packet, self.data = packet, packet.data
        layers = packet._layers()
        self.link, self.network, self.transport = layers[0], layers[1], layers[2]
        self.n = network_offset(packet.linktype)
        self._kind: int | None = None
        if self.n is not None and layers[4] != self.n:
            self.network = self.transport = None  # decoded elsewhere (behind VLAN tags)

    def byte(self, at: int) -> int:
        data, where = self.data, self.n + at  # type: ignore[operator]  # n is set when used
        if where >= len(data):
            raise _OutOfBounds
        return data[where]

    def half(self, at: int) -> int:
        where = self.n + at  # type: ignore[operator]  # n is set when used
        if where + 2 > len(self.data):
            raise _OutOfBounds
        return int.from_bytes(self.data[where:where + 2], "big")

    def word(self, at: int) -> int:
        where = self.n + at  # type: ignore[operator]  # n is set when used
        if where + 4 > len(self.data):
            raise _OutOfBounds
        return int.from_bytes(self.data[where:where + 4], "big")

    def kind(self) -> int:
        """The link-layer type field, as BPF loads it (the outermost one)."""
        if self._kind is None:
            self._kind = self._load_kind()
        return self._kind

    def _load_kind(self) -> int:  # noqa: PLR0911  # one return per link type
        link, linktype = self.link, self.packet.linktype
        if isinstance(link, Ethernet):
            return link.vlans[0].tpid if link.vlans else link.ethertype
        if isinstance(link, LinuxSLL | LinuxSLL2):
            return link.protocol
        if linktype == LinkType.IPV4:
            return IP4
        if linktype == LinkType.IPV6:
            return IP6
        if self.n is None:
            return -1
        if linktype == LinkType.RAW:
            version = self.byte(0) & 0xF0
            return IP4 if version == 0x40 else IP6 if version == 0x60 else -1
        at = {LinkType.ETHERNET: 12, LinkType.LINUX_SLL: 14, LinkType.LINUX_SLL2: 0}[
            LinkType(linktype)]
        if at + 2 > len(self.data):
            raise _OutOfBounds
        return int.from_bytes(self.data[at:at + 2], "big")

    # IPv4 ---------------------------------------------------------------------------------
    def ip_proto(self) -> int:
        ip = self.network
        return ip.protocol if type(ip) is IPv4 else self.byte(9)

    def ip_first_fragment(self) -> bool:
        ip = self.network
        return ip.fragment_offset == 0 if type(ip) is IPv4 else self.half(6) & 0x1FFF == 0

    def ip_address(self, at: int) -> int:
        ip = self.network
        if type(ip) is IPv4:
            return int.from_bytes(_aton(ip.src if at == 12 else ip.dst), "big")
        return self.word(at)

    def ip_port(self, which: int) -> int:
        transport = self.transport
        if type(transport) is TCP or type(transport) is UDP:
            return transport.sport if which == 0 else transport.dport
        ip = self.network
        header = ip.header_length if type(ip) is IPv4 else (self.byte(0) & 0x0F) * 4
        return self.half(header + which)

    # IPv6 ---------------------------------------------------------------------------------
    def ip6_next(self) -> int:
        ip = self.network
        return ip.next_header if type(ip) is IPv6 else self.byte(6)

    def ip6_port(self, which: int) -> int:
        transport, ip = self.transport, self.network
        if (type(transport) is TCP or type(transport) is UDP) and type(ip) is IPv6 \
                and not ip.extensions:
            return transport.sport if which == 0 else transport.dport
        return self.half(40 + which)

    def ip6_word(self, at: int) -> int:
        ip = self.network
        if type(ip) is IPv6 and 8 <= at < 40:
            address = _pton6(socket.AF_INET6, ip.src if at < 24 else ip.dst)
            index = (at - 8) % 16
            return int.from_bytes(address[index:index + 4], "big")
        return self.word(at)

    # ARP ----------------------------------------------------------------------------------
    def arp_address(self, at: int) -> int:
        arp = self.network
        if type(arp) is ARP and "." in arp.sender_ip:
            return int.from_bytes(_aton(arp.sender_ip if at == 14 else arp.target_ip), "big")
        return self.word(at)


Predicate = Callable[[View], bool]


def _either(direction: str, test: Callable[[int], bool]) -> bool:
    """Apply ``test`` to the source (0) and destination (1) per ``direction``, in BPF order."""
    if direction == "src":
        return test(0)
    if direction == "dst":
        return test(1)
    if direction == "src and dst":
        return test(0) and test(1)
    return test(0) or test(1)


def _words(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i:i + 4], "big") for i in range(0, len(raw), 4)]


def _address_test(node: Host | Net, address: bytes, mask: bytes) -> Predicate:
    """One address (and mask) against IPv4+ARP+RARP or IPv6, as libpcap's gen_host does."""
    values, masks = _words(address), _words(mask)
    parts = [(i * 4, v & m, m) for i, (v, m) in enumerate(zip(values, masks, strict=True)) if m]
    if len(address) == 16:
        def v6(view: View) -> bool:
            if view.kind() != IP6:
                return False
            return _either(node.direction, lambda side: all(
                view.ip6_word(8 + 16 * side + at) & m == v for at, v, m in parts))
        return v6
    kinds = (IP4, ARP_TYPE, RARP_TYPE) if node.proto is None else (_TYPES[node.proto],)
    direction, value, mask4 = node.direction, parts[0][1] if parts else 0, \
        parts[0][2] if parts else 0

    def v4(view: View) -> bool:
        kind = view.kind()
        if kind not in kinds:
            return False
        if not mask4:
            return True
        load = view.ip_address if kind == IP4 else view.arp_address
        base, step = (12, 4) if kind == IP4 else (14, 10)
        return _either(direction, lambda side: load(base + step * side) & mask4 == value)
    return v4


def _ether(node: Host) -> Predicate:
    mac = node.addresses[0]

    def test(view: View) -> bool:
        if not isinstance(view.link, Ethernet) and view.packet.linktype != LinkType.ETHERNET:
            return False

        def side(which: int) -> bool:
            at = 6 if which == 0 else 0
            data = view.data
            if at + 2 > len(data):
                raise _OutOfBounds
            if data[at:at + 2] != mac[:2]:
                return False
            if at + 6 > len(data):
                raise _OutOfBounds
            return data[at + 2:at + 6] == mac[2:]
        return _either(node.direction, side)
    return test


def _proto(node: Proto) -> Predicate:
    if node.name in _TYPES:
        kind = _TYPES[node.name]
        return lambda view: view.kind() == kind
    number = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmp6": 58}[node.name]
    v4 = node.name != "icmp6"
    v6 = node.name != "icmp"

    def test(view: View) -> bool:
        kind = view.kind()
        if v4 and kind == IP4 and view.ip_proto() == number:
            return True
        if v6 and kind == IP6:
            nxt = view.ip6_next()
            return nxt == number or (nxt == 44 and view.byte(40) == number)
        return False
    return test


def _port(node: Port) -> Predicate:
    protos, low, high = _PORT_PROTOS[node.proto], node.low, node.high

    def test(view: View) -> bool:
        kind = view.kind()
        if kind == IP4 and view.ip_proto() in protos and view.ip_first_fragment() and _either(
                node.direction, lambda side: low <= view.ip_port(2 * side) <= high):
            return True
        if view.kind() == IP6:
            return view.ip6_next() in protos and _either(
                node.direction, lambda side: low <= view.ip6_port(2 * side) <= high)
        return False
    return test


def compile_predicate(node: Node) -> Predicate:  # noqa: PLR0911  # one return per node type
    """A function of a :class:`View` that says whether ``node`` matches it."""
    if isinstance(node, And):
        left, right = compile_predicate(node.left), compile_predicate(node.right)
        return lambda view: left(view) and right(view)
    if isinstance(node, Or):
        left, right = compile_predicate(node.left), compile_predicate(node.right)
        return lambda view: left(view) or right(view)
    if isinstance(node, Not):
        child = compile_predicate(node.child)
        return lambda view: not child(view)
    if isinstance(node, Proto):
        return _proto(node)
    if isinstance(node, Port):
        return _port(node)
    if isinstance(node, Length):
        value = node.value
        if node.op == "<=":
            return lambda view: view.packet.length <= value
        return lambda view: view.packet.length >= value
    if isinstance(node, Host) and node.proto == "ether":
        return _ether(node)
    if isinstance(node, Host):
        tests = [_address_test(node, a, b"\xff" * len(a)) for a in node.addresses]
        return lambda view: any(test(view) for test in tests)
    return _address_test(node, node.network, node.mask)


def evaluate(predicate: Predicate, packet: Packet) -> bool:
    """``predicate`` on ``packet``; a test past the end of the capture rejects it."""
    try:
        return predicate(View(packet))
    except _OutOfBounds:
        return False
