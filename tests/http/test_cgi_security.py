"""SECURITY.md C01-C06 for CGIApp over real loopback connections."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from wirekit.http.cgi import CGIApp
from wirekit.http.cgi.process import ScriptProcess
from wirekit.http.static import StaticFiles

from .cgi_support import ENV_DUMP, Site, open_fds, request

MARKER = b"SOURCE-MARKER-7f3a"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path / "www")
    site.cgi_bin.mkdir(parents=True)
    site.script("s.py", ENV_DUMP)
    site.script("nox.cgi", "#!/bin/sh\n# SOURCE-MARKER-7f3a\n", mode=0o644)
    (site.root / "index.html").write_text("<p>home</p>")
    return site


# -- C01: which path runs what; a script's source is never sent -----------------------------------
C01_PATHS = [
    "/cgi-bin%2fs.py", "/cgi-bin%2Fs.py", "//cgi-bin/s.py", "/./cgi-bin/s.py",
    "/x/../cgi-bin/s.py", "/cgi-bin/../cgi-bin/s.py", "/CGI-BIN/s.py", "/Cgi-Bin/s.py",
    "/cgi-bin/s.py.", "/cgi-bin/s.py%00", "/cgi-bin/s.py%00.txt", "/cgi-bin/S.PY",
    "/cgi-bin/./s.py", "/cgi-bin//s.py", "/cgi-bin/s.py/", "/cgi-bin/%2e/s.py",
    "/cgi-bin/%2e%2e/cgi-bin/s.py", "/cgi-bin/../../../../bin/sh",
    "/cgi-bin/%2e%2e/%2e%2e/bin/sh", "/cgi-bin/..%2f..%2fbin/sh", "/cgi-bin\\s.py",
    "/cgi-bin/.%2e/www/cgi-bin/s.py", "/cgi-bin/nox.cgi", "/cgi-bin/", "/cgi-bin",
    "/cgi-bin/s.py%20", "/cgi-bin/.s.py", "/%63gi-bin/s.py",
]


@pytest.mark.parametrize("with_static", [False, True], ids=["cgi-only", "cgi+static"])
def test_c01_scripts_run_or_are_refused_never_disclosed(wsgi_server, site, with_static):
    fallback = StaticFiles(site.root) if with_static else None
    url = wsgi_server(CGIApp(site.root, fallback=fallback))
    outcomes = {}
    for path in C01_PATHS:
        reply = request(url, path)
        assert MARKER not in reply.body, path
        assert reply.status in (200, 403, 404), (path, reply.status)
        if reply.status == 200:
            env = reply.json()["env"]  # it ran: it is s.py, the only script that answers 200
            assert env["SCRIPT_FILENAME"] == str(site.cgi_bin.resolve() / "s.py")
        outcomes[path] = reply.status
    assert outcomes["//cgi-bin/s.py"] == outcomes["/cgi-bin%2fs.py"] == 200
    assert outcomes["/CGI-BIN/s.py"] == outcomes["/x/../cgi-bin/s.py"] == 404
    assert outcomes["/cgi-bin/nox.cgi"] == 403  # exists, not executable: still not sent
    if with_static:
        assert request(url, "/index.html").body == b"<p>home</p>"


def test_c01_nothing_outside_the_cgi_directory_runs(wsgi_server, site, tmp_path):
    marker = tmp_path / "escaped"
    outside = site.root / "bin"
    outside.mkdir()
    (outside / "run.sh").write_text(f"#!/bin/sh\ntouch {marker}\necho 'Content-Type: x/y'\necho\n")
    (outside / "run.sh").chmod(0o755)
    os.symlink(outside / "run.sh", site.cgi_bin / "link.sh")  # a symlink out of cgi-bin
    url = wsgi_server(CGIApp(site.root))
    for path in ["/cgi-bin/../bin/run.sh", "/cgi-bin/%2e%2e/bin/run.sh", "/bin/run.sh",
                 "/cgi-bin/link.sh", "/cgi-bin/..%2fbin%2frun.sh"]:
        assert request(url, path).status in (403, 404), path
    assert not marker.exists()


# -- C02: httpoxy --------------------------------------------------------------------------------

def test_c02_proxy_header_never_becomes_http_proxy(wsgi_server, site):
    hits = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            hits.append(conn)
            conn.close()

    thread = threading.Thread(target=count, daemon=True)
    thread.start()

    def target(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"direct"]

    target_url = wsgi_server(target)
    site.script("fetch.py", "import json, os, urllib.request\n"
                            f"body = urllib.request.urlopen({target_url!r}, timeout=5).read()\n"
                            "print('Content-Type: application/json\\n')\n"
                            "print(json.dumps({'env': dict(os.environ), "
                            "'body': body.decode()}))\n")
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        reply = request(wsgi_server(CGIApp(site.root)), "/cgi-bin/fetch.py",
                        headers={"Proxy": proxy})
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    data = reply.json()
    assert data["body"] == "direct"
    assert "HTTP_PROXY" not in data["env"] and "http_proxy" not in data["env"]
    assert hits == []


# -- C03: argv and shell metacharacters ----------------------------------------------------------

def test_c03_query_without_equals_never_reaches_argv(wsgi_server, site):
    site.script("argv.sh", '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\n'
                           'printf "%s|" "$#" "$@"\n')
    url = wsgi_server(CGIApp(site.root))
    assert request(url, "/cgi-bin/argv.sh?-e%20x").body == b"0|"
    assert request(url, "/cgi-bin/s.py?-c%20import%20os").json()["argv"] == [
        str(site.cgi_bin.resolve() / "s.py")]


@pytest.mark.parametrize("name", ["a;id", "$(id)", "`id`", "a b", "a|b", "a&b", "a>b", "-x"])
def test_c03_metacharacter_names_are_404_even_if_the_file_exists(wsgi_server, site, tmp_path,
                                                                 name):
    marker = tmp_path / "marker"
    site.script(name, f"#!/bin/sh\ntouch {marker}\necho 'Content-Type: x/y'\necho\n")
    url = wsgi_server(CGIApp(site.root))
    quoted = "".join(ch if ch.isalnum() or ch in "-." else f"%{ord(ch):02X}" for ch in name)
    assert request(url, f"/cgi-bin/{quoted}").status == 404
    assert not marker.exists()


# -- C04: environment hygiene --------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_c04_server_secrets_and_shellshock(wsgi_server, site, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "x-very-secret")
    marker = tmp_path / "pwned"
    site.script("bash.cgi", '#!/bin/bash\nprintf "Content-Type: text/plain\\n\\n"\n'
                            'printf "%s\\n" "$HTTP_USER_AGENT"\nenv\n')
    url = wsgi_server(CGIApp(site.root))
    agent = f"() {{ :; }}; /usr/bin/touch {marker}"
    reply = request(url, "/cgi-bin/bash.cgi", headers={"User-Agent": agent})
    assert reply.status == 200
    assert reply.body.splitlines()[0] == agent.encode()  # passed as data, exactly
    assert b"x-very-secret" not in reply.body and b"SECRET_TOKEN" not in reply.body
    assert not marker.exists()
    env = request(url, "/cgi-bin/s.py", headers={"Authorization": "Basic dTpw"}).json()["env"]
    assert "SECRET_TOKEN" not in env and "HTTP_AUTHORIZATION" not in env  # RFC 3875 §4.1.18


# -- C05: the body the script gets ---------------------------------------------------------------

def test_c05_stdin_carries_exactly_content_length_bytes(wsgi_server, site):
    url = wsgi_server(CGIApp(site.root))
    host, port = url.removeprefix("http://").split(":")
    pipelined = (b"POST /cgi-bin/s.py HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                 b"GET /cgi-bin/s.py?second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(pipelined)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    bodies = [json.loads(part[part.index(b"{"):part.rindex(b"}") + 1])
              for part in raw.split(b"HTTP/1.1 200")[1:]]
    assert [b["body"] for b in bodies] == ["hello", ""]
    assert [b["env"]["QUERY_STRING"] for b in bodies] == ["", "second"]


def test_c05_chunked_body_is_de_chunked_with_a_length(wsgi_server, site):
    url = wsgi_server(CGIApp(site.root))
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(b"POST /cgi-bin/s.py HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    data = json.loads(raw[raw.index(b"{"):raw.rindex(b"}") + 1])
    assert data["body"] == "hello world"
    assert data["env"]["CONTENT_LENGTH"] == "11" and "HTTP_TRANSFER_ENCODING" not in data["env"]


# -- C06: processes and descriptors are always released ---------------------------------------

def test_c06_script_processes_leave_no_descriptors_or_zombies(tmp_path):
    env = {b"PATH": b"/usr/bin:/bin"}
    before = open_fds()
    for source in ("printf 'Content-Type: a/b\\n\\nok'", "sleep 30", "cat; exit 3"):
        process = ScriptProcess(["/bin/sh", "-c", source], env, tmp_path,
                                iter([b"input"]), timeout=0.5)
        try:
            while process.read():
                pass
        except TimeoutError:
            pass
        process.close()
        assert process.proc.returncode is not None  # reaped
    assert open_fds() == before
