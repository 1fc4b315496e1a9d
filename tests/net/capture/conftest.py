"""Shared by the capture tests: tcpdump as the oracle, root for live capture."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from wirekit.net.capture import Packet, PcapWriter, open_capture

TCPDUMP = shutil.which("tcpdump") or next(
    (p for p in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump") if os.path.exists(p)), None)


def can_capture() -> str | None:
    """Why live capture cannot run here, or None."""
    if not hasattr(socket, "AF_PACKET"):
        return "no AF_PACKET on this system (Linux only)"
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except PermissionError:
        return "live capture needs root or CAP_NET_RAW"
    except OSError as exc:
        return f"cannot open a packet socket: {exc}"
    return None


needs_capture = pytest.mark.skipif(can_capture() is not None, reason=str(can_capture()))
needs_tcpdump = pytest.mark.skipif(
    TCPDUMP is None, reason="tcpdump is not installed (apt-get install tcpdump)")


def write_pcap(path: Path, frames: Iterable[bytes | Packet], **options: object) -> Path:
    with PcapWriter(path, **options) as writer:  # type: ignore[arg-type]
        for index, frame in enumerate(frames):
            if isinstance(frame, Packet):
                writer.write(frame)
            else:
                writer.write_bytes(frame, (1_000 + index) * 1_000_000_000)
    return path


def tcpdump(*args: str) -> subprocess.CompletedProcess[str]:
    assert TCPDUMP is not None
    return subprocess.run([TCPDUMP, *args], capture_output=True, text=True, timeout=30,
                          check=False)


def tcpdump_filter(source: Path, expression: str, out: Path) -> list[int]:
    """Timestamps of the packets tcpdump's filter keeps from ``source``."""
    result = tcpdump("-r", str(source), "-w", str(out), expression)
    assert result.returncode == 0, result.stderr
    with open_capture(out) as reader:
        return [packet.timestamp_ns for packet in reader]
