"""``wirekit get`` / ``post`` / ``http``, run as a user would (a subprocess), against loopback
servers: httpie's request items, curl's flags, and exit codes by cause."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
from typing import Any

from wirekit.http.server import HTTPServer

from .apps import echo_app, read_body, routes, status_app
from .test_multipart import multipart_app


def run_in(cwd: os.PathLike, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The command run from ``cwd`` (for -O, which saves into the current directory)."""
    return subprocess.run([sys.executable, "-m", "wirekit", *args], cwd=cwd, input=b"",
                          capture_output=True, timeout=30, check=False)


def range_app(blob: bytes, log: list[dict[str, Any]], honour: bool = True) -> Any:
    """Serves ``blob``, honouring ``Range: bytes=N-`` (206, or 416 past the end) if told to."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        asked = environ.get("HTTP_RANGE")
        log.append({"range": asked, "accept-encoding": environ.get("HTTP_ACCEPT_ENCODING")})
        if asked is None or not honour:
            start_response("200 OK", [("Content-Length", str(len(blob)))])
            return [blob]
        start = int(asked.removeprefix("bytes=").removesuffix("-"))
        if start >= len(blob):
            start_response("416 Range Not Satisfiable",
                           [("Content-Range", f"bytes */{len(blob)}"), ("Content-Length", "0")])
            return []
        start_response("206 Partial Content", [
            ("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}"),
            ("Content-Length", str(len(blob) - start))])
        return [blob[start:]]

    return app


def login_site() -> Any:
    """POST /login (ann/secret) sets a session cookie and redirects to /private, which
    needs it."""
    tokens: set[str] = set()

    def login(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if read_body(environ) == b"user=ann&password=secret":
            token = os.urandom(8).hex()
            tokens.add(token)
            start_response("302 Found", [("Location", "/private"),
                                         ("Set-Cookie", f"sid={token}; Path=/; HttpOnly")])
            return [b""]
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"bad login"]

    def private(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        cookies = dict(c.strip().split("=", 1) for c in environ.get("HTTP_COOKIE", "").split(";")
                       if "=" in c)
        if cookies.get("sid") not in tokens:
            start_response("302 Found", [("Location", "/login")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"private page of ann"]

    return routes({"/login": login, "/private": private})


def basic_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    expected = "Basic " + base64.b64encode(b"ann:secret").decode()
    if environ.get("HTTP_AUTHORIZATION") == expected:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello ann"]
    start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="t"')])
    return [b"who are you?"]


# -- what is sent ------------------------------------------------------------------------------


def test_get_prints_the_body(cli, wsgi_server):
    url = wsgi_server(echo_app)
    result = cli("get", url + "/hello", "q=1", "q=2", "-H", "X-Test: yes")
    assert result.code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["path"] == "/hello" and answer["query"] == "q=1&q=2"
    assert answer["headers"]["x-test"] == "yes" and answer["method"] == "GET"
    assert result.stderr == ""


def test_request_items_as_httpie_writes_them(cli, wsgi_server):
    url = wsgi_server(echo_app)
    # := is a JSON value (the old parser sent the key "n:"), == a query parameter on any
    # method (it sent q = "=v"), Header:value a header, Header: an empty one.
    result = cli("http", "PUT", url + "/api", "name=pen", "n:=2", "ok:=true", "tags:=[\"a\"]",
                 "q==v", "X-A:1", "X-Empty:")
    assert result.code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert json.loads(answer["body"]) == {"name": "pen", "n": 2, "ok": True, "tags": ["a"]}
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["headers"]["accept"].startswith("application/json")
    assert answer["query"] == "q=v"
    assert answer["headers"]["x-a"] == "1" and answer["headers"]["x-empty"] == ""
    escaped = json.loads(cli("get", url, r"a\=b=c", "page==2").stdout)
    assert escaped["query"] == "a%3Db=c&page=2"


def test_items_read_from_files_and_raw_bodies(cli, wsgi_server, tmp_path):
    url = wsgi_server(echo_app)
    (tmp_path / "note.txt").write_text("from a file")
    (tmp_path / "value.json").write_text('{"deep": [1, 2]}')
    (tmp_path / "body.bin").write_bytes(b"\x00raw\xff")
    answer = json.loads(cli("post", url, f"note=@{tmp_path / 'note.txt'}",
                            f"cfg:=@{tmp_path / 'value.json'}").stdout)
    assert json.loads(answer["body"]) == {"note": "from a file", "cfg": {"deep": [1, 2]}}
    raw = json.loads(cli("post", url, f"@{tmp_path / 'body.bin'}").stdout)
    assert raw["body"].encode("latin-1") == b"\x00raw\xff"


def test_post_forms_json_and_files(cli, wsgi_server, tmp_path):
    url = wsgi_server(echo_app)
    form = json.loads(cli("post", url, "user=ann", "lang=py").stdout)
    assert form["body"] == "user=ann&lang=py" and form["method"] == "POST"
    as_json = json.loads(cli("http", "PUT", url, "--json", "name=pen", "price=2").stdout)
    assert as_json["method"] == "PUT" and json.loads(as_json["body"]) == {"name": "pen",
                                                                          "price": "2"}
    upload = tmp_path / "photo.jpg"
    upload.write_bytes(b"\xff\xd8" + b"x" * 5000)
    files_url = wsgi_server(multipart_app)
    parts = json.loads(cli("post", files_url, "title=beach", f"photo@{upload}").stdout)["parts"]
    assert [p["size"] for p in parts] == [5, 5002]
    assert parts[1]["headers"]["content-type"] == "image/jpeg"


def test_data_as_curl_sends_it(cli, wsgi_server, tmp_path):
    url = wsgi_server(echo_app)
    joined = json.loads(cli("post", url, "-d", "a=1", "-d", "b=2").stdout)
    assert joined["body"] == "a=1&b=2"
    assert joined["headers"]["content-type"] == "application/x-www-form-urlencoded"
    piped = json.loads(cli("post", url, "-d", "@-", input=b"from stdin\n").stdout)
    assert piped["body"] == "from stdin\n"
    (tmp_path / "order.json").write_bytes(b'{"qty": 3}')
    as_json = json.loads(cli("post", url, "-d", f"@{tmp_path / 'order.json'}", "--json").stdout)
    assert as_json["body"] == '{"qty": 3}'
    assert as_json["headers"]["content-type"] == "application/json"


def test_method_flags_head_and_include(cli, wsgi_server):
    url = wsgi_server(status_app("200 OK", [("X-Demo", "1")], b"body"))
    result = cli("get", "-i", url)
    head, _, body = result.stdout.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK") and "X-Demo: 1" in head and body == "body"
    head_only = cli("get", "-I", url)
    assert head_only.code == 0 and head_only.stdout.startswith("HTTP/1.1 200 OK\r\n")
    assert head_only.stdout.endswith("\r\n\r\n") and "X-Demo: 1" in head_only.stdout
    assert cli("http", "head", url, "-i").stdout.endswith("\r\n\r\n")
    echo = wsgi_server(echo_app)
    assert json.loads(cli("get", "-X", "PATCH", echo).stdout)["method"] == "PATCH"
    refused = cli("post", "-I", echo)
    assert refused.code == 2 and "-I sends HEAD" in refused.stderr


def test_verbose_shows_request_and_response_heads_on_stderr(cli, wsgi_server):
    url = wsgi_server(routes({
        "/old": status_app("302 Found", [("Location", "/new")]),
        "/new": echo_app,
    }))
    result = cli("get", "-v", url + "/old", "-H", "X-Trace: on")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["path"] == "/new"  # stdout keeps the body only
    lines = result.stderr.splitlines()
    assert lines[0] == "> GET /old HTTP/1.1"
    assert f"> Host: {url.removeprefix('http://')}" in lines and "> X-Trace: on" in lines
    assert "< HTTP/1.1 302 Found" in lines and "< Location: /new" in lines
    assert f"* redirected to {url}/new" in lines
    assert "< HTTP/1.1 200 OK" in lines and lines[-1] == "<"
    # every hop's request as the session sent it, the redirect's included
    assert "> GET /new HTTP/1.1" in lines and lines.count("> X-Trace: on") == 2


def test_scheme_less_urls(cli, wsgi_server):
    url = wsgi_server(echo_app)
    port = url.rpartition(":")[2]
    assert json.loads(cli("get", f"127.0.0.1:{port}/a").stdout)["path"] == "/a"
    short = cli("get", f":{port}/b")  # httpie's shorthand for localhost
    assert short.code == 0, short.stderr
    assert json.loads(short.stdout)["headers"]["host"] == f"localhost:{port}"


def test_unix_socket(cli, short_tmp):
    path = str(short_tmp / "app.sock")
    server = HTTPServer(echo_app, f"unix:{path}").start()
    try:
        result = cli("get", "--unix-socket", path, "http://api.local/health", "x==1")
    finally:
        server.shutdown(timeout=10)
    answer = json.loads(result.stdout)
    assert answer["path"] == "/health" and answer["headers"]["host"] == "api.local"


# -- credentials and cookies ------------------------------------------------------------------


def test_digest_auth_and_cookie_files(cli, wsgi_server, digest_app, tmp_path):
    url = wsgi_server(digest_app("u", "p", "SHA-256"))
    assert cli("get", url, "--auth", "u:p", "--digest").stdout == "welcome u nc=00000001"
    assert cli("get", url, "-u", "u:wrong", "--digest").code == 4
    site = wsgi_server(login_site())
    jar = tmp_path / "jar.txt"
    login = cli("post", site + "/login", "user=ann", "password=secret", "--cookies", str(jar))
    assert login.stdout == "private page of ann"
    assert cli("get", site + "/private", "--cookies", str(jar)).stdout == "private page of ann"
    assert cli("get", site + "/private", "--no-follow").stdout == ""


def test_curl_cookie_flags(cli, wsgi_server, tmp_path):
    echo = wsgi_server(echo_app)
    sent = json.loads(cli("get", echo, "-b", "a=1; b=2").stdout)
    assert sent["headers"]["cookie"] == "a=1; b=2"
    site = wsgi_server(login_site())
    jar = tmp_path / "jar.txt"
    cli("post", site + "/login", "user=ann", "password=secret", "-c", str(jar))
    assert "\tsid\t" in jar.read_text()
    assert cli("get", site + "/private", "-b", str(jar)).stdout == "private page of ann"


def test_user_without_password_and_no_terminal_is_a_usage_error(cli, wsgi_server):
    url = wsgi_server(basic_app)
    assert cli("get", url, "-u", "ann:secret").stdout == "hello ann"
    result = cli("get", url, "-u", "ann")  # stdin is not a terminal: nobody to ask
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert "no password" in result.stderr


# -- downloads ----------------------------------------------------------------------------------


def test_download_to_a_file(cli, wsgi_server, tmp_path):
    body = bytes(range(256)) * 1000
    url = wsgi_server(status_app("200 OK", [], body))
    target = tmp_path / "out.bin"
    result = cli("get", url, "-o", str(target))
    assert result.code == 0 and result.stdout == "" and result.stderr == ""  # no tty: no bar
    assert target.read_bytes() == body


def test_remote_name_saves_under_the_urls_name(wsgi_server, tmp_path):
    url = wsgi_server(status_app("200 OK", [], b"iso bytes"))
    (tmp_path / "big.iso").write_bytes(b"old content, longer than the new one")
    result = run_in(tmp_path, "get", "-O", url + "/files/big%20v2.iso")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "big v2.iso").read_bytes() == b"iso bytes"
    assert run_in(tmp_path, "get", "-O", url + "/big.iso").returncode == 0
    assert (tmp_path / "big.iso").read_bytes() == b"iso bytes"  # overwritten, as curl does
    nameless = run_in(tmp_path, "get", "-O", url + "/dir/")
    assert nameless.returncode == 23 and b"without a file name" in nameless.stderr


def test_continue_at_resumes_with_a_range(cli, wsgi_server, tmp_path):
    blob = os.urandom(100_000)
    log: list[dict[str, Any]] = []
    url = wsgi_server(range_app(blob, log))
    target = tmp_path / "part.bin"
    target.write_bytes(blob[:40_000])
    assert cli("get", url, "-o", str(target), "-C", "-").code == 0
    assert target.read_bytes() == blob
    assert log[-1] == {"range": "bytes=40000-", "accept-encoding": "identity"}
    complete = cli("get", url, "-o", str(target), "-C", "-")  # 416: nothing left to fetch
    assert complete.code == 0 and complete.stderr == "" and target.read_bytes() == blob
    missing = tmp_path / "new.bin"
    assert cli("get", url, "-o", str(missing), "-C", "-").code == 0
    assert missing.read_bytes() == blob and log[-1]["range"] is None


def test_continue_at_starts_again_when_the_server_ignores_the_range(cli, wsgi_server, tmp_path):
    blob = os.urandom(50_000)
    log: list[dict[str, Any]] = []
    url = wsgi_server(range_app(blob, log, honour=False))
    target = tmp_path / "part.bin"
    target.write_bytes(b"stale bytes that are not a prefix")
    assert cli("get", url, "-o", str(target), "-C", "-").code == 0
    assert log[-1]["range"] == "bytes=33-" and target.read_bytes() == blob


# -- exit codes ----------------------------------------------------------------------------------


def test_http_errors_exit_4_and_5_after_the_body(cli, wsgi_server):
    url = wsgi_server(routes({"/boom": status_app("503 Service Unavailable", [], b"later")}))
    result = cli("get", url + "/x")
    assert result.code == 4
    assert result.stdout == "no such page"
    assert result.stderr == f"wirekit get: error: HTTP 404 Not Found ({url}/x)\n"
    server_error = cli("get", url + "/boom")
    assert server_error.code == 5 and server_error.stdout == "later"
    failed = cli("get", "-f", url + "/x")
    assert failed.code == 4 and failed.stdout == "" and "404" in failed.stderr
    silent = cli("get", "-s", url + "/x")
    assert silent.code == 4 and silent.stderr == ""
    shown = cli("get", "-sS", url + "/x")
    assert shown.code == 4 and shown.stderr.startswith("wirekit get: error: HTTP 404")


def test_usage_errors_exit_2_and_bad_urls_3(cli, wsgi_server):
    url = wsgi_server(echo_app)
    for args in (["get", url, "-H", "no colon"], ["get", url, "novalue"],
                 ["get", url, "f@/no/such/file"], ["get", url, "n:=not-json"],
                 ["get", url, "-C", "-"], ["get", url, "--frobnicate"]):
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    item = cli("get", url, "n:=not-json")
    assert "'n:=not-json'" in item.stderr  # the message names the item
    for args in (["get", "http://h/\x01x"], ["get", "gopher://h/"], ["get", "http://h:99999/"]):
        result = cli(*args)
        assert result.code == 3, (args, result.stderr)
        assert result.stderr.count("\n") == 1


def test_network_failures_exit_by_cause(cli, raw_server, wsgi_server, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = cli("get", f"http://127.0.0.1:{port}/")
    assert refused.code == 7 and "cannot connect" in refused.stderr
    release = threading.Event()
    peer = raw_server(lambda conn: release.wait(10))
    try:
        slow = cli("get", f"http://{peer.address}/", "--timeout", "0.3")
    finally:
        release.set()
    assert slow.code == 28 and "timed out" in slow.stderr
    assert slow.stderr.count("\n") == 1
    url = wsgi_server(routes({"/loop": status_app("302 Found", [("Location", "/loop")])}))
    loop = cli("get", url + "/loop", "--max-redirs", "3")
    assert loop.code == 47 and "more than 3 redirects" in loop.stderr
    unwritable = cli("get", url + "/loop", "--no-follow", "-o", str(tmp_path / "no" / "f"))
    assert unwritable.code == 23 and "cannot write" in unwritable.stderr


def test_tls_exit_codes_and_insecure(cli, tls_server, tls, wsgi_server):
    url = tls_server(echo_app)
    unverified = cli("get", url)
    assert unverified.code == 60, unverified.stderr
    assert cli("get", url, "-k").code == 0
    assert json.loads(cli("get", url + "/ok", "--cafile", tls.ca_file).stdout)["path"] == "/ok"
    plain = wsgi_server(echo_app)  # TLS to a plain HTTP server: the handshake fails
    handshake = cli("get", plain.replace("http://", "https://"), "-k")
    assert handshake.code == 35, handshake.stderr


def test_the_command_uses_the_environment_proxy(cli, wsgi_server, proxy):
    url = wsgi_server(echo_app)
    record = proxy()
    env = {"HTTP_PROXY": record.url, "http_proxy": record.url, "NO_PROXY": "", "no_proxy": ""}
    result = cli("get", url + "/via", env=env)
    assert json.loads(result.stdout)["path"] == "/via"
    assert record.heads and record.heads[0].startswith(f"GET {url}/via ".encode())



def test_retry_rides_out_a_503(cli, wsgi_server):
    answers = ["503 Service Unavailable", "200 OK"]
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        status = answers[min(len(seen), 1)]
        seen.append(status)
        start_response(status, [("Retry-After", "0"), ("Content-Type", "text/plain")])
        return [status.encode()]

    url = wsgi_server(app)
    assert cli("get", url, "--retry", "2").stdout == "200 OK"
    assert seen == ["503 Service Unavailable", "200 OK"]
    seen.clear()
    assert cli("get", url).code == 5  # no retries unless asked
