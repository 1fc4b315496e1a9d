"""What the connection core guarantees from outside, in every mode: no application and no
slow client stalls anyone else; the timeouts mean the same everywhere; a full server makes
room or says 503; a graceful stop answers what is on its way."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import pytest

from wirekit.config import DEFAULT_TIMEOUTS, Timeouts
from wirekit.server import Async

from .conftest import read_all

GET = b"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n"


def connect(server, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((server.address.host, server.address.port), timeout)


def ask(sock: socket.socket, path: str = "") -> bytes:
    """One request on a keep-alive connection; the whole response (Content-Length)."""
    sock.sendall(GET % path.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"!EOF"
        if data.endswith(b"!EOF"):
            return data
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_blocking_application_does_not_delay_another_request(http_server, mode):
    entered, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(2)  # a 2 s database call
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = http_server(app, mode)
    slow = connect(server)
    slow.sendall(GET % b"slow")
    assert entered.wait(5)
    with connect(server) as fast:
        start = time.monotonic()
        response = ask(fast, "fast")
        elapsed = time.monotonic() - start
    assert response.startswith(b"HTTP/1.1 200") and elapsed < 0.05 * 10  # generous on CI
    assert elapsed < 0.5, f"the fast request waited {elapsed:.3f}s behind the slow one"
    release.set()
    assert ask(slow, "") or True
    slow.close()


@pytest.mark.parametrize("keep_alive", [0.5, 1.0])
def test_keep_alive_means_the_same_in_every_mode(http_server, mode, keep_alive):
    from .conftest import hello_app

    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, keep_alive=keep_alive)
    server = http_server(hello_app, mode, timeouts=timeouts)
    with connect(server) as sock:
        assert ask(sock).endswith(b"Hello World\n")
        start = time.monotonic()
        assert read_all(sock, keep_alive + 3) == b""  # EOF: the server closed it
        elapsed = time.monotonic() - start
    assert keep_alive - 0.05 <= elapsed < keep_alive + 0.8


def test_none_keeps_an_idle_connection_open(http_server, mode):
    from .conftest import hello_app

    timeouts = Timeouts(keep_alive=None, idle=None)
    server = http_server(hello_app, mode, timeouts=timeouts)
    with connect(server) as sock:
        assert ask(sock).endswith(b"Hello World\n")
        sock.settimeout(1.5)  # longer than every default the two modes used to differ on
        with pytest.raises(TimeoutError):
            sock.recv(1)
        assert ask(sock).endswith(b"Hello World\n")  # and it still serves


def test_a_request_arriving_during_a_graceful_stop_is_answered_with_close(http_server, mode):
    from .conftest import hello_app

    server = http_server(hello_app, mode)
    with connect(server) as sock:
        assert ask(sock).endswith(b"Hello World\n")
        server.request_stop()  # SIGTERM
        refused_by = time.monotonic() + 5  # the stop has been seen once connects are refused
        while time.monotonic() < refused_by:
            try:
                connect(server, 1).close()
            except (ConnectionRefusedError, ConnectionResetError):
                break
        response = ask(sock)
        assert response.startswith(b"HTTP/1.1 200") and b"Connection: close" in response
        assert read_all(sock, 3) == b""


def test_a_full_server_closes_an_idle_connection_to_make_room(http_server):
    from .conftest import hello_app

    server = http_server(hello_app, Async(max_connections=3))
    idle = [connect(server) for _ in range(3)]
    for sock in idle:
        assert ask(sock).endswith(b"Hello World\n")
    with connect(server) as newcomer:
        assert ask(newcomer).endswith(b"Hello World\n")
    closed = [read_all(sock, 0.5) == b"" for sock in idle]
    assert closed[0], "the longest-idle connection is the one closed"
    for sock in idle:
        sock.close()


def test_a_full_server_of_busy_connections_answers_503_at_once(http_server):
    release = threading.Event()
    started = threading.Semaphore(0)

    def app(environ, start_response):
        started.release()
        release.wait(5)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = http_server(app, Async(max_connections=2))
    busy = [connect(server) for _ in range(2)]
    for sock in busy:
        sock.sendall(GET % b"")
    for _ in busy:
        assert started.acquire(timeout=5)
    with connect(server) as extra:
        start = time.monotonic()
        response = read_all(extra, 3)
        assert response.startswith(b"HTTP/1.1 503 ") and b"Retry-After" in response
        assert time.monotonic() - start < 1.0
    release.set()
    for sock in busy:
        assert b"200 OK" in ask(sock, "") or True
        sock.close()


@pytest.mark.slow
def test_the_default_mode_serves_a_probe_during_slow_client_floods(http_server):
    """Slowloris, slow bodies and idle connections at once; a probe is still answered."""
    from .conftest import hello_app

    server = http_server(hello_app)  # the default mode
    socks: list[socket.socket] = []
    try:
        for _ in range(150):  # slowloris: a head that never ends
            sock = connect(server)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Drip: ")
            socks.append(sock)
        for _ in range(50):  # slow bodies: content that trickles
            sock = connect(server)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nx")
            socks.append(sock)
        for _ in range(300):  # idle connections
            socks.append(connect(server))
        for sock in socks[:200]:
            sock.send(b"x")  # a byte each, as the drip goes on
        with connect(server) as probe:
            start = time.monotonic()
            assert ask(probe).endswith(b"Hello World\n")
            assert time.monotonic() - start < 2.0
    finally:
        for sock in socks:
            sock.close()


def _open_descriptors() -> int:
    import os
    return len(os.listdir("/proc/self/fd"))


def test_files_sent_from_workers_leave_no_descriptor_behind(http_server, tmp_path):
    """The async driver's worker sends a file through a duplicate of the socket's descriptor
    (a socket the loop closes meanwhile cannot be mistaken for a new one); the duplicate is
    closed with the connection."""
    path = tmp_path / "one-mib.bin"
    path.write_bytes(bytes(range(256)) * 4096)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(1 << 20))])
        return environ["wsgi.file_wrapper"](path.open("rb"))

    server = http_server(app, Async())
    with connect(server) as warm:  # the pool's threads and the loop's own descriptors
        assert len(ask(warm, "warm")) > 1 << 20
    baseline = _open_descriptors()
    for n in range(20):
        with connect(server) as sock:
            response = ask(sock, str(n))
            assert response.endswith(bytes(range(256)) * 16) and len(response) > 1 << 20
    deadline = time.monotonic() + 5
    while _open_descriptors() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)  # the server closes each connection once it sees our FIN
    assert _open_descriptors() <= baseline
