"""Wire compatibility with ``multiprocessing.connection``, both ways: raw messages
(``send_bytes``/``recv_bytes``) and objects, with the right and a wrong authkey. This Python's
standard library speaks the legacy HMAC-MD5 handshake on 3.11 and the ``{sha256}`` one from
3.12; wirekit speaks both, so the tests hold on either."""

from __future__ import annotations

import array
import datetime as dt
import multiprocessing
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing import connection as stdlib
from typing import Any

import msgpack
import pytest

from wirekit.channel import Client, Listener, ObjectServer
from wirekit.errors import AuthenticationError, Timeout

KEY = b"interop key"
BIG = bytes(range(256)) * 4096  # 1 MiB: past every copy threshold of the shells
OBJECTS = [{"tuple": (1, 2), "bytes": b"\x00", "when": dt.datetime(2024, 1, 2, 3, 4, 5)},
           [1, 2.5, None, "text"], {1, 2}]


class Peer:
    """A standard-library peer running ``body`` in a thread; its outcome is kept."""

    def __init__(self, body: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(body,), daemon=True)
        self.thread.start()

    def _run(self, body: Callable[[], Any]) -> None:
        try:
            self.result = body()
        except BaseException as exc:  # reported by the test through .error
            self.error = exc

    def join(self) -> Any:
        self.thread.join(20)
        assert not self.thread.is_alive(), "the standard-library peer hangs"
        return self.result


@pytest.fixture
def stdlib_listener() -> Iterator[stdlib.Listener]:
    listener = stdlib.Listener(("127.0.0.1", 0), authkey=KEY)
    yield listener
    listener.close()


def test_our_client_and_a_stdlib_listener_exchange_bytes(stdlib_listener):
    def serve() -> list[bytes]:
        with stdlib_listener.accept() as conn:
            got = [conn.recv_bytes(), conn.recv_bytes()]
            conn.send_bytes(b"pong")
            conn.send_bytes(BIG)
            return got

    peer = Peer(serve)
    with Client(stdlib_listener.address, authkey=KEY) as conn:
        conn.send_bytes(b"ping")
        conn.send_bytes(BIG)
        assert conn.recv_bytes() == b"pong"
        assert conn.recv_bytes() == BIG
    assert peer.join() == [b"ping", BIG]


def test_send_bytes_counts_offset_and_size_in_bytes_as_the_stdlib_does(stdlib_listener):
    """An ``array('i')`` is sent as its bytes; offset and size count bytes, not items."""
    numbers = array.array("i", range(10))
    def serve() -> list[bytes]:
        with stdlib_listener.accept() as conn:
            return [conn.recv_bytes(), conn.recv_bytes()]

    peer = Peer(serve)
    with Client(stdlib_listener.address, authkey=KEY) as conn:
        conn.send_bytes(numbers)
        conn.send_bytes(numbers, 4, 8)
    assert peer.join() == [numbers.tobytes(), numbers.tobytes()[4:12]]


def test_our_client_and_a_stdlib_listener_exchange_objects(stdlib_listener):
    def serve() -> list[Any]:
        with stdlib_listener.accept() as conn:
            got = [conn.recv() for _ in OBJECTS]
            for obj in OBJECTS:
                conn.send(obj)  # pickled by the standard library
            conn.send_bytes(msgpack.packb({"via": "msgpack"}))
            return got

    peer = Peer(serve)
    with Client(stdlib_listener.address, authkey=KEY, serializer="pickle") as conn:
        for obj in OBJECTS:
            conn.send(obj)
        assert [conn.recv() for _ in OBJECTS] == OBJECTS
        assert msgpack.unpackb(conn.recv_bytes()) == {"via": "msgpack"}
    assert peer.join() == OBJECTS


def test_a_stdlib_listener_refuses_our_wrong_key(stdlib_listener):
    peer = Peer(stdlib_listener.accept)
    with pytest.raises(AuthenticationError):
        Client(stdlib_listener.address, authkey=b"wrong")
    peer.join()
    assert isinstance(peer.error, multiprocessing.AuthenticationError)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ offers HMAC-SHA256")
def test_refusing_md5_refuses_a_311_listener(stdlib_listener):
    peer = Peer(stdlib_listener.accept)
    with pytest.raises(AuthenticationError):
        Client(stdlib_listener.address, authkey=KEY, allow_md5=False)
    peer.join()


# -- a stdlib client against our listener -------------------------------------------------

@pytest.fixture
def our_listener() -> Iterator[Listener]:
    with Listener("127.0.0.1:0", authkey=KEY, serializer="pickle") as listener:
        yield listener


def _stdlib_address(listener: Listener) -> tuple[str, int]:
    return listener.address.host or "127.0.0.1", listener.address.port or 0


def test_a_stdlib_client_and_our_listener_exchange_bytes_and_objects(our_listener):
    def talk() -> list[Any]:
        with stdlib.Client(_stdlib_address(our_listener), authkey=KEY) as conn:
            conn.send_bytes(b"hello")
            conn.send_bytes(BIG)
            for obj in OBJECTS:
                conn.send(obj)
            return [conn.recv_bytes(), conn.recv_bytes(), *(conn.recv() for _ in OBJECTS)]

    peer = Peer(talk)
    with our_listener.accept(timeout=10) as conn:
        assert conn.recv_bytes() == b"hello"
        assert conn.recv_bytes() == BIG
        assert [conn.recv() for _ in OBJECTS] == OBJECTS
        conn.send_bytes(b"world")
        conn.send_bytes(BIG)
        for obj in OBJECTS:
            conn.send(obj)
        assert our_listener.last_accepted is not None
    assert peer.join() == [b"world", BIG, *OBJECTS]


def test_our_listener_refuses_a_stdlib_client_with_a_wrong_key(our_listener):
    peer = Peer(lambda: stdlib.Client(_stdlib_address(our_listener), authkey=b"wrong"))
    with pytest.raises(Timeout):
        our_listener.accept(timeout=1.0)  # the refused peer never reaches accept()
    peer.join()
    assert isinstance(peer.error, multiprocessing.AuthenticationError)
    assert our_listener.refused == 1


def test_a_stdlib_client_calls_a_pickle_object_server():
    class Calculator:
        def add(self, a: int, b: int) -> int:
            return a + b

    server = ObjectServer(Calculator(), "127.0.0.1:0", authkey=KEY, serializer="pickle")
    server.start()
    try:
        with stdlib.Client((server.address.host, server.address.port), authkey=KEY) as conn:
            conn.send(["add", [3, 5], {}])
            assert conn.recv() == [0, 8]
            conn.send(["_private", [], {}])
            assert conn.recv()[:2] == [1, -32601]
    finally:
        server.shutdown(timeout=10)


def test_our_client_and_listener_speak_sha256_with_each_other():
    with Listener(authkey=KEY) as listener:
        def receive() -> Any:
            with listener.accept(timeout=10) as conn:
                return conn.recv()

        peer = Peer(receive)
        with Client(listener.address, authkey=KEY, allow_md5=False) as conn:
            conn.send({"both": ("ways", b"\x01")})
        assert peer.join() == {"both": ("ways", b"\x01")}
