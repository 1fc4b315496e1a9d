"""HTTP clients side by side: wirekit vs urllib.request, requests, httpx, urllib3, http.client.

Two measurements, each against a tiny uvloop HTTP/1.1 responder running in its own process
(so the client is measured alone, and the server is never the bottleneck):

* sequential keep-alive GETs of a 13-byte response (requests per second, one connection;
  ``urllib.request`` opens a connection per request, which is how it works);
* a 1 GiB download (``--size MIB`` to change it), streamed as the client's own iteration
  gives it (MiB/s with the ratio to urllib3, and peak memory: the growth of the peak RSS in a
  fresh process, and the tracemalloc peak in a second run).

Rounds are interleaved (``--repeat``) and medians shown, with ratios against httpx and urllib3.
For scale on a 2-core machine: requests ~1.6k req/s, httpx ~2.8k, urllib3 ~4k, http.client ~7k.

    .venv/bin/python bench/http_client.py                    # 3 s per contender, 1 round
    .venv/bin/python bench/http_client.py --repeat 3 --seconds 5
    .venv/bin/python bench/http_client.py --only wirekit httpx --no-download
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = b"Hello, world!"
# The download size in MiB: set by --size, passed to the server and download processes.
BIG_SIZE = int(os.environ.get("WIREKIT_BENCH_MIB", "1024")) * 1024 * 1024
BLOCK = 64 * 1024

# -- the server (run with --serve) -------------------------------------------------------


def serve() -> None:
    """Answer ``GET /small`` with 13 bytes and ``GET /big`` with 100 MiB, keep-alive."""
    import uvloop

    small = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%b"
             % (len(SMALL), SMALL))
    big_head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" \
               b"Content-Length: %d\r\n\r\n" % BIG_SIZE  # fmt: skip
    block = memoryview(bytes(1 << 20))

    class Responder(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""
            self.resume: asyncio.Future | None = None

        def pause_writing(self) -> None:
            self.resume = asyncio.get_running_loop().create_future()

        def resume_writing(self) -> None:
            if self.resume is not None:
                self.resume.set_result(None)
                self.resume = None

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
                if head.split(b" ", 2)[1] == b"/big":
                    asyncio.get_running_loop().create_task(self.send_big())
                else:
                    self.transport.write(small)  # type: ignore[attr-defined]

        async def send_big(self) -> None:
            self.transport.write(big_head)  # type: ignore[attr-defined]
            for _ in range(BIG_SIZE // len(block)):
                self.transport.write(block)  # type: ignore[attr-defined]
                if self.resume is not None:
                    await self.resume

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Responder, "127.0.0.1", 0)
        print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    line = proc.stdout.readline().decode()  # type: ignore[union-attr]
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError("the benchmark server did not start")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def stop_server(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


# -- the contenders: (open a client) -> (get small, download big) -------------------------

Fetch = Callable[[str], bytes]
Download = Callable[[str], int]


def wirekit_client() -> tuple[Fetch, Download]:
    from wirekit.http.client import Session

    session = Session()

    def download(url: str) -> int:
        with session.get(url, stream=True) as response:
            return sum(len(piece) for piece in response.iter_bytes())

    return (lambda url: session.get(url).content), download


def requests_client() -> tuple[Fetch, Download]:
    import requests

    session = requests.Session()

    def download(url: str) -> int:
        with session.get(url, stream=True) as response:
            return sum(len(piece) for piece in response.iter_content(BLOCK))

    return (lambda url: session.get(url).content), download


def httpx_client() -> tuple[Fetch, Download]:
    import httpx

    client = httpx.Client()

    def download(url: str) -> int:
        with client.stream("GET", url) as response:
            return sum(len(piece) for piece in response.iter_bytes(BLOCK))

    return (lambda url: client.get(url).content), download


def urllib3_client() -> tuple[Fetch, Download]:
    import urllib3

    pool = urllib3.PoolManager()

    def download(url: str) -> int:
        response = pool.request("GET", url, preload_content=False)
        total = sum(len(piece) for piece in response.stream(BLOCK))
        response.release_conn()
        return total

    return (lambda url: pool.request("GET", url).data), download


def urllib_client() -> tuple[Fetch, Download]:
    from urllib.request import urlopen

    def fetch(url: str) -> bytes:
        with urlopen(url) as response:
            return response.read()

    def download(url: str) -> int:
        total = 0
        with urlopen(url) as response:
            while piece := response.read(BLOCK):
                total += len(piece)
        return total

    return fetch, download


def http_client_client() -> tuple[Fetch, Download]:
    import http.client
    from urllib.parse import urlsplit

    connections: dict[str, http.client.HTTPConnection] = {}

    def response_for(url: str) -> http.client.HTTPResponse:
        parts = urlsplit(url)
        conn = connections.get(parts.netloc)
        if conn is None:
            conn = connections[parts.netloc] = http.client.HTTPConnection(parts.netloc)
        conn.request("GET", parts.path)
        return conn.getresponse()

    def download(url: str) -> int:
        response, total = response_for(url), 0
        while piece := response.read(BLOCK):
            total += len(piece)
        return total

    return (lambda url: response_for(url).read()), download


CONTENDERS: dict[str, Callable[[], tuple[Fetch, Download]]] = {
    "wirekit": wirekit_client,
    "http.client": http_client_client,
    "urllib3.PoolManager": urllib3_client,
    "httpx.Client": httpx_client,
    "requests.Session": requests_client,
    "urllib.request": urllib_client,
}

# -- measuring ------------------------------------------------------------------------------


def requests_per_second(name: str, base: str, seconds: float) -> float:
    fetch, _ = CONTENDERS[name]()
    url = base + "/small"
    for _ in range(200):  # warm up: connection, caches
        assert fetch(url) == SMALL
    gc.collect()
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(100):
            fetch(url)
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def download_in_subprocess(name: str, base: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--download", name, base + "/big"],
                         capture_output=True, text=True, check=True, timeout=900)
    return json.loads(out.stdout)


def download_here(name: str, url: str) -> None:
    """Run in a fresh process: throughput and peak RSS growth, then the tracemalloc peak."""
    _, download = CONTENDERS[name]()
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    total = download(url)
    elapsed = time.perf_counter() - started
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert total == BIG_SIZE, total
    tracemalloc.start()
    download(url)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"mib_s": BIG_SIZE / elapsed / 2**20, "rss_mib": rss_growth / 1024,
                      "traced_mib": traced / 2**20}))


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds over all contenders (interleaved); the median is shown")
    parser.add_argument("--only", nargs="*", choices=list(CONTENDERS), help="contenders")
    parser.add_argument("--no-download", action="store_true", help="skip the download")
    parser.add_argument("--size", type=int, default=1024, help="download size in MiB [1024]")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--download", nargs=2, metavar=("NAME", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.download:
        download_here(*args.download)
        return
    os.environ["WIREKIT_BENCH_MIB"] = str(args.size)  # for the server and download processes
    global BIG_SIZE  # noqa: PLW0603 - the one setting shared with the child processes
    BIG_SIZE = args.size * 1024 * 1024
    names = args.only or list(CONTENDERS)
    rates: dict[str, list[float]] = {name: [] for name in names}
    downloads: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    proc, base = start_server()
    try:
        for _ in range(args.repeat):
            for name in names:
                rates[name].append(requests_per_second(name, base, args.seconds))
                if not args.no_download:
                    downloads[name].append(download_in_subprocess(name, base))
    finally:
        stop_server(proc)
    report(names, rates, downloads, args)


def report(names: list[str], rates: dict[str, list[float]],
           downloads: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    rate = {name: median(values) for name, values in rates.items()}
    print(f"\nmedian of {args.repeat} interleaved run(s), {args.seconds:g} s each; "
          f"sequential keep-alive GETs of {len(SMALL)} bytes")
    print(f"\n{'client':<22}{'req/s':>10}{'vs httpx':>10}{'vs urllib3':>12}"
          f"{'download MiB/s':>16}{'vs urllib3':>11}{'peak RSS +MiB':>15}{'traced MiB':>12}")
    speed = {name: median([r["mib_s"] for r in runs]) for name, runs in downloads.items() if runs}
    for name in names:
        cells = [f"{rate[name]:>10,.0f}"]
        for other in ("httpx.Client", "urllib3.PoolManager"):
            width = 10 if other == "httpx.Client" else 12
            cells.append(f"{rate[name] / rate[other]:>{width - 1}.2f}x" if other in rate
                         else f"{'':>{width}}")
        if downloads[name]:
            runs = downloads[name]
            cells.append(f"{speed[name]:>16,.0f}")
            base = speed.get("urllib3.PoolManager")
            cells.append(f"{speed[name] / base:>10.2f}x" if base else f"{'':>11}")
            cells.append(f"{median([r['rss_mib'] for r in runs]):>15.1f}")
            cells.append(f"{median([r['traced_mib'] for r in runs]):>12.2f}")
        print(f"{name:<22}{''.join(cells)}")


if __name__ == "__main__":
    main()
