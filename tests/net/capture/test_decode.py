"""Decoders against frames built byte by byte: every field, and every way a frame can break."""

from __future__ import annotations

import dataclasses
import json
import struct

import pytest

from wirekit.net.capture import (
    ARP,
    ICMP,
    TCP,
    UDP,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    LinkType,
    LinuxSLL,
    LinuxSLL2,
    Malformed,
    Packet,
    TCPFlags,
    Truncated,
)

from .frames import (
    MAC_A,
    MAC_B,
    arp,
    ethernet,
    ext,
    fragment_header,
    icmp,
    ipv4,
    ipv6,
    mixed_frames,
    tcp,
    tcp4,
    udp,
    udp4,
)

SYN_OPTIONS = (b"\x02\x04\x05\xb4"             # mss 1460
               b"\x04\x02"                     # sackOK
               b"\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00"  # TS val 1 ecr 0
               b"\x01"                         # nop
               b"\x03\x03\x07")                # wscale 7


def test_ethernet_ipv4_tcp_every_field():
    frame = tcp4(40000, 8000, "192.0.2.1", "198.51.100.7", seq=123456789, ack=0,
                 flags=TCPFlags.SYN, window=64240, options=SYN_OPTIONS)
    packet = Packet(frame, 1_700_000_000_123_456_789)
    assert packet.link == Ethernet(MAC_B.hex(":"), MAC_A.hex(":"), 0x0800)
    ip = packet.ip
    assert isinstance(ip, IPv4)
    assert (ip.src, ip.dst, ip.protocol, ip.ttl, ip.identification) == (
        "192.0.2.1", "198.51.100.7", 6, 64, 1)
    assert (ip.header_length, ip.length, ip.flags, ip.fragment_offset, ip.tos) == (
        20, 20 + 40, 0b010, 0, 0)
    assert ip.dont_fragment and not ip.more_fragments and not ip.is_fragment
    assert ip.checksum == struct.unpack("!H", frame[24:26])[0]
    t = packet.tcp
    assert isinstance(t, TCP)
    assert (t.sport, t.dport, t.seq, t.ack, t.window, t.urgent, t.header_length) == (
        40000, 8000, 123456789, 0, 64240, 0, 40)
    assert t.flags == TCPFlags.SYN and t.flag_text == "S" and t.flag_names == ("SYN",)
    assert [str(o) for o in t.options] == [
        "mss 1460", "sackOK", "TS val 1 ecr 0", "nop", "wscale 7"]
    assert [o.value for o in t.options][:3] == [1460, None, (1, 0)]
    assert packet.payload == b"" and packet.problem is None
    assert packet.layers == (packet.link, ip, t)
    assert packet.timestamp == pytest.approx(1_700_000_000.123456789)
    assert packet.summary() == (
        "IP 192.0.2.1.40000 > 198.51.100.7.8000: Flags [S], seq 123456789, win 64240, "
        "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0")


@pytest.mark.parametrize(("flags", "text"), [
    (0x12, "S."), (0x10, "."), (0x18, "P."), (0x11, "F."), (0x04, "R"), (0x14, "R."),
    (0xC2, "SEW"), (0x30, ".U"), (0x100 | 0x10, ".e"),
])
def test_tcp_flags_are_spelled_as_tcpdump_does(flags, text):
    packet = Packet(tcp4(1, 2, flags=flags, ack=5))
    assert packet.tcp is not None and packet.tcp.flags == flags
    assert packet.tcp.flag_text == text


def test_payload_stops_at_the_ip_length_not_at_ethernet_padding():
    frame = udp4(5000, 53, b"hi") + b"\0" * 20  # padded to the 60-byte minimum and more
    packet = Packet(frame)
    assert packet.udp == UDP(5000, 53, 10, struct.unpack("!H", frame[40:42])[0])
    assert packet.payload == b"hi"
    assert packet.length == len(frame)


def test_vlan_tags_are_decoded_and_the_inner_type_followed():
    packet = Packet(ethernet(ipv4(udp(1, 2, b"v"), 17), vlans=(10, 20)))
    link = packet.link
    assert isinstance(link, Ethernet)
    assert [(tag.vlan, tag.priority, tag.tpid) for tag in link.vlans] == [
        (10, 3, 0x8100), (20, 3, 0x8100)]
    assert link.ethertype == 0x0800
    assert packet.udp is not None and packet.payload == b"v"


def test_ipv4_options_and_fragments():
    first = Packet(ethernet(ipv4(udp(9, 53, b"x" * 20)[:16], 17, flags=0b001, ident=77,
                                 options=b"\x94\x04\x00\x00")))
    ip = first.ip
    assert isinstance(ip, IPv4)
    assert ip.header_length == 24 and [str(o) for o in ip.options] == ["RA 0000"]
    assert ip.more_fragments and ip.is_fragment and ip.fragment_offset == 0
    assert first.udp is not None  # the first fragment carries the UDP header
    later = Packet(ethernet(ipv4(b"y" * 24, 17, flags=0, offset=1480, ident=77)))
    assert later.ip is not None and later.ip.fragment_offset == 1480
    assert later.transport is None and later.payload == b"y" * 24
    assert "frag id 77, offset 1480" in later.summary()


def test_ipv6_extension_headers_and_fragments():
    packet = Packet(ethernet(ipv6(ext(60) + ext(6) + tcp(1, 80, src="2001:db8::1",
                                                          dst="2001:db8::2"), 0), 0x86DD))
    ip = packet.ip
    assert isinstance(ip, IPv6)
    assert [e.name for e in ip.extensions] == ["hop-by-hop", "destination"]
    assert ip.next_header == 0 and ip.protocol == 6
    assert packet.tcp is not None and packet.tcp.dport == 80
    frag = Packet(ethernet(ipv6(fragment_header(17, 0, True, 0xABCD) + udp(7, 53, b"f"), 44),
                           0x86DD))
    ip = frag.ip
    assert isinstance(ip, IPv6)
    header = ip.extensions[0]
    assert (header.name, header.fragment_offset, header.more_fragments,
            header.identification) == ("fragment", 0, True, 0xABCD)
    assert frag.udp is not None
    later = Packet(ethernet(ipv6(fragment_header(17, 64, False, 1) + b"rest", 44), 0x86DD))
    assert later.ip is not None and later.ip.extensions[0].fragment_offset == 64
    assert later.transport is None and later.payload == b"rest"


def test_ipv6_header_fields():
    packet = Packet(ethernet(ipv6(udp(1, 2, b"z"), 17, "::1", "fe80::1", hlim=255, tclass=0xB8,
                                  flow=0x12345), 0x86DD))
    assert packet.ip == IPv6("::1", "fe80::1", 17, 255, 9, 0xB8, 0x12345, (), 17)


def test_icmp_echo_and_unreachable():
    echo = Packet(ethernet(ipv4(icmp(8, ident=0x1234, seq=9, payload=b"abc"), 1)))
    assert echo.icmp == ICMP(8, 0, struct.unpack("!H", echo.data[36:38])[0],
                             b"\x12\x34\x00\x09")
    assert echo.icmp is not None
    assert (echo.icmp.name, echo.icmp.identifier, echo.icmp.sequence) == (
        "echo request", 0x1234, 9)
    assert echo.summary() == "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 9, length 11"
    unreachable = Packet(ethernet(ipv4(icmp(3, 3, 0, 0, b""), 1)))
    assert unreachable.icmp is not None and unreachable.icmp.name == "port unreachable"


def test_icmpv6_echo_and_neighbour_discovery():
    echo = Packet(ethernet(ipv6(icmp(129, ident=5, seq=6, v6=True), 58, "::1", "::1"), 0x86DD))
    assert isinstance(echo.icmp, ICMPv6)
    assert (echo.icmp.type, echo.icmp.name, echo.icmp.identifier, echo.icmp.sequence) == (
        129, "echo reply", 5, 6)
    assert echo.summary() == "IP6 ::1 > ::1: ICMP6, echo reply, id 5, seq 6, length 12"
    ns = Packet(ethernet(ipv6(icmp(135, v6=True), 58, "::1", "::1"), 0x86DD))
    assert ns.icmp is not None and ns.icmp.name == "neighbor solicitation"


def test_arp_request_and_reply():
    request = Packet(ethernet(arp(1, "10.0.0.1", "10.0.0.2"), 0x0806))
    assert request.arp == ARP(1, 0x0800, 1, MAC_A.hex(":"), "10.0.0.1", "00:00:00:00:00:00",
                              "10.0.0.2")
    assert request.summary() == "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28"
    reply = Packet(ethernet(arp(2, "10.0.0.2", "10.0.0.1", MAC_B, MAC_A), 0x0806))
    assert reply.summary() == f"ARP, Reply 10.0.0.2 is-at {MAC_B.hex(':')}, length 28"


def test_linux_cooked_headers_and_raw_ip():
    inner = ipv4(udp(1, 2, b"c"), 17)
    sll = struct.pack("!HHH8sH", 4, 772, 6, b"\0" * 8, 0x0800) + inner
    packet = Packet(sll, linktype=LinkType.LINUX_SLL)
    assert packet.link == LinuxSLL(4, 772, "00:00:00:00:00:00", 0x0800)
    assert packet.udp is not None
    sll2 = struct.pack("!HxxIHBB8s", 0x0800, 1, 772, 0, 6, b"\0" * 8) + inner
    packet = Packet(sll2, linktype=LinkType.LINUX_SLL2)
    assert packet.link == LinuxSLL2(0x0800, 1, 772, 0, "00:00:00:00:00:00")
    assert packet.udp is not None
    for linktype in (LinkType.RAW, LinkType.IPV4):
        raw = Packet(inner, linktype=linktype)
        assert raw.link is None and raw.udp is not None and raw.payload == b"c"
    six = Packet(ipv6(udp(1, 2, b"s"), 17), linktype=LinkType.RAW)
    assert isinstance(six.ip, IPv6) and six.payload == b"s"


@pytest.mark.parametrize("frame", mixed_frames(), ids=lambda f: f.hex()[24:40])
def test_every_prefix_of_a_frame_decodes_without_raising(frame):
    for cut in range(len(frame) + 1):
        packet = Packet(frame[:cut], wire_length=len(frame))
        layers = packet.layers
        assert all(not isinstance(x, Truncated | Malformed) for x in layers[:-1])
        str(packet)
        json.dumps(packet.as_dict())
        packet.hexdump()
        if cut < 14:
            assert packet.problem == Truncated("Ethernet", 14, cut)


def test_a_cut_tcp_header_is_shown_as_tcpdump_shows_it():
    packet = Packet(tcp4(40005, 80)[:40], wire_length=54)
    assert packet.problem == Truncated("TCP", 20, 6)
    assert packet.ip is not None and packet.transport is None
    assert packet.summary() == "IP 10.0.0.1.40005 > 10.0.0.2.80: [|tcp]"
    assert packet.length == 54 and len(packet.data) == 40


@pytest.mark.parametrize(("frame", "problem"), [
    (ethernet(b"\x46" + ipv4(b"", 6)[1:]), Truncated("IP", 24, 20)),
    (ethernet(b"\x43" + ipv4(b"", 6)[1:]), Malformed("IP", "header length 12 < 20")),
    (ethernet(b"\x55" + ipv4(b"", 6)[1:]), Malformed("IP", "version 5")),
    (ethernet(ipv4(b"", 6, total=10)), Malformed("IP", "total length 10 < 20")),
    (ethernet(ipv4(b"\0" * 12 + b"\x30" + b"\0" * 7, 6)),
     Malformed("TCP", "header length 12 < 20")),
    (ethernet(ipv6(b"", 6)[:30], 0x86DD), Truncated("IP6", 40, 30)),
    (ethernet(ipv6(b"\x06\x05", 0), 0x86DD), Truncated("IP6-ext", 8, 2)),
    (ethernet(arp(1, "1.2.3.4", "5.6.7.8")[:20], 0x0806), Truncated("ARP", 28, 20)),
])
def test_broken_headers_are_markers_not_exceptions(frame, problem):
    packet = Packet(frame)
    assert packet.problem == problem
    assert str(problem) in packet.summary()


def test_headers_are_frozen_and_compare_by_value():
    packet = Packet(udp4(1, 2, b"x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        packet.udp.sport = 3  # type: ignore[misc, union-attr]
    with pytest.raises(dataclasses.FrozenInstanceError):
        packet.data = b""  # type: ignore[misc]
    assert Packet(udp4(1, 2, b"x")) == packet
    assert Packet(udp4(1, 2, b"x")).udp == packet.udp


def test_json_has_every_layer():
    record = Packet(tcp4(1, 2, flags=0x18, ack=7, payload=b"data"), 5_000_000_000).as_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["time"] == 5.0 and record["payload_length"] == 4
    assert record["link"]["layer"] == "Ethernet"
    assert record["network"]["src"] == "10.0.0.1"
    assert record["transport"]["flag_names"] == ["PSH", "ACK"]
    assert record["problem"] is None


def test_hexdump_is_tcpdump_x_layout():
    dump = Packet(b"GET / HTTP/1.1\r\n\r\n", linktype=147).hexdump().splitlines()
    assert dump[0] == "\t0x0000:  4745 5420 2f20 4854 5450 2f31 2e31 0d0a  GET./.HTTP/1.1.."
    assert dump[1].startswith("\t0x0010:  0d0a")


def test_an_unknown_link_type_is_a_marker():
    packet = Packet(b"\x01\x02", linktype=147)
    assert packet.problem == Malformed("link", "unsupported link type 147")
    assert packet.link is None and packet.payload == b"\x01\x02"


def test_a_timestamp_past_the_year_9999_still_prints():
    # found by fuzzing: a corrupt file's timestamp made time.localtime raise
    packet = Packet(udp4(1, 2, b"t"), 1_700_000_000_123_456_789 * 10**9)
    assert str(packet).endswith("UDP, length 1") and packet.as_dict()["time"] > 0
