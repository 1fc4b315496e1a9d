"""Hostile FTP servers as tiny raw-socket threads (SECURITY.md F01, F02, M02): a PASV reply
naming another host, an active-mode connection from a stranger, an endless multi-line reply, a
10 MB line, data connections that never open or never speak, a short transfer behind a 226,
and plaintext injected behind the 234 to AUTH TLS. Each ends in a bounded, named error or in
the right bytes, never in a hang."""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Callable

import pytest

from wirekit.config import Timeouts
from wirekit.errors import ConfigError, MessageTooLarge, RemoteProtocolError, Timeout
from wirekit.ftp import Client, TransferIncomplete

Answer = bytes | Callable[[bytes], bytes | None] | None
LOGIN: dict[str, Answer] = {"USER": b"331 password\r\n", "PASS": b"230 in\r\n",
                            "TYPE": b"200 binary\r\n", "QUIT": b"221 bye\r\n"}
QUICK = Timeouts(connect=0.5, read=0.5)


def fake_ftp(answers: dict[str, Answer], record: list[bytes] | None = None,
             greeting: bytes = b"220 fake FTP\r\n") -> Callable[[socket.socket], None]:
    """A handler for ``raw_server``: greet, then answer each command by its verb (502 for
    the rest); an answer may be a function of the line, returning ``None`` for silence."""
    def handle(conn: socket.socket) -> None:
        conn.sendall(greeting)
        reader = conn.makefile("rb")
        with contextlib.suppress(OSError):
            while line := reader.readline():
                if record is not None:
                    record.append(line)
                answer = {**LOGIN, **answers}.get(line.split()[0].upper().decode(),
                                                    b"502 not here\r\n")
                if callable(answer):
                    answer = answer(line)
                if answer:
                    conn.sendall(answer)
    return handle


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_the_pasv_address_is_ignored_for_the_control_peer(raw_server):
    """CVE-2021-4189: ``227 (10,0,0,1,p1,p2)``; the data must come from 127.0.0.1."""
    data_listener = socket.create_server(("127.0.0.1", 0))
    data_listener.settimeout(10)
    port = data_listener.getsockname()[1]
    peers: list[str] = []

    def retr(_line: bytes) -> bytes:
        return b"150 here it comes\r\n"

    def serve_data() -> None:
        sock, address = data_listener.accept()
        peers.append(address[0])
        with sock:
            sock.sendall(b"the right bytes")

    def after_150(line: bytes) -> bytes:
        serve_data()
        return b"226 done\r\n"

    answers: dict[str, Answer] = {
        "PASV": f"227 Entering Passive Mode (10,0,0,1,{port >> 8},{port & 255})\r\n".encode(),
        "RETR": lambda line: retr(line) + (after_150(line) or b""),
    }
    peer = raw_server(fake_ftp(answers))
    out = io.BytesIO()
    with data_listener, Client("127.0.0.1", port_of(peer.address), timeouts=QUICK) as ftp:
        ftp.download("file", out)
    assert out.getvalue() == b"the right bytes" and peers == ["127.0.0.1"]


def test_active_mode_takes_the_data_connection_from_the_server_only(raw_server):
    """SECURITY.md F01: a stranger (127.0.0.2) connecting first is closed unread."""
    target: list[tuple[str, int]] = []

    def eprt(line: bytes) -> bytes:
        _, _, host, port, _ = line.decode().strip().split(" ", 1)[1].split("|")
        target.append((host, int(port)))
        return b"200 EPRT ok\r\n"

    def retr(_line: bytes) -> bytes:
        stranger = socket.socket()
        stranger.bind(("127.0.0.2", 0))
        stranger.connect(target[0])
        stranger.sendall(b"EVIL BYTES")
        with socket.create_connection(target[0], source_address=("127.0.0.1", 0)) as data:
            data.sendall(b"good bytes")
        stranger.close()
        return b"150 opening\r\n226 done\r\n"

    peer = raw_server(fake_ftp({"EPRT": eprt, "RETR": retr}))
    out = io.BytesIO()
    with Client("127.0.0.1", port_of(peer.address), passive=False, timeouts=QUICK) as ftp:
        ftp.download("file", out)
    assert out.getvalue() == b"good bytes"


def test_an_endless_multi_line_reply_is_an_error_not_a_hang(raw_server):
    def endless(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"220-welcome\r\n")
            while True:
                conn.sendall(b" and another line of banner\r\n" * 100)

    peer = raw_server(endless)
    started = time.monotonic()
    with pytest.raises(MessageTooLarge, match="lines"):
        Client("127.0.0.1", port_of(peer.address), timeouts=QUICK).connect()
    assert time.monotonic() - started < 5


def test_a_10_mb_line_is_an_error_after_8_kib(raw_server):
    def long_line(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"220 " + b"x" * (10 * 1024 * 1024))

    peer = raw_server(long_line)
    with pytest.raises(MessageTooLarge, match="8192"):
        Client("127.0.0.1", port_of(peer.address), timeouts=QUICK).connect()


def test_a_data_connection_that_never_opens_is_a_named_timeout(raw_server):
    """Active mode: the server says 150 and never connects."""
    peer = raw_server(fake_ftp({"EPRT": b"200 ok\r\n", "RETR": b"150 opening\r\n",
                                "ABOR": b"426 aborted\r\n225 ABOR ok\r\n"}))
    started = time.monotonic()
    with Client("127.0.0.1", port_of(peer.address), passive=False, timeouts=QUICK) as ftp:
        with pytest.raises(Timeout, match="FTP data connection") as info:
            ftp.download("file", io.BytesIO())
        assert "never connected" in info.value.phase
        assert time.monotonic() - started < 5
        assert ftp.stream is not None  # ABOR answered: the session goes on


def test_a_passive_port_that_refuses_is_a_connect_error(raw_server):
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    peer = raw_server(fake_ftp({"EPSV": f"229 ok (|||{port}|)\r\n".encode()}))
    with Client("127.0.0.1", port_of(peer.address), timeouts=QUICK) as ftp, \
            pytest.raises(ConnectionError, match="FTP data connection"):
        ftp.download("file", io.BytesIO())


def test_a_data_connection_that_never_speaks_is_a_named_timeout(raw_server):
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    peer = raw_server(fake_ftp({"EPSV": f"229 ok (|||{port}|)\r\n".encode(),
                                "RETR": b"150 opening\r\n"}))
    with silent, Client("127.0.0.1", port_of(peer.address), timeouts=QUICK) as ftp, \
            pytest.raises(Timeout, match="FTP data transfer"):
        ftp.download("file", io.BytesIO())


def test_a_silent_server_is_a_reply_timeout(raw_server):
    def silent(conn: socket.socket) -> None:
        conn.recv(100)  # until the client gives up and closes

    peer = raw_server(silent)
    started = time.monotonic()
    with pytest.raises(Timeout, match="FTP reply"):
        Client("127.0.0.1", port_of(peer.address), timeouts=QUICK).connect()
    assert time.monotonic() - started < 5


def test_a_short_transfer_behind_a_226_is_incomplete(raw_server):
    data_listener = socket.create_server(("127.0.0.1", 0))
    data_listener.settimeout(10)
    port = data_listener.getsockname()[1]

    def retr(_line: bytes) -> bytes:
        sock, _ = data_listener.accept()
        with sock:
            sock.sendall(b"x" * 500)
        return b"150 go\r\n226 all done, honest\r\n"

    peer = raw_server(fake_ftp({"SIZE": b"213 1000\r\n", "RETR": retr,
                                "EPSV": f"229 ok (|||{port}|)\r\n".encode()}))
    with data_listener, Client("127.0.0.1", port_of(peer.address), timeouts=QUICK) as ftp, \
            pytest.raises(TransferIncomplete, match="500 of 1000") as info:
        ftp.download("file", io.BytesIO())
    assert isinstance(info.value, ConnectionError) and info.value.received == 500


def test_plaintext_behind_the_234_to_auth_tls_is_refused(raw_server):
    peer = raw_server(fake_ftp({"AUTH": b"234 go ahead\r\n230 you are logged in\r\n"}))
    with pytest.raises(RemoteProtocolError, match="injection"):
        Client("127.0.0.1", port_of(peer.address), tls=True, timeouts=QUICK).connect()


def test_injected_commands_never_reach_the_server(raw_server):
    record: list[bytes] = []
    peer = raw_server(fake_ftp({"DELE": b"250 deleted\r\n"}, record))
    with Client("127.0.0.1", port_of(peer.address), timeouts=QUICK) as ftp:
        for name in ("a\r\nDELE b", "a\nDELE b", "a\x00b"):
            with pytest.raises(ConfigError):
                ftp.delete(name)
            with pytest.raises(ConfigError):
                ftp.download(name, io.BytesIO())
        ftp.delete("plain")
    assert [line for line in record if b"DELE" in line or b"EPSV" in line] == [
        b"DELE plain\r\n"]
