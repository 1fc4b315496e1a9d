"""pcap written and read back, pcapng read, and tcpdump reading and writing the same files."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess

import pytest

from wirekit.net.capture import (
    CaptureFileError,
    LinkType,
    Packet,
    PcapngReader,
    PcapReader,
    PcapWriter,
    open_capture,
)

from .conftest import needs_tcpdump, tcpdump, write_pcap
from .frames import ethernet, ipv4, mixed_frames, tcp4, udp, udp4

STAMP = 1_700_000_000_123_456_789


def test_round_trip_keeps_bytes_lengths_and_microseconds(tmp_path):
    frames = mixed_frames()
    path = tmp_path / "a.pcap"
    with PcapWriter(path, snaplen=64) as writer:
        for index, frame in enumerate(frames):
            writer.write(Packet(frame, STAMP + index))
        assert writer.count == len(frames)
    assert path.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"
    with open_capture(path) as reader:
        assert isinstance(reader, PcapReader)
        assert (reader.linktype, reader.snaplen, reader.nanoseconds, reader.version) == (
            1, 64, False, (2, 4))
        back = list(reader)
    assert [p.data for p in back] == [f[:64] for f in frames]
    assert [p.length for p in back] == [len(f) for f in frames]
    assert {p.timestamp_ns for p in back} == {STAMP // 1000 * 1000}


def test_nanosecond_files_keep_nanoseconds(tmp_path):
    path = tmp_path / "ns.pcap"
    with PcapWriter(path, nanoseconds=True) as writer:
        writer.write(Packet(udp4(1, 2, b"n"), STAMP))
    assert path.read_bytes()[:4] == b"\x4d\x3c\xb2\xa1"
    with open_capture(path) as reader:
        assert reader.nanoseconds
        assert [p.timestamp_ns for p in reader] == [STAMP]


def test_big_endian_files_and_file_objects():
    header = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    frame = ipv4(udp(7, 9, b"be"), 17)
    record = struct.pack(">IIII", 10, 250, len(frame), len(frame)) + frame
    with open_capture(io.BytesIO(header + record)) as reader:
        assert reader.linktype == LinkType.RAW
        [packet] = list(reader)
    assert packet.timestamp_ns == 10_000_250_000 and packet.payload == b"be"


def test_a_big_record_across_the_read_chunks(tmp_path):
    big = udp4(1, 2, b"x" * 60000)
    path = write_pcap(tmp_path / "big.pcap", [big] * 40)  # 2.4 MB: several 1 MiB chunks
    with open_capture(path) as reader:
        assert [p.data for p in reader] == [big] * 40


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"root:x:0:0:root:/root:/bin/bash\n", "not a pcap or pcapng file"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "cut short"),
])
def test_not_a_capture_file(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(CaptureFileError, match=message):
        open_capture(path)


def test_a_file_cut_inside_a_record_yields_what_is_whole_then_says_so(tmp_path):
    path = write_pcap(tmp_path / "cut.pcap", [udp4(1, 2, b"one"), udp4(1, 2, b"two")])
    path.write_bytes(path.read_bytes()[:-5])
    reader = open_capture(path)
    seen = []
    with pytest.raises(CaptureFileError, match="inside record 2"):
        seen.extend(reader)
    assert [p.payload for p in seen] == [b"one"]
    reader.close()


def test_a_missing_file_is_a_capture_file_error(tmp_path):
    with pytest.raises(CaptureFileError, match="cannot read"):
        open_capture(tmp_path / "missing.pcap")
    with pytest.raises(CaptureFileError, match="cannot write"):
        PcapWriter(tmp_path / "no" / "dir.pcap")


def _block(kind: int, body: bytes, order: str = "<") -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def _option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng(order: str = "<", second_link: int = 101) -> bytes:
    """Two interfaces (Ethernet in microseconds, then raw IP in nanoseconds), EPBs and an
    SPB, with a block the reader must skip. (libpcap wants one link type per file.)"""
    shb = _block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)
    idb0 = _block(1, struct.pack(order + "HHI", 1, 0, 65535) + _option(2, b"eth0", order)
                  + _option(0, b"", order), order)
    snap = 0 if second_link != 1 else 65535
    idb1 = _block(1, struct.pack(order + "HHI", second_link, 0, snap)
                  + _option(9, b"\x09", order), order)
    one, two = tcp4(1, 80), ipv4(udp(5, 53, b"ng"), 17)
    if second_link == 1:
        two = ethernet(two)
    stamp_us = 1_700_000_000_000_001
    epb0 = _block(6, struct.pack(order + "IIIII", 0, stamp_us >> 32, stamp_us & 0xFFFFFFFF,
                                 len(one), len(one)) + one, order)
    stamp_ns = STAMP
    epb1 = _block(6, struct.pack(order + "IIIII", 1, stamp_ns >> 32, stamp_ns & 0xFFFFFFFF,
                                 len(two), 100) + two, order)
    unknown = _block(0x0BAD, b"\x01\x02\x03\x04", order)
    spb = _block(3, struct.pack(order + "I", len(one)) + one, order)
    return shb + idb0 + idb1 + epb0 + unknown + epb1 + spb


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_blocks_interfaces_and_resolutions(tmp_path, order):
    path = tmp_path / "f.pcapng"
    path.write_bytes(pcapng(order))
    with open_capture(path) as reader:
        assert isinstance(reader, PcapngReader)
        assert (reader.linktype, reader.snaplen) == (1, 65535)
        packets = list(reader)
    assert [p.linktype for p in packets] == [1, 101, 1]
    assert packets[0].timestamp_ns == 1_700_000_000_000_001_000
    assert packets[1].timestamp_ns == STAMP and packets[1].length == 100
    assert packets[1].payload == b"ng" and packets[2].tcp is not None
    assert packets[2].timestamp_ns == 0  # a simple packet block has no timestamp


def test_pcapng_naming_an_undescribed_interface_is_an_error(tmp_path):
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    epb = _block(6, struct.pack("<IIIII", 3, 0, 0, 1, 1) + b"x")
    path = tmp_path / "bad.pcapng"
    path.write_bytes(shb + epb)
    with pytest.raises(CaptureFileError, match="interface 3"), open_capture(path) as reader:
        list(reader)


@needs_tcpdump
def test_tcpdump_reads_our_nanoseconds(tmp_path):
    path = tmp_path / "ns.pcap"
    with PcapWriter(path, nanoseconds=True) as writer:
        for index, frame in enumerate(mixed_frames()[:5]):
            writer.write(Packet(frame, STAMP + index))
    result = tcpdump("-tt", "-nn", "--time-stamp-precision=nano", "-r", str(path))
    assert result.returncode == 0, result.stderr
    stamps = [line.split(" ", 1)[0] for line in result.stdout.splitlines()]
    assert stamps == [f"1700000000.12345678{9 + i}" if i == 0 else
                      f"1700000000.{123456789 + i:09d}" for i in range(5)]


@needs_tcpdump
def test_we_read_what_tcpdump_writes_and_tcpdump_reads_pcapng(tmp_path):
    ours = write_pcap(tmp_path / "ours.pcap", mixed_frames())
    theirs = tmp_path / "theirs.pcap"
    assert tcpdump("-r", str(ours), "-w", str(theirs)).returncode == 0
    with open_capture(ours) as a, open_capture(theirs) as b:
        assert [(p.data, p.timestamp_ns, p.length) for p in a] == \
            [(p.data, p.timestamp_ns, p.length) for p in b]
    ng = tmp_path / "f.pcapng"
    ng.write_bytes(pcapng(second_link=1))
    result = tcpdump("-nn", "-tt", "--time-stamp-precision=nano", "-r", str(ng))
    assert result.returncode == 0, result.stderr
    with open_capture(ng) as reader:
        stamps = [f"{p.timestamp_ns // 10**9}.{p.timestamp_ns % 10**9:09d}" for p in reader]
    assert [line.split(" ", 1)[0] for line in result.stdout.splitlines()] == stamps


TSHARK = shutil.which("tshark")


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")
@pytest.mark.parametrize("nanoseconds", [False, True])
def test_tshark_reads_our_files_field_by_field(tmp_path, nanoseconds):
    """Wireshark's reader, not only tcpdump's: every packet, its time, addresses and ports,
    and the snap length that cut the longest ones."""
    path = tmp_path / "ours.pcap"
    frames = mixed_frames()[:9] + mixed_frames()[12:21]  # whole, unfragmented IP; no SCTP
    with PcapWriter(path, nanoseconds=nanoseconds, snaplen=70) as writer:
        for index, frame in enumerate(frames):
            writer.write(Packet(frame, STAMP + index * 1_000_000))
    with open_capture(path) as reader:
        ours = list(reader)
    result = subprocess.run(
        [TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=|",
         "-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "udp.dstport"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "HOME": str(tmp_path)})  # tshark writes its profile there
    assert result.returncode == 0, result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines()]
    assert len(rows) == len(ours) == len(frames)
    assert sum(packet.problem is not None for packet in ours) >= 3  # some were cut
    for row, packet, frame in zip(rows, ours, frames, strict=True):
        epoch, cap_len, wire_len, ip4, ip6, sport, dport = row
        digits = 9 if nanoseconds else 6
        assert epoch.startswith(f"{packet.timestamp_ns // 10**9}.")
        assert epoch.split(".")[1][:digits] == f"{packet.timestamp_ns % 10**9:09d}"[:digits]
        assert int(cap_len) == min(len(frame), 70) and int(wire_len) == packet.length
        ip = packet.ip
        assert (ip4 or ip6 or None) == (str(ip.src) if ip is not None else None)
        if packet.problem is not None:  # cut by the snap length: tshark reads what is left
            continue
        tcp_ = packet.tcp
        assert (int(sport) if sport else None) == (tcp_.sport if tcp_ else None)
        udp_ = packet.udp
        assert (int(dport) if dport else None) == (udp_.dport if udp_ else None)
