"""The ``page=`` hook of StaticFiles, Mount and CGIApp: generated pages in the application's look.

Every error page and listing the three generate goes through the renderer when one is given,
says what went wrong, and links back to the application's root by a relative URL that is right
for the depth of the request; without a renderer the plain pages of before are unchanged.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pytest

from wirekit.http.cgi import CGIApp
from wirekit.http.mount import Mount
from wirekit.http.pages import error_page, relative_root
from wirekit.http.static import StaticFiles
from wirekit.http.static.listing import render_listing

from .cgi_support import Site, request
from .static_support import raw_request

MARK = b"<!-- the-look -->"


def look(title: str, body: str, root: str) -> bytes:
    """A renderer with a recognisable mark, a stylesheet at the root and a viewport tag."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            f'<link rel="stylesheet" href="{root}style.css"></head><body>'
            f"{MARK.decode()}<h1>{html.escape(title)}</h1>\n{body}</body></html>\n").encode()


def assert_in_the_look(body: bytes, status: int, root: str) -> None:
    assert MARK in body, body[:300]
    assert f"<h1>{status} ".encode() in body
    assert f'href="{root}style.css"'.encode() in body and b'name="viewport"' in body
    assert f'<a href="{root}">Back to the home page</a>'.encode() in body
    assert re.search(rb"<p>[A-Z][^<]{10,}</p>", body)  # what went wrong, in words


@pytest.fixture
def site(tmp_path: Path) -> Site:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.txt").write_text("hello")
    (tmp_path / ".secret").write_text("x")
    (tmp_path / "style.css").write_text("body{}")
    return Site(tmp_path)


@pytest.mark.parametrize(("path", "root"), [("/x", "./"), ("/a/x", "../"), ("/a/b/x", "../../"),
                                            ("/.secret", "./"), ("/a/b/f.txt/", "../../../")])
def test_static_404_pages_in_the_look_link_back_by_depth(wsgi_server, site: Site, path: str,
                                                         root: str):
    answer = raw_request(wsgi_server(StaticFiles(site.root, page=look)), path)
    assert answer.status == 404
    assert_in_the_look(answer.body, 404, root)
    # The page may load its stylesheet and icon from the site, and still nothing else.
    csp = answer.header("Content-Security-Policy") or ""
    assert "style-src 'self'" in csp and "img-src 'self'" in csp and "default-src 'none'" in csp


def test_static_405_and_head_in_the_look(wsgi_server, site: Site):
    url = wsgi_server(StaticFiles(site.root, page=look))
    answer = raw_request(url, "/a/", method="POST", body=b"x")
    assert answer.status == 405 and answer.header("Allow") == "GET, HEAD"
    assert_in_the_look(answer.body, 405, "../")
    head = raw_request(url, "/missing", method="HEAD")
    assert head.status == 404 and head.body == b"" and head.header("Content-Length") != "0"


def test_static_listing_in_the_look(wsgi_server, site: Site):
    answer = raw_request(wsgi_server(StaticFiles(site.root, page=look)), "/a/b/")
    assert answer.status == 200 and MARK in answer.body
    assert b"<title>Index of /a/b/</title>" in answer.body
    assert b'href="../../style.css"' in answer.body and b'href="f.txt"' in answer.body
    assert b'href="../">../</a>' in answer.body  # the parent row is still there


def test_listing_title_is_text_for_the_renderer():
    """The renderer gets the path as text (it escapes it); undecodable bytes become U+FFFD."""
    seen: list[str] = []

    def record(title: str, body: str, root: str) -> bytes:
        seen.append(title)
        return b""

    render_listing("/<b>&\udce9/", [], parent=True, page=record, root="../")
    assert seen == ["Index of /<b>&\ufffd/"]


def test_static_redirect_keeps_its_location_in_the_look(wsgi_server, site: Site):
    answer = raw_request(wsgi_server(StaticFiles(site.root, page=look)), "/a")
    assert answer.status == 301 and answer.header("Location") == "/a/"
    assert MARK in answer.body


def test_without_a_renderer_the_static_pages_are_as_before(wsgi_server, site: Site):
    url = wsgi_server(StaticFiles(site.root))
    missing = raw_request(url, "/a/x")
    assert MARK not in missing.body and b"<h1>404 Not Found</h1>" in missing.body
    assert b"Back to" not in missing.body
    assert missing.header("Content-Security-Policy") == (
        "default-src 'none'; style-src 'unsafe-inline'")
    listing = raw_request(url, "/a/b/")
    assert b"<style>" in listing.body and b'class="listing"' not in listing.body


def test_mount_404_in_the_look_and_plain_without(wsgi_server):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    styled = raw_request(wsgi_server(Mount({"/only": app}, page=look)), "/a/b")
    assert styled.status == 404
    assert_in_the_look(styled.body, 404, "../")
    plain = raw_request(wsgi_server(Mount({"/only": app})), "/a/b")
    assert plain.status == 404 and MARK not in plain.body
    assert plain.body.startswith(b"<!DOCTYPE html>") and b"Back to" not in plain.body


# -- CGI ------------------------------------------------------------------------------------------

FAILS = "import sys\nsys.exit(3)\n"  # no output at all: not a valid CGI answer (502)
HANGS = "import time\ntime.sleep(60)\n"


def cgi(wsgi_server, site: Site, **options) -> str:
    site.script("fails.py", FAILS)
    site.script("hangs.py", HANGS)
    return wsgi_server(CGIApp(site.root, page=look, **options))


@pytest.mark.parametrize(("path", "status", "root"), [
    ("/cgi-bin/missing.py", 404, "../"),
    ("/cgi-bin/fails.py", 502, "../"),
    ("/cgi-bin/fails.py/extra/path", 502, "../../../"),
])
def test_cgi_errors_in_the_look(wsgi_server, site: Site, path: str, status: int, root: str):
    reply = request(cgi(wsgi_server, site), path)
    assert reply.status == status and reply.headers["Content-Type"].startswith("text/html")
    assert_in_the_look(reply.body, status, root)


def test_cgi_413_in_the_look_says_the_limit(wsgi_server, site: Site):
    reply = request(cgi(wsgi_server, site, max_body=100), "/cgi-bin/fails.py", method="POST",
                    body=b"x" * 101)
    assert reply.status == 413
    assert_in_the_look(reply.body, 413, "../")
    assert b"larger than 100 bytes" in reply.body  # the client's own mistake, in detail


def test_cgi_500_when_the_script_cannot_start(wsgi_server, site: Site):
    url = cgi(wsgi_server, site, interpreters={".py": str(site.root / "no-such-python")})
    reply = request(url, "/cgi-bin/fails.py")
    assert reply.status == 500
    assert_in_the_look(reply.body, 500, "../")
    assert b"no-such-python" not in reply.body  # server details stay in the log


def test_cgi_504_in_the_look(wsgi_server, site: Site):
    reply = request(cgi(wsgi_server, site, timeout=0.5), "/cgi-bin/hangs.py")
    assert reply.status == 504
    assert_in_the_look(reply.body, 504, "../")


def test_without_a_renderer_cgi_errors_stay_plain_text(wsgi_server, site: Site):
    site.script("fails.py", FAILS)
    reply = request(wsgi_server(CGIApp(site.root, interpreters={".py": sys.executable})),
                    "/cgi-bin/fails.py")
    assert reply.status == 502 and reply.headers["Content-Type"].startswith("text/plain")
    assert reply.body == b"502 Bad Gateway\n"


def test_error_page_escapes_detail_and_root():
    page = error_page(look, 400, '"><x', detail="<script>")
    assert b"&lt;script&gt;" in page and b"<script>" not in page
    assert b'href="&quot;&gt;&lt;x"' in page


@pytest.mark.parametrize(("path_info", "root"), [("", "./"), ("/", "./"), ("/x", "./"),
                                                 ("/a/", "../"), ("/a/b/c", "../../")])
def test_relative_root(path_info: str, root: str):
    assert relative_root({"PATH_INFO": path_info}) == root
