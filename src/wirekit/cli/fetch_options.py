"""The options of ``wirekit get/post/http``, grouped for ``--help``, with curl's spellings.

curl's short flags (``-X -I -i -v -o -O -C -k -u -d -s -S -L -b -c -H -f``) mean what they mean
to curl; httpie's request items follow the URL (:mod:`wirekit.cli.items`); the long names
wirekit had before (``--auth``, ``--cookies``, ``--max-redirects``, ``--no-follow``) stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import click

from wirekit.cli.exits import exit_code_help

__all__ = ["EPILOG", "RequestCommand", "request_options"]

#: Help section of each option (by parameter name); anything not listed goes under "Other".
_GROUPS: Final = {
    "Request": ("request", "head", "header", "data", "json", "form", "user", "digest",
                "cookie", "cookie_jar", "cookies"),
    "Output": ("output", "remote_name", "continue_at", "include", "verbose", "silent",
               "show_error", "fail", "pretty"),
    "Connection": ("timeout", "insecure", "cafile", "cert", "key", "proxy", "unix_socket",
                   "location", "no_follow", "max_redirects", "retry"),
}
_ARGUMENTS: Final = {
    "method": "Any method: GET, HEAD, PUT, DELETE, PATCH, OPTIONS, ...",
    "url": "http://, https://, http+unix://, file: or ftp:; http:// when left out.",
    "items": "Request items: fields, JSON, query, headers, files (below).",
}
_SECTION: Final = {name: title for title, names in _GROUPS.items() for name in names}


class RequestCommand(click.Command):
    """A command whose ``--help`` lists its options in sections (Request, Output, ...)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], **{t: [] for t in _GROUPS}}
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                name = param.name or ""
                sections["Arguments"].append((param.make_metavar(ctx), _ARGUMENTS.get(name, "")))
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(_SECTION.get(param.name or "", "Other"), []).append(record)
        for title, rows in sections.items():
            if rows:
                with formatter.section(title if title == "Arguments" else f"{title} options"):
                    formatter.write_dl(rows)


def request_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command function with URL, ITEMS and every request option."""
    decorators = [
        click.argument("url"),
        click.argument("items", nargs=-1),
        # -- what to send
        click.option("-X", "--request", metavar="METHOD", help="Use METHOD instead."),
        click.option("-I", "--head", is_flag=True, help="Send HEAD; print the headers."),
        click.option("-H", "--header", multiple=True, metavar="'NAME: VALUE'",
                     help="Add a header; 'NAME:' or 'NAME;' sends it empty (repeatable)."),
        click.option("-d", "--data", multiple=True, metavar="TEXT|@FILE|@-",
                     help="Raw body: text, a file, or standard input (repeats join with &)."),
        click.option("--json", is_flag=True,
                     help="Body is JSON: name=value become string members, -d is JSON text."),
        click.option("--form", is_flag=True, help="name=value items are a form body, even "
                     "for GET."),
        click.option("-u", "--user", "--auth", "user", metavar="USER[:PASSWORD]",
                     help="Basic (or --digest) credentials; asks for a missing password."),
        click.option("--digest", is_flag=True, help="Use Digest authentication (RFC 7616)."),
        click.option("-b", "--cookie", metavar="'N=V; N2=V2'|FILE",
                     help="Send these cookies, or load cookies.txt FILE."),
        click.option("-c", "--cookie-jar", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Save the cookies to FILE at the end (cookies.txt)."),
        click.option("--cookies", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Load cookies from FILE and save them back (-b FILE -c FILE)."),
        # -- what to show or save
        click.option("-o", "--output", metavar="FILE", help="Write the body to FILE."),
        click.option("-O", "--remote-name", is_flag=True,
                     help="Write the body to the file named by the URL (overwritten)."),
        click.option("-C", "--continue-at", metavar="-",
                     help="'-': resume the -o/-O download where the file ends."),
        click.option("-i", "--include", is_flag=True, help="Print the status line and headers."),
        click.option("-v", "--verbose", is_flag=True,
                     help="Request and response heads on standard error (> and <)."),
        click.option("-s", "--silent", is_flag=True, help="No progress bar, no error line."),
        click.option("-S", "--show-error", is_flag=True, help="With -s, still print errors."),
        click.option("-f", "--fail", is_flag=True, help="On 4xx/5xx, do not print the body."),
        click.option("--pretty/--no-pretty", default=None,
                     help="Colours and formatting (default: when standard output is a "
                     "terminal)."),
        # -- how to connect
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                     metavar="SECONDS", show_default=True,
                     help="Seconds to connect, and per read."),
        click.option("-k", "--insecure", is_flag=True, help="Do not verify the TLS certificate."),
        click.option("--cafile", type=click.Path(exists=True, dir_okay=False),
                     help="Trust this CA certificate (PEM) for TLS."),
        click.option("--cert", type=click.Path(exists=True, dir_okay=False),
                     help="Client certificate (PEM), for servers that ask for one."),
        click.option("--key", type=click.Path(exists=True, dir_okay=False),
                     help="Private key of --cert, if not in the same file."),
        click.option("--proxy", metavar="URL", help="HTTP proxy (default: $HTTP(S)_PROXY)."),
        click.option("--unix-socket", metavar="PATH",
                     help="Connect to this Unix socket (the URL gives Host and path)."),
        click.option("-L", "--location", is_flag=True,
                     help="Follow redirects (the default; accepted for curl's sake)."),
        click.option("--no-follow", is_flag=True, help="Do not follow redirects."),
        click.option("--max-redirs", "--max-redirects", "max_redirects", default=20, metavar="N",
                     type=click.IntRange(min=0), show_default=True,
                     help="Redirects to follow at most."),
        click.option("--retry", type=click.IntRange(min=0), metavar="N",
                     help="Retry a failed request up to N times."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


EPILOG: Final = """\b
Request items (after the URL, as httpie writes them):
  name=value     query for GET/HEAD/DELETE/OPTIONS, form field otherwise,
                 JSON string with --json or any name:=json
  name:=json     raw JSON value (n:=2, ok:=true, 'tags:=["a"]'): JSON body
  name==value    query parameter, any method
  Header:value   request header ('Header:' or 'Header;' sends it empty)
  field@path     file upload (multipart/form-data)
  @path          the file is the whole body
  name=@file     value read from a file (also name:=@file, name==@file)
  A backslash escapes a separator: 'a\\=b=c' is the field a=b.

\b
URLs without a scheme get http://: localhost:8000/x, example.org,
and :8000/x means http://localhost:8000/x.

\b
Examples: (all but the last work against the demo site, `wirekit serve`)
  wirekit get localhost:8000/ -i
  wirekit get :8000/echo q==python page==2 X-Trace:on
  wirekit get -O -C - http://127.0.0.1:8000/files/demo.pcap
  wirekit post :8000/login username=guido password=python -c jar.txt
  wirekit get -sS -b jar.txt :8000/private
  wirekit post :8000/upload title=holiday file@beach.jpg
  wirekit post :8000/echo -d @order.json --json
  wirekit http PUT :8000/echo/item/1 name=pen price:=2 tags:='["office"]'
  wirekit get -v --unix-socket /run/app.sock http://app/health

""" + exit_code_help()
