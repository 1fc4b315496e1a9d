"""Static files under wrk: ``wirekit serve DIR`` beside ``python -m http.server`` and nginx.

    .venv/bin/python bench/http_static.py                  # 1 KiB and 1 MiB, 3 rounds
    .venv/bin/python bench/http_static.py --seconds 5 --repeat 5 --sizes 1024

Each server serves the same directory from its own process (one worker each; nginx with
``sendfile on`` and its access log off, the physical reference), and wrk (1 thread, 50
connections, keep-alive) fetches one file over loopback. Rounds are interleaved and medians
reported. Run it alone on the machine. Needs wrk and nginx (apt-get install wrk nginx-light).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from wrkload import free_port, interleaved, measure, wrk

BIN = Path(sys.executable).parent
NGINX_CONF = """
worker_processes 1;
daemon off;
user root root;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ application/octet-stream bin; }}
    server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
"""


def contenders(port: int, root: Path, tmp: Path) -> dict[str, list[str]]:
    address = f"127.0.0.1:{port}"
    nginx_conf = tmp / f"nginx-{port}.conf"
    nginx_conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=root))
    return {
        "wirekit-async": [str(BIN / "wirekit"), "serve", str(root), "-b", address,
                          "-c", "async", "--no-access-log"],
        "wirekit-threads": [str(BIN / "wirekit"), "serve", str(root), "-b", address,
                            "-c", "threads", "--no-access-log"],
        "http.server": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                        "--directory", str(root), str(port)],
        "nginx": [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(nginx_conf)],
    }


def run_case(case: object, args: argparse.Namespace, root: Path, tmp: Path) -> float | None:
    name, size = case  # type: ignore[misc]
    port = free_port()
    path = f"/file-{size}.bin"
    url = f"http://127.0.0.1:{port}{path}"

    def load() -> float:
        wrk(url, 1, args.connections)  # warm up
        return wrk(url, args.seconds, args.connections)

    return measure(contenders(port, root, tmp)[name], port, tmp, load, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--sizes", nargs="*", type=int, default=[1024, 1 << 20])
    parser.add_argument("--only", nargs="*", help="contender names")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        os.chmod(tmp, 0o755)  # nginx workers read the files
        root = tmp / "www"
        root.mkdir()
        for size in args.sizes:
            (root / f"file-{size}.bin").write_bytes(os.urandom(size))
        cases = [(name, size) for size in args.sizes for name in contenders(0, root, tmp)
                 if not args.only or name in args.only]
        results = interleaved(cases, args.repeat, lambda case: run_case(case, args, root, tmp))
    print(f"\nwrk -t1 -c{args.connections} -d{args.seconds}s keep-alive, median of "
          f"{args.repeat} interleaved rounds")
    for size in args.sizes:
        rows = {name: statistics.median(rates) for (name, s), rates in results.items()
                if s == size and rates}
        print(f"\n{size} bytes            requests/s     MiB/s")
        for name, rate in sorted(rows.items(), key=lambda item: -item[1]):
            print(f"  {name:16} {rate:12,.0f} {rate * size / (1 << 20):9,.1f}")
        for mine in ("wirekit-async", "wirekit-threads"):
            for peer in ("http.server", "nginx"):
                if rows.get(mine) and rows.get(peer):
                    print(f"  {mine} / {peer:12} {rows[mine] / rows[peer]:6.2f}x")


if __name__ == "__main__":
    main()
