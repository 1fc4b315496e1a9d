"""What follows the command on a ``wirekit get/post/http`` line: the URL shorthand and the
request items, spelled as httpie spells them (https://httpie.io/docs/cli/request-items).

=================  =========================================================================
``name=value``     a field: a query parameter for GET, HEAD, DELETE and OPTIONS, a form field
                   for other methods, a JSON string member when the body is JSON
``name:=json``     a raw JSON value (``n:=2``, ``ok:=true``, ``tags:='["a"]'``): body is JSON
``name==value``    a query parameter, whatever the method
``Header:value``   a request header; ``Header:`` and ``Header;`` send it with an empty value
``field@path``     a file upload: the body is ``multipart/form-data``
``@path``          the file is the whole body
``name=@file``     ``name:=@file`` and ``name==@file``: the value is read from the file
=================  =========================================================================

The separator that starts first wins, and of those starting at the same place the longest
(``a:=1`` is JSON, not a header ``a`` with value ``=1``). A backslash makes the next separator
character literal (``a\\=b=c`` is the field ``a=b``, ``\\\\`` a backslash). Anything else is
refused with an ``ItemError`` naming the item: nothing is guessed or silently changed.

Everything here is pure except reading the files named by ``=@``-style items, so the whole
grammar is unit-tested without a socket (``tests/cli/test_items.py``).
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from wirekit.errors import ConfigError

__all__ = ["Item", "ItemError", "RequestItems", "complete_url", "parse_header", "parse_item",
           "parse_items", "request_arguments"]

Kind = Literal["header", "query", "field", "json", "file", "body"]

#: Separator -> (kind, value read from a file). Longest first, so ``:=@`` beats ``:=``.
_SEPARATORS: Final[dict[str, tuple[Kind, bool]]] = {
    ":=@": ("json", True), "==@": ("query", True), "=@": ("field", True),
    ":=": ("json", False), "==": ("query", False), "=": ("field", False),
    ":": ("header", False), ";": ("header", False), "@": ("file", False),
}
_SPECIAL: Final = frozenset("\\" + "".join(_SEPARATORS))
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.1 field-name
#: Methods whose ``name=value`` items go to the query (they have no body by convention).
QUERY_METHODS: Final = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class ItemError(ConfigError):
    """A request item (or ``-H`` value) that does not parse; the message names it."""


@dataclass(frozen=True, slots=True)
class Item:
    """One parsed item: ``value`` is text, a parsed JSON value, or a path (file, body)."""

    kind: Kind
    name: str
    value: Any
    source: str


def complete_url(text: str) -> str:
    """``http://`` for a URL typed without a scheme, as httpie does: ``localhost:8000/x``,
    ``example.org``; ``:8000/x`` and ``:/x`` mean localhost."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", text) or text.lower().startswith("file:"):
        return text
    if text.startswith(":"):
        port, slash, rest = text[1:].partition("/")
        return f"http://localhost{':' + port if port else ''}{slash}{rest}"
    return "http://" + text


def _tokens(text: str) -> list[str | tuple[str]]:
    """Plain runs of text, and escaped characters as 1-tuples (never separators)."""
    tokens: list[str | tuple[str]] = []
    run = ""
    chars = iter(text)
    for char in chars:
        if char != "\\":
            run += char
            continue
        following = next(chars, "")
        if following in _SPECIAL and following:
            tokens += [run, (following,)]
            run = ""
        else:
            run += char + following
    return [*tokens, run]


def _join(tokens: Iterable[str | tuple[str]]) -> str:
    return "".join(t if isinstance(t, str) else t[0] for t in tokens)


def _split(text: str) -> tuple[str, str, str]:
    """``(name, separator, value)`` at the first (then longest) unescaped separator."""
    tokens = _tokens(text)
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            continue
        found = [(pos, -len(sep), sep) for sep in _SEPARATORS if (pos := token.find(sep)) >= 0]
        if found:
            pos, _, sep = min(found)
            name = _join(tokens[:i]) + token[:pos]
            return name, sep, token[pos + len(sep):] + _join(tokens[i + 1:])
    raise ItemError(f"request item {text!r}: expected name=value, name:=json, name==value, "
                    "Header:value, field@path or @path")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ItemError(f"cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}"
                        ) from None


def parse_item(text: str, read: Callable[[str], str] = _read) -> Item:
    """Parse one item; ``read(path)`` supplies the text of files named by ``=@``-style items."""
    name, sep, value = _split(text)
    kind, from_file = _SEPARATORS[sep]
    if kind == "file" and not name:
        kind = "body"
    elif not name:
        raise ItemError(f"request item {text!r}: the name before {sep!r} is empty")
    if kind == "header":
        if sep == ";" and value:
            raise ItemError(f"request item {text!r}: 'Header;' sends an empty header; "
                            "use Header:value for a value")
        if value.startswith("//"):
            raise ItemError(f"request item {text!r} looks like a second URL; "
                            "give one URL per command")
        return Item("header", *_header(name, value, text), text)
    if from_file:
        if not value:
            raise ItemError(f"request item {text!r}: no file name after {sep!r}")
        value = _read_value(text, value, read)
    if kind == "json":
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ItemError(f"request item {text!r}: not JSON after ':=' ({exc})") from None
    elif kind in ("file", "body"):
        if not value:
            raise ItemError(f"request item {text!r}: no file name after '@'")
        path = Path(value).expanduser()
        if not path.is_file():
            raise ItemError(f"request item {text!r}: no such file {value!r}")
        return Item(kind, name, path, text)
    return Item(kind, name, value, text)


def _read_value(text: str, path: str, read: Callable[[str], str]) -> str:
    try:
        return read(path)
    except ItemError as exc:
        raise ItemError(f"request item {text!r}: {exc}") from None


def parse_header(text: str) -> tuple[str, str]:
    """``Name: value`` (``-H`` or an item) as a pair; ``Name:`` or ``Name;`` is empty.
    Surrounding whitespace of the value is dropped (RFC 9110 §5.5, OWS)."""
    name, colon, value = text.partition(":")
    if not colon and text.endswith(";"):
        name, value = text[:-1], ""
    elif not colon:
        raise ItemError(f"header {text!r}: expected 'Name: value'")
    return _header(name, value, text)


def _header(name: str, value: str, text: str) -> tuple[str, str]:
    if not _TOKEN.fullmatch(name):
        raise ItemError(f"header {text!r}: {name!r} is not a header name")
    return name, value.strip(" \t")


@dataclass
class RequestItems:
    """The items of one command line, sorted by what they become."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    json: list[tuple[str, Any]] = field(default_factory=list)
    files: list[tuple[str, Path]] = field(default_factory=list)
    body: Path | None = None
    #: Every item but headers and the body, in the order typed (query and JSON keep it).
    typed: list[Item] = field(default_factory=list)


def parse_items(texts: Iterable[str], read: Callable[[str], str] = _read) -> RequestItems:
    """Parse every item; two raw bodies (``@a @b``) or JSON with uploads are refused."""
    found = RequestItems()
    for text in texts:
        item = parse_item(text, read)
        if item.kind == "body":
            if found.body is not None:
                raise ItemError(f"request item {text!r}: only one @path can be the body")
            found.body = item.value
        else:
            target: list[Any] = {"header": found.headers, "query": found.query,
                                 "field": found.fields, "json": found.json,
                                 "file": found.files}[item.kind]
            target.append((item.name, item.value))
            found.typed.append(item)
    if found.json and found.files:
        raise ItemError("name:=json items make a JSON body; they cannot go with field@path "
                        "uploads")
    return found


def _json_object(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a repeated name collects its values in a list (as httpie 2 did)."""
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            before = obj[name]
            obj[name] = [*before, value] if isinstance(before, list) else [before, value]
        else:
            obj[name] = value
    return obj


def request_arguments(method: str, items: RequestItems, *, json_body: bool = False,
                      form: bool = False, data: bytes | None = None) -> dict[str, Any]:
    """The ``Session.request`` arguments for the items: ``params``, ``headers`` and one of
    ``json``/``data``/``files``. A ``@path`` body is returned as ``data=Path`` for the caller
    to open. ``json_body`` is ``--json``, ``form`` is ``--form``, ``data`` is ``-d``'s bytes.

    ``name=value`` goes to the query for the query methods unless the body is JSON or a form
    by request; a raw body (``-d``, ``@path``) leaves no room for fields or JSON members."""
    is_json = json_body or bool(items.json)
    raw: bytes | Path | None = data if data is not None else items.body
    if data is not None and items.body is not None:
        raise ItemError("-d/--data and an @path item both give the body; pick one")
    fields_in_query = method in QUERY_METHODS and not (is_json or form or items.files)
    query_kinds = ("query", "field") if fields_in_query else ("query",)
    query = [(i.name, i.value) for i in items.typed if i.kind in query_kinds]
    fields = [] if fields_in_query else items.fields
    arguments: dict[str, Any] = {"params": query or None, "headers": list(items.headers)}
    if raw is not None:
        if fields or items.json or items.files:
            raise ItemError("a raw body (-d or @path) cannot be combined with fields, "
                            "name:=json or field@path items")
        arguments["data"] = raw
        kind = "application/json" if json_body else _raw_type(raw)
        if kind is not None:
            _default_header(arguments["headers"], "Content-Type", kind)
    elif is_json:
        if items.files:
            raise ItemError("--json cannot send field@path uploads (use a form)")
        if fields or items.json:
            arguments["json"] = _json_object((i.name, i.value) for i in items.typed
                                             if i.kind in ("field", "json"))
    elif items.files:
        arguments["data"], arguments["files"] = fields or None, items.files
    elif fields:
        arguments["data"] = fields
    if is_json:
        _default_header(arguments["headers"], "Accept", "application/json, */*;q=0.5")
    return arguments


def _raw_type(raw: bytes | Path) -> str | None:
    """curl's form type for ``-d``; a guess from the name for an ``@path`` body."""
    if isinstance(raw, bytes):
        return "application/x-www-form-urlencoded"
    return mimetypes.guess_type(raw.name)[0]


def _default_header(headers: list[tuple[str, str]], name: str, value: str) -> None:
    if all(n.lower() != name.lower() for n, _ in headers):
        headers.insert(0, (name, value))
