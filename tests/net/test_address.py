"""Addresses as people type them, and every malformed form refused with a clear error."""

import socket

import pytest

from wirekit.errors import InvalidAddress
from wirekit.net import Address


@pytest.mark.parametrize(
    ("text", "host", "port", "path", "canonical"),
    [
        ("example.org:80", "example.org", 80, None, "example.org:80"),
        ("127.0.0.1:8000", "127.0.0.1", 8000, None, "127.0.0.1:8000"),
        ("[::1]:8080", "::1", 8080, None, "[::1]:8080"),
        ("[0:0::1]:8080", "::1", 8080, None, "[::1]:8080"),
        (":8000", "", 8000, None, ":8000"),
        ("localhost:0", "localhost", 0, None, "localhost:0"),
        ("unix:/tmp/x.sock", None, None, "/tmp/x.sock", "unix:/tmp/x.sock"),
        ("  host:1 ", "host", 1, None, "host:1"),
    ],
)
def test_parse_and_format_round_trip(text, host, port, path, canonical):
    address = Address.parse(text)
    assert (address.host, address.port, address.path) == (host, port, path)
    assert str(address) == canonical
    assert Address.parse(str(address)) == address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("localhost", "missing port"),
        ("host:http", "invalid port"),
        ("host:65536", "invalid port"),
        ("host:-1", "invalid port"),
        ("host:+80", "invalid port"),
        ("::1:80", "[addr]:port"),
        ("[::1", "missing ']'"),
        ("[127.0.0.1]:80", "only for IPv6"),
        ("[::1]80", "expected [IPv6]:port"),
        ("bad host:80", "invalid address"),
        ("ho\x00st:80", "invalid address"),
        ("exa$mple.org:80", "invalid host"),
        ("unix:", "unix:/path"),
        ("unix:@abstract", "unix:/path"),
        ("", "invalid address"),
    ],
)
def test_malformed_addresses_are_refused_with_the_problem_named(text, message):
    with pytest.raises(InvalidAddress, match=message.replace("[", r"\[").replace("]", r"\]")):
        Address.parse(text)


def test_default_port_completes_a_bare_host_or_ipv6_literal():
    assert Address.parse("example.org", default_port=80) == Address("example.org", 80)
    assert Address.parse("::1", default_port=25) == Address("::1", 25)
    assert Address.parse("[::1]", default_port=25) == Address("::1", 25)


def test_of_accepts_tuples_and_addresses():
    assert Address.of(("127.0.0.1", 5)) == Address("127.0.0.1", 5)
    same = Address("h", 1)
    assert Address.of(same) is same
    with pytest.raises(InvalidAddress):
        Address.of(42)  # type: ignore[arg-type]


def test_family_follows_the_host():
    assert Address.parse("127.0.0.1:1").family == socket.AF_INET
    assert Address.parse("[::1]:1").family == socket.AF_INET6
    assert Address.parse("example.org:1").family == socket.AF_UNSPEC
    assert Address.parse("unix:/x").family == socket.AF_UNIX


def test_ipv4_mapped_peer_addresses_are_shown_as_ipv4():
    assert str(Address.from_sockaddr(socket.AF_INET6, ("::ffff:127.0.0.1", 5, 0, 0))) == \
        "127.0.0.1:5"
