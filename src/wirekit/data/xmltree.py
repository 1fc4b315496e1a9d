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

import copy
import io
import os
import xml.etree.ElementTree as ET
from typing import IO

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
          file: str | os.PathLike[str] | IO[bytes], *,
          pretty: bool = False, indent: str = "  ", encoding: str = "utf-8",
          xml_declaration: bool = True) -> None:
    """Write a document to a path or binary file, with an XML declaration by default."""
    try:
        root = _prepared(node, pretty, indent)
        out = io.BytesIO()
        ET.ElementTree(root).write(out, encoding=encoding, xml_declaration=xml_declaration)
    except RecursionError:
        raise _too_deep() from None
    if isinstance(file, str | os.PathLike):
        with open(file, "wb") as handle:
            handle.write(out.getvalue())
    else:
        file.write(out.getvalue())
