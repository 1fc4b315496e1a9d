"""L08: property tests with mutated requests, and h11 (0.16) as a differential oracle.

Invariants (SECURITY.md §4): no exception other than a protocol/limit error escapes; no 5xx
except 501/505 for a protocol error; never more dispatched requests than request lines sent;
the outcome is the same however the bytes are split; and whatever is accepted can be written
back out canonically and re-parsed to the same requests.
"""

from __future__ import annotations

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wirekit.proto.http import Connection, Data, EndOfMessage, Request, Role

ALLOWED_STATUSES = {400, 413, 414, 417, 431, 501, 505}
TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPECIAL = [b"\r", b"\n", b"\0", b"\t", b"\x0b", b"\x0c", b"\x85", b"\xa0", b" ", b",", b";",
           b":", b"\r\n", b"\r\n\r\n", b"0", b"-", b"_"]  # fmt: skip

names = st.text(TCHARS, min_size=1, max_size=12).filter(
    lambda n: n.lower() not in {"host", "content-length", "transfer-encoding", "connection",
                                "expect", "upgrade", "content-type", "te", "trailer"})  # fmt: skip
values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(
    lambda v: v.replace(" ", ""))
targets = st.text("abcdefghijklmnopqrstuvwxyz0123456789/-._~%?=&", max_size=20).map(
    lambda t: "/" + t)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, tuple[str, str, bytes]]:
    """A valid HTTP/1.1 request and what it must parse to."""
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]))
    target = draw(targets)
    fields = [("Host", "example.com"), *draw(st.lists(st.tuples(names, values), max_size=5))]
    body = draw(st.binary(max_size=40))
    framing = draw(st.sampled_from(["length", "chunked"]) if body else st.just("none"))
    head = f"{method} {target} HTTP/1.1\r\n".encode()
    head += b"".join(f"{n}: {v}\r\n".encode() for n, v in fields)
    if framing == "length":
        wire = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        cut = draw(st.integers(0, len(body)))
        parts = [p for p in (body[:cut], body[cut:]) if p]
        wire = head + b"Transfer-Encoding: chunked\r\n\r\n"
        wire += b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    else:
        wire = head + b"\r\n"
    return wire, (method, target, body)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid request (or two) with a few http-garden-style byte and line mutations."""
    data = bytearray(draw(requests())[0])
    if draw(st.booleans()):
        data += draw(requests())[0]
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "dup-line", "drop-line"]))
        if op == "delete" and where < len(data):
            del data[where]
        elif op == "insert":
            data[where:where] = draw(st.sampled_from(SPECIAL))
        elif op == "replace" and where < len(data):
            data[where : where + 1] = draw(st.sampled_from(SPECIAL))
        elif op in ("dup-line", "drop-line"):
            start = data.rfind(b"\r\n", 0, where) + 2 if where else 0
            end = data.find(b"\r\n", where)
            if end > start:
                line = bytes(data[start : end + 2])
                data[start : end + 2] = line * 2 if op == "dup-line" else b""
    return bytes(data)


def _reserialise(dispatched: list) -> bytes:
    """Write accepted requests back out with the client half, canonically framed."""
    out = b""
    for request in dispatched:
        client = Connection(Role.CLIENT)
        fields = [(n, v) for n, v in request.headers
                  if n.lower() not in ("content-length", "transfer-encoding")]  # fmt: skip
        if request.body:
            fields.append(("Content-Length", str(len(request.body))))
        out += client.send(Request(request.method, request.target, fields))
        out += client.send(Data(request.body)) if request.body else b""
        out += client.send(EndOfMessage())
    return out


FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@FUZZ
@given(case=requests())
def test_valid_requests_parse_exactly(kit, case: tuple[bytes, tuple[str, str, bytes]]) -> None:
    wire, expected = case
    served = kit.serve_all_ways(wire)
    assert served.status is None, served.error
    assert [(d.method, d.target, d.body) for d in served.dispatched] == [expected]
    assert h11_serve(wire) == [(d.method, d.target, d.headers, d.body) for d in served.dispatched]


@FUZZ
@given(data=mutated())
def test_mutated_requests_keep_the_invariants(kit, data: bytes) -> None:
    served = kit.serve_all_ways(data)  # also asserts the four feedings agree
    if served.status is not None:
        assert served.status in ALLOWED_STATUSES, served.error
    assert len(served.dispatched) <= data.count(b" HTTP/1.")
    assert served.responses == len(served.dispatched)
    if served.dispatched:
        again = kit.serve([_reserialise(served.dispatched)])
        assert [(d.method, d.target, d.body) for d in again.dispatched] == [
            (d.method, d.target, d.body) for d in served.dispatched]  # fmt: skip


@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes_never_escape(kit, data: bytes) -> None:
    served = kit.serve_all_ways(data)
    assert served.status is None or served.status in ALLOWED_STATUSES


# -- h11 as a differential oracle -------------------------------------------------------------


def h11_serve(data: bytes) -> list[tuple[str, str, tuple[tuple[str, str], ...], bytes]]:
    """What h11 dispatches for ``data``; raises h11's error when it refuses."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    found = []
    current: list = []
    while True:
        event = conn.next_event()
        if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
            return found
        if isinstance(event, h11.Request):
            fields = tuple((n.decode("latin-1"), v.decode("latin-1"))
                           for n, v in event.headers.raw_items())  # fmt: skip
            current = [event.method.decode(), event.target.decode("latin-1"), fields, b""]
        elif isinstance(event, h11.Data):
            current[3] += event.data
        elif isinstance(event, h11.EndOfMessage):
            found.append(tuple(current))
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            if conn.our_state is h11.SWITCHED_PROTOCOL:  # a CONNECT tunnel
                return found
            conn.send(h11.EndOfMessage())
            if conn.our_state is not h11.DONE:
                return found
            conn.start_next_cycle()


def test_h11_agrees_on_the_valid_corpus(kit) -> None:
    """Where h11 accepts a valid file, it must see exactly what wirekit dispatches. h11 refuses
    some files wirekit accepts (no Host; ``Transfer-Encoding: identity``; a target with
    obs-text) and keeps no HTTP/1.0 connection alive; it accepts identical duplicate
    Content-Length, which wirekit refuses (SECURITY.md H03), but the corpus has none."""
    compared = 0
    for name in kit.corpus_files("valid"):
        if kit.documented_skip("valid", name) or name == "099.http":
            continue
        data = kit.load_corpus("valid", name)
        try:
            theirs = h11_serve(data)
        except h11.RemoteProtocolError:
            continue  # h11 refuses it (no Host, identity TE, obs-text target ...)
        ours = kit.serve([data], **kit.corpus_options).dispatched
        assert len(theirs) <= len(ours), name  # h11 does not keep HTTP/1.0 connections alive
        for mine, h11s in zip(ours, theirs, strict=False):
            assert (mine.method, mine.target, mine.headers, mine.body) == h11s, name
        compared += 1
    if not compared:
        pytest.skip("shared corpus not found")
