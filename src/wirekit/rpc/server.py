"""The RPC server: a WSGI application per wire format over one :class:`Dispatcher`, and
``RPCServer``, the course's ``SimpleXMLRPCServer`` on wirekit's HTTP server.

    from wirekit.rpc import RPCServer

    server = RPCServer("127.0.0.1:8080")          # XML-RPC; jsonrpc=True for JSON-RPC 2.0
    server.register_function(pow)
    server.serve_forever()

Being WSGI applications, :class:`XMLRPCApp` and :class:`JSONRPCApp` also mount on
``wirekit serve --wsgi module:app``, on any WSGI server, or under a path of a larger site.

Each request is a POST whose body is read with the bounds of ``body.py`` (size, gzip); the
Content-Type must be the format's (``text/xml``, ``application/json``), which a browser cannot
send across origins without asking first, so a web page cannot drive a local RPC server
(cross-site request forgery). Faults answer with 200, as both formats say; HTTP errors are
for what never reached the dispatcher (405, 413, 415, 400).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from wirekit.errors import LimitExceeded, LocalProtocolError, ProtocolError
from wirekit.http.server import HTTPServer
from wirekit.net.address import AddressLike
from wirekit.proto import jsonrpc, xmlrpc
from wirekit.proto.xmlrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    Fault,
    RPCLimits,
)
from wirekit.rpc.body import BodyRefused, body_pieces, read_body
from wirekit.rpc.dispatch import Dispatcher, logger

__all__ = ["JSONRPCApp", "RPCServer", "XMLRPCApp"]

StartResponse = Callable[..., Any]
_PLAIN: Final = [("Content-Type", "text/plain; charset=utf-8")]
_REASONS: Final = {400: "400 Bad Request", 405: "405 Method Not Allowed",
                   413: "413 Content Too Large", 415: "415 Unsupported Media Type"}


class _RPCApp:
    """What both formats' applications share: the HTTP side of a call."""

    content_type: str = ""
    accepted_types: tuple[str, ...] = ()

    def __init__(self, dispatcher: Dispatcher | None = None, *,
                 limits: RPCLimits | None = None, check_content_type: bool = True) -> None:
        self.dispatcher = dispatcher if dispatcher is not None else Dispatcher()
        self.limits = limits if limits is not None else self.dispatcher.limits
        self.check_content_type = check_content_type
        self._headers = [("Content-Type", self.content_type)]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        try:
            self._check_request(environ)
            answer = self.respond(environ)
        except BodyRefused as refused:
            message = f"{refused}\n".encode()
            headers = [*_PLAIN, ("Content-Length", str(len(message)))]
            if refused.status == 405:
                headers.append(("Allow", "POST"))
            start_response(_REASONS[refused.status], headers)
            return [message]
        length = sum(map(len, answer))
        if not length:  # JSON-RPC: nothing but notifications
            start_response("204 No Content", [])
            return []
        start_response("200 OK", [*self._headers, ("Content-Length", str(length))])
        return answer

    def _check_request(self, environ: dict[str, Any]) -> None:
        if environ.get("REQUEST_METHOD") != "POST":
            raise BodyRefused(405, "an RPC call is a POST")
        if self.check_content_type:
            kind = str(environ.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()
            if kind not in self.accepted_types:
                raise BodyRefused(415, f"Content-Type must be {self.content_type}, not "
                                       f"{kind[:60]!r}")

    def respond(self, environ: dict[str, Any]) -> list[bytes]:
        """The response body for the request in ``environ``, in pieces to send in turn."""
        return [self.answer(read_body(environ, self.limits.max_bytes))]

    def answer(self, body: bytes) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError


class XMLRPCApp(_RPCApp):
    """XML-RPC over HTTP as a WSGI application (``POST`` of a ``<methodCall>``)."""

    content_type = xmlrpc.CONTENT_TYPE
    accepted_types = ("text/xml", "application/xml")

    def respond(self, environ: dict[str, Any]) -> list[bytes]:
        # The body goes into the parser piece by piece as it arrives: a large call is never
        # joined into one buffer (DocumentReader).
        reader = xmlrpc.DocumentReader(self.limits)
        for piece in body_pieces(environ, self.limits.max_bytes):
            reader.feed(piece)
        return self._answer(reader.call)

    def answer(self, body: bytes) -> bytes:
        """The response document for a request body (a fault for every failure)."""
        return b"".join(self._answer(lambda: xmlrpc.loads_call(body, self.limits)))

    def _answer(self, load: Callable[[], xmlrpc.Call]) -> list[bytes]:
        limits = self.limits
        try:
            call = load()
        except LimitExceeded as exc:
            return [xmlrpc.dumps_fault(Fault(INVALID_REQUEST, f"Invalid request: {exc}"))]
        except ProtocolError as exc:
            return [xmlrpc.dumps_fault(Fault(PARSE_ERROR, f"Parse error: {exc}"))]
        try:
            result = self.dispatcher.call(call.method, call.params)
            return xmlrpc.response_pieces(result, max_depth=limits.max_depth)
        except Fault as fault:
            return [xmlrpc.dumps_fault(fault)]
        except (LocalProtocolError, LimitExceeded) as exc:
            logger.warning("the result of %s cannot be sent: %s", call.method, exc)
            return [xmlrpc.dumps_fault(Fault(INTERNAL_ERROR, f"Internal error: {exc}"))]


class JSONRPCApp(_RPCApp):
    """JSON-RPC 2.0 over HTTP as a WSGI application: a request or a batch per POST."""

    content_type = jsonrpc.CONTENT_TYPE
    accepted_types = ("application/json", "application/json-rpc", "application/jsonrequest")

    def answer(self, body: bytes) -> bytes:
        """The response body for a request body; ``b""`` when every call was a
        notification."""
        try:
            batch = jsonrpc.loads_requests(body, self.limits)
        except Fault as fault:
            return jsonrpc.dumps(jsonrpc.error_object(None, fault))
        except LimitExceeded as exc:
            return jsonrpc.dumps(jsonrpc.error_object(
                None, Fault(INVALID_REQUEST, f"Invalid Request: {exc}")))
        answers = [answer for item in batch.items if (answer := self._one(item))]
        if not answers:
            return b""
        if not batch.batch:
            return answers[0]
        return b"[" + b",".join(answers) + b"]"

    def _one(self, item: jsonrpc.Request | jsonrpc.Invalid) -> bytes:
        if isinstance(item, jsonrpc.Invalid):
            return jsonrpc.dumps(jsonrpc.error_object(item.id, item.fault))
        try:
            if item.method.startswith("rpc."):  # reserved for the protocol (§4)
                raise Fault(METHOD_NOT_FOUND, f"Method not found: {item.method[:100]!r}")
            result = self.dispatcher.call(item.method, item.params)
            if item.notification:
                return b""
            return jsonrpc.dumps(jsonrpc.result_object(item.id, result))
        except Fault as fault:
            return b"" if item.notification else jsonrpc.dumps(jsonrpc.error_object(item.id,
                                                                                    fault))
        except LocalProtocolError as exc:
            logger.warning("the result of %s cannot be sent: %s", item.method, exc)
            return jsonrpc.dumps(jsonrpc.error_object(
                item.id, Fault(INTERNAL_ERROR, f"Internal error: {exc}")))


class RPCServer(HTTPServer):
    """An XML-RPC (or, with ``jsonrpc=True``, JSON-RPC 2.0) server on ``address``.

    ``register_function`` and ``register_instance`` are the dispatcher's, as on the standard
    library's ``SimpleXMLRPCServer``; ``dispatcher`` may be given ready-made. The rest are
    :class:`~wirekit.http.server.HTTPServer`'s options (``tls=``, ``concurrency=``...); the
    default mode is ``threads``: a connection per thread answers a client's calls in turn with
    the least latency.
    """

    def __init__(self, address: AddressLike = "127.0.0.1:8000", *,
                 dispatcher: Dispatcher | None = None, jsonrpc: bool = False,
                 limits: RPCLimits | None = None, concurrency: Any = "threads",
                 **options: Any) -> None:
        self.dispatcher = dispatcher if dispatcher is not None else Dispatcher()
        kind = JSONRPCApp if jsonrpc else XMLRPCApp
        self.rpc_app = kind(self.dispatcher, limits=limits)
        super().__init__(self.rpc_app, address, concurrency=concurrency, **options)

    def register_function(self, function: Callable[..., Any] | None = None,
                          name: str | None = None) -> Any:
        """Offer ``function`` as ``name`` (default: its own); also a decorator."""
        return self.dispatcher.register(function, name)

    def register_instance(self, instance: Any, prefix: str = "") -> None:
        """Offer ``instance``'s public methods (``prefix.method`` with a prefix)."""
        self.dispatcher.register_instance(instance, prefix)

    def __repr__(self) -> str:
        kind = "JSON-RPC" if isinstance(self.rpc_app, JSONRPCApp) else "XML-RPC"
        return f"<RPCServer {kind} on {self.url} ({self.mode})>"
