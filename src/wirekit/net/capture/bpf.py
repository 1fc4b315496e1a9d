"""Filters compiled to classic BPF, attached to a packet socket with ``SO_ATTACH_FILTER``.

The kernel runs the program on each packet before it is queued to the socket, so what the
filter rejects costs no copy and no wake-up, and cannot fill the socket's buffer (the reason
a filtered capture does not drop at rates where an unfiltered one does). The instruction set
is the 1993 BSD Packet Filter's (McCanne and Jacobson, USENIX Winter 1993), as Linux accepts
it (Documentation/networking/filter.rst): an accumulator ``A``, an index ``X``, loads at
absolute or ``X``-relative offsets, forward conditional jumps of at most 255 instructions. A
load past the end of the packet ends the program with 0: the packet is rejected.

The code generator follows the tree of :mod:`wirekit.net.capture.grammar` with a true and a
false label per node (``and``: the left side's true label is the right side; ``not`` swaps
them), and each primitive loads what it tests in the order :mod:`wirekit.net.capture.match`
tests it, so the two accept the same packets. :mod:`wirekit.net.capture.bpfvm` runs and prints
the programs.
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from wirekit.net.capture.errors import CaptureError, InvalidFilter
from wirekit.net.capture.grammar import And, Host, Length, Net, Node, Not, Or, Port, Proto
from wirekit.net.capture.link import LinkType
from wirekit.net.capture.match import IP4, IP6

__all__ = ["KERNEL_COOKED", "Instruction", "attach", "compile_filter"]

#: Not a LINKTYPE: a SOCK_DGRAM packet socket, whose packets start at the network header and
#: whose EtherType is the ancillary load ``SKF_AD_PROTOCOL`` (used for ``-i any``).
KERNEL_COOKED = -1
MAX_INSTRUCTIONS = 4096  # BPF_MAXINSNS
SO_ATTACH_FILTER = 26
_AD = 0xFFFFF000  # SKF_AD_OFF: ancillary data
AD_PROTOCOL, AD_PKTTYPE, AD_IFINDEX = _AD + 0, _AD + 4, _AD + 8
PACKET_OUTGOING = 4

LD, LDX, ALU, JMP, RET = 0x00, 0x01, 0x04, 0x05, 0x06
W, H, B = 0x00, 0x08, 0x10
IMM, ABS, IND, LEN, MSH = 0x00, 0x20, 0x40, 0x80, 0xA0
AND_K = ALU | 0x50
JA, JEQ, JGT, JGE, JSET = JMP | 0x00, JMP | 0x10, JMP | 0x20, JMP | 0x30, JMP | 0x40
_PORT_PROTOS = {None: (6, 17, 132), "tcp": (6,), "udp": (17,), "sctp": (132,)}
_TYPES = {"ip": IP4, "ip6": IP6, "arp": 0x0806, "rarp": 0x8035}


@dataclass(frozen=True, slots=True)
class Instruction:
    """One ``struct sock_filter``: opcode, jump offsets if true/false, and the constant."""

    code: int
    jt: int
    jf: int
    k: int

    def pack(self) -> bytes:
        return struct.pack("=HBBI", self.code, self.jt, self.jf, self.k & 0xFFFFFFFF)


#: A test of one side (0: source, 1: destination) that jumps to its true or false label.
Side = Callable[[int, int, int], None]


class _Generator:
    """Emits instructions whose jump targets are labels, resolved by :meth:`program`."""

    def __init__(self, linktype: int) -> None:
        offsets = {LinkType.ETHERNET: 14, LinkType.LINUX_SLL: 16, LinkType.LINUX_SLL2: 20,
                   LinkType.RAW: 0, LinkType.IPV4: 0, LinkType.IPV6: 0, KERNEL_COOKED: 0}
        if linktype not in offsets:
            raise InvalidFilter(f"filters are not supported on link type {linktype}")
        self.linktype, self.n = linktype, offsets[linktype]
        self.code: list[tuple[int, int | None, int | None, int] | int] = []  # int: a label
        self.labels = 0

    def label(self) -> int:
        self.labels += 1
        return self.labels

    def emit(self, code: int, k: int = 0, jt: int | None = None, jf: int | None = None) -> None:
        self.code.append((code, jt, jf, k))

    def place(self, label: int) -> None:
        self.code.append(-label)

    def jump(self, label: int) -> None:
        self.emit(JA, 0, label, None)

    # the link-layer type -------------------------------------------------------------------
    def kind_is(self, kind: int, t: int | None, f: int) -> None:
        """Jump to ``t`` (None: fall through) if the link-layer type is ``kind``."""
        linktype = self.linktype
        if linktype in (LinkType.IPV4, LinkType.IPV6):
            fixed = IP4 if linktype == LinkType.IPV4 else IP6
            if kind != fixed:
                self.jump(f)
            elif t is not None:
                self.jump(t)
            return
        if linktype == LinkType.RAW:
            if kind not in (IP4, IP6):
                self.jump(f)
                return
            self.emit(LD | B | ABS, 0)
            self.emit(AND_K, 0xF0)
            self.emit(JEQ, 0x40 if kind == IP4 else 0x60, t, f)
            return
        if linktype == KERNEL_COOKED:
            self.emit(LD | W | ABS, AD_PROTOCOL)
        else:
            at = {LinkType.ETHERNET: 12, LinkType.LINUX_SLL: 14, LinkType.LINUX_SLL2: 0}
            self.emit(LD | H | ABS, at[LinkType(linktype)])
        self.emit(JEQ, kind, t, f)

    # the tree ------------------------------------------------------------------------------
    def node(self, node: Node, t: int, f: int) -> None:  # noqa: PLR0911  # one per node type
        if isinstance(node, And | Or):
            middle = self.label()
            if isinstance(node, And):
                self.node(node.left, middle, f)
            else:
                self.node(node.left, t, middle)
            self.place(middle)
            return self.node(node.right, t, f)
        if isinstance(node, Not):
            return self.node(node.child, f, t)
        if isinstance(node, Proto):
            return self.proto(node.name, t, f)
        if isinstance(node, Port):
            return self.port(node, t, f)
        if isinstance(node, Length):
            self.emit(LD | W | LEN)
            if node.op == "<=":
                return self.emit(JGT, node.value, f, t)
            return self.emit(JGE, node.value, t, f)
        if isinstance(node, Host) and node.proto == "ether":
            return self.ether(node, t, f)
        if isinstance(node, Host):
            for address in node.addresses[:-1]:
                after = self.label()
                self.address(node, address, b"\xff" * len(address), t, after)
                self.place(after)
            return self.address(node, node.addresses[-1], b"\xff" * len(node.addresses[-1]),
                                t, f)
        return self.address(node, node.network, node.mask, t, f)

    def sides(self, direction: str, test: Side, t: int, f: int) -> None:
        """``test(which, t, f)`` for the source (0) and/or destination (1)."""
        if direction in ("src", "dst"):
            test(0 if direction == "src" else 1, t, f)
            return
        middle = self.label()
        if direction == "src and dst":
            test(0, middle, f)
        else:
            test(0, t, middle)
        self.place(middle)
        test(1, t, f)

    def proto(self, name: str, t: int, f: int) -> None:
        if name in _TYPES:
            return self.kind_is(_TYPES[name], t, f)
        number = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmp6": 58}[name]
        n, v6 = self.n, self.label()
        if name != "icmp6":
            self.kind_is(IP4, None, v6 if name != "icmp" else f)
            self.emit(LD | B | ABS, n + 9)
            self.emit(JEQ, number, t, v6 if name != "icmp" else f)
        if name == "icmp":
            return None
        self.place(v6)
        self.kind_is(IP6, None, f)
        self.emit(LD | B | ABS, n + 6)
        self.emit(JEQ, number, t, None)
        self.emit(JEQ, 44, None, f)
        self.emit(LD | B | ABS, n + 40)
        return self.emit(JEQ, number, t, f)

    def _protos(self, protos: tuple[int, ...], ok: int, f: int) -> None:
        for number in protos[:-1]:
            self.emit(JEQ, number, ok, None)
        self.emit(JEQ, protos[-1], ok, f)

    def _range(self, low: int, high: int, t: int, f: int) -> None:
        if low == high:
            self.emit(JEQ, low, t, f)
        else:
            self.emit(JGE, low, None, f)
            self.emit(JGT, high, f, t)

    def port(self, node: Port, t: int, f: int) -> None:
        n, protos, v6, ok, ok6 = self.n, _PORT_PROTOS[node.proto], *(self.label()
                                                                       for _ in range(3))

        def v4_side(which: int, yes: int, no: int) -> None:
            self.emit(LD | H | IND, n + 2 * which)
            self._range(node.low, node.high, yes, no)

        def v6_side(which: int, yes: int, no: int) -> None:
            self.emit(LD | H | ABS, n + 40 + 2 * which)
            self._range(node.low, node.high, yes, no)

        self.kind_is(IP4, None, v6)
        self.emit(LD | B | ABS, n + 9)
        self._protos(protos, ok, v6)
        self.place(ok)
        self.emit(LD | H | ABS, n + 6)
        self.emit(JSET, 0x1FFF, v6, None)
        self.emit(LDX | B | MSH, n)
        self.sides(node.direction, v4_side, t, v6)
        self.place(v6)
        self.kind_is(IP6, None, f)
        self.emit(LD | B | ABS, n + 6)
        self._protos(protos, ok6, f)
        self.place(ok6)
        self.sides(node.direction, v6_side, t, f)

    def address(self, node: Host | Net, address: bytes, mask: bytes, t: int, f: int) -> None:
        n = self.n
        words = [(i, int.from_bytes(address[i:i + 4], "big"),
                  int.from_bytes(mask[i:i + 4], "big")) for i in range(0, len(address), 4)]
        words = [(i, v & m, m) for i, v, m in words if m]

        def compare(base: int, yes: int, no: int) -> None:
            for number, (at, value, m) in enumerate(words):
                self.emit(LD | W | ABS, base + at)
                if m != 0xFFFFFFFF:
                    self.emit(AND_K, m)
                last = number == len(words) - 1
                self.emit(JEQ, value, yes if last else None, no)
            if not words:
                self.jump(yes)

        if len(address) == 16:
            self.kind_is(IP6, None, f)
            return self.sides(node.direction, lambda w, y, no: compare(n + 8 + 16 * w, y, no),
                              t, f)
        kinds: tuple[int, ...] = (IP4, 0x0806, 0x8035) if node.proto is None \
            else (_TYPES[node.proto],)
        if self.linktype in (LinkType.RAW, LinkType.IPV4, LinkType.IPV6):
            kinds = tuple(k for k in kinds if k == IP4)
        for index, kind in enumerate(kinds):
            nxt = self.label() if index < len(kinds) - 1 else f
            base, step = (12, 4) if kind == IP4 else (14, 10)
            self.kind_is(kind, None, nxt)

            def side(which: int, yes: int, no: int, base: int = base, step: int = step) -> None:
                compare(n + base + step * which, yes, no)
            self.sides(node.direction, side, t, nxt)
            if nxt != f:
                self.place(nxt)
        return None

    def ether(self, node: Host, t: int, f: int) -> None:
        if self.linktype != LinkType.ETHERNET:
            raise InvalidFilter("'ether' filters need an Ethernet link (not -i any)")
        mac = node.addresses[0]

        def side(which: int, yes: int, no: int) -> None:
            at = 6 if which == 0 else 0
            self.emit(LD | H | ABS, at)
            self.emit(JEQ, int.from_bytes(mac[:2], "big"), None, no)
            self.emit(LD | W | ABS, at + 2)
            self.emit(JEQ, int.from_bytes(mac[2:], "big"), yes, no)
        self.sides(node.direction, side, t, f)

    def program(self) -> list[Instruction]:
        where: dict[int, int] = {}
        count = 0
        for item in self.code:
            if isinstance(item, int):
                where[-item] = count
            else:
                count += 1
        out: list[Instruction] = []
        for item in self.code:
            if isinstance(item, int):
                continue
            code, jt, jf, k = item
            here = len(out) + 1

            def offset(label: int | None, limit: int, here: int = here) -> int:
                distance = 0 if label is None else where[label] - here
                if not 0 <= distance <= limit:
                    raise InvalidFilter("the filter is too long for classic BPF's jumps")
                return distance
            if code == JA:
                out.append(Instruction(JA, 0, 0, offset(jt, 0xFFFFFFFF)))
            else:
                out.append(Instruction(code, offset(jt, 255), offset(jf, 255), k))
        if len(out) > MAX_INSTRUCTIONS:
            raise InvalidFilter(f"the filter needs {len(out)} BPF instructions (max 4096)")
        return out


def compile_filter(tree: Node | None, linktype: int, snaplen: int = 262144, *,
                   skip_outgoing_ifindex: int | None = None) -> list[Instruction]:
    """The BPF program accepting (up to ``snaplen`` bytes of) what ``tree`` matches on
    ``linktype``. ``skip_outgoing_ifindex`` also drops packets *sent* on that interface:
    on loopback each packet is seen leaving and arriving, and libpcap keeps only the arrival."""
    gen = _Generator(linktype)
    accept, reject = gen.label(), gen.label()
    if skip_outgoing_ifindex is not None:
        main = gen.label()
        gen.emit(LD | W | ABS, AD_PKTTYPE)
        gen.emit(JEQ, PACKET_OUTGOING, None, main)
        gen.emit(LD | W | ABS, AD_IFINDEX)
        gen.emit(JEQ, skip_outgoing_ifindex, reject, main)
        gen.place(main)
    if tree is None:
        gen.jump(accept)
    else:
        gen.node(tree, accept, reject)
    gen.place(accept)
    gen.emit(RET, snaplen)
    gen.place(reject)
    gen.emit(RET, 0)
    return gen.program()


def attach(sock: socket.socket, program: list[Instruction]) -> None:
    """Attach ``program`` to ``sock`` (``SO_ATTACH_FILTER``, socket(7)), replacing any."""
    code = b"".join(instruction.pack() for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError as exc:
        raise CaptureError(exc.errno, f"the kernel refused the filter: {exc.strerror}") from exc
