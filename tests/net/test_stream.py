"""Stream over real loopback sockets: partial reads, EOF mid-message, timeouts, limits."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
import trustme

from wirekit.config import Timeouts
from wirekit.errors import (
    ConfigError,
    ConnectError,
    ConnectionClosed,
    IncompleteRead,
    LocalProtocolError,
    MessageTooLarge,
    Timeout,
    TLSError,
)
from wirekit.net import LengthPrefixFramer, LineFramer, connect, listen, server_context

from ..conftest import needs_ipv6


def trickle(data: bytes):
    """A peer that sends ``data`` one byte per segment, then closes."""

    def handler(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            time.sleep(0.001)

    return handler


def test_partial_reads_are_reassembled(raw_server):
    peer = raw_server(trickle(b"HELLO\r\nWORLD\r\n0123456789tail"))
    with connect(peer.address) as stream:
        assert stream.readline() == b"HELLO\r\n"
        assert stream.recv_until(b"\r\n", keep=False) == b"WORLD"
        assert stream.recv_exactly(10) == b"0123456789"
        assert stream.readline() == b"tail"  # last line without LF, as files do
        assert stream.readline() == b""
        assert stream.recv() == b""
        assert stream.bytes_received == 28


def test_eof_mid_message_says_how_many_bytes_arrived(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"abc"))
    with connect(peer.address) as stream, pytest.raises(IncompleteRead) as info:
        stream.recv_exactly(10)
    assert info.value.partial == b"abc"
    assert "3 of 10 bytes" in str(info.value)
    assert isinstance(info.value, ConnectionError)


def test_eof_before_delimiter_is_an_incomplete_read(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"no terminator"))
    with connect(peer.address) as stream, pytest.raises(IncompleteRead, match="13 bytes"):
        stream.recv_until(b"\n")


def test_a_silent_peer_times_out_with_the_phase_named(raw_server):
    peer = raw_server(lambda conn: conn.recv(1))
    with connect(peer.address) as stream:
        with pytest.raises(Timeout, match="read") as info:
            stream.recv_exactly(1, timeout=0.2)
        assert isinstance(info.value, TimeoutError)
        stream.sendall(b"x")


def test_the_deadline_covers_the_whole_message_not_each_recv(raw_server):
    """A slow-drip peer that beats every per-recv timeout still hits the total deadline."""

    def drip(conn: socket.socket) -> None:
        for _ in range(40):
            conn.sendall(b"x")
            time.sleep(0.05)

    peer = raw_server(drip)
    with connect(peer.address) as stream, pytest.raises(Timeout):
        stream.recv_exactly(40, timeout=0.5)


def test_default_timeouts_are_finite(raw_server):
    peer = raw_server(lambda conn: conn.recv(1))
    with connect(peer.address, timeouts=Timeouts(read=0.2)) as stream, pytest.raises(Timeout):
        stream.readline()


def test_oversized_line_is_refused(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"x" * 5000 + b"\n"))
    with connect(peer.address) as stream, pytest.raises(MessageTooLarge):
        stream.readline(limit=1000)


def test_framed_messages_over_a_socket(raw_server):
    framer = LengthPrefixFramer()
    payload = b"".join(framer.encode(m) for m in (b"one", b"", b"three" * 1000))
    peer = raw_server(lambda c: c.sendall(payload))
    with connect(peer.address) as stream:
        reader = LengthPrefixFramer()
        assert stream.read_message(reader) == b"one"
        assert stream.read_message(reader) == b""
        assert stream.read_message(reader) == b"three" * 1000
        assert stream.read_message(reader) is None


def test_bytes_after_a_message_belong_to_the_stream_not_the_framer(raw_server):
    # A new framer per call, or readline() after a framer, lost what the last read held.
    frames = LengthPrefixFramer()
    payload = b"first\nsecond\n" + frames.encode(b"binary") + b"tail line\nrest"
    peer = raw_server(lambda c: c.sendall(payload))
    with connect(peer.address) as stream:
        assert stream.read_message(LineFramer()) == b"first"
        assert stream.read_message(LineFramer()) == b"second"          # a new framer
        assert stream.read_message(LengthPrefixFramer()) == b"binary"  # another protocol
        assert stream.readline() == b"tail line\n"
        assert stream.recv_exactly(4) == b"rest"


async def _async_switch(address: str) -> list[bytes | None]:
    import asyncio

    from wirekit.net.aio import AsyncStream, StreamProtocol

    host, port = address.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(StreamProtocol, host, int(port))
    stream = AsyncStream(protocol)
    try:
        return [await stream.read_message(LineFramer()), await stream.read_message(LineFramer()),
                await stream.readline(), await stream.read_message(LineFramer())]
    finally:
        transport.close()


def test_the_asyncio_stream_keeps_bytes_across_framers_too(raw_server):
    import asyncio

    peer = raw_server(lambda c: c.sendall(b"one\ntwo\nthree\n"))
    assert asyncio.run(_async_switch(peer.address)) == [b"one", b"two", b"three\n", None]


def test_makefile_reads_and_writes_like_a_socket_file(raw_server):
    # Course slide 1-38: wrap the connection in a file and use readline / write.
    def greet(conn: socket.socket) -> None:
        conn.sendall(b"220 hello\r\n")
        data = b""
        while not data.endswith(b"\n"):
            data += conn.recv(100)
        conn.sendall(b"you said " + data)

    peer = raw_server(greet)
    with connect(peer.address) as stream:
        assert stream.readline() == b"220 hello\r\n"
        text = stream.makefile("rw", encoding="utf-8", newline="")
        text.write("héllo\n")
        text.flush()
        assert text.readline() == "you said héllo\n"
        assert text.read() == ""  # EOF
        text.close()
        assert not stream.closed  # the file does not own the stream


def test_makefile_sees_bytes_the_stream_already_holds(raw_server):
    peer = raw_server(lambda c: c.sendall(b"line one\nline two\n"))
    with connect(peer.address) as stream:
        assert stream.read_message(LineFramer()) == b"line one"
        assert list(stream.makefile("rb")) == [b"line two\n"]
    with pytest.raises(ConfigError):
        stream.makefile("rx")


def test_framed_message_cut_short_raises(raw_server):
    peer = raw_server(lambda c: c.sendall(LengthPrefixFramer().encode(b"0123456789")[:8]))
    with connect(peer.address) as stream, pytest.raises(IncompleteRead, match="4 of 10"):
        stream.read_message(LengthPrefixFramer())


def test_line_iteration_and_half_close(raw_server):
    def echo_lines(conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(100):
            data += chunk
        conn.sendall(data.upper())

    peer = raw_server(echo_lines)
    with connect(peer.address) as stream:
        stream.sendall(b"a\nb\nc\n")
        stream.shutdown("write")  # the peer reads EOF and answers
        assert list(stream) == [b"A\n", b"B\n", b"C\n"]


def test_connect_refused_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: refused
        with pytest.raises(ConnectError, match="refused"):
            connect(f"127.0.0.1:{port}")


def test_a_connect_nobody_answers_times_out_within_its_deadline():
    """A listener whose accept queue is full drops the SYN, so the handshake never ends; the
    connect gives up when its timeout passes, not after the kernel's minutes of retries."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = []
        try:
            for _ in range(8):  # fill the accept queue (its length is the backlog plus one)
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(listener.getsockname())
                fillers.append(filler)
            started = time.monotonic()
            with pytest.raises(Timeout, match="connect"):
                connect(listener.getsockname(), timeout=0.3)
            elapsed = time.monotonic() - started
        finally:
            for filler in fillers:
                filler.close()
    assert 0.25 <= elapsed < 1.5


def test_writing_to_a_reset_connection_is_connection_closed(raw_server):
    def reset(conn: socket.socket) -> None:
        conn.recv(2)  # wait until the client is surely connected, then reset
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    peer = raw_server(reset)
    with connect(peer.address) as stream:
        stream.sendall(b"go")
        time.sleep(0.1)
        with pytest.raises(ConnectionClosed):
            for _ in range(100):
                stream.sendall(b"x" * 65536)
                time.sleep(0.01)


@needs_ipv6
def test_ipv6_loopback(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"v6\n"), family="ipv6")
    with connect(peer.address) as stream:
        assert stream.readline() == b"v6\n"
        assert stream.peer.host == "::1"


def test_unix_socket(raw_server, short_tmp):
    peer = raw_server(lambda conn: conn.sendall(conn.recv(100)[::-1]), family="unix",
                      path=str(short_tmp / "s"))
    with connect(peer.address) as stream:
        stream.sendall(b"olleh")
        assert stream.recv_exactly(5) == b"hello"


def test_listen_and_accept_give_streams_too():
    with listen("127.0.0.1:0") as listener:
        assert listener.address.port != 0
        with connect(listener.address) as client, listener.accept(timeout=5) as server:
            client.send_message(LineFramer(), b"ping")
            assert server.read_message(LineFramer()) == b"ping"
            assert server.peer == client.local


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    ca_path, chain_path = folder / "ca.pem", folder / "chain.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain_path))
    return str(ca_path), str(chain_path)


def tls_echo(chain_path: str):
    context = server_context(chain_path)

    def handler(conn: socket.socket) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(100))
        except (ssl.SSLError, OSError):
            pass  # a client that refused our certificate

    return handler


def test_tls_is_verified_against_a_trusted_ca(raw_server, tls_material):
    from wirekit.config import TLSConfig

    ca_path, chain_path = tls_material
    peer = raw_server(tls_echo(chain_path))
    with connect(peer.address, tls=TLSConfig(cafile=ca_path), server_hostname="localhost") as s:
        assert s.is_tls
        s.sendall(b"secret")
        assert s.recv_exactly(6) == b"secret"
        with pytest.raises(LocalProtocolError, match="half-closed"):
            s.shutdown("write")  # would silently drop the TLS layer in the ssl module


def test_tls_with_an_untrusted_certificate_is_refused_by_default(raw_server, tls_material):
    _, chain_path = tls_material
    peer = raw_server(tls_echo(chain_path))
    with pytest.raises(TLSError, match="certificate"):
        connect(peer.address, tls=True, server_hostname="localhost")


def test_starttls_refuses_plaintext_that_arrived_before_the_upgrade(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"220 go\r\n250 injected\r\n"))
    with connect(peer.address) as stream:
        assert stream.readline() == b"220 go\r\n"
        assert stream.buffer.peek() == b"250 injected\r\n"  # same segment, now buffered
        with pytest.raises(LocalProtocolError, match="plaintext"):
            stream.start_tls(ssl.create_default_context())


def test_tls_and_socket_errors_translate_to_the_named_tree():
    from wirekit.errors import ConnectError as Refused
    from wirekit.net.oserrors import translate

    assert isinstance(translate(ssl.SSLWantReadError(), "read", 1.0), Timeout)
    assert isinstance(translate(ssl.SSLWantWriteError(), "send", 1.0), Timeout)
    assert isinstance(translate(ssl.SSLError("bad record"), "read"), TLSError)
    refused = translate(ConnectionRefusedError(111, "refused"), "connect")
    assert isinstance(refused, Refused) and refused.errno == 111
    assert isinstance(translate(BrokenPipeError(32, "pipe"), "send"), ConnectionClosed)


def test_armed_socket_carries_the_stream_timeouts_in_the_kernel(raw_server):
    """For hot loops that call recv/sendall themselves: the bounds still hold."""
    def silent(conn: socket.socket) -> None:
        conn.sendall(b"one\n")
        time.sleep(1.0)

    peer = raw_server(silent)
    with connect(peer.address, timeouts=Timeouts(read=0.2, write=0.5)) as stream:
        sock = stream.armed_socket()
        assert sock is stream.socket and sock.gettimeout() is None  # blocking, kernel-bound
        assert sock.recv(100) == b"one\n"
        with pytest.raises(BlockingIOError):  # SO_RCVTIMEO fired (the peer then closes:
            sock.recv(100)                     # without the bound, recv would return b"")
        stream.buffer.feed(b"buffered")
        assert stream.armed_socket() is None  # bytes in hand: use the stream's own reads
