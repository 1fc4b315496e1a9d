"""Hostile peers of the object channel (SECURITY.md R01-R04): a pickle sent before (or
instead of) the handshake, huge length prefixes, a peer that never answers the challenge, a
wrong key, a pickle payload on a msgpack channel, a REDUCE on a pickle channel, and remote
attribute walks. Run against the Listener and the ObjectServer in each in-process mode."""

from __future__ import annotations

import dataclasses
import os
import pickle
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirekit.channel import Client, Listener, ObjectServer
from wirekit.config import DEFAULT_TIMEOUTS
from wirekit.errors import AuthenticationError, MessageTooLarge, Timeout
from wirekit.proto.channel import frame
from wirekit.proto.channel.handshake import CHALLENGE, FAILURE, respond
from wirekit.proto.xmlrpc import METHOD_NOT_FOUND, PARSE_ERROR, Fault

KEY = b"hostile-test-key"
SHORT = dataclasses.replace(DEFAULT_TIMEOUTS, handshake=0.5)


class Service:
    def add(self, a: int, b: int) -> int:
        return a + b

    def _secret(self) -> str:
        return "never"


class Boom:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture(params=["sync", "threads", "async"])
def mode(request) -> str:
    return request.param


@pytest.fixture
def object_server(mode) -> Iterator[ObjectServer]:
    server = ObjectServer(Service(), "127.0.0.1:0", authkey=KEY, concurrency=mode,
                          timeouts=SHORT)
    server.start()
    yield server
    server.shutdown(timeout=10)


def raw(address) -> socket.socket:
    sock = socket.create_connection((address.host, address.port), timeout=5)
    return sock


def read_frame(sock: socket.socket) -> bytes:
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise EOFError(head)
        head += chunk
    size = struct.unpack("!i", head)[0]
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            raise EOFError(body)
        body += chunk
    return body


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def test_a_pickle_sent_instead_of_the_handshake_is_never_loaded(object_server, tmp_path: Path):
    marker = tmp_path / "MARKER"
    with raw(object_server.address) as sock:
        assert read_frame(sock).startswith(CHALLENGE)
        sock.sendall(frame(pickle.dumps(Boom(f"touch {marker}"))))
        # small enough to be read as the answer to the challenge: checked as a MAC, refused
        assert read_frame(sock) == FAILURE
        assert closed_by_peer(sock)
    assert not marker.exists()


@pytest.mark.parametrize("prefix", [struct.pack("!i", 0x7FFFFFFF),
                                    struct.pack("!iQ", -1, 2**62), struct.pack("!i", 257)])
def test_a_huge_length_prefix_before_the_handshake_is_refused_unread(object_server, prefix):
    with raw(object_server.address) as sock:
        read_frame(sock)
        sock.sendall(prefix + b"\x00" * 100)
        started = time.monotonic()
        assert closed_by_peer(sock)
        assert time.monotonic() - started < 1.0  # at once, not at the handshake deadline


def test_a_silent_peer_is_dropped_at_the_deadline_and_blocks_nobody(mode):
    server = ObjectServer(Service(), "127.0.0.1:0", authkey=KEY, concurrency=mode,
                          timeouts=dataclasses.replace(DEFAULT_TIMEOUTS, handshake=1.0))
    server.start()
    try:
        with raw(server.address) as silent:
            started = time.monotonic()
            if mode != "sync":  # sync serves one connection at a time, by definition
                with Client(server.address, authkey=KEY) as conn:
                    assert conn.proxy().add(1, 2) == 3
                assert time.monotonic() - started < 0.9  # before the silent one's deadline
            read_frame(silent)  # the challenge
            assert closed_by_peer(silent)
            assert 0.9 <= time.monotonic() - started < 3.0
    finally:
        server.shutdown(timeout=10)


def test_a_silent_peer_does_not_block_the_listener():
    with Listener(authkey=KEY, timeouts=dataclasses.replace(DEFAULT_TIMEOUTS,
                                                           handshake=1.0)) as listener:
        silent = raw(listener.address)
        try:
            accepted: list[object] = []
            worker = threading.Thread(target=lambda: accepted.append(listener.accept(5)))
            worker.start()
            started = time.monotonic()
            with Client(listener.address, authkey=KEY) as conn:
                conn.send("hello")
            worker.join(5)
            assert time.monotonic() - started < 0.9  # the stdlib would wait for the silent one
            assert len(accepted) == 1
            accepted[0].close()  # type: ignore[attr-defined]
            started = time.monotonic()
            read_frame(silent)
            assert closed_by_peer(silent)
            assert 0.5 <= time.monotonic() - started < 2.5
            assert listener.refused == 1
        finally:
            silent.close()


def test_a_client_whose_server_never_answers_times_out():
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        started = time.monotonic()
        with pytest.raises(Timeout):
            Client(mute.getsockname(), authkey=KEY, timeouts=SHORT)
        assert 0.4 <= time.monotonic() - started < 2.0


def test_a_wrong_key_is_refused_and_its_payload_never_read(object_server, tmp_path: Path):
    marker = tmp_path / "MARKER"
    with raw(object_server.address) as sock:
        challenge = read_frame(sock)
        answer = respond(b"not the key", challenge)
        sock.sendall(frame(answer) + frame(pickle.dumps(Boom(f"touch {marker}"))))
        assert read_frame(sock) == FAILURE
        assert closed_by_peer(sock)
    assert not marker.exists()
    with pytest.raises(AuthenticationError):
        Client(object_server.address, authkey=b"wrong key")


def test_a_pickle_on_a_msgpack_channel_is_a_parse_fault(object_server, tmp_path: Path):
    marker = tmp_path / "MARKER"
    with Client(object_server.address, authkey=KEY) as conn:
        conn.send_bytes(pickle.dumps(["add", [1, 2], {}]))
        conn.send_bytes(pickle.dumps(Boom(f"touch {marker}")))
        for _ in range(2):
            reply = conn.recv()
            assert reply[:2] == [1, PARSE_ERROR]
        assert conn.proxy().add(2, 2) == 4  # the connection still works
    assert not marker.exists()


def test_a_reduce_on_a_pickle_channel_is_refused(mode, tmp_path: Path):
    marker = tmp_path / "MARKER"
    server = ObjectServer(Service(), "127.0.0.1:0", authkey=KEY, concurrency=mode,
                          serializer="pickle")
    server.start()
    try:
        with Client(server.address, authkey=KEY, serializer="pickle") as conn:
            conn.send_bytes(pickle.dumps(["add", [Boom(f"touch {marker}"), 1], {}]))
            assert conn.recv()[:2] == [1, PARSE_ERROR]
            assert conn.proxy().add(1, 2) == 3
    finally:
        server.shutdown(timeout=10)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["_secret", "__class__", "__init__", "add.__globals__",
                                  "__class__.__init__.__globals__", "__reduce__"])
def test_remote_attribute_walks_are_refused(object_server, name):
    with Client(object_server.address, authkey=KEY) as conn:
        with pytest.raises(Fault) as caught:
            conn.call(name)
        assert caught.value.code == METHOD_NOT_FOUND
        with pytest.raises(AttributeError):
            conn.proxy()._secret  # noqa: B018 - the proxy itself refuses private names


def test_a_message_above_the_bound_closes_the_connection(mode):
    server = ObjectServer(Service(), "127.0.0.1:0", authkey=KEY, concurrency=mode,
                          max_message=1024)
    server.start()
    try:
        with Client(server.address, authkey=KEY) as conn:
            conn.send_bytes(b"x" * 2048)
            with pytest.raises((EOFError, ConnectionError)):
                conn.recv_bytes(timeout=5)
        with Client(server.address, authkey=KEY, max_message=100) as conn:
            conn.send(["add", ["x" * 200, "y"], {}])
            with pytest.raises(MessageTooLarge):
                conn.recv(timeout=5)
    finally:
        server.shutdown(timeout=10)


def test_pickle_is_refused_without_an_authkey():
    from wirekit.errors import ConfigError

    with pytest.raises(ConfigError):
        Listener(serializer="pickle")
    with pytest.raises(ConfigError):
        ObjectServer(Service(), "127.0.0.1:0", authkey=None, serializer="pickle")
