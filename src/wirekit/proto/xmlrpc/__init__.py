"""XML-RPC (xmlrpc.com/spec.md) as sans-IO encode/decode: bytes in, values out, no I/O.

    from wirekit.proto.xmlrpc import dumps_call, loads_call, dumps_response, loads_response

    body = dumps_call("add", [3, 5])          # what a client POSTs
    call = loads_call(body)                   # Call(method='add', params=[3, 5])
    loads_response(dumps_response(8))         # 8; a <fault> is raised as Fault

Every type of the specification, plus ``<nil/>``, ``<i8>``, bytes as base64 and datetimes both
ways (``values.py``); documents parsed by ``wirekit.data``'s XML guard with size and depth
bounds (``messages.py``). The fault type and the codes both RPC formats share are in
``fault.py``. The dispatcher, the WSGI server and the client proxy are ``wirekit.rpc``.
"""

from wirekit.proto.xmlrpc.fault import (
    APPLICATION_ERROR,
    DEFAULT_RPC_LIMITS,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    Fault,
    RPCLimits,
)
from wirekit.proto.xmlrpc.messages import (
    CONTENT_TYPE,
    Call,
    DocumentReader,
    call_pieces,
    dumps_call,
    dumps_fault,
    dumps_response,
    loads_call,
    loads_response,
    response_pieces,
)

__all__ = [
    "APPLICATION_ERROR",
    "CONTENT_TYPE",
    "DEFAULT_RPC_LIMITS",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "Call",
    "DocumentReader",
    "Fault",
    "RPCLimits",
    "call_pieces",
    "dumps_call",
    "dumps_fault",
    "dumps_response",
    "loads_call",
    "loads_response",
    "response_pieces",
]
