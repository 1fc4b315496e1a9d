"""StaticFiles over a real server: files, types, listing, redirects, methods, conditionals.

Ranges live in ``test_static_ranges.py`` and the traversal corpus in ``test_static_paths.py``.
Clients are urllib, curl and raw sockets; nothing is mocked except where a test pins the WSGI
``file_wrapper`` contract itself.
"""

from __future__ import annotations

import email.utils
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from wirekit.http.static import StaticFiles
from wirekit.http.static.app import SMALL_FILE
from wirekit.http.static.listing import render_listing
from wirekit.testing import serve_wsgi

from .static_support import curl, raw_request

BIG = bytes(range(256)) * ((SMALL_FILE * 3) // 256 + 7)  # above SMALL_FILE: the sendfile path

HOSTILE_NAMES = [
    "<script>alert(1)<%2Fscript>.txt",
    '"><img src=x onerror=alert(1)>',
    "a&b",
    "javascript:alert(1)",
    "it's here.txt",
    "café ☕.txt",
]


def make_site(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "hello.txt").write_text("hello\n")
    (root / "page.html").write_text("<p>hi</p>")
    (root / "style.css").write_text("p{}")
    (root / "app.js").write_text("1;")
    (root / "data.json").write_text("{}")
    (root / "logo.PNG").write_bytes(b"\x89PNG")
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b")
    (root / "blob.unknownext").write_bytes(b"?")
    (root / "README").write_text("no extension")
    (root / "empty.txt").write_bytes(b"")
    (root / "big.bin").write_bytes(BIG)
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs index</h1>")
    (root / "docs" / "other.txt").write_text("other")
    (root / "files").mkdir()
    for name in HOSTILE_NAMES:
        (root / "files" / name).write_text(name)
    (root / "files" / os.fsdecode(b"latin1-caf\xe9.txt")).write_text("not utf-8 name")
    (root / "files" / "Zeta").mkdir()
    (root / "files" / "alpha").mkdir()
    (root / "files" / "Beta.txt").write_text("Beta.txt")
    crlf = root / "evil\r\nX-Injected: 1"
    crlf.mkdir()
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("site") / "root")


@pytest.fixture(scope="module")
def url(site: Path) -> Iterator[str]:
    with serve_wsgi(StaticFiles(site)) as base:
        yield base


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={k.replace("_", "-"): v
                                                   for k, v in headers.items()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


# -- files and types -----------------------------------------------------------------------


def test_get_a_file_with_urllib(url: str, site: Path):
    status, headers, body = fetch(url + "/hello.txt")
    assert (status, body) == (200, b"hello\n")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Length"] == "6"
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"
    st = (site / "hello.txt").stat()
    assert headers["ETag"] == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    assert email.utils.parsedate_to_datetime(headers["Last-Modified"]).timestamp() == int(
        st.st_mtime)


def test_large_file_arrives_intact_through_the_file_wrapper(url: str):
    answer = curl(url + "/big.bin")
    assert answer.status == 200
    assert answer.header("Content-Length") == str(len(BIG))
    assert answer.body == BIG


def test_empty_file(url: str):
    status, headers, body = fetch(url + "/empty.txt")
    assert (status, headers["Content-Length"], body) == (200, "0", b"")


@pytest.mark.parametrize(("name", "content_type"), [
    ("page.html", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("data.json", "application/json"),
    ("logo.PNG", "image/png"),
    ("archive.tar.gz", "application/gzip"),
    ("blob.unknownext", "application/octet-stream"),
    ("README", "application/octet-stream"),
])
def test_content_types(url: str, name: str, content_type: str):
    status, headers, _ = fetch(f"{url}/{name}")
    assert status == 200
    assert headers["Content-Type"] == content_type
    assert "Content-Encoding" not in headers  # x.tar.gz is a gzip file, not an encoded tar


def test_extra_content_types(wsgi_server, site: Path):
    base = wsgi_server(StaticFiles(site, content_types={"unknownext": "text/x-mine",
                                                        ".txt": "text/plain; charset=latin-1"}))
    assert fetch(base + "/blob.unknownext")[1]["Content-Type"] == "text/x-mine; charset=utf-8"
    assert fetch(base + "/hello.txt")[1]["Content-Type"] == "text/plain; charset=latin-1"


def test_head_has_the_headers_of_get_and_no_body(url: str):
    get = raw_request(url, "/big.bin")
    head = raw_request(url, "/big.bin", method="HEAD")
    assert head.status == 200
    assert head.raw.endswith(b"\r\n\r\n")  # nothing after the headers
    for name in ("Content-Length", "Content-Type", "ETag", "Last-Modified"):
        assert head.header(name) == get.header(name)


def test_a_file_with_a_trailing_slash_is_not_found(url: str):
    assert fetch(url + "/hello.txt/")[0] == 404


def test_missing_file_page_reflects_nothing(url: str):
    answer = raw_request(url, "/nothing-%3Cscript%3Ealert(1)%3C/script%3E")
    assert answer.status == 404
    assert b"<script" not in answer.body
    assert b"nothing-" not in answer.body
    assert answer.header("Content-Type") == "text/html; charset=utf-8"


def test_file_edits_show_up_on_the_next_request(wsgi_server, tmp_path: Path):
    (tmp_path / "f.txt").write_text("one")
    base = wsgi_server(StaticFiles(tmp_path))
    first = fetch(base + "/f.txt")
    (tmp_path / "f.txt").write_text("two!")
    os.utime(tmp_path / "f.txt", ns=(1, 10**18))  # a different mtime, whatever the clock says
    second = fetch(base + "/f.txt")
    assert (first[2], second[2]) == (b"one", b"two!")
    assert first[1]["ETag"] != second[1]["ETag"]


# -- the file_wrapper contract (PEP 3333 + sendfile from the current position) ---------------


class RecordingWrapper:
    def __init__(self, filelike, blksize):
        self.filelike = filelike
        self.blksize = blksize


def call(app, path: str, **extra):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "",
               "QUERY_STRING": "", "wsgi.file_wrapper": RecordingWrapper, **extra}
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = dict(headers)

    body = app(environ, start_response)
    return seen["status"], seen["headers"], body


def test_big_files_go_to_the_file_wrapper_positioned_for_sendfile(site: Path):
    status, headers, body = call(StaticFiles(site), "/big.bin", HTTP_RANGE="bytes=1000-70999")
    assert status.startswith("206")
    assert isinstance(body, RecordingWrapper)
    filelike = body.filelike
    try:
        # sendfile() starts at the current position and sends Content-Length bytes
        assert filelike.tell() == 1000
        assert headers["Content-Length"] == "70000"
        assert os.pread(filelike.fileno(), 5, filelike.tell()) == BIG[1000:1005]
        # a server without sendfile iterates read(): it stops at the end of the range
        assert b"".join(iter(lambda: filelike.read(body.blksize), b"")) == BIG[1000:71000]
    finally:
        filelike.close()


def test_without_a_file_wrapper_the_body_is_iterable_and_closes(site: Path):
    environ_extra = {"wsgi.file_wrapper": None}
    status, headers, body = call(StaticFiles(site), "/big.bin", **environ_extra)
    assert (status, headers["Content-Length"]) == ("200 OK", str(len(BIG)))
    fd = body.fileno()
    assert b"".join(body) == BIG
    body.close()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_small_files_are_returned_in_one_piece(site: Path):
    status, headers, body = call(StaticFiles(site), "/hello.txt")
    assert (status, headers["Content-Length"], body) == ("200 OK", "6", [b"hello\n"])


# -- directories ---------------------------------------------------------------------------


def test_index_html_is_served_for_a_directory(url: str):
    status, headers, body = fetch(url + "/docs/")
    assert (status, body) == (200, b"<h1>docs index</h1>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_index_can_be_disabled_or_renamed(wsgi_server, site: Path):
    listing = fetch(wsgi_server(StaticFiles(site, index=None)) + "/docs/")[2]
    assert b'href="index.html"' in listing
    renamed = fetch(wsgi_server(StaticFiles(site, index="other.txt")) + "/docs/")[2]
    assert renamed == b"other"


def test_listing_can_be_turned_off(wsgi_server, site: Path):
    base = wsgi_server(StaticFiles(site, listing=False))
    assert fetch(base + "/files/")[0] == 404
    assert fetch(base + "/docs/")[0] == 200  # an index still works


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.texts: list[str] = []
        self._in_a = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])
            self._in_a = True
        if tag in ("script", "img", "iframe"):
            raise AssertionError(f"injected <{tag}> in the listing")

    def handle_endtag(self, tag):
        self._in_a = False

    def handle_data(self, data):
        if self._in_a:
            self.texts.append(data)


def test_listing_escapes_hostile_names_and_every_link_works(url: str):
    status, headers, body = fetch(url + "/files/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    page = body.decode()
    assert "<script>" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "a&amp;b" in page and "&lt;script&gt;" in page and "&quot;&gt;&lt;img" in page
    links = Links()
    links.feed(page)
    for name in HOSTILE_NAMES:
        assert name in links.texts  # shown as text, exactly, once unescaped
    for href in links.hrefs:
        assert not href.lower().startswith("javascript:")
        assert '"' not in href and "<" not in href
        if href == "../":
            continue
        status, _, content = fetch(urljoin(url + "/files/", href))
        assert status == 200, href
        if not href.endswith("/"):
            shown = links.texts[links.hrefs.index(href)]
            assert content == (shown.encode() if "\ufffd" not in shown else b"not utf-8 name")


def test_listing_is_sorted_with_sizes_and_dates(url: str):
    page = fetch(url + "/files/")[2].decode()
    links = Links()
    links.feed(page)
    names = [t for t in links.texts if t != "../"]
    dirs = [n for n in names if n.endswith("/")]
    assert dirs == ["alpha/", "Zeta/"]
    assert names[:2] == dirs  # directories first
    files = names[2:]
    assert files == sorted(files, key=lambda n: (n.casefold(), n))
    assert "latin1-caf\ufffd.txt" in files  # undecodable byte shown as U+FFFD
    row = page[page.index("it&#x27;s here.txt</a>"):]
    assert row.startswith('it&#x27;s here.txt</a></td><td class="size">13 B<')  # its length
    assert time.strftime("%Y-%m-%d", time.gmtime()) in page


def test_listing_title_does_not_reflect_the_query(url: str):
    answer = raw_request(url, "/files/?q=<script>alert(1)</script>")
    assert answer.status == 200
    assert b"<script>" not in answer.body
    assert b"<title>Index of /files/</title>" in answer.body


def test_listing_of_the_root_has_no_parent_link(url: str):
    page = fetch(url + "/")[2]
    assert b'href="../"' not in page
    assert b'href="../"' in fetch(url + "/files/")[2]


def test_render_listing_escapes_the_path_itself():
    page = render_listing("/<b>&\udce9/", [], parent=True)
    assert b"Index of /&lt;b&gt;&amp;\xef\xbf\xbd/" in page


# -- redirects (S04, S05, S07) -------------------------------------------------------------


def test_directory_without_slash_redirects_keeping_the_query(url: str):
    answer = raw_request(url, "/docs?x=1&y=%20z")
    assert answer.status == 301
    assert answer.header("Location") == "/docs/?x=1&y=%20z"


def test_redirect_location_is_never_protocol_relative(url: str):
    for target in ("//evil.example/..%2fdocs", "//evil.example/%2e%2e/docs",
                   "/\\evil.example/%2e%2e%2fdocs", "///evil.example/../docs"):
        answer = raw_request(url, target)
        location = answer.header("Location")
        if answer.status == 301:
            assert location == "/docs/", target
        else:
            assert answer.status == 404 and location is None, target


def test_redirect_location_stays_percent_encoded(url: str):
    answer = raw_request(url, "/evil%0d%0aX-Injected:%201?a=%0d%0a")
    assert answer.status == 301
    assert answer.header("X-Injected") is None
    assert answer.header("Location") == "/evil%0D%0AX-Injected:%201/?a=%0d%0a"
    assert b"\r\nX-Injected" not in answer.raw.partition(b"\r\n\r\n")[0]


def test_redirect_under_a_mount_point_keeps_script_name(site: Path):
    status, headers, _ = call(StaticFiles(site), "/docs", SCRIPT_NAME="/static",
                              QUERY_STRING="v=1")
    assert status.startswith("301")
    assert headers["Location"] == "/static/docs/?v=1"
    status, headers, _ = call(StaticFiles(site), "", SCRIPT_NAME="/static")
    assert headers["Location"] == "/static/"


def test_curl_follows_the_redirect_to_the_index(url: str):
    answer = curl("-L", url + "/docs")
    assert answer.status == 301  # curl -i prints both responses: the redirect, then the index
    assert b"\r\n\r\nHTTP/1.1 200 OK\r\n" in answer.raw
    assert answer.raw.endswith(b"<h1>docs index</h1>")


# -- methods (S07) -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO"])
def test_other_methods_are_not_allowed(url: str, method: str):
    answer = raw_request(url, "/hello.txt", method=method)
    assert answer.status in (405, 501)
    if answer.status == 405:
        assert answer.header("Allow") == "GET, HEAD"


# -- conditional requests ------------------------------------------------------------------


def test_if_none_match_gives_304(url: str):
    etag = fetch(url + "/hello.txt")[1]["ETag"]
    status, headers, body = fetch(url + "/hello.txt", If_None_Match=etag)
    assert (status, body) == (304, b"")
    assert headers["ETag"] == etag
    assert fetch(url + "/hello.txt", If_None_Match=f'"other", W/{etag}')[0] == 304
    assert fetch(url + "/hello.txt", If_None_Match="*")[0] == 304
    assert fetch(url + "/hello.txt", If_None_Match='"other"')[0] == 200


def test_if_modified_since_gives_304(url: str):
    modified = fetch(url + "/hello.txt")[1]["Last-Modified"]
    assert fetch(url + "/hello.txt", If_Modified_Since=modified)[0] == 304
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    assert fetch(url + "/hello.txt", If_Modified_Since=later)[0] == 304
    assert fetch(url + "/hello.txt", If_Modified_Since="Sat, 01 Jan 2000 00:00:00 GMT")[0] == 200
    assert fetch(url + "/hello.txt", If_Modified_Since="not a date")[0] == 200


def test_if_none_match_wins_over_if_modified_since(url: str):
    modified = fetch(url + "/hello.txt")[1]["Last-Modified"]
    status, _, body = fetch(url + "/hello.txt", If_None_Match='"stale"',
                            If_Modified_Since=modified)
    assert (status, body) == (200, b"hello\n")


def test_curl_conditional_get(url: str, tmp_path: Path):
    etag_file = tmp_path / "etag"
    first = curl("--etag-save", str(etag_file), url + "/hello.txt")
    second = curl("--etag-compare", str(etag_file), url + "/hello.txt")
    assert (first.status, second.status) == (200, 304)
    assert curl("-z", first.header("Last-Modified"), url + "/hello.txt").status == 304


def test_if_match_and_if_unmodified_since_give_412(url: str):
    etag = fetch(url + "/hello.txt")[1]["ETag"]
    assert fetch(url + "/hello.txt", If_Match=etag)[0] == 200
    assert fetch(url + "/hello.txt", If_Match='"other"')[0] == 412
    assert fetch(url + "/hello.txt", If_Match=f"W/{etag}")[0] == 412  # strong comparison
    past = "Sat, 01 Jan 2000 00:00:00 GMT"
    assert fetch(url + "/hello.txt", If_Unmodified_Since=past)[0] == 412
    assert fetch(url + "/hello.txt", If_Unmodified_Since="garbage")[0] == 200


def test_private_directories_are_never_served_even_through_a_symlink(tmp_path, wsgi_server):
    """A CGI directory's scripts must not be readable as files, whatever the path."""
    import os
    import urllib.error
    import urllib.request

    from wirekit.http.static import StaticFiles

    root = tmp_path / "www"
    (root / "cgi-bin").mkdir(parents=True)
    (root / "cgi-bin" / "s.py").write_text("# SECRET SOURCE\n")
    (root / "public.txt").write_text("public\n")
    os.symlink(root / "cgi-bin", root / "alias")
    url = wsgi_server(StaticFiles(root, private=[root / "cgi-bin"]))
    assert urllib.request.urlopen(url + "/public.txt").read() == b"public\n"
    for path in ("/cgi-bin/s.py", "/alias/s.py", "/alias/", "/cgi-bin/"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url + path)
        assert caught.value.code == 404 and b"SECRET" not in caught.value.read()


def test_the_small_file_cache_never_serves_stale_or_unchecked_files(tmp_path, wsgi_server):
    """Small files are kept in memory but re-validated by lstat on every request."""
    import os
    import shutil
    import urllib.error
    import urllib.request

    from wirekit.http.static import StaticFiles

    root, outside = tmp_path / "www", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    (outside / "f.txt").write_text("SECRET\n")
    target = root / "d" / "f.txt"
    target.write_text("first\n")
    url = wsgi_server(StaticFiles(root))

    def get() -> bytes | int:
        try:
            return urllib.request.urlopen(url + "/d/f.txt").read()
        except urllib.error.HTTPError as exc:
            return exc.code

    assert get() == get() == b"first\n"  # the second one from the cache
    target.write_text("other\n")  # same size, new content
    os.utime(target, ns=(1, 1))
    assert get() == b"other\n"
    shutil.rmtree(root / "d")
    os.symlink(outside, root / "d")  # the directory on the way becomes a link outside
    assert get() == 404

