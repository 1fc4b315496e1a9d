"""JSON-RPC 2.0 as sans-IO encode/decode: batches, notifications and the specification's
error codes, bounded in size and depth.

    from wirekit.proto.jsonrpc import loads_requests, result_object, dumps

    batch = loads_requests(b'{"jsonrpc": "2.0", "method": "add", "params": [3, 5], "id": 1}')
    request = batch.items[0]                   # Request(method='add', params=[3, 5], id=1)
    dumps(result_object(request.id, 8))        # b'{"jsonrpc":"2.0","result":8,"id":1}'

The fault type and the codes are shared with XML-RPC (``wirekit.proto.xmlrpc.fault``); the
dispatcher, the WSGI server and the client proxy are ``wirekit.rpc``.
"""

from wirekit.proto.jsonrpc.messages import (
    CONTENT_TYPE,
    Batch,
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
