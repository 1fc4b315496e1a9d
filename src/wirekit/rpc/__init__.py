"""Remote procedure calls over HTTP: XML-RPC and JSON-RPC 2.0 on one dispatcher.

    from wirekit.rpc import RPCServer, XMLRPCProxy

    server = RPCServer("127.0.0.1:0")             # SimpleXMLRPCServer, bounded and threaded
    server.register_function(lambda a, b: a + b, "add")
    server.start()
    with XMLRPCProxy(server.url) as proxy:
        assert proxy.add(3, 5) == 8

One :class:`Dispatcher` decides what a peer may call (public functions and methods by name,
never ``_private`` or dotted attribute paths) for both wire formats and for the object channel
(``wirekit.channel``). :class:`XMLRPCApp` and :class:`JSONRPCApp` are WSGI applications, so
they mount on any WSGI server; :class:`RPCServer` is one on wirekit's HTTP server. The proxies
ride on the HTTP client's ``Session`` (keep-alive, TLS verified, auth). See ``docs/rpc.md``.
"""

from wirekit.proto.xmlrpc import (
    APPLICATION_ERROR,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    Fault,
    RPCLimits,
)
from wirekit.rpc.client import JSONRPCProxy, Pending, XMLRPCProxy
from wirekit.rpc.dispatch import Dispatcher
from wirekit.rpc.server import JSONRPCApp, RPCServer, XMLRPCApp

__all__ = [
    "APPLICATION_ERROR",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "Dispatcher",
    "Fault",
    "JSONRPCApp",
    "JSONRPCProxy",
    "Pending",
    "RPCLimits",
    "RPCServer",
    "XMLRPCApp",
    "XMLRPCProxy",
]
