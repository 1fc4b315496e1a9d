"""Basic and Digest auth (SECURITY.md K10); the cookie tests are in test_cookies.py."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from wirekit.http.client import BasicAuth, DigestAuth, HTTPError, Request, Session, urlopen


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
