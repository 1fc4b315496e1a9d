"""Servers that lie: forged responses behind honest ones, bodies larger than anyone asked for.

Each server here is a raw socket of the test's own on loopback, so the bytes on the wire are
exactly the attack's.
"""

from __future__ import annotations

import socket
import threading

import pytest

from wirekit.http.client import Session
from wirekit.http.client.errors import BodyTooLarge

FORGED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return data
        data += piece
    return data


def _poisoner(after: threading.Event | None, served: list[bytes]):
    """Answers the first request with a 2-byte body and a complete forged response behind it:
    in the same segment (``after`` None) or in a second write once ``after`` is set. Every
    later connection (or request) gets an honest ``fresh``."""
    def handler(conn: socket.socket) -> None:
        try:
            serve(conn)
        except ConnectionResetError:  # the client dropped the poisoned connection unread
            assert len(served) == 1

    def serve(conn: socket.socket) -> None:
        while head := _read_head(conn):
            served.append(head)
            if len(served) == 1:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
                             + (FORGED if after is None else b""))
                if after is not None:
                    after.wait(5)
                    conn.sendall(FORGED)
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
    return handler


@pytest.mark.parametrize("segment", ["same", "later"])
def test_a_forged_response_behind_a_real_one_is_never_read(raw_server, segment):
    # httpx returns "forged" for the second request here; requests does not. The bytes after
    # a complete response mean the connection is discarded, not reused.
    served: list[bytes] = []
    after = None if segment == "same" else threading.Event()
    peer = raw_server(_poisoner(after, served), clients=2)
    with Session() as session:
        assert session.get(f"http://{peer.address}/a").content == b"OK"
        if after is not None:
            after.set()  # the forged bytes go out now, before the next request
            # wait until they are readable on the pooled socket
            conn = next(iter(session._pool._idle.values()))[0]
            socket.socket.recv(conn.stream.socket, 1, socket.MSG_PEEK)
        assert session.get(f"http://{peer.address}/b").content == b"fresh"
    assert len(served) == 2 and not peer.errors


def _big_chunked(size: int):
    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"x" * 65536
        chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
        try:
            for _ in range(size // len(piece)):
                conn.sendall(chunk)
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the client gave up, as it should
    return handler


def test_a_body_over_max_body_is_refused_unless_streamed(raw_server):
    peer = raw_server(_big_chunked(8 << 20), clients=2)
    with Session(max_body=1 << 20) as session:
        with pytest.raises(BodyTooLarge) as caught:
            session.get(f"http://{peer.address}/")
        assert caught.value.limit == "max_body" and "stream=True" in str(caught.value)
        # streamed, the caller decides how much to hold
        with session.get(f"http://{peer.address}/", stream=True) as response:
            total = sum(len(piece) for piece in response.iter_bytes())
    assert total == 8 << 20


def test_a_content_length_over_max_body_fails_before_reading(raw_server):
    def handler(conn: socket.socket) -> None:
        _read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\nxx")
    peer = raw_server(handler)
    with Session(max_body=1 << 20) as session, pytest.raises(BodyTooLarge):
        session.get(f"http://{peer.address}/")
    assert not peer.errors


def test_max_body_none_reads_anything(raw_server):
    peer = raw_server(_big_chunked(2 << 20))
    with Session(max_body=None) as session:
        assert len(session.get(f"http://{peer.address}/").content) == 2 << 20
