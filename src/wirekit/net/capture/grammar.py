"""Capture filters in tcpdump's vocabulary, parsed to a small tree (pcap-filter(7)).

Supported primitives, with tcpdump's meaning:

* ``host H``, ``net N/len`` (or ``net N mask M``, or a partial ``net 10.1``), ``port P``,
  ``portrange A-B``, each optionally after a direction (``src``, ``dst``, ``src or dst``,
  ``src and dst``) and a protocol (``ip``/``ip6``/``arp``/``rarp`` for hosts and nets,
  ``tcp``/``udp``/``sctp`` for ports, ``ether`` for MAC addresses: ``ether src M``);
* the protocols alone: ``ip``, ``ip6``, ``arp``, ``rarp``, ``tcp``, ``udp``, ``sctp``,
  ``icmp``, ``icmp6``;
* ``less N`` and ``greater N`` (the length on the wire);
* ``and``/``&&``, ``or``/``||``, ``not``/``!`` and parentheses. As in tcpdump, ``and`` and
  ``or`` have the same precedence and group from the left, and ``not`` binds tightest.

A bare value after ``and``/``or``/``not`` reuses the qualifiers before it: ``port 80 or 443``
is ``port 80 or port 443``, ``host a and not b`` is ``host a and not host b``.

The tree is evaluated two ways with one meaning: compiled to classic BPF for the kernel
(:mod:`wirekit.net.capture.bpf`), and on decoded packets for files
(:mod:`wirekit.net.capture.match`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from wirekit.net.capture.errors import InvalidFilter

__all__ = ["And", "Host", "Length", "Net", "Node", "Not", "Or", "Port", "Proto", "parse"]

PROTOCOLS = ("ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6")
IP_NUMBERS = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmp6": 58}
_QUALIFIER_PROTOS = (*PROTOCOLS, "ether")
_DIRECTIONS = ("src", "dst")
_TYPES = ("host", "net", "port", "portrange")
_AND, _OR, _NOT = ("and", "&&"), ("or", "||"), ("not", "!")
_UNSUPPORTED = ("vlan", "mpls", "gateway", "broadcast", "multicast", "proto", "len", "inbound",
                "outbound", "ifname", "protochain", "pppoed", "pppoes", "geneve", "wlan")


@dataclass(frozen=True, slots=True)
class Proto:
    """``tcp``, ``ip6``, ...: the packet carries this protocol."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Host:
    """``[proto] [dir] host`` with one or more addresses (a name may resolve to several)."""

    addresses: tuple[bytes, ...]
    direction: str = "src or dst"
    proto: str | None = None

    def __str__(self) -> str:
        def text(raw: bytes) -> str:
            return raw.hex(":") if len(raw) == 6 else str(ipaddress.ip_address(raw))
        kind = "" if self.proto == "ether" and self.direction != "src or dst" else "host"
        head = " ".join(x for x in (self.proto, _direction_text(self.direction), kind) if x)
        return " or ".join(f"{head} {text(a)}" for a in self.addresses)


@dataclass(frozen=True, slots=True)
class Net:
    """``[proto] [dir] net``: ``network`` and ``mask`` are 4 or 16 bytes."""

    network: bytes
    mask: bytes
    direction: str = "src or dst"
    proto: str | None = None

    def __str__(self) -> str:
        prefix = int.from_bytes(self.mask, "big").bit_count()
        net = ipaddress.ip_network((self.network, prefix))
        head = " ".join(x for x in (self.proto, _direction_text(self.direction), "net") if x)
        return f"{head} {net}"


@dataclass(frozen=True, slots=True)
class Port:
    """``[tcp|udp|sctp] [dir] port P`` (``low == high``) or ``portrange low-high``."""

    low: int
    high: int
    direction: str = "src or dst"
    proto: str | None = None

    def __str__(self) -> str:
        kind = f"port {self.low}" if self.low == self.high else f"portrange {self.low}-{self.high}"
        return " ".join(x for x in (self.proto, _direction_text(self.direction), kind) if x)


@dataclass(frozen=True, slots=True)
class Length:
    """``less N`` (``op`` "<=") or ``greater N`` (``op`` ">="): the length on the wire."""

    op: str
    value: int

    def __str__(self) -> str:
        return f"{'less' if self.op == '<=' else 'greater'} {self.value}"


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node

    def __str__(self) -> str:
        return f"({self.left} and {self.right})"


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node

    def __str__(self) -> str:
        return f"({self.left} or {self.right})"


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"not {self.child}"


Node = Proto | Host | Net | Port | Length | And | Or | Not


def _direction_text(direction: str) -> str:
    return "" if direction == "src or dst" else direction


_TOKEN = re.compile(r"\s*(\(|\)|&&|\|\||!|[^\s()!&|]+)")


def _tokens(text: str) -> list[tuple[str, int]]:
    found, at = [], 0
    text = text.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise InvalidFilter(f"unexpected {text[at:].strip()[:1]!r} at {at + 1}", at)
        found.append((match.group(1), match.start(1)))
        at = match.end()
    return found


@dataclass
class _Qualifiers:
    proto: str | None = None
    direction: str = "src or dst"
    kind: str = "host"


class _Parser:
    """Recursive descent over the token list; ``last`` is what a bare value inherits."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.last = _Qualifiers()

    def peek(self, ahead: int = 0) -> str | None:
        index = self.at + ahead
        return self.tokens[index][0] if index < len(self.tokens) else None

    def take(self) -> str:
        if self.at >= len(self.tokens):
            raise InvalidFilter(f"the filter ends too early: {self.text!r}", len(self.text))
        self.at += 1
        return self.tokens[self.at - 1][0]

    def fail(self, message: str) -> InvalidFilter:
        position = self.tokens[min(self.at, len(self.tokens) - 1)][1] if self.tokens else 0
        return InvalidFilter(f"{message} (at character {position + 1} of {self.text!r})",
                             position)

    def expression(self) -> Node:
        node = self.term()
        while self.peek() in (*_AND, *_OR):
            joiner = And if self.take() in _AND else Or
            node = joiner(node, self.term())
        return node

    def term(self) -> Node:
        word = self.peek()
        if word is None:
            raise self.fail("a filter term is missing")
        if word in _NOT:
            self.take()
            return Not(self.term())
        if word == "(":
            self.take()
            node = self.expression()
            if self.peek() != ")":
                raise self.fail("')' expected")
            self.take()
            return node
        if word in (")", *_AND, *_OR):
            raise self.fail(f"unexpected {word!r}")
        return self.primitive()

    def primitive(self) -> Node:
        word = self.take()
        if word in ("less", "greater"):
            return Length("<=" if word == "less" else ">=", _number(self.take(), self))
        if word in _UNSUPPORTED:
            raise self.fail(f"{word!r} is not supported (see pcap-filter(7) subset in "
                            "docs/capture.md)")
        proto, direction, kind = None, None, None
        if word in _QUALIFIER_PROTOS:
            if self.peek() not in (*_DIRECTIONS, *_TYPES):
                if word == "ether":
                    raise self.fail("'ether' needs host, src or dst")
                return Proto(word)
            proto, word = word, self.take()
        if word in _DIRECTIONS:
            direction = word
            if self.peek() in (*_AND, *_OR) and self.peek(1) == ("dst" if word == "src"
                                                                  else "src"):
                direction = f"src {'or' if self.take() in _OR else 'and'} dst"
                self.take()
            word = self.take()
        if word in _TYPES:
            kind, word = word, self.take()
        if proto is None and direction is None and kind is None:
            return self.value(word, self.last)  # a bare value: the previous qualifiers
        self.last = _Qualifiers(proto, direction or "src or dst", kind or "host")
        return self.value(word, self.last)

    def value(self, word: str, q: _Qualifiers) -> Node:
        if word in (*_QUALIFIER_PROTOS, *_DIRECTIONS, *_TYPES, "(", ")"):
            raise self.fail(f"a value was expected, not {word!r}")
        if q.kind in ("port", "portrange"):
            if q.proto not in (None, "tcp", "udp", "sctp"):
                raise self.fail(f"'{q.proto}' cannot qualify a port")
            low, high = _port_range(word, self) if q.kind == "portrange" else \
                (_port(word, self),) * 2
            return Port(low, high, q.direction, q.proto)
        if q.proto not in (None, "ip", "ip6", "arp", "rarp", "ether"):
            raise self.fail(f"'{q.proto}' cannot qualify a {q.kind}")
        if q.kind == "net":
            if q.proto == "ether":
                raise self.fail("'ether net' is not a thing; use 'ether host'")
            mask = None
            if self.peek() == "mask":
                self.take()
                mask = self.take()
            return _net(word, mask, q, self)
        if q.proto == "ether":
            return Host((_mac(word, self),), q.direction, "ether")
        return Host(_addresses(word, q.proto, self), q.direction, q.proto)


def _number(word: str, parser: _Parser) -> int:
    try:
        return int(word, 0)
    except ValueError:
        raise parser.fail(f"a number was expected, not {word!r}") from None


def _port(word: str, parser: _Parser) -> int:
    if word.isdigit():
        if int(word) > 65535:
            raise parser.fail(f"port {word} is out of range")
        return int(word)
    for proto in ("tcp", "udp"):
        try:
            return socket.getservbyname(word, proto)
        except OSError:
            continue
    raise parser.fail(f"unknown port {word!r}")


def _port_range(word: str, parser: _Parser) -> tuple[int, int]:
    low, sep, high = word.partition("-")
    if not sep:
        raise parser.fail(f"a port range is 'low-high', not {word!r}")
    a, b = _port(low, parser), _port(high, parser)
    return (a, b) if a <= b else (b, a)


def _mac(word: str, parser: _Parser) -> bytes:
    digits = re.sub(r"[:.\-]", "", word)
    if len(digits) != 12 or not re.fullmatch(r"[0-9a-fA-F]+", digits):
        raise parser.fail(f"not an Ethernet address: {word!r}")
    return bytes.fromhex(digits)


def _addresses(word: str, proto: str | None, parser: _Parser) -> tuple[bytes, ...]:
    """An address literal, or every address a name resolves to (as tcpdump does)."""
    try:
        found = [ipaddress.ip_address(word)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(word, None, proto=socket.IPPROTO_TCP)
        except OSError:
            raise parser.fail(f"unknown host {word!r}") from None
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    want = {"ip": 4, "arp": 4, "rarp": 4, "ip6": 6}.get(proto or "")
    chosen = tuple(dict.fromkeys(a.packed for a in found if want in (None, a.version)))
    if not chosen:
        raise parser.fail(f"{word!r} has no {proto} address")
    return chosen


def _net(word: str, mask: str | None, q: _Qualifiers, parser: _Parser) -> Net:
    text = word
    if mask is None and "/" not in word and ":" not in word:
        parts = word.split(".")  # a partial network: "10" is 10/8, "10.1" is 10.1/16
        if 1 <= len(parts) <= 4 and all(p.isdigit() for p in parts):
            text = ".".join(parts + ["0"] * (4 - len(parts))) + f"/{8 * len(parts)}"
    try:
        network = ipaddress.ip_network(text if mask is None else f"{word}/{mask}", strict=True)
    except ValueError as exc:
        raise parser.fail(f"bad network {word!r}: {exc}") from None
    want = {"ip": 4, "arp": 4, "rarp": 4, "ip6": 6}.get(q.proto or "")
    if want is not None and want != network.version:
        raise parser.fail(f"{word!r} is not an {q.proto} network")
    return Net(network.network_address.packed, network.netmask.packed, q.direction, q.proto)


def parse(text: str) -> Node | None:
    """The tree of a filter expression; ``None`` for an empty one (everything matches)."""
    parser = _Parser(text)
    if not parser.tokens:
        return None
    node = parser.expression()
    if parser.at != len(parser.tokens):
        raise parser.fail(f"unexpected {parser.peek()!r}")
    return node
