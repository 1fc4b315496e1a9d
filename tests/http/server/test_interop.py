"""Real peers: curl and the stdlib clients against the server; Flask and handler classes on
it; HTTPS with a test CA; ``wirekit serve`` as a process, prefork workers included."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from wirekit.http.server import RequestHandler

from .conftest import hello_app

CURL = "/usr/bin/curl"
needs_curl = pytest.mark.skipif(not os.path.exists(CURL), reason="curl is not installed")


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CURL, "-sS", "--max-time", "10", *args], capture_output=True,
                          text=True, timeout=20, check=False)


@needs_curl
def test_curl_keep_alive_chunked_upload_and_head(http_server, mode):
    def app(environ, start_response):
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%s %d" % (environ["REQUEST_METHOD"].encode(), len(data))]

    server = http_server(app, mode)
    result = curl("-v", server.url + "/a", server.url + "/b")  # one connection, two requests
    assert result.stdout == "GET 0GET 0"
    assert "Re-using existing connection" in result.stderr or "Reusing" in result.stderr
    result = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@-", server.url)
    assert result.stdout == "POST 0"  # curl sends nothing from an empty stdin
    result = curl("-T", "-", "-H", "Transfer-Encoding: chunked", server.url)
    assert result.stdout == "PUT 0"
    result = curl("-I", server.url)
    assert result.stdout.startswith("HTTP/1.1 200 OK") and "content-length: 6" in \
        result.stdout.lower()


@needs_curl
def test_curl_posts_a_form_and_a_large_body(http_server, mode, tmp_path):
    def app(environ, start_response):
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d %s" % (len(data), environ.get("CONTENT_TYPE", "").encode())]

    server = http_server(app, mode)
    assert curl("-d", "name=Ada&email=ada@example.org", server.url).stdout == \
        "30 application/x-www-form-urlencoded"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))
    assert curl("--data-binary", f"@{big}", "-H", "Content-Type: application/octet-stream",
                server.url).stdout == f"{3 << 20} application/octet-stream"


def test_a_flask_application_runs_unchanged(http_server, mode):
    flask = pytest.importorskip("flask")
    app = flask.Flask("shop")

    @app.get("/items/<int:item>")
    def item(item: int):
        return {"item": item, "q": flask.request.args.get("q")}

    @app.post("/items")
    def create():
        return {"created": flask.request.get_json()["name"]}, 201

    @app.get("/stream")
    def stream():
        return flask.Response((f"{i}\n" for i in range(3)), mimetype="text/plain")

    server = http_server(app, mode)
    with urllib.request.urlopen(server.url + "/items/7?q=red") as response:
        assert json.load(response) == {"item": 7, "q": "red"}
    request = urllib.request.Request(server.url + "/items", data=b'{"name": "lamp"}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 201 and json.load(response) == {"created": "lamp"}
    with urllib.request.urlopen(server.url + "/stream") as response:
        assert response.read() == b"0\n1\n2\n"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url + "/missing")
    assert caught.value.code == 404


class Greeter(RequestHandler):
    """The course's handler class (4-50), unchanged in shape."""

    def do_GET(self):
        body = f"Hello {self.path} from {self.client_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        if not data:
            self.send_error(400, "Empty", "send <something>")
            return
        self.send_response(201)
        self.end_headers()
        self.wfile.write(data[::-1])


def test_handler_classes_do_get_and_do_post(http_server, mode):
    server = http_server(Greeter, mode)
    with urllib.request.urlopen(server.url + "/x?y=1") as response:
        assert response.read() == b"Hello /x?y=1 from 127.0.0.1\n"
    with urllib.request.urlopen(server.url, data=b"abc") as response:
        assert (response.status, response.read()) == (201, b"cba")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url, data=b"")
    assert caught.value.code == 400 and b"send &lt;something&gt;" in caught.value.read()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(server.url, method="DELETE"))
    assert caught.value.code == 501


def test_https_with_a_test_ca(http_server, mode):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = http_server(hello_app, mode, tls=context)
    assert server.url.startswith("https://")
    client = ssl.create_default_context()
    ca.configure_trust(client)
    with urllib.request.urlopen(server.url + "/", context=client) as response:
        assert response.read() == b"Hello World\n"
    with pytest.raises(urllib.error.URLError):  # not trusted without the CA
        urllib.request.urlopen(server.url + "/", context=ssl.create_default_context())


APP_MODULE = '''
import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid %d" % os.getpid()]
'''


def start_serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    (tmp_path / "served_app.py").write_text(APP_MODULE)
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "serve", "--port", "0", *args],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if not line or b" on http" not in line[0]:
        proc.kill()
        raise AssertionError(f"did not start: {proc.stderr.read().decode()[-2000:]}")
    url = line[0].decode().split(" on ", 1)[1].split("/ ", 1)[0]
    return proc, url


@pytest.mark.parametrize("concurrency", ["threads", "async"])
def test_wirekit_serve_wsgi_with_two_worker_processes(tmp_path, concurrency):
    proc, url = start_serve(tmp_path, "--wsgi", "served_app:app", "-w", "2", "-c", concurrency)
    try:
        pids = set()
        for _ in range(40):
            request = urllib.request.Request(url + "/", headers={"Connection": "close"})
            with urllib.request.urlopen(request, timeout=5) as response:
                pids.add(response.read())
        assert all(p.startswith(b"pid ") for p in pids) and len(pids) >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    log = proc.stderr.read().decode()
    assert '"GET / HTTP/1.1" 200' in log  # the access log, on by default for the command
    assert "Traceback" not in log


SIZING_APP = '''
def app(environ, start_response):
    size = 0
    while block := environ["wsgi.input"].read(1 << 20):
        size += len(block)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % size]
'''


def _post(url: str, size: int) -> tuple[int, bytes]:
    request = urllib.request.Request(url + "/", data=b"x" * size, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_wirekit_serve_takes_large_uploads_and_a_max_body_flag(tmp_path):
    # The old 10 MiB cap answered 413 to every upload above it, where gunicorn answers 200.
    (tmp_path / "sizing.py").write_text(SIZING_APP)
    proc, url = start_serve(tmp_path, "--wsgi", "sizing:app")
    try:
        assert _post(url, 24 << 20) == (200, b"%d" % (24 << 20))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    proc, url = start_serve(tmp_path, "--wsgi", "sizing:app", "--max-body", "1K")
    try:
        assert _post(url, 1024) == (200, b"1024")
        status, body = _post(url, 1025)
        assert status == 413 and b"1024 bytes" in body  # the answer states the limit
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


FACTORY_APP = '''
def create_app():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"made by a factory"]
    return app

def broken():
    raise RuntimeError("no database")
'''


def test_wirekit_serve_takes_an_application_factory(tmp_path):
    (tmp_path / "factory.py").write_text(FACTORY_APP)
    proc, url = start_serve(tmp_path, "--wsgi", "factory:create_app()")
    try:
        with urllib.request.urlopen(url + "/", timeout=5) as response:
            assert response.read() == b"made by a factory"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_wirekit_serve_reload_restarts_on_a_code_change(tmp_path):
    (tmp_path / "live.py").write_text(APP_MODULE.replace('b"pid %d" % os.getpid()', 'b"v1"'))
    proc, url = start_serve(tmp_path, "--wsgi", "live:app", "--reload")
    try:
        with urllib.request.urlopen(url + "/", timeout=5) as response:
            assert response.read() == b"v1"
        (tmp_path / "live.py").write_text(APP_MODULE.replace('b"pid %d" % os.getpid()',
                                                             'b"v2"'))
        # the new child announces itself on stdout when it listens again
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(20)
        assert line and b" on http" in line[0]
        url = line[0].decode().split(" on ", 1)[1].split("/ ", 1)[0]
        with urllib.request.urlopen(url + "/", timeout=5) as response:
            assert response.read() == b"v2"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


@pytest.mark.parametrize(("args", "message"), [
    (["app:app"], "--wsgi app:app"),                        # gunicorn's habit
    (["8123"], "-p 8123"),                                  # python -m http.server's
    (["--wsgi", "factory:broken()"], "RuntimeError: no database"),
    (["--wsgi", "factory:create_app(1)"], "MODULE:FACTORY()"),
    (["--reload", "--wsgi", "nosuch:app"], "cannot import"),
    (["--max-body", "ten"], "'ten' is not a size"),
    (["--wsgi", "nosuchmodule:app"], "cannot import 'nosuchmodule'"),
    (["--wsgi", "served_app:nothing"], "has no 'nothing'"),
    (["--wsgi", "served_app"], "expected MODULE:APP"),
    (["--keyfile", "served_app.py"], "--keyfile needs --certfile"),
    (["--cgi"], "--cgi needs a DIR"),
])
def test_wirekit_serve_usage_errors_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "served_app.py").write_text(APP_MODULE)
    (tmp_path / "factory.py").write_text(FACTORY_APP)
    proc = subprocess.run([sys.executable, "-m", "wirekit", "serve", "--port", "0", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=20, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


@needs_curl
def test_wirekit_serve_dir_with_cgi_runs_scripts_and_never_shows_them(tmp_path):
    site = tmp_path / "site"
    (site / "cgi-bin").mkdir(parents=True)
    script = site / "cgi-bin" / "hi.sh"
    script.write_text('#!/bin/sh\n# SOURCE-MARKER\nprintf "Content-Type: text/plain\\n\\n"\n'
                      'echo "hi $QUERY_STRING"\n')
    script.chmod(0o755)
    (site / "index.html").write_text("<h1>home</h1>\n")
    os.symlink(site / "cgi-bin", site / "alias")
    proc, url = start_serve(tmp_path, str(site), "--cgi")
    try:
        assert curl(url + "/").stdout == "<h1>home</h1>\n"
        assert curl(url + "/cgi-bin/hi.sh?x=1").stdout == "hi x=1\n"
        for path in ("//cgi-bin/hi.sh", "/x/../cgi-bin/hi.sh", "/alias/hi.sh",
                     "/cgi-bin%2fhi.sh"):
            result = curl("--path-as-is", "-i", url + path)
            assert "SOURCE-MARKER" not in result.stdout, path
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_wirekit_serve_https_with_certfile_and_keyfile(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    proc, url = start_serve(tmp_path, "--wsgi", "served_app:app", "--certfile",
                            str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "key.pem"))
    try:
        assert url.startswith("https://")
        client = ssl.create_default_context()
        ca.configure_trust(client)
        with urllib.request.urlopen(url + "/", context=client, timeout=5) as response:
            assert response.read().startswith(b"pid ")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_a_running_cgi_script_never_holds_up_the_event_loop(tmp_path):
    """In the async mode the script runs from a worker thread (its response starts on the
    first iteration), so other requests are answered while it runs."""
    from wirekit.http.cgi import CGIApp
    from wirekit.http.static import StaticFiles
    from wirekit.testing import serve_wsgi

    root = tmp_path / "site"
    (root / "cgi-bin").mkdir(parents=True)
    (root / "page.txt").write_text("static\n")
    script = root / "cgi-bin" / "wait.sh"
    script.write_text(f'#!/bin/sh\ntouch {tmp_path}/started\n'
                      f'while [ ! -f {tmp_path}/go ]; do sleep 0.05; done\n'
                      'printf "Content-Type: text/plain\\n\\nran\\n"\n')
    script.chmod(0o755)
    app = CGIApp(root, fallback=StaticFiles(root, private=[root / "cgi-bin"]))
    with serve_wsgi(app, concurrency="async") as url:
        answer: list[bytes] = []
        slow = threading.Thread(target=lambda: answer.append(
            urllib.request.urlopen(url + "/cgi-bin/wait.sh", timeout=20).read()))
        slow.start()
        for _ in range(200):
            if (tmp_path / "started").exists():
                break
            threading.Event().wait(0.05)
        assert (tmp_path / "started").exists()
        # The script is running and waits for us: this answer proves the loop is free.
        assert urllib.request.urlopen(url + "/page.txt", timeout=5).read() == b"static\n"
        (tmp_path / "go").touch()
        slow.join(20)
        assert answer == [b"ran\n"]
