"""Errors as exceptions: HTTPError, timeouts (K09), connection failures, response limits (K07)."""

from __future__ import annotations

import socket
import threading
import tracemalloc

import pytest

from wirekit.errors import (
    ConnectError,
    MessageTooLarge,
    ProtocolError,
    RemoteProtocolError,
    Timeout,
    WirekitError,
)
from wirekit.http.client import HTTPError, Session, get, urlopen

from .apps import status_app


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def answer(raw: bytes, then_wait: threading.Event | None = None):
    """A raw server handler: read one request head, send ``raw``, optionally wait."""

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(raw)
        if then_wait is not None:
            then_wait.wait(10)

    return handler


def test_http_error_carries_status_headers_and_body(wsgi_server):
    url = wsgi_server(status_app("404 Not Found", [("Content-Type", "application/json"),
                                                   ("X-Why", "gone")], b'{"error": "nope"}'))
    with pytest.raises(HTTPError) as info:
        urlopen(url + "/missing")
    error = info.value
    assert (error.status, error.code, error.getcode(), error.reason) == (404, 404, 404,
                                                                       "Not Found")
    assert error.headers["x-why"] == "gone" and error.url == url + "/missing"
    assert error.body == error.read() == b'{"error": "nope"}'
    assert error.json() == {"error": "nope"} and "nope" in error.text
    assert isinstance(error, ProtocolError) and isinstance(error, WirekitError)
    assert str(error) == f"HTTP 404 Not Found ({url}/missing)"


def test_http_errors_can_be_returned_instead(wsgi_server):
    url = wsgi_server(status_app("503 Service Unavailable", [], b"later"))
    response = get(url, raise_for_status=False)
    assert response.status == 503 and not response.ok and response.content == b"later"
    with pytest.raises(HTTPError):
        response.raise_for_status()
    with Session(raise_for_status=False) as session:
        assert session.get(url).status == 503
        with pytest.raises(HTTPError):
            session.get(url, raise_for_status=True)


def test_the_error_body_kept_is_bounded(wsgi_server):
    url = wsgi_server(status_app("500 Internal Server Error", [], b"x" * 100_000))
    with Session(max_error_body=1000) as session, pytest.raises(HTTPError) as info:
        session.get(url)
    assert info.value.body == b"x" * 1000


def test_timeouts_are_on_by_default():
    assert Session().timeout == (5.0, 30.0)
    assert Session(timeout=None).timeout == (None, None)  # only when asked
    assert Session(timeout=(1, 2)).timeout == (1, 2)
    with pytest.raises(ValueError):
        Session(timeout=-1)


def test_a_server_that_never_answers_times_out(raw_server):
    # SECURITY.md K09: the server accepts, reads, and says nothing.
    release = threading.Event()
    peer = raw_server(answer(b"", then_wait=release))
    try:
        with pytest.raises(Timeout) as info:
            get(f"http://{peer.address}/", timeout=0.3)
        assert isinstance(info.value, TimeoutError) and info.value.phase == "read"
    finally:
        release.set()


def test_a_server_that_stalls_mid_body_times_out(raw_server):
    release = threading.Event()
    peer = raw_server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf",
                             then_wait=release))
    try:
        with get(f"http://{peer.address}/", stream=True, timeout=(5, 0.3)) as response:
            assert response.status == 200
            with pytest.raises(Timeout):
                response.read()
    finally:
        release.set()


def test_connection_refused_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        get(f"http://127.0.0.1:{port}/")
    assert isinstance(info.value, ConnectionError)


@pytest.mark.parametrize(("raw", "error"), [
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n", MessageTooLarge),
    (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n",
     MessageTooLarge),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * 1000, RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\nhello", RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
     RemoteProtocolError),
    (b"ICY 200 OK\r\n\r\n", RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", RemoteProtocolError),
    (b"", RemoteProtocolError),
])  # fmt: skip
def test_malformed_or_oversized_responses_fail_with_a_bounded_error(raw_server, raw, error):
    # SECURITY.md K07 (CVE-2021-3737, gh-119451): no endless loop, no huge allocation.
    peer = raw_server(answer(raw))
    tracemalloc.start()
    try:
        with pytest.raises(error):
            get(f"http://{peer.address}/", timeout=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_eof_before_the_end_of_the_content_is_an_error(raw_server):
    peer = raw_server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
    with pytest.raises(RemoteProtocolError, match="5 bytes"):
        get(f"http://{peer.address}/")
