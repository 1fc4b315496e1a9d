"""Datagrams over UDP and Unix datagram sockets; oversized ones are reported, not cut."""

import pytest

from wirekit.errors import MessageTooLarge, Timeout
from wirekit.net import DatagramEndpoint

from ..conftest import needs_ipv6


@pytest.mark.parametrize("bind", ["127.0.0.1:0", pytest.param("[::1]:0", marks=needs_ipv6)])
def test_udp_request_and_reply(bind):
    with DatagramEndpoint.bind(bind) as server, DatagramEndpoint.connect(server.address) as client:
        client.send(b"ping")
        request = server.receive(timeout=5)
        assert request.data == b"ping"
        server.send_to(b"pong", request.sender)
        assert client.receive(timeout=5).data == b"pong"


def test_unix_datagrams_reach_back_to_a_client(short_tmp):
    path = f"unix:{short_tmp / 'dg'}"
    with DatagramEndpoint.bind(path) as server, DatagramEndpoint.connect(path) as client:
        client.send(b"hi")
        request = server.receive(timeout=5)
        server.send_to(b"there", request.sender)
        assert client.receive(timeout=5).data == b"there"
    assert not (short_tmp / "dg").exists()


def test_a_datagram_above_the_maximum_is_reported_not_truncated():
    with DatagramEndpoint.bind("127.0.0.1:0", max_size=100) as server, \
            DatagramEndpoint.connect(server.address) as client:
        client.send(b"x" * 1000)
        with pytest.raises(MessageTooLarge, match="100 bytes"):
            server.receive(timeout=5)
        client.send(b"ok")
        assert server.receive(timeout=5).data == b"ok"  # the endpoint is still usable


def test_sending_above_the_maximum_is_refused_locally():
    with DatagramEndpoint.bind("127.0.0.1:0", max_size=10) as endpoint, \
            pytest.raises(MessageTooLarge):
        endpoint.send_to(b"x" * 11, endpoint.address)


def test_receive_times_out():
    with DatagramEndpoint.bind("127.0.0.1:0") as endpoint, pytest.raises(Timeout):
        endpoint.receive(timeout=0.1)
