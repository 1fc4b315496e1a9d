"""The client against real servers: urlopen, methods, bodies, responses, keep-alive."""

from __future__ import annotations

import json
import socket

import pytest

from wirekit.http.client import Request, Session, get, post, urlopen
from wirekit.http.client.errors import InvalidRequest

from .apps import echo_app, keep_alive_handler, status_app


def test_urlopen_reads_like_the_course(wsgi_server):
    url = wsgi_server(status_app("200 OK", [("Content-Type", "text/plain")], b"one\ntwo\n"))
    with urlopen(url + "/page") as response:
        assert response.status == 200 and response.getcode() == 200
        assert response.reason == "OK"
        assert response.geturl() == url + "/page"
        assert response.info()["CONTENT-TYPE"] == "text/plain"
        assert response.getheader("content-length") == "8"
        assert list(response) == [b"one\n", b"two\n"]
    assert response.closed


def test_get_with_params_and_headers(wsgi_server):
    url = wsgi_server(echo_app)
    answer = get(url + "/search?x=0", params={"q": "a b", "n": [1, 2]},
                 headers={"X-Token": "abc"}).json()
    assert answer["method"] == "GET" and answer["path"] == "/search"
    assert answer["query"] == "x=0&q=a+b&n=1&n=2"
    assert answer["headers"]["x-token"] == "abc"
    assert answer["headers"]["host"] == url.split("//")[1]
    assert answer["headers"]["user-agent"].startswith("wirekit/")
    assert "gzip" in answer["headers"]["accept-encoding"]


def test_form_post_json_and_raw_bodies(wsgi_server):
    url = wsgi_server(echo_app)
    form = post(url, data={"user": "ann", "lang": ["py", "c"]}).json()
    assert form["method"] == "POST"
    assert form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert form["body"] == "user=ann&lang=py&lang=c"
    as_json = post(url, json={"a": [1, "é"]}).json()
    assert as_json["headers"]["content-type"] == "application/json"
    assert json.loads(as_json["body"].encode("latin-1")) == {"a": [1, "é"]}
    with Session() as session:
        raw = session.put(url, data=b"\x00\x01raw", headers={"Content-Type": "x/y"}).json()
        assert (raw["method"], raw["body"], raw["headers"]["content-type"]) == \
            ("PUT", "\x00\x01raw", "x/y")
        assert session.patch(url, data="text").json()["body"] == "text"
        assert session.post(url).json()["body"] == ""
        assert session.delete(url).json()["method"] == "DELETE"
        assert session.options(url).json()["method"] == "OPTIONS"
        head = session.head(url)
        assert head.status == 200 and head.content == b""
        assert int(head.headers["content-length"]) > 0


def test_request_objects_like_urllib(wsgi_server, tmp_path):
    url = wsgi_server(echo_app)
    request = Request(url + "/r", data=b"payload")
    request.add_header("X-Course", "2-19")
    assert request.get_method() == "POST" and request.full_url == url + "/r"
    answer = json.loads(urlopen(request).read())
    assert answer["headers"]["x-course"] == "2-19" and answer["body"] == "payload"
    source = tmp_path / "data.bin"
    source.write_bytes(b"z" * 1000)
    with open(source, "rb") as handle:
        answer = json.loads(urlopen(Request(url, handle, method="PUT")).read())
    assert answer["method"] == "PUT" and answer["body"] == "z" * 1000


def test_headers_are_case_insensitive_and_multi_valued(wsgi_server):
    url = wsgi_server(status_app("200 OK", [("X-Multi", "a"), ("x-multi", "b"),
                                            ("Content-Type", "text/plain; charset=latin-1")],
                                 "café".encode("latin-1")))
    response = get(url)
    assert response.headers.get_list("X-MULTI") == ["a", "b"]
    assert response.headers["x-multi"] == "a, b"
    assert response.encoding == "iso8859-1" and response.text == "café"


def test_charset_defaults_and_bom(wsgi_server):
    url = wsgi_server(status_app("200 OK", [("Content-Type", "text/plain")],
                                 "\ufeffhé".encode("utf-8")))
    assert get(url).text == "hé"


def test_streaming_reads_in_pieces(wsgi_server):
    body = bytes(range(256)) * 4096  # 1 MiB
    url = wsgi_server(status_app("200 OK", [], body))
    with get(url, stream=True) as response:
        assert response.read(10) == body[:10]
        assert response.readline() == body[10:body.index(b"\n", 10) + 1]
        rest = b"".join(response.iter_bytes())
    assert len(rest) + 10 + body.index(b"\n", 10) - 9 == len(body)
    with get(url, stream=True) as response:
        pieces = list(response.iter_bytes(1000))
    assert all(len(p) <= 1000 for p in pieces) and b"".join(pieces) == body


def test_keep_alive_reuses_one_connection(raw_server):
    log: list = []
    peer = raw_server(keep_alive_handler(lambda r, b: (200, [], r.target.encode()), log),
                      clients=1)
    with Session() as session:
        bodies = [session.get(f"http://{peer.address}/{i}").content for i in range(5)]
    assert bodies == [f"/{i}".encode() for i in range(5)]
    assert len(log) == 5  # all five on the one connection the server accepted
    assert not peer.errors


def test_a_closed_idle_connection_is_replaced(raw_server):
    log: list = []
    # The server answers one request per connection, keep-alive in its headers, then closes:
    # the pooled connection is dead when the next request comes.
    peer = raw_server(keep_alive_handler(lambda r, b: (200, [], b"ok"), log, max_requests=1),
                      clients=3)
    with Session() as session:
        for _ in range(3):
            assert session.post(f"http://{peer.address}/", data=b"x").content == b"ok"
    assert len(log) == 3 and not peer.errors


def test_an_empty_post_says_content_length_0(raw_server):
    # RFC 9110 §8.6: servers that insist on a length (411) get one.
    log: list = []
    peer = raw_server(keep_alive_handler(lambda r, b: (200, [], b""), log))
    with Session() as session:
        session.post(f"http://{peer.address}/")
        session.get(f"http://{peer.address}/")
    assert log[0][0].headers["content-length"] == "0"
    assert "content-length" not in log[1][0].headers


def test_iterator_bodies_go_chunked(raw_server):
    log: list = []
    peer = raw_server(keep_alive_handler(lambda r, b: (200, [], str(len(b)).encode()), log))

    def pieces():
        yield b"abc"
        yield b""
        yield "déf"

    with Session() as session:
        assert session.post(f"http://{peer.address}/", data=pieces()).content == b"7"
    request, body = log[0]
    assert request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in request.headers and body == "abcdéf".encode()


def test_bad_request_arguments_fail_before_connecting(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"never"), clients=1)
    url = f"http://{peer.address}/"
    with pytest.raises(InvalidRequest):
        get(url, json={}, data=b"x")
    with pytest.raises(TypeError):
        get(url, auth=("only-one",))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        Session().request("GET\r\nX: 1", url)
    with pytest.raises(InvalidRequest):
        get(url, data=object())
    unblock(peer)


def unblock(peer) -> None:
    """End a raw server still waiting in accept() (it was never connected to)."""
    host, port = peer.address.rsplit(":", 1)
    socket.create_connection((host, int(port)), timeout=5).close()
    peer.thread.join(5)


@pytest.mark.parametrize(("raw", "body"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n6; ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", b"hello world"),
    (b"HTTP/1.0 200 OK\r\n\r\nuntil the server closes", b"until the server closes"),
    (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n", b""),
])  # fmt: skip
def test_response_framings(raw_server, raw, body):
    def handler(conn):
        conn.recv(65536)
        conn.sendall(raw)

    peer = raw_server(handler)
    assert get(f"http://{peer.address}/").content == body


def test_injection_is_refused_before_anything_is_sent(raw_server):
    # SECURITY.md K05 (CVE-2019-9740, CVE-2019-9947, CVE-2020-26116, urllib3 CVE-2020-26137):
    # every attempt fails with a ValueError and the server never even sees a connection.
    connections: list[bytes] = []
    peer = raw_server(lambda conn: connections.append(conn.recv(65536)), clients=1)
    base = f"http://{peer.address}"
    attempts = [
        lambda: get(base + "/?a=1 HTTP/1.1\r\nX-Injected: 1"),
        lambda: get(base + "/a\nb"),
        lambda: get(f"http://{peer.address}\r\nX: 1/"),
        lambda: Session().request("GET\r\nX-Injected: 1", base),
        lambda: Session().request("GET /evil", base),
        lambda: get(base, headers={"X-Value": "a\r\nX-Injected: 1"}),
        lambda: get(base, headers={"X-Value": "a\x00b"}),
        lambda: get(base, headers={"Bad Name": "v"}),
        lambda: get(base, headers={"X\r\nY": "v"}),
        lambda: get(base, params="a=1\r\nX: y"),
        lambda: get(base, cookies={"a": "1\r\nX: y"}),
        lambda: Session(headers={"X-Default": "a\nb"}),
        lambda: get(base, auth=("user\r\n", "pw")),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError):
            attempt()
    assert connections == [] and not peer.errors
    unblock(peer)


def test_one_session_from_many_threads(wsgi_server):
    import threading

    url = wsgi_server(echo_app)
    results: list[str] = []
    with Session() as session:
        def worker(n: int) -> None:
            for i in range(20):
                results.append(session.get(f"{url}/{n}/{i}").json()["path"])

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(results) == sorted(f"/{n}/{i}" for n in range(6) for i in range(20))


def test_against_the_stdlib_http_server(tmp_path):
    # Interop: http.server's SimpleHTTPRequestHandler (HTTP/1.0, closes each connection).
    import functools
    import http.server
    import threading

    (tmp_path / "page.html").write_bytes(b"<p>static</p>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Session() as session:
            page = session.get(url + "/page.html")
            assert page.http_version == "1.0" and page.content == b"<p>static</p>"
            assert page.headers["content-type"] == "text/html"
            assert "page.html" in session.get(url + "/").text  # directory listing
            moved = session.get(url + "/sub", allow_redirects=False, raise_for_status=False)
            assert moved.status == 404
            head = session.head(url + "/page.html")
            assert head.headers["content-length"] == "13" and head.content == b""
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_raw_post_body_is_a_form_as_curl_and_urllib_send_it(wsgi_server):
    # Without a Content-Type, wirekit's own form parser (and PHP's, and a CGI script's) sees
    # no fields: curl -d and urllib label raw bodies as a form, so does wirekit.
    from wirekit.http.forms import parse_form

    def app(environ, start_response):
        form = parse_form(environ)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({k: form.getfirst(k) for k in form}).encode()]

    url = wsgi_server(app)
    assert post(url, data=b"email=ann%40example.org&n=2").json() == {
        "email": "ann@example.org", "n": "2"}
    assert post(url, data="email=bob").json() == {"email": "bob"}
    # a caller's own Content-Type wins
    assert post(url, data=b"email=x", headers={"Content-Type": "text/plain"}).json() == {}


def test_read1_returns_what_has_arrived_without_waiting_for_more(raw_server):
    import threading

    more = threading.Event()

    def trickle(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst")
        more.wait(5)
        conn.sendall(b"-last")

    peer = raw_server(trickle)
    with Session() as session, session.get(f"http://{peer.address}/", stream=True) as response:
        assert response.read1(1000) == b"first"  # does not wait for the other five bytes
        more.set()
        assert response.read1(2) == b"-l" and response.read1() == b"ast"
        assert response.read1() == b""
