"""`wirekit sniff`: tcpdump's command line over wirekit.net.capture, run as a user runs it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wirekit.net.capture import Filter, open_capture

from ..net.capture.conftest import needs_capture, needs_tcpdump, tcpdump, write_pcap
from ..net.capture.frames import mixed_frames


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return write_pcap(tmp_path / "mixed.pcap", mixed_frames())


def test_reading_a_file_prints_one_tcpdump_line_per_packet(cli, mixed):
    result = cli("sniff", "-r", str(mixed))
    assert result.code == 0, result.stderr
    assert result.stderr.startswith(f"reading from file {mixed}, link-type EN10MB (Ethernet)")
    lines = result.stdout.splitlines()
    assert len(lines) == len(mixed_frames())
    assert lines[0].split(" ", 1)[1] == \
        "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 65535, length 0"


def test_a_filter_and_a_count(cli, mixed):
    with open_capture(mixed) as reader:
        wanted = [p.summary() for p in reader if Filter("udp or icmp").matches(p)]
    result = cli("sniff", "-r", str(mixed), "udp", "or", "icmp")  # words joined, as tcpdump
    assert [line.split(" ", 1)[1] for line in result.stdout.splitlines()] == wanted
    assert len(cli("sniff", "-r", str(mixed), "-c", "2", "udp or icmp").stdout.splitlines()) == 2


def test_json_is_one_object_per_line(cli, mixed):
    result = cli("sniff", "-r", str(mixed), "--json", "tcp port 443")
    [line] = result.stdout.splitlines()
    record = json.loads(line)
    assert record["transport"]["dport"] == 443 and record["transport"]["flag_names"] == [
        "PSH", "ACK"]
    assert record["network"]["src"] == "10.1.2.3" and record["payload_length"] == 5


def test_hex_adds_the_bytes(cli, mixed):
    lines = cli("sniff", "-r", str(mixed), "--hex", "-c", "1").stdout.splitlines()
    assert lines[1].startswith("\t0x0000:  0200 0000 0002 0200 0000 0001 0800 4500")


@needs_tcpdump
def test_read_filter_write_and_tcpdump_reads_the_result(cli, mixed, tmp_path):
    out = tmp_path / "dns.pcap"
    result = cli("sniff", "-r", str(mixed), "-w", str(out), "--nano", "port 53")
    assert result.code == 0 and result.stdout == ""
    shown = tcpdump("-nn", "-r", str(out))
    assert shown.returncode == 0, shown.stderr
    # two over IPv4, one over IPv6; not the IPv6 first fragment (tcpdump's port does not look
    # behind a fragment header)
    assert len(shown.stdout.splitlines()) == 3


def test_d_prints_the_bpf_program(cli):
    result = cli("sniff", "-d", "udp port 53")
    assert result.code == 0
    assert result.stdout.splitlines()[0] == "(000) ldh      [12]"
    assert "ret      #262144" in result.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["-d", "tcp host 1.2.3.4"], 2, "'tcp' cannot qualify a host"),
    (["-r", "/nonexistent.pcap"], 66, "cannot read /nonexistent.pcap"),
    (["-r", "{tmp}/text"], 66, "not a pcap or pcapng file"),
    (["-i", "wk-nope0"], 19, "no such interface: 'wk-nope0'"),
    (["-c", "0"], 2, "-c"),
])
def test_errors_are_one_line_with_an_exit_code_by_cause(cli, tmp_path, args, code, message):
    (tmp_path / "text").write_text("hello\n")
    result = cli("sniff", *(arg.format(tmp=tmp_path) for arg in args))
    assert result.code == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirekit sniff")
    assert message in lines[0] and "Traceback" not in result.stderr


def test_a_file_that_cannot_be_written_exits_23(cli, mixed, tmp_path):
    result = cli("sniff", "-r", str(mixed), "-w", str(tmp_path / "no" / "such.pcap"))
    assert result.code == 23
    assert result.stderr.strip().splitlines()[-1].startswith("wirekit sniff: error: cannot write")


@needs_capture
def test_without_root_it_says_so_and_exits_1():
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
         "wirekit", "sniff", "-i", "lo"], capture_output=True, text=True, timeout=30, check=False)
    if "setpriv" in result.stderr:
        pytest.skip(f"cannot drop privileges here: {result.stderr.strip()}")
    assert result.returncode == 1
    assert result.stderr.strip() == ("wirekit sniff: error: capturing packets needs root or "
                                     "CAP_NET_RAW (the kernel refused socket(AF_PACKET))")


def _start(*args: str) -> subprocess.Popen[str]:
    """``wirekit sniff ARGS``, returned once it says it is listening (its filter is on)."""
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "sniff", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("listening on lo, link-type EN10MB (Ethernet)"), line
    return proc


def _port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs_capture
def test_live_capture_stops_after_count(tmp_path):
    port = _port()
    proc = _start("-i", "lo", "-c", "2", f"udp dst port {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for word in (b"one", b"two", b"three"):
            sender.sendto(word, ("127.0.0.1", port))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(f"> 127.0.0.1.{port}: UDP, length" in line for line in lines)
    assert "2 packets captured" in err and "0 packets dropped by kernel" in err


@needs_capture
def test_ctrl_c_prints_captured_and_dropped_and_exits_0():
    port = _port()
    proc = _start("-i", "lo", "--json", f"udp port {port}")
    assert proc.stdout is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"before ctrl-c", ("127.0.0.1", port))
    record = json.loads(proc.stdout.readline())  # printed (and flushed) as it arrived
    assert record["transport"]["dport"] == port and record["payload_length"] == 13
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "1 packets captured\n1 packets received by filter\n0 packets dropped by kernel" in err
    assert "Traceback" not in err


@needs_capture
@needs_tcpdump
def test_live_capture_written_to_a_file_tcpdump_reads(tmp_path):
    port, path = _port(), tmp_path / "live.pcap"
    proc = _start("-i", "lo", "-c", "1", "-w", str(path), f"udp port {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"saved", ("127.0.0.1", port))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    shown = tcpdump("-nn", "-r", str(path))
    assert shown.stdout.count("\n") == 1 and f"127.0.0.1.{port}: UDP, length 5" in shown.stdout


@needs_capture
def test_sigterm_ends_like_ctrl_c_and_the_file_is_complete(tmp_path):
    """tcpdump's habit: `kill` (SIGTERM) completes the -w file and prints the counts."""
    from wirekit.net.capture import open_capture

    port, path = _port(), tmp_path / "killed.pcap"
    proc = _start("-i", "lo", "-w", str(path), "--json", f"udp port {port}")
    assert proc.stdout is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"before kill", ("127.0.0.1", port))
    assert json.loads(proc.stdout.readline())["payload_length"] == 11  # captured
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "1 packets captured" in err and "Traceback" not in err
    with open_capture(path) as reader:
        assert [bytes(p.payload) for p in reader] == [b"before kill"]
