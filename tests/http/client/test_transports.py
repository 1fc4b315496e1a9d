"""Where requests go: Unix sockets, mounted transports, a capped pool, progress callbacks."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote

import pytest

from wirekit.errors import LookupFailed
from wirekit.http.client import (
    HTTPError,
    MockTransport,
    PoolTimeout,
    Response,
    Session,
    TooManyRedirects,
    get,
)
from wirekit.http.client.errors import InvalidURL
from wirekit.http.server import HTTPServer

from .apps import echo_app


def _where(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    body = {"path": environ["PATH_INFO"], "host": environ.get("HTTP_HOST")}
    return [json.dumps(body).encode()]


@pytest.fixture
def unix_server(tmp_path):
    path = str(tmp_path / "app.sock")
    server = HTTPServer(_where, f"unix:{path}").start()
    yield server, path
    server.shutdown(timeout=10)


def test_http_unix_urls_reach_a_unix_socket(unix_server):
    server, path = unix_server
    # The server prints the URL the client reads: the socket path percent-encoded.
    assert server.url == f"http+unix://{quote(path, safe='')}"
    answer = get(server.url + "/items?x=1").json()
    assert answer == {"path": "/items", "host": "localhost"}
    # a relative redirect stays on the socket
    with Session() as session:
        assert session.get(f"{server.url}/a/b").json()["path"] == "/a/b"


def test_a_session_on_a_unix_socket_uses_the_urls_host_for_host(unix_server):
    _, path = unix_server
    with Session(unix_socket=path) as session:  # curl --unix-socket PATH http://api.local/x
        assert session.get("http://api.local/x").json() == {"path": "/x", "host": "api.local"}
        assert session.get("http://api.local/y").json()["path"] == "/y"
        assert len(session._pool) == 1  # one kept-alive connection served both


@pytest.mark.parametrize("url", ["http+unix://relative.sock/x", "http+unix:///x"])
def test_http_unix_urls_need_an_absolute_socket_path(url):
    with pytest.raises(InvalidURL, match="absolute path"):
        get(url)


def test_a_name_that_does_not_resolve_is_named_in_the_error():
    with pytest.raises(LookupFailed, match=r"'no-such-host\.invalid'"):
        get("http://no-such-host.invalid/")


def test_mounted_mock_transport_runs_under_the_sessions_logic():
    def handler(request):
        if request.url.endswith("/old"):
            return Response(302, {"Location": "/new", "Set-Cookie": "sid=1; Path=/"})
        if request.url.endswith("/missing"):
            return Response(404, {}, content=b"nope")
        body = {"method": request.method, "url": request.url,
                "cookie": request.headers.get("cookie"), "sent": request.content.decode()}
        return Response(200, {"Content-Type": "application/json"},
                        content=json.dumps(body).encode())

    mock = MockTransport(handler)
    with Session() as session:
        session.mount("https://api.example.org/", mock)
        answer = session.post("https://api.example.org/old", data={"a": "1"}).json()
        with pytest.raises(HTTPError) as caught:
            session.get("https://api.example.org/missing")
    # the session followed the redirect (302 after POST becomes GET) and kept the cookie
    assert answer == {"method": "GET", "url": "https://api.example.org/new", "cookie": "sid=1",
                      "sent": ""}
    assert caught.value.status == 404 and caught.value.body == b"nope"
    assert [r.method for r in mock.requests] == ["POST", "GET", "GET"]
    assert mock.requests[0].content == b"a=1"


def test_the_longest_mounted_prefix_wins(wsgi_server):
    url = wsgi_server(echo_app)
    seen: list[str] = []

    def loop(request):
        seen.append(request.url)
        return Response(302, {"Location": request.url})

    with Session() as session:
        session.mount("http://", MockTransport(lambda r: Response(500, {})))
        session.mount(url + "/loop", MockTransport(loop))
        with pytest.raises(TooManyRedirects):
            session.get(url + "/loop", max_redirects=3)
        assert len(seen) == 4
        session.mount("http://", session._transport)  # the real one back, by prefix
        assert session.get(url + "/x").json()["path"] == "/x"


def test_progress_callbacks_follow_the_bytes(wsgi_server):
    url = wsgi_server(echo_app)
    payload = bytes(range(256)) * 4096  # 1 MiB: sent in blocks
    uploads: list[tuple[int, int | None]] = []
    downloads: list[tuple[int, int | None]] = []
    with Session() as session:
        response = session.post(url, data=payload,
                                upload_progress=lambda n, total: uploads.append((n, total)),
                                download_progress=lambda n, total: downloads.append((n, total)))
    assert len(uploads) > 1 and uploads[-1] == (len(payload), len(payload))
    assert [n for n, _ in uploads] == sorted(n for n, _ in uploads)
    length = int(response.headers["content-length"])
    assert downloads[-1] == (length, length) and len(response.content) == length


def test_the_pool_caps_open_connections_per_host_and_waits(wsgi_server):
    gate = threading.Event()
    entered = threading.Semaphore(0)

    def slow(environ, start_response):
        entered.release()
        gate.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    url = wsgi_server(slow)
    results: list[bytes] = []
    with Session(max_connections=1, timeout=(5, 10)) as session:
        first = threading.Thread(target=lambda: results.append(session.get(url).content))
        first.start()
        assert entered.acquire(timeout=5)  # the one connection is busy
        second = threading.Thread(target=lambda: results.append(session.get(url).content))
        second.start()
        # the second waits for room instead of opening a second connection
        assert not entered.acquire(timeout=0.3)
        assert session._pool.open_count(("http", "127.0.0.1", int(url.rsplit(":", 1)[1]),
                                         None)) == 1
        gate.set()
        first.join(10)
        second.join(10)
    assert results == [b"ok", b"ok"]


def test_a_full_pool_times_out_with_a_named_error(wsgi_server):
    gate = threading.Event()
    entered = threading.Event()

    def slow(environ, start_response):
        entered.set()
        gate.wait(10)
        start_response("200 OK", [])
        return [b"ok"]

    url = wsgi_server(slow)
    with Session(max_connections=1, timeout=(0.3, 10)) as session:
        worker = threading.Thread(target=session.get, args=(url,))
        worker.start()
        assert entered.wait(5)
        try:
            with pytest.raises(PoolTimeout, match="max_connections"):
                session.get(url)
        finally:
            gate.set()
            worker.join(10)
