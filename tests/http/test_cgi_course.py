"""The course's CGI examples end to end: the subscribe form handled by a CGI script that uses
wirekit.http.forms, and a WSGI application run as a CGI script (slide 4-48)."""

from __future__ import annotations

import io
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from wirekit.http.cgi import CGIApp, run_wsgi_as_cgi, wsgi_environ_from_cgi

from .cgi_support import CURL, Site, request

SUBSCRIBE = """\
import html
from wirekit.http.forms import parse_cgi_form

form = parse_cgi_form()
name = form.getvalue("name", "")
email = form.getvalue("email", "")

print("Status: 200 OK")
print("Content-type: text/html")
print()
print("<html><head><title>Success!</title></head><body>")
print("Hello %s, your email is %s" % (html.escape(name), html.escape(email)))
print("</body></html>")
"""

HELLO_WSGI = """\
from wirekit.http.cgi import run_wsgi_as_cgi
from wirekit.http.forms import parse_form

def hello_app(environ, start_response):
    form = parse_form(environ)
    start_response("200 OK", [("Content-type", "text/plain")])
    return [b"Hello World\\n",
            ("You requested: " + environ["PATH_INFO"] + "\\n").encode("latin-1"),
            ("who=" + form.getvalue("who", "nobody")).encode()]

raise SystemExit(run_wsgi_as_cgi(hello_app))
"""


@pytest.fixture
def url(wsgi_server, tmp_path: Path) -> str:
    site = Site(tmp_path / "www")
    site.script("subscribe.py", SUBSCRIBE)
    site.script("hello.py", HELLO_WSGI)
    return wsgi_server(CGIApp(site.root))


def test_subscribe_form_post(url):
    fields = urllib.parse.urlencode({"name": "David <Beazley>", "email": "dave@dabeaz.com",
                                     "submit-button": "Subscribe"}).encode()
    with urllib.request.urlopen(url + "/cgi-bin/subscribe.py", data=fields) as response:
        assert response.headers["Content-Type"] == "text/html"
        page = response.read().decode()
    assert "Hello David &lt;Beazley&gt;, your email is dave@dabeaz.com" in page


def test_subscribe_form_get_and_multipart(url):
    reply = request(url, "/cgi-bin/subscribe.py?name=Dave&email=dave%40dabeaz.com")
    assert b"Hello Dave, your email is dave@dabeaz.com" in reply.body
    out = subprocess.run([CURL, "-s", "--max-time", "20", "-F", "name=Guido", "-F",
                          "email=guido@python.org", url + "/cgi-bin/subscribe.py"],
                         capture_output=True, check=True).stdout
    assert b"Hello Guido, your email is guido@python.org" in out


def test_wsgi_app_runs_as_a_cgi_script(url):
    with urllib.request.urlopen(url + "/cgi-bin/hello.py/some/path", data=b"who=course") as r:
        assert r.headers["Content-type"] == "text/plain"
        assert r.read() == b"Hello World\nYou requested: /some/path\nwho=course"


# -- run_wsgi_as_cgi in-process ------------------------------------------------------------------

def run(app, env: dict[str, str], stdin: bytes = b"") -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    code = run_wsgi_as_cgi(app, env, io.BytesIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


def test_adapter_output_format_and_bounded_input():
    seen = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read()
        seen["more"] = environ["wsgi.input"].read()
        seen["keys"] = set(environ)
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
        return [b"made ", b"", b"it"]

    env = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "4", "PATH_INFO": "/x",
           "HTTP_HOST": "h", "SECRET_TOKEN": "s3cret", "HTTPS": "on"}
    code, out, _ = run(app, env, b"bodyEXTRA")
    assert code == 0
    assert out == b"Status: 201 Created\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nmade it"
    assert (seen["body"], seen["more"]) == (b"body", b"")
    assert "SECRET_TOKEN" not in seen["keys"] and "HTTP_HOST" in seen["keys"]
    environ = wsgi_environ_from_cgi(env, io.BytesIO(), io.StringIO())
    assert environ["wsgi.url_scheme"] == "https" and environ["wsgi.run_once"] is True


def test_adapter_sends_headers_even_for_an_empty_body():
    def app(environ, start_response):
        start_response("204 No Content", [])
        return []

    assert run(app, {})[1] == b"Status: 204 No Content\r\n\r\n"


def test_adapter_turns_an_exception_into_a_500_without_the_traceback():
    def app(environ, start_response):
        raise RuntimeError("secret detail")

    code, out, err = run(app, {})
    assert code == 1 and out.startswith(b"Status: 500 ") and b"secret detail" not in out
    assert "secret detail" in err


@pytest.mark.parametrize(("status", "headers"), [
    ("200 OK", [("X-Bad", "a\r\nSet-Cookie: x=1")]),
    ("200 OK", [("Bad Name", "v")]),
    ("200 OK", [("Connection", "close")]),
    ("200", []),
    ("200 OK\r\nX: y", []),
])
def test_adapter_refuses_bad_status_and_headers(status, headers):
    def app(environ, start_response):
        start_response(status, headers)
        return [b"body"]

    code, out, err = run(app, {})
    assert code == 1 and out.startswith(b"Status: 500 ")
    assert b"Set-Cookie" not in out and b"body" not in out and "LocalProtocolError" in err


def test_adapter_after_headers_sent_stops_and_closes():
    closed = []

    class Body:
        def __iter__(self):
            yield b"first"
            raise RuntimeError("midway")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    code, out, err = run(app, {})
    assert code == 1 and out.endswith(b"\r\n\r\nfirst") and b"500" not in out
    assert closed == [True] and "midway" in err


def test_adapter_exc_info_replaces_headers_before_sending():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("oops")
        except ValueError as exc:
            start_response("503 Busy", [("Content-Type", "text/plain")],
                           (type(exc), exc, exc.__traceback__))
        return [b"later"]

    code, out, _ = run(app, {})
    assert code == 0 and out.startswith(b"Status: 503 Busy\r\n") and out.endswith(b"later")
