"""Shared by the HTTP benchmarks: start a server process, load it with wrk, take medians.

Servers run in their own process group (killed as a group: prefork masters and their workers
go together); wrk runs with one thread, as the machines these numbers come from have 2 cores.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["free_port", "interleaved", "measure", "wrk"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, path: str = "/", timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(request)
            if s.recv(100).startswith(b"HTTP/1."):
                return
        time.sleep(0.1)
    raise RuntimeError("did not answer")


def wrk(url: str, seconds: int, connections: int, close: bool = False,
        headers: Iterable[str] = ()) -> float:
    """Requests per second; RuntimeError if wrk saw errors or non-2xx answers.

    ``headers`` are extra request fields ("Name: value"), sent on every request."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, seconds)}s", url]
    for field in [*headers, *(["Connection: close"] if close else [])]:
        args[1:1] = ["-H", field]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30,
                         check=False).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed: {out[-300:]}")
    return float(match.group(1))


def measure(command: list[str], port: int, cwd: Path, load: Callable[[], float],
            path: str = "/") -> float | None:
    """Start ``command`` (listening on ``port``), warm it up, return ``load()``; None when
    its program is not installed or it fails."""
    if not (Path(command[0]).exists() or shutil.which(command[0])):
        return None
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ready(port, proc, path)
        time.sleep(0.5)  # let every worker come up
        return load()
    except RuntimeError as exc:
        print(f"  {command[0]}: {exc}", file=sys.stderr)
        return None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def interleaved(cases: Iterable[object], repeat: int, run: Callable[[object], float | None]
                ) -> dict[object, list[float]]:
    """Every case once per round, ``repeat`` rounds (single runs on a small VM swing widely)."""
    cases = list(cases)
    results: dict[object, list[float]] = {case: [] for case in cases}
    for round_ in range(repeat):
        print(f"round {round_ + 1}/{repeat}", file=sys.stderr)
        for case in cases:
            rate = run(case)
            if rate is not None:
                results[case].append(rate)
    return results
