"""What both RPC wire formats share: the fault (an error the remote procedure answered), its
codes, and the bounds a server or a client holds a peer's message to.

XML-RPC's specification says nothing about fault codes; the "Specification for Fault Code
Interoperability" (xmlrpc-epi, 2001) gave the numbers that JSON-RPC 2.0 (§5.1) later adopted, so
one table serves both formats, and a :class:`Fault` raised by a method reaches an XML-RPC
client as ``<fault>`` and a JSON-RPC client as an ``error`` member with the same code.

Lives with the XML-RPC core because XML-RPC named it first; ``wirekit.proto.jsonrpc`` imports
it from here and ``wirekit.rpc`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from wirekit.config import DEFAULT_LIMITS
from wirekit.errors import ConfigError, WirekitError

__all__ = [
    "APPLICATION_ERROR",
    "DEFAULT_RPC_LIMITS",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "Fault",
    "RPCLimits",
]

#: JSON-RPC 2.0 §5.1 and the XML-RPC fault-code interoperability specification.
PARSE_ERROR: Final = -32700  # not well-formed XML or JSON
INVALID_REQUEST: Final = -32600  # well-formed, but not a call
METHOD_NOT_FOUND: Final = -32601  # no such method (or a name that may never be called)
INVALID_PARAMS: Final = -32602  # the arguments do not fit the method
INTERNAL_ERROR: Final = -32603  # the server failed (a result it cannot encode, ...)
#: A method raised an exception: -32000 opens JSON-RPC's "server error" range (-32000 to
#: -32099, implementation-defined), the one code both formats may use for it.
APPLICATION_ERROR: Final = -32000


class Fault(WirekitError):
    """An error answered by the remote side: ``code`` (an int), ``message`` (a string) and,
    for JSON-RPC, optional ``data``.

    Raise it from a method to choose the code the client sees; a client raises it when the
    server answered one. ``faultCode`` and ``faultString`` are the names ``xmlrpc.client.Fault``
    uses, kept so code written for the standard library reads the same.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (fault {code})")
        self.code = code
        self.message = message
        self.data = data

    @property
    def faultCode(self) -> int:  # the standard library's spelling
        return self.code

    @property
    def faultString(self) -> str:  # the standard library's spelling
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.data))

    def __repr__(self) -> str:
        return f"<Fault {self.code}: {self.message!r}>"


@dataclass(frozen=True, slots=True)
class RPCLimits:
    """Bounds on one RPC message, whichever side reads it."""

    #: A request or response body: 10 MiB, the in-memory body bound of ``wirekit.config``
    #: (defusedxml.xmlrpc uses 30 MB; the stdlib server has no bound at all, SECURITY.md R06).
    #: Also the bound on a gzip-compressed body once decompressed (CVE-2013-1753).
    max_bytes: int = DEFAULT_LIMITS.max_body
    #: Arrays and structs nested in one value: 64 levels is far beyond any real interface
    #: and far below Python's recursion limit (SECURITY.md X05, P01).
    max_depth: int = 64
    #: Calls in one ``system.multicall`` or one JSON-RPC batch: a multicall of 100,000 calls
    #: is refused in one step instead of run (SECURITY.md R06).
    max_calls: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_calls"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"RPCLimits.{name} must be a positive int, got {value!r}")


DEFAULT_RPC_LIMITS = RPCLimits()
