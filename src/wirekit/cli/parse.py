"""``wirekit parse``: look at a CSV, HTML, XML or JSON document or feed, from a file or a URL.

With no extraction option it prints a short summary (``--json``: one JSON object);
``--links``, ``--forms``, ``--xpath`` (XML, namespace prefixes resolved), ``--query`` (JSON,
JMESPath) and ``--csv`` extract. Everything goes through ``wirekit.data``, so hostile input
gets the same treatment as in the library: XML bombs and external entities are refused with
their named error, and sizes are bounded (``--max-size``).

Exit status follows grep: 0 when something was printed, 1 when a query matched nothing
(nothing is printed) or the input failed (one error line), 2 for a bad option.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, cast

import click

from wirekit import data
from wirekit.cli.parse_xml import NO_MATCH, XPath, xml_summary, xpath
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
    ns: dict[str, str] = field(default_factory=dict)
    query: Any = None  # a compiled JMESPath expression
    as_json: bool = False


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _check(kind: str, options: Options) -> None:
    wanted = {"--links": options.links, "--forms": options.forms,
              "--xpath": options.xpath is not None, "--csv": options.as_csv,
              "--query": options.query is not None}
    chosen = [name for name, on in wanted.items() if on]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one of {', '.join(chosen)}")
    fits = {"--links": ("html",), "--forms": ("html",), "--xpath": ("xml",), "--csv": ("csv",),
            "--query": ("json", "jsonl")}
    if chosen and kind not in fits[chosen[0]]:
        raise click.UsageError(f"{chosen[0]} works on {fits[chosen[0]][0].upper()} input, and"
                               f" this is {kind.upper()} (force it with --format)")


def _usage_checks(options: Options) -> None:
    """Options that only make sense with another: refused, never silently ignored."""
    if options.text and options.xpath is None:
        raise click.UsageError("--text works with --xpath (print the matches' text)")
    if options.ns and options.xpath is None:
        raise click.UsageError("--ns works with --xpath (prefixes used in the path)")


def _namespaces(pairs: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        prefix, equals, uri = pair.partition("=")
        if not equals or not uri or not re.fullmatch(r"[A-Za-z_][\w.-]*|", prefix):
            raise click.UsageError(f"--ns {pair!r}: expected PREFIX=URI (=URI for the default"
                                   " namespace)")
        found[prefix] = uri
    return found


def _compile_query(expression: str | None) -> Any:
    if expression is None:
        return None
    try:
        jmespath = importlib.import_module("jmespath")  # only loaded when a query is asked for
    except ImportError:
        raise click.UsageError("--query needs the jmespath package (pip install jmespath)"
                               ) from None
    try:
        return jmespath.compile(expression)
    except ValueError as exc:  # jmespath's errors are ValueErrors
        raise click.UsageError(f"--query {expression!r} is not JMESPath: {_flat(exc)}"
                               ) from None


def _flat(exc: Exception) -> str:
    """jmespath's messages span lines (the expression, a caret): errors here are one line."""
    return " ".join(str(exc).split())


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
            if options.as_json:
                _emit({"url": link.url, "raw": link.raw, "tag": link.tag, "text": link.text,
                       "rel": link.rel})
            elif link.url:  # "" when the page's URL does not parse: nothing to print
                click.echo(link.url)
    elif options.forms:
        for form in page.forms:
            _emit(_form_json(form))
    elif options.as_json:
        _emit({"format": "html", "title": page.title, "links": len(page.links),
               "forms": len(page.forms), "tables": len(page.tables),
               "text": len(page.text), "start": page.text[:200]})
    else:
        click.echo(f"format  HTML\ntitle   {page.title}\nlinks   {len(page.links)}\n"
                   f"forms   {len(page.forms)}\ntables  {len(page.tables)}\n"
                   f"text    {len(page.text)} characters")
        if page.text:
            click.echo(f"start   {page.text[:200].replace(chr(10), ' ')}")


# -- XML --------------------------------------------------------------------------------------
def _xml(opened: Input, options: Options, head: bytes) -> int:
    if options.xpath is None:
        return xml_summary(opened.chunks, options.as_json)
    query = XPath(options.xpath, options.ns, options.text, options.as_json, options.max_size)
    return xpath(opened.chunks, head, query)


# -- JSON, JSON Lines, CSV --------------------------------------------------------------------
def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"object with {len(value)} keys: {', '.join(list(map(str, value))[:20])}"
    if isinstance(value, list):
        first = f"; first: {_describe(value[0])}" if value else ""
        return f"array of {len(value)}{first}"
    return type(value).__name__


def _shape(value: Any) -> dict[str, Any]:
    """``_describe`` for --json: the JSON type, with keys or length and the first item."""
    if isinstance(value, dict):
        return {"type": "object", "size": len(value), "keys": list(value)[:100]}
    if isinstance(value, list):
        return {"type": "array", "length": len(value),
                "first": _shape(value[0]) if value else None}
    names = {str: "string", bool: "boolean", int: "number", float: "number"}
    return {"type": names.get(type(value), "null")}


def _search(options: Options, value: Any) -> Any:
    try:
        return options.query.search(value)
    except ValueError as exc:  # jmespath's errors: a type clash with this data, or a misuse
        if type(exc).__name__ == "JMESPathTypeError":
            raise click.ClickException(f"--query: {_flat(exc)}") from None
        raise click.UsageError(f"--query: {_flat(exc)}") from None


def _json(opened: Input, options: Options) -> int:
    value = data.load(opened.chunks, max_bytes=options.max_size)
    if options.query is not None:
        result = _search(options, value)
        if result is None or result == []:
            return NO_MATCH
        click.echo(data.dumps(result, pretty=not options.as_json))
    elif options.as_json:
        _emit({"format": "json", "value": _shape(value)})
    else:
        click.echo(f"format  JSON\nvalue   {_describe(value)}")
    return 0


def _jsonl(opened: Input, options: Options) -> int:
    count, first, matched = 0, None, 0
    for count, record in enumerate(data.iter_jsonlines(opened.chunks), 1):
        first = record if count == 1 else first
        if options.query is not None:
            result = _search(options, record)
            if result is not None and result != []:
                click.echo(data.dumps(result))  # JSON Lines in, JSON Lines out
                matched += 1
    if options.query is not None:
        return 0 if matched else NO_MATCH
    if options.as_json:
        _emit({"format": "jsonl", "records": count,
               "first": _shape(first) if count else None})
    else:
        click.echo(f"format  JSON Lines\nrecords {count}\nfirst   {_describe(first)}")
    return 0


def _csv(opened: Input, options: Options, head: bytes) -> int:
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
        return 0
    rows = data.read_rows(opened.chunks, dialect=dialect)
    columns = next(rows, [])
    count = sum(1 for _ in rows)
    delimiter = getattr(dialect, "delimiter", ",")
    if options.as_json:
        _emit({"format": "csv", "delimiter": delimiter, "columns": columns, "rows": count})
    else:
        click.echo(f"format  CSV (delimiter {delimiter!r})\ncolumns {', '.join(columns)}\n"
                   f"rows    {count} after the first")
    return 0


@click.command("parse", epilog="""\b
Examples:
  wirekit parse recipes.xml                       # summary: root, element counts, depth
  wirekit parse recipes.xml --xpath .//item --text
  wirekit parse recipes.xml --xpath './/item/@units'   # attribute values
  wirekit parse feed.rss --xpath .//dc:creator    # prefixes as the document declares them
  wirekit parse feed.atom --xpath .//a:entry --ns a=http://www.w3.org/2005/Atom
  wirekit parse https://example.org/ --links      # every link, absolute
  wirekit parse login.html --forms                # one JSON line per form
  wirekit parse data.json --query 'items[?qty > `1`].name'   # JMESPath
  wirekit parse schmods.csv --csv                 # rows as JSON lines
  wirekit parse schmods.csv --json                # the summary as one JSON object
  curl -s https://example.org/feed.jsonl | wirekit parse -

\b
Exit status:
  0  done (a summary, or at least one match printed)
  1  --xpath or --query matched nothing (nothing is printed, as grep), or the
     input could not be read or was refused (one error line on stderr)
  2  a bad option (one error line)
""")
@click.argument("file_or_url")
@click.option("--format", "kind", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format; auto uses the extension, Content-Type or first bytes.")
@click.option("--links", is_flag=True, help="HTML: print every link, resolved, one a line.")
@click.option("--forms", is_flag=True, help="HTML: print each form as a JSON line.")
@click.option("--xpath", metavar="PATH", help="XML: print the elements matching PATH "
              "(ElementTree syntax; a bare tag or .//tag is streamed; a final /@name prints "
              "that attribute). Prefixes are the document's own; unprefixed names are in the "
              "root's default namespace.")
@click.option("--ns", "ns_pairs", metavar="PREFIX=URI", multiple=True,
              help="With --xpath: a namespace prefix for PATH (repeatable; =URI sets the "
              "default namespace). Overrides the document's declarations.")
@click.option("--text", is_flag=True, help="With --xpath: print the text, not the XML.")
@click.option("--query", metavar="EXPR", help="JSON: print the JMESPath EXPR's result, "
              "indented (JSON Lines: one compact line per record that matches).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV: print the rows as JSON lines.")
@click.option("--header/--no-header", default=True, show_default=True,
              help="With --csv: the first row names the columns (objects, not arrays).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: the summary "
              "as one JSON object, links and --xpath matches as JSON lines, --query compact.")
@click.option("--max-size", default="64MiB", show_default=True, metavar="SIZE",
              help="Largest document held in memory (0: no bound); streams are not bounded.")
def command(file_or_url: str, kind: str, links: bool, forms: bool, xpath: str | None,
            ns_pairs: tuple[str, ...], text: bool, query: str | None, as_csv: bool,
            header: bool, as_json: bool, max_size: str) -> int:
    """Summarise a CSV, HTML, XML or JSON document, or extract from it.

    FILE_OR_URL is a path, an http(s) URL, or - for standard input.
    """
    options = Options(links, forms, xpath, text, as_csv, header, _size(max_size),
                      _namespaces(ns_pairs), _compile_query(query), as_json)
    _usage_checks(options)
    try:
        with _open(file_or_url) as opened:
            return _run(opened, kind, options)
    except (WirekitError, BrokenPipeError):
        raise
    except TimeoutError:
        raise Timeout("read", FETCH_TIMEOUT) from None
    except OSError as exc:  # a file that cannot be read, a connection that broke mid-way
        if file_or_url.lower().startswith(("http://", "https://")):
            raise NetworkError(f"{file_or_url}: {exc.strerror or exc}") from None
        raise click.FileError(file_or_url, exc.strerror or str(exc)) from None


def _run(opened: Input, kind: str, options: Options) -> int:
    head = _peek(opened)
    chosen = kind if kind != "auto" else opened.kind or _guess(head)
    _check(chosen, options)
    if chosen == "csv":
        return _csv(opened, options, head)
    if chosen == "xml":
        return _xml(opened, options, head)
    if chosen == "html":
        _html(opened, options)
        return 0
    return {"json": _json, "jsonl": _jsonl}[chosen](opened, options)
