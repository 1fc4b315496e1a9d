"""The embedded demo site, driven by real clients over loopback (urllib, curl, the CLI).

Every link on the home page must resolve, every command it suggests must exist, the subscribe
form must go through the CGI script with its values escaped, and an upload must come back with
the right SHA-256.
"""

from __future__ import annotations

import hashlib
import html
import re
import shlex
import signal
import smtplib
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from wirekit.demo import SITE, make_demo_app
from wirekit.testing import Catcher, catch_mail, serve_wsgi

from ..http.static_support import curl, raw_request

VOID = {"meta", "link", "input", "br", "img", "hr"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_wsgi(make_demo_app()) as base:
        yield base


def fetch(url: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, data=data, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


class Page(HTMLParser):
    """Collects links and forms, and checks that elements nest and close properly."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.actions: list[tuple[str, str]] = []
        self.pre: list[str] = []
        self.stack: list[str] = []
        self.doctype = False
        self._in_pre = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("a", "link") and "href" in attributes:
            self.links.append(attributes["href"])
        if tag == "form":
            self.actions.append((attributes["action"], attributes.get("method", "GET")))
        if tag == "pre":
            self._in_pre = True
            self.pre.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        if self._in_pre:
            self.pre[-1] += data

    def check(self) -> Page:
        self.close()
        assert self.doctype, "missing <!DOCTYPE html>"
        assert not self.stack, f"unclosed elements: {self.stack}"
        return self


def parse_page(body: bytes) -> Page:
    page = Page()
    page.feed(body.decode("utf-8"))
    return page.check()


def test_home_page_is_valid_html(url: str):
    status, headers, body = fetch(url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<title>wirekit demo</title>" in body
    parse_page(body)


def test_every_link_on_the_home_page_resolves(url: str):
    page = parse_page(fetch(url + "/")[2])
    assert {"subscribe.html", "upload", "hello", "files/", "style.css", "mail/"} <= set(page.links)
    for link in page.links:
        target = urllib.parse.urljoin(url + "/", link)
        assert target.startswith(url)  # every link stays on the site
        status, _, body = fetch(target)
        assert status == 200, link
        if link.endswith((".html", "/", "upload")):
            parse_page(body)


def test_every_page_links_back_and_their_links_resolve(url: str):
    for path in ("/subscribe.html", "/upload", "/files/", "/mail/"):
        page = parse_page(fetch(url + path)[2])
        for link in page.links:
            status, _, _ = fetch(urllib.parse.urljoin(url + path, link))
            assert status == 200, (path, link)


def test_commands_suggested_on_the_home_page_exist(url: str):
    page = parse_page(fetch(url + "/")[2])
    # Python snippets (a block starting with an import) are run by test_demo_commands.py.
    text = "\n".join(block for block in page.pre if not block.startswith(("from ", "import ")))
    suggested = set(re.findall(r"^wirekit ([a-z]+)", text, re.M))
    assert {"parse", "connect", "serve", "mail"} <= suggested
    result = subprocess.run([sys.executable, "-m", "wirekit", "--help"], capture_output=True,
                            text=True, timeout=30, check=True)
    available = set(re.findall(r"^  ([a-z]+)  ", result.stdout, re.M))
    assert suggested <= available, suggested - available
    assert set(re.findall(r"^(\S+) ", text, re.M)) <= {"wirekit", "curl", "sha256sum", "GET",
                                                       "(then"}


def test_suggested_wirekit_parse_commands_work(url: str):
    links = subprocess.run([sys.executable, "-m", "wirekit", "parse", url + "/", "--links"],
                           capture_output=True, text=True, timeout=30, check=True).stdout
    assert url + "/subscribe.html" in links.split()
    forms = subprocess.run([sys.executable, "-m", "wirekit", "parse", url + "/subscribe.html",
                            "--forms"], capture_output=True, text=True, timeout=30,
                           check=True).stdout
    assert '"action": "' + url + '/cgi-bin/subscribe.py"' in forms


def test_hello_app_is_mounted(url: str):
    status, headers, body = fetch(url + "/hello")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.startswith(b"Hello World\n")
    assert fetch(url + "/hello/world")[2] == (b"Hello World\nYou requested :/world\n"
                                              b"Mounted at :/hello\n")
    assert fetch(url + "/helloworld")[0] == 404  # a prefix is a whole segment


# -- the subscribe form through CGI --------------------------------------------------------


def test_subscribe_form_is_the_course_form(url: str):
    page = parse_page(fetch(url + "/subscribe.html")[2])
    assert page.actions == [("cgi-bin/subscribe.py", "POST")]
    body = fetch(url + "/subscribe.html")[2]
    for field in (b'name="name"', b'name="email"', b'name="submit-button"'):
        assert field in body


def test_subscribe_post_runs_the_cgi_script_and_escapes_values(url: str):
    name = '<script>alert("x")</script> & Co'
    email = '"><img src=x onerror=alert(1)>@example.com'
    form = urllib.parse.urlencode({"name": name, "email": email,
                                   "submit-button": "Subscribe"}).encode()
    status, headers, body = fetch(url + "/cgi-bin/subscribe.py", data=form)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert f"Hello {html.escape(name)}, your email is {html.escape(email)}" in text
    assert "<script>" not in text and "<img" not in text
    parse_page(body)


def test_subscribe_with_curl_and_utf8(url: str):
    answer = curl("--data-urlencode", "name=José Ñandú", "-d", "email=jose@example.com",
                  url + "/cgi-bin/subscribe.py")
    assert answer.status == 200
    assert "Hello José Ñandú, your email is jose@example.com".encode() in answer.body


def test_subscribe_without_fields_uses_the_status_header(url: str):
    status, _, body = fetch(url + "/cgi-bin/subscribe.py", data=b"name=&email=")
    assert status == 400
    assert b"Please fill in the form" in body


def test_the_script_source_is_never_sent(url: str):
    for target in ("/cgi-bin/subscribe.py", "/cgi-bin/", "/CGI-BIN/subscribe.py",
                   "/cgi-bin/./subscribe.py", "/cgi-bin/subscribe.py/"):
        answer = raw_request(url, target)
        assert b"parse_cgi_form" not in answer.body, target
        assert b"import " not in answer.body, target


# -- the upload form -----------------------------------------------------------------------


def test_upload_form_page(url: str):
    page = parse_page(fetch(url + "/upload")[2])
    assert page.actions == [("upload", "POST")]


@pytest.mark.parametrize("size", [0, 1000, 3 * 1024 * 1024 + 17])  # the last one spools
def test_upload_returns_the_sha256(url: str, tmp_path: Path, size: int):
    content = (b"wirekit\x00\xff" * (size // 9 + 1))[:size]
    upload = tmp_path / "data.bin"
    upload.write_bytes(content)
    answer = curl("-F", f"file=@{upload}", url + "/upload")
    assert answer.status == 200
    row = (f"<tr><td>data.bin</td><td>{size}</td>"
           f"<td><code>{hashlib.sha256(content).hexdigest()}</code></td></tr>")
    assert row.encode() in answer.body
    parse_page(answer.body)


def test_upload_of_several_files_with_a_hostile_name(url: str, tmp_path: Path):
    (tmp_path / "a.txt").write_bytes(b"A")
    (tmp_path / "b.txt").write_bytes(b"BB")
    answer = curl("-F", f"file=@{tmp_path / 'a.txt'};filename=<b>x</b>.txt",
                  "-F", f"file=@{tmp_path / 'b.txt'}", url + "/upload")
    assert answer.status == 200
    assert b"<b>x" not in answer.body
    assert b"&lt;b&gt;x&lt;/b&gt;.txt</td><td>1</td>" in answer.body
    assert hashlib.sha256(b"BB").hexdigest().encode() in answer.body


def test_upload_without_a_file(url: str):
    answer = curl("-F", "file=@/dev/null;filename=", url + "/upload")
    assert answer.status == 200
    assert b"No file was chosen" in answer.body


def test_upload_of_a_non_form_is_refused_cleanly(url: str):
    status, _, body = fetch(url + "/upload", data=b"--x\r\nnot a form")
    assert status == 200  # urlencoded without a file field: nothing chosen
    assert b"No file was chosen" in body
    broken = raw_request(url, "/upload", method="POST", body=b"garbage",
                         headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert broken.status == 400
    assert b"Upload refused" in broken.body


def test_upload_other_methods(url: str):
    answer = raw_request(url, "/upload", method="PUT", body=b"x")
    assert answer.status == 405
    assert answer.header("Allow") == "GET, HEAD, POST"


# -- static parts --------------------------------------------------------------------------


def test_static_assets_and_listing(url: str):
    status, headers, _ = fetch(url + "/style.css")
    assert (status, headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    listing = fetch(url + "/files/")[2]
    assert b'href="alphabet.txt"' in listing and b'href="README.txt"' in listing
    ranged = curl("-r", "0-3", url + "/files/alphabet.txt")
    assert (ranged.status, ranged.body) == (206, b"000 ")


def test_demo_site_files_are_package_data():
    names = {p.relative_to(SITE).as_posix() for p in SITE.rglob("*") if p.is_file()}
    assert {"index.html", "subscribe.html", "style.css", "cgi-bin/subscribe.py",
            "files/README.txt", "files/alphabet.txt", "favicon.ico"} <= names
    assert SITE.parts[-3:] == ("wirekit", "demo", "site")  # inside the package: in the wheel


def test_the_range_hints_in_the_files_readme_do_what_they_say(url: str):
    # The two-range hint once named ranges the server merges into one (a plain 206).
    readme = (SITE / "files" / "README.txt").read_text()
    hints = re.findall(r"curl (?:-i )?-r (\S+) http://127\.0\.0\.1:8000(\S+)\s+# ([^\n]+)", readme)
    assert hints
    for ranges, path, says in hints:
        answer = curl("-r", ranges, url + path)
        assert answer.status == 206
        multipart = (answer.header("content-type") or "").startswith("multipart/byteranges")
        assert multipart == ("multipart" in says), (ranges, says)


def test_every_page_is_styled_for_phones_and_dark_mode_with_an_icon(url: str):
    status, _, icon = fetch(url + "/favicon.ico")
    assert status == 200 and icon[:4] == b"\x00\x00\x01\x00"  # an ICO file, not a 404
    pages = [fetch(url + path) for path in ("/", "/upload", "/files/", "/missing")]
    pages.append(fetch(url + "/cgi-bin/subscribe.py", b"name=Ann&email=a%40b.c"))
    for status, _, body in pages:
        assert b'name="viewport"' in body, (status, body[:200])
        assert b"color-scheme" in body or b"style.css" in body  # dark-aware either way
    assert pages[3][0] == 404


def test_a_too_large_upload_gets_a_page_that_states_the_limit(url: str):
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n"
            "\r\n").encode()
    body = head + b"x" * (65 << 20) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "/upload", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    page = caught.value.read()
    assert caught.value.code == 413 and b"64 MiB" in page and b"style.css" in page


# -- the inbox of the demo's mail catcher ------------------------------------------------------

@pytest.fixture(scope="module")
def mail_demo() -> Iterator[tuple[str, Catcher]]:
    with catch_mail() as catcher, serve_wsgi(make_demo_app(
            mail=catcher.server.store, smtp=f"{catcher.host}:{catcher.port}")) as base:
        yield base, catcher


def test_the_inbox_says_where_to_send_and_the_suggestion_delivers(mail_demo):
    """The command the inbox page shows, run as printed, lands in the inbox."""
    url, catcher = mail_demo
    page = parse_page(fetch(url + "/mail/")[2])
    [command] = [line for text in page.pre for line in text.splitlines()
                 if line.startswith("wirekit mail send")]
    assert f"--server {catcher.host}:{catcher.port}" in command
    catcher.clear()
    subprocess.run([sys.executable, "-m", "wirekit", *shlex.split(command)[1:]],
                   capture_output=True, timeout=30, check=True)
    [caught] = catcher.messages
    body = fetch(url + "/mail/")[2].decode()
    assert f'href="{caught.key}">Hello</a>' in body and "you@example.org" in body


def test_a_caught_message_is_shown_escaped_never_rendered(mail_demo):
    """smtplib, as slide 2-32 sends it; the HTML part is shown as source, the subject and
    body escaped, and the attachment listed."""
    url, catcher = mail_demo
    message = EmailMessage()
    message["From"], message["To"] = "dave@example.org", "team@example.org"
    message["Subject"] = "Caf\u00e9 <script>alert(1)</script>"
    message.set_content("plain text <b>here</b>")
    message.add_alternative("<p onclick=x>html</p>", subtype="html")
    message.add_attachment(b"\x00" * 300, maintype="application", subtype="octet-stream",
                           filename="data.bin")
    with smtplib.SMTP(catcher.host, catcher.port, timeout=20) as smtp:
        smtp.send_message(message)
    caught = next(m for m in catcher.messages if m.sender == "dave@example.org")
    status, headers, body = fetch(f"{url}/mail/{caught.key}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    text = body.decode()
    parse_page(body)
    assert "<script>" not in text and "Caf\u00e9 &lt;script&gt;" in text
    assert "plain text &lt;b&gt;here&lt;/b&gt;" in text and "onclick" not in text
    assert "data.bin (application/octet-stream, 300 bytes)" in text
    status, headers, raw = fetch(f"{url}/mail/{caught.key}?raw")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert raw == caught.raw and raw.startswith(b"Return-Path: <dave@example.org>")


@pytest.mark.parametrize("path", ["/mail/nope", "/mail/..%2F..%2Fetc%2Fpasswd", "/mail/1"])
def test_unknown_messages_are_404_and_prefixes_are_not_enough(mail_demo, path: str):
    url, catcher = mail_demo
    assert catcher.messages  # "1" is a prefix of every key caught this century
    status, _, body = fetch(url + path)
    assert status == 404 and b"Back to the inbox" in body


def test_the_inbox_is_read_only_and_redirects_to_its_slash(mail_demo):
    url, _ = mail_demo
    assert fetch(url + "/mail/", data=b"x=1")[0] == 405
    request = urllib.request.Request(url + "/mail", method="GET")
    with urllib.request.urlopen(request, timeout=20) as response:  # follows the 301
        assert response.url == url + "/mail/"


def test_without_a_catcher_the_inbox_says_how_to_start_one(url: str):
    status, _, body = fetch(url + "/mail/")
    assert status == 200 and b"No mail catcher runs beside this site" in body


def test_wirekit_serve_starts_the_catcher_and_names_it(tmp_path: Path):
    """`wirekit serve` with no arguments: the first line names the catcher's address, mail
    sent there shows on /mail/, and Ctrl-C stops both."""
    server = subprocess.Popen([sys.executable, "-m", "wirekit", "serve", "-p", "0",
                               "--mail-port", "0", "--no-access-log"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        smtp = re.search(r"mail catcher on 127\.0\.0\.1:(\d+)", line)
        web = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
        assert smtp and web, line
        with smtplib.SMTP("127.0.0.1", int(smtp.group(1)), timeout=20) as client:
            client.sendmail("a@example.org", ["b@example.org"],
                            "Subject: from the CLI test\r\n\r\nhello\r\n")
        assert b"from the CLI test" in fetch(web.group(1) + "/mail/")[2]
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(30) == 0
