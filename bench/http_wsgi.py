"""WSGI hello world under wrk: wirekit beside wsgiref, gunicorn, waitress, uvicorn, granian.

    .venv/bin/python bench/http_wsgi.py                       # everything, 3 rounds
    .venv/bin/python bench/http_wsgi.py --seconds 5 --repeat 5 --only wirekit-async granian

Every server runs the same application ("Hello World\\n", Content-Length set) in its own
process, with access logs off, and wrk (1 thread, 50 connections) loads it over loopback with
keep-alive and with ``Connection: close``. Rounds are interleaved (every contender once per
round) and medians reported, because single runs on a small VM swing widely. Run it alone on
the machine. Needs wrk (apt-get install wrk) and the peers from ``pip install gunicorn
waitress uvicorn granian``; contenders whose program is missing are skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello World\\n"]
'''

WSGIREF = '''
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from hello_app import app
class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass
class Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True
make_server("127.0.0.1", int(sys.argv[1]), app, Threading, Quiet).serve_forever()
'''

BIN = Path(sys.executable).parent


def contenders(port: int, workers: int) -> dict[str, list[str]]:
    """name -> command line, for ``workers`` processes."""
    py, w = sys.executable, str(workers)
    address = f"127.0.0.1:{port}"
    table = {
        "wirekit-async": [str(BIN / "wirekit"), "serve", "--wsgi", "hello_app:app", "-b",
                          address, "-c", "async", "-w", w, "--no-access-log"],
        "wirekit-threads": [str(BIN / "wirekit"), "serve", "--wsgi", "hello_app:app", "-b",
                            address, "-c", "threads", "-w", w, "--no-access-log"],
        "gunicorn-sync": [str(BIN / "gunicorn"), "-b", address, "-w", w, "-k", "sync",
                          "hello_app:app"],
        "gunicorn-gthread": [str(BIN / "gunicorn"), "-b", address, "-w", w, "-k", "gthread",
                             "--threads", "8", "hello_app:app"],
        "uvicorn-wsgi": [str(BIN / "uvicorn"), "--interface", "wsgi", "--host", "127.0.0.1",
                         "--port", str(port), "--workers", w, "--no-access-log",
                         "--log-level", "warning", "hello_app:app"],
        "granian": [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
                    "--port", str(port), "--workers", w, "--no-ws", "hello_app:app"],
    }
    if workers == 1:  # single-process servers
        table["wsgiref"] = [py, "wsgiref_server.py", str(port)]
        table["waitress"] = [str(BIN / "waitress-serve"), "--listen", address,
                             "hello_app:app"]
    return table


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if s.recv(100).startswith(b"HTTP/1."):
                return
        time.sleep(0.1)
    raise RuntimeError("did not answer")


def wrk(port: int, seconds: float, close: bool, connections: int) -> float:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"http://127.0.0.1:{port}/"]
    if close:
        args[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30,
                         check=False).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if match is None or errors:
        raise RuntimeError(f"wrk failed: {out[-300:]}")
    return float(match.group(1))


def measure(name: str, workers: int, seconds: float, close: bool, connections: int,
            workdir: Path) -> float | None:
    port = free_port()
    command = contenders(port, workers)[name]
    if not (Path(command[0]).exists() or shutil.which(command[0])):
        return None
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ready(port, proc)
        time.sleep(0.5)  # let every worker come up
        wrk(port, 1, close, connections)  # warm up
        return wrk(port, seconds, close, connections)
    except RuntimeError as exc:
        print(f"  {name}: {exc}", file=sys.stderr)
        return None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--only", nargs="*", help="contender names")
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--scenarios", nargs="*", default=["keep-alive", "close"],
                        choices=["keep-alive", "close"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "hello_app.py").write_text(APP)
        (workdir / "wsgiref_server.py").write_text(WSGIREF)
        cases = [(name, workers, scenario) for scenario in args.scenarios
                 for workers in args.workers
                 for name in contenders(0, workers)
                 if not args.only or name in args.only]
        results: dict[tuple[str, int, str], list[float]] = {case: [] for case in cases}
        for round_ in range(args.repeat):
            print(f"round {round_ + 1}/{args.repeat}", file=sys.stderr)
            for case in cases:
                name, workers, scenario = case
                rate = measure(name, workers, args.seconds, scenario == "close",
                               args.connections, workdir)
                if rate is not None:
                    results[case].append(rate)
    report(results, args)


def report(results: dict[tuple[str, int, str], list[float]], args: argparse.Namespace) -> None:
    medians = {case: statistics.median(rates) for case, rates in results.items() if rates}
    print(f"\nwrk -t1 -c{args.connections} -d{args.seconds}s, median of {args.repeat} "
          "interleaved rounds (requests/s)")
    for scenario in args.scenarios:
        for workers in args.workers:
            rows = {name: rate for (name, w, s), rate in medians.items()
                    if w == workers and s == scenario}
            if not rows:
                continue
            print(f"\n{scenario}, {workers} worker(s)")
            for name, rate in sorted(rows.items(), key=lambda item: -item[1]):
                print(f"  {name:18} {rate:10,.0f}")
            mine = rows.get("wirekit-async")
            for peer in ("gunicorn-sync", "granian", "uvicorn-wsgi", "wsgiref"):
                if mine and rows.get(peer):
                    print(f"  wirekit-async / {peer:14} {mine / rows[peer]:5.2f}x")
        one = medians.get(("wirekit-async", 1, scenario))
        two = medians.get(("wirekit-async", 2, scenario))
        if one and two:
            print(f"\n{scenario}: wirekit-async 2 workers / 1 worker {two / one:5.2f}x")


if __name__ == "__main__":
    main()
