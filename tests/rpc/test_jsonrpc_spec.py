"""The examples of the JSON-RPC 2.0 specification (§7), each answered as the specification
shows: the application's ``answer`` directly, and the whole list once more over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wirekit.http.client import Session
from wirekit.rpc import Dispatcher, JSONRPCApp
from wirekit.testing import serve_wsgi

NOTIFIED: list[Any] = []


def make_app() -> JSONRPCApp:
    d = Dispatcher()
    d.register(lambda minuend, subtrahend: minuend - subtrahend, "subtract")
    d.register(lambda *numbers: sum(numbers), "sum")
    d.register(lambda *args: NOTIFIED.append(args), "update")
    d.register(lambda *args: NOTIFIED.append(args), "notify_hello")
    d.register(lambda *args: NOTIFIED.append(args), "notify_sum")
    d.register(lambda: ["hello", 5], "get_data")
    return JSONRPCApp(d)


def essentials(answer: Any) -> Any:
    """The parts the specification fixes: result or error code, and id (messages are free)."""
    if isinstance(answer, list):
        return [essentials(item) for item in answer]
    assert answer["jsonrpc"] == "2.0"
    if "error" in answer:
        assert isinstance(answer["error"]["message"], str)
        return {"error": answer["error"]["code"], "id": answer["id"]}
    return {"result": answer["result"], "id": answer["id"]}


EXAMPLES = [
    ('{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
     {"result": 19, "id": 1}),
    ('{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
     {"result": -19, "id": 2}),
    ('{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, '
     '"id": 3}', {"result": 19, "id": 3}),
    ('{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, '
     '"id": 4}', {"result": 19, "id": 4}),
    ('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', None),
    ('{"jsonrpc": "2.0", "method": "foobar"}', None),
    ('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}', {"error": -32601, "id": "1"}),
    ('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
     {"error": -32700, "id": None}),
    ('{"jsonrpc": "2.0", "method": 1, "params": "bar"}', {"error": -32600, "id": None}),
    ('[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},'
     '{"jsonrpc": "2.0", "method"]', {"error": -32700, "id": None}),
    ("[]", {"error": -32600, "id": None}),
    ("[1]", [{"error": -32600, "id": None}]),
    ("[1,2,3]", [{"error": -32600, "id": None}] * 3),
    ('[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},'
     '{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},'
     '{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},'
     '{"foo": "boo"},'
     '{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},'
     '{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]',
     [{"result": 7, "id": "1"}, {"result": 19, "id": "2"}, {"error": -32600, "id": None},
      {"error": -32601, "id": "5"}, {"result": ["hello", 5], "id": "9"}]),
    ('[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},'
     '{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]', None),
    # beyond the examples: rpc.* names are reserved, and a notification's failure is silent
    ('{"jsonrpc": "2.0", "method": "rpc.discover", "id": 6}', {"error": -32601, "id": 6}),
    ('{"jsonrpc": "2.0", "method": "subtract", "params": [1]}', None),
    ('{"jsonrpc": "2.0", "method": "subtract", "params": [1], "id": 7}',
     {"error": -32602, "id": 7}),
]


@pytest.mark.parametrize(("request_text", "expected"), EXAMPLES,
                         ids=[text[:50] for text, _ in EXAMPLES])
def test_the_specification_examples(request_text, expected):
    answer = make_app().answer(request_text.encode())
    if expected is None:
        assert answer == b""
    else:
        assert essentials(json.loads(answer)) == expected


def test_notifications_run_although_nothing_answers():
    NOTIFIED.clear()
    assert make_app().answer(b'{"jsonrpc": "2.0", "method": "update", "params": [1, 2]}') == b""
    assert NOTIFIED == [(1, 2)]


def test_the_examples_over_http():
    with serve_wsgi(make_app()) as url, Session(raise_for_status=False) as session:
        for request_text, expected in EXAMPLES:
            response = session.post(url + "/", data=request_text.encode(),
                                    headers={"Content-Type": "application/json"})
            if expected is None:
                assert (response.status, response.content) == (204, b"")
            else:
                assert response.status == 200
                assert response.headers["content-type"] == "application/json"
                assert essentials(response.json()) == expected
