"""Live capture on loopback (and on a veth pair in a network namespace) of traffic each test
sends itself, filtered on the test's own ports; checked field by field and against tcpdump."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from wirekit.net.capture import (
    ICMP,
    TCP,
    UDP,
    CaptureError,
    Ethernet,
    Filter,
    ICMPv6,
    IPv4,
    IPv6,
    LinkType,
    LinuxSLL2,
    LiveCapture,
    Packet,
    PcapWriter,
    TCPFlags,
    capture,
)

from ...conftest import needs_ipv6
from .conftest import needs_capture, needs_tcpdump, tcpdump, tcpdump_filter
from .frames import checksum

pytestmark = needs_capture
REQUEST = b"GET /capture HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"


def collect(cap: LiveCapture, done: Callable[[list[Packet]], bool],
            seconds: float = 10) -> list[Packet]:
    """Packets until ``done(packets)`` says enough (each wait bounded, none a sleep)."""
    deadline, got = time.monotonic() + seconds, []
    while not done(got):
        left = deadline - time.monotonic()
        assert left > 0, "timed out; got:\n" + "\n".join(p.summary() for p in got)
        packet = cap.next_packet(left)
        if packet is not None:
            got.append(packet)
    return got


def free_port(family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(family, kind) as probe:
        probe.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return probe.getsockname()[1]


def http_exchange(listener: socket.socket) -> tuple[int, int]:
    """One HTTP request and response over a fresh TCP connection; returns both ports."""
    host, server_port = listener.getsockname()[:2]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(RESPONSE)
    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection((host, server_port), timeout=10) as client:
        client_port = client.getsockname()[1]
        client.sendall(REQUEST)
        while client.recv(4096):
            pass
    thread.join(10)
    listener.close()
    return client_port, server_port


def both_fins(packets: list[Packet]) -> bool:
    fins = {p.tcp.sport for p in packets if p.tcp and p.tcp.flags & TCPFlags.FIN}
    return len(fins) == 2


def check_handshake_and_http(packets: list[Packet], client: int, server: int) -> None:
    tcps = [p for p in packets if p.tcp is not None]
    syn, synack, ack = tcps[:3]
    assert [p.tcp.flag_text for p in (syn, synack, ack)] == ["S", "S.", "."]  # type: ignore[union-attr]
    s, sa, a = syn.tcp, synack.tcp, ack.tcp
    assert isinstance(s, TCP) and isinstance(sa, TCP) and isinstance(a, TCP)
    assert (s.sport, s.dport, sa.sport, sa.dport) == (client, server, server, client)
    assert s.ack == 0 and sa.ack == (s.seq + 1) % 2**32
    assert (a.seq, a.ack) == ((s.seq + 1) % 2**32, (sa.seq + 1) % 2**32)
    assert {o.name for o in s.options} >= {"mss", "sackOK", "TS", "wscale"}
    assert s.header_length == 20 + len(s.option_bytes) and s.window > 0
    request = next(p for p in tcps if p.payload.startswith(b"GET"))
    response = next(p for p in tcps if p.payload.startswith(b"HTTP"))
    assert request.payload == REQUEST and response.payload == RESPONSE
    assert request.tcp.flags & TCPFlags.PSH and request.tcp.seq == a.seq  # type: ignore[union-attr]
    assert response.tcp.seq == (sa.seq + 1) % 2**32  # type: ignore[union-attr]
    for packet in tcps:
        assert isinstance(packet.link, Ethernet)
        assert packet.link.src == packet.link.dst == "00:00:00:00:00:00"
        assert packet.length == len(packet.data) and packet.problem is None
        assert packet.timestamp == pytest.approx(time.time(), abs=60)
        ip = packet.ip
        if isinstance(ip, IPv4):
            assert (ip.src, ip.dst, ip.protocol, ip.ttl) == ("127.0.0.1", "127.0.0.1", 6, 64)
            assert ip.dont_fragment and ip.length == len(packet.data) - 14
            assert packet.link.ethertype == 0x0800
        else:
            assert isinstance(ip, IPv6)
            assert (ip.src, ip.dst, ip.next_header, ip.hop_limit) == ("::1", "::1", 6, 64)
            assert ip.payload_length == len(packet.data) - 54
            assert packet.link.ethertype == 0x86DD


@needs_tcpdump
def test_tcp_handshake_and_http_request_over_ipv4_match_tcpdump(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    with capture("lo", f"tcp port {listener.getsockname()[1]}") as cap:
        client, server = http_exchange(listener)
        packets = collect(cap, both_fins)
    check_handshake_and_http(packets, client, server)
    path = tmp_path / "http.pcap"
    with PcapWriter(path, nanoseconds=True) as writer:
        for packet in packets:
            writer.write(packet)
    result = tcpdump("-nn", "-S", "-r", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(packets)
    for line, packet in zip(lines, packets, strict=True):
        theirs = line.split(" ", 1)[1].split(": HTTP", 1)[0]
        assert theirs == packet.summary()


@needs_ipv6
def test_tcp_handshake_and_http_request_over_ipv6():
    listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    with capture("lo", f"ip6 and tcp port {listener.getsockname()[1]}") as cap:
        client, server = http_exchange(listener)
        packets = collect(cap, both_fins)
    check_handshake_and_http(packets, client, server)


@pytest.mark.parametrize(("family", "host"), [
    (socket.AF_INET, "127.0.0.1"), pytest.param(socket.AF_INET6, "::1", marks=needs_ipv6)])
def test_udp_datagrams_and_the_kernel_filter_keeps_other_ports_out(family, host):
    wanted, other = free_port(family), free_port(family)
    with socket.socket(family, socket.SOCK_DGRAM) as sender, \
            capture("lo", f"udp dst port {wanted}") as cap:
        sender.sendto(b"not this one", (host, other))
        sender.sendto(b"hello capture", (host, wanted))
        sport = sender.getsockname()[1]
        [packet] = collect(cap, lambda got: len(got) == 1)
        stats = cap.stats
    udp = packet.udp
    assert isinstance(udp, UDP)
    assert (udp.sport, udp.dport, udp.length) == (sport, wanted, 8 + 13)
    assert packet.payload == b"hello capture"
    assert packet.ip is not None and (packet.ip.src, packet.ip.dst) == (host, host)
    assert packet.summary().endswith(f"{host}.{wanted}: UDP, length 13")
    assert (stats.captured, stats.received, stats.dropped) == (1, 1, 0)


def _echo_request(ident: int, v6: bool) -> bytes:
    kind = 128 if v6 else 8
    body = struct.pack("!BBHHH", kind, 0, 0, ident, 1) + b"wirekit!" * 7
    return body if v6 else body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def test_icmp_echo_request_and_reply():
    ident = os.getpid() & 0xFFFF
    with capture("lo", "icmp") as cap, \
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        raw.sendto(_echo_request(ident, False), ("127.0.0.1", 0))
        got = collect(cap, lambda got: {(p.icmp.type, p.icmp.identifier) for p in got
                                        if p.icmp} >= {(8, ident), (0, ident)})
    request = next(p for p in got if p.icmp and p.icmp.type == 8 and p.icmp.identifier == ident)
    reply = next(p for p in got if p.icmp and p.icmp.type == 0 and p.icmp.identifier == ident)
    for packet, name in ((request, "echo request"), (reply, "echo reply")):
        assert isinstance(packet.icmp, ICMP)
        assert (packet.icmp.name, packet.icmp.code, packet.icmp.sequence) == (name, 0, 1)
        assert packet.payload == b"wirekit!" * 7
        assert packet.summary() == (f"IP 127.0.0.1 > 127.0.0.1: ICMP {name}, id {ident}, "
                                    "seq 1, length 64")


@needs_ipv6
def test_icmpv6_echo_on_the_ipv6_loopback():
    ident = (os.getpid() + 1) & 0xFFFF
    with capture("lo", "icmp6") as cap, \
            socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as raw:
        raw.sendto(_echo_request(ident, True), ("::1", 0))
        got = collect(cap, lambda got: {(p.icmp.type, p.icmp.identifier) for p in got
                                        if p.icmp} >= {(128, ident), (129, ident)})
    reply = next(p for p in got if p.icmp and p.icmp.type == 129 and p.icmp.identifier == ident)
    assert isinstance(reply.icmp, ICMPv6) and reply.icmp.name == "echo reply"
    assert reply.summary() == f"IP6 ::1 > ::1: ICMP6, echo reply, id {ident}, seq 1, length 64"


def test_any_interface_gives_cooked_headers_with_the_interface():
    port = free_port()
    with capture("any", f"udp port {port}", count=1, timeout=10) as cap, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"any", ("127.0.0.1", port))
        packets = list(cap)
    assert cap.linktype == LinkType.LINUX_SLL2 and len(packets) == 1  # outgoing copy dropped
    link = packets[0].link
    assert isinstance(link, LinuxSLL2)
    assert (link.interface, link.protocol, link.packet_type) == ("lo", 0x0800, 0)
    assert packets[0].payload == b"any" and packets[0].summary().startswith("lo IP 127.0.0.1.")


def test_snap_length_cuts_and_the_wire_length_stays():
    port = free_port()
    with capture("lo", f"udp port {port}", snaplen=60, count=1, timeout=10) as cap, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"x" * 1000, ("127.0.0.1", port))
        [packet] = list(cap)
    assert len(packet.data) == 60 and packet.length == 14 + 20 + 8 + 1000
    assert packet.udp is not None and packet.udp.length == 1008
    assert packet.summary().endswith("UDP, length 1000")


def test_count_and_timeout_end_the_iteration_and_close_the_socket():
    port = free_port()
    started = time.monotonic()
    cap = capture("lo", f"udp port {port}", timeout=0.3)
    assert list(cap) == [] and cap.closed
    assert 0.3 <= time.monotonic() - started < 5
    assert cap.stats.captured == 0


def test_an_unknown_interface_is_one_clear_error():
    with pytest.raises(CaptureError, match="no such interface: 'wk-nope0'") as info:
        LiveCapture("wk-nope0")
    assert info.value.errno == errno.ENODEV


def test_without_root_the_error_says_what_is_missing():
    code = ("from wirekit.net.capture import capture, CapturePermissionError\n"
            "try:\n    capture('lo')\nexcept CapturePermissionError as e:\n"
            "    print(type(e).__mro__[1].__name__, isinstance(e, PermissionError), e)\n")
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
         code], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode and "setpriv" in result.stderr:
        pytest.skip(f"cannot drop privileges here: {result.stderr.strip()}")
    assert result.stdout.strip() == ("CaptureError True capturing packets needs root or "
                                     "CAP_NET_RAW (the kernel refused socket(AF_PACKET))")


@pytest.fixture
def veth() -> Iterator[tuple[str, str, str]]:
    """A veth pair with one end in a new network namespace: (host end, its address, peer)."""
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    tag = uuid.uuid4().hex[:6]
    ns, host, peer = f"wkcap{tag}", f"wka{tag}", f"wkb{tag}"
    octet = int(tag[:2], 16) % 200 + 20
    mine, theirs = f"10.{octet}.77.1", f"10.{octet}.77.2"
    setup = [["ip", "netns", "add", ns],
             ["ip", "link", "add", host, "type", "veth", "peer", "name", peer],
             ["ip", "link", "set", peer, "netns", ns],
             ["ip", "addr", "add", f"{mine}/30", "dev", host],
             ["ip", "link", "set", host, "up"],
             ["ip", "-n", ns, "addr", "add", f"{theirs}/30", "dev", peer],
             ["ip", "-n", ns, "link", "set", peer, "up"]]
    try:
        for command in setup:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode:
                pytest.skip(f"network namespaces unavailable: {' '.join(command)}: "
                            f"{result.stderr.strip()}")
        yield host, mine, theirs
    finally:
        subprocess.run(["ip", "link", "del", host], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def test_arp_udp_and_icmp_unreachable_on_a_veth_pair(veth):
    host, mine, theirs = veth
    port = 33434
    with capture(host, f"arp or udp port {port} or icmp") as cap, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"over the veth", (theirs, port))  # nobody listens: port unreachable
        got = collect(cap, lambda got: any(p.icmp for p in got))
    arps = [p.arp for p in got if p.arp]
    assert arps[0] is not None and (arps[0].operation, arps[0].sender_ip, arps[0].target_ip) \
        == ("Request", mine, theirs)
    reply = next(a for a in arps if a.opcode == 2)
    udp = next(p for p in got if p.udp)
    assert isinstance(udp.link, Ethernet) and udp.link.dst == reply.sender_mac
    assert udp.ip is not None and (udp.ip.src, udp.ip.dst) == (mine, theirs)
    assert udp.payload == b"over the veth"
    icmp = next(p for p in got if p.icmp)
    assert icmp.icmp is not None and icmp.icmp.name == "port unreachable"
    assert icmp.ip is not None and (icmp.ip.src, icmp.ip.dst) == (theirs, mine)


@needs_tcpdump
def test_filters_on_a_live_capture_agree_with_tcpdump(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    tcp_port, udp_port = listener.getsockname()[1], free_port()
    ident = (os.getpid() + 2) & 0xFFFF
    with capture("lo", f"tcp port {tcp_port} or udp port {udp_port} or icmp") as cap, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender, \
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        http_exchange(listener)
        sender.sendto(b"udp", ("127.0.0.1", udp_port))  # nobody reads: port unreachable
        raw.sendto(_echo_request(ident, False), ("127.0.0.1", 0))
        packets = collect(cap, lambda got: both_fins(got) and any(p.udp for p in got) and any(
            p.icmp and p.icmp.type == 0 and p.icmp.identifier == ident for p in got))
    path = tmp_path / "live.pcap"
    with PcapWriter(path) as writer:
        for packet in packets:
            writer.write(packet)
    for expression in (f"tcp dst port {tcp_port}", f"udp port {udp_port}", "icmp",
                       f"src port {tcp_port} and tcp", "not tcp", "host 127.0.0.1 and less 70",
                       f"portrange {udp_port}-{udp_port + 1} or icmp"):
        mine = [p.timestamp_ns // 1000 * 1000 for p in packets if Filter(expression).matches(p)]
        assert mine == tcpdump_filter(path, expression, tmp_path / "out.pcap"), expression
        assert mine, expression
