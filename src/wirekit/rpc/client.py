"""The RPC clients: a proxy per wire format over the HTTP client's ``Session``.

    from wirekit.rpc import XMLRPCProxy, JSONRPCProxy

    with XMLRPCProxy("http://127.0.0.1:8080/RPC2") as proxy:
        proxy.add(3, 5)                            # 8
        proxy.system.listMethods()
        with proxy.batch() as batch:               # one round trip (system.multicall)
            total, ratio = batch.add(3, 5), batch.div(1, 0)
        total.result, ratio.fault                  # 8, Fault(-32000, 'ZeroDivisionError: ...')

    with JSONRPCProxy("http://127.0.0.1:8080/") as proxy:
        proxy.subtract(minuend=42, subtrahend=23)  # by name, or by position
        proxy.notify("log", "no answer wanted")
        with proxy.batch() as batch:               # a JSON-RPC batch
            a = batch.add(1, 2)

The ``Session`` brings what the HTTP client does for every request: pooled keep-alive
connections, TLS verified by default (``verify=``), ``auth=(user, password)`` or credentials in
the URL, timeouts, and bounded bodies (``limits.max_bytes``, gzip included). A fault answered by
the server is raised as :class:`~wirekit.proto.xmlrpc.Fault`; an HTTP error status as
``wirekit.http.client.HTTPError``.

Any attribute is a remote method, except the proxy's own: ``call``, ``notify``, ``batch``,
``close``, ``session``, ``url``, ``limits``. A remote method with one of those names, or with
any name, is reachable as ``proxy.call("name", ...)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Final

from wirekit.errors import ConfigError, RemoteProtocolError
from wirekit.http.client import Session
from wirekit.http.client.auth import AuthArg
from wirekit.http.client.response import Response
from wirekit.http.client.session import DEFAULT, TimeoutArg
from wirekit.http.client.tls import VerifyArg
from wirekit.proto import jsonrpc, xmlrpc
from wirekit.proto.xmlrpc import DEFAULT_RPC_LIMITS, Fault, RPCLimits

__all__ = ["JSONRPCProxy", "Pending", "XMLRPCProxy"]

_NOT_YET: Final = object()
Invoke = Callable[[str, tuple[Any, ...], dict[str, Any]], Any]


class _Method:
    """``proxy.system.listMethods``: a name being built, called with ``()``."""

    __slots__ = ("_invoke", "_name")

    def __init__(self, invoke: Invoke, name: str) -> None:
        self._invoke = invoke
        self._name = name

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("__"):  # copy, pickle and friends probe dunders: not remote names
            raise AttributeError(name)
        return _Method(self._invoke, f"{self._name}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._invoke(self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote method {self._name}>"


class Pending:
    """The outcome of a call in a batch, known once the batch has run."""

    __slots__ = ("_fault", "_value", "method")

    def __init__(self, method: str) -> None:
        self.method = method
        self._value: Any = _NOT_YET
        self._fault: Fault | None = None

    @property
    def done(self) -> bool:
        return self._value is not _NOT_YET or self._fault is not None

    @property
    def fault(self) -> Fault | None:
        """The call's fault, or None if it succeeded."""
        return self._fault

    @property
    def result(self) -> Any:
        """The call's value; raises its :class:`Fault` if it failed."""
        if self._fault is not None:
            raise self._fault
        if self._value is _NOT_YET:
            raise RuntimeError(f"the batch holding {self.method} has not run yet")
        return self._value

    def _settle(self, value: Any = None, fault: Fault | None = None) -> None:
        self._value, self._fault = value, fault

    def __repr__(self) -> str:
        state = (f"fault {self._fault.code}" if self._fault is not None
                 else "pending" if self._value is _NOT_YET else repr(self._value)[:60])
        return f"<Pending {self.method}: {state}>"


class _Proxy:
    """The HTTP side both proxies share."""

    content_type: str = ""

    def __init__(self, url: str, *, session: Session | None = None, auth: AuthArg = None,
                 verify: VerifyArg = True, timeout: TimeoutArg = DEFAULT,
                 limits: RPCLimits = DEFAULT_RPC_LIMITS) -> None:
        self.url = url
        self.limits = limits
        self._owned = session is None
        self.session = session if session is not None else Session(
            auth=auth, verify=verify, timeout=timeout, max_body=limits.max_bytes,
            max_decompressed=limits.max_bytes)
        self._headers = {"Content-Type": self.content_type, "Accept": self.content_type}

    def _post(self, body: bytes) -> bytes:
        return self.session.post(self.url, data=body, headers=self._headers).content

    def _post_streamed(self, body: bytes | list[bytes]) -> Response:
        """POST ``body`` (a list of pieces goes out piece by piece) and return the response
        unread, for a parser that takes its body piece by piece."""
        return self.session.post(self.url, data=body, headers=self._headers, stream=True)

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._invoke, name)

    def _invoke(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
                ) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` by its name (any name, also one the proxy uses itself)."""
        return self._invoke(method, args, kwargs)

    def close(self) -> None:
        """Close the session's connections (a session passed in is left open)."""
        if self._owned:
            self.session.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


class XMLRPCProxy(_Proxy):
    """An XML-RPC server at ``url``: ``proxy.method(*args)`` is one POST."""

    content_type = xmlrpc.CONTENT_TYPE

    def _invoke(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs:
            raise ConfigError("XML-RPC parameters are positional only")
        pieces = xmlrpc.call_pieces(name, args, max_depth=self.limits.max_depth)
        reader = xmlrpc.DocumentReader(self.limits)
        with self._post_streamed(pieces[0] if len(pieces) == 1 else pieces) as response:
            for piece in response.iter_bytes():
                reader.feed(piece)
                if reader.refused:  # too large or malformed: the rest is not read
                    break
        return reader.response()

    def batch(self) -> XMLRPCBatch:
        """Collect calls, then run them in one ``system.multicall`` when the ``with`` block
        ends (or at :meth:`XMLRPCBatch.run`)."""
        return XMLRPCBatch(self)


class _Batch:
    def __init__(self) -> None:
        self.pending: list[Pending] = []
        self.ran = False

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._add, name)

    def _add(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
             ) -> Pending:  # pragma: no cover - abstract
        raise NotImplementedError

    def call(self, method: str, *args: Any, **kwargs: Any) -> Pending:
        """Add a call to ``method`` by name."""
        return self._add(method, args, kwargs)

    def run(self) -> list[Pending]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if exc_type is None and not self.ran:
            self.run()


class XMLRPCBatch(_Batch):
    """Calls gathered for one ``system.multicall``."""

    def __init__(self, proxy: XMLRPCProxy) -> None:
        super().__init__()
        self.proxy = proxy
        self.calls: list[dict[str, Any]] = []

    def _add(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Pending:
        if kwargs:
            raise ConfigError("XML-RPC parameters are positional only")
        if self.ran:
            raise RuntimeError("this batch has already run")
        self.calls.append({"methodName": name, "params": list(args)})
        self.pending.append(Pending(name))
        return self.pending[-1]

    def run(self) -> list[Pending]:
        """Send the calls; each :class:`Pending` then holds its result or fault."""
        self.ran = True
        if not self.calls:
            return []
        results = self.proxy.call("system.multicall", self.calls)
        if not isinstance(results, list) or len(results) != len(self.pending):
            raise RemoteProtocolError("system.multicall answered a different number of "
                                      "results than calls were sent")
        for pending, outcome in zip(self.pending, results, strict=True):
            if isinstance(outcome, list) and len(outcome) == 1:
                pending._settle(outcome[0])
            elif isinstance(outcome, dict) and isinstance(outcome.get("faultCode"), int):
                pending._settle(fault=Fault(outcome["faultCode"],
                                            str(outcome.get("faultString", ""))))
            else:
                raise RemoteProtocolError("malformed system.multicall result")
        return self.pending


class JSONRPCProxy(_Proxy):
    """A JSON-RPC 2.0 server at ``url``: ``proxy.method(*args)`` or ``(**kwargs)``."""

    content_type = jsonrpc.CONTENT_TYPE

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def _invoke(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ident = next(self._ids)
        body = jsonrpc.dumps(jsonrpc.request_object(name, _params(args, kwargs), ident))
        responses = jsonrpc.loads_responses(self._post(body), self.limits)
        if len(responses) != 1 or responses[0].id != ident:
            raise RemoteProtocolError("the JSON-RPC response does not answer the request sent")
        response = responses[0]
        if response.fault is not None:
            raise response.fault
        return response.result

    def notify(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Send a notification: the server runs it and answers nothing (§4.1)."""
        self._post(jsonrpc.dumps(jsonrpc.request_object(method, _params(args, kwargs))))

    def batch(self) -> JSONRPCBatch:
        """Collect calls and notifications, sent as one JSON-RPC batch (§6)."""
        return JSONRPCBatch(self)


def _params(args: Sequence[Any], kwargs: dict[str, Any]) -> list[Any] | dict[str, Any]:
    if args and kwargs:
        raise ConfigError("JSON-RPC parameters are by position or by name, not both")
    return kwargs if kwargs else list(args)


class JSONRPCBatch(_Batch):
    """Requests gathered for one JSON-RPC batch."""

    def __init__(self, proxy: JSONRPCProxy) -> None:
        super().__init__()
        self.proxy = proxy
        self.requests: list[dict[str, Any]] = []
        self.by_id: dict[int, Pending] = {}

    def _add(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Pending:
        if self.ran:
            raise RuntimeError("this batch has already run")
        ident = self.proxy.next_id()
        self.requests.append(jsonrpc.request_object(name, _params(args, kwargs), ident))
        pending = self.by_id[ident] = Pending(name)
        self.pending.append(pending)
        return pending

    def notify(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Add a notification (no answer, no :class:`Pending`)."""
        self.requests.append(jsonrpc.request_object(method, _params(args, kwargs)))

    def run(self) -> list[Pending]:
        """Send the batch; each :class:`Pending` then holds its result or fault."""
        self.ran = True
        if not self.requests:
            return []
        answer = self.proxy._post(jsonrpc.dumps(self.requests))
        if not self.by_id:
            return []
        for response in jsonrpc.loads_responses(answer, self.proxy.limits):
            if response.id is None and response.fault is not None:
                raise response.fault  # the batch as a whole was refused
            pending = self.by_id.pop(response.id, None) if isinstance(response.id, int) \
                else None
            if pending is None:
                raise RemoteProtocolError(f"a batch response for an unknown id "
                                          f"{response.id!r}")
            pending._settle(response.result, response.fault)
        if self.by_id:
            raise RemoteProtocolError(f"the batch response misses {len(self.by_id)} call(s)")
        return self.pending
