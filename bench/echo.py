"""Echo round trips per second: wirekit's concurrency modes beside the stdlib and asyncio.

    .venv/bin/python bench/echo.py                 # every contender, 1 and 50 connections
    .venv/bin/python bench/echo.py --seconds 5 --only wirekit-async uvloop-protocol
    .venv/bin/python bench/echo.py --pin --repeat 5      # server on CPU 0, load on CPU 1

Each server runs in its own process. The load comes from echo_load.c (compiled with gcc on
first use; the uvloop client in this file is the fallback): each connection sends a 100-byte
message, waits for all 100 bytes back, and sends the next. Run it alone on the machine (no
test suite or other benchmark beside it). The "-cpu" contenders spend ~50 us of Python per
message, where a second prefork worker has work to share; plain echo on 2 cores is bound by
the kernel's loopback path (see bench/README.md).

--pin puts each server on CPU 0 and the load generator on CPU 1 (prefork contenders keep both
CPUs, which is their point). On two cores, 50 server threads that the scheduler spreads over
both CPUs fight over the GIL and a run can drop to a third of its rate; where they land
differs from run to run, and with --pin it no longer decides the result.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import uvloop

HERE = Path(__file__).resolve().parent
MESSAGE = b"x" * 99 + b"\n"
BASELINE = "stdlib-threads"
NO_CONCURRENCY = {"wirekit-sync"}  # serves one client at a time: 50 connections would queue


class Client(asyncio.Protocol):
    def __init__(self, counter: list[int]) -> None:
        self.counter = counter
        self.pending = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(MESSAGE)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.pending += len(data)
        while self.pending >= len(MESSAGE):
            self.pending -= len(MESSAGE)
            self.counter[0] += 1
            self.transport.write(MESSAGE)  # type: ignore[attr-defined]


async def load(host: str, port: int, connections: int, seconds: float) -> float:
    loop = asyncio.get_running_loop()
    counter = [0]
    transports = []
    for _ in range(connections):
        transport, _ = await loop.create_connection(lambda: Client(counter), host, port)
        transports.append(transport)
    await asyncio.sleep(min(1.0, seconds / 4))  # warm up
    start_count, start = counter[0], time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (counter[0] - start_count) / (time.perf_counter() - start)
    for transport in transports:
        transport.close()
    await asyncio.sleep(0.05)
    return rate


PIN = False  # --pin: server on CPU 0, load generator on CPU 1


def pinned_to(cpu: int, name: str = "") -> Callable[[], None] | None:
    """A preexec_fn pinning the child to ``cpu`` under --pin (prefork keeps every CPU)."""
    if not PIN or "prefork" in name:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def start(name: str) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, str(HERE / "echo_servers.py"), name],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True,
                            preexec_fn=pinned_to(0, name))  # noqa: PLW1509 - no threads here
    line = proc.stdout.readline().decode()  # type: ignore[union-attr]
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"{name} did not start")
    host, port = line.split()[1].rsplit(":", 1)
    return proc, host, int(port)


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def c_client() -> str | None:
    """Compile echo_load.c into a temporary directory; None without a C compiler."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    target = Path(tempfile.mkdtemp(prefix="wirekit-bench-")) / "echo_load"
    subprocess.run([compiler, "-O2", "-o", str(target), str(HERE / "echo_load.c")], check=True)
    return str(target)


CLIENT: str | None = None


def drive(host: str, port: int, connections: int, seconds: float, name: str) -> float:
    if CLIENT is None:
        return uvloop.run(load(host, port, connections, seconds))
    out = subprocess.run([CLIENT, host, str(port), str(connections), str(seconds),
                          str(len(MESSAGE))], capture_output=True, text=True, check=True,
                         preexec_fn=pinned_to(1, name))
    return float(out.stdout)


def measure(name: str, seconds: float) -> dict[int, float | None]:
    results: dict[int, float | None] = {}
    for connections in (1, 50):
        if connections > 1 and name in NO_CONCURRENCY:
            results[connections] = None
            continue
        proc, host, port = start(name)
        try:
            results[connections] = drive(host, port, connections, seconds, name)
        finally:
            stop(proc)
    return results


def median_of(runs: list[dict[int, float | None]]) -> dict[int, float | None]:
    """Median per connection count: one noisy run (a busy neighbour) does not decide."""
    out: dict[int, float | None] = {}
    for connections in runs[0]:
        values = sorted(r[connections] for r in runs if r[connections] is not None)
        out[connections] = values[len(values) // 2] if values else None
    return out


def main() -> None:
    from echo_servers import CONTENDERS

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per run")
    parser.add_argument("--only", nargs="*", help="contenders to run (default: all)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds over all contenders (interleaved); the median is shown")
    parser.add_argument("--client", choices=["c", "python"], default="c",
                        help="load generator (c needs gcc; falls back to python)")
    parser.add_argument("--pin", action="store_true",
                        help="server on CPU 0, load generator on CPU 1 (prefork: all CPUs)")
    args = parser.parse_args()
    global CLIENT, PIN  # noqa: PLW0603 - set once from the command line
    CLIENT = c_client() if args.client == "c" else None
    PIN = args.pin and len(os.sched_getaffinity(0)) >= 2
    names = args.only or list(CONTENDERS)
    if BASELINE not in names:
        names.insert(0, BASELINE)
    runs: dict[str, list[dict[int, float | None]]] = {name: [] for name in names}
    for _ in range(args.repeat):
        for name in names:
            runs[name].append(measure(name, args.seconds))
    table = {name: median_of(results) for name, results in runs.items()}
    print(f"\nmedian of {args.repeat} interleaved run(s), {args.seconds:g} s each, "
          f"{'C' if CLIENT else 'uvloop'} load generator"
          f"{', server on CPU 0 and load on CPU 1' if PIN else ''}")
    base = table[BASELINE]
    print(f"\n{'server':<24}{'1 conn rt/s':>14}{'ratio':>8}{'50 conns rt/s':>16}{'ratio':>8}")
    for name, results in table.items():
        cells = []
        for connections in (1, 50):
            rate = results[connections]
            ratio = rate / base[connections] if rate and base[connections] else None
            cells.append(f"{rate:>14,.0f}" if rate else f"{'n/a':>14}")
            cells.append(f"{ratio:>7.2f}x" if ratio else f"{'':>8}")
        print(f"{name:<24}{cells[0]}{cells[1]}  {cells[2]}{cells[3]}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
