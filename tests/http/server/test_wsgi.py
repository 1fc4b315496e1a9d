"""The WSGI host, PEP 3333 to the letter, under the thread pool and the event loop."""

from __future__ import annotations

import http.client
import json
import logging
import sys
import threading
from typing import Any
from wsgiref.validate import validator

import pytest

from wirekit.config import Limits

from .conftest import exchange, hello_app


def environ_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    shown = {k: v for k, v in environ.items() if isinstance(v, str | bool | tuple)}
    body = json.dumps(shown).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def get_json(server: Any, target: str, headers: dict[str, str] | None = None) -> dict:
    conn = http.client.HTTPConnection(server.address.host, server.address.port, timeout=5)
    conn.request("GET", target, headers=headers or {})
    return json.loads(conn.getresponse().read())


def test_the_environ_has_the_cgi_and_wsgi_variables(http_server, mode):
    server = http_server(environ_app, mode)
    env = get_json(server, "/caf%C3%A9/a%20b?x=1&y=%20", {"X-Custom": "v", "Cookie": "a=1"})
    assert env["REQUEST_METHOD"] == "GET"
    # PEP 3333: PATH_INFO is percent-decoded bytes as latin-1 (the app re-encodes).
    assert env["PATH_INFO"] == "/café/a b".encode().decode("latin-1")
    assert env["QUERY_STRING"] == "x=1&y=%20"
    assert env["RAW_URI"] == "/caf%C3%A9/a%20b?x=1&y=%20"
    assert env["SCRIPT_NAME"] == ""
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "127.0.0.1" and env["SERVER_PORT"] == str(server.address.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_X_CUSTOM"] == "v" and env["HTTP_COOKIE"] == "a=1"
    assert env["wsgi.url_scheme"] == "http" and env["wsgi.version"] == [1, 0]
    assert env["wsgi.multithread"] is True and env["wsgi.run_once"] is False
    assert "CONTENT_LENGTH" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_repeated_fields_are_combined_and_underscored_names_dropped(http_server, mode):
    server = http_server(environ_app, mode)
    raw = exchange(server, b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n"
                           b"X_Forwarded_For: 6.6.6.6\r\nConnection: close\r\n\r\n")
    env = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert env["HTTP_X_A"] == "1,2"
    assert "HTTP_X_FORWARDED_FOR" not in env  # "_" names could pass as "-" ones: dropped


def test_script_name_mounts_the_application(http_server, mode):
    server = http_server(environ_app, mode, script_name="/app")
    env = get_json(server, "/app/x/y")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/x/y")
    raw = exchange(server, b"GET /other HTTP/1.1\r\nHost: a\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 404 ")


def test_forwarded_fields_count_only_from_trusted_proxies(http_server, mode):
    untrusted = http_server(environ_app, mode)
    env = get_json(untrusted, "/", {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in env  # cleared: the app cannot be fooled (W06)
    trusted = http_server(environ_app, mode, forwarded_allow_ips=["127.0.0.1"])
    env = get_json(trusted, "/", {"X-Forwarded-For": "10.0.0.1, 6.6.6.6",
                                  "X-Forwarded-Proto": "https"})
    assert env["REMOTE_ADDR"] == "6.6.6.6" and env["wsgi.url_scheme"] == "https"


@pytest.mark.parametrize("body_kind", ["length", "chunked", "empty"])
def test_wsgiref_validator_finds_nothing_wrong(http_server, mode, body_kind):
    """W05: every exchange runs under wsgiref.validate, which raises on any violation."""
    errors: list[BaseException] = []

    def app(environ, start_response):
        data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0) or 1 << 20)
        assert environ["wsgi.input"].read(10) == b""  # past the end: b"", no hang
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    def checked(environ, start_response):
        try:
            return validator(app)(environ, start_response)
        except AssertionError as exc:
            errors.append(exc)
            raise

    server = http_server(checked, mode)
    conn = http.client.HTTPConnection(server.address.host, server.address.port, timeout=5)
    if body_kind == "length":
        conn.request("POST", "/", body=b"hello")
    elif body_kind == "chunked":
        conn.request("POST", "/", body=iter([b"hel", b"lo"]), encode_chunked=True)
    else:
        conn.request("GET", "/")
    response = conn.getresponse()
    assert response.status == 200 and not errors
    assert response.read() == (b"" if body_kind == "empty" else b"hello")


def test_write_callable_and_iterable_mix(http_server, mode):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"one ")
        return iter([b"", b"two ", b"three"])

    server = http_server(app, mode)
    raw = exchange(server, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in raw
    assert raw.endswith(b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n")


def test_exc_info_replaces_the_headers_before_they_are_sent(http_server, mode):
    def app(environ, start_response):
        start_response("200 OK", [("X-Half", "done")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"sorry"]

    server = http_server(app, mode)
    raw = exchange(server, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 503 ") and b"X-Half" not in raw and raw.endswith(b"sorry")


@pytest.mark.parametrize("headers", [
    [("X-A", "v\r\nSet-Cookie: x=1")],
    [("X-A", "v\nX-B: 1")],
    [("X-A", "v\rX-B: 1")],
    [("X-A", "v\x00")],
    [("X A", "v")],
    [("X:A", "v")],
], ids=["crlf", "lf", "cr", "nul", "space-in-name", "colon-in-name"])
def test_header_injection_from_the_app_is_a_500_never_a_header(http_server, mode, headers,
                                                                caplog):
    def app(environ, start_response):
        start_response("200 OK", headers)
        return [b"body"]

    server = http_server(app, mode)
    with caplog.at_level(logging.ERROR, "wirekit.http.server"):
        raw = exchange(server, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 500 ")
    assert b"Set-Cookie" not in raw and b"X-B" not in raw and b"X-A" not in raw
    assert "invalid response from the application" in caplog.text  # W01: and a log line


def test_a_bad_status_line_is_a_500(http_server, mode):
    def app(environ, start_response):
        start_response("200 OK\r\nX-Injected: 1", [])
        return [b""]

    raw = exchange(http_server(app, mode), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 500 ") and b"X-Injected" not in raw


def test_content_length_mismatches_never_desynchronise(http_server, mode):
    """W02: too long is cut at the length and closed; too short closes the connection."""
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return iter([b"x" * 20] if environ["PATH_INFO"] == "/long" else [b"y" * 5])

    server = http_server(app, mode)
    raw = exchange(server, b"GET /long HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n"
                           b"Host: a\r\n\r\n")
    assert raw.count(b"HTTP/1.1") == 1 and raw.endswith(b"\r\n\r\n" + b"x" * 10)
    raw = exchange(server, b"GET /short HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n"
                           b"Host: a\r\n\r\n")
    assert raw.count(b"HTTP/1.1") == 1 and raw.endswith(b"y" * 5)


@pytest.mark.parametrize("where", ["before", "in-iterator"])
def test_app_exceptions_give_a_plain_500_and_a_log_line(http_server, mode, where, caplog):
    def app(environ, start_response):
        if where == "before":
            raise RuntimeError("secret detail")

        def body():
            raise RuntimeError("secret detail")
            yield b""

        start_response("200 OK", [])
        return body()

    server = http_server(app, mode)
    with caplog.at_level(logging.ERROR, "wirekit.http.server"):
        raw = exchange(server, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 500 ") and b"secret" not in raw  # W03: no traceback
    assert "secret detail" in caplog.text


def test_an_exception_after_the_head_closes_the_connection(http_server, mode):
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"partial"
        raise RuntimeError("boom")

    server = http_server(app, mode)
    raw = exchange(server, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert raw.count(b"HTTP/1.1 200") == 1 and b"partial" in raw
    assert not raw.endswith(b"0\r\n\r\n")  # no clean end: the client sees the failure


def test_close_is_called_when_the_client_goes_away(http_server, mode):
    """W04: the client reads a little of an endless stream and resets the connection."""
    closed = threading.Event()

    class Endless:
        def __iter__(self):
            while True:
                yield b"x" * 65536

        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response("200 OK", [])
        return Endless()

    server = http_server(app, mode)
    import socket
    import struct

    with socket.create_connection((server.address.host, server.address.port), 5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        sock.recv(1024)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert closed.wait(10)


def test_file_wrapper_sends_from_the_current_position(http_server, mode, tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB

    def app(environ, start_response):
        f = open(path, "rb")
        if environ["PATH_INFO"] == "/range":
            f.seek(1000)
            start_response("206 Partial Content", [("Content-Length", "100")])
        else:
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 8192)

    server = http_server(app, mode)
    conn = http.client.HTTPConnection(server.address.host, server.address.port, timeout=5)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == str(1 << 20)
    assert response.read() == path.read_bytes()
    conn.request("GET", "/range")
    assert conn.getresponse().read() == path.read_bytes()[1000:1100]
    conn.request("HEAD", "/")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == str(1 << 20) and response.read() == b""


def test_hello_app_over_keep_alive(http_server, mode):
    server = http_server(hello_app, mode)
    conn = http.client.HTTPConnection(server.address.host, server.address.port, timeout=5)
    for _ in range(5):
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"Hello World\n")
        assert response.getheader("Server") == "wirekit" and response.getheader("Date")


def test_request_body_errors_reach_the_app_as_their_status(http_server, mode):
    def app(environ, start_response):
        data = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [data]

    server = http_server(app, mode, limits=Limits(max_request_body=1000))
    raw = exchange(server, b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           + b"3e8\r\n" + b"x" * 1000 + b"\r\n10\r\n" + b"y" * 16
                           + b"\r\n0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 413 ")
    raw = exchange(server, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 413 ")  # refused from the head: the app never runs
    raw = exchange(server, b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"zz\r\nab\r\n0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(("concurrency", "flags"), [
    ("sync", [False, False]), ("threads", [True, False]), ("async", [True, False]),
    ("fork", [False, True]),  # a process per connection: not threads (it said so before)
])
def test_each_mode_tells_applications_how_they_run(http_server, concurrency, flags):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps([environ["wsgi.multithread"], environ["wsgi.multiprocess"]]).encode()]

    server = http_server(app, concurrency)
    connection = http.client.HTTPConnection(server.address.host, server.address.port, timeout=5)
    try:
        connection.request("GET", "/")
        assert json.loads(connection.getresponse().read()) == flags
    finally:
        connection.close()


def test_prefork_workers_are_processes_running_threads():
    from wirekit.server.modes import Async, Prefork, Sync

    assert (Prefork(worker_mode=Async()).multithread, Prefork().multiprocess) == (True, True)
    assert not Prefork(worker_mode=Sync()).multithread


BIG = bytes(range(256)) * 4096  # 1 MiB


@pytest.mark.parametrize("shape", ["whole", "pieces"])
def test_a_large_body_both_ways_keeps_the_connection_in_step(http_server, mode, shape):
    """A 1 MiB request body read back in uneven sizes, answered as one bytes object (head
    and body leave in two writes, not joined) or as pieces; the next request on the same
    connection still reads its own answer."""
    def app(environ, start_response):
        stream = environ["wsgi.input"]
        parts = [stream.read(1), stream.read(70_000), stream.read1(5), stream.read(0)]
        parts.append(stream.read())
        body = b"".join(parts)
        out = [body] if shape == "whole" else [b"<", body, b">"]
        start_response("200 OK", [("Content-Length", str(sum(map(len, out))))])
        return out

    server = http_server(app, mode)
    conn = http.client.HTTPConnection(server.address.host, server.address.port, timeout=10)
    for payload in (BIG, b"small", BIG[:300_000]):
        conn.request("POST", "/", body=payload)
        response = conn.getresponse()
        expected = payload if shape == "whole" else b"<" + payload + b">"
        assert (response.status, response.read()) == (200, expected)
