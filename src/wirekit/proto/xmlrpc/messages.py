"""XML-RPC messages: a call, a response and a fault, as bytes both ways (xmlrpc.com/spec.md).

Every document is parsed once, held whole or fed in the pieces it arrives in
(``DocumentReader``): no entity is ever declared or expanded (billion laughs, quadratic
blow-up), nothing external is fetched (XXE), and a DOCTYPE is refused outright since XML-RPC
never needs one (SECURITY.md X01-X03, R06). The body is size-bounded before parsing, the
element tree depth-bounded, and the values bounded again as they are read (``values.py``).
Parsing is linear in the bytes (SECURITY.md X04).

Two parsers, one rule. A document that holds no ``<!`` at all (nearly every call and
response) cannot declare anything, so it goes straight to libxml2 through lxml, with entity
resolution, DTD loading and the network all off: it reads a MiB of ``<base64>`` in 0.9 ms
where expat took 3.4 ms. Any other document (a DOCTYPE, a comment, CDATA, a wide encoding)
goes through ``wirekit.data``'s guard over expat, which refuses every declaration. Both give
the same element tree API, which ``values.py`` reads.

What is malformed raises :class:`~wirekit.errors.RemoteProtocolError` (``ParseError`` for XML
that is not well-formed); what is too big raises :class:`~wirekit.errors.LimitExceeded`. A
fault answered by the server is raised as :class:`~wirekit.proto.xmlrpc.fault.Fault`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from xml.etree.ElementTree import Element

from lxml import etree as lxml_etree

from wirekit.data import ParseError, XMLPolicy, fromstring
from wirekit.errors import LimitExceeded, MessageTooLarge, RemoteProtocolError
from wirekit.proto.xmlrpc.fault import DEFAULT_RPC_LIMITS, Fault, RPCLimits
from wirekit.proto.xmlrpc.values import (
    _NOT_XML,
    Pieces,
    _escape,
    decode_value,
    document,
    document_pieces,
    encode_value,
)

__all__ = [
    "CONTENT_TYPE",
    "Call",
    "DocumentReader",
    "call_pieces",
    "dumps_call",
    "dumps_fault",
    "dumps_response",
    "loads_call",
    "loads_response",
    "response_pieces",
]

#: The specification's Content-Type for both directions.
CONTENT_TYPE: Final = "text/xml"
_PROLOG: Final = "<?xml version='1.0'?>\n"
_MAX_NAME: Final = 256  # a method name; the spec's charset [A-Za-z0-9_.:/] is the dispatcher's


@dataclass(frozen=True, slots=True)
class Call:
    """A decoded ``<methodCall>``: the method's name and its positional parameters."""

    method: str
    params: list[Any]


# -- writing ----------------------------------------------------------------------------------

def dumps_call(method: str, params: Iterable[Any] = (), *, max_depth: int = 64) -> bytes:
    """The ``<methodCall>`` document for ``method(*params)``, UTF-8."""
    return document(_call_out(method, params, max_depth))


def call_pieces(method: str, params: Iterable[Any] = (), *, max_depth: int = 64
                ) -> list[bytes]:
    """``dumps_call`` as pieces to send one after the other (``<base64>`` content is not
    copied into one buffer with the rest)."""
    return document_pieces(_call_out(method, params, max_depth))


def _call_out(method: str, params: Iterable[Any], max_depth: int) -> Pieces:
    out: Pieces = [_PROLOG, "<methodCall><methodName>", _escape(method), "</methodName><params>"]
    for param in params:
        out.append("<param>")
        encode_value(param, out, 0, max_depth)
        out.append("</param>")
    out.append("</params></methodCall>")
    return out


def dumps_response(value: Any, *, max_depth: int = 64) -> bytes:
    """The ``<methodResponse>`` carrying ``value`` (the spec allows exactly one)."""
    return document(_response_out(value, max_depth))


def response_pieces(value: Any, *, max_depth: int = 64) -> list[bytes]:
    """``dumps_response`` as pieces to send one after the other."""
    return document_pieces(_response_out(value, max_depth))


def _response_out(value: Any, max_depth: int) -> Pieces:
    out: Pieces = [_PROLOG, "<methodResponse><params><param>"]
    encode_value(value, out, 0, max_depth)
    out.append("</param></params></methodResponse>")
    return out


def dumps_fault(fault: Fault) -> bytes:
    """The ``<methodResponse><fault>`` for ``fault``. Characters XML cannot carry in the
    message (an exception's text may hold any) become ``?`` instead of failing the answer."""
    message = _NOT_XML.sub("?", fault.message)
    return (f"{_PROLOG}<methodResponse><fault><value><struct>"
            f"<member><name>faultCode</name><value><int>{int(fault.code)}</int></value></member>"
            f"<member><name>faultString</name><value><string>{_escape(message)}</string>"
            "</value></member></struct></value></fault></methodResponse>").encode()


# -- reading ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _policy(limits: RPCLimits) -> XMLPolicy:
    # Three elements per level of nesting (value, array|struct, data|member) and a few for
    # the envelope: the tree bound follows the value bound.
    return XMLPolicy(forbid_dtd=True, max_bytes=limits.max_bytes,
                     max_depth=3 * limits.max_depth + 8, max_prolog=4096)


def _declares_nothing(data: bytes) -> bool:
    """True if ``data`` cannot hold a declaration of any kind, so the guard has nothing to
    check: no ``<!`` anywhere (DOCTYPE, ENTITY, also comments and CDATA), in a document
    that starts with ``<`` in an ASCII-compatible encoding (no NUL among the first bytes,
    which is how expat recognises UTF-16 and UTF-32; every 8-bit encoding expat accepts maps
    ``<`` and ``!`` to their ASCII bytes, expat's own rule for unknown encodings)."""
    if not _ascii_start(data):
        return False
    # A one-byte search runs at memchr speed; the two-byte one cost 1.5 ms a MiB here. A
    # document without "!" (base64 has none) needs no second look.
    return b"!" not in data or b"<!" not in data


def _ascii_start(data: bytes) -> bool:
    """The document starts with ``<`` in an ASCII-compatible encoding (no NUL among its first
    four bytes: expat and libxml2 recognise UTF-16 and UTF-32 that way)."""
    return data[:1] == b"<" and b"\x00" not in data[:4]


def _parse(data: bytes, limits: RPCLimits, root_tag: str) -> Element:
    if len(data) > limits.max_bytes:
        raise _too_large(limits)
    if _declares_nothing(data):
        # What nearly every call and response is: parsed straight away. The depth of the
        # tree needs no walk either: values are depth-bounded as they are read (values.py),
        # and libxml2 stops at 2,048 levels itself (LimitExceeded).
        root = _parse_plain(data)
    else:
        root = fromstring(data, policy=_policy(limits))
    return _checked_root(root, root_tag)


def _too_large(limits: RPCLimits) -> MessageTooLarge:
    return MessageTooLarge(f"XML-RPC document larger than {limits.max_bytes} bytes",
                           limit="max_bytes")


def _checked_root(root: Element, root_tag: str) -> Element:
    if root.tag != root_tag:
        raise RemoteProtocolError(f"malformed XML-RPC: expected <{root_tag}>, found "
                                  f"<{str(root.tag)[:40]}>")
    return root


def _plain_parser() -> Any:
    """A libxml2 parser for a document that declares nothing: entity resolution, DTD
    loading and the network off. ``huge_tree`` lifts libxml2's own 10 MB text-node cap,
    which a ``<base64>`` near our ``max_bytes`` would hit; the size bound is ours, checked
    before parsing, and its depth cap (2,048 elements) still holds. Processing instructions
    are dropped, as ElementTree drops them, so the text around one reads as one string."""
    return lxml_etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=True,
        remove_pis=True, remove_comments=True, collect_ids=False)


def _parse_plain(data: bytes) -> Element:
    try:
        # A parser per document: lxml parsers are not for use by two threads at once, and
        # making one costs about 1 µs.
        root: Element = lxml_etree.fromstring(data, _plain_parser())
    except lxml_etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    return root


def _syntax_error(exc: Any) -> ParseError | LimitExceeded:
    if exc.code == lxml_etree.ErrorTypes.ERR_RESOURCE_LIMIT:  # nested past 2,048
        return LimitExceeded(f"XML nested too deep: {exc.msg.split(',')[0]}",
                             limit="max_depth")
    line, column = exc.position
    return ParseError(f"malformed XML: {exc.msg.split(', line ')[0]}", line=line,
                      column=column)


class DocumentReader:
    """A document read in the pieces it arrives in (an HTTP body off the socket).

        reader = DocumentReader(limits)
        for piece in body_pieces:
            reader.feed(piece)
        call = reader.call()        # or reader.response(), as loads_call / loads_response

    The same rules and errors as ``loads_call`` and ``loads_response``, which parse a
    document held whole. A document of one piece is parsed that way. From a second piece
    on, a plain one (starting with ``<`` in an ASCII-compatible encoding, no ``!`` in any
    piece so far) goes into libxml2 piece by piece, so the pieces are never joined into one
    buffer: a MiB of ``<base64>`` in 64 KiB pieces parses in 0.6 ms, where joining and
    parsing it took 1.5 ms. A ``!`` in any piece sends the whole document through the
    guarded path instead. Errors wait for ``call()``/``response()``, so a caller reads the
    whole body either way.
    """

    def __init__(self, limits: RPCLimits = DEFAULT_RPC_LIMITS) -> None:
        self.limits = limits
        self._pieces: list[bytes] = []  # all of them, for the guarded path if it comes to it
        self._size = 0
        self._parser: Any = None  # libxml2, fed so far, while the document is plain
        self._plain = True
        self._error: Exception | None = None

    @property
    def refused(self) -> bool:
        """True once the document is known to be refused (too large, or not well-formed):
        a caller reading from the network may stop there, rather than read the rest."""
        return self._error is not None

    def feed(self, piece: bytes) -> None:
        """Add the next piece of the document."""
        if not piece or self._error is not None:
            return
        self._size += len(piece)
        if self._size > self.limits.max_bytes:
            self._fail(_too_large(self.limits))
            return
        pieces = self._pieces
        pieces.append(piece)
        if not self._plain:
            return
        if b"!" in piece:  # perhaps a declaration: the guard reads the whole document
            self._plain, self._parser = False, None
            return
        if self._parser is not None:
            self._feed(piece)
        elif len(pieces) > 1 and self._size >= 4:
            if not _ascii_start(pieces[0] if len(pieces[0]) >= 4 else b"".join(pieces)):
                self._plain = False
                return
            self._parser = _plain_parser()
            for held in pieces:
                self._feed(held)

    def _feed(self, piece: bytes) -> None:
        if self._parser is None:  # it failed on an earlier piece
            return
        try:
            self._parser.feed(piece)
        except lxml_etree.XMLSyntaxError as exc:
            self._fail(_syntax_error(exc))

    def _fail(self, error: Exception) -> None:
        self._error, self._parser, self._pieces = error, None, []

    def _root(self, root_tag: str) -> Element:
        if self._error is not None:
            raise self._error
        if self._parser is not None:
            parser, self._parser = self._parser, None
            try:
                root: Element = parser.close()
            except lxml_etree.XMLSyntaxError as exc:
                raise _syntax_error(exc) from None
            return _checked_root(root, root_tag)
        pieces = self._pieces
        return _parse(pieces[0] if len(pieces) == 1 else b"".join(pieces), self.limits,
                      root_tag)

    def call(self) -> Call:
        """The ``<methodCall>`` fed (see :func:`loads_call`)."""
        return _call_from(self._root("methodCall"), self.limits)

    def response(self) -> Any:
        """The value of the ``<methodResponse>`` fed (see :func:`loads_response`)."""
        return _response_from(self._root("methodResponse"), self.limits)


def _params(element: Element | None, limits: RPCLimits) -> list[Any]:
    if element is None:
        return []
    values = []
    for param in element:
        if param.tag != "param" or len(param) != 1:
            raise RemoteProtocolError("malformed XML-RPC: <params> holds <param> elements of "
                                      "one <value> each")
        values.append(decode_value(param[0], 0, limits.max_depth))
    return values


def loads_call(data: bytes, limits: RPCLimits = DEFAULT_RPC_LIMITS) -> Call:
    """Decode a ``<methodCall>`` document."""
    return _call_from(_parse(data, limits, "methodCall"), limits)


def _call_from(root: Element, limits: RPCLimits) -> Call:
    name = root.find("methodName")
    method = (name.text or "").strip() if name is not None else ""
    if not method:
        raise RemoteProtocolError("malformed XML-RPC: a <methodCall> without a <methodName>")
    if len(method) > _MAX_NAME:
        raise RemoteProtocolError(f"malformed XML-RPC: method name longer than {_MAX_NAME}")
    return Call(method, _params(root.find("params"), limits))


def loads_response(data: bytes, limits: RPCLimits = DEFAULT_RPC_LIMITS) -> Any:
    """The value of a ``<methodResponse>``; a ``<fault>`` is raised as :class:`Fault`."""
    return _response_from(_parse(data, limits, "methodResponse"), limits)


def _response_from(root: Element, limits: RPCLimits) -> Any:
    if len(root) != 1:
        raise RemoteProtocolError("malformed XML-RPC: a <methodResponse> holds one <params> "
                                  "or one <fault>")
    body = root[0]
    if body.tag == "fault":
        raise _fault(body, limits)
    if body.tag != "params":
        raise RemoteProtocolError(f"malformed XML-RPC: unexpected <{str(body.tag)[:40]}>")
    values = _params(body, limits)
    if len(values) != 1:
        raise RemoteProtocolError(f"malformed XML-RPC: a response carries one value, not "
                                  f"{len(values)}")
    return values[0]


def _fault(body: Element, limits: RPCLimits) -> Fault:
    if len(body) != 1:
        raise RemoteProtocolError("malformed XML-RPC: a <fault> holds one <value>")
    value = decode_value(body[0], 0, limits.max_depth)
    if not isinstance(value, dict):
        raise RemoteProtocolError("malformed XML-RPC: a <fault> value is a struct")
    code, message = value.get("faultCode"), value.get("faultString")
    if not isinstance(code, int) or isinstance(code, bool) or not isinstance(message, str):
        raise RemoteProtocolError("malformed XML-RPC: a fault has an int faultCode and a "
                                  "string faultString")
    return Fault(code, message)
