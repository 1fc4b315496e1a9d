"""Basic and Digest auth, the course's login-with-cookies flow, cookie rules (K04, K10)."""

from __future__ import annotations

import base64
import os
import stat
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import parse_qs

import pytest

from wirekit.http.client import BasicAuth, DigestAuth, HTTPError, Request, Session, urlopen
from wirekit.http.client.cookies import cookie_header, extract_cookies
from wirekit.http.client.urls import parse_url
from wirekit.proto.http import Headers

from .apps import echo_app, read_body, routes


def basic_app(user: str, password: str):
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("HTTP_AUTHORIZATION") == expected:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"hello {user}".encode()]
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="test"')])
        return [b"no"]

    return app


def test_basic_auth_per_session_per_call_and_in_the_url(wsgi_server):
    url = wsgi_server(basic_app("ann", "s3cret"))
    with Session(auth=("ann", "s3cret")) as session:
        assert session.get(url).text == "hello ann"
    with Session() as session:
        assert session.get(url, auth=BasicAuth("ann", "s3cret")).text == "hello ann"
        assert session.get(url.replace("//", "//ann:s3cret@")).text == "hello ann"
        with pytest.raises(HTTPError) as info:
            session.get(url, auth=("ann", "wrong"))
    assert info.value.status == 401 and info.value.headers["www-authenticate"]
    assert urlopen(Request(url, auth=("ann", "s3cret"))).read() == b"hello ann"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
def test_digest_auth(wsgi_server, digest_app, algorithm):
    app = digest_app("mufasa", "Circle of Life", algorithm)
    url = wsgi_server(app)
    with Session(auth=DigestAuth("mufasa", "Circle of Life")) as session:
        assert session.get(url + "/dir/index.html?x=1").text == "welcome mufasa nc=00000001"
        assert app.seen[0] is None and app.seen[1].startswith("Digest ")
        # The challenge is remembered: the next request answers it at once, nc counting up.
        assert session.get(url + "/other").text == "welcome mufasa nc=00000002"
        assert len(app.seen) == 3
        # A POST's body is sent again with the answer.
        assert session.post(url + "/form", data={"a": "1"}).status == 200


def test_digest_with_wrong_credentials_tries_once(wsgi_server, digest_app):
    app = digest_app("mufasa", "Circle of Life")
    url = wsgi_server(app)
    with pytest.raises(HTTPError) as info:
        Session(auth=DigestAuth("mufasa", "wrong")).get(url)
    assert info.value.status == 401 and len(app.seen) == 2


def test_digest_is_not_retried_with_a_body_that_cannot_be_replayed(wsgi_server, digest_app):
    app = digest_app("u", "p")
    url = wsgi_server(app)
    with pytest.raises(HTTPError):
        Session(auth=DigestAuth("u", "p")).post(url, data=iter([b"once"]))
    assert len(app.seen) == 1


def test_a_hostile_challenge_is_parsed_quickly(wsgi_server):
    # SECURITY.md K10 (CVE-2021-3733): no ReDoS, just a 401. (A 64 KiB field line would be
    # refused before parsing; 30000 commas fit in the client's 32 KiB field limit.)
    def app(environ, start_response):
        start_response("401 Unauthorized", [("WWW-Authenticate", "Digest " + "," * 30000)])
        return [b""]

    with pytest.raises(HTTPError):
        Session(auth=DigestAuth("u", "p")).get(wsgi_server(app))


# -- cookies ---------------------------------------------------------------------------------


def login_site():
    """The course's login flow: POST /login sets a session cookie, /private needs it."""
    sessions: dict[str, str] = {}

    def login(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        form = parse_qs(read_body(environ).decode())
        if form.get("user") == ["ann"] and form.get("password") == ["secret"]:
            token = os.urandom(8).hex()
            sessions[token] = "ann"
            start_response("302 Found", [("Location", "/private"),
                                         ("Set-Cookie", f"sid={token}; Path=/; HttpOnly")])
            return [b""]
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"bad login"]

    def private(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        cookies = dict(c.strip().split("=", 1) for c in environ.get("HTTP_COOKIE", "").split(";")
                       if "=" in c)
        user = sessions.get(cookies.get("sid", ""))
        if user is None:
            start_response("302 Found", [("Location", "/login")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"private page of {user}".encode()]

    return routes({"/login": login, "/private": private})


def test_login_with_cookies_then_fetch_a_private_page(wsgi_server):
    url = wsgi_server(login_site())
    with Session() as session:
        assert session.get(url + "/private", allow_redirects=False).status == 302
        page = session.post(url + "/login", data={"user": "ann", "password": "secret"})
        assert page.text == "private page of ann"  # followed the 302, cookie sent
        assert [r.status for r in page.history] == [302]
        assert session.get(url + "/private").text == "private page of ann"
        assert {c.name for c in session.cookies} == {"sid"}
    with Session() as other:  # another session has no cookie
        assert other.get(url + "/private", allow_redirects=False).status == 302


def test_cookies_persist_in_a_file(wsgi_server, tmp_path):
    url = wsgi_server(login_site())
    jar_file = tmp_path / "cookies.txt"
    with Session(cookie_file=jar_file) as session:
        session.post(url + "/login", data={"user": "ann", "password": "secret"})
    assert stat.S_IMODE(jar_file.stat().st_mode) == 0o600
    assert "sid" in jar_file.read_text()
    with Session(cookie_file=jar_file) as session:
        assert session.get(url + "/private").text == "private page of ann"


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


def test_cookie_rules_from_a_real_response(wsgi_server):
    # SECURITY.md K04: foreign and public-suffix domains refused, Secure not sent over http.
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
    jar = CookieJar()
    extract_cookies(jar, parse_url("http://www.example.com/"),
                    Headers([("Set-Cookie", "k=v; Domain=example.com; Path=/")]))
    assert cookie_header(jar, parse_url("http://example.com/")) == "k=v"
    assert cookie_header(jar, parse_url("http://a.example.com/")) == "k=v"
    assert cookie_header(jar, parse_url("http://pythonexample.com/")) is None
    extract_cookies(jar, parse_url("http://localhost/"),
                    Headers([("Set-Cookie", "x=1; Domain=.localhost.evil.com")]))
    assert all(c.name != "x" for c in jar)
