"""Fixtures shared by the whole suite: loopback peers and a way to run the CLI as a user does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="this machine has no IPv6 on ::1")


@dataclass
class Peer:
    """A raw-socket server on loopback running ``handler(conn)`` for each client, in a thread."""

    address: str
    thread: threading.Thread
    errors: list[BaseException]


@pytest.fixture
def raw_server() -> Iterator[Callable[..., Peer]]:
    """``raw_server(handler, family="ipv4"|"ipv6"|"unix", clients=1)`` -> Peer."""
    listeners: list[socket.socket] = []
    peers: list[Peer] = []

    def start(handler: Callable[[socket.socket], None], family: str = "ipv4",
              clients: int = 1, path: str | None = None) -> Peer:
        if family == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(path)
            address = f"unix:{path}"
        else:
            fam, host = (socket.AF_INET6, "::1") if family == "ipv6" else (socket.AF_INET,
                                                                           "127.0.0.1")
            sock = socket.socket(fam, socket.SOCK_STREAM)
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            address = f"[{host}]:{port}" if family == "ipv6" else f"{host}:{port}"
        sock.listen(16)
        sock.settimeout(10)
        listeners.append(sock)
        errors: list[BaseException] = []

        def run() -> None:
            for _ in range(clients):
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(10)
                    try:
                        handler(conn)
                    except BaseException as exc:  # surfaced by the test via peer.errors
                        errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        peer = Peer(address, thread, errors)
        peers.append(peer)
        return peer

    yield start
    for sock in listeners:
        sock.close()
    for peer in peers:
        peer.thread.join(5)


@dataclass
class CLIResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, input: bytes | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> CLIResult:
    """Run ``python -m wirekit ARGS`` in a subprocess, as a user would from a shell."""
    proc = subprocess.run(
        [sys.executable, "-m", "wirekit", *args],
        input=input if input is not None else b"",
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return CLIResult(proc.returncode, proc.stdout.decode(errors="replace"),
                     proc.stderr.decode(errors="replace"))


@pytest.fixture
def cli() -> Callable[..., CLIResult]:
    return run_cli


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory: Unix socket paths are limited to about 100 bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="wk-") as path:
        yield Path(path)
