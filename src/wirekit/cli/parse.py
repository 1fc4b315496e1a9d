"""``wirekit parse``: look at a CSV, HTML, XML or JSON document or feed, from a file or a URL.

With no extraction option it prints a short summary; ``--links``, ``--forms``, ``--xpath`` and
``--csv`` extract. Everything goes through ``wirekit.data``, so hostile input gets the same
treatment as in the library: XML bombs and external entities are refused with their named
error, and sizes are bounded (``--max-size``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any, cast

import click

from wirekit import data
from wirekit.data.sources import read_capped
from wirekit.errors import ConnectError, NetworkError, RemoteProtocolError, Timeout, WirekitError

FORMATS = ("auto", "csv", "html", "xml", "json", "jsonl")
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".html": "html", ".htm": "html", ".xhtml": "xml",
              ".xml": "xml", ".rss": "xml", ".atom": "xml", ".svg": "xml", ".json": "json",
              ".jsonl": "jsonl", ".ndjson": "jsonl"}
MEDIA_TYPES = {"text/csv": "csv", "text/html": "html", "application/json": "json",
               "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}
SIZE_UNITS = {"": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2,
              "mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}
HEAD = 4096  # bytes looked at to guess the format
FETCH_TIMEOUT = 30.0
# --xpath paths that name one tag anywhere ("item", ".//item", "//item") are streamed.
STREAMABLE = re.compile(r"^(?:\.?//)?([^/\[\]@*.()]+)$")


@dataclass
class Input:
    """An opened input: its first bytes, the rest as chunks, and what it says about itself."""

    name: str
    chunks: Iterable[bytes]
    kind: str | None = None  # from the extension or Content-Type
    charset: str | None = None
    base_url: str | None = None  # what relative links in a page are resolved against


def _size(text: str) -> int | None:
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in SIZE_UNITS:
        raise click.UsageError(f"--max-size {text!r}: expected a size such as 500k, 64MiB, 1G")
    value = int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]
    return value or None  # 0 means no bound


def _chunks(read: Any) -> Iterator[bytes]:
    while chunk := read(64 * 1024):
        yield chunk


@contextmanager
def _open_url(url: str) -> Iterator[Input]:
    # TODO(issue 6): use wirekit.http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "wirekit-parse"})  # noqa: S310
    try:
        response = urllib.request.urlopen(request, timeout=FETCH_TIMEOUT)  # noqa: S310
    except urllib.error.HTTPError as exc:
        raise RemoteProtocolError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except TimeoutError:
        raise Timeout("fetch", FETCH_TIMEOUT) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise Timeout("connect", FETCH_TIMEOUT) from None
        raise ConnectError(f"cannot fetch {url}: {reason}") from None
    with response:
        media = response.headers.get_content_type()
        kind = MEDIA_TYPES.get(media) or ("xml" if media.endswith(("/xml", "+xml")) else None)
        read = getattr(response, "read1", response.read)
        yield Input(url, _chunks(read), kind, response.headers.get_content_charset(),
                    response.geturl())


@contextmanager
def _open(target: str) -> Iterator[Input]:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", target):
        if not target.lower().startswith(("http://", "https://")):
            raise click.UsageError(f"{target}: only http:// and https:// URLs can be fetched")
        with _open_url(target) as opened:
            yield opened
        return
    if target == "-":
        # typeshed says BinaryIO; stdin's buffer is a BufferedReader (a BytesIO under test).
        yield Input("stdin", _chunks(cast(io.BufferedIOBase, sys.stdin.buffer).read1))
        return
    path = Path(target)
    if not path.is_file():
        raise click.UsageError(f"{target}: no such file")
    with path.open("rb") as file:
        yield Input(target, _chunks(file.read1), EXTENSIONS.get(path.suffix.lower()),
                    base_url=path.resolve().as_uri())


def _peek(opened: Input) -> bytes:
    """Read the first bytes and put them back in front of the rest."""
    parts, size, rest = [], 0, iter(opened.chunks)
    for chunk in rest:
        parts.append(chunk)
        size += len(chunk)
        if size >= HEAD:
            break
    head = b"".join(parts)
    opened.chunks = chain([head], rest)
    return head


def _guess(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        return "html" if re.search(rb"<!doctype html|<html[\s>]", text[:1024]) else "xml"
    if text.startswith((b"{", b"[")):
        first, _, more = text.partition(b"\n")
        try:
            json.loads(first)
        except ValueError:
            return "json"
        return "jsonl" if more.strip() else "json"
    return "csv"


@dataclass(frozen=True)
class Options:
    """What the user asked for, checked against the input's format."""

    links: bool
    forms: bool
    xpath: str | None
    text: bool
    as_csv: bool
    header: bool
    max_size: int | None


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _check(kind: str, options: Options) -> None:
    wanted = {"--links": options.links, "--forms": options.forms,
              "--xpath": options.xpath is not None, "--csv": options.as_csv}
    chosen = [name for name, on in wanted.items() if on]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one of {', '.join(chosen)}")
    fits = {"--links": "html", "--forms": "html", "--xpath": "xml", "--csv": "csv"}
    if chosen and fits[chosen[0]] != kind:
        raise click.UsageError(f"{chosen[0]} works on {fits[chosen[0]].upper()} input, and this"
                               f" is {kind.upper()} (force it with --format)")


# -- HTML -------------------------------------------------------------------------------------
def _form_json(form: data.Form) -> dict[str, Any]:
    fields = [{"name": f.name, "kind": f.kind, "value": f.value, "checked": f.checked,
               "options": [o.value for o in f.options]} for f in form.fields]
    return {"action": form.action, "method": form.method, "enctype": form.enctype,
            "fields": fields, "defaults": form.fill()}


def _html(opened: Input, options: Options) -> None:
    body = read_capped(opened.chunks, options.max_size, "HTML page", "--max-size")
    page = data.scan_html(body, opened.base_url, encoding=opened.charset, max_bytes=None)
    if options.links:
        for link in page.links:
            click.echo(link.url)
    elif options.forms:
        for form in page.forms:
            _emit(_form_json(form))
    else:
        click.echo(f"format  HTML\ntitle   {page.title}\nlinks   {len(page.links)}\n"
                   f"forms   {len(page.forms)}\ntables  {len(page.tables)}\n"
                   f"text    {len(page.text)} characters")
        if page.text:
            click.echo(f"start   {page.text[:200].replace(chr(10), ' ')}")


# -- XML --------------------------------------------------------------------------------------
class _Census(data.ContentHandler):
    """Counts elements by tag and the nesting depth, streaming (for the summary)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.depth = self.deepest = 0
        self.root = ""

    def startElement(self, name: str, attrs: object) -> None:
        self.root = self.root or name
        self.tags[name] += 1
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)

    def endElement(self, name: str) -> None:
        self.depth -= 1


def _show_element(element: data.Element, text_only: bool) -> None:
    if text_only:
        click.echo("".join(element.itertext()).strip())
    else:
        click.echo(data.tostring(element, pretty=True))


def _xpath(opened: Input, options: Options) -> None:
    path = options.xpath or ""
    streamable = STREAMABLE.match(path)
    if streamable:
        for element in data.iterparse(opened.chunks, streamable.group(1)):
            _show_element(element, options.text)
        return
    policy = replace(data.DEFAULT_XML_POLICY, max_bytes=options.max_size)
    tree = data.parse(opened.chunks, policy=policy)
    root = tree.getroot()
    if path.startswith("//"):
        path = "." + path
    elif path.startswith(f"/{root.tag}"):
        path = "." + path[len(root.tag) + 1:]
    try:
        found = tree.findall(path or ".")
    except (SyntaxError, TypeError, KeyError, ValueError) as exc:  # ElementPath's many ways
        raise click.UsageError(f"--xpath {options.xpath!r} is not a path ElementTree knows"
                               f" ({type(exc).__name__}: {exc})") from None
    for element in found:
        _show_element(element, options.text)


def _xml(opened: Input, options: Options) -> None:
    if options.xpath is not None:
        _xpath(opened, options)
        return
    census = _Census()
    data.sax_parse(opened.chunks, census)
    top = ", ".join(f"{tag} {count}" for tag, count in census.tags.most_common(10))
    click.echo(f"format  XML\nroot    {census.root}\nelements {census.tags.total()}\n"
               f"depth   {census.deepest}\ntags    {top}")


# -- JSON, JSON Lines, CSV --------------------------------------------------------------------
def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"object with {len(value)} keys: {', '.join(list(map(str, value))[:20])}"
    if isinstance(value, list):
        first = f"; first: {_describe(value[0])}" if value else ""
        return f"array of {len(value)}{first}"
    return type(value).__name__


def _json(opened: Input, options: Options) -> None:
    value = data.load(opened.chunks, max_bytes=options.max_size)
    click.echo(f"format  JSON\nvalue   {_describe(value)}")


def _jsonl(opened: Input, options: Options) -> None:
    count, first = 0, None
    for count, record in enumerate(data.iter_jsonlines(opened.chunks), 1):
        first = record if count == 1 else first
    click.echo(f"format  JSON Lines\nrecords {count}\nfirst   {_describe(first)}")


def _csv(opened: Input, options: Options, head: bytes) -> None:
    sample = head.rpartition(b"\n")[0] or head  # whole lines only: a cut row misleads sniffing
    dialect: str | type[csv.Dialect]
    try:
        dialect, _ = data.sniff(sample.decode(opened.charset or "utf-8", errors="replace"))
    except data.ParseError:
        dialect = "excel"
    if options.as_csv:
        rows = (data.read_records(opened.chunks, dialect=dialect) if options.header
                else data.read_rows(opened.chunks, dialect=dialect))
        for row in rows:
            _emit(row)
        return
    rows = data.read_rows(opened.chunks, dialect=dialect)
    columns = next(rows, [])
    count = sum(1 for _ in rows)
    delimiter = getattr(dialect, "delimiter", ",")
    click.echo(f"format  CSV (delimiter {delimiter!r})\ncolumns {', '.join(columns)}\n"
               f"rows    {count} after the first")


@click.command("parse", epilog="""\b
Examples:
  wirekit parse recipes.xml                       # summary: root, element counts, depth
  wirekit parse recipes.xml --xpath .//item --text
  wirekit parse https://example.org/ --links      # every link, absolute
  wirekit parse login.html --forms                # one JSON line per form
  wirekit parse schmods.csv --csv                 # rows as JSON lines
  curl -s https://example.org/feed.jsonl | wirekit parse -
""")
@click.argument("file_or_url")
@click.option("--format", "kind", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format; auto uses the extension, Content-Type or first bytes.")
@click.option("--links", is_flag=True, help="HTML: print every link, resolved, one a line.")
@click.option("--forms", is_flag=True, help="HTML: print each form as a JSON line.")
@click.option("--xpath", metavar="PATH", help="XML: print the elements matching PATH "
              "(ElementTree syntax; a bare tag or .//tag is streamed).")
@click.option("--text", is_flag=True, help="With --xpath: print the text, not the XML.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV: print the rows as JSON lines.")
@click.option("--header/--no-header", default=True, show_default=True,
              help="With --csv: the first row names the columns (objects, not arrays).")
@click.option("--max-size", default="64MiB", show_default=True, metavar="SIZE",
              help="Largest document held in memory (0: no bound); streams are not bounded.")
def command(file_or_url: str, kind: str, links: bool, forms: bool, xpath: str | None,
            text: bool, as_csv: bool, header: bool, max_size: str) -> None:
    """Summarise a CSV, HTML, XML or JSON document, or extract from it.

    FILE_OR_URL is a path, an http(s) URL, or - for standard input.
    """
    options = Options(links, forms, xpath, text, as_csv, header, _size(max_size))
    try:
        with _open(file_or_url) as opened:
            _run(opened, kind, options)
    except (WirekitError, BrokenPipeError):
        raise
    except TimeoutError:
        raise Timeout("read", FETCH_TIMEOUT) from None
    except OSError as exc:  # a file that cannot be read, a connection that broke mid-way
        if file_or_url.lower().startswith(("http://", "https://")):
            raise NetworkError(f"{file_or_url}: {exc.strerror or exc}") from None
        raise click.FileError(file_or_url, exc.strerror or str(exc)) from None


def _run(opened: Input, kind: str, options: Options) -> None:
    head = _peek(opened)
    chosen = kind if kind != "auto" else opened.kind or _guess(head)
    _check(chosen, options)
    if chosen == "csv":
        _csv(opened, options, head)
    else:
        {"html": _html, "xml": _xml, "json": _json, "jsonl": _jsonl}[chosen](opened, options)
