"""Servers for the tests: in-process (sync, threads, async) and as `wirekit` subprocesses
(fork and prefork, which must not fork the test process itself: a forked child would inherit
the test's own client sockets)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from wirekit.net import connect
from wirekit.server import Server


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    address: str
    banner: str

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    @property
    def log(self) -> str:
        return self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""


def start_cli_server(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start `wirekit ARGS` and wait for its "listening on KIND ADDRESS" line."""
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    banner = _read_banner(proc)
    address = banner.split("listening on ", 1)[1].split()[1]
    return ServerProcess(proc, address, banner)


def _read_banner(proc: subprocess.Popen) -> str:
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if not line or not line[0]:
        proc.kill()
        raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
    return line[0].decode()


@pytest.fixture
def cli_server() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(*args: str, **kwargs: object) -> ServerProcess:
        server = start_cli_server(*args, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """``serve(Handler, concurrency=..., address=...)``: an in-process server, stopped after."""
    servers: list[Server] = []

    def start(handler: type, address: str = "127.0.0.1:0", **kwargs: object) -> Server:
        server = Server(handler, address, **kwargs).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown(timeout=10)


def hammer(address: object, clients: int = 50, rounds: int = 5) -> None:
    """``clients`` concurrent connections, each making ``rounds`` round trips of a message
    only it sends; every reply must be its own message back (no cross-talk, nothing lost)."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients)

    def client(n: int) -> None:
        try:
            with connect(address, timeout=20) as stream:
                barrier.wait(20)  # all connected at once
                for r in range(rounds):
                    message = f"client {n:03d} round {r}\n".encode() * 3
                    stream.sendall(message)
                    assert stream.recv_exactly(len(message), timeout=20) == message
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
