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
* refuses more than ``max_bytes`` of input.
"""

from __future__ import annotations

import codecs
import html.parser
import re

from wirekit.config import DEFAULT_LIMITS
from wirekit.errors import MessageTooLarge

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


class HTMLParser(html.parser.HTMLParser):
    """``html.parser.HTMLParser`` with linear-time feeding and an input bound.

    ``max_bytes`` counts characters fed (None: no bound). ``dropped`` is the length of any
    unfinished construct discarded at :meth:`close`.
    """

    def __init__(self, *, convert_charrefs: bool = True,
                 max_bytes: int | None = DEFAULT_LIMITS.max_body) -> None:
        self.max_bytes = max_bytes
        super().__init__(convert_charrefs=convert_charrefs)  # calls reset()

    def reset(self) -> None:
        """Forget all input, as the standard parser's ``reset``."""
        super().reset()
        self._held: list[str] = []
        self._held_size = 0
        self.received = 0
        self.dropped = 0

    def feed(self, data: str) -> None:
        """Take more text; it reaches the handlers once enough is buffered to parse linearly."""
        self.received += len(data)
        if self.max_bytes is not None and self.received > self.max_bytes:
            raise MessageTooLarge(f"HTML document larger than {self.max_bytes} characters",
                                  limit="max_bytes")
        self._held.append(data)
        self._held_size += len(data)
        if self._held_size >= max(FEED_SIZE, len(self.rawdata)):
            self._pass_on()

    def _pass_on(self) -> None:
        data = "".join(self._held)
        self._held, self._held_size = [], 0
        super().feed(data)

    def close(self) -> None:
        """Finish: parse what is held, drop a long unfinished construct, flush the rest."""
        if self._held:
            self._pass_on()
        if len(self.rawdata) > EOF_TAIL:
            self.dropped = len(self.rawdata)
            self.rawdata = ""
        super().close()


def decode_html(data: bytes, encoding: str | None = None) -> str:
    """Decode a page: the given encoding (from Content-Type), else a BOM, else ``<meta
    charset>`` in the first 1024 bytes, else UTF-8. Undecodable bytes become U+FFFD."""
    for candidate in (encoding, _bom_encoding(data), _meta_encoding(data[:PRESCAN])):
        if candidate and _known(candidate):
            # A BOM in front of a page declared UTF-8 is still a BOM, not text.
            utf8 = codecs.lookup(candidate).name == "utf-8"
            return data.decode("utf-8-sig" if utf8 else candidate, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


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
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
