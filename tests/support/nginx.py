"""nginx as a real peer on loopback: start one in front of test servers, for one test.

    from ..support.nginx import HTTPProxy, StreamProxy, nginx_unavailable, run_nginx

    pytestmark = pytest.mark.skipif(bool(reason := nginx_unavailable(stream=True)),
                                    reason=reason or "")

    with run_nginx(StreamProxy(["127.0.0.1:8001"], proxy_protocol=True),
                   HTTPProxy(["127.0.0.1:8002", "127.0.0.1:8003"])) as proxy:
        proxy.ports        # (stream port, http port): one free 127.0.0.1 port per block

Each block is one ``server { }`` listening on its own free port of 127.0.0.1, passing to an
``upstream { }`` of the given servers (round robin; ``"host:port"`` or ``"unix:/path"``).
``StreamProxy`` is a TCP relay (the ``stream`` module) that can send a PROXY protocol v1 header
upstream (``proxy_protocol on``) and read one from its clients (``accept_proxy_protocol``);
``HTTPProxy`` is a reverse proxy that adds the usual forwarded fields. ``directives`` and
``upstream_directives`` take any further nginx lines for the ``server`` and ``upstream`` blocks.

nginx runs in the foreground as one process (``daemon off; master_process off``) under the
current user, with its pid file, logs and temporary files in a fresh temporary directory, and
is stopped (SIGTERM, then SIGKILL) when the block ends. Readiness: nginx writes its pid file
after it has bound and listened on every port (``main()`` in ``src/core/nginx.c``), and HTTP
ports are then probed by a connect; stream ports are not probed, because nginx would open a
connection upstream for the probe and the server under test would see it. A port taken by
someone else between choosing it and nginx binding it makes nginx exit; the start is then
retried on new ports.

nginx sends only version 1 of the PROXY protocol (trac.nginx.org ticket 1639); it reads both.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["HTTPProxy", "Nginx", "StreamProxy", "nginx_unavailable", "run_nginx"]

START_TIMEOUT = 10.0  # seconds for nginx to bind its ports (it takes ~20 ms on loopback)
STOP_TIMEOUT = 5.0
ATTEMPTS = 3  # starts on fresh ports when a chosen port was taken meanwhile


@dataclass(frozen=True)
class StreamProxy:
    """A ``stream`` server: TCP from clients relayed to ``upstreams``."""

    upstreams: Sequence[str]
    proxy_protocol: bool = True  # send a PROXY v1 header to the upstream
    accept_proxy_protocol: bool = False  # require one from clients (listen ... proxy_protocol)
    directives: str = ""  # e.g. "set_real_ip_from 127.0.0.1;" (take the client's header)
    upstream_directives: str = ""

    def server(self, name: str, port: int) -> str:
        listen = f"127.0.0.1:{port}" + (" proxy_protocol" if self.accept_proxy_protocol else "")
        return (f"    server {{\n        listen {listen};\n        proxy_pass {name};\n"
                f"        proxy_protocol {'on' if self.proxy_protocol else 'off'};\n"
                f"        proxy_connect_timeout 5s;\n{_indent(self.directives)}    }}\n")


@dataclass(frozen=True)
class HTTPProxy:
    """An ``http`` server: a reverse proxy to ``upstreams``, adding forwarded fields."""

    upstreams: Sequence[str]
    forwarded_headers: bool = True  # X-Forwarded-For/-Proto/-Host and X-Real-IP
    accept_proxy_protocol: bool = False
    directives: str = ""  # e.g. "proxy_http_version 1.1;"
    upstream_directives: str = ""  # e.g. "keepalive 4;"

    def server(self, name: str, port: int) -> str:
        listen = f"127.0.0.1:{port}" + (" proxy_protocol" if self.accept_proxy_protocol else "")
        headers = (
            "proxy_set_header Host $http_host;\n"
            "proxy_set_header X-Real-IP $remote_addr;\n"
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "proxy_set_header X-Forwarded-Proto $scheme;\n"
            "proxy_set_header X-Forwarded-Host $host;\n"
        ) if self.forwarded_headers else ""
        return (f"    server {{\n        listen {listen};\n"
                f"        location / {{\n            proxy_pass http://{name};\n"
                f"{_indent(headers + self.directives, 12)}        }}\n    }}\n")


Block = StreamProxy | HTTPProxy


@dataclass(frozen=True)
class Nginx:
    """A running nginx: one port per block, in the order the blocks were given."""

    ports: tuple[int, ...]
    directory: Path
    process: subprocess.Popen[bytes]

    def address(self, index: int = 0) -> tuple[str, int]:
        return ("127.0.0.1", self.ports[index])

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def error_log(self) -> str:
        """What nginx logged so far (to explain a failure)."""
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


@cache
def _build_options() -> str:
    binary = nginx_binary()
    if binary is None:
        return ""
    done = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10,
                          check=False)
    return done.stderr + done.stdout


def _stream_module() -> tuple[bool, str | None]:
    """(stream available, path of the module to load or None when built in)."""
    options = _build_options()
    if "--with-stream=dynamic" in options:
        found = re.search(r"--modules-path=(\S+)", options)
        path = Path(found.group(1) if found else "/usr/lib/nginx/modules") / \
            "ngx_stream_module.so"
        return path.is_file(), str(path)
    return "--with-stream" in options, None


def nginx_unavailable(*, stream: bool = False) -> str | None:
    """Why nginx cannot run here (a skip reason), or None when it can."""
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx)"
    if stream and not _stream_module()[0]:
        return "nginx has no stream module (apt-get install libnginx-mod-stream)"
    return None


def _indent(text: str, spaces: int = 8) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "".join(" " * spaces + line + "\n" for line in lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def render(blocks: Sequence[Block], ports: Sequence[int], directory: Path) -> str:
    """The whole nginx.conf for ``blocks`` on ``ports``, every path inside ``directory``."""
    d = directory
    parts = ["daemon off;\nmaster_process off;\nworker_processes 1;\n",
             f"pid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"]
    streams = [(b, p, f"up{i}") for i, (b, p) in enumerate(zip(blocks, ports, strict=True))
               if isinstance(b, StreamProxy)]
    https = [(b, p, f"up{i}") for i, (b, p) in enumerate(zip(blocks, ports, strict=True))
             if isinstance(b, HTTPProxy)]
    module = _stream_module()[1]
    if streams and module:
        parts.insert(0, f"load_module {module};\n")
    parts.append("events {\n    worker_connections 256;\n}\n")
    if streams:
        parts.append("stream {\n" + "".join(_upstream(b, n) + b.server(n, p)
                                            for b, p, n in streams) + "}\n")
    if https:
        temp = "".join(f"    {kind}_temp_path {d}/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        parts.append(f"http {{\n    access_log {d}/access.log;\n{temp}"
                     + "".join(_upstream(b, n) + b.server(n, p) for b, p, n in https) + "}\n")
    return "".join(parts)


def _upstream(block: Block, name: str) -> str:
    if not block.upstreams:
        raise ValueError("a proxy block needs at least one upstream server")
    servers = "".join(f"        server {server};\n" for server in block.upstreams)
    return f"    upstream {name} {{\n{servers}{_indent(block.upstream_directives)}    }}\n"


@contextmanager
def run_nginx(*blocks: Block, timeout: float = START_TIMEOUT) -> Iterator[Nginx]:
    """Run nginx with ``blocks`` until the ``with`` block ends; see the module docstring."""
    reason = nginx_unavailable(stream=any(isinstance(b, StreamProxy) for b in blocks))
    if reason:
        raise RuntimeError(reason)
    with tempfile.TemporaryDirectory(prefix="wk-nginx-") as tmp:
        for attempt in range(ATTEMPTS):
            directory = Path(tmp) / str(attempt)
            directory.mkdir()
            nginx = _start(blocks, directory, timeout)
            if nginx is not None:
                break
        else:
            raise RuntimeError(f"nginx did not start:\n{(directory / 'error.log').read_text()}")
        try:
            yield nginx
        finally:
            _stop(nginx.process)


def _start(blocks: Sequence[Block], directory: Path, timeout: float) -> Nginx | None:
    """Start nginx on fresh ports; None when a port was taken (the caller retries)."""
    ports = tuple(free_port() for _ in blocks)
    conf = directory / "nginx.conf"
    conf.write_text(render(blocks, ports, directory))
    with open(directory / "output.log", "wb") as output:
        process = subprocess.Popen(
            [nginx_binary() or "nginx", "-p", f"{directory}/", "-c", str(conf),
             "-e", str(directory / "error.log")],
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    nginx = Nginx(ports, directory, process)
    deadline = time.monotonic() + timeout
    http_ports = [p for b, p in zip(blocks, ports, strict=True) if isinstance(b, HTTPProxy)]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "Address already in use" in nginx.error_log():
                return None
            raise RuntimeError(f"nginx exited with {process.returncode}:\n"
                               f"{(directory / 'output.log').read_text()}{nginx.error_log()}")
        if (directory / "nginx.pid").exists() and all(_accepts(p) for p in http_ports):
            return nginx
        time.sleep(0.02)
    _stop(process)
    raise RuntimeError(f"nginx did not listen within {timeout} s:\n{nginx.error_log()}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # nginx's fast shutdown
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
