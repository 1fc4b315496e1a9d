"""The default mode under the floods of SECURITY.md L04/L05, each with a probe request that
must still be answered within 2 s; and a graceful stop that loses no request."""

from __future__ import annotations

import random
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from .conftest import hello_app, read_all

GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
pytestmark = pytest.mark.slow


def connect(server, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((server.address.host, server.address.port), timeout)


def probe(server, limit: float = 2.0) -> float:
    """An honest client's request; the seconds it took (asserted under ``limit``)."""
    start = time.monotonic()
    with connect(server) as sock:
        sock.sendall(b"GET /probe HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        answer = read_all(sock, limit + 3)
    elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"Hello World\n")
    assert elapsed < limit, f"the probe took {elapsed:.2f}s"
    return elapsed


def test_five_thousand_idle_connections(http_server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 12000:
        pytest.skip(f"needs 12000 file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 12000), hard))
    server = http_server(hello_app)
    idle: list[socket.socket] = []
    try:
        for _ in range(5000):  # past the 1000-connection cap: the longest idle make room
            sock = socket.socket()
            sock.settimeout(10)
            sock.connect((server.address.host, server.address.port))
            idle.append(sock)
        probe(server)
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_clients_that_never_read_a_200_mib_response(http_server):
    def huge(environ, start_response):
        if environ["PATH_INFO"] == "/probe":
            return hello_app(environ, start_response)
        start_response("200 OK", [("Content-Length", str(200 << 20))])
        return (b"x" * (1 << 20) for _ in range(200))

    server = http_server(huge)
    readers = [connect(server) for _ in range(50)]  # more than the 32 worker threads
    try:
        for sock in readers:
            sock.sendall(GET)
        time.sleep(0)  # the requests are in; nothing is read from here on
        probe(server)
    finally:
        for sock in readers:
            sock.close()


def test_a_pipelined_flood_from_one_client(http_server):
    server = http_server(hello_app)
    flood = connect(server)
    try:
        flood.sendall(GET * 5000)  # and reads nothing for now
        probe(server)
        received = b""  # and nothing of the flood is lost once it reads
        flood.settimeout(10)
        while received.count(b"Hello World\n") < 5000:
            chunk = flood.recv(1 << 20)
            assert chunk, f"closed after {received.count(b'Hello World')} responses"
            received += chunk
    finally:
        flood.close()


SERVE = """
import sys
from wirekit.cli.main import main
sys.argv = ["wirekit", "serve", "--wsgi", "tests.http.server.conftest:hello_app", "-p", "0",
            "-c", sys.argv[1], "--no-access-log"]
main()
"""


@pytest.mark.parametrize("mode", ["async", "threads"])
def test_sigterm_loses_no_request_on_keep_alive_connections(mode):
    """Clients keep asking on keep-alive connections across a SIGTERM. A request the server
    read is answered (with ``Connection: close`` once it is stopping); a connection it closes
    while idle is seen closed before the client writes (as urllib3 checks). Nothing written
    is left unanswered."""
    proc = subprocess.Popen([sys.executable, "-c", SERVE, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().decode()  # "wirekit serve: ... on http://h:p/ ..."
        host, port = line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)
        lost: list[str] = []
        answered = [0]
        stop = threading.Event()

        def client(seed: int) -> None:
            rng = random.Random(seed)
            sock = socket.create_connection((host, int(port)), 5)
            sock.settimeout(5)
            try:
                while True:
                    if select.select([sock], [], [], 0)[0]:
                        return  # closed while idle (EOF waiting): nothing was sent
                    sock.sendall(GET)
                    response = b""
                    while not response.endswith(b"Hello World\n"):
                        chunk = sock.recv(65536)
                        if not chunk:
                            lost.append(f"client {seed}: a request went unanswered")
                            return
                        response += chunk
                    answered[0] += 1
                    if b"Connection: close" in response:
                        return
                    time.sleep(rng.random() * 0.02)
            except OSError as exc:
                lost.append(f"client {seed}: {exc!r}")
            finally:
                sock.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        while answered[0] < 200:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(20)
        stop.set()
        assert proc.wait(30) == 0
        assert not lost, lost[:5]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_clients_that_never_read_a_large_file(http_server, tmp_path):
    """A file goes out by sendfile(2) while the socket takes it, then through the loop's
    flow control: a reader that stops holds no worker thread."""
    path = tmp_path / "big.bin"
    with path.open("wb") as f:
        f.truncate(64 << 20)  # 64 MiB, sparse

    def files(environ, start_response):
        if environ["PATH_INFO"] == "/probe":
            return hello_app(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](path.open("rb"))

    server = http_server(files)
    readers = [connect(server) for _ in range(50)]  # more than the 32 worker threads
    try:
        for sock in readers:
            sock.sendall(GET)
        probe(server)
    finally:
        for sock in readers:
            sock.close()
