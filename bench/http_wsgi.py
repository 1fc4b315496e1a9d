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
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from wrkload import free_port, interleaved, measure, wrk

APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello World\\n"]
'''

# The same answer after ~200 us of Python work: an application with something to compute,
# where a second worker has work to take (on 2 cores shared with wrk, a server that is
# cheaper per request than ~3x wrk's own cost cannot scale 1.5x: see bench/README.md).
APP_CPU = '''
def app(environ, start_response):
    total = 0
    for i in range(2500):
        total += i * i
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


def run_case(case: object, args: argparse.Namespace, workdir: Path) -> float | None:
    name, workers, scenario = case  # type: ignore[misc]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"

    def load() -> float:
        wrk(url, 1, args.connections, scenario == "close")  # warm up
        return wrk(url, args.seconds, args.connections, scenario == "close")

    return measure(contenders(port, workers)[name], port, workdir, load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--only", nargs="*", help="contender names")
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--app", choices=["hello", "cpu"], default="hello",
                        help="cpu: the same answer after ~200 us of Python per request")
    parser.add_argument("--scenarios", nargs="*", default=["keep-alive", "close"],
                        choices=["keep-alive", "close"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "hello_app.py").write_text(APP if args.app == "hello" else APP_CPU)
        (workdir / "wsgiref_server.py").write_text(WSGIREF)
        cases = [(name, workers, scenario) for scenario in args.scenarios
                 for workers in args.workers
                 for name in contenders(0, workers)
                 if not args.only or name in args.only]
        results = interleaved(cases, args.repeat,
                              lambda case: run_case(case, args, workdir))
    report(results, args)


def report(results: dict, args: argparse.Namespace) -> None:
    medians = {case: statistics.median(rates) for case, rates in results.items() if rates}
    print(f"\nwrk -t1 -c{args.connections} -d{args.seconds}s, app {args.app}, median of "
          f"{args.repeat} interleaved rounds (requests/s)")
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
