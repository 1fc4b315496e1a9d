"""Packet capture: decoding a pcap file with wirekit, dpkt and scapy; a loopback flood captured
with and without a kernel filter.

Decoding: the bench writes a pcap file of ``--packets`` frames (a mix of TCP over IPv4 with
timestamp options and payloads, UDP, TCP over IPv6, ICMP echo and ARP, the shape of a LAN
capture), then each contender reads it and takes the same fields from every packet: network
source and destination, transport ports, TCP flags. scapy is ~100x slower than the others, so
it reads the first ``--scapy-packets`` only and is compared per packet.

Live (root only; skipped otherwise): a child process floods 127.0.0.1 with UDP datagrams, one
in a hundred to the watched port, for ``--seconds``; the capture runs once with no filter and
once with ``udp dst port P`` compiled to BPF in the kernel, and reports what the kernel dropped
(PACKET_STATISTICS).

    .venv/bin/python bench/capture.py --packets 50000 --seconds 1     # a quick check
    .venv/bin/python bench/capture.py                                 # the issue's size (1M)

Targets (issue 18): decoding at least 10x scapy and at least 1.0x dpkt; with a filter that keeps
1% of the traffic, no drops at the rate where an unfiltered capture drops.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "net" / "capture"))

from frames import arp, ethernet, icmp, ipv4, ipv6, tcp, udp

from wirekit.net.capture import PcapWriter, capture, open_capture

TS_OPTIONS = b"\x01\x01\x08\x0a\x00\x01\x02\x03\x00\x04\x05\x06"


def templates() -> list[bytes]:
    """One hundred frames whose mix repeats through the file."""
    found = []
    for i in range(100):
        a, b = f"10.0.{i % 7}.{i % 250 + 1}", f"192.168.{i % 3}.{i % 200 + 1}"
        if i < 70:
            payload = b"x" * (i * 13 % 1200)
            found.append(ethernet(ipv4(tcp(40000 + i, 443, src=a, dst=b, flags=0x18, ack=9,
                                           options=TS_OPTIONS, payload=payload), 6, a, b)))
        elif i < 82:
            found.append(ethernet(ipv4(udp(50000 + i, 53, b"q" * 40, src=a, dst=b), 17, a, b)))
        elif i < 94:
            s, d = f"2001:db8::{i:x}", "2001:db8::1"
            found.append(ethernet(ipv6(tcp(41000 + i, 80, src=s, dst=d, flags=0x10, ack=3,
                                           options=TS_OPTIONS), 6, s, d), 0x86DD))
        elif i < 98:
            found.append(ethernet(ipv4(icmp(8, ident=i, payload=b"p" * 56), 1, a, b)))
        else:
            found.append(ethernet(arp(1, a, b), 0x0806))
    return found


def generate(path: Path, count: int) -> None:
    frames = templates()
    start = 1_700_000_000 * 10**9
    with PcapWriter(path) as writer:
        for i in range(count):
            writer.write_bytes(frames[i % len(frames)], start + i * 1000)


def run_wirekit(path: Path, limit: int) -> int:
    seen = 0
    with open_capture(path) as reader:
        for packet in reader:
            ip = packet.ip
            if ip is not None:
                fields = [ip.src, ip.dst]
                transport = packet.transport
                if transport is not None and hasattr(transport, "sport"):
                    fields += [transport.sport, transport.dport]  # type: ignore[union-attr]
                    if hasattr(transport, "flags"):
                        fields.append(transport.flags)  # type: ignore[union-attr]
            seen += 1
            if seen == limit:
                break
    return seen


def run_dpkt(path: Path, limit: int) -> int:
    import dpkt

    seen = 0
    with open(path, "rb") as file:
        for _, buf in dpkt.pcap.Reader(file):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                fields = [ip.src, ip.dst]
                transport = ip.data
                if hasattr(transport, "sport"):
                    fields += [transport.sport, transport.dport]
                    if hasattr(transport, "flags"):
                        fields.append(transport.flags)
            seen += 1
            if seen == limit:
                break
    return seen


def run_scapy(path: Path, limit: int) -> int:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    seen = 0
    for packet in PcapReader(str(path)):
        layer = packet.getlayer(IP) or packet.getlayer(IPv6)
        if layer is not None:
            fields = [layer.src, layer.dst]
            transport = packet.getlayer(TCP) or packet.getlayer(UDP)
            if transport is not None:
                fields += [transport.sport, transport.dport]
                if transport.haslayer(TCP):
                    fields.append(int(transport.flags))
        seen += 1
        if seen == limit:
            break
    return seen


def best_of(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        count = work()
        best = min(best, time.perf_counter() - started)
    return best, count


def decode_bench(packets: int, scapy_packets: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wk-capture-") as tmp:
        path = Path(tmp) / "bench.pcap"
        generate(path, packets)
        size = path.stat().st_size
        print(f"decode: {packets:,} packets, {size / 2**20:.1f} MiB, best of {runs}\n")
        contenders: list[tuple[str, Callable[[Path, int], int], int]] = [
            ("wirekit", run_wirekit, packets)]
        for name, runner, limit in (("dpkt", run_dpkt, packets),
                                    ("scapy", run_scapy, min(scapy_packets, packets))):
            if importlib.util.find_spec(name) is None:
                print(f"{name}: not installed, skipped (pip install {name})")
                continue
            contenders.append((name, runner, limit))
        rates = {}
        for name, runner, limit in contenders:
            seconds, count = best_of(runs if name != "scapy" else 1,
                                     lambda r=runner, n=limit: r(path, n))
            rates[name] = count / seconds
        print(f"{'decoder':<10}{'packets/s':>14}{'us/packet':>12}{'wirekit is':>14}")
        for name, rate in rates.items():
            ratio = rates["wirekit"] / rate
            print(f"{name:<10}{rate:>14,.0f}{1e6 / rate:>12.2f}{ratio:>13.2f}x")


FLOOD = """
import socket, sys, time
watched, other, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload, sent, end = b"f" * 64, 0, time.monotonic() + seconds
send = s.sendto
while time.monotonic() < end:
    for _ in range(99):
        send(payload, ("127.0.0.1", other))
    send(payload, ("127.0.0.1", watched))
    sent += 100
print(sent)
"""


def flood(expression: str, seconds: float, watched: int, other: int) -> tuple[int, int, int,
                                                                                int]:
    """(sent, captured, received by filter, dropped) for one flood under ``expression``."""
    with capture("lo", expression) as cap:
        sender = subprocess.Popen([sys.executable, "-c", FLOOD, str(watched), str(other),
                                   str(seconds)], stdout=subprocess.PIPE, text=True)
        while sender.poll() is None:
            cap.next_packet(0.05)
        while cap.next_packet(0.2) is not None:  # drain what is queued
            pass
        stats = cap.stats
    return int(sender.stdout.read()), stats.captured, stats.received, stats.dropped  # type: ignore[union-attr]


def live_bench(seconds: float) -> None:
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except (PermissionError, AttributeError):
        print("\nlive: skipped (needs root or CAP_NET_RAW on Linux)")
        return
    sinks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for sink in sinks:
        sink.bind(("127.0.0.1", 0))
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    watched, other = (sink.getsockname()[1] for sink in sinks)
    print(f"\nlive: UDP flood on lo for {seconds:g} s, 1% to the watched port")
    print(f"{'filter':<28}{'sent':>12}{'captured':>12}{'received':>12}{'dropped':>10}")
    for expression in ("", f"udp dst port {watched}"):
        sent, captured, received, dropped = flood(expression, seconds, watched, other)
        print(f"{expression or '(none)':<28}{sent:>12,}{captured:>12,}{received:>12,}"
              f"{dropped:>10,}")
    for sink in sinks:
        sink.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--scapy-packets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-live", action="store_true")
    args = parser.parse_args()
    print(f"CPython {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    decode_bench(args.packets, args.scapy_packets, args.runs)
    if not args.no_live:
        live_bench(args.seconds)


if __name__ == "__main__":
    main()
