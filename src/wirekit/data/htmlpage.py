"""One pass over a page collects what a client wants from it: links, forms, tables, text.

The course gathers links with an ``HTMLParser`` subclass (slides 3-7, 3-8); the scanner here is
that idea grown up. Links come back absolute (resolved against the page URL and any
``<base href>``), forms with their defaults ready for :meth:`Form.submission`, tables as rows
of cell text, and the text a reader would see. Malformed markup is handled as browsers handle
it where that is cheap (a new ``<td>`` ends the last one, a nested ``<form>`` is ignored, an
unclosed construct at end of input is dropped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from wirekit.config import DEFAULT_LIMITS
from wirekit.data.htmlforms import MULTIPART, PLAIN, URLENCODED, Field, Form, Option
from wirekit.data.htmlparse import HTMLParser, decode_html

__all__ = ["Link", "Page", "PageScanner", "scan_html"]

# The attribute of each element that points somewhere (HTML standard's URL attributes).
LINK_ATTRS = {"a": "href", "area": "href", "link": "href", "img": "src", "script": "src",
              "iframe": "src", "frame": "src", "embed": "src", "source": "src",
              "audio": "src", "video": "src", "track": "src"}
# Elements whose content a reader does not see as page text.
HIDDEN = frozenset({"script", "style", "template", "title", "noscript", "textarea", "select"})
# Elements that start a new line of text.
BLOCKS = frozenset({"address", "article", "aside", "blockquote", "br", "dd", "details", "div",
                    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
                    "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
                    "p", "pre", "section", "summary", "table", "tr", "ul"})
INPUT_TYPES = frozenset({"text", "search", "url", "tel", "email", "password", "date", "month",
                         "week", "time", "datetime-local", "number", "range", "color",
                         "checkbox", "radio", "file", "hidden", "submit", "image", "reset",
                         "button"})
ENCTYPES = frozenset({URLENCODED, MULTIPART, PLAIN})
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Link:
    """Where an element points: ``url`` absolute, ``raw`` as written, ``text`` for anchors.

    ``url`` is ``""`` when ``raw`` is not a URL that can be resolved (``http://[x]/``): the HTML
    standard's "URL parsing failure", a link no browser follows.
    """

    url: str
    tag: str
    text: str = ""
    rel: str = ""
    raw: str = ""


@dataclass(slots=True)
class Page:
    """Everything :class:`PageScanner` collected from one page."""

    url: str | None
    title: str = ""
    links: list[Link] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)
    text: str = ""


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class _Table:
    """Rows of one table being built; a cell is open while ``cell`` is not None."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def end_cell(self) -> None:
        if self.cell is not None:
            self.rows[-1].append(_squash("".join(self.cell)))
            self.cell = None

    def start_row(self) -> None:
        self.end_cell()
        self.rows.append([])

    def start_cell(self) -> None:
        self.end_cell()
        if not self.rows:
            self.rows.append([])  # a cell with no <tr>: browsers make the row
        self.cell = []


Attrs = dict[str, str]


class PageScanner(HTMLParser):
    """Collects a :class:`Page` while fed; call :meth:`page` at the end.

    Feed it text or bytes as they arrive (``feed``; bytes are decoded as
    :class:`~wirekit.data.HTMLParser` says), or use :func:`scan_html` for a page in memory.
    """

    def __init__(self, url: str | None = None, *,
                 max_bytes: int | None = DEFAULT_LIMITS.max_body,
                 encoding: str | None = None) -> None:
        self.url = url
        super().__init__(max_bytes=max_bytes, encoding=encoding)

    def reset(self) -> None:
        super().reset()
        self._base: str | None = None
        self._title: list[str] | None = None
        self._title_done = False
        self._final_title = ""
        self._links: list[tuple[str, str, str, list[str] | None]] = []
        self._anchor: list[str] | None = None
        self._forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._option: tuple[Attrs, list[str]] | None = None
        self._textarea: tuple[Field, list[str]] | None = None
        self._tables: list[_Table] = []
        self._open_tables: list[_Table] = []
        self._text: list[str] = []
        self._hidden: list[str] = []
        self._pre = 0

    # -- events ------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found: Attrs = {}
        for name, value in attrs:
            found.setdefault(name, value or "")  # the first of a repeated attribute wins
        if tag in LINK_ATTRS and found.get(LINK_ATTRS[tag]):
            self._start_link(tag, found)
        start = _STARTS.get(tag)
        if start is not None:
            start(self, found)
        if tag in HIDDEN:
            self._hidden.append(tag)
        if tag in BLOCKS:
            self._text.append("\n")
        elif tag in ("td", "th"):
            self._text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        end = _ENDS.get(tag)
        if end is not None:
            end(self)
        if tag in self._hidden:
            del self._hidden[len(self._hidden) - 1 - self._hidden[::-1].index(tag):]
        if tag in BLOCKS:
            self._text.append("\n")

    def handle_data(self, data: str) -> None:
        for sink in (self._title, self._anchor):
            if sink is not None:
                sink.append(data)
        if self._option is not None:
            self._option[1].append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._open_tables and self._open_tables[-1].cell is not None:
            self._open_tables[-1].cell.append(data)
        if not self._hidden:
            self._text.append(data if self._pre else _SPACES.sub(" ", data))

    # -- starts ------------------------------------------------------------------------------
    def _start_link(self, tag: str, attrs: Attrs) -> None:
        text: list[str] | None = None
        if tag == "a":
            self._end_a()
            text = self._anchor = []
        elif tag == "area":
            text = [attrs.get("alt", "")]
        self._links.append((tag, attrs[LINK_ATTRS[tag]].strip(), attrs.get("rel", ""), text))

    def _start_base(self, attrs: Attrs) -> None:
        if self._base is None and attrs.get("href"):
            self._base = attrs["href"].strip()

    def _start_title(self, attrs: Attrs) -> None:
        if not self._title_done:
            self._title = []

    def _start_form(self, attrs: Attrs) -> None:
        if self._form is not None:
            return  # a nested <form> is ignored, as browsers do
        method = attrs.get("method", "get").upper()
        enctype = attrs.get("enctype", URLENCODED).lower()
        self._form = Form(action=attrs.get("action", "").strip(),
                          method=method if method in ("GET", "POST") else "GET",
                          enctype=enctype if enctype in ENCTYPES else URLENCODED,
                          name=attrs.get("name"), id=attrs.get("id"))
        self._forms.append(self._form)

    def _add_field(self, control: Field) -> None:
        if self._form is not None:
            self._form.fields.append(control)

    def _start_input(self, attrs: Attrs) -> None:
        kind = attrs.get("type", "text").lower()
        kind = kind if kind in INPUT_TYPES else "text"
        default = "on" if kind in ("checkbox", "radio") else ""
        self._add_field(Field(name=attrs.get("name", ""), kind=kind,
                              value=attrs.get("value", default), checked="checked" in attrs,
                              disabled="disabled" in attrs))

    def _start_button(self, attrs: Attrs) -> None:
        kind = attrs.get("type", "submit").lower()
        self._add_field(Field(name=attrs.get("name", ""),
                              kind=kind if kind in ("submit", "reset") else "button",
                              value=attrs.get("value", ""), disabled="disabled" in attrs))

    def _start_select(self, attrs: Attrs) -> None:
        self._end_select()
        self._select = Field(name=attrs.get("name", ""), kind="select",
                             multiple="multiple" in attrs, disabled="disabled" in attrs)
        self._add_field(self._select)

    def _start_option(self, attrs: Attrs) -> None:
        self._end_option()
        if self._select is not None:
            self._option = (attrs, [])

    def _start_textarea(self, attrs: Attrs) -> None:
        self._end_textarea()
        control = Field(name=attrs.get("name", ""), kind="textarea",
                        disabled="disabled" in attrs)
        self._add_field(control)
        self._textarea = (control, [])

    def _start_table(self, attrs: Attrs) -> None:
        table = _Table()
        self._tables.append(table)
        self._open_tables.append(table)

    def _start_row(self, attrs: Attrs) -> None:
        if self._open_tables:
            self._open_tables[-1].start_row()

    def _start_cell(self, attrs: Attrs) -> None:
        if self._open_tables:
            self._open_tables[-1].start_cell()

    def _start_pre(self, attrs: Attrs) -> None:
        self._pre += 1

    # -- ends --------------------------------------------------------------------------------
    def _end_a(self) -> None:
        self._anchor = None

    def _end_title(self) -> None:
        if self._title is not None:
            self._title_done = True
            self._final_title = _squash("".join(self._title))
            self._title = None

    def _end_form(self) -> None:
        self._end_select()
        self._end_textarea()
        self._form = None

    def _end_option(self) -> None:
        if self._option is not None and self._select is not None:
            attrs, text = self._option
            label = _squash("".join(text))
            self._select.options.append(Option(
                value=attrs.get("value", label), label=label,
                selected="selected" in attrs, disabled="disabled" in attrs))
        self._option = None

    def _end_select(self) -> None:
        self._end_option()
        self._select = None

    def _end_textarea(self) -> None:
        if self._textarea is not None:
            control, text = self._textarea
            value = "".join(text)
            control.value = value[1:] if value.startswith("\n") else value  # HTML drops it
        self._textarea = None

    def _end_table(self) -> None:
        if self._open_tables:
            self._open_tables.pop().end_cell()

    def _end_cell(self) -> None:
        if self._open_tables:
            self._open_tables[-1].end_cell()

    def _end_pre(self) -> None:
        self._pre = max(0, self._pre - 1)

    # -- result ------------------------------------------------------------------------------
    def page(self) -> Page:
        """Finish parsing (as ``close``) and return what was found, links resolved."""
        self.close()
        self._end_form()
        for table in self._open_tables:
            table.end_cell()
        # An unparsable <base href> is ignored, as the HTML standard's fallback base URL says.
        base = _resolve(self.url or "", self._base or "") or self.url or ""
        links = [Link(url=_resolve(base, raw) or "", tag=tag, rel=rel, raw=raw,
                      text=_squash("".join(text)) if text is not None else "")
                 for tag, raw, rel, text in self._links]
        for form in self._forms:  # an unparsable action stays as written (see Form.submission)
            form.action = _resolve(base, form.action) or form.action
        lines = (line.strip() for line in "".join(self._text).split("\n"))
        return Page(url=self.url, title=self._final_title, links=links,
                    forms=self._forms, tables=[t.rows for t in self._tables],
                    text="\n".join(line for line in lines if line))


def _resolve(base: str, url: str) -> str | None:
    """``url`` made absolute against ``base``; None if either is not a parsable URL (urljoin
    raises ``ValueError`` for a bad IPv6 literal such as ``http://[x]/``)."""
    try:
        joined = urljoin(base, url)
        urlsplit(joined)  # urljoin returns a URL unparsed when there is no base to join
    except ValueError:
        return None
    return joined


_STARTS: dict[str, Callable[[PageScanner, Attrs], None]] = {
    "base": PageScanner._start_base, "title": PageScanner._start_title,
    "form": PageScanner._start_form, "input": PageScanner._start_input,
    "button": PageScanner._start_button, "select": PageScanner._start_select,
    "option": PageScanner._start_option, "textarea": PageScanner._start_textarea,
    "table": PageScanner._start_table, "tr": PageScanner._start_row,
    "td": PageScanner._start_cell, "th": PageScanner._start_cell,
    "pre": PageScanner._start_pre,
}
_ENDS: dict[str, Callable[[PageScanner], None]] = {
    "a": PageScanner._end_a, "title": PageScanner._end_title, "form": PageScanner._end_form,
    "option": PageScanner._end_option, "select": PageScanner._end_select,
    "textarea": PageScanner._end_textarea, "table": PageScanner._end_table,
    "tr": PageScanner._end_cell, "td": PageScanner._end_cell, "th": PageScanner._end_cell,
    "pre": PageScanner._end_pre,
}


def scan_html(page: str | bytes, url: str | None = None, *, encoding: str | None = None,
              max_bytes: int | None = DEFAULT_LIMITS.max_body) -> Page:
    """Scan a whole page. ``bytes`` are decoded with ``encoding`` (say, from Content-Type),
    else a BOM or ``<meta charset>``, else UTF-8; ``url`` resolves relative links."""
    if isinstance(page, bytes | bytearray):
        page = decode_html(bytes(page), encoding)
    scanner = PageScanner(url, max_bytes=max_bytes)
    scanner.feed(page)
    return scanner.page()
