"""Filters: tcpdump's grammar, one meaning in user space and in BPF, and tcpdump as oracle."""

from __future__ import annotations

import re
import struct

import pytest

from wirekit.net.capture import Filter, InvalidFilter, LinkType, Packet, open_capture
from wirekit.net.capture.bpf import compile_filter
from wirekit.net.capture.bpfvm import disassemble, run
from wirekit.net.capture.grammar import parse

from .conftest import needs_tcpdump, tcpdump, tcpdump_filter, write_pcap
from .frames import ipv4, mixed_frames, tcp, udp

KEYWORDS = [
    "ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6",
    "host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.1", "host 2001:db8::1",
    "src host 2001:db8::2", "ip host 10.0.0.2", "arp host 10.0.0.2", "ip6 host ::1",
    "net 10.0.0.0/8", "net 10.1", "dst net 192.168.0.0/16", "net 2001:db8::/32",
    "net fe80::/10", "src net 10.0.0.0 mask 255.255.255.0", "ip6 net 2001:db8::/64",
    "port 80", "src port 80", "dst port 53", "tcp port 80", "udp port 53", "sctp port 3868",
    "port 7", "udp port 9", "portrange 1000-2000", "tcp portrange 1-1024",
    "src portrange 5000-6000", "ether src 02:00:00:00:00:02", "ether host 02:00:00:00:00:01",
    "ether dst 02:00:00:00:00:02", "less 60", "greater 80",
    "src or dst host 10.0.0.53", "src and dst host ::1",
]
# "port 7" is only in an IPv6 packet behind a fragment header, where tcpdump's port does not
# look; every frame has MAC_A at one end.
SELECT_ALL_OR_NONE = {"port 7", "ether host 02:00:00:00:00:01"}
COMBINATIONS = [
    "port 53 or port 80", "not port 80", "tcp and not port 22", "port 80 or 443",
    "host 10.0.0.1 and not 10.0.0.9", "(tcp or udp) and dst port 53",
    "tcp or udp and port 53", "not (ip or ip6)", "ip6 and udp", "icmp or icmp6",
    "! tcp && (udp || arp)", "not not tcp", "src 10.0.0.1 and (dst port 80 or icmp)",
    "ip and not tcp and not udp", "host 10.0.0.1 or host 2001:db8::1 and tcp",
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory):
    path = write_pcap(tmp_path_factory.mktemp("mixed") / "mixed.pcap", mixed_frames())
    with open_capture(path) as reader:
        return path, list(reader)


@pytest.mark.parametrize("expression", KEYWORDS + COMBINATIONS)
def test_user_space_and_bpf_agree(mixed, expression):
    _, packets = mixed
    keep = Filter(expression)
    program = keep.compile()
    by_matching = [p.timestamp_ns for p in packets if keep.matches(p)]
    by_bpf = [p.timestamp_ns for p in packets if run(program, p.data, p.length)]
    assert by_matching == by_bpf
    if expression not in SELECT_ALL_OR_NONE:
        assert 0 < len(by_matching) < len(packets)


@needs_tcpdump
@pytest.mark.parametrize("expression", KEYWORDS + COMBINATIONS)
def test_tcpdump_keeps_the_same_packets(mixed, expression, tmp_path):
    path, packets = mixed
    keep = Filter(expression)
    assert [p.timestamp_ns for p in packets if keep.matches(p)] == \
        tcpdump_filter(path, expression, tmp_path / "out.pcap")


@pytest.mark.parametrize(("text", "tree"), [
    ("tcp or udp and port 53", "((tcp or udp) and port 53)"),  # same precedence, left first
    ("not tcp and udp", "(not tcp and udp)"),
    ("port 80 or 443", "(port 80 or port 443)"),  # the bare value reuses the qualifiers
    ("host 1.2.3.4 and not 5.6.7.8", "(host 1.2.3.4 and not host 5.6.7.8)"),
    ("tcp dst port 80 or 81", "(tcp dst port 80 or tcp dst port 81)"),
    ("src 1.2.3.4", "src host 1.2.3.4"),
    ("1.2.3.4", "host 1.2.3.4"),
    ("src or dst port 80", "port 80"),
    ("src and dst net 10", "src and dst net 10.0.0.0/8"),
    ("dst port domain", "dst port 53"),
    ("portrange 2000-1000", "portrange 1000-2000"),
    ("ip6 host 2001:DB8::1", "ip6 host 2001:db8::1"),
    ("ether src 02-00-00-00-00-01", "ether src 02:00:00:00:00:01"),
    ("", ""),
])
def test_grammar(text, tree):
    assert str(Filter(text)) == tree


@pytest.mark.parametrize(("text", "where"), [
    ("tcp host 1.2.3.4", "'tcp' cannot qualify a host"),
    ("ip port 80", "'ip' cannot qualify a port"),
    ("port", "ends too early"),
    ("host 1.2.3.4 and", "term is missing"),
    ("(tcp", "')' expected"),
    ("tcp)", "unexpected ')'"),
    ("net 10.0.0.1/8", "host bits set"),
    ("ip6 net 10.0.0.0/8", "not an ip6 network"),
    ("port 70000", "out of range"),
    ("port nosuchservice", "unknown port"),
    ("portrange 80", "low-high"),
    ("vlan 5", "'vlan' is not supported"),
    ("ether host 1.2.3.4", "not an Ethernet address"),
    ("ip6 host 10.0.0.1", "has no ip6 address"),
    ("less big", "a number was expected"),
    ("host no-such-host.invalid", "unknown host"),
])
def test_bad_expressions_say_what_and_where(text, where):
    with pytest.raises(InvalidFilter, match=re.escape(where)) as info:
        Filter(text)
    assert isinstance(info.value, ValueError)  # a ConfigError: `wirekit sniff` exits 2


def test_an_empty_filter_matches_everything_and_compiles_to_accept(mixed):
    _, packets = mixed
    assert all(Filter("").matches(p) for p in packets)
    assert disassemble(Filter("").compile()) == "(000) ja       1\n(001) ret      #262144\n" \
        "(002) ret      #0"


def test_compiled_program_for_tcp_port(mixed):
    text = Filter("tcp port 80").disassemble()
    lines = text.splitlines()
    assert lines[0] == "(000) ldh      [12]"
    assert "ldxb     4*([14]&0xf)" in text and "jset     #0x1fff" in text
    assert lines[-2:] == ["(019) ret      #262144", "(020) ret      #0"]


def test_snap_length_is_the_accept_value():
    program = Filter("udp").compile(snaplen=96)
    packet = Packet(b"\0" * 12 + b"\x08\x00" + ipv4(udp(1, 2, b"x" * 200), 17))
    assert run(program, packet.data) == 96


@pytest.mark.parametrize("linktype", [LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.RAW,
                                      LinkType.IPV4])
def test_other_link_types_compile_and_agree(linktype):
    inner = [ipv4(tcp(1000, 80), 6), ipv4(udp(53, 9, b"d"), 17, "10.9.9.9", "10.0.0.2")]
    heads = {LinkType.LINUX_SLL: struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x0800),
             LinkType.LINUX_SLL2: struct.pack("!HxxIHBB8s", 0x0800, 1, 1, 0, 6, b"\0" * 8)}
    packets = [Packet(heads.get(linktype, b"") + frame, linktype=linktype) for frame in inner]
    for expression in ("tcp", "udp port 53", "host 10.9.9.9", "ip", "not ip6", "port 80"):
        keep = Filter(expression)
        program = keep.compile(linktype)
        assert [keep.matches(p) for p in packets] == [bool(run(program, p.data))
                                                     for p in packets], expression


def test_ether_filters_need_ethernet():
    with pytest.raises(InvalidFilter, match="Ethernet"):
        Filter("ether host 02:00:00:00:00:01").compile(LinkType.LINUX_SLL2)


def test_a_filter_too_big_for_bpf_is_refused_not_truncated():
    text = " or ".join(f"host 10.0.{i // 250}.{i % 250}" for i in range(400))
    with pytest.raises(InvalidFilter, match="BPF"):
        compile_filter(parse(text), LinkType.ETHERNET)


def test_a_cut_packet_is_rejected_where_bpf_would_read_past_its_end():
    frame = b"\0" * 12 + b"\x08\x00" + ipv4(tcp(1234, 80), 6)
    cut = Packet(frame[:36], wire_length=len(frame))  # ports absent: 2 bytes of TCP
    for expression in ("port 80", "not port 80", "tcp", "host 10.0.0.1"):
        keep = Filter(expression)
        assert keep.matches(cut) == bool(run(keep.compile(), cut.data, cut.length))
    assert not Filter("not port 80").matches(cut)  # the load fails: rejected, not negated
    assert Filter("tcp").matches(cut)


@needs_tcpdump
def test_tcpdump_reads_our_file_and_agrees_on_each_packet(mixed):
    path, packets = mixed
    result = tcpdump("-nn", "-S", "-r", str(path))
    lines = result.stdout.splitlines()
    assert len(lines) == len(packets)
    for line, packet in zip(lines, packets, strict=True):
        ours, theirs = packet.summary(), line.split(" ", 1)[1]
        head = ours.split(":", 1)[0] if packet.ip else ours.split(",", 1)[0]
        if packet.problem is None and (packet.tcp or packet.udp or packet.icmp or packet.arp):
            assert theirs.startswith(head), (ours, theirs)
        if packet.tcp is not None:
            assert f"Flags [{packet.tcp.flag_text}]" in theirs
