"""The PROXY protocol against a real peer: nginx's ``stream`` module on loopback.

nginx writes version 1 headers (``proxy_protocol on``) and reads versions 1 and 2
(``listen ... proxy_protocol``), so two directions are covered: the reader parses what nginx
sends, and nginx parses what ``build_v1``/``build_v2`` produce, then relays the address it read
(with ``set_real_ip_from``) in the v1 header the reader checks. nginx never sends version 2
(trac.nginx.org ticket 1639), so no test here receives one from it; and nginx 1.22 reads a v2
header of at most 107 bytes in all ("header is too large"), so the TLVs sent here are short.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from wirekit.proto.proxy import (
    ProxyHeader,
    ProxyHeaderReader,
    ProxyProtocolError,
    build_v1,
    build_v2,
)

from ..support.nginx import StreamProxy, nginx_unavailable, run_nginx

UNAVAILABLE = nginx_unavailable(stream=True)
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")

# The client's first bytes: they travel behind the header and must reach the backend intact.
PAYLOAD = b"GET /behind/nginx HTTP/1.1\r\nHost: example.org\r\n\r\n"


def backend(results: list[Any]) -> Callable[[socket.socket], None]:
    """A handler for ``raw_server``: read the header, then the payload, then answer "ok"."""

    def handle(conn: socket.socket) -> None:
        reader = ProxyHeaderReader()
        try:
            while (header := reader.next_header()) is None:
                reader.receive_data(conn.recv(4096))
        except ProxyProtocolError as exc:
            results.append(exc)
            return  # the spec's answer: close without a word
        rest = reader.rest()
        while len(rest) < len(PAYLOAD) and (chunk := conn.recv(4096)):
            rest += chunk
        results.append((header, rest))
        conn.sendall(b"ok")

    return handle


def through(address: tuple[str, int], first: bytes) -> tuple[tuple[str, int], bytes]:
    """Connect, send ``first`` at once, and return (our address, what came back)."""
    with socket.create_connection(address, timeout=10) as client:
        client.sendall(first)
        reply = client.recv(16)
        return client.getsockname(), reply


def test_the_reader_gets_the_client_address_nginx_sends(raw_server):
    results: list[Any] = []
    peer = raw_server(backend(results), clients=3)
    with run_nginx(StreamProxy([peer.address], proxy_protocol=True)) as nginx:
        clients = [through(nginx.address(), PAYLOAD) for _ in range(3)]
    assert not peer.errors
    for (client, reply), (header, rest) in zip(clients, results, strict=True):
        assert reply == b"ok"
        assert header == ProxyHeader(1, False, "tcp4", client, nginx.address())
        assert rest == PAYLOAD


@pytest.mark.parametrize(("name", "sent", "relayed_source"), [
    ("v1", build_v1(("198.51.100.7", 4242), ("192.0.2.1", 443)), ("198.51.100.7", 4242)),
    ("v2", build_v2(("203.0.113.7", 65535), ("192.0.2.1", 443)), ("203.0.113.7", 65535)),
    ("v2-tlvs-and-checksum",
     build_v2(("203.0.113.8", 1), ("192.0.2.1", 443),
              tlvs=[(0x01, b"h2"), (0x02, b"example.org"), (0x05, b"id-7")], checksum=True),
     ("203.0.113.8", 1)),
])
def test_nginx_reads_our_headers_and_relays_the_address(raw_server, name, sent, relayed_source):
    results: list[Any] = []
    peer = raw_server(backend(results))
    block = StreamProxy([peer.address], accept_proxy_protocol=True,
                        directives="set_real_ip_from 127.0.0.1;")
    with run_nginx(block) as nginx:
        _, reply = through(nginx.address(), sent + PAYLOAD)
        log = nginx.error_log()
    assert reply == b"ok", log
    header, rest = results[0]
    assert header == ProxyHeader(1, False, "tcp4", relayed_source, nginx.address())
    assert rest == PAYLOAD


def test_a_local_header_leaves_nginx_with_the_real_address(raw_server):
    results: list[Any] = []
    peer = raw_server(backend(results))
    block = StreamProxy([peer.address], accept_proxy_protocol=True,
                        directives="set_real_ip_from 127.0.0.1;")
    with run_nginx(block) as nginx:
        client, reply = through(nginx.address(), build_v2(local=True) + PAYLOAD)
    assert reply == b"ok"
    assert results[0] == (ProxyHeader(1, False, "tcp4", client, nginx.address()), PAYLOAD)


def test_a_mixed_family_line_from_nginx_is_refused(raw_server):
    """An IPv6 client relayed over IPv4 makes nginx 1.22 write ``PROXY TCP6 <v6> 127.0.0.1``.

    §2.1 says the destination "matches the same family", and HAProxy refuses such a line too,
    so the reader does: a deployment like this must keep the hop in one family.
    """
    results: list[Any] = []
    peer = raw_server(backend(results))
    block = StreamProxy([peer.address], accept_proxy_protocol=True,
                        directives="set_real_ip_from 127.0.0.1;")
    with run_nginx(block) as nginx:
        _, reply = through(nginx.address(),
                           build_v2(("2001:db8::7", 4242), ("2001:db8::1", 443)) + PAYLOAD)
    assert reply == b""  # closed without an answer
    assert isinstance(results[0], ProxyProtocolError)
    assert "PROXY TCP6 2001:db8::7 127.0.0.1" in str(results[0])
