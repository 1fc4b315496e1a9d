"""Safe XML by default: the policy, and the guard that enforces it in front of a fast parser.

wirekit parses with the C ElementTree parser (``_elementtree`` over expat), whose element
events the streaming iterator collects without a Python call per element; defusedxml instead
substitutes the pure-Python ``XMLParser`` class. The C parser never fetches anything (it
installs no external-entity handler), but it *expands* entities declared in the document's
internal DTD subset. So each document's prolog (everything before the root element's start tag)
first goes through a throwaway ``pyexpat`` parser whose declaration handlers refuse what the
policy forbids: the checks ``defusedxml`` makes (SECURITY.md X01-X03), plus external DTDs, with
one named error each. Both parsers are the same expat library, so they read the prolog the same
way, encodings included; once the root element starts no declaration can follow, the guard
steps aside, and the fast parser gets every byte from the first.
"""

from __future__ import annotations

import pyexpat
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from wirekit.config import DEFAULT_LIMITS
from wirekit.data.errors import (
    DTDForbidden,
    EntitiesForbidden,
    ExternalDTDForbidden,
    ExternalReferenceForbidden,
    ParameterEntitiesForbidden,
    ParseError,
)
from wirekit.errors import ConfigError, LimitExceeded, MessageTooLarge, WirekitError

__all__ = [
    "DEFAULT_XML_POLICY",
    "STREAM_XML_POLICY",
    "DeclarationChecks",
    "GuardedParser",
    "XMLPolicy",
    "bad_encoding",
    "check_depth",
]

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class XMLPolicy:
    """What an XML document may use and how big it may be. Strict unless told otherwise."""

    # A DOCTYPE by itself is harmless (expat never fetches a DTD) and common (XHTML), so it is
    # allowed, as in defusedxml; set True to refuse any.
    forbid_dtd: bool = False
    # <!ENTITY> declarations: the only way to build a billion-laughs or quadratic-blowup bomb.
    # expat's amplification limit (2.4+) is only a backstop (SECURITY.md X01).
    forbid_entities: bool = True
    # SYSTEM/PUBLIC identifiers on entities and on the DOCTYPE (XXE, external DTD: X02, X03).
    forbid_external: bool = True
    # Whole-document parses hold the tree in memory: the same 10 MiB as an in-memory body.
    # None means no bound (the streaming readers' default: they do not hold the document).
    max_bytes: int | None = DEFAULT_LIMITS.max_body
    # libxml2's default nesting limit; ElementTree serialisation recurses once per level and
    # Python's recursion limit is about 1000 (SECURITY.md X05).
    max_depth: int = 256
    # Bytes before the root element (declaration, comments, DOCTYPE) held while checking them.
    max_prolog: int = 1 * MiB
    # Streaming: the largest stretch of input with no element end (a huge attribute, comment or
    # text run). expat buffers such a token whole, so this bounds memory on hostile streams.
    max_token: int = 16 * MiB

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_prolog", "max_token"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ConfigError(f"XMLPolicy.{name} must be a positive int")
        if self.max_bytes is not None and (not isinstance(self.max_bytes, int)
                                           or self.max_bytes <= 0):
            raise ConfigError("XMLPolicy.max_bytes must be a positive int or None")


DEFAULT_XML_POLICY = XMLPolicy()
STREAM_XML_POLICY = XMLPolicy(max_bytes=None)


class _RootReached(Exception):
    """Raised from the guard's start-element handler: the prolog is over."""


class DeclarationChecks:
    """The policy as pyexpat handlers: each refuses one kind of declaration with a named error.

    Installed on the prolog guard's parser and on the SAX reader's, so both refuse the same
    documents with the same errors.
    """

    def __init__(self, policy: XMLPolicy, parser: pyexpat.XMLParserType) -> None:
        self.policy = policy
        self.parser = parser
        # Handlers already installed (the SAX reader's) still run once a check has passed.
        self._doctype_next = parser.StartDoctypeDeclHandler
        self._unparsed_next = parser.UnparsedEntityDeclHandler
        parser.StartDoctypeDeclHandler = self.doctype
        parser.EntityDeclHandler = self.entity_decl
        parser.UnparsedEntityDeclHandler = self.unparsed_entity_decl
        parser.ExternalEntityRefHandler = self.external_entity_ref  # never chained: no fetching

    def _line(self) -> int:
        return self.parser.CurrentLineNumber

    def doctype(self, name: str, sysid: str | None, pubid: str | None, internal: bool) -> None:
        """StartDoctypeDeclHandler: refuse any DTD, or one with an external identifier."""
        if self.policy.forbid_dtd:
            raise DTDForbidden(f"document type {name!r} refused (XMLPolicy.forbid_dtd)",
                               name=name, sysid=sysid, pubid=pubid, line=self._line())
        if (sysid or pubid) and self.policy.forbid_external:
            raise ExternalDTDForbidden(
                f"document type {name!r} names an external DTD {sysid or pubid!r}: refused,"
                " nothing fetched (XMLPolicy.forbid_external)", name=name, sysid=sysid,
                pubid=pubid, line=self._line())
        if self._doctype_next is not None:
            self._doctype_next(name, sysid, pubid, internal)

    def entity_decl(self, name: str, is_parameter: int, value: str | None, base: str | None,
                    sysid: str | None, pubid: str | None, notation: str | None) -> None:
        """EntityDeclHandler: parameter, external and internal entities, in that order."""
        if is_parameter and (self.policy.forbid_entities or self.policy.forbid_external):
            raise ParameterEntitiesForbidden(
                f"parameter entity %{name}; declared: refused", name=name, sysid=sysid,
                pubid=pubid, line=self._line())
        if (sysid or pubid) and self.policy.forbid_external:
            raise ExternalReferenceForbidden(
                f"external entity &{name}; -> {sysid or pubid!r}: refused, nothing fetched",
                name=name, sysid=sysid, pubid=pubid, line=self._line())
        if self.policy.forbid_entities:
            raise EntitiesForbidden(
                f"entity &{name}; declared: entity expansion is refused (billion laughs)",
                name=name, sysid=sysid, pubid=pubid, line=self._line())

    def unparsed_entity_decl(self, name: str, base: str | None, sysid: str, pubid: str | None,
                             notation: str) -> None:
        """UnparsedEntityDeclHandler: an NDATA entity is external by definition."""
        self.entity_decl(name, 0, None, base, sysid, pubid, notation)
        if self._unparsed_next is not None:
            self._unparsed_next(name, base, sysid, pubid, notation)

    def external_entity_ref(self, context: str, base: str | None, sysid: str | None,
                            pubid: str | None) -> int:
        """ExternalEntityRefHandler: a backstop, declarations are refused before any use."""
        raise ExternalReferenceForbidden(f"external reference {sysid or pubid!r} refused",
                                         sysid=sysid, pubid=pubid, line=self._line())


class PrologGuard:
    """Feeds the prolog to a declaration-checking pyexpat parser, holding it until it passes."""

    def __init__(self, policy: XMLPolicy) -> None:
        self.policy = policy
        self._held: list[bytes | str] = []
        self._size = 0
        parser = pyexpat.ParserCreate()
        DeclarationChecks(policy, parser)
        parser.StartElementHandler = self._root
        self._parser: pyexpat.XMLParserType | None = parser

    def feed(self, data: bytes | str, final: bool = False) -> bytes | str | None:
        """Check ``data``; return everything held once the prolog has passed, else None."""
        if data:
            self._held.append(data)
            self._size += len(data)
        parser = self._parser
        assert parser is not None, "the guard has already stepped aside"
        try:
            parser.Parse(data, final)
        except _RootReached:
            self._check_prolog(parser.CurrentByteIndex)  # where the root's start tag begins
            return self._release()
        except pyexpat.ExpatError:
            return self._release()  # malformed: the real parser reports it in its own words
        except WirekitError:
            raise  # a declaration refused by the policy (a ParseError is also a ValueError)
        except (LookupError, ValueError) as exc:
            raise bad_encoding(exc, parser.CurrentLineNumber) from None
        if final:
            return self._release()
        self._check_prolog(self._size)
        return None

    def _check_prolog(self, size: int) -> None:
        if size > self.policy.max_prolog:
            raise MessageTooLarge(
                f"more than {self.policy.max_prolog} bytes before the root element",
                limit="max_prolog")

    def _release(self) -> bytes | str:
        self._parser = None
        held, self._held = self._held, []
        if not held:
            return b""
        return held[0][:0].join(held)  # type: ignore[arg-type]  # all bytes or all str, never mixed

    def _root(self, name: str, attrs: object) -> None:
        raise _RootReached


def bad_encoding(exc: LookupError | ValueError, line: int | None = None) -> ParseError:
    """expat's failure on an encoding declaration: ``LookupError`` for a name Python does not
    know, ``ValueError`` for a multi-byte codec expat cannot drive (UTF-7, CJK codecs)."""
    return ParseError(f"malformed XML: unsupported encoding declaration ({exc})", line=line)


def translate(exc: ET.ParseError) -> ParseError:
    """ElementTree's ParseError (a SyntaxError) as wirekit's ParseError, keeping the place."""
    line, column = getattr(exc, "position", (None, None))
    message = str(exc).split(": line ")[0]
    return ParseError(f"malformed XML: {message}", line=line, column=column)


def too_deep(nodes: list[ET.Element], levels: int) -> bool:
    """True if any element in ``nodes`` has descendants more than ``levels - 1`` levels down.

    Walks level by level with ``chain.from_iterable`` so the per-element work runs in C;
    ``filter(len, ...)`` skips the leaves (most elements) before an iterator is made for each.
    """
    for _ in range(levels):
        if not nodes:
            return False
        parents: Iterator[ET.Element] = filter(len, nodes)
        nodes = list(chain.from_iterable(parents))
    return bool(nodes)


class GuardedParser:
    """The C ElementTree parser and TreeBuilder behind a :class:`PrologGuard`."""

    def __init__(self, policy: XMLPolicy = DEFAULT_XML_POLICY) -> None:
        self.policy = policy
        self.fed = 0
        self._guard: PrologGuard | None = PrologGuard(policy)
        # Safe only behind the guard above, which refuses what defusedxml refuses (S314).
        self._parser = ET.XMLParser(target=ET.TreeBuilder())  # noqa: S314

    def set_events(self, queue: list[tuple[str, ET.Element]], events: tuple[str, ...]) -> None:
        """Report ``events`` into ``queue`` (a list: appends happen in C, as for XMLPullParser).

        ``_setevents`` is the hook ``xml.etree.ElementTree.XMLPullParser`` itself uses (3.4+).
        """
        self._parser._setevents(queue, events)  # type: ignore[attr-defined]  # not in typeshed

    def feed(self, data: bytes | str) -> None:
        """Parse the next piece of the document."""
        self.fed += len(data)
        if self.policy.max_bytes is not None and self.fed > self.policy.max_bytes:
            raise MessageTooLarge(f"XML document larger than {self.policy.max_bytes} bytes",
                                  limit="max_bytes")
        if self._guard is not None:
            released = self._guard.feed(data)
            if released is None:
                return
            self._guard, data = None, released
        self._feed_parser(data)

    def close(self) -> ET.Element:
        """Finish the document and return its root element."""
        if self._guard is not None:
            released = self._guard.feed(b"", final=True)
            self._guard = None
            if released:
                self._feed_parser(released)
        try:
            return self._parser.close()
        except ET.ParseError as exc:
            raise translate(exc) from None
        except (LookupError, ValueError) as exc:  # no Python callbacks run in this parser
            raise bad_encoding(exc) from None

    def _feed_parser(self, data: bytes | str) -> None:
        try:
            self._parser.feed(data)
        except ET.ParseError as exc:
            raise translate(exc) from None
        except (LookupError, ValueError) as exc:  # no Python callbacks run in this parser
            raise bad_encoding(exc) from None


def check_depth(root: ET.Element, policy: XMLPolicy) -> None:
    """Refuse a tree nested deeper than ``policy.max_depth`` (SECURITY.md X05)."""
    if too_deep([root], policy.max_depth):
        raise LimitExceeded(f"XML nested deeper than {policy.max_depth} elements",
                            limit="max_depth")
