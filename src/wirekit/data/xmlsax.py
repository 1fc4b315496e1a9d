"""Event-driven XML with SAX (slides 3-9..3-13), refusing the same attacks as the tree parser.

The course's handler works unchanged::

    class MyHandler(ContentHandler):
        def startElement(self, name, attrs): print("Start:", name)
        def characters(self, text): print("Characters:", text)
        def endElement(self, name): print("End:", name)

    sax_parse("data.xml", MyHandler())

The reader is the standard library's expat reader with :class:`DeclarationChecks` installed
after every reset, so entity declarations, external entities and external DTDs raise their
named errors before any handler sees the document body. External entities are never fetched,
whatever the policy says.
"""

from __future__ import annotations

import xml.sax
from typing import IO, TYPE_CHECKING
from xml.sax import ContentHandler, ErrorHandler
from xml.sax.expatreader import ExpatParser
from xml.sax.handler import feature_namespaces

from wirekit.data.errors import ParseError, raised_in
from wirekit.data.sources import Source, chunk_reader, open_binary
from wirekit.data.xmlguard import STREAM_XML_POLICY, DeclarationChecks, XMLPolicy, bad_encoding
from wirekit.errors import MessageTooLarge, WirekitError

if TYPE_CHECKING:
    from pyexpat import XMLParserType

    from _typeshed import ReadableBuffer

__all__ = ["ContentHandler", "ErrorHandler", "make_sax_parser", "sax_parse", "sax_parse_string"]

CHUNK_SIZE = 64 * 1024


class SafeExpatReader(ExpatParser):
    """``xml.sax.expatreader.ExpatParser`` with the policy's declaration checks installed."""

    # The base class's private state (set by ExpatParser.reset() and feed(); not in typeshed).
    _parser: XMLParserType | None
    _parsing: bool

    def __init__(self, policy: XMLPolicy = STREAM_XML_POLICY) -> None:
        super().__init__()
        self.policy = policy
        self.fed = 0

    def reset(self) -> None:
        super().reset()
        assert self._parser is not None  # the base class's reset() has just made it
        DeclarationChecks(self.policy, self._parser)
        self.fed = 0

    def feed(self, data: str | ReadableBuffer, isFinal: bool = False) -> None:
        """Parse the next piece; the first piece of a document resets the reader."""
        before = self.fed if self._parsing else 0  # the base class resets on a first feed
        limit = self.policy.max_bytes
        size = len(data) if isinstance(data, str) else memoryview(data).nbytes
        if limit is not None and before + size > limit:
            raise MessageTooLarge(f"XML document larger than {limit} bytes", limit="max_bytes")
        try:
            super().feed(data, isFinal)
        except xml.sax.SAXParseException as exc:
            raise ParseError(f"malformed XML: {exc.getMessage()}", line=exc.getLineNumber(),
                             column=exc.getColumnNumber()) from None
        except WirekitError:
            raise
        except (LookupError, ValueError) as exc:
            if not raised_in(exc, "xml.sax.expatreader"):
                raise  # the caller's handler failed: its error, not the document's
            raise bad_encoding(exc) from None
        self.fed = before + size

    def pending(self) -> int:
        """Bytes fed that expat still holds in an unfinished token (0 before the first feed)."""
        if self._parser is None:
            return 0
        return max(0, self.fed - max(self._parser.CurrentByteIndex, 0))


def make_sax_parser(policy: XMLPolicy = STREAM_XML_POLICY, *, namespaces: bool = False
                    ) -> SafeExpatReader:
    """A safe SAX reader to drive yourself (``setContentHandler``, ``feed``, ``close``)."""
    reader = SafeExpatReader(policy)
    reader.setFeature(feature_namespaces, namespaces)
    return reader


def _prepared(handler: ContentHandler, error_handler: ErrorHandler | None, policy: XMLPolicy,
              namespaces: bool) -> SafeExpatReader:
    reader = make_sax_parser(policy, namespaces=namespaces)
    reader.setContentHandler(handler)
    if error_handler is not None:
        reader.setErrorHandler(error_handler)
    return reader


def sax_parse(source: Source, handler: ContentHandler, *, error_handler: ErrorHandler | None = None,
              namespaces: bool = False, policy: XMLPolicy = STREAM_XML_POLICY,
              chunk_size: int = CHUNK_SIZE) -> None:
    """Stream ``source`` (path, binary file or chunks) through ``handler``'s methods.

    Input is fed as it arrives; once an unfinished token (a huge attribute or comment) holds
    more than ``chunk_size`` bytes, each feed waits for as many new bytes, which keeps expat
    2.5's re-scanning linear (SECURITY.md X04). A token over ``policy.max_token`` is refused.
    """
    reader = _prepared(handler, error_handler, policy, namespaces)
    with open_binary(source) as stream:
        _feed(reader, stream, chunk_size, policy.max_token)
    reader.close()


def _feed(reader: SafeExpatReader, stream: IO[bytes], base: int, max_token: int) -> None:
    read = chunk_reader(stream)
    want, held, held_size = base, [], 0
    while data := read(want - held_size):
        held.append(data)
        held_size += len(data)
        if held_size < want and reader.pending() > base:
            continue
        reader.feed(b"".join(held) if len(held) > 1 else held[0])
        stuck = reader.pending()
        if stuck > max_token:
            raise MessageTooLarge(f"an XML token longer than {max_token} bytes",
                                  limit="max_token")
        want, held, held_size = max(base, stuck), [], 0
    if held:
        reader.feed(b"".join(held))


def sax_parse_string(text: str | bytes, handler: ContentHandler, *,
                     error_handler: ErrorHandler | None = None, namespaces: bool = False,
                     policy: XMLPolicy = STREAM_XML_POLICY) -> None:
    """Run a document held in memory through ``handler`` (one feed: linear in expat 2.5)."""
    reader = _prepared(handler, error_handler, policy, namespaces)
    reader.feed(text)
    reader.close()
