"""The JSON-RPC 2.0 core, pure tier: requests, batches and responses read to the letter of the
specification, and bounded (SECURITY.md P01)."""

from __future__ import annotations

import json
import time

import pytest

from wirekit.errors import LimitExceeded, LocalProtocolError, MessageTooLarge, RemoteProtocolError
from wirekit.proto.jsonrpc import (
    Invalid,
    Request,
    Response,
    check_depth,
    dumps,
    error_object,
    loads_requests,
    loads_responses,
    request_object,
    result_object,
)
from wirekit.proto.xmlrpc import INVALID_REQUEST, PARSE_ERROR, Fault, RPCLimits


def test_a_request_by_position_by_name_and_without_params():
    batch = loads_requests(b'{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], '
                           b'"id": 1}')
    assert not batch.batch
    assert batch.items == [Request("subtract", [42, 23], 1)]
    named = loads_requests(b'{"jsonrpc": "2.0", "method": "s", "params": {"a": 1}, "id": "x"}')
    assert named.items == [Request("s", {"a": 1}, "x")]
    bare = loads_requests(b'{"jsonrpc": "2.0", "method": "s", "id": null}')
    assert bare.items == [Request("s", [], None, notification=False)]


def test_no_id_member_makes_a_notification():
    batch = loads_requests(b'{"jsonrpc": "2.0", "method": "update", "params": [1, 2]}')
    assert batch.items == [Request("update", [1, 2], None, notification=True)]


@pytest.mark.parametrize(("body", "answer_id"), [
    (b'{"jsonrpc": "1.0", "method": "f", "id": 3}', 3),
    (b'{"method": "f", "id": 3}', 3),
    (b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}', None),
    (b'{"jsonrpc": "2.0", "method": "f", "params": "bar", "id": 4}', 4),
    (b'{"jsonrpc": "2.0", "method": "f", "params": 5, "id": 4}', 4),
    (b'{"jsonrpc": "2.0", "method": "f", "id": [1]}', None),
    (b'{"jsonrpc": "2.0", "method": "f", "id": {"a": 1}}', None),
    (b'{"jsonrpc": "2.0", "method": "f", "id": true}', None),
    (b'"just a string"', None),
    (b"1", None),
])
def test_invalid_requests_are_answered_with_32600(body, answer_id):
    (item,) = loads_requests(body).items
    assert isinstance(item, Invalid)
    assert item.fault.code == INVALID_REQUEST
    assert item.id == answer_id


@pytest.mark.parametrize("body", [
    b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
    b"",
    b"\xff\xfe\x00",
    b'{"jsonrpc": "2.0", "method": "f", "params": [NaN], "id": 1}',  # NaN is not JSON
    b"[" * 100_000,
])
def test_a_body_that_is_not_json_is_one_parse_error(body):
    started = time.monotonic()
    with pytest.raises(Fault) as caught:
        loads_requests(body)
    assert caught.value.code == PARSE_ERROR
    assert time.monotonic() - started < 1.0


def test_batches_keep_their_order_and_mark_invalid_members():
    batch = loads_requests(b'[{"jsonrpc": "2.0", "method": "sum", "params": [1, 2], "id": "1"},'
                           b' {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},'
                           b' {"foo": "boo"}, 1]')
    assert batch.batch
    assert batch.items[0] == Request("sum", [1, 2], "1")
    assert batch.items[1] == Request("notify_hello", [7], None, notification=True)
    assert [type(item) for item in batch.items[2:]] == [Invalid, Invalid]


def test_an_empty_batch_is_one_invalid_request():
    with pytest.raises(Fault) as caught:
        loads_requests(b"[]")
    assert caught.value.code == INVALID_REQUEST


def test_a_batch_above_max_calls_is_refused_before_reading_its_members():
    body = json.dumps([{"jsonrpc": "2.0", "method": "f", "id": i} for i in range(100_000)])
    started = time.monotonic()
    with pytest.raises(Fault) as caught:
        loads_requests(body.encode())
    assert caught.value.code == INVALID_REQUEST
    assert "100000" in caught.value.message
    assert time.monotonic() - started < 2.0


def test_depth_and_size_are_bounded():
    limits = RPCLimits(max_depth=4, max_bytes=200)
    deep = b'{"jsonrpc": "2.0", "method": "f", "params": [[[[[1]]]]], "id": 1}'
    with pytest.raises(LimitExceeded):
        loads_requests(deep, limits)
    assert loads_requests(deep, RPCLimits(max_depth=5)).items[0].params == [[[[[1]]]]]
    with pytest.raises(MessageTooLarge):
        loads_requests(b'{"jsonrpc": "2.0", "method": "f", "params": ["' + b"x" * 300 + b'"]}',
                       limits)


def test_check_depth_walks_objects_and_arrays():
    check_depth({"a": [{"b": []}]}, 4)  # object, array, object, array
    with pytest.raises(LimitExceeded):
        check_depth({"a": [{"b": []}]}, 3)
    check_depth("scalar", 0)


def test_response_objects_to_the_letter():
    assert dumps(result_object(1, 19)) == b'{"jsonrpc":"2.0","result":19,"id":1}'
    assert json.loads(dumps(error_object(None, Fault(-32700, "Parse error")))) == {
        "jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
    assert json.loads(dumps(error_object(2, Fault(-32000, "x", data={"k": 1}))))["error"] == {
        "code": -32000, "message": "x", "data": {"k": 1}}


@pytest.mark.parametrize("value", [b"bytes", float("nan"), {1j}])
def test_what_json_cannot_carry_is_a_local_error(value):
    with pytest.raises(LocalProtocolError):
        dumps(result_object(1, value))


def test_request_objects():
    assert request_object("f", (1, 2), 7) == {"jsonrpc": "2.0", "method": "f",
                                               "params": [1, 2], "id": 7}
    assert request_object("f", {}) == {"jsonrpc": "2.0", "method": "f"}  # a notification


def test_responses_are_read_and_checked():
    assert loads_responses(b'{"jsonrpc":"2.0","result":19,"id":1}') == [Response(1, 19)]
    (failed,) = loads_responses(b'{"jsonrpc":"2.0","error":{"code":-32601,"message":"no"},'
                                b'"id":"1"}')
    assert failed.fault is not None and failed.fault.code == -32601
    both = loads_responses(b'[{"jsonrpc":"2.0","result":null,"id":1},'
                           b'{"jsonrpc":"2.0","result":2,"id":2}]')
    assert [r.id for r in both] == [1, 2]


@pytest.mark.parametrize("body", [
    b'{"jsonrpc":"2.0","result":1}',  # no id
    b'{"jsonrpc":"1.0","result":1,"id":1}',
    b'{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1}',
    b'{"jsonrpc":"2.0","id":1}',
    b'{"jsonrpc":"2.0","error":{"code":"1","message":"x"},"id":1}',
    b'{"jsonrpc":"2.0","error":"bad","id":1}',
    b"not json",
    b"[1]",
])
def test_malformed_responses_are_remote_protocol_errors(body):
    with pytest.raises(RemoteProtocolError):
        loads_responses(body)
