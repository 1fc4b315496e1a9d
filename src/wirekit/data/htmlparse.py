"""The standard library's event-driven HTML parser (slides 3-4..3-8), fed so it stays linear.

Subclass :class:`HTMLParser` exactly as the course subclasses ``html.parser.HTMLParser``
(``handle_starttag``, ``handle_data``, ``handle_endtag``); only the feeding differs.

Why (SECURITY.md P02): on CPython 3.11.7 ``html.parser`` re-scans an unfinished construct
(a tag, comment or ``<script>`` body still waiting for its end) on every ``feed()``, and at
``close()`` recovers from one left open at end of input by stepping two characters at a time,
re-scanning the rest each step. ``'<a' * 25000`` takes seconds. So this subclass

* holds small feeds back until it has at least as much new text as the parser has pending, so
  every re-scan is paid for by new input (linear however the caller chunks its feeds);
* drops an unfinished construct left at end of input instead of running the quadratic
  recovery, which is also what the HTML standard does (an unclosed tag or comment at end of
  file produces no text);
* refuses more than ``max_bytes`` of input;
* turns the standard parser's own failures into :class:`~wirekit.data.ParseError`: a
  ``<![foo[...]]>`` marked section it does not know (an ``AssertionError`` on 3.11) becomes the
  bogus comment the HTML standard makes of it, and a decimal character reference too long for
  ``int()`` (more than 4300 digits, an ``html.unescape`` ``ValueError``) is a ParseError;
* takes ``bytes`` as well as text, decoded by the rule :func:`decode_html` uses (the
  ``encoding`` given, else a BOM, else ``<meta charset>`` in the first 1024 bytes, else UTF-8).
"""

from __future__ import annotations

import codecs
import html.parser
import re
from collections.abc import Callable

from wirekit.config import DEFAULT_LIMITS
from wirekit.data.errors import ParseError, raised_in
from wirekit.errors import ConfigError, MessageTooLarge

__all__ = ["HTMLParser", "decode_html"]

# Text passed to the standard parser at once, at least: small enough that events flow while a
# page streams in, large enough that per-feed overhead does not matter.
FEED_SIZE = 16 * 1024
# A tail the parser still holds at close() is run through its end-of-input recovery only if
# it is this short: that recovery is quadratic in the tail's length on 3.11.7.
EOF_TAIL = 1024
# The HTML standard's encoding prescan looks at the first 1024 bytes.
PRESCAN = 1024
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
# Codecs Python has that no page is written in (see _known).
_NOT_FOR_PAGES = frozenset({"undefined", "idna", "punycode", "utf-7", "unicode-escape",
                            "raw-unicode-escape"})
# Where the standard parser's own exceptions come from (not a subclass's handlers).
_STDLIB = ("html", "html.parser", "_markupbase")


class HTMLParser(html.parser.HTMLParser):
    """``html.parser.HTMLParser`` with linear-time feeding and an input bound.

    ``max_bytes`` counts characters (or bytes) fed (None: no bound). ``dropped`` is the length
    of any unfinished construct discarded at :meth:`close`. ``encoding`` (say, from a
    Content-Type header) decodes ``bytes`` feeds; without it the page's BOM or ``<meta
    charset>`` decides, else UTF-8. ``encoding_used`` says which codec decoded them.
    """

    def __init__(self, *, convert_charrefs: bool = True,
                 max_bytes: int | None = DEFAULT_LIMITS.max_body,
                 encoding: str | None = None) -> None:
        self.max_bytes = max_bytes
        self.encoding = encoding
        super().__init__(convert_charrefs=convert_charrefs)  # calls reset()

    def reset(self) -> None:
        """Forget all input, as the standard parser's ``reset``."""
        super().reset()
        self._held: list[str] = []
        self._held_size = 0
        self.received = 0
        self.dropped = 0
        self.__kind: type | None = None  # str or bytes: one kind per document
        self.__head = b""  # bytes held until the encoding is known
        self.__decode: Callable[[bytes, bool], str] | None = None
        self.encoding_used: str | None = None
        # Private names are mangled (__x): subclasses, the course's included, pick their own.

    def feed(self, data: str | bytes) -> None:
        """Take more text (or bytes); it reaches the handlers once enough is buffered to parse
        linearly."""
        if not isinstance(data, str | bytes | bytearray | memoryview):
            raise ConfigError(f"feed() takes str or bytes, not {type(data).__name__}")
        self.received += len(data)
        if self.max_bytes is not None and self.received > self.max_bytes:
            raise MessageTooLarge(f"HTML document larger than {self.max_bytes} characters",
                                  limit="max_bytes")
        text = self.__as_text(data)
        self._held.append(text)
        self._held_size += len(text)
        if self._held_size >= max(FEED_SIZE, len(self.rawdata)):
            self._pass_on()

    def __as_text(self, data: str | bytes, final: bool = False) -> str:
        """``data`` as text: bytes go through one incremental decoder per document."""
        kind = str if isinstance(data, str) else bytes
        if self.__kind not in (None, kind):
            raise ConfigError("feed() got both str and bytes for one document: decode the"
                              " bytes yourself (decode_html) or feed only bytes")
        self.__kind = kind
        if isinstance(data, str):
            return data
        if self.__decode is None:
            self.__head += bytes(data)
            if len(self.__head) < PRESCAN and not final:
                return ""  # not yet enough to look for a BOM or <meta charset>
            self.encoding_used = choose_encoding(self.__head, self.encoding)
            decoder = codecs.getincrementaldecoder(self.encoding_used)(errors="replace")
            self.__decode, data, self.__head = decoder.decode, self.__head, b""
        return self.__decode(bytes(data), final)

    def _pass_on(self) -> None:
        data = "".join(self._held)
        self._held, self._held_size = [], 0
        self.__guarded(super().feed, data)

    def __guarded(self, step: Callable[..., None], *args: str) -> None:
        """Run the standard parser; its own ``ValueError`` is the document's fault."""
        try:
            step(*args)
        except ValueError as exc:
            if isinstance(exc, ConfigError | ParseError) or not raised_in(exc, *_STDLIB):
                raise  # a handler's error, not the parser's
            raise ParseError(f"malformed HTML: {_reason(exc)}", line=self.getpos()[0]) from None

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        """``<![CDATA[...]]>`` and the other SGML keywords as the standard parser reads them;
        any other ``<![...>`` is a bogus comment up to the next ``>`` (HTML standard,
        "markup declaration open state"), not the ``AssertionError`` 3.11 raises."""
        position = self.lineno, self.offset
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            self.lineno, self.offset = position  # _scan_name moved them before it failed
            return self.parse_bogus_comment(i, report)

    def close(self) -> None:
        """Finish: parse what is held, drop a long unfinished construct, flush the rest."""
        if self.__decode is not None or self.__head:
            tail = self.__as_text(b"", final=True)
            if tail:
                self._held.append(tail)
        if self._held:
            self._pass_on()
        if len(self.rawdata) > EOF_TAIL:
            self.dropped = len(self.rawdata)
            self.rawdata = ""
        self.__guarded(super().close)


def _reason(exc: ValueError) -> str:
    if "integer string conversion" in str(exc):
        return "a numeric character reference has too many digits to convert"
    return str(exc)


def decode_html(data: bytes, encoding: str | None = None) -> str:
    """Decode a page: the given encoding (from Content-Type), else a BOM, else ``<meta
    charset>`` in the first 1024 bytes, else UTF-8. Undecodable bytes become U+FFFD."""
    return data.decode(choose_encoding(data, encoding), errors="replace")


def choose_encoding(data: bytes, encoding: str | None = None) -> str:
    """The codec :func:`decode_html` uses for a page starting with ``data``."""
    for candidate in (encoding, _bom_encoding(data), _meta_encoding(data[:PRESCAN])):
        if candidate and _known(candidate):
            # A BOM in front of a page declared UTF-8 is still a BOM, not text.
            utf8 = codecs.lookup(candidate).name == "utf-8"
            return "utf-8-sig" if utf8 else candidate
    return "utf-8-sig"


def _bom_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _meta_encoding(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def _known(name: str) -> bool:
    """A text codec a page may use: not a transform (rot13, base64), not one that raises on
    any byte (undefined, idna, punycode), not an escape syntax, and not UTF-7, which the HTML
    standard forbids (a page in UTF-7 hid ``<script>`` from filters)."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return getattr(info, "_is_text_encoding", True) and info.name not in _NOT_FOR_PAGES
