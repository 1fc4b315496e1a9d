"""``DocumentReader``: a document fed in the pieces it arrives in reads exactly as the same
document held whole, whatever the cuts; and the writers' pieces are the whole document."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.data import ParseError
from wirekit.errors import LimitExceeded, MessageTooLarge, RemoteProtocolError
from wirekit.proto.xmlrpc import (
    DEFAULT_RPC_LIMITS,
    DocumentReader,
    Fault,
    RPCLimits,
    call_pieces,
    dumps_call,
    dumps_fault,
    dumps_response,
    loads_call,
    loads_response,
    response_pieces,
)

BLOB = bytes(range(256)) * 1024
DOCUMENTS = [
    dumps_call("echo", [BLOB]),
    dumps_call("add", [3, 5]),
    dumps_call("f", ["caf\u00e9 \u2603", {"a": [1, None, b"xy"]}, 2.5]),
    dumps_response(BLOB),
    dumps_response({"nested": [[b"\x00" * 300]]}),
    dumps_fault(Fault(4, "too many parameters")),
    b"<?xml version='1.0'?><!-- a comment --><methodCall><methodName>f</methodName>"
    b"<params><param><value><string><![CDATA[<raw & text>]]></string></value></param>"
    b"</params></methodCall>",
    b"<?xml version='1.0'?>\n<methodCall><methodName>a<?pi x?>b</methodName></methodCall>",
    b"<methodCall>\n<methodName>f</methodCall>",           # not well-formed
    b"<methodCall><methodName>f</methodName><params><param><value><int>1</int></value>"
    b"</param>",                                            # cut short
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>",  # refused
    b"<methodResponse><params/></methodResponse>",          # no value
    b"\xef\xbb\xbf<methodCall><methodName>bom</methodName></methodCall>",
    "<?xml version='1.0' encoding='utf-16'?><methodCall><methodName>w</methodName>"
    "</methodCall>".encode("utf-16"),
    b"",
    b"<",
    b"<methodCall><methodName>" + b"<x>" * 3000 + b"</x>" * 3000 + b"</methodName></methodCall>",
]


def _outcome(read):
    """What reading gives: the value, or the kind of error."""
    try:
        return "ok", read()
    except Fault as fault:
        return "fault", (fault.code, fault.message)
    except (ParseError, LimitExceeded, RemoteProtocolError) as exc:
        return "error", type(exc)


def _fed(document: bytes, cuts: list[int],
         limits: RPCLimits = DEFAULT_RPC_LIMITS) -> DocumentReader:
    reader = DocumentReader(limits)
    edges = [0, *sorted(set(cuts)), len(document)]
    for start, end in itertools.pairwise(edges):
        reader.feed(document[start:end])
    return reader


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DOCUMENTS), st.lists(st.floats(0, 1), max_size=12))
def test_any_cuts_read_as_the_whole_document(document, fractions):
    cuts = [int(f * len(document)) for f in fractions]
    whole_call = _outcome(lambda: loads_call(document))
    whole_response = _outcome(lambda: loads_response(document))
    assert _outcome(_fed(document, cuts).call) == whole_call
    assert _outcome(_fed(document, cuts).response) == whole_response


def test_a_large_base64_call_in_64_kib_pieces():
    document = dumps_call("echo", [BLOB * 4])
    reader = _fed(document, list(range(0, len(document), 65536)))
    assert reader.call().params == [BLOB * 4]


def test_a_bang_in_a_late_piece_sends_the_document_through_the_guard():
    document = dumps_call("f", ["x" * 200_000, "wow!"])
    assert _fed(document, [1000, 100_000, 150_000]).call().params == ["x" * 200_000, "wow!"]
    bomb = (b"<methodCall><methodName>f</methodName>" + b" " * 70_000
            + b"<!DOCTYPE x [<!ENTITY a 'b'>]></methodCall>")
    with pytest.raises(ParseError):  # a DOCTYPE after the root: malformed, never expanded
        _fed(bomb, [65536]).call()


def test_the_size_bound_holds_across_pieces():
    document = dumps_call("f", ["x" * 5000])
    with pytest.raises(MessageTooLarge):
        _fed(document, [1000, 2000, 3000], RPCLimits(max_bytes=4000)).call()


def test_deep_nesting_fed_in_pieces_is_a_bounded_error():
    body = (b"<methodCall><methodName>f</methodName><params><param>"
            + b"<value><array><data>" * 50_000 + b"</data></array></value>" * 50_000
            + b"</param></params></methodCall>")
    with pytest.raises(LimitExceeded):
        _fed(body, list(range(0, len(body), 65536))).call()


@pytest.mark.parametrize("value", [BLOB, [b"a", "b", b"c"], {"k": b"\xff" * 10}, "text", 8])
def test_pieces_are_the_whole_document(value):
    assert b"".join(call_pieces("f", [value, value])) == dumps_call("f", [value, value])
    assert b"".join(response_pieces(value)) == dumps_response(value)
    assert all(type(piece) is bytes for piece in response_pieces(value))


def test_a_large_base64_travels_as_its_own_piece():
    pieces = response_pieces(BLOB)
    assert len(pieces) == 3 and len(pieces[1]) == (len(BLOB) + 2) // 3 * 4


ATTACKS = Path(__file__).resolve().parents[3].parent / "shared" / "corpora" / "xml-attacks"


@pytest.mark.skipif(not ATTACKS.is_dir(), reason="the shared attack corpus is beside the repo")
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_the_attack_corpus_fed_in_pieces_reads_as_it_does_whole(size):
    """Billion laughs, quadratic blow-up, external entities and DTDs: in pieces of any size
    each document meets the same refusal as whole (every one holds a '!', so it goes to the
    guard, never to libxml2), fast and without a fetch."""
    for path in sorted(ATTACKS.glob("*.x*")):
        document = path.read_bytes()
        started = time.monotonic()
        fed = _outcome(_fed(document, list(range(0, len(document), size))).call)
        assert fed == _outcome(lambda document=document: loads_call(document)), path.name
        assert fed[0] == "error", path.name
        assert time.monotonic() - started < 1.0, path.name
