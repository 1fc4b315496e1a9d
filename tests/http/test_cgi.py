"""CGIApp on wirekit's HTTP server, with urllib, http.client and curl as real clients:
the RFC 3875 environment, request bodies, the output protocol, timeouts and crashes."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import subprocess
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest

from wirekit.config import Limits
from wirekit.errors import ConfigError
from wirekit.http.cgi import CGIApp

from .cgi_support import CURL, ENV_DUMP, Site, process_gone, request, wait_until

RFC3875 = {"GATEWAY_INTERFACE", "SERVER_SOFTWARE", "SERVER_NAME", "SERVER_PORT",
           "SERVER_PROTOCOL", "REQUEST_METHOD", "QUERY_STRING", "CONTENT_TYPE",
           "CONTENT_LENGTH", "PATH_INFO", "PATH_TRANSLATED", "SCRIPT_NAME", "REMOTE_ADDR",
           "REMOTE_HOST", "REMOTE_USER", "AUTH_TYPE", "REMOTE_IDENT"}
EXTENSIONS = {"PATH", "REMOTE_PORT", "REQUEST_URI", "DOCUMENT_ROOT", "SCRIPT_FILENAME", "HTTPS",
              "LC_CTYPE"}  # LC_CTYPE: the child Python's own C-locale coercion (PEP 538)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path / "www")
    site.cgi_bin.mkdir(parents=True)
    site.script("env.py", ENV_DUMP)
    return site


@pytest.fixture
def serve(wsgi_server, site):
    def start(**options):
        server_options = options.pop("server", {})
        return wsgi_server(CGIApp(site.root, **options), **server_options)
    return start


def test_environment_has_the_rfc3875_variables_and_nothing_else(serve, site):
    url = serve()
    with urllib.request.urlopen(url + "/cgi-bin/env.py/extra/p%20q?a=1&b=%20x") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        data = json.loads(response.read())
    env = data["env"]
    port = url.rsplit(":", 1)[1]
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["SERVER_SOFTWARE"]
    assert env["SERVER_NAME"] and env["SERVER_PORT"] == port
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["QUERY_STRING"] == "a=1&b=%20x"  # raw, still encoded (RFC 3875 §4.1.7)
    assert env["SCRIPT_NAME"] == "/cgi-bin/env.py"
    assert env["PATH_INFO"] == "/extra/p q"
    assert env["PATH_TRANSLATED"] == str(site.root.resolve()) + "/extra/p q"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_USER_AGENT"].startswith("Python-urllib")
    assert env["HTTP_HOST"] == url.removeprefix("http://")
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    assert "CONTENT_LENGTH" not in env and "CONTENT_TYPE" not in env  # GET: no body
    unknown = {k for k in env if not k.startswith("HTTP_")} - RFC3875 - EXTENSIONS
    assert not unknown
    assert data["argv"] == [str(site.cgi_bin.resolve() / "env.py")]
    assert data["cwd"] == str(site.cgi_bin.resolve())


def test_no_path_info_means_neither_variable(serve):
    env = request(serve(), "/cgi-bin/env.py").json()["env"]
    assert "PATH_INFO" not in env and "PATH_TRANSLATED" not in env


def test_post_body_reaches_stdin_with_its_length_and_type(serve):
    body = b"name=David+Beazley&email=dave%40dabeaz.com"
    req = urllib.request.Request(serve() + "/cgi-bin/env.py", data=body, method="POST")
    with urllib.request.urlopen(req) as response:
        data = json.loads(response.read())
    assert data["body"].encode("latin-1") == body
    assert data["env"]["CONTENT_LENGTH"] == str(len(body))
    assert data["env"]["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert data["env"]["REQUEST_METHOD"] == "POST"


def test_shell_script_runs_via_its_shebang_with_curl(serve, site):
    site.script("hello.sh", '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\n'
                            'echo "hello from sh, query=$QUERY_STRING method=$REQUEST_METHOD"\n')
    out = subprocess.run([CURL, "-s", "--max-time", "20", serve() + "/cgi-bin/hello.sh?x=1"],
                         capture_output=True, check=True).stdout
    assert out == b"hello from sh, query=x=1 method=GET\n"


def test_chunked_upload_is_spooled_and_given_a_content_length(serve, site, tmp_path):
    site.script("sum.py", "import hashlib, os, sys\n"
                          "data = sys.stdin.buffer.read()\n"
                          "print('Content-Type: text/plain\\n')\n"
                          "print(os.environ.get('CONTENT_LENGTH'), len(data),"
                          " hashlib.sha256(data).hexdigest(),"
                          " os.environ.get('HTTP_TRANSFER_ENCODING'))\n")
    payload = os.urandom(3 * 1024 * 1024 + 17)
    upload = tmp_path / "payload.bin"
    upload.write_bytes(payload)
    out = subprocess.run([CURL, "-s", "--max-time", "20", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", f"@{upload}", serve() + "/cgi-bin/sum.py"],
                         capture_output=True, check=True).stdout.split()
    assert out == [str(len(payload)).encode(), str(len(payload)).encode(),
                   hashlib.sha256(payload).hexdigest().encode(), b"None"]


def test_script_that_answers_before_reading_its_input_does_not_deadlock(serve, site):
    # 1 MiB of output before reading 4 MiB of input: both pipes overflow their buffers.
    site.script("eager.py", "import sys\n"
                            "sys.stdout.write('Content-Type: text/plain\\n\\n' + 'x' * (1 << 20))\n"
                            "sys.stdout.flush()\n"
                            "n = len(sys.stdin.buffer.read())\n"
                            "sys.stdout.write('\\nread %d' % n)\n")
    reply = request(serve(), "/cgi-bin/eager.py", method="POST", body=b"y" * (4 << 20))
    assert reply.status == 200
    assert reply.body.endswith(b"\nread %d" % (4 << 20)) and reply.body.count(b"x") == 1 << 20


def test_status_header_sets_the_response_status(serve, site):
    site.script("gone.py", "print('Status: 410 Gone Away')\nprint('Content-Type: text/plain')\n"
                           "print('X-Extra: yes')\nprint()\nprint('bye')\n")
    reply = request(serve(), "/cgi-bin/gone.py")
    assert (reply.status, reply.headers["X-Extra"], reply.body) == (410, "yes", b"bye\n")


def test_client_redirect_is_a_302_with_location(serve, site):
    site.script("away.py", "print('Location: http://example.invalid/next')\nprint()\n")
    reply = request(serve(), "/cgi-bin/away.py")
    assert reply.status == 302 and reply.headers["Location"] == "http://example.invalid/next"


def test_local_redirect_is_dispatched_inside_the_server(serve, site):
    site.script("here.py", "print('Location: /cgi-bin/env.py/moved?q=2')\nprint()\n")
    reply = request(serve(), "/cgi-bin/here.py", method="POST", body=b"ignored")
    assert reply.status == 200
    env = reply.json()["env"]
    # RFC 3875 §6.2.2: the new request is a GET for the new path, without the old body.
    assert (env["PATH_INFO"], env["QUERY_STRING"], env["REQUEST_METHOD"]) == (
        "/moved", "q=2", "GET")
    assert "CONTENT_LENGTH" not in env


def test_local_redirect_loop_is_a_502(serve, site, caplog):
    site.script("loop.py", "print('Location: /cgi-bin/loop.py')\nprint()\n")
    with caplog.at_level(logging.ERROR, logger="wirekit.http.cgi"):
        assert request(serve(), "/cgi-bin/loop.py").status == 502
    assert "local redirects" in caplog.text


def test_script_content_length_is_honoured(serve, site):
    site.script("cl.py", "import sys\nsys.stdout.write('Content-Length: 5\\n\\nhelloEXTRA')\n")
    reply = request(serve(), "/cgi-bin/cl.py")
    assert reply.body == b"hello" and reply.headers["Content-Length"] == "5"


def test_head_runs_the_script_and_sends_no_body(serve):
    reply = request(serve(), "/cgi-bin/env.py", method="HEAD")
    assert reply.status == 200 and reply.body == b""
    assert reply.headers["Content-Type"] == "application/json"


def test_large_streamed_output(serve, site):
    site.script("big.py", "import sys\nsys.stdout.write('Content-Type: text/plain\\n\\n')\n"
                          "sys.stdout.flush()\n"
                          "for i in range(256): sys.stdout.buffer.write(bytes([65 + i % 26]) *"
                          " 32768)\n")
    reply = request(serve(), "/cgi-bin/big.py")
    assert len(reply.body) == 256 * 32768 and reply.body[-1:] == bytes([65 + 255 % 26])


# -- time limits and failures (SECURITY.md C06) ---------------------------------------------------

def test_timeout_is_504_and_the_whole_process_group_is_killed(serve, site, tmp_path, caplog):
    pids = tmp_path / "pids"
    site.script("hang.sh", f"#!/bin/sh\nsleep 300 &\necho $! > {pids}\necho $$ >> {pids}\n"
                           "echo 'stuck forever' >&2\nwait\n")
    with caplog.at_level(logging.ERROR, logger="wirekit.http.cgi"):
        assert request(serve(timeout=1.0), "/cgi-bin/hang.sh").status == 504
    child, shell = (int(line) for line in pids.read_text().split())
    assert wait_until(lambda: process_gone(child) and process_gone(shell))
    assert "stuck forever" in caplog.text


def test_timeout_after_headers_cuts_the_stream(serve, site, caplog):
    site.script("slow.py", "import sys, time\nprint('Content-Type: text/plain\\n')\n"
                           "print('partial'); sys.stdout.flush(); time.sleep(300)\n")
    # Headers and "partial" were sent; the response must not look complete to the client.
    with caplog.at_level(logging.INFO), pytest.raises((OSError, http.client.HTTPException)):
        request(serve(timeout=1.0), "/cgi-bin/slow.py")
    # A script out of time is not an application crash: one line each, no traceback.
    assert "ran out of time" in caplog.text and "response was cut" in caplog.text
    assert not any(record.exc_info for record in caplog.records)
    assert "the application raised" not in caplog.text


@pytest.mark.parametrize(("name", "source", "log"), [
    ("silent.py", "pass\n", "no output"),
    ("crash.py", "import sys\nsys.stderr.write('Traceback: boom\\n')\nsys.exit(3)\n", "boom"),
    ("noblank.py", "print('Content-Type: text/plain')\nprint('Oops no blank line', end='')\n",
     "blank line"),
    ("junk.py", "print('this is not a header')\nprint()\n", "malformed"),
    ("huge.py", "import sys\nsys.stdout.write('X' * (2 << 20))\n", "longer than"),
    ("fold.py", "import sys\nsys.stdout.write('Content-Type: text/plain\\r\\nX: a\\r\\n b\\r\\n"
                "\\r\\nbody')\n", "folded"),
    ("crlf.py", "import sys\nsys.stdout.write('Location: /a\\rSet-Cookie: x=1\\n\\n')\n",
     "control character"),
    ("status.py", "print('Status: 99 Bottles')\nprint()\n", "Status"),
    ("first.py", "print()\nprint('body without headers')\n", "no CGI headers"),
])
def test_bad_output_is_502_with_a_log_line(serve, site, caplog, name, source, log):
    site.script(name, source)
    with caplog.at_level(logging.ERROR, logger="wirekit.http.cgi"):
        reply = request(serve(), f"/cgi-bin/{name}")
    assert reply.status == 502
    assert b"Set-Cookie" not in reply.body and "Set-Cookie" not in reply.headers
    assert log in caplog.text and name in caplog.text


def test_stderr_flood_is_drained_and_bounded(serve, site, caplog):
    site.script("noisy.py", "import sys\nfor i in range(160): sys.stderr.write('e' * 65535 + "
                            "'\\n')\nsys.stderr.write('LAST-LINE\\n')\n"
                            "print('Content-Type: text/plain\\n\\nfine')\n")
    with caplog.at_level(logging.INFO, logger="wirekit.http.cgi"):
        reply = request(serve(), "/cgi-bin/noisy.py")
        assert (reply.status, reply.body) == (200, b"fine\n")
        # The log line is written when the server closes the response, after the client has it.
        assert wait_until(lambda: any("LAST-LINE" in r.getMessage() for r in caplog.records))
    records = [r.getMessage() for r in caplog.records if "noisy.py" in r.getMessage()]
    assert records and all(len(m) < 4 * 8192 for m in records)
    assert "10485" in records[-1]  # the total is counted even though only the tail is kept


def test_unstartable_script_is_500(serve, site, caplog):
    site.script("broken.cgi", "#!/nonexistent/interpreter\n")
    with caplog.at_level(logging.ERROR, logger="wirekit.http.cgi"):
        assert request(serve(), "/cgi-bin/broken.cgi").status == 500
    assert "could not be started" in caplog.text


def test_client_going_away_kills_the_script(wsgi_server, site, tmp_path):
    pidfile = tmp_path / "pid"
    site.script("forever.py", "import os, sys\n"
                              f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
                              "sys.stdout.write('Content-Type: text/plain\\n\\n')\n"
                              "while True: sys.stdout.write('x' * 65536)\n")
    url = wsgi_server(CGIApp(site.root, timeout=60))
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /cgi-bin/forever.py HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536)
    assert wait_until(pidfile.exists)
    assert wait_until(lambda: process_gone(int(pidfile.read_text())), limit=20)


# -- configuration and direct WSGI calls ---------------------------------------------------------

def test_extra_env_and_path_are_passed(serve):
    env = request(serve(extra_env={"LANG": "C.UTF-8"}, path="/usr/bin:/bin"),
                  "/cgi-bin/env.py").json()["env"]
    assert env["LANG"] == "C.UTF-8" and env["PATH"] == "/usr/bin:/bin"


def test_custom_cgi_dir_and_fallback(wsgi_server, site):
    site.script("../scripts/env.py", ENV_DUMP)

    def fallback(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fallback " + environ["PATH_INFO"].encode()]

    url = wsgi_server(CGIApp(site.root, cgi_dir="/scripts", fallback=fallback))
    assert request(url, "/scripts/env.py").json()["env"]["SCRIPT_NAME"] == "/scripts/env.py"
    assert request(url, "/other/page").body == b"fallback /other/page"
    assert request(url, "/SCRIPTS/env.py").status == 404  # never the fallback


def test_large_body_is_refused_before_the_script_runs(serve, site, tmp_path):
    marker = tmp_path / "ran"
    site.script("touch.sh", f"#!/bin/sh\ntouch {marker}\nprintf 'Content-Type: text/plain\\n\\n'\n")
    url = serve(max_body=1000, server={"limits": Limits(max_body=1 << 20)})
    assert request(url, "/cgi-bin/touch.sh", method="POST", body=b"x" * 1001).status == 413
    assert not marker.exists()


def test_body_without_length_or_terminated_input_is_411(site):
    app = CGIApp(site.root)
    seen = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/cgi-bin/env.py", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_TRANSFER_ENCODING":
               "chunked", "wsgi.input": BytesIO(b"5\r\nhello\r\n0\r\n\r\n")}
    body = b"".join(app(environ, lambda status, headers: seen.append(status)))
    assert seen == ["411 Length Required"] and b"411" in body


@pytest.mark.parametrize("bad", [{"cgi_dir": "/"}, {"cgi_dir": "/a/../b"}, {"timeout": 0}])
def test_bad_configuration_is_refused(site, bad):
    with pytest.raises(ConfigError):
        CGIApp(site.root, **bad)


def test_a_script_with_content_length_may_finish_after_its_output(serve, site, caplog):
    """Reading up to a script's Content-Length is not a reason to kill it: it gets the same
    moment to exit as a script whose output ended (no "exited with status -9")."""
    done = site.root / "done.txt"
    site.script("cl.sh", '#!/bin/sh\nprintf "Content-Type: text/plain\\nContent-Length: 6'
                         f'\\n\\nhello\\n"\nsleep 0.05\ntouch {done}\n')
    url = serve()
    with caplog.at_level(logging.WARNING, "wirekit.http.cgi"):
        for _ in range(5):
            assert request(url, "/cgi-bin/cl.sh").body == b"hello\n"
    assert "exited with status" not in caplog.text
    assert wait_until(done.exists)
