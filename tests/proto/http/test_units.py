"""Small pieces: Headers, the state tables, reason phrases and the Date cache."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from wirekit.errors import LocalProtocolError
from wirekit.proto.http import (
    REASON_PHRASES,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Headers,
    InformationalResponse,
    Request,
    Response,
    Role,
    State,
    format_http_date,
    http_date,
    reason_phrase,
)
from wirekit.proto.http.state import EVENT_TRANSITIONS, ConnectionState, Switch


def test_headers_lookup_is_case_insensitive_and_keeps_raw_names() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("X-Token", "t"), ("set-cookie", "b=2")])
    assert list(headers.fields) == [("Set-Cookie", "a=1"), ("X-Token", "t"),
                                    ("set-cookie", "b=2")]
    assert headers["x-token"] == headers.get("X-TOKEN") == "t"
    assert headers.get_list("SET-COOKIE") == ["a=1", "b=2"]
    assert headers["set-cookie"] == "a=1, b=2"
    assert "x-token" in headers
    assert "missing" not in headers
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert len(headers) == 2  # distinct names; the lines are headers.fields
    with pytest.raises(KeyError):
        headers["missing"]


def test_headers_are_a_mapping_that_loses_no_repeated_field() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("X-Token", "t"), ("set-cookie", "b=2")])
    assert isinstance(headers, Mapping)
    assert list(headers) == list(headers.keys()) == ["Set-Cookie", "X-Token"]
    assert dict(headers) == {"Set-Cookie": "a=1, b=2", "X-Token": "t"}
    assert list(headers.items()) == [("Set-Cookie", "a=1, b=2"), ("X-Token", "t")]
    assert list(headers.values()) == ["a=1, b=2", "t"]
    assert headers.get_list("set-cookie") == ["a=1", "b=2"]  # never combined
    assert Headers(headers.fields) == headers and Headers(dict(headers)) != headers
    assert not Headers() and headers


def test_headers_tokens_and_construction() -> None:
    headers = Headers({"Connection": " Keep-Alive, ,Upgrade "})
    assert headers.get_tokens("connection") == ["keep-alive", "upgrade"]
    assert Headers([(b"X", b"\xe9")]) == Headers([("x", "\xe9")])
    assert Headers(headers) == headers
    assert Headers([("A", "1")]) != Headers([("A", "2")])
    assert repr(Headers([("A", "1")])) == "Headers([('A', '1')])"
    with pytest.raises(TypeError):
        Headers([("A", 1)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        hash(headers)


def test_events_are_frozen_and_convert_headers() -> None:
    request = Request("GET", "/", [("Host", "a")])
    assert isinstance(request.headers, Headers)
    with pytest.raises(AttributeError):
        request.method = "POST"  # type: ignore[misc]
    assert EndOfMessage([("A", "1")]).trailers == Headers([("A", "1")])
    assert Response(200) == Response(200, Headers(), "", "1.1")
    assert Data(b"x") != Data(b"x", chunk_start=True)


def test_every_state_has_a_row_for_each_role() -> None:
    for role, table in EVENT_TRANSITIONS.items():
        expected = set(State) - ({State.SEND_RESPONSE} if role is Role.CLIENT else set())
        expected -= {State.MIGHT_SWITCH_PROTOCOL} if role is Role.SERVER else set()
        assert set(table) == expected, role
        for row in table.values():
            for trigger in row:
                event_type = trigger[0] if isinstance(trigger, tuple) else trigger
                assert event_type in (Request, Response, InformationalResponse, Data,
                                      EndOfMessage, ConnectionClosed)  # fmt: skip


def test_keep_alive_cycle_and_close() -> None:
    state = ConnectionState()
    state.process_event(Role.CLIENT, Request)
    assert state.states == {Role.CLIENT: State.SEND_BODY, Role.SERVER: State.SEND_RESPONSE}
    state.process_event(Role.CLIENT, EndOfMessage)
    state.process_event(Role.SERVER, Response)
    state.process_event(Role.SERVER, EndOfMessage)
    state.start_next_cycle()
    assert state.states == {Role.CLIENT: State.IDLE, Role.SERVER: State.IDLE}
    state.process_event(Role.CLIENT, Request)
    state.process_keep_alive_disabled()
    state.process_event(Role.CLIENT, EndOfMessage)
    assert state.states[Role.CLIENT] is State.MUST_CLOSE
    with pytest.raises(LocalProtocolError):
        state.start_next_cycle()


def test_peer_close_and_error_end_keep_alive() -> None:
    state = ConnectionState()
    state.process_event(Role.CLIENT, ConnectionClosed)
    assert state.states == {Role.CLIENT: State.CLOSED, Role.SERVER: State.MUST_CLOSE}
    state = ConnectionState()
    state.process_event(Role.CLIENT, Request)
    state.process_event(Role.CLIENT, EndOfMessage)
    state.process_event(Role.SERVER, Response)
    state.process_error(Role.SERVER)
    assert state.states == {Role.CLIENT: State.MUST_CLOSE, Role.SERVER: State.ERROR}


def test_switch_proposals() -> None:
    state = ConnectionState()
    state.process_event(Role.CLIENT, Request)
    state.process_client_switch_proposal(Switch.UPGRADE)
    state.process_event(Role.CLIENT, EndOfMessage)
    assert state.states[Role.CLIENT] is State.MIGHT_SWITCH_PROTOCOL
    with pytest.raises(LocalProtocolError):
        state.process_event(Role.SERVER, Response, Switch.CONNECT)  # not proposed
    state.process_event(Role.SERVER, InformationalResponse, Switch.UPGRADE)
    assert state.states == {Role.CLIENT: State.SWITCHED_PROTOCOL,
                            Role.SERVER: State.SWITCHED_PROTOCOL}  # fmt: skip


def test_declined_switch_returns_to_done() -> None:
    state = ConnectionState()
    state.process_event(Role.CLIENT, Request)
    state.process_client_switch_proposal(Switch.CONNECT)
    state.process_event(Role.CLIENT, EndOfMessage)
    state.process_event(Role.SERVER, Response)
    assert state.states[Role.CLIENT] is State.DONE
    assert not state.pending_switches


def test_reason_phrases() -> None:
    assert reason_phrase(200) == "OK"
    assert reason_phrase(431) == "Request Header Fields Too Large"
    assert reason_phrase(299) == ""
    assert all(100 <= code <= 599 for code in REASON_PHRASES)
    with pytest.raises(TypeError):
        REASON_PHRASES[200] = "Fine"  # type: ignore[index]


def test_http_date_is_imf_fixdate_and_cached_per_second() -> None:
    assert format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"  # RFC 9110 §5.6.7
    first = http_date(784111777.1)
    assert first == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(784111777.9) is first  # same second: the cached object itself
    assert http_date(784111778.0) == "Sun, 06 Nov 1994 08:49:38 GMT"
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT",
                        http_date())  # fmt: skip
