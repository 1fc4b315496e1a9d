"""JSON-RPC 2.0 (jsonrpc.org/specification) to the letter, as bytes both ways.

The rules, with their section of the specification:

=========================================  ==================================================
a body that is not JSON                    one error ``-32700``, id null (§5.1)
a request that is not a request object     ``-32600``, id null unless a valid id was readable
``"jsonrpc"`` other than ``"2.0"``         ``-32600`` (§4: MUST be exactly "2.0")
``"params"`` other than array or object    ``-32600`` (§4.2: by-position or by-name)
an id other than string, number or null    ``-32600`` (§4: Number without fractions SHOULD)
no ``"id"`` member                         a notification: run, never answered (§4.1)
an array                                   a batch: one response per non-notification, in
                                           any order; none at all if every call was a
                                           notification (§6)
an empty array                             one error ``-32600``, not an array (§6)
more than ``max_calls`` in a batch         one error ``-32600`` before anything runs
``rpc.`` method names                      reserved for the protocol (§4): never dispatched
=========================================  ==================================================

The body is size-bounded before decoding (``wirekit.data.loads``: strict, no NaN) and
depth-bounded after (deep JSON is a clean error, never a ``RecursionError``: SECURITY.md P01).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from wirekit.data import ParseError, loads
from wirekit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from wirekit.proto.xmlrpc.fault import (
    DEFAULT_RPC_LIMITS,
    INVALID_REQUEST,
    PARSE_ERROR,
    Fault,
    RPCLimits,
)

__all__ = [
    "CONTENT_TYPE",
    "Batch",
    "Invalid",
    "Request",
    "Response",
    "check_depth",
    "dumps",
    "error_object",
    "loads_requests",
    "loads_responses",
    "request_object",
    "result_object",
]

#: RFC 8259 §11; JSON-RPC over HTTP uses it both ways.
CONTENT_TYPE: Final = "application/json"
VERSION: Final = "2.0"
_ID_TYPES: Final = (str, int, float, type(None))
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Request:
    """A call: ``params`` is a list (by position) or a dict (by name); a ``notification``
    has no id and gets no response."""

    method: str
    params: list[Any] | dict[str, Any]
    id: Any = None
    notification: bool = False


@dataclass(frozen=True, slots=True)
class Invalid:
    """An element of the body that is not a valid request: answered with ``fault``."""

    fault: Fault
    id: Any = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What a body held: its items in order, and whether it was an array (then the answer
    is an array too, even of one response)."""

    items: list[Request | Invalid]
    batch: bool


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded response: ``fault`` is set for an error response, else ``result``."""

    id: Any
    result: Any = None
    fault: Fault | None = None


def check_depth(value: Any, max_depth: int) -> None:
    """Refuse ``value`` if arrays and objects nest deeper than ``max_depth``; a level-by-level
    walk, so depth costs no recursion."""
    level: list[Any] = [value] if type(value) is list or type(value) is dict else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise LimitExceeded(f"JSON nested deeper than {max_depth} arrays and objects",
                                limit="max_depth")
        inner: list[Any] = []
        for item in level:
            if type(item) is list:
                inner.extend(x for x in item if type(x) is list or type(x) is dict)
            else:
                inner.extend(x for x in item.values() if type(x) is list or type(x) is dict)
        level = inner


def _decode(data: bytes, limits: RPCLimits) -> Any:
    """The JSON document in ``data``, or a parse-error Fault."""
    try:
        document = loads(data, max_bytes=limits.max_bytes)
    except ParseError as exc:
        raise Fault(PARSE_ERROR, f"Parse error: {exc}") from None
    # The request object adds a level to its params, a batch's array one more.
    check_depth(document, limits.max_depth + (2 if type(document) is list else 1))
    return document


# -- the server's side ------------------------------------------------------------------------

def loads_requests(data: bytes, limits: RPCLimits = DEFAULT_RPC_LIMITS) -> Batch:
    """Decode a request body. A body that cannot be answered call by call (not JSON, an empty
    or oversized batch) raises :class:`Fault`: answer it alone, with a null id. Size and depth
    beyond ``limits`` raise :class:`~wirekit.errors.LimitExceeded`."""
    document = _decode(data, limits)
    if type(document) is not list:
        return Batch([_request(document)], batch=False)
    if not document:
        raise Fault(INVALID_REQUEST, "Invalid Request: an empty batch")
    if len(document) > limits.max_calls:
        raise Fault(INVALID_REQUEST, f"Invalid Request: a batch of {len(document)} calls, "
                                     f"more than the {limits.max_calls} allowed")
    return Batch([_request(item) for item in document], batch=True)


def _request(item: Any) -> Request | Invalid:
    if type(item) is not dict:
        return Invalid(Fault(INVALID_REQUEST, "Invalid Request: not an object"))
    ident = item.get("id", _MISSING)
    valid_id = ident is _MISSING or (isinstance(ident, _ID_TYPES) and type(ident) is not bool)
    answer_id = ident if valid_id and ident is not _MISSING else None
    if not valid_id:
        return Invalid(Fault(INVALID_REQUEST, "Invalid Request: id must be a string, a "
                                              "number or null"))
    if item.get("jsonrpc") != VERSION:
        return Invalid(Fault(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"'),
                       answer_id)
    method = item.get("method")
    if type(method) is not str:
        return Invalid(Fault(INVALID_REQUEST, 'Invalid Request: "method" must be a string'),
                       answer_id)
    params = item.get("params", _MISSING)
    if params is _MISSING:
        params = []
    elif type(params) is not list and type(params) is not dict:
        return Invalid(Fault(INVALID_REQUEST, 'Invalid Request: "params" must be an array or '
                                              'an object'), answer_id)
    return Request(method, params, answer_id, ident is _MISSING)


def result_object(ident: Any, result: Any) -> dict[str, Any]:
    """The response object for a success."""
    return {"jsonrpc": VERSION, "result": result, "id": ident}


def error_object(ident: Any, fault: Fault) -> dict[str, Any]:
    """The response object for an error (``data`` only when the fault has some)."""
    error: dict[str, Any] = {"code": fault.code, "message": fault.message}
    if fault.data is not None:
        error["data"] = fault.data
    return {"jsonrpc": VERSION, "error": error, "id": ident}


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON; what JSON cannot carry (bytes, NaN, a cycle) raises
    :class:`~wirekit.errors.LocalProtocolError`."""
    try:
        return json.dumps(document, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise LocalProtocolError(f"JSON-RPC cannot carry this value: {exc}") from None


# -- the client's side ------------------------------------------------------------------------

def request_object(method: str, params: list[Any] | tuple[Any, ...] | dict[str, Any],
                   ident: Any = _MISSING) -> dict[str, Any]:
    """A request object; without ``ident`` it is a notification."""
    document: dict[str, Any] = {"jsonrpc": VERSION, "method": method}
    if params:
        document["params"] = list(params) if isinstance(params, tuple) else params
    if ident is not _MISSING:
        document["id"] = ident
    return document


def loads_responses(data: bytes, limits: RPCLimits = DEFAULT_RPC_LIMITS) -> list[Response]:
    """Decode a response body (one object, or an array for a batch) into responses."""
    try:
        document = loads(data, max_bytes=limits.max_bytes)
    except ParseError as exc:
        raise RemoteProtocolError(f"malformed JSON-RPC response: {exc}") from None
    check_depth(document, limits.max_depth + (2 if type(document) is list else 1))
    items = document if type(document) is list else [document]
    if len(items) > limits.max_calls:
        raise LimitExceeded(f"a batch response of {len(items)} responses",
                            limit="max_calls")
    return [_response(item) for item in items]


def _response(item: Any) -> Response:
    if type(item) is not dict or item.get("jsonrpc") != VERSION or "id" not in item:
        raise RemoteProtocolError("malformed JSON-RPC response: not a 2.0 response object")
    has_result, error = "result" in item, item.get("error", _MISSING)
    if has_result == (error is not _MISSING):
        raise RemoteProtocolError("malformed JSON-RPC response: exactly one of result and "
                                  "error must be present")
    if error is _MISSING:
        return Response(item["id"], item["result"])
    if type(error) is not dict or type(error.get("code")) is not int \
            or type(error.get("message")) is not str:
        raise RemoteProtocolError("malformed JSON-RPC response: an error object has an "
                                  "integer code and a string message")
    return Response(item["id"], fault=Fault(error["code"], error["message"], error.get("data")))
