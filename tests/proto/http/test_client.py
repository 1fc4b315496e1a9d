"""The client half: sending requests and parsing responses, every response fed four ways."""

from __future__ import annotations

import pytest

from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.http import (
    NEED_DATA,
    PAUSED,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
    Role,
    State,
)

HOST = [("Host", "example.com")]


def client_for(method: str = "GET", headers: list[tuple[str, str]] | None = None) -> Connection:
    client = Connection(Role.CLIENT)
    client.send(Request(method, "/", headers or HOST))
    client.send(EndOfMessage())
    return client


def read_all(client: Connection, chunks: list[bytes], eof: bool = True) -> list[object]:
    """Feed ``chunks`` (then EOF) and collect events, merging adjacent Data pieces."""
    events: list[object] = []
    for chunk in [*chunks, *([b""] if eof else [])]:
        client.receive_data(chunk)
        while True:
            event = client.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            if isinstance(event, Data) and events and isinstance(events[-1], Data):
                events[-1] = Data(events[-1].data + event.data)
            else:
                events.append(event)
            if isinstance(event, ConnectionClosed):
                return events
    return events


def plain(events: list[object]) -> list[object]:
    """Drop chunk-boundary flags, which legitimately depend on how bytes were split."""
    return [Data(e.data) if isinstance(e, Data) else e for e in events]


def test_content_length_response(feed) -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello"
    events = plain(read_all(client_for(), feed(wire)))
    assert events == [Response(200, [("Content-Length", "5"), ("X", "y")], "OK"),
                      Data(b"hello"), EndOfMessage(), ConnectionClosed()]  # fmt: skip


def test_content_arriving_alone_is_handed_out_without_a_copy() -> None:
    """A download costs the one copy the socket made: a received piece that is all content
    becomes the Data event's bytes, the same object."""
    client = client_for()
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert isinstance(client.next_event(), Response)
    assert client.next_event() is NEED_DATA
    piece = bytes(range(6))
    client.receive_data(piece)
    assert not client.needs_data
    event = client.next_event()
    assert isinstance(event, Data) and event.data is piece
    assert client.needs_data


def test_a_whole_piece_running_past_the_content_keeps_the_rest_in_order() -> None:
    """The bytes after the content (here the start of a second response, then more bytes
    fed before the first piece was read) stay in order behind it."""
    client = client_for()
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
    assert isinstance(client.next_event(), Response)
    assert client.next_event() is NEED_DATA
    client.receive_data(b"abcHTTP/1.1 204 No")
    client.receive_data(b" Content\r\n\r\n")
    assert client.next_event() == Data(b"abc")
    assert client.next_event() == EndOfMessage()
    assert client.their_state is State.DONE
    client.start_next_cycle()
    client.send(Request("GET", "/", HOST))
    client.send(EndOfMessage())
    assert client.next_event() == Response(204, [], "No Content")


def test_content_until_close_is_handed_out_whole(feed) -> None:
    client = client_for()
    client.receive_data(b"HTTP/1.0 200 OK\r\n\r\n")
    assert isinstance(client.next_event(), Response)
    assert client.next_event() is NEED_DATA
    for piece in feed(b"everything until the close"):
        client.receive_data(piece)
    client.receive_data(b"")
    data = b""
    while isinstance(event := client.next_event(), Data):
        data += event.data
    assert data == b"everything until the close" and event == EndOfMessage()


def test_chunked_response_with_trailers(feed) -> None:
    wire = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n")  # fmt: skip
    events = plain(read_all(client_for(), feed(wire)))
    assert events[1:] == [Data(b"hello world"), EndOfMessage([("X-Sum", "1")]), ConnectionClosed()]


@pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_no_body_responses_ignore_their_length(feed, method: str, status: int) -> None:
    wire = b"HTTP/1.1 %d X\r\nContent-Length: 1234\r\n\r\n" % status
    client = client_for(method)
    events = read_all(client, feed(wire + b"HTTP/1.1 200 OK\r\n"), eof=False)
    assert [type(e) for e in events] == [Response, EndOfMessage]
    assert client.states == {Role.CLIENT: State.DONE, Role.SERVER: State.DONE}
    client.start_next_cycle()  # the next response's head is already buffered, intact
    client.send(Request("GET", "/", HOST))
    client.send(EndOfMessage())
    client.receive_data(b"Content-Length: 0\r\n\r\n")
    assert isinstance(client.next_event(), Response)


def test_http10_response_reads_until_close(feed) -> None:
    wire = b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of this is body"
    client = client_for()
    events = plain(read_all(client, feed(wire)))
    assert events[1:] == [Data(b"all of this is body"), EndOfMessage(), ConnectionClosed()]
    assert client.next_event() == ConnectionClosed()  # and again: the state is CLOSED
    assert client.our_state is State.MUST_CLOSE


def test_http10_keep_alive_response_is_reusable() -> None:
    client = client_for()
    client.receive_data(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok")
    assert [type(client.next_event()) for _ in range(3)] == [Response, Data, EndOfMessage]
    client.start_next_cycle()


def test_te_response_not_ending_in_chunked_reads_until_close(feed) -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8bdata"
    events = plain(read_all(client_for(), feed(wire)))
    assert events[1:] == [Data(b"\x1f\x8bdata"), EndOfMessage(), ConnectionClosed()]


def test_100_continue(feed) -> None:
    client = Connection(Role.CLIENT)
    client.send(Request("PUT", "/", [*HOST, ("Content-Length", "5"),
                                     ("Expect", "100-continue")]))  # fmt: skip
    assert client.client_is_waiting_for_100_continue
    assert read_all(client, feed(b"HTTP/1.1 100 Continue\r\n\r\n"), eof=False) == [
        InformationalResponse(100, reason="Continue")]  # fmt: skip
    assert not client.client_is_waiting_for_100_continue
    assert client.send(Data(b"hello")) == b"hello"
    assert client.send(EndOfMessage()) == b""
    events = read_all(client, feed(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
    assert [type(e) for e in events] == [Response, EndOfMessage, ConnectionClosed]


def test_sending_content_stops_the_wait() -> None:
    client = Connection(Role.CLIENT)
    client.send(Request("PUT", "/", [*HOST, ("Content-Length", "2"), ("Expect", "100-continue")]))
    client.send_data(b"ok")
    assert not client.client_is_waiting_for_100_continue


def test_early_hints_then_response(feed) -> None:
    wire = (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # fmt: skip
    events = read_all(client_for(), feed(wire))
    assert [type(e) for e in events] == [
        InformationalResponse, Response, EndOfMessage, ConnectionClosed]  # fmt: skip


def test_upgrade_switches_protocols() -> None:
    client = client_for("GET", [*HOST, ("Connection", "Upgrade"), ("Upgrade", "websocket")])
    assert client.our_state is State.MIGHT_SWITCH_PROTOCOL
    client.receive_data(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\n\r\n\x81\x05hello")  # fmt: skip
    assert client.next_event() == InformationalResponse(
        101, [("Upgrade", "websocket"), ("Connection", "Upgrade")], "Switching Protocols")
    assert client.next_event() is PAUSED
    assert client.states == {Role.CLIENT: State.SWITCHED_PROTOCOL,
                             Role.SERVER: State.SWITCHED_PROTOCOL}  # fmt: skip
    assert client.trailing_data == (b"\x81\x05hello", False)


def test_declined_upgrade_is_an_ordinary_response() -> None:
    client = client_for("GET", [*HOST, ("Connection", "Upgrade"), ("Upgrade", "websocket")])
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert [type(client.next_event()) for _ in range(2)] == [Response, EndOfMessage]
    assert client.our_state is State.DONE


def test_connect_tunnel() -> None:
    client = Connection(Role.CLIENT)
    client.send(Request("CONNECT", "example.com:443", [("Host", "example.com:443")]))
    client.send(EndOfMessage())
    client.receive_data(b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01")
    assert isinstance(client.next_event(), Response)
    assert client.next_event() is PAUSED
    assert client.trailing_data[0] == b"\x16\x03\x01"


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                     id="CL and TE"),
        pytest.param(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="TE on 1.0"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
                     id="two CL"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative CL"),
        pytest.param(b"HTTP/2.0 200 OK\r\n\r\n", id="HTTP/2"),
        pytest.param(b"HTTP/1.1 20 OK\r\n\r\n", id="two-digit status"),
        pytest.param(b"HTTP/1.1 099 Old\r\n\r\n", id="status below 100"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", id="obs-fold"),
        pytest.param(b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", id="bare LF"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
                     id="bad chunk end"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", id="short body"),
        pytest.param(b"", id="closed without a response"),
        pytest.param(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", id="unrequested 101"),
    ],
)
def test_bad_responses_are_refused(feed, wire: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        read_all(client_for(), feed(wire))


def test_status_line_without_reason() -> None:
    client = client_for()
    client.receive_data(b"HTTP/1.1 204\r\n\r\n")
    assert client.next_event() == Response(204, reason="")


def test_request_serialisation() -> None:
    client = Connection(Role.CLIENT)
    head = client.send(Request("POST", "/x?y=1", [*HOST, ("Transfer-Encoding", "chunked")]))
    assert head == (
        b"POST /x?y=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert client.send(Data(b"abc")) == b"3\r\nabc\r\n"
    assert client.send(EndOfMessage([("X-Sum", "1")])) == b"0\r\nX-Sum: 1\r\n\r\n"


@pytest.mark.parametrize(
    ("request_event", "message"),
    [
        (Request("GET", "/", []), "Host"),
        (Request("GET", "/a b", HOST), "request-target"),
        (Request("GE T", "/", HOST), "method"),
        (Request("GET", "/", [*HOST, ("Transfer-Encoding", "gzip")]), "chunked"),
        (Request("GET", "/", [*HOST, ("X", "a\r\nY: b")]), "header value"),
    ],
)
def test_bad_requests_are_not_sent(request_event: Request, message: str) -> None:
    client = Connection(Role.CLIENT)
    with pytest.raises(LocalProtocolError, match=message) as info:
        client.send(request_event)
    assert info.value.status == 500
    assert client.our_state is State.IDLE  # nothing was sent, nothing changed


def test_request_without_framing_has_no_body() -> None:
    client = Connection(Role.CLIENT)
    client.send(Request("GET", "/", HOST))
    with pytest.raises(LocalProtocolError):
        client.send(Data(b"x"))
    assert client.send(EndOfMessage()) == b""


def test_client_connection_close_ends_keep_alive() -> None:
    client = client_for("GET", [*HOST, ("Connection", "close")])
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    client.next_event()
    client.next_event()
    assert client.our_state is State.MUST_CLOSE
