"""The HTTP server behind a load balancer: a real nginx (``stream``, ``proxy_protocol on``)
in front of two wirekit servers, each told the client's real address by the PROXY header."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from wirekit.proto.proxy import build_v1, build_v2

from ...support.nginx import StreamProxy, nginx_unavailable, run_nginx
from .conftest import read_all

UNAVAILABLE = nginx_unavailable(stream=True)


def whoami(environ, start_response):
    body = json.dumps({"addr": environ["REMOTE_ADDR"], "port": environ["REMOTE_PORT"],
                       "server": environ["SERVER_PORT"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")
@pytest.mark.parametrize("mode", ["async", "threads"])
def test_two_servers_behind_nginx_see_each_clients_real_address(http_server, mode):
    servers = [http_server(whoami, mode, proxy_protocol_from=["127.0.0.1"]) for _ in range(2)]
    upstreams = [f"127.0.0.1:{server.address.port}" for server in servers]
    with run_nginx(StreamProxy(upstreams, proxy_protocol=True)) as nginx:
        host, port = nginx.address()
        seen = set()
        for _ in range(4):  # round robin: both servers answer
            with socket.create_connection((host, port), 5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                raw = read_all(sock)
                me = sock.getsockname()
            answer = json.loads(raw.partition(b"\r\n\r\n")[2])
            assert (answer["addr"], int(answer["port"])) == (me[0], me[1])
            seen.add(answer["server"])
        assert len(seen) == 2


def test_a_listed_peer_without_a_header_is_refused_and_others_are_not_asked(http_server):
    server = http_server(whoami, proxy_protocol_from=["127.0.0.1"])
    with socket.create_connection((server.address.host, server.address.port), 5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_all(sock, 3) == b""  # closed, nothing answered: a header was required
    unlisted = http_server(whoami, proxy_protocol_from=["10.0.0.0/8"])
    answer = json.load(urllib.request.urlopen(unlisted.url + "/", timeout=5))
    assert answer["addr"] == "127.0.0.1"  # a direct client, served as it is


@pytest.mark.parametrize("header", [
    build_v1(("203.0.113.7", 40000), ("127.0.0.1", 80)),
    build_v2(("2001:db8::7", 40001), ("::1", 80)),
])
def test_keep_alive_requests_all_carry_the_headers_address(http_server, mode, header):
    server = http_server(whoami, mode, proxy_protocol_from=["127.0.0.1"])
    with socket.create_connection((server.address.host, server.address.port), 5) as sock:
        request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        sock.sendall(header + request + request.replace(b"\r\n\r\n",
                                                        b"\r\nConnection: close\r\n\r\n"))
        raw = read_all(sock)
    bodies = [json.loads(part.split(b"\r\n\r\n")[1][:part.split(b"\r\n\r\n")[1].index(b"}") + 1])
              for part in raw.split(b"HTTP/1.1 200 OK")[1:]]
    assert len(bodies) == 2
    expected = "203.0.113.7" if b"203.0.113.7" in header else "2001:db8::7"
    assert all(body["addr"] == expected for body in bodies)
