"""WSGI servers under wrk: wirekit beside granian, gunicorn and uvicorn, three applications.

    .venv/bin/python bench/http_wsgi.py                     # everything: 3 rounds of 5 s
    .venv/bin/python bench/http_wsgi.py --seconds 1 --repeat 1 --only granian wirekit-async
    .venv/bin/python bench/http_wsgi.py --app blocking --scenarios keep-alive
    .venv/bin/python bench/http_wsgi.py --scaling           # ... and again with 2 workers

What it measures: requests/s from wrk (1 thread, 50 connections, keep-alive) over loopback,
every server in its own process with one worker, for three WSGI applications:

* ``hello``: "Hello World\\n", Content-Length set;
* ``realistic``: parses the query string (``parse_qs``), reads the User-Agent and X-Request-Id
  fields, answers a JSON body that differs on every request (a counter, the query, the
  fields), a Set-Cookie whose value changes on every request, Content-Type and Content-Length;
* ``blocking``: sleeps 1 ms per request (``time.sleep(0.001)``, as a database call would),
  then answers a 3-byte body;

plus ``hello`` with ``Connection: close`` (a new connection per request); ``--app cpu`` (the
hello answer after ~200 us of Python) is there for the 2-worker scaling question. Every answer
is checked once per run before the load (status, body; for ``realistic`` the echoed query and
fields, and that body and cookie change between requests). Rounds are interleaved (every
contender once per round) and medians reported, since single runs on a small VM swing widely;
each wirekit row is also printed as a ratio to granian's figure for the same case.

Contenders (one worker process each; access logs off except where said):

* ``granian``: ``--interface wsgi --workers 1 --blocking-threads 32 --http 1 --no-ws``; 32
  blocking threads is the thread budget of gunicorn and of wirekit's threads mode (granian's
  own default is backpressure/2 = 512, spawned on demand: the same figures within noise here).
  One blocking thread is faster on ``hello`` but caps ``blocking`` near 1k req/s;
* ``gunicorn-gthread``: ``-k gthread --threads 32``;
* ``uvicorn``: ``--interface wsgi --http httptools --loop uvloop``; uvicorn wraps the app in
  a2wsgi's WSGIMiddleware when a2wsgi is installed (its own WSGI adapter is deprecated), which
  runs the application on a pool of 10 threads;
* ``wirekit-default``: ``wirekit serve --wsgi MOD:app``, no --concurrency (the threads mode,
  32 threads) and the access log on, its defaults (stderr goes to /dev/null);
* ``wirekit-threads-nolog``: ``--concurrency threads --no-access-log``;
* ``wirekit-async``: ``--concurrency async --no-access-log`` (an event loop, uvloop; how it
  runs an application that blocks is what ``blocking`` shows);
* only when named in ``--only``: ``gunicorn-sync``, ``waitress``, ``wsgiref`` (threading).

Run it alone on the machine (2 cores, shared with wrk). Needs wrk (``apt-get install wrk``)
and the peers (``pip install granian gunicorn uvicorn a2wsgi``; ``waitress`` for that
contender); contenders whose program is missing are skipped with a note.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from wrkload import free_port, interleaved, measure, wrk

APPS = {
    "hello": '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello World\\n"]
''',
    "realistic": '''
import itertools
import json
from urllib.parse import parse_qs

_served = itertools.count(1)


def app(environ, start_response):
    n = next(_served)
    body = json.dumps({
        "n": n,
        "path": environ.get("PATH_INFO", ""),
        "query": parse_qs(environ.get("QUERY_STRING", "")),
        "request_id": environ.get("HTTP_X_REQUEST_ID", ""),
        "user_agent": environ.get("HTTP_USER_AGENT", ""),
    }).encode()
    start_response("200 OK", [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Set-Cookie", f"session={n:08x}; Path=/; HttpOnly; SameSite=Lax"),
    ])
    return [body]
''',
    "blocking": '''
import time


def app(environ, start_response):
    time.sleep(0.001)  # a database call
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\\n"]
''',
    # The hello answer after ~200 us of Python work: an application with something to
    # compute, where a second worker has work to take (on 2 cores shared with wrk, a server
    # that is cheaper per request than ~3x wrk's own cost cannot scale 1.5x: bench/README.md).
    "cpu": '''
def app(environ, start_response):
    total = 0
    for i in range(2500):
        total += i * i
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"Hello World\\n"]
''',
}

# What wrk asks for, per application: the path (with its query) and extra request fields.
REQUEST = {
    "realistic": ("/api/items?name=wirekit&page=3&tag=net&tag=http&q=hello%20world",
                  ["User-Agent: wrk/4 wirekit-bench", "X-Request-Id: 5f0c1e2a-bench"]),
}

WSGIREF = '''
import importlib
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
app = importlib.import_module(sys.argv[2]).app
class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass
class Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True
make_server("127.0.0.1", int(sys.argv[1]), app, Threading, Quiet).serve_forever()
'''

BIN = Path(sys.executable).parent
DEFAULT = ["granian", "gunicorn-gthread", "uvicorn",
           "wirekit-default", "wirekit-threads-nolog", "wirekit-async"]
WIREKIT = [name for name in DEFAULT if name.startswith("wirekit")]
REFERENCE = "granian"


def contenders(port: int, workers: int, app: str) -> dict[str, list[str]]:
    """name -> command line serving ``APPS[app]`` with ``workers`` processes."""
    w, target, host = str(workers), f"{app}_app:app", "127.0.0.1"
    address = f"{host}:{port}"
    wirekit = [str(BIN / "wirekit"), "serve", "--wsgi", target, "-b", host, "-p", str(port)]
    if workers > 1:
        wirekit += ["-w", w]
    table = {
        "granian": [str(BIN / "granian"), "--interface", "wsgi", "--host", host,
                    "--port", str(port), "--workers", w, "--blocking-threads", "32",
                    "--http", "1", "--no-ws", "--log-level", "warning", target],
        "gunicorn-gthread": [str(BIN / "gunicorn"), "-b", address, "-w", w, "-k", "gthread",
                             "--threads", "32", "--log-level", "warning", target],
        "uvicorn": [str(BIN / "uvicorn"), "--interface", "wsgi", "--host", host,
                    "--port", str(port), "--workers", w, "--http", "httptools",
                    "--loop", "uvloop", "--no-access-log", "--log-level", "warning", target],
        "wirekit-default": wirekit,  # threads mode, access log on (to /dev/null)
        "wirekit-threads-nolog": [*wirekit, "--concurrency", "threads", "--no-access-log"],
        "wirekit-async": [*wirekit, "--concurrency", "async", "--no-access-log"],
        "gunicorn-sync": [str(BIN / "gunicorn"), "-b", address, "-w", w, "-k", "sync",
                          "--log-level", "warning", target],
    }
    if workers == 1:  # single-process servers
        table["waitress"] = [str(BIN / "waitress-serve"), "--listen", address, target]
        table["wsgiref"] = [sys.executable, "wsgiref_server.py", str(port), f"{app}_app"]
    return table


def get(port: int, path: str, fields: list[str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=dict(f.split(": ", 1) for f in fields))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, \
            response.read()
    finally:
        conn.close()


def check(app: str, port: int, path: str, fields: list[str]) -> None:
    """RuntimeError unless the server gives ``app``'s answer (wrk only counts statuses)."""
    first = get(port, path, fields)
    status, head, body = first
    expected = {"hello": b"Hello World\n", "cpu": b"Hello World\n", "blocking": b"ok\n"}
    if status != 200 or head.get("content-length") != str(len(body)):
        raise RuntimeError(f"bad answer: {status} {head} {body[:80]!r}")
    if app in expected and body != expected[app]:
        raise RuntimeError(f"bad body: {body[:80]!r}")
    if app == "realistic":
        second = get(port, path, fields)
        data = json.loads(body)
        if (head.get("content-type") != "application/json"
                or not head.get("set-cookie", "").startswith("session=")
                or data["query"].get("tag") != ["net", "http"]
                or data["request_id"] != "5f0c1e2a-bench"
                or data["user_agent"] != "wrk/4 wirekit-bench"
                or second[2] == body or second[1].get("set-cookie") == head["set-cookie"]):
            raise RuntimeError(f"bad realistic answer: {head} {body[:200]!r}")


def run_case(case: tuple, args: argparse.Namespace, workdir: Path) -> float | None:
    name, app, scenario, workers = case
    port = free_port()
    path, fields = REQUEST.get(app, ("/", []))
    url = f"http://127.0.0.1:{port}{path}"
    close = scenario == "close"

    def load() -> float:
        check(app, port, path, fields)
        wrk(url, 1, args.connections, close, fields)  # warm up
        return wrk(url, args.seconds, args.connections, close, fields)

    return measure(contenders(port, workers, app)[name], port, workdir, load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run [5]")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds [3]")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--only", nargs="*",
                        help=f"contender names [{' '.join(DEFAULT)}]; also gunicorn-sync, "
                             "waitress, wsgiref")
    parser.add_argument("--app", nargs="*", choices=list(APPS),
                        default=["hello", "realistic", "blocking"],
                        help="applications, keep-alive [hello realistic blocking]")
    parser.add_argument("--scenarios", nargs="*", default=["keep-alive", "close"],
                        choices=["keep-alive", "close"])
    parser.add_argument("--close-apps", nargs="*", choices=list(APPS), default=["hello"],
                        help="applications also run with Connection: close [hello]")
    parser.add_argument("--scaling", action="store_true",
                        help="also run every case with 2 workers and print 2w / 1w")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    names = args.only or DEFAULT
    unknown = set(names) - set(contenders(0, 1, "hello"))
    if unknown:
        sys.exit(f"unknown contender(s): {' '.join(sorted(unknown))}")
    for name in names:
        program = contenders(0, 1, "hello")[name][0]
        if not Path(program).exists():
            print(f"skipping {name}: {program} is not installed", file=sys.stderr)
    workers = [1, 2] if args.scaling else [1]
    plan = [(app, "keep-alive") for app in args.app if "keep-alive" in args.scenarios]
    plan += [(app, "close") for app in args.close_apps if "close" in args.scenarios]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for app, source in APPS.items():
            (workdir / f"{app}_app.py").write_text(source)
        (workdir / "wsgiref_server.py").write_text(WSGIREF)
        cases = [(name, app, scenario, w) for app, scenario in plan for w in workers
                 for name in names if name in contenders(0, w, app)
                 and Path(contenders(0, w, app)[name][0]).exists()]
        results = interleaved(cases, args.repeat, lambda case: run_case(case, args, workdir))
    report(results, plan, workers, args)


def report(results: dict, plan: list, workers: list[int], args: argparse.Namespace) -> None:
    rates = {case: runs for case, runs in results.items() if runs}
    medians = {case: statistics.median(runs) for case, runs in rates.items()}
    print(f"\nwrk -t1 -c{args.connections} -d{args.seconds}s over loopback, median of "
          f"{args.repeat} interleaved round(s), requests/s (min-max of the rounds)")
    for app, scenario in plan:
        for w in workers:
            rows = {name: rate for (name, a, s, n), rate in medians.items()
                    if (a, s, n) == (app, scenario, w)}
            print(f"\n{app}, {scenario}, {w} worker(s)")
            if not rows:
                print("  (no results)")
                continue
            reference = rows.get(REFERENCE)
            for name, rate in sorted(rows.items(), key=lambda item: -item[1]):
                runs = rates[(name, app, scenario, w)]
                line = f"  {name:22} {rate:9,.0f}   ({min(runs):,.0f}-{max(runs):,.0f})"
                if name.startswith("wirekit"):
                    line += (f"   {rate / reference:.2f}x {REFERENCE}" if reference
                             else f"   (no {REFERENCE} figure)")
                print(line)
    columns = [f"{app}{'' if scenario == 'keep-alive' else ' close'}" for app, scenario in plan]
    ran = {case[0] for case in medians}
    if ran & set(WIREKIT):
        print(f"\nwirekit / {REFERENCE}, 1 worker each")
        print("  " + " " * 22 + "".join(f"{c:>16}" for c in columns))
    for name in [name for name in WIREKIT if name in ran]:
        cells = []
        for app, scenario in plan:
            mine = medians.get((name, app, scenario, 1))
            theirs = medians.get((REFERENCE, app, scenario, 1))
            cells.append(f"{mine / theirs:.2f}x" if mine and theirs else "n/a")
        print(f"  {name:22}" + "".join(f"{c:>16}" for c in cells))
    if 2 in workers:
        print("\n2 workers / 1 worker")
        print("  " + " " * 22 + "".join(f"{c:>16}" for c in columns))
        for name in sorted(ran):
            cells = []
            for app, scenario in plan:
                one = medians.get((name, app, scenario, 1))
                two = medians.get((name, app, scenario, 2))
                cells.append(f"{two / one:.2f}x" if one and two else "n/a")
            print(f"  {name:22}" + "".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
