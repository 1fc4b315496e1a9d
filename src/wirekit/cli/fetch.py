"""``wirekit get`` / ``wirekit post`` / ``wirekit http METHOD``: curl and httpie, the short way.

Items after the URL say what to send: ``name=value`` is a query parameter for GET, HEAD,
DELETE and OPTIONS and a form field otherwise (a JSON member with ``--json``), and
``field@path`` uploads a file (multipart, streamed from disk). The body goes to standard
output or ``-o FILE`` (with a progress bar on standard error when standard output is a
terminal). A 4xx/5xx answer still prints its body, then one error line, and exits 1.

The command is the one place that opts into the environment's proxy settings
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``): the library never reads them unasked.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from wirekit.errors import WirekitError
from wirekit.http.client import DigestAuth, Response, Session

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

__all__ = ["make_command", "run"]

_QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_CHUNK = 256 * 1024


def _parse_items(items: tuple[str, ...]) -> tuple[list[tuple[str, str]], list[tuple[str, Path]]]:
    """Split ``name=value`` fields from ``field@path`` files (the first of '=' or '@' wins)."""
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, Path]] = []
    for item in items:
        eq, at = item.find("="), item.find("@")
        if eq <= 0 and at <= 0:
            raise click.BadParameter(f"{item!r}: expected name=value or field@path",
                                     param_hint="ITEMS")
        if at > 0 and (eq < 0 or at < eq):
            path = Path(item[at + 1 :])
            if not path.is_file():
                raise click.BadParameter(f"{item!r}: no such file {str(path)!r}",
                                         param_hint="ITEMS")
            files.append((item[:at], path))
        else:
            fields.append((item[:eq], item[eq + 1 :]))
    return fields, files


def _parse_headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise click.BadParameter(f"{value!r}: expected 'Name: value'", param_hint="--header")
        headers.append((name.strip(), text.strip()))
    return headers


def _auth(value: str | None, digest: bool) -> Any:
    if value is None:
        if digest:
            raise click.UsageError("--digest needs --auth user:password")
        return None
    user, colon, password = value.partition(":")
    if not colon:
        if not sys.stdin.isatty():
            raise click.BadParameter("expected user:password", param_hint="--auth")
        password = click.prompt(f"Password for {user}", hide_input=True, err=True)
    return DigestAuth(user, password) if digest else (user, password)


def _open_data(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path!r}: {exc.strerror}",
                                 param_hint="--data") from None


def _show_head(response: Response, out: BinaryIO) -> None:
    lines = [f"HTTP/{response.http_version} {response.status} {response.reason}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    out.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace"))


@contextlib.contextmanager
def _progress(response: Response, show: bool) -> Iterator[Callable[[int], None]]:
    if not show:
        yield lambda n: None
        return
    length = response.headers.get("content-length")
    bar: ProgressBar[int]  # a bar over a byte count: no iterable to infer the item type from
    with click.progressbar(length=int(length) if length and length.isdigit() else None,
                           label="Downloading", file=sys.stderr) as bar:
        yield bar.update


def _write_body(response: Response, output: str | None) -> None:
    if output is None or output == "-":
        out = sys.stdout.buffer
        for chunk in response.iter_bytes():
            out.write(chunk)
        out.flush()
        return
    try:
        handle = open(output, "wb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise click.ClickException(f"cannot write {output!r}: {exc.strerror}") from None
    with handle, _progress(response, sys.stdout.isatty()) as advance:
        for chunk in response.iter_bytes():
            handle.write(chunk)
            advance(len(chunk))


def _request_arguments(method: str, items: tuple[str, ...], options: dict[str, Any]
                       ) -> dict[str, Any]:
    """``params``/``data``/``json``/``files`` for the items and ``--data``/``--json``."""
    fields, files = _parse_items(items)
    if files and (method in _QUERY_METHODS or options["json"]):
        raise click.UsageError("file uploads (field@path) need a body: use POST/PUT, no --json")
    if options["data"] is not None:
        if fields or files:
            raise click.UsageError("--data cannot be combined with name=value or field@path")
        text = options["data"]
        return {"data": _open_data(text[1:]) if text.startswith("@") else text.encode()}
    if method in _QUERY_METHODS:
        return {"params": fields or None}
    if options["json"]:
        return {"json": dict(fields)}
    return {"data": fields or None, "files": files or None}


def _session(options: dict[str, Any]) -> Session:
    proxy = options["proxy"]
    return Session(
        auth=_auth(options["auth"], options["digest"]), cookie_file=options["cookies"],
        proxies={"http": proxy, "https": proxy} if proxy else None, trust_env=True,
        verify=options["cafile"] or not options["insecure"],
        cert=(options["cert"], options["key"]) if options["key"] else options["cert"],
        timeout=options["timeout"], raise_for_status=False,
        max_redirects=options["max_redirects"],
    )  # fmt: skip


def run(method: str, url: str, items: tuple[str, ...], options: dict[str, Any]) -> None:
    """Send one request as the options say and print (or save) the answer."""
    arguments = _request_arguments(method, items, options)
    headers = _parse_headers(options["header"])
    if options["json"]:
        headers.insert(0, ("Accept", "application/json"))
    session = _session(options)
    try:
        with session, session.request(method, url, headers=headers, stream=True,
                                      allow_redirects=not options["no_follow"],
                                      **arguments) as response:
            if options["include"]:
                _show_head(response, sys.stdout.buffer)
            failed = response.status >= 400
            _write_body(response, None if failed else options["output"])
    except OSError as exc:  # saving --cookies, say
        if isinstance(exc, WirekitError | BrokenPipeError):
            raise
        raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}") from None
    finally:
        if hasattr(arguments.get("data"), "close"):
            arguments["data"].close()
    if failed:
        raise click.ClickException(f"HTTP {response.status} {response.reason} ({response.url})")


def _options(function: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.argument("url"),
        click.argument("items", nargs=-1),
        click.option("-o", "--output", metavar="FILE", help="Write the body to FILE."),
        click.option("-i", "--include", is_flag=True, help="Show the status line and headers."),
        click.option("-H", "--header", multiple=True, metavar="'NAME: VALUE'",
                     help="Add a request header (repeatable)."),
        click.option("--json", is_flag=True, help="Send name=value items as a JSON object."),
        click.option("--data", metavar="TEXT|@FILE", help="Send this raw body (or a file)."),
        click.option("--auth", metavar="USER:PASSWORD", help="Basic (or --digest) credentials."),
        click.option("--digest", is_flag=True, help="Use Digest authentication (RFC 7616)."),
        click.option("--cookies", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Load cookies from FILE and save them back (cookies.txt format)."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                     show_default=True, help="Seconds to connect, and per read."),
        click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate."),
        click.option("--cafile", type=click.Path(exists=True, dir_okay=False),
                     help="Trust this CA certificate (PEM) for TLS."),
        click.option("--cert", type=click.Path(exists=True, dir_okay=False),
                     help="Client certificate (PEM), for servers that ask for one."),
        click.option("--key", type=click.Path(exists=True, dir_okay=False),
                     help="Private key of --cert, if not in the same file."),
        click.option("--proxy", metavar="URL", help="HTTP proxy (default: $HTTP(S)_PROXY)."),
        click.option("--no-follow", is_flag=True, help="Do not follow redirects."),
        click.option("--max-redirects", type=click.IntRange(min=0), default=20,
                     show_default=True, help="Redirects to follow at most."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


_EPILOG = """\b
Examples:
  wirekit get http://127.0.0.1:8000/ -i
  wirekit get http://127.0.0.1:8000/search q=python page=2
  wirekit get http://127.0.0.1:8000/big.iso -o big.iso
  wirekit post http://127.0.0.1:8000/login user=ann password=secret --cookies jar.txt
  wirekit post http://127.0.0.1:8000/upload title=holiday photo@beach.jpg
  wirekit http PUT http://127.0.0.1:8000/api/item/1 --json name=pen price=2
"""


def make_command(method: str, summary: str) -> click.Command:
    """``wirekit get``/``post``: the request command for one fixed ``method``."""

    @click.command(help=summary, epilog=_EPILOG)
    @_options
    def command(url: str, items: tuple[str, ...], **options: Any) -> None:
        run(method, url, items, options)

    return command


@click.command(epilog=_EPILOG)
@click.argument("method")
@_options
def http_command(method: str, url: str, items: tuple[str, ...], **options: Any) -> None:
    """Send METHOD to URL (any method: GET, HEAD, PUT, DELETE, PATCH, OPTIONS, ...)."""
    run(method.upper(), url, items, options)
