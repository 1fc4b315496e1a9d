"""Redirects: every code's method/body rules (K03), no credential leaks (K02), schemes (K01)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from wirekit.http.client import Session, get, post
from wirekit.http.client.bodies import make_body
from wirekit.http.client.errors import RedirectError, TooManyRedirects
from wirekit.http.client.redirects import Hop, next_hop, same_origin
from wirekit.http.client.urls import parse_url

from .apps import echo_app, read_body


def redirector(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``/redirect?code=307&to=URL`` redirects; ``/count/N`` chains N hops; else echo."""
    path = environ["PATH_INFO"]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/redirect":
        read_body(environ)
        start_response(f"{query['code'][0]} Moved", [("Location", query["to"][0]),
                                                     ("Set-Cookie", "hop=1; Path=/"),
                                                     ("Content-Length", "0")])
        return [b""]
    if path.startswith("/count/"):
        left = int(path.rsplit("/", 1)[1])
        location = f"/count/{left - 1}" if left else "/echo"
        start_response("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]
    if path in ("/a", "/b"):
        start_response("302 Found", [("Location", "/b" if path == "/a" else "/a"),
                                     ("Content-Length", "0")])
        return [b""]
    return echo_app(environ, start_response)


CASES = [
    # status, method sent, method that arrives, body kept
    (301, "GET", "GET", False), (301, "POST", "GET", False), (301, "PUT", "PUT", True),
    (302, "GET", "GET", False), (302, "POST", "GET", False), (302, "PUT", "PUT", True),
    (303, "GET", "GET", False), (303, "POST", "GET", False), (303, "PUT", "GET", False),
    (303, "DELETE", "GET", False),
    (307, "GET", "GET", False), (307, "POST", "POST", True), (307, "PUT", "PUT", True),
    (308, "POST", "POST", True), (308, "PATCH", "PATCH", True),
]  # fmt: skip


@pytest.mark.parametrize(("status", "sent", "arrives", "body_kept"), CASES)
def test_every_redirect_code_keeps_or_drops_method_and_body(wsgi_server, status, sent,
                                                            arrives, body_kept):
    url = wsgi_server(redirector)
    data = None if sent == "GET" else {"field": "value"}
    with Session() as session:
        response = session.request(sent, f"{url}/redirect?code={status}&to=/echo", data=data,
                                   headers={"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Custom": "kept"})
    answer = response.json()
    assert answer["method"] == arrives
    assert answer["headers"]["x-custom"] == "kept"
    assert [r.status for r in response.history] == [status]
    assert response.url == url + "/echo"
    if body_kept:
        assert answer["body"] == "field=value"
        assert answer["headers"]["content-type"] == "application/x-www-form-urlencoded"
    else:
        assert answer["body"] == ""
    if sent != arrives:  # K03: the method changed, so no stale CT/CL/TE either
        assert "content-type" not in answer["headers"]
        assert "transfer-encoding" not in answer["headers"]


def test_head_stays_head_after_303(wsgi_server):
    url = wsgi_server(redirector)
    response = Session().head(f"{url}/redirect?code=303&to=/echo")
    assert response.status == 200 and response.history[0].status == 303


def test_307_with_a_body_that_cannot_be_replayed_is_refused(wsgi_server):
    url = wsgi_server(redirector)
    with pytest.raises(RedirectError, match="cannot be sent twice"):
        post(f"{url}/redirect?code=307&to=/echo", data=iter([b"once"]))


def test_relative_locations_and_redirect_cookies(wsgi_server):
    url = wsgi_server(redirector)
    with Session() as session:
        answer = session.get(f"{url}/redirect?code=302&to=echo?x=1").json()
    assert answer["path"] == "/echo" and answer["query"] == "x=1"
    assert answer["headers"]["cookie"] == "hop=1"  # set by the redirect, sent on the next hop


def test_too_many_redirects(wsgi_server):
    url = wsgi_server(redirector)
    with pytest.raises(TooManyRedirects) as info:
        get(f"{url}/count/50")
    assert info.value.response is not None and info.value.response.status == 302
    with pytest.raises(TooManyRedirects):
        get(f"{url}/a")  # A -> B -> A ...
    assert get(f"{url}/count/19").json()["path"] == "/echo"  # exactly 20 redirects is fine
    with pytest.raises(TooManyRedirects):
        get(f"{url}/count/3", max_redirects=2)


def test_redirects_can_be_left_unfollowed(wsgi_server):
    url = wsgi_server(redirector)
    response = get(f"{url}/redirect?code=302&to=/echo", allow_redirects=False)
    assert response.status == 302 and response.headers["location"] == "/echo"


def test_cross_host_redirect_strips_every_credential(wsgi_server):
    # SECURITY.md K02: CVE-2014-1829, CVE-2018-18074, CVE-2023-32681, CVE-2018-20060.
    target = wsgi_server(echo_app).replace("127.0.0.1", "localhost")
    url = wsgi_server(redirector)
    to = f"{url}/redirect?code=302&to={target}/landing"
    with Session() as session:
        session.cookies.set_cookie(_cookie("session", "secret", "127.0.0.1"))
        answer = session.get(to, headers={
            "Authorization": "Bearer token", "Proxy-Authorization": "Basic eHg=",
            "Cookie": "user-set=1", "X-Other": "kept"}).json()  # fmt: skip
        assert answer["path"] == "/landing"
        for name in ("authorization", "proxy-authorization", "cookie"):
            assert name not in answer["headers"]
        assert answer["headers"]["x-other"] == "kept"
        assert answer["headers"]["host"] == target.split("//")[1]
        # Session auth, per-call auth and URL userinfo: sent to the first host only.
        for kwargs in ({"auth": ("user", "pw")}, {}):
            answer = session.get(to, **kwargs).json()
            assert "authorization" not in answer["headers"]
        userinfo = to.replace("http://", "http://user:pw@")
        assert "authorization" not in session.get(userinfo).json()["headers"]
    with Session(auth=("user", "pw")) as session:
        assert "authorization" not in session.get(to).json()["headers"]
        same = session.get(f"{url}/redirect?code=302&to=/echo").json()
        assert same["headers"]["authorization"].startswith("Basic ")  # same origin: kept


def _cookie(name: str, value: str, domain: str):
    from http.cookiejar import Cookie

    return Cookie(0, name, value, None, False, domain, False, False, "/", True, False, None,
                  False, None, None, {})


def test_port_and_scheme_changes_count_as_another_origin():
    origin = parse_url("http://h.test/").origin
    assert same_origin(origin, parse_url("http://h.test:80/x"))
    assert same_origin(origin, parse_url("https://h.test/x"))  # upgrade, default ports
    assert not same_origin(origin, parse_url("http://h.test:8080/"))
    assert not same_origin(origin, parse_url("https://h.test:8443/"))
    assert not same_origin(parse_url("https://h.test/").origin, parse_url("http://h.test/"))
    hop = Hop("GET", parse_url("https://h.test/"), [("Authorization", "x"), ("Cookie", "c")],
              None)
    downgraded = next_hop(hop, 302, "http://h.test/")  # CVE-2014-1829's https -> http
    assert downgraded.headers == []
    upgraded = next_hop(Hop("GET", parse_url("http://h.test/"), [("Authorization", "x")], None),
                        301, "https://h.test/")
    assert upgraded.headers == [("Authorization", "x")]


def test_307_keeps_a_file_body_replayable(wsgi_server, tmp_path):
    url = wsgi_server(redirector)
    source = tmp_path / "upload.bin"
    source.write_bytes(b"0123456789" * 1000)
    with open(source, "rb") as handle:
        answer = post(f"{url}/redirect?code=308&to=/echo", data=handle).json()
    assert answer["method"] == "POST" and len(answer["body"]) == 10000
    with open(source, "rb") as handle:
        assert make_body(data=handle).replayable


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "FILE:///etc/passwd", " file:///etc/passwd", "local_file:/etc/passwd",
    "data:text/plain;base64,aGk=", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/x",
])  # fmt: skip
def test_redirects_to_other_schemes_are_refused(wsgi_server, location):
    # SECURITY.md K01: the response is an error and nothing local is read.
    def app(environ, start_response):
        start_response("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]

    url = wsgi_server(app)
    with pytest.raises(RedirectError, match="refusing to follow"):
        get(url)
