"""Proxies: a CONNECT tunnel for https, forwarding for http, NO_PROXY, the environment (K11)."""

from __future__ import annotations

import base64
import ssl

import pytest

from wirekit.http.client import ProxyError, Session
from wirekit.http.client.environment import proxy_environment
from wirekit.http.client.proxies import Proxies
from wirekit.http.client.urls import parse_url

from .apps import echo_app

CREDENTIALS = "Basic " + base64.b64encode(b"pu:pp").decode()


def test_https_goes_through_a_connect_tunnel(proxy, wsgi_server, tls):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.server_cert.configure_cert(context)
    origin = wsgi_server(echo_app, tls=context)  # wirekit's server: keep-alive over TLS
    assert origin.startswith("https://")
    record = proxy()
    authed = record.url.replace("http://", "http://pu:pp@")
    with Session(proxies={"https": authed}, verify=tls.ca_file) as session:
        answer = session.get(origin + "/through?x=1").json()
        assert session.get(origin + "/again").json()["path"] == "/again"
    assert answer["path"] == "/through" and answer["query"] == "x=1"
    assert "proxy-authorization" not in answer["headers"]  # credentials only to the proxy
    port = origin.rsplit(":", 1)[1]
    assert len(record.heads) == 1  # the tunnel was kept alive and reused
    head = record.heads[0].decode()
    assert head.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")
    assert f"Proxy-Authorization: {CREDENTIALS}" in head
    assert "/through" not in head  # the proxy never sees the path


def test_http_is_forwarded_with_an_absolute_target(proxy, wsgi_server):
    origin = wsgi_server(echo_app)
    record = proxy()
    with Session(proxies={"http": record.url.replace("//", "//pu:pp@")}) as session:
        answer = session.get(origin + "/page", headers={"X-Mine": "1"}).json()
    assert answer["path"] == "/page" and answer["headers"]["x-mine"] == "1"
    head = record.heads[0].decode()
    assert head.startswith(f"GET {origin}/page HTTP/1.1\r\n")
    assert f"Proxy-Authorization: {CREDENTIALS}" in head


def test_no_proxy_and_a_refusing_proxy(proxy, wsgi_server, tls_server, tls):
    origin = wsgi_server(echo_app)
    record = proxy()
    with Session(proxies={"all": record.url}, no_proxy="localhost,127.0.0.1") as session:
        assert session.get(origin).json()["path"] == "/"
    assert record.heads == []
    refusing = proxy(refuse=True)
    with Session(proxies={"https": refusing.url}, verify=tls.ca_file) as session, \
            pytest.raises(ProxyError) as info:
        session.get(tls_server(echo_app))
    assert info.value.status == 403 and isinstance(info.value, ConnectionError)


def test_the_environment_is_read_only_when_asked(proxy, wsgi_server, monkeypatch):
    origin = wsgi_server(echo_app)
    record = proxy()
    monkeypatch.setenv("HTTP_PROXY", record.url)
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)
    with Session() as session:  # the library does not read the environment by itself
        session.get(origin)
    assert record.heads == []
    with Session(trust_env=True) as session:
        session.get(origin)
    assert len(record.heads) == 1
    with Session(proxies="env") as session:
        session.get(origin)
    assert len(record.heads) == 2


def test_environment_rules():
    env = {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:2",
           "HTTPS_PROXY": "http://s:3", "NO_PROXY": "a.test", "unrelated": "x"}
    assert proxy_environment(env) == {"http": "http://lower:2", "https": "http://s:3",
                                      "no_proxy": "a.test"}
    # httpoxy (CVE-2016-1000110): under CGI, HTTP_PROXY comes from the client's "Proxy:".
    cgi = {"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"}
    assert proxy_environment(cgi) == {}
    assert proxy_environment({**cgi, "http_proxy": "http://mine:2"}) == {"http": "http://mine:2"}


@pytest.mark.parametrize(("no_proxy", "host", "bypassed"), [
    ("example.com", "example.com", True),
    ("example.com", "www.example.com", True),
    ("example.com", "notexample.com", False),      # suffix on a label boundary only
    (".example.com", "www.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("10.0.0.0/8", "10.1.2.3", True),
    ("10.0.0.0/8", "11.1.2.3", False),
    ("::1", "::1", True),
    ("example.com:8080", "example.com", False),     # only that port
    ("*", "anything.test", True),
    ("", "example.com", False),
])  # fmt: skip
def test_no_proxy_matching(no_proxy, host, bypassed):
    proxies = Proxies({"http": "proxy.test:3128"}, no_proxy)
    url = parse_url(f"http://[{host}]/" if ":" in host else f"http://{host}/")
    assert (proxies.for_url(url) is None) is bypassed


def test_proxy_urls_are_checked():
    assert Proxies({"http": "proxy.test:3128"}).by_scheme["http"].port == 3128
    with pytest.raises(ValueError):
        Proxies({"http": "socks5://proxy.test:1080"})
    with pytest.raises(ValueError):
        Proxies({"ftp": "http://proxy.test"})
