"""``wirekit get`` / ``wirekit post`` / ``wirekit http METHOD``: curl's flags, httpie's items.

The line is read in three steps, each in its own module: the request items after the URL
(:mod:`wirekit.cli.items`, httpie's grammar), the options (:mod:`wirekit.cli.fetch_options`,
curl's spellings), and where the body goes (:mod:`wirekit.cli.download` for ``-o/-O/-C``,
:mod:`wirekit.cli.output` for the terminal). This module sends the request and turns every
failure into one line on standard error and an exit code by cause (:mod:`wirekit.cli.exits`).

A 4xx/5xx answer still prints its body (unless ``-f``), then the error line, and exits 4 or 5.
The command is the one place that opts into the environment's proxy settings (``HTTP_PROXY``,
``HTTPS_PROXY``, ``NO_PROXY``): the library never reads them unasked.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from http.cookiejar import CookieJar, MozillaCookieJar
from pathlib import Path
from typing import Any, BinaryIO

import click

from wirekit.cli.download import Target, make_target, open_target, remote_name, resume_headers
from wirekit.cli.exits import BAD_URL, USAGE, WRITE, RequestFailed, exit_code, http_exit_code
from wirekit.cli.fetch_options import EPILOG, RequestCommand, request_options
from wirekit.cli.items import complete_url, parse_header, parse_items, request_arguments
from wirekit.cli.output import (
    PrettyPrinter,
    head_bytes,
    response_verbose,
    verbose_lines,
)
from wirekit.cli.progress import TransferBars
from wirekit.errors import ConfigError, WirekitError
from wirekit.http.client import BasicAuth, DigestAuth, InvalidURL, Request, Response, Session
from wirekit.http.client.cookies import cookie_jar, save_jar
from wirekit.http.client.urls import URL, parse_url

__all__ = ["http_command", "make_command", "run"]

Options = dict[str, Any]


def run(method: str, url: str, items: tuple[str, ...], options: Options) -> None:
    """Send one request as the options say and print (or save) the answer."""
    try:
        _run(method, url, items, options)
    except RequestFailed as exc:
        if options["silent"] and not options["show_error"]:
            raise click.exceptions.Exit(exc.exit_code) from None
        raise


def _run(method: str, url: str, items: tuple[str, ...], options: Options) -> None:
    """Translate every failure into ``RequestFailed`` with its exit code."""
    try:
        _exchange(method, complete_url(url), items, options)
    except (RequestFailed, BrokenPipeError):
        raise
    except InvalidURL as exc:
        raise RequestFailed(str(exc), BAD_URL) from None
    except ConfigError as exc:  # a bad item, header or file: nothing was sent
        raise RequestFailed(str(exc), USAGE) from None
    except WirekitError as exc:
        raise RequestFailed(str(exc), exit_code(exc)) from None
    except OSError as exc:  # writing standard output (a full disk, say)
        raise RequestFailed(f"cannot write the output: {exc.strerror or exc}", WRITE) from None


def _exchange(base_method: str, url: str, items: tuple[str, ...], options: Options) -> None:
    method = _method(base_method, options)
    arguments = request_arguments(method, parse_items(items), json_body=options["json"],
                                  form=options["form"], data=_data(options["data"]))
    headers = [parse_header(h) for h in options["header"]] + arguments.pop("headers")
    target = _target(url, options)
    if target is not None:
        headers += resume_headers(target)
    jar, sent_cookies, save_to = _cookies(options)
    with contextlib.ExitStack() as stack:
        if isinstance(arguments.get("data"), Path):
            arguments["data"] = stack.enter_context(_open_body(arguments["data"]))
        session = stack.enter_context(_session(options, jar))
        request = Request(url, headers=headers, method=method, cookies=sent_cookies,
                          **arguments)
        bars = stack.enter_context(TransferBars(options, request, target))
        response = stack.enter_context(session.send(
            request, stream=True, allow_redirects=not options["no_follow"],
            on_request=_show_request if options["verbose"] else None, **bars.callbacks()))
        bars.uploaded()
        if options["verbose"]:
            _show_redirects(response)
        code = _deliver(response, target, options, bars)
    if save_to is not None and jar is not None:
        _save_cookies(jar, save_to)
    if code:
        raise RequestFailed(f"HTTP {response.status} {response.reason} ({response.url})", code)


def _method(base: str, options: Options) -> str:
    method = (options["request"] or base).upper()
    if options["head"]:
        if method != "HEAD" and (options["request"] or base not in ("GET", "HEAD")):
            raise RequestFailed(f"-I sends HEAD, not {method}", USAGE)
        method = "HEAD"
    return method


def _data(values: tuple[str, ...]) -> bytes | None:
    """``-d`` values as one body: text, ``@FILE`` or ``@-`` (stdin), joined by ``&`` (curl)."""
    if not values:
        return None
    parts = []
    for value in values:
        if value == "@-":
            parts.append(sys.stdin.buffer.read())
        elif value.startswith("@"):
            try:
                parts.append(Path(value[1:]).read_bytes())
            except OSError as exc:
                raise RequestFailed(f"-d: cannot read {value[1:]!r}: {exc.strerror}",
                                    USAGE) from None
        else:
            parts.append(value.encode())
    return b"&".join(parts)


def _open_body(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise RequestFailed(f"cannot read {str(path)!r}: {exc.strerror}", USAGE) from None


def _target(url: str, options: Options) -> Target | None:
    """The file the body is saved to (``-o``/``-O``), if any."""
    output, resume = options["output"], options["continue_at"]
    if output is not None and options["remote_name"]:
        raise RequestFailed("-o and -O both name the output file; pick one", USAGE)
    path = remote_name(parse_url(url).path) if options["remote_name"] else output
    if path == "-":
        path = None
    if resume is not None:
        if resume != "-":
            raise RequestFailed("-C takes '-' (continue where the file ends)", USAGE)
        if path is None:
            raise RequestFailed("-C - resumes a download into a file: add -o FILE or -O",
                                USAGE)
    return None if path is None else make_target(path, resume is not None)


def _cookies(options: Options) -> tuple[CookieJar | None, dict[str, str] | None, str | None]:
    """``(jar, cookies to send, file to save the jar to)`` from ``-b``, ``-c``, ``--cookies``."""
    jar: CookieJar | None = None
    save_to = options["cookie_jar"] or options["cookies"]
    if options["cookies"]:
        jar = cookie_jar(options["cookies"])
    value, data = options["cookie"], None
    if value is not None and "=" in value:  # curl: with '=' it is cookie data
        data = {}
        for pair in filter(None, (p.strip() for p in value.split(";"))):
            name, equals, text = pair.partition("=")
            if not equals or not name.strip():
                raise RequestFailed(f"-b: {pair!r} is not name=value", USAGE)
            data[name.strip()] = text.strip()
    elif value is not None:
        if jar is not None:
            raise RequestFailed("-b FILE and --cookies FILE both load a jar; pick one", USAGE)
        jar = cookie_jar(value)
    if save_to is not None and jar is None:
        jar = MozillaCookieJar()
    return jar, data, save_to


def _save_cookies(jar: CookieJar, path: str) -> None:
    try:
        save_jar(jar, path)
    except (OSError, ConfigError) as exc:
        text = getattr(exc, "strerror", None) or exc
        raise RequestFailed(f"cannot save cookies to {path!r}: {text}", WRITE) from None


def _auth(user: str | None, digest: bool) -> BasicAuth | DigestAuth | None:
    if user is None:
        if digest:
            raise RequestFailed("--digest needs -u USER[:PASSWORD]", USAGE)
        return None
    name, colon, password = user.partition(":")
    if not colon:
        if not sys.stdin.isatty():
            raise RequestFailed(f"-u {name}: no password, and no terminal to ask for it",
                                USAGE)
        password = click.prompt(f"Enter host password for user '{name}'", hide_input=True,
                                err=True)
    return DigestAuth(name, password) if digest else BasicAuth(name, password)


def _session(options: Options, jar: CookieJar | None) -> Session:
    proxy = options["proxy"]
    extra: dict[str, Any] = {}
    if options["unix_socket"]:
        extra["unix_socket"] = options["unix_socket"]
    if options["retry"]:
        extra["retries"] = options["retry"]
    return Session(
        auth=_auth(options["user"], options["digest"]), cookies=jar,
        proxies={"http": proxy, "https": proxy} if proxy else None, trust_env=True,
        verify=options["cafile"] or not options["insecure"],
        cert=(options["cert"], options["key"]) if options["key"] else options["cert"],
        timeout=options["timeout"], raise_for_status=False,
        max_redirects=options["max_redirects"], **extra,
    )  # fmt: skip


def _show_request(method: str, url: URL, fields: list[tuple[str, str]]) -> None:
    """``> `` lines of each request head as the session sends it, for ``-v``."""
    sys.stderr.write(verbose_lines(">", f"{method} {url.target} HTTP/1.1", fields))


def _show_redirects(response: Response) -> None:
    """``< `` heads of every response of a redirect chain, for ``-v``."""
    chain = [*response.history, response]
    for hop, following in itertools.pairwise(chain):
        sys.stderr.write(response_verbose(hop) + f"* redirected to {following.url}\n")
    sys.stderr.write(response_verbose(response))


def _deliver(response: Response, target: Target | None, options: Options,
             bars: TransferBars) -> int:
    """Print the head and the body (or save it); the HTTP exit code (0, 4 or 5)."""
    pretty = options["pretty"] if options["pretty"] is not None else sys.stdout.isatty()
    printer = PrettyPrinter() if pretty else None
    if options["include"] or options["head"]:
        if printer is not None:
            printer.head(response)
        else:
            sys.stdout.buffer.write(head_bytes(response))
    code = http_exit_code(response.status)
    if target is not None and target.offset and response.status == 416:
        code = 0  # open_target decides: already complete, or an error
    elif code:
        target = None  # an error page goes to the terminal, never over the file
        if options["fail"]:
            response.close()
            return code
    if target is not None:
        _save(response, target, bars)
    elif printer is not None:
        printer.body(response)
    else:
        out = sys.stdout.buffer
        for chunk in response.iter_bytes():
            out.write(chunk)
    sys.stdout.flush()
    return code


def _save(response: Response, target: Target, bars: TransferBars) -> None:
    handle = open_target(target, response)
    if handle is None:
        response.close()
        return
    bars.downloading = True
    with handle:
        for chunk in response.iter_bytes():
            try:
                handle.write(chunk)
            except OSError as exc:
                raise RequestFailed(f"cannot write {str(target.path)!r}: {exc.strerror}",
                                    WRITE) from None


def make_command(method: str, summary: str) -> click.Command:
    """``wirekit get``/``post``: the request command for one fixed ``method``."""

    @click.command(cls=RequestCommand, help=summary, epilog=EPILOG)
    @request_options
    def command(url: str, items: tuple[str, ...], **options: Any) -> None:
        run(method, url, items, options)

    return command


@click.command(cls=RequestCommand, epilog=EPILOG)
@click.argument("method")
@request_options
def http_command(method: str, url: str, items: tuple[str, ...], **options: Any) -> None:
    """Send METHOD to URL (any method: GET, HEAD, PUT, DELETE, PATCH, OPTIONS, ...)."""
    run(method.upper(), url, items, options)
