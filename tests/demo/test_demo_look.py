"""One look everywhere: the demo's error pages and listings, whichever part of wirekit answers.

StaticFiles, CGIApp and Mount are given ``demo.pages.site_page`` (their ``page=`` hook), so a
404, the 403 for the CGI directory, a 413 and a failing script's 502/500 carry the site's
stylesheet, viewport tag, icon and a relative link back to the home page.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from wirekit.demo import make_demo_app
from wirekit.demo.pages import site_page
from wirekit.http.cgi import CGIApp
from wirekit.testing import serve_wsgi

from ..http.static_support import parse_response, raw_request
from .test_demo import fetch


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_wsgi(make_demo_app()) as base:
        yield base


def assert_site_look(url: str, path: str, body: bytes, status: int) -> None:
    """The page has the site's stylesheet, icon and viewport, and its link back works."""
    text = body.decode()
    depth = max(urlsplit(path).path.count("/") - 1, 0)
    root = "../" * depth or ""
    assert f'<link rel="stylesheet" href="{root}style.css">' in text, text[:400]
    assert f'<link rel="icon" href="{root}favicon.ico">' in text
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in text
    assert f"<h1>{status} " in text and "- wirekit demo</title>" in text
    back = f'<a href="{root or "./"}">Back to the home page</a>'
    assert back in text
    # The relative links resolve, from the page's own URL, to the site's root and stylesheet.
    page_url = url + path
    assert urljoin(page_url, root or "./") == url + "/"
    assert fetch(urljoin(page_url, root + "style.css"))[0] == 200


@pytest.mark.parametrize("path", ["/missing", "/files/nope", "/files/a/b/c", "/.hidden",
                                  "/files/README.txt/", "/cgi-bin/nope.py", "/mail/x/y"])
def test_404_pages_are_in_the_site_look(url: str, path: str):
    status, headers, body = fetch(url + path)
    assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
    if path.startswith("/mail/"):  # the inbox's own 404, already a page of the site
        assert b'href="../style.css"' in body
        return
    assert_site_look(url, path, body, 404)


def test_the_cgi_directory_is_403_in_the_site_look(url: str):
    status, _, body = fetch(url + "/cgi-bin/")
    assert status == 403
    assert_site_look(url, "/cgi-bin/", body, 403)


def test_the_script_source_stays_private_and_the_answer_is_styled(url: str):
    """The source of subscribe.py is never sent, whatever path leads to it as a file."""
    status, _, body = fetch(url + "/cgi-bin/subscribe.py")
    assert status == 400 and b"parse_cgi_form" not in body and b'href="../style.css"' in body


def test_a_405_is_in_the_site_look(url: str):
    answer = raw_request(url, "/files/", method="DELETE")
    assert answer.status == 405
    assert_site_look(url, "/files/", answer.body, 405)


def test_the_listing_is_in_the_site_look(url: str):
    status, headers, body = fetch(url + "/files/")
    assert status == 200 and b"<title>Index of /files/ - wirekit demo</title>" in body
    assert b'<link rel="stylesheet" href="../style.css">' in body
    assert b'<header><a href="../">wirekit demo</a></header>' in body
    assert b'href="README.txt"' in body and b'class="listing"' in body
    csp = headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "img-src 'self'" in csp and "script-src" not in csp


def too_large(url: str, path: str, content_type: str) -> bytes:
    """POST a Content-Length over the limit, send no body, and read the early answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Content-Type: {content_type}\r\nContent-Length: {100 << 20}\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _length(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    return raw


def _length(raw: bytes) -> int:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 62


@pytest.mark.parametrize(("path", "content_type"), [
    ("/upload", "multipart/form-data; boundary=x"),
    ("/cgi-bin/subscribe.py", "application/x-www-form-urlencoded"),
])
def test_413_pages_are_in_the_site_look(url: str, path: str, content_type: str):
    answer = parse_response(too_large(url, path, content_type))
    assert answer.status == 413
    text = answer.body.decode()
    depth = path.count("/") - 1
    assert f'href="{"../" * depth}style.css"' in text and 'name="viewport"' in text
    assert "64 MiB" in text or "larger than" in text  # says what went wrong
    assert '<a href="' in text.partition("<main>")[2]  # and a way back


# -- a test-only site: scripts that fail ---------------------------------------------------------

@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("failing-site")
    (root / "cgi-bin").mkdir()
    (root / "cgi-bin" / "crash.py").write_text("raise SystemExit('boom')\n")
    (root / "cgi-bin" / "crash.sh").write_text("#!/no/such/interpreter\n")
    (root / "cgi-bin" / "crash.sh").chmod(0o755)
    app = CGIApp(root, interpreters={".py": sys.executable}, page=site_page)
    with serve_wsgi(app) as base:
        yield base


@pytest.mark.parametrize(("path", "status"), [("/cgi-bin/crash.py", 502),
                                              ("/cgi-bin/crash.sh", 500)])
def test_failing_scripts_get_a_page_in_the_site_look(failing: str, path: str, status: int):
    got, headers, body = fetch(failing + path)
    assert got == status and headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert '<link rel="stylesheet" href="../style.css">' in text and 'name="viewport"' in text
    assert '<a href="../">Back to the home page</a>' in text
    assert "boom" not in text and "interpreter" not in text  # details stay in the log


def test_a_page_that_crashes_gets_the_site_500_and_the_log_the_traceback(caplog):
    """Whatever part of the demo raises, the browser sees the site's 500 page, not the
    server's plain one, and nothing of the exception; the log has the traceback."""
    from wirekit.demo.app import _styled_crash

    def broken(environ, start_response):
        raise RuntimeError("secret detail")

    with serve_wsgi(_styled_crash(broken)) as base:
        status, _, body = fetch(base + "/files/deep/page")
        assert status == 500
        text = body.decode()
        assert "<h1>500 Internal Server Error</h1>" in text
        assert '<link rel="stylesheet" href="../../style.css">' in text
        assert "secret detail" not in text
    assert any("secret detail" in (r.exc_text or "") or
               (r.exc_info and "secret detail" in str(r.exc_info[1])) for r in caplog.records)
