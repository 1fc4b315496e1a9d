"""Cookies: the login flow, the stdlib's rules kept (K04), public suffixes, IP hosts, cookies
given to a session, and cookie files exchanged with the real curl in both directions."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from wirekit.errors import ConfigError
from wirekit.http.client import Session
from wirekit.http.client.cookies import (
    HEADER,
    SessionJar,
    cookie_header,
    cookie_jar,
    extract_cookies,
    is_public_suffix,
    new_jar,
    save_jar,
)
from wirekit.http.client.urls import parse_url
from wirekit.proto.http import Headers

from .apps import echo_app, read_body, routes

CURL = shutil.which("curl") or "/usr/bin/curl"
needs_curl = pytest.mark.skipif(not os.path.exists(CURL), reason="curl is not installed")


def received(environ: dict[str, Any]) -> dict[str, str]:
    return dict(c.strip().split("=", 1) for c in environ.get("HTTP_COOKIE", "").split(";")
                if "=" in c)


def login_site() -> Callable[..., list[bytes]]:
    """The course's login flow: POST /login sets an HttpOnly session cookie ``sid`` and a
    persistent ``theme``; /private needs ``sid`` and says which ``theme`` came with it."""
    sessions: dict[str, str] = {}

    def login(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        form = parse_qs(read_body(environ).decode())
        if form.get("user") == ["ann"] and form.get("password") == ["secret"]:
            token = os.urandom(8).hex()
            sessions[token] = "ann"
            start_response("302 Found", [("Location", "/private"),
                                         ("Set-Cookie", f"sid={token}; Path=/; HttpOnly"),
                                         ("Set-Cookie", "theme=dark; Path=/; Max-Age=86400")])
            return [b""]
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"bad login"]

    def private(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        cookies = received(environ)
        user = sessions.get(cookies.get("sid", ""))
        if user is None:
            start_response("302 Found", [("Location", "/login")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"private page of {user}, theme {cookies.get('theme')}".encode()]

    return routes({"/login": login, "/private": private})


def curl(*args: str) -> str:
    """Run the real curl (no config file, no proxy) and return what it printed."""
    done = subprocess.run([CURL, "-q", "-sS", "--noproxy", "*", "--max-time", "10", *args],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


# -- the login flow --------------------------------------------------------------------------


def test_login_with_cookies_then_fetch_a_private_page(wsgi_server):
    url = wsgi_server(login_site())
    with Session() as session:
        assert session.get(url + "/private", allow_redirects=False).status == 302
        page = session.post(url + "/login", data={"user": "ann", "password": "secret"})
        assert page.text == "private page of ann, theme dark"  # followed the 302, cookies sent
        assert [r.status for r in page.history] == [302]
        assert session.get(url + "/private").text == "private page of ann, theme dark"
        assert {c.name for c in session.cookies} == {"sid", "theme"}
    with Session() as other:  # another session has no cookie
        assert other.get(url + "/private", allow_redirects=False).status == 302


def test_cookies_persist_in_a_file(wsgi_server, tmp_path):
    url = wsgi_server(login_site())
    jar_file = tmp_path / "cookies.txt"
    with Session(cookie_file=jar_file) as session:
        session.post(url + "/login", data={"user": "ann", "password": "secret"})
    assert stat.S_IMODE(jar_file.stat().st_mode) == 0o600
    with Session(cookie_file=jar_file) as session:  # the session cookie survived too
        assert session.get(url + "/private").text == "private page of ann, theme dark"


def test_per_call_cookies_and_a_session_without_cookies(wsgi_server):
    def setter(environ, start_response):
        start_response("200 OK", [("Set-Cookie", "a=1; Path=/")])
        return [b""]

    url = wsgi_server(routes({"/set": setter, "/echo": echo_app}))
    with Session(cookies=False) as session:
        session.get(url + "/set")
        assert "cookie" not in session.get(url + "/echo").json()["headers"]
        sent = session.get(url + "/echo", cookies={"x": "1", "y": "2"}).json()
        assert sent["headers"]["cookie"] == "x=1; y=2"
    with Session() as session:
        session.get(url + "/set")
        both = session.get(url + "/echo", cookies={"x": "1"}).json()["headers"]["cookie"]
        assert both == "x=1; a=1"


def test_an_empty_jar_of_ones_own_is_used(wsgi_server):
    # An empty CookieJar is falsy: it used to be taken for cookies=False and dropped.
    def setter(environ, start_response):
        start_response("200 OK", [("Set-Cookie", "a=1; Path=/")])
        return [b""]

    jar = CookieJar()
    with Session(cookies=jar) as session:
        session.get(wsgi_server(setter))
        assert session.cookies is jar and [c.name for c in jar] == ["a"]


# -- the stdlib's rules, kept (SECURITY.md K04) ------------------------------------------------


def test_cookie_rules_from_a_real_response(wsgi_server):
    # Foreign and public-suffix domains refused, Secure not sent over http, paths, expiry.
    def setter(environ, start_response):
        start_response("200 OK", [
            ("Set-Cookie", "evil=1; Domain=.evil.com; Path=/"),
            ("Set-Cookie", "tld=1; Domain=.com; Path=/"),
            ("Set-Cookie", "secure=1; Secure; Path=/"),
            ("Set-Cookie", "scoped=1; Path=/admin"),
            ("Set-Cookie", "plain=1; Path=/"),
            ("Set-Cookie", "old=1; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        ])  # fmt: skip
        return [b""]

    url = wsgi_server(routes({"/set": setter, "/echo": echo_app, "/admin/echo": echo_app}))
    with Session() as session:
        session.get(url + "/set")
        assert session.get(url + "/echo").json()["headers"]["cookie"] == "plain=1"
        admin = session.get(url + "/admin/echo").json()["headers"]["cookie"]
        assert sorted(admin.split("; ")) == ["plain=1", "scoped=1"]
        assert {c.name for c in session.cookies} == {"secure", "scoped", "plain"}


def test_cookie_domain_matching_is_by_label():
    # CVE-2018-20852: a cookie for example.com must not go to pythonexample.com.
    jar = new_jar()
    extract_cookies(jar, parse_url("http://www.example.com/"),
                    Headers([("Set-Cookie", "k=v; Domain=example.com; Path=/")]))
    assert cookie_header(jar, parse_url("http://example.com/")) == "k=v"
    assert cookie_header(jar, parse_url("http://a.example.com/")) == "k=v"
    assert cookie_header(jar, parse_url("http://pythonexample.com/")) is None
    extract_cookies(jar, parse_url("http://localhost/"),
                    Headers([("Set-Cookie", "x=1; Domain=.localhost.evil.com")]))
    assert all(c.name != "x" for c in jar)


def set_cookies(jar: CookieJar, url: str, *values: str) -> None:
    extract_cookies(jar, parse_url(url), Headers([("Set-Cookie", v) for v in values]))


def test_a_site_cannot_delete_another_sites_cookie():
    # The stdlib deleted a cookie for an expired Set-Cookie before asking the policy.
    jar = new_jar()
    set_cookies(jar, "http://bank.example/", "sid=secret; Domain=bank.example; Path=/")
    set_cookies(jar, "http://evil.example/",
                "sid=; Domain=bank.example; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "sid=; Domain=bank.example; Path=/; Max-Age=0")
    assert cookie_header(jar, parse_url("http://bank.example/")) == "sid=secret"
    set_cookies(jar, "http://bank.example/", "sid=; Domain=bank.example; Path=/; Max-Age=0")
    assert cookie_header(jar, parse_url("http://bank.example/")) is None  # its own: deleted


def test_prefixes_and_control_bytes():
    jar = new_jar()
    set_cookies(jar, "http://example.com/", "__Host-a=1; Secure; Path=/",  # not over http
                "__Secure-b=1", "c=x\x01y; Path=/", "ok=1; Path=/")
    set_cookies(jar, "https://example.com/", "__Host-d=1; Secure; Path=/",
                "__Host-e=1; Secure; Path=/; Domain=example.com", "__Secure-f=1; Secure")
    assert sorted(c.name for c in jar) == ["__Host-d", "__Secure-f", "ok"]


# -- public suffixes, with a session talking to named hosts ------------------------------------


@pytest.fixture
def named_hosts() -> Iterator[Callable[[dict[str, list[str]]], tuple[str, dict[str, list]]]]:
    """``named_hosts({"host/path": [set-cookie, ...]}) -> (proxy_url, seen)``: a loopback
    server that plays every origin. The session sends it absolute-form requests, as to a
    forward proxy, so URLs keep their real host names and no DNS is asked; ``seen[host]``
    lists the ``Cookie`` field (or ``None``) of each request for that host."""
    listeners: list[socket.socket] = []

    def start(answers: dict[str, list[str]]) -> tuple[str, dict[str, list]]:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        seen: dict[str, list] = defaultdict(list)

        def serve(conn: socket.socket) -> None:
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
                target = urlsplit(lines[0].split(" ")[1])
                cookie = [v.strip() for n, _, v in (line.partition(":") for line in lines[1:])
                          if n.lower() == "cookie"]
                seen[target.hostname].append(cookie[0] if cookie else None)
                fields = "".join(f"Set-Cookie: {value}\r\n"
                                 for value in answers.get(f"{target.hostname}{target.path}", []))
                conn.sendall(f"HTTP/1.1 200 OK\r\n{fields}Content-Length: 0\r\n"
                             "Connection: close\r\n\r\n".encode())

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}", seen

    yield start
    for listener in listeners:
        listener.close()


def test_a_public_suffix_domain_is_refused(named_hosts):
    proxy, seen = named_hosts({
        "www.example.co.uk/set": ["uk=1; Domain=co.uk; Path=/", "site=1; Domain=example.co.uk",
                                  "host=1; Path=/"],
        "foo.github.io/set": ["gh=1; Domain=github.io; Path=/", "own=1; Path=/"],
        "github.io/set": ["apex=1; Domain=github.io; Path=/"],
    })  # fmt: skip
    with Session(proxies={"http": proxy}) as session:
        for host in ("www.example.co.uk", "foo.github.io", "github.io"):
            session.get(f"http://{host}/set")
        for host in ("other.co.uk", "a.example.co.uk", "www.example.co.uk", "a.www.example.co.uk",
                     "bar.github.io", "foo.github.io", "github.io", "x.github.io"):
            session.get(f"http://{host}/")
    last = {host: cookies[-1] for host, cookies in seen.items()}
    assert last["other.co.uk"] is None  # Domain=co.uk refused
    assert last["a.example.co.uk"] == "site=1"
    assert sorted(last["www.example.co.uk"].split("; ")) == ["host=1", "site=1"]
    assert last["a.www.example.co.uk"] == "site=1"  # the host-only cookie stays on its host
    assert last["bar.github.io"] is None  # Domain=github.io refused from foo.github.io
    assert last["foo.github.io"] == "own=1"
    assert last["github.io"] == "apex=1"  # github.io naming itself: host-only...
    assert last["x.github.io"] is None  # ...so not for its subdomains


def test_the_public_suffix_list_is_used():
    assert is_public_suffix("co.uk") and is_public_suffix(".github.io")
    assert is_public_suffix("com") and is_public_suffix("localhost")  # the "*" rule
    assert not is_public_suffix("example.co.uk") and not is_public_suffix("foo.github.io")


# -- IP hosts ---------------------------------------------------------------------------------


def test_an_ip_host_gets_no_domain_cookies(wsgi_server):
    # 127.0.0.1 and 127.1.0.1 are both loopback on Linux: two "sites" a suffix apart.
    def setter(environ, start_response):
        start_response("200 OK", [("Set-Cookie", "wide=1; Domain=0.1; Path=/"),
                                  ("Set-Cookie", "self=1; Domain=127.0.0.1; Path=/"),
                                  ("Set-Cookie", "own=1; Path=/")])
        return [b""]

    first = wsgi_server(routes({"/set": setter, "/echo": echo_app}))
    try:
        second = wsgi_server(echo_app, host="127.1.0.1")
    except OSError as exc:  # pragma: no cover - a system without 127/8 on loopback
        pytest.skip(f"cannot serve on 127.1.0.1: {exc}")
    with Session() as session:
        session.get(first + "/set")
        assert {c.name for c in session.cookies} == {"self", "own"}  # Domain=0.1 refused
        mine = session.get(first + "/echo").json()["headers"]["cookie"]
        assert sorted(mine.split("; ")) == ["own=1", "self=1"]
        assert "cookie" not in session.get(second + "/").json()["headers"]


# -- cookies given to a session ---------------------------------------------------------------


def test_a_mapping_is_sent_to_every_request_until_a_server_replaces_it(wsgi_server):
    def setter(environ, start_response):
        start_response("200 OK", [("Set-Cookie", "a=server; Path=/")])
        return [b""]

    def deleter(environ, start_response):
        start_response("200 OK", [("Set-Cookie", "c=gone; Path=/; Max-Age=0")])
        return [b""]

    first = wsgi_server(routes({"/set": setter, "/delete": deleter, "/echo": echo_app}))
    second = wsgi_server(echo_app, host="127.1.0.1")  # another host
    with Session(cookies={"a": "b", "c": "d"}) as session:
        def sent(url: str) -> list[str]:
            return sorted(session.get(url).json()["headers"].get("cookie", "").split("; "))

        assert sent(first + "/echo") == ["a=b", "c=d"]
        assert sent(second + "/") == ["a=b", "c=d"]  # every host
        assert sent(first + "/echo?x=1") == ["a=b", "c=d"]  # every request
        session.get(first + "/set")  # the server's own "a" replaces the given one
        assert sent(first + "/echo") == ["a=server", "c=d"]
        assert sent(second + "/") == ["c=d"]
        session.get(first + "/delete")  # a server deleting "c" deletes the given "c"
        assert sent(first + "/echo") == ["a=server"]
        assert sent(second + "/") == [""]


@pytest.mark.parametrize("value", ["a=b", [("a", "b")], 1, b"a=b"])
def test_other_cookie_arguments_are_refused(value):
    with pytest.raises(ConfigError, match="mapping of cookie names"):
        Session(cookies=value)


@pytest.mark.parametrize("mapping", [{"a b": "1"}, {"": "1"}, {"a": "x;y"}, {"a": "x\r\nY: 1"},
                                     {"a": 1}])
def test_bad_cookie_names_and_values_are_refused(mapping):
    with pytest.raises(ConfigError, match="cookie"):
        Session(cookies=mapping)


def test_a_cookie_file_loads_its_own_jar(tmp_path):
    for cookies in ({"a": "b"}, CookieJar(), False):
        with pytest.raises(ConfigError, match="cookie_file"):
            Session(cookies=cookies, cookie_file=tmp_path / "jar.txt")


def test_given_cookies_are_not_written_to_a_file(tmp_path):
    jar = new_jar()
    jar.preset({"given": "1"})
    set_cookies(jar, "http://example.com/", "server=1; Path=/")
    save_jar(jar, tmp_path / "jar.txt")
    text = (tmp_path / "jar.txt").read_text()
    assert "\tserver\t1\n" in text and "given" not in text


# -- cookie files, with the real curl ----------------------------------------------------------

UNKNOWN = [
    "# my own note about these cookies",
    "not a cookie line at all",
    "127.0.0.1\tTRUE\t/\tFALSE\t0\tip_wide\tx",  # a domain cookie for an IP: refused, kept
    ".co.uk\tTRUE\t/\tFALSE\t0\tsuffix\tx",  # a public suffix: refused, kept
    "Set-Cookie: header=style",
]


@needs_curl
def test_a_curl_jar_is_used_and_written_back_for_curl(wsgi_server, tmp_path):
    url = wsgi_server(login_site())
    jar_file, saved = tmp_path / "jar.txt", tmp_path / "saved.txt"
    curl("-c", str(jar_file), "-d", "user=ann&password=secret", url + "/login")
    written = jar_file.read_text()
    assert "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t" in written  # curl's own format
    sid = next(c for c in cookie_jar(jar_file) if c.name == "sid")
    assert sid.expires is None and sid.discard  # expiry 0: a session cookie, not expired

    jar_file.write_text(written + "".join(line + "\n" for line in UNKNOWN))
    jar = cookie_jar(jar_file)
    assert jar.kept_lines == UNKNOWN
    assert {c.name for c in jar} == {"sid", "theme"}
    with Session(cookies=jar) as session:  # wirekit sends both of curl's cookies
        assert session.get(url + "/private").text == "private page of ann, theme dark"

    save_jar(jar, saved)  # another file: curl's -b FILE and -c FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text()
    assert text.startswith("# Netscape HTTP Cookie File\n")
    assert f"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t{sid.value}\n" in text
    assert "\n127.0.0.1\tFALSE\t/\tFALSE\t" in text and "\ttheme\tdark\n" in text
    assert all(f"\n{line}\n" in text for line in UNKNOWN)
    assert jar_file.read_text() == written + "".join(line + "\n" for line in UNKNOWN)

    assert curl("-b", str(saved), url + "/private") == "private page of ann, theme dark"
    save_jar(cookie_jar(saved))  # a second round trip changes nothing (one header, no copies)
    assert saved.read_text() == text


@needs_curl
def test_a_wirekit_login_is_used_by_curl(wsgi_server, tmp_path):
    url = wsgi_server(login_site())
    jar_file = tmp_path / "jar.txt"
    with Session(cookie_file=jar_file) as session:
        session.post(url + "/login", data={"user": "ann", "password": "secret"})
    text = jar_file.read_text()
    assert "\n#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t" in text
    assert curl("-b", str(jar_file), url + "/private") == "private page of ann, theme dark"
    # and curl, writing the same file back, keeps the login for wirekit
    curl("-b", str(jar_file), "-c", str(jar_file), url + "/private")
    with Session(cookie_file=jar_file) as session:
        assert session.get(url + "/private").text == "private page of ann, theme dark"


def test_a_missing_file_is_an_empty_jar_and_an_unreadable_one_an_error(tmp_path):
    jar = cookie_jar(tmp_path / "none.txt")
    assert isinstance(jar, SessionJar) and len(jar) == 0 and jar.filename == str(
        tmp_path / "none.txt")
    with pytest.raises(ConfigError, match="cannot read cookies from .*" + tmp_path.name):
        cookie_jar(tmp_path)  # a directory
    with pytest.raises(ConfigError, match="no file"):
        save_jar(new_jar())


def test_the_file_format_as_curl_reads_it(tmp_path):
    path = tmp_path / "jar.txt"
    path.write_bytes(
        b"example.com\tFALSE\t/\tFALSE\t0\tplain\t1\r\n"  # CRLF
        b"example.com\tFALSE\tFALSE\t0\told\t2\n"  # an old file without the path field
        b"example.com\tFALSE\t/\tFALSE\t0\tempty\n"  # no value
        b".example.com\tTRUE\t/\tTRUE\t0\tsafe\t3\n"  # a domain cookie, Secure
        b"example.com\tFALSE\t/\tFALSE\t1\tgone\t4\n"  # expired: dropped, as curl does
        b"#HttpOnly_example.com\tFALSE\t/\tFALSE\t0\tcookie\n"  # HttpOnly, no value
        b"example.com\tFALSE\t/\tFALSE\tsoon\tbad\t5\n"  # no number: kept
        b"example.com\tFALSE\t/\tFALSE\t0\t__Host-x\t6\n"  # a broken prefix: kept
        b"# caf\xe9 in Latin-1\n"  # not UTF-8: kept byte for byte
    )  # fmt: skip
    jar = cookie_jar(path)
    assert len(jar.kept_lines) == 3
    assert cookie_header(jar, parse_url("http://example.com/")) == "plain=1; old=2; empty=; cookie="
    assert cookie_header(jar, parse_url("https://www.example.com/")) == "safe=3"
    save_jar(jar)
    data = path.read_bytes()
    assert b"\n# caf\xe9 in Latin-1\n" in data and b"\tgone\t" not in data
    assert b"\n#HttpOnly_example.com\tFALSE\t/\tFALSE\t0\tcookie\t\n" in data
    assert b"\n.example.com\tTRUE\t/\tTRUE\t0\tsafe\t3\n" in data
    assert HEADER.encode() in data
