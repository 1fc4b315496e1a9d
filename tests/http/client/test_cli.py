"""``wirekit get`` / ``post`` / ``http``, run as a user would (a subprocess)."""

from __future__ import annotations

import json
import socket
import threading

from .apps import echo_app, status_app
from .test_auth_and_cookies import login_site
from .test_multipart import multipart_app


def test_get_prints_the_body(cli, wsgi_server):
    url = wsgi_server(echo_app)
    result = cli("get", url + "/hello", "q=1", "q=2", "-H", "X-Test: yes")
    assert result.code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["path"] == "/hello" and answer["query"] == "q=1&q=2"
    assert answer["headers"]["x-test"] == "yes" and answer["method"] == "GET"
    assert result.stderr == ""


def test_include_headers_and_head(cli, wsgi_server):
    url = wsgi_server(status_app("200 OK", [("X-Demo", "1")], b"body"))
    result = cli("get", "-i", url)
    head, _, body = result.stdout.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK") and "X-Demo: 1" in head and body == "body"
    result = cli("http", "head", url, "-i")
    assert result.code == 0 and result.stdout.endswith("\r\n\r\n")


def test_http_errors_exit_1_with_one_line(cli, wsgi_server):
    url = wsgi_server(status_app("404 Not Found", [], b"not here"))
    result = cli("get", url + "/x")
    assert result.code == 1
    assert result.stdout == "not here"
    assert result.stderr == f"wirekit get: error: HTTP 404 Not Found ({url}/x)\n"


def test_post_forms_json_and_files(cli, wsgi_server, tmp_path):
    url = wsgi_server(echo_app)
    form = json.loads(cli("post", url, "user=ann", "lang=py").stdout)
    assert form["body"] == "user=ann&lang=py" and form["method"] == "POST"
    as_json = json.loads(cli("http", "PUT", url, "--json", "name=pen", "price=2").stdout)
    assert as_json["method"] == "PUT" and json.loads(as_json["body"]) == {"name": "pen",
                                                                          "price": "2"}
    raw = json.loads(cli("post", url, "--data", "raw text").stdout)
    assert raw["body"] == "raw text"
    upload = tmp_path / "photo.jpg"
    upload.write_bytes(b"\xff\xd8" + b"x" * 5000)
    files_url = wsgi_server(multipart_app)
    parts = json.loads(cli("post", files_url, "title=beach", f"photo@{upload}").stdout)["parts"]
    assert [p["size"] for p in parts] == [5, 5002]
    assert parts[1]["headers"]["content-type"] == "image/jpeg"


def test_download_to_a_file(cli, wsgi_server, tmp_path):
    body = bytes(range(256)) * 1000
    url = wsgi_server(status_app("200 OK", [], body))
    target = tmp_path / "out.bin"
    result = cli("get", url, "-o", str(target))
    assert result.code == 0 and result.stdout == "" and result.stderr == ""  # no tty: no bar
    assert target.read_bytes() == body


def test_digest_auth_and_cookie_files(cli, wsgi_server, digest_app, tmp_path):
    url = wsgi_server(digest_app("u", "p", "SHA-256"))
    assert cli("get", url, "--auth", "u:p", "--digest").stdout == "welcome u nc=00000001"
    assert cli("get", url, "--auth", "u:wrong", "--digest").code == 1
    site = wsgi_server(login_site())
    jar = tmp_path / "jar.txt"
    login = cli("post", site + "/login", "user=ann", "password=secret", "--cookies", str(jar))
    assert login.stdout == "private page of ann"
    assert cli("get", site + "/private", "--cookies", str(jar)).stdout == "private page of ann"
    assert cli("get", site + "/private", "--no-follow").stdout == ""


def test_usage_errors_exit_2(cli, wsgi_server):
    url = wsgi_server(echo_app)
    for args in (["get", "http://h/\x01x"], ["get", url, "-H", "no colon"],
                 ["get", url, "novalue"], ["get", url, "f@/no/such/file"],
                 ["get", "gopher://h/"]):
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_network_failures_exit_1(cli, raw_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = cli("get", f"http://127.0.0.1:{port}/")
    assert refused.code == 1 and "cannot connect" in refused.stderr
    release = threading.Event()
    peer = raw_server(lambda conn: release.wait(10))
    try:
        slow = cli("get", f"http://{peer.address}/", "--timeout", "0.3")
    finally:
        release.set()
    assert slow.code == 1 and "timed out" in slow.stderr
    assert slow.stderr.count("\n") == 1


def test_tls_verification_and_insecure(cli, tls_server, tls):
    url = tls_server(echo_app)
    assert cli("get", url).code == 1
    assert cli("get", url, "--insecure").code == 0
    assert json.loads(cli("get", url + "/ok", "--cafile", tls.ca_file).stdout)["path"] == "/ok"


def test_the_command_uses_the_environment_proxy(cli, wsgi_server, proxy):
    url = wsgi_server(echo_app)
    record = proxy()
    env = {"HTTP_PROXY": record.url, "http_proxy": record.url, "NO_PROXY": "", "no_proxy": ""}
    result = cli("get", url + "/via", env=env)
    assert json.loads(result.stdout)["path"] == "/via"
    assert record.heads and record.heads[0].startswith(f"GET {url}/via ".encode())
