"""wirekit.testing as a user's tests meet it: the fixtures (loaded by the ``pytest11`` entry
point, nothing to import), the context managers behind them, and the pure-tier kit."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest

from wirekit.channel import ChannelClosed
from wirekit.channel import Client as ChannelClient
from wirekit.errors import AuthenticationError, Timeout
from wirekit.ftp import Client as FTPClient
from wirekit.http.client import Response, Session
from wirekit.mail import send
from wirekit.testing import (
    FEEDS,
    MockTransport,
    channel_listener,
    serve_echo,
    serve_rpc,
    stream_pair,
)

from ..mail.test_catcher import note


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from " + environ["PATH_INFO"].encode()]


def test_http_server_fixture_serves_any_number_of_apps(wirekit_http_server):
    first, second = wirekit_http_server(hello), wirekit_http_server(hello)
    assert first != second
    for url in (first, second):
        with urllib.request.urlopen(url + "/x", timeout=10) as response:
            assert response.read() == b"hello from /x"


def test_smtp_catcher_fixture(wirekit_smtp_catcher):
    send(note("hi"), wirekit_smtp_catcher.host, wirekit_smtp_catcher.port, tls=None)
    [caught] = wirekit_smtp_catcher.messages
    assert caught.subject == "hi"


def test_ftp_server_fixture(wirekit_ftp_server):
    (wirekit_ftp_server.root / "a.txt").write_bytes(b"abc")
    with FTPClient(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp:
        assert [entry.name for entry in ftp.list()] == ["a.txt"]


def test_rpc_server_fixture_takes_functions_while_it_runs(wirekit_rpc_server):
    wirekit_rpc_server.register_function(lambda a, b: a + b, "add")
    proxy = xmlrpc.client.ServerProxy(wirekit_rpc_server.url)
    assert proxy.add(3, 5) == 8


def test_channel_listener_fixture(wirekit_channel_listener):
    accepted = []
    server = threading.Thread(target=lambda: accepted.append(
        wirekit_channel_listener.accept(timeout=10)))
    server.start()
    with ChannelClient(wirekit_channel_listener.address,
                       authkey=wirekit_channel_listener.authkey) as client:
        server.join(10)
        [other_end] = accepted
        client.send({"n": (1, 2)})
        assert other_end.recv(timeout=10) == {"n": (1, 2)}
        other_end.close()


def test_channel_listener_refuses_a_wrong_key(wirekit_channel_listener):
    outcome = []

    def accept() -> None:
        with pytest.raises(Timeout):
            wirekit_channel_listener.accept(timeout=1.5)
        outcome.append("timed out")

    waiter = threading.Thread(target=accept)
    waiter.start()
    with pytest.raises(AuthenticationError):
        ChannelClient(wirekit_channel_listener.address, authkey=b"not the key")
    waiter.join(10)
    assert outcome and wirekit_channel_listener.refused == 1


def test_closing_the_listener_ends_a_waiting_accept():
    with channel_listener() as listener:
        outcome = []

        def accept() -> None:
            with pytest.raises(ChannelClosed):
                listener.accept(timeout=10)
            outcome.append("ended")

        waiter = threading.Thread(target=accept)
        waiter.start()  # blocked in accept, or about to be: either way it must end
    waiter.join(5)
    assert outcome, "accept() did not end when the listener closed"


def test_echo_server_fixture(wirekit_echo_server):
    address = wirekit_echo_server.address
    with socket.create_connection((address.host, address.port), timeout=10) as sock:
        sock.sendall(b"ping\n")
        assert sock.recv(100) == b"ping\n"


def test_servers_stop_when_the_block_ends():
    with serve_echo() as echo:
        port = echo.address.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with serve_rpc(len, jsonrpc=True) as rpc:
        url = rpc.url
    with pytest.raises(OSError):
        urllib.request.urlopen(url, data=b"{}", timeout=5)


def test_stream_pair_is_two_real_ends():
    with stream_pair() as (left, right):
        left.sendall(b"one\ntwo\n")
        assert right.readline() == b"one\n"
        assert right.readline() == b"two\n"
        started = time.monotonic()
        with pytest.raises(Timeout):
            right.recv(10, timeout=0.2)
        assert 0.15 < time.monotonic() - started < 2
        left.close()
        assert right.recv(10) == b""  # EOF


def test_feeds_cover_whole_bytewise_random_and_crlf():
    data = b"250-a\r\n250 b\r\n"
    for name, split in FEEDS.items():
        pieces = split(data)
        assert b"".join(pieces) == data and all(pieces), name
    assert FEEDS["bytewise"](data) == [bytes([b]) for b in data]
    assert b"\n" in FEEDS["crlf"](data) and FEEDS["whole"](data) == [data]


def test_mock_transport_answers_without_a_network():
    seen = MockTransport(lambda request: Response(200, [("X-Seen", request.method)],
                                                  content=b"ok"))
    with Session() as session:
        session.mount("http://api.example/", seen)
        response = session.post("http://api.example/items", json={"a": 1})
    assert response.text == "ok" and response.headers["X-Seen"] == "POST"
    [request] = seen.requests
    assert request.url == "http://api.example/items" and request.content == b'{"a":1}'


USER_TEST = '''
import socket

def test_echo(wirekit_echo_server):
    address = wirekit_echo_server.address
    with socket.create_connection((address.host, address.port), timeout=10) as sock:
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
'''


def test_an_installed_wirekit_registers_the_fixtures(tmp_path: Path):
    """A user's project with no conftest: the fixture is there; ``-p no:wirekit`` removes
    it."""
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TEST))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"]
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *extra], check=False, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    ok = run()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    off = run("-p", "no:wirekit")
    assert off.returncode != 0 and "fixture 'wirekit_echo_server' not found" in off.stdout
