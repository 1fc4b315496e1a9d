"""Lookups from the system's resolver and services database; options by name."""

import socket

import pytest

from wirekit.errors import ConfigError, LookupFailed
from wirekit.net import (
    get_option,
    hostname,
    list_sockets,
    listen,
    resolve,
    reverse,
    service_name,
    service_port,
    set_option,
)


def test_forward_and_reverse_lookup_of_localhost():
    assert "127.0.0.1" in resolve("localhost")
    assert resolve("localhost", socket.AF_INET) == ["127.0.0.1"]
    name, _aliases = reverse("127.0.0.1")
    assert name
    assert isinstance(hostname(), str) and hostname()


def test_ip_literals_resolve_to_themselves():
    assert resolve("::1") == ["::1"]
    assert resolve("127.0.0.2") == ["127.0.0.2"]


def test_lookup_failures_name_what_failed():
    with pytest.raises(LookupFailed, match=r"no-such-host\.invalid"):
        resolve("no-such-host.invalid")
    with pytest.raises(LookupFailed, match="not an IP address"):
        reverse("localhost")


def test_services_database():
    assert service_port("http") == 80
    assert service_port("domain", "udp") == 53
    assert service_name(25) == "smtp"
    with pytest.raises(LookupFailed):
        service_port("no-such-service")
    with pytest.raises(LookupFailed):
        service_name(70000)


def test_options_by_name():
    with socket.socket() as sock:
        set_option(sock, "nodelay", True)
        assert get_option(sock, "nodelay") == 1
        set_option(sock, "keepalive", 1)
        assert get_option(sock, "keepalive") == 1
        with pytest.raises(ConfigError, match=r"known: .*nodelay"):
            set_option(sock, "no_delay", True)


def test_listening_socket_is_listed_with_its_process():
    import os

    with listen("127.0.0.1:0") as listener:
        port = listener.address.port
        found = list_sockets(listening=True, port=port)
        assert [s.local for s in found] == [f"127.0.0.1:{port}"]
        assert found[0].state == "LISTEN"
        if found[0].pid is not None:
            assert found[0].pid == os.getpid()
