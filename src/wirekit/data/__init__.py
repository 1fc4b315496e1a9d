"""Internet data handling (course section 3): CSV, HTML, XML and JSON, safe and streaming.

A side column: it imports only the standard library and ``wirekit.errors``/``wirekit.config``,
so any layer may parse data without pulling in the network stack.

* CSV: :func:`read_rows`, :func:`read_records` (typed columns), :func:`write_rows`, :func:`sniff`
* HTML: :func:`scan_html` -> :class:`Page` (links, forms, tables, text); :class:`HTMLParser`
  to subclass as the course does, fed in linear time
* XML: :func:`parse`/:func:`fromstring` (safe ElementTree), :func:`iterparse` (streaming, flat
  memory; or ElementTree's ``(event, element)`` form), :func:`sax_parse` (SAX);
  :class:`XMLPolicy` says what documents may use
* JSON: :func:`loads`/:func:`load`/:func:`dumps`/:func:`dump`, JSON Lines with
  :func:`iter_jsonlines`/:func:`dump_jsonlines`

Readers take a *source*: a path, a binary file or HTTP response (anything with ``read``), or an
iterable of ``bytes`` chunks (see :mod:`wirekit.data.sources`). Errors: :class:`ParseError`
(also a ``ValueError``) and its named :class:`XMLForbidden` subclasses; size and depth bounds
raise :class:`~wirekit.errors.LimitExceeded` subclasses naming the setting.
"""

from wirekit.data.errors import (
    DTDForbidden,
    EntitiesForbidden,
    ExternalDTDForbidden,
    ExternalReferenceForbidden,
    ParameterEntitiesForbidden,
    ParseError,
    XMLForbidden,
)
from wirekit.data.htmlforms import Field, Form, Option, Submission
from wirekit.data.htmlpage import Link, Page, PageScanner, scan_html
from wirekit.data.htmlparse import HTMLParser, decode_html
from wirekit.data.jsondata import dump, dump_jsonlines, dumps, iter_jsonlines, load, loads
from wirekit.data.sources import Source
from wirekit.data.tabular import (
    parse_records,
    parse_rows,
    read_records,
    read_rows,
    sniff,
    to_csv,
    write_records,
    write_rows,
)
from wirekit.data.xmlguard import DEFAULT_XML_POLICY, STREAM_XML_POLICY, XMLPolicy
from wirekit.data.xmlsax import (
    ContentHandler,
    ErrorHandler,
    make_sax_parser,
    sax_parse,
    sax_parse_string,
)
from wirekit.data.xmlstream import iterparse
from wirekit.data.xmltree import (
    Element,
    ElementTree,
    SubElement,
    fromstring,
    parse,
    tostring,
    write,
)

__all__ = [
    "DEFAULT_XML_POLICY",
    "STREAM_XML_POLICY",
    "ContentHandler",
    "DTDForbidden",
    "Element",
    "ElementTree",
    "EntitiesForbidden",
    "ErrorHandler",
    "ExternalDTDForbidden",
    "ExternalReferenceForbidden",
    "Field",
    "Form",
    "HTMLParser",
    "Link",
    "Option",
    "Page",
    "PageScanner",
    "ParameterEntitiesForbidden",
    "ParseError",
    "Source",
    "SubElement",
    "Submission",
    "XMLForbidden",
    "XMLPolicy",
    "decode_html",
    "dump",
    "dump_jsonlines",
    "dumps",
    "fromstring",
    "iter_jsonlines",
    "iterparse",
    "load",
    "loads",
    "make_sax_parser",
    "parse",
    "parse_records",
    "parse_rows",
    "read_records",
    "read_rows",
    "sax_parse",
    "sax_parse_string",
    "scan_html",
    "sniff",
    "to_csv",
    "tostring",
    "write",
    "write_records",
    "write_rows",
]
