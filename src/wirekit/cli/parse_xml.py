"""``wirekit parse`` on XML: the streaming summary and ``--xpath`` with namespaces.

A path is ElementTree's syntax with the document's own prefixes (``.//dc:creator``), the
root's default namespace for unprefixed names (an Atom feed's ``.//entry``, as the summary
lists it), ``--ns PREFIX=URI`` over both, and a final ``/@name`` for attribute values. A bare
tag is streamed with :func:`wirekit.data.iterparse`; any other path reads the whole document.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import click

from wirekit import data

__all__ = ["NO_MATCH", "XPath", "xml_summary", "xpath"]

# --xpath paths that name one tag anywhere ("item", ".//item", "//item") are streamed.
STREAMABLE = re.compile(r"^(?:\.?//)?([^/\[\]@*.(){}]+)$")
# A path ending in an attribute step: "item/@units", ".//a/@p:href", or "@id" alone.
ATTRIBUTE = re.compile(r"^(?:(.*)/)?@([^/\[\]@=()'\"\s]+)$")
# Tokens of an ElementTree path: quoted literals, "{uri}name" (its URI has slashes), "@attr",
# "name" or "name()" (see _in_default).
PATH_TOKEN = re.compile(r"""'[^']*'|"[^"]*"|@?\{[^}]*\}[^/\[\]()@!=\s'"]*"""
                        r"""|@?[^/\[\]()@!=\s'"]+(?:\(\))?""")
# Exit status when --xpath or --query matched nothing, as grep's.
NO_MATCH = 1


@dataclass(frozen=True)
class XPath:
    """An --xpath request: the path, --ns, --text, --json and --max-size."""

    path: str
    ns: dict[str, str]
    text: bool = False
    as_json: bool = False
    max_size: int | None = None


class _Census(data.ContentHandler):
    """Counts elements by tag, the nesting depth and the namespace declarations, streaming."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.depth = self.deepest = 0
        self.root = ""
        self.namespaces: dict[str, str] = {}

    def startElement(self, name: str, attrs: Any) -> None:
        self.root = self.root or name
        self.tags[name] += 1
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)
        for attr in attrs.getNames():
            if attr == "xmlns" or attr.startswith("xmlns:"):
                self.namespaces.setdefault(attr[6:], attrs.getValue(attr))

    def endElement(self, name: str) -> None:
        self.depth -= 1


@dataclass
class _Names:
    """Namespaces a path may use: the document's prefixes (first declaration wins), the root's
    default namespace (applied to unprefixed names, as the summary shows them), then --ns."""

    prefixes: dict[str, str] = field(default_factory=dict)
    default: str | None = None

    def declare(self, prefix: str, uri: str, on_root: bool) -> None:
        if prefix:
            self.prefixes.setdefault(prefix, uri)
        elif on_root and self.default is None:
            self.default = uri

    def with_options(self, ns: dict[str, str]) -> _Names:
        prefixes = {**self.prefixes, **{p: u for p, u in ns.items() if p}}
        return _Names(prefixes, ns.get("", self.default))

    def clark(self, name: str, attribute: bool = False) -> str:
        """``p:local`` or ``local`` as ElementTree's ``{uri}local``."""
        prefix, colon, local = name.rpartition(":")
        if name.startswith("{") or (not colon and (attribute or not self.default)):
            return name
        if not colon:
            return f"{{{self.default}}}{name}"
        if prefix not in self.prefixes:
            raise click.UsageError(f"prefix {prefix!r} is not declared in the document; pass"
                                   f" --ns {prefix}=URI")
        return f"{{{self.prefixes[prefix]}}}{local}"


def _head_names(head: bytes) -> _Names:
    """Declarations in the first bytes (the root's, usually): enough to stream a prefixed tag.

    The head is cut anywhere, so a ParseError here only means "the rest is not here"; a refused
    feature is raised now, as the full parse would raise it.
    """
    names, started = _Names(), False
    try:
        for event, value in data.iterparse([head], events=("start", "start-ns")):
            if event == "start":
                started = True
            else:
                names.declare(value[0], value[1], on_root=not started)
    except data.XMLForbidden:
        raise
    except data.ParseError:
        pass
    return names


def _in_default(path: str, names: _Names) -> str:
    """Put unprefixed element names of ``path`` in the default namespace.

    ElementPath's own ``namespaces={"": uri}`` also rewrites the numbers of ``item[2]``, so
    names are qualified here: not literals, attributes, functions, numbers, ``.``, ``*``."""
    def qualify(match: re.Match[str]) -> str:
        token = match.group()
        if (token[0] in "'\"@{.*-" or token[0].isdigit() or ":" in token
                or token.endswith("()")):
            return token
        return names.clark(token)
    return PATH_TOKEN.sub(qualify, path) if names.default else path


def _show(found: Iterable[data.Element], attribute: str | None, options: XPath) -> int:
    """Print each match (or its attribute); the exit status: NO_MATCH if none was printed."""
    printed = 0
    for element in found:
        if attribute is not None:
            value = element.get(attribute)
            if value is None:
                continue
            out = value
        elif options.text:
            out = "".join(element.itertext()).strip()
        else:
            out = str(data.tostring(element, pretty=True))
        click.echo(json.dumps(out, ensure_ascii=False) if options.as_json else out)
        printed += 1
    return 0 if printed else NO_MATCH


def xpath(chunks: Iterable[bytes], head: bytes, options: XPath) -> int:
    """Print what ``options.path`` selects; the exit status (NO_MATCH if nothing matched).

    A bare tag (``item``, ``.//item``, ``//p:item``, with or without a final ``/@name``) is
    streamed in constant memory; any other path reads the whole document (--max-size)."""
    path = options.path
    attribute = None
    if (ends_in_attribute := ATTRIBUTE.match(path)) is not None:
        path, attribute = ends_in_attribute.group(1) or ".", ends_in_attribute.group(2)
    streamable = STREAMABLE.match(path)
    names = _head_names(head).with_options(options.ns)
    if streamable:
        try:
            tag = names.clark(streamable.group(1))
            attr = names.clark(attribute, attribute=True) if attribute else None
        except click.UsageError:
            pass  # declared further down, perhaps: the whole document is read below
        else:
            return _show(data.iterparse(chunks, tag), attr, options)
    root, names = _whole(chunks, options)
    if path.startswith("//"):
        path = "." + path
    elif re.match(r"/[^/]", path):
        first, _, rest = path[1:].partition("/")
        if names.clark(first) != root.tag:
            return NO_MATCH  # an absolute path that names another root
        path = "./" + rest if rest else "."
    attr = names.clark(attribute, attribute=True) if attribute else None
    try:
        found = root.findall(_in_default(path or ".", names), names.prefixes)
    except SyntaxError as exc:
        prefix = re.match(r"prefix '(.*)' not found", str(exc))
        if prefix:
            names.clark(prefix.group(1) + ":x")  # raises the usage error naming --ns
        raise _bad_path(options.path, exc) from None
    except (TypeError, KeyError, ValueError) as exc:  # ElementPath's many ways
        raise _bad_path(options.path, exc) from None
    return _show(found, attr, options)


def _bad_path(path: str, exc: Exception) -> click.UsageError:
    return click.UsageError(f"--xpath {path!r} is not a path ElementTree knows"
                            f" ({type(exc).__name__}: {exc})")


def _whole(chunks: Iterable[bytes], options: XPath) -> tuple[data.Element, _Names]:
    """The whole tree (bounded by --max-size) and every namespace declared in it."""
    policy = replace(data.DEFAULT_XML_POLICY, max_bytes=options.max_size)
    names, root = _Names(), None
    for event, value in data.iterparse(chunks, events=("start", "start-ns"),
                                       policy=policy):
        if event == "start-ns":
            names.declare(value[0], value[1], on_root=root is None)
        elif root is None:
            root = value
    assert root is not None, "a document without a root is a ParseError"
    return root, names.with_options(options.ns)


def xml_summary(chunks: Iterable[bytes], as_json: bool) -> int:
    """Root, element counts by tag, depth and namespaces, read with SAX (any size)."""
    census = _Census()
    data.sax_parse(chunks, census)
    if as_json:
        click.echo(json.dumps({"format": "xml", "root": census.root,
                               "elements": census.tags.total(), "depth": census.deepest,
                               "tags": dict(census.tags.most_common()),
                               "namespaces": census.namespaces}, ensure_ascii=False))
        return 0
    top = ", ".join(f"{tag} {count}" for tag, count in census.tags.most_common(10))
    click.echo(f"format  XML\nroot    {census.root}\nelements {census.tags.total()}\n"
               f"depth   {census.deepest}\ntags    {top}")
    if census.namespaces:
        declared = ", ".join(f"{p or '(default)'}={u}" for p, u in census.namespaces.items())
        click.echo(f"xmlns   {declared}")
    return 0
