"""Whole-document XML: parse safely into an ElementTree, query it, change it, write it out.

The tree is the standard library's own (``xml.etree.ElementTree``, C-accelerated), so the
course's queries work unchanged on what :func:`parse` returns::

    doc = parse("recipe.xml")
    doc.findtext("title")
    for item in doc.findall("ingredients/item"):
        item.get("num"), item.get("units"), item.text
    doc.findall("*/item"), doc.findall(".//item")  # the slides' "//item" is ".//item" today

What wirekit adds is safety on the way in (the :class:`XMLPolicy`: no entity expansion, no
external references, size and depth bounds) and pretty output on the way out.
"""

from __future__ import annotations

import codecs
import copy
import io
import os
import xml.etree.ElementTree as ET
from typing import IO, cast

from wirekit.data.sources import Source, read_capped
from wirekit.data.xmlguard import DEFAULT_XML_POLICY, GuardedParser, XMLPolicy, check_depth
from wirekit.errors import ConfigError, LimitExceeded

__all__ = ["Element", "ElementTree", "SubElement", "fromstring", "parse", "tostring", "write"]

Element = ET.Element
ElementTree = ET.ElementTree
SubElement = ET.SubElement


def fromstring(text: str | bytes, *, policy: XMLPolicy = DEFAULT_XML_POLICY) -> ET.Element:
    """Parse a document held in memory and return its root element."""
    if not isinstance(text, str | bytes | bytearray):
        raise ConfigError(f"fromstring() takes str or bytes, not {type(text).__name__}")
    parser = GuardedParser(policy)
    parser.feed(text)
    root = parser.close()
    check_depth(root, policy)
    return root


def parse(source: Source, *, policy: XMLPolicy = DEFAULT_XML_POLICY
          ) -> ET.ElementTree[ET.Element]:
    """Parse a whole document from a path, a binary file or a stream of chunks.

    The input is read (up to ``policy.max_bytes``) and parsed in one call: expat 2.5 is
    quadratic on a large token fed in pieces (SECURITY.md X04), never on one it sees whole.
    Use :func:`wirekit.data.iterparse` for documents too big to hold.
    """
    data = read_capped(source, policy.max_bytes, "XML document")
    return ET.ElementTree(fromstring(data, policy=policy))


def _prepared(node: ET.Element | ET.ElementTree[ET.Element], pretty: bool, indent: str
              ) -> ET.Element:
    root = node.getroot() if isinstance(node, ET.ElementTree) else node
    if not pretty:
        return root
    root = copy.deepcopy(root)  # indenting rewrites text and tail: leave the caller's tree alone
    root.tail = None  # the text after this element belongs to its parent's layout
    ET.indent(root, space=indent)
    return root


def _too_deep() -> LimitExceeded:
    return LimitExceeded("element tree nested too deeply to serialise", limit="max_depth")


def tostring(node: ET.Element | ET.ElementTree[ET.Element], *, pretty: bool = False,
             indent: str = "  ", encoding: str = "unicode", xml_declaration: bool | None = None
             ) -> str | bytes:
    """Serialise an element (or a tree's root): ``str`` by default, bytes for an encoding.

    ``pretty`` indents a copy, one level per ``indent``. A tree too deep for Python's recursion
    limit raises :class:`~wirekit.errors.LimitExceeded`, never ``RecursionError``.
    """
    try:
        root = _prepared(node, pretty, indent)
        return ET.tostring(root, encoding=encoding, xml_declaration=xml_declaration)
    except RecursionError:
        raise _too_deep() from None


def write(node: ET.Element | ET.ElementTree[ET.Element],
          file: str | os.PathLike[str] | IO[bytes] | IO[str], *,
          pretty: bool = False, indent: str = "  ", encoding: str | None = None,
          xml_declaration: bool = True) -> None:
    """Write a document to a path or a binary or text file, with an XML declaration by default.

    ``encoding`` defaults to UTF-8 for paths and binary files. A text file (the slides'
    ``open("output.xml", "w")``) is written in its own encoding, which the declaration names;
    characters it cannot encode become character references. Asking a text file for another
    encoding is a ConfigError (open the file in binary mode instead).
    """
    text_file = isinstance(file, io.TextIOBase)
    if text_file:
        encoding = _text_encoding(cast("IO[str]", file), encoding)
    encoding = encoding or "utf-8"
    if encoding.lower() == "unicode":
        raise ConfigError("write() writes encoded XML; use tostring() for a str")
    try:
        root = _prepared(node, pretty, indent)
        out = io.BytesIO()
        ET.ElementTree(root).write(out, encoding=encoding, xml_declaration=xml_declaration)
    except RecursionError:
        raise _too_deep() from None
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}") from None
    if isinstance(file, str | os.PathLike):
        with open(file, "wb") as handle:
            handle.write(out.getvalue())
    elif text_file:
        cast("IO[str]", file).write(out.getvalue().decode(encoding))
    else:
        try:
            cast("IO[bytes]", file).write(out.getvalue())
        except TypeError:  # a text stream that is not an io.TextIOBase
            raise ConfigError(f"write() cannot write bytes to a {type(file).__name__}: pass a"
                              " path, a binary file ('wb') or an io text file") from None


def _text_encoding(file: IO[str], asked: str | None) -> str:
    """The encoding a text file writes in (UTF-8 for an ``io.StringIO``, which has none)."""
    own = getattr(file, "encoding", None) or "utf-8"
    try:
        same = asked is None or codecs.lookup(asked).name == codecs.lookup(own).name
    except LookupError:
        raise ConfigError(f"unknown encoding {asked!r}") from None
    if not same:
        raise ConfigError(f"the text file writes {own}, not {asked}: open it in binary mode"
                          " ('wb') to write another encoding")
    return own
