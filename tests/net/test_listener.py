"""Listening sockets: dual stack, Unix socket permissions and stale-socket reclaiming."""

import os
import socket
import stat

import pytest

from wirekit.errors import ConfigError, NetworkError
from wirekit.net import connect, listen

from ..conftest import ipv6_available


def test_all_interfaces_accepts_ipv4_clients():
    with listen(":0") as listener, connect(f"127.0.0.1:{listener.address.port}") as client:
        with listener.accept(timeout=5) as server:
            assert server.peer.host == "127.0.0.1"  # shown as IPv4, not ::ffff:127.0.0.1
            client.sendall(b"x")
            assert server.recv_exactly(1) == b"x"
        if ipv6_available():
            with connect(f"[::1]:{listener.address.port}"), listener.accept(timeout=5) as s6:
                assert s6.peer.host == "::1"


def test_unix_socket_is_private_by_default_and_removed_on_close(short_tmp):
    path = short_tmp / "private.sock"
    listener = listen(f"unix:{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    listener.close()
    assert not path.exists()


def test_a_stale_socket_from_a_crashed_server_is_reclaimed(short_tmp):
    path = short_tmp / "stale.sock"
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(str(path))
    crashed.close()  # the file stays, nobody listens
    with listen(f"unix:{path}") as listener, connect(f"unix:{path}"):
        assert listener.accept(timeout=5)


def test_a_live_socket_is_not_stolen(short_tmp):
    path = short_tmp / "live.sock"
    with listen(f"unix:{path}"), pytest.raises(NetworkError, match="in use"):
        listen(f"unix:{path}")


def test_a_regular_file_is_never_removed(short_tmp):
    path = short_tmp / "data.txt"
    path.write_text("precious")
    with pytest.raises(ConfigError, match="not a socket"):
        listen(f"unix:{path}")
    assert path.read_text() == "precious"


def test_port_in_use_is_a_clear_error():
    with listen("127.0.0.1:0") as first, pytest.raises(NetworkError, match="bind"):
        listen(f"127.0.0.1:{first.address.port}")
