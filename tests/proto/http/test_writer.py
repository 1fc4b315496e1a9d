"""Serialising responses: framing choices, HEAD, validation of what applications hand us."""

from __future__ import annotations

import re

import pytest

from wirekit.errors import ConfigError, LocalProtocolError
from wirekit.proto.http import (
    Connection,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
    Role,
    State,
)

DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


def server_with(request: bytes, **kwargs: object) -> Connection:
    conn = Connection(Role.SERVER, **kwargs)  # type: ignore[arg-type]
    conn.receive_data(request)
    assert isinstance(conn.next_event(), Request)
    assert isinstance(conn.next_event(), EndOfMessage)
    return conn


GET11 = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
GET10 = b"GET / HTTP/1.0\r\n\r\n"
HEAD11 = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"


def fields_of(head: bytes) -> list[bytes]:
    return DATE.sub(b"", head).split(b"\r\n\r\n")[0].split(b"\r\n")[1:]


def test_known_body_gets_content_length_and_one_buffer() -> None:
    out = server_with(GET11).send_response(200, [("Content-Type", "text/plain")], b"hello")
    assert out.startswith(b"HTTP/1.1 200 OK\r\nDate: ")
    assert DATE.search(out)
    assert fields_of(out) == [b"Server: wirekit", b"Content-Type: text/plain",
                              b"Content-Length: 5"]  # fmt: skip
    assert out.endswith(b"\r\n\r\nhello")


@pytest.mark.parametrize(("request_bytes", "content"), [
    (GET11, b"hello"), (HEAD11, b""), (GET10, b"hello"),
])
def test_send_response_parts_is_send_response_cut_after_the_head(request_bytes: bytes,
                                                                 content: bytes) -> None:
    """For a large body the caller writes the content after the head instead of joining
    them; the parts are exactly what ``send_response`` gives, and the state moves the same."""
    whole_conn, parts_conn = server_with(request_bytes), server_with(request_bytes)
    whole = whole_conn.send_response(200, [("Content-Type", "text/plain")], b"hello")
    head, rest = parts_conn.send_response_parts(200, [("Content-Type", "text/plain")],
                                                b"hello")
    assert DATE.sub(b"", head + rest) == DATE.sub(b"", whole)
    assert rest == content and head.endswith(b"\r\n\r\n")
    assert parts_conn.states == whole_conn.states


def test_streamed_body_is_chunked_for_http11() -> None:
    conn = server_with(GET11)
    head = conn.send(Response(200, [("Content-Type", "text/plain")]))
    assert b"Transfer-Encoding: chunked\r\n" in head
    assert conn.send(Data(b"hello")) == b"5\r\nhello\r\n"
    assert conn.send_data(b"") == b""  # an empty chunk would end the message
    assert conn.send(EndOfMessage()) == b"0\r\n\r\n"
    assert conn.our_state is State.DONE


def test_streamed_body_to_http10_is_close_delimited() -> None:
    conn = server_with(GET10)
    head = conn.send(Response(200))
    assert b"Transfer-Encoding" not in head
    assert b"Connection: close\r\n" in head
    assert conn.send_data(b"raw") == b"raw"
    assert conn.send_end_of_message() == b""
    assert conn.our_state is State.MUST_CLOSE


def test_http10_keep_alive_gets_length_and_keep_alive() -> None:
    conn = server_with(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    out = conn.send_response(200, body=b"x")
    assert b"Connection: keep-alive\r\n" in out
    assert b"Content-Length: 1\r\n" in out
    assert conn.our_state is State.DONE


def test_app_chunked_to_http10_becomes_close_delimited() -> None:
    conn = server_with(GET10)
    head = conn.send(Response(200, [("Transfer-Encoding", "chunked")]))
    assert b"Transfer-Encoding" not in head
    assert conn.send_data(b"abc") == b"abc"


def test_head_announces_length_but_sends_no_body() -> None:
    out = server_with(HEAD11).send_response(200, body=b"hello")
    assert b"Content-Length: 5\r\n" in out
    assert out.endswith(b"\r\n\r\n")
    conn = server_with(HEAD11)
    head = conn.send(Response(200))
    assert b"Transfer-Encoding: chunked" in head  # what GET would have said
    assert conn.send_data(b"dropped") == b""
    assert conn.send_end_of_message() == b""


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_statuses(status: int) -> None:
    conn = server_with(GET11)
    head = conn.send(Response(status, [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]))
    assert b"Transfer-Encoding" not in head
    assert (b"Content-Length: 5" in head) is (status == 304)  # 304 may describe the GET
    assert conn.send_data(b"ignored") == b""
    assert conn.send_end_of_message() == b""


def test_app_content_length_is_enforced() -> None:
    conn = server_with(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, [("Content-Length", "10")], b"short")
    assert conn.our_state is State.SEND_RESPONSE  # nothing sent: a 500 can still go out
    assert conn.send_response(500, body=b"oops").startswith(b"HTTP/1.1 500 ")
    conn = server_with(GET11)
    conn.send(Response(200, [("Content-Length", "3")]))
    with pytest.raises(LocalProtocolError):
        conn.send_data(b"toolong")
    conn.send_data(b"ab")
    with pytest.raises(LocalProtocolError):
        conn.send_end_of_message()
    conn.send_failed()
    assert conn.our_state is State.ERROR


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X", "v\r\nSet-Cookie: x=1"),
        ("X", "a\rb"),
        ("X", "a\nb"),
        ("X", "a\x00b"),
        ("X", "a\x7fb"),
        ("X-A:B", "v"),
        ("X A", "v"),
        ("X\n", "v"),
        ("X\x00", "v"),
        ("", "v"),
        ("X", "\u2603"),  # not latin-1
        ("Content-Length", "5a"),
        ("Transfer-Encoding", "gzip"),
    ],
)
def test_bad_fields_are_500_before_anything_is_written(name: str, value: str) -> None:
    conn = server_with(GET11)
    with pytest.raises(LocalProtocolError) as info:
        conn.send_response(200, [(name, value)], b"")
    assert info.value.status == 500
    assert conn.our_state is State.SEND_RESPONSE
    out = conn.send_response(500, [("Content-Type", "text/plain")], b"Internal Server Error")
    assert b"Set-Cookie" not in out


@pytest.mark.parametrize("reason", ["OK\r\nX: y", "O\nK", "\x00"])
def test_bad_reason_phrase(reason: str) -> None:
    with pytest.raises(LocalProtocolError):
        server_with(GET11).send_response(200, reason=reason)


def test_obs_text_and_htab_values_pass_through() -> None:
    out = server_with(GET11).send_response(200, [("X", "caf\xe9\tok")], b"")
    assert b"X: caf\xe9\tok\r\n" in out


def test_date_and_server_are_not_duplicated() -> None:
    out = server_with(GET11).send_response(200, [("date", "x"), ("SERVER", "app")], b"")
    assert out.lower().count(b"date:") == 1
    assert out.lower().count(b"server:") == 1
    out = server_with(GET11, server_header=None).send_response(200)
    assert b"Server:" not in out


def test_server_header_must_be_valid() -> None:
    with pytest.raises(ConfigError):
        Connection(Role.SERVER, server_header="x\r\nY: z")


def test_connection_close_from_the_app_ends_keep_alive() -> None:
    conn = server_with(GET11)
    out = conn.send_response(200, [("Connection", "close")], b"")
    assert out.count(b"Connection") == 1
    assert conn.our_state is State.MUST_CLOSE


def test_error_reply_without_a_request_closes() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(b"GET /partial")  # then the header deadline expires
    assert conn.partial_head
    out = conn.send_response(408, [("Content-Type", "text/plain")], b"timeout")
    assert out.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close\r\n" in out
    assert conn.our_state is State.MUST_CLOSE


def test_trailers_need_chunked_and_are_checked() -> None:
    conn = server_with(GET11)
    conn.send(Response(200))
    assert conn.send_end_of_message([("X-Sum", "1")]) == b"0\r\nX-Sum: 1\r\n\r\n"
    conn = server_with(GET11)
    conn.send(Response(200))
    with pytest.raises(LocalProtocolError):
        conn.send_end_of_message([("Content-Length", "1")])
    conn = server_with(GET11)
    conn.send(Response(200, [("Content-Length", "0")]))
    with pytest.raises(LocalProtocolError):
        conn.send(EndOfMessage([("X", "1")]))


def test_informational_responses() -> None:
    conn = server_with(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert conn.send(InformationalResponse(103, [("Link", "</a>")])) == (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")  # fmt: skip
    with pytest.raises(LocalProtocolError):
        conn.send_response(100)
    with pytest.raises(LocalProtocolError):
        InformationalResponse(200)
    with pytest.raises(LocalProtocolError):
        Response(99)


def test_101_needs_an_upgrade_request() -> None:
    conn = server_with(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send(InformationalResponse(101, [("Upgrade", "x")]))
    conn = server_with(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
    conn.send(InformationalResponse(101, [("Upgrade", "x"), ("Connection", "Upgrade")]))
    assert conn.states == {Role.CLIENT: State.SWITCHED_PROTOCOL,
                           Role.SERVER: State.SWITCHED_PROTOCOL}  # fmt: skip


def test_wrong_role_and_state() -> None:
    with pytest.raises(LocalProtocolError):
        Connection(Role.CLIENT).send_response(200)
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).send(Request("GET", "/", [("Host", "a")]))
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).send_data(b"x")
    with pytest.raises(TypeError):
        Connection(Role.SERVER).send("not an event")  # type: ignore[arg-type]


def test_bytes_fields_are_accepted_as_latin1() -> None:
    out = server_with(GET11).send_response(200, [(b"X", b"\xe9")], b"")  # type: ignore[list-item]
    assert b"X: \xe9\r\n" in out


REQUEST_FIELDS = [("Host", "example.com"), ("Content-Type", "text/xml")]


def _finished_cycle(conn: Connection) -> None:
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(conn.next_event(), Response)
    assert isinstance(conn.next_event(), EndOfMessage)
    conn.start_next_cycle()


@pytest.mark.parametrize("body", [b"", b"<call/>"])
def test_send_request_is_the_three_sends_in_one_buffer(body: bytes) -> None:
    """The client hot path gives the bytes and states of the event path, again and again
    (the repeated head comes from the memo, with a fresh length writer each time)."""
    whole, events = Connection(Role.CLIENT), Connection(Role.CLIENT)
    for _ in range(3):
        out = whole.send_request("POST", "/RPC2", REQUEST_FIELDS, body)
        fields = [*REQUEST_FIELDS, ("Content-Length", str(len(body)))] if body \
            else REQUEST_FIELDS
        expected = events.send(Request("POST", "/RPC2", fields))
        expected += (events.send(Data(body)) if body else b"") + events.send(EndOfMessage())
        assert out == expected
        assert whole.states == events.states == {Role.CLIENT: State.DONE,
                                                 Role.SERVER: State.SEND_RESPONSE}
        _finished_cycle(whole)
        _finished_cycle(events)


def test_send_request_refuses_before_any_state_changes() -> None:
    conn = Connection(Role.CLIENT)
    with pytest.raises(LocalProtocolError):  # the declared length is not the body's
        conn.send_request("POST", "/", [*REQUEST_FIELDS, ("Content-Length", "10")], b"short")
    with pytest.raises(LocalProtocolError):  # injection: refused even after a clean one
        conn.send_request("POST", "/", [("Host", "a"), ("X", "1\r\nEvil: 1")], b"x")
    assert conn.our_state is State.IDLE
    assert conn.send_request("POST", "/", REQUEST_FIELDS, b"ok").endswith(b"\r\n\r\nok")
