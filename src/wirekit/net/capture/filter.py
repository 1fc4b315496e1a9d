"""``Filter``: one tcpdump expression, usable on decoded packets and in the kernel.

>>> from wirekit.net.capture import Filter
>>> f = Filter("tcp port 8000 or icmp")
>>> str(f)
'(tcp port 8000 or icmp)'

``f.matches(packet)`` evaluates it in user space (:mod:`wirekit.net.capture.match`);
``f.compile(linktype)`` gives the classic BPF program a live capture attaches
(:mod:`wirekit.net.capture.bpf`). Both have one meaning: tcpdump's.
"""

from __future__ import annotations

from wirekit.net.capture.bpf import Instruction, compile_filter
from wirekit.net.capture.bpfvm import disassemble
from wirekit.net.capture.grammar import Node, parse
from wirekit.net.capture.link import LinkType
from wirekit.net.capture.match import Predicate, compile_predicate, evaluate
from wirekit.net.capture.packet import Packet

__all__ = ["Filter"]


class Filter:
    """A parsed filter expression (pcap-filter(7) subset; see docs/capture.md). An empty
    expression matches every packet. Raises :class:`InvalidFilter` for a bad one."""

    __slots__ = ("_predicate", "expression", "tree")

    def __init__(self, expression: str = "") -> None:
        self.expression = expression
        self.tree: Node | None = parse(expression)
        self._predicate: Predicate | None = None if self.tree is None else \
            compile_predicate(self.tree)

    def matches(self, packet: Packet) -> bool:
        """Whether ``packet`` passes (user-space evaluation on its decoded layers)."""
        return True if self._predicate is None else evaluate(self._predicate, packet)

    def compile(self, linktype: int = LinkType.ETHERNET, snaplen: int = 262144
                ) -> list[Instruction]:
        """The classic BPF program for packets of ``linktype``."""
        return compile_filter(self.tree, linktype, snaplen)

    def disassemble(self, linktype: int = LinkType.ETHERNET) -> str:
        """The program as ``tcpdump -d`` prints one."""
        return disassemble(self.compile(linktype))

    def __str__(self) -> str:
        return "" if self.tree is None else str(self.tree)

    def __repr__(self) -> str:
        return f"Filter({self.expression!r})"
