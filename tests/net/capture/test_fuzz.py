"""Fuzzing: random and mutilated frames never make a decoder raise, and on any bytes the
user-space filter and the compiled BPF program agree."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wirekit.net.capture import (
    CaptureFileError,
    Filter,
    IPv4,
    LinkType,
    Packet,
    PcapWriter,
    open_capture,
)
from wirekit.net.capture.bpfvm import run

from .frames import mixed_frames

FRAMES = mixed_frames()
LINKTYPES = [int(t) for t in LinkType] + [0, 147]
PRIMITIVES = ["ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "sctp", "port 80",
              "src port 53", "dst portrange 1000-2000", "host 10.0.0.1", "net 10.0.0.0/8",
              "host 2001:db8::1", "dst net 2001:db8::/32", "tcp dst port 80", "less 64",
              "greater 100", "src and dst host 10.0.0.2", "arp host 10.0.0.2"]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _exercise(packet: Packet) -> None:
    assert isinstance(packet.payload, bytes)
    assert str(packet) and packet.hexdump() is not None
    json.dumps(packet.as_dict())
    for header in packet.layers:
        assert str(header)
    if packet.tcp is not None:
        assert isinstance(packet.tcp.options, tuple)
    if isinstance(packet.ip, IPv4):
        assert isinstance(packet.ip.options, tuple)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(LINKTYPES))
def test_random_bytes_never_raise(data, linktype):
    _exercise(Packet(data, linktype=linktype))


@st.composite
def mutilated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(FRAMES)))
    for _ in range(draw(st.integers(0, 4))):
        if frame:
            frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
    return bytes(frame[:draw(st.integers(0, len(frame)))])


@FUZZ
@given(mutilated())
def test_mutilated_frames_never_raise(frame):
    _exercise(Packet(frame, wire_length=len(frame) + 10))


expressions = st.recursive(
    st.sampled_from(PRIMITIVES),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"({e})")),
    max_leaves=5)


@FUZZ
@given(expressions, mutilated())
def test_user_space_and_bpf_agree_on_any_frame(expression, frame):
    keep = Filter(expression)
    packet = Packet(frame)
    assert keep.matches(packet) == bool(run(keep.compile(), packet.data, packet.length))


def _pcap_header() -> bytes:
    return bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


@FUZZ
@given(st.sampled_from([b"", _pcap_header(), b"\x0a\x0d\x0d\x0a"]), st.binary(max_size=300))
def test_hostile_files_raise_only_capture_file_error(head, body):
    try:
        with open_capture(io.BytesIO(head + body)) as reader:
            for packet in reader:
                _exercise(packet)
    except CaptureFileError:
        pass


def _valid_files() -> list[bytes]:
    from .test_pcap import pcapng

    pcap = io.BytesIO()
    with PcapWriter(pcap) as writer:
        for frame in FRAMES[:6]:
            writer.write_bytes(frame, 10**18)
    return [pcap.getvalue(), pcapng("<"), pcapng(">")]


FILES = _valid_files()


@st.composite
def mutilated_files(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FILES)))
    for _ in range(draw(st.integers(1, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[:draw(st.integers(0, len(data)))])


@FUZZ
@given(mutilated_files())
def test_mutilated_files_raise_only_capture_file_error(data):
    try:
        with open_capture(io.BytesIO(data)) as reader:
            for packet in reader:
                _exercise(packet)
    except CaptureFileError:
        pass
