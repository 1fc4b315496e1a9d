"""The demo's FTP page and the FTP server beside the site (slides 2-29..2-30: ``ftplib``).

The course lists a directory and downloads a file over FTP, and has no server to do it with.
When pyftpdlib is installed (``wirekit[ftp-server]``), ``wirekit serve`` runs one beside the web
site with :func:`demo_ftp_server`: read-only and anonymous, serving the demo's own ``files/``
folder (``alphabet.txt``, ``README.txt``...), on port 2121 or any free port when that one is
taken. ``/ftp.html`` (:func:`ftp_app`) names it, lists it with ``wirekit.ftp.Client`` as the
page is asked for (so the library call it shows is the one that just ran) and shows the
``wirekit ftp`` commands with the real address. Without pyftpdlib the page says how to get it.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from wirekit.config import Timeouts
from wirekit.demo.pages import escape, html_page, send_page
from wirekit.errors import WirekitError

__all__ = ["DEFAULT_FTP_PORT", "FILES", "demo_ftp_server", "ftp_app", "pyftpdlib_installed"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: The port the demo's FTP server tries first (21 needs root).
DEFAULT_FTP_PORT: Final = 2121
#: What it serves: the demo site's ``files/`` folder.
FILES: Final = Path(__file__).resolve().parent / "site" / "files"
#: Seconds the page's own listing may take.
TIMEOUT: Final = 5.0
_INSTALL = "pip install 'wirekit[ftp-server]'"


def pyftpdlib_installed() -> bool:
    return importlib.util.find_spec("pyftpdlib") is not None


@contextlib.contextmanager
def demo_ftp_server(host: str = "127.0.0.1", port: int = DEFAULT_FTP_PORT
                    ) -> Iterator[str | None]:
    """A read-only anonymous FTP server on :data:`FILES`, at ``host`` and ``port`` (any free
    port if that one is taken, or if it is 0), for the ``with`` block; yields its
    ``host:port``, or ``None`` when pyftpdlib is not installed."""
    if not pyftpdlib_installed():
        yield None
        return
    from wirekit.demo.services import start_server
    from wirekit.ftp.server import FTPServer

    with contextlib.ExitStack() as running:
        yield start_server(running, "FTP server", host, port, lambda address: FTPServer(
            FILES, address, banner="wirekit demo FTP (read-only)"))


def ftp_app(ftp: str | None = None) -> WSGIApp:
    """The FTP page for the server at ``ftp`` (``host:port``); without it the page says how
    to start one (or to install pyftpdlib)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            page = html_page("Method not allowed", "<p>This page only reads.</p>")
            return send_page(start_response, "405 Method Not Allowed", page,
                             [("Allow", "GET, HEAD")])
        page = html_page("FTP: list and download", _body(ftp))
        sent = send_page(start_response, "200 OK", page)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else sent

    return app


def _body(ftp: str | None) -> str:
    intro = ("<p>Slides 2-29..2-30 list a directory and download a file with "
             "<code>ftplib</code>; <code>wirekit.ftp</code> does the same, passive and binary "
             "by default, with resume, progress and FTPS.</p>\n")
    if not pyftpdlib_installed():
        return (intro + "<p>The demo's FTP server is pyftpdlib, which is not installed here. "
                "Install it, then start <code>wirekit serve</code> again:</p>\n"
                f"<pre>{escape(_INSTALL)}</pre>\n")
    if ftp is None:
        return (intro + "<p>No FTP server runs beside this page: <code>wirekit serve</code> "
                "starts one on port 2121 (<code>--ftp-port</code>), serving the demo's "
                "<code>files/</code>, read-only. <code>wirekit ftp serve DIR</code> serves "
                "any folder.</p>\n")
    host, _, port = ftp.rpartition(":")
    host = host.strip("[]")
    url = f"ftp://{ftp}"
    return (
        intro
        + f"<p>An FTP server (pyftpdlib) runs beside this demo at <code>{escape(url)}/</code>: "
        "anonymous, read-only, serving the demo's <a href=\"files/\">files/</a>.</p>\n"
        + _listing(host, int(port))
        + "<h2>From the command line</h2>\n"
        f"<pre>wirekit ftp ls {escape(url)}/\n"
        f"wirekit ftp get {escape(url)}/alphabet.txt -o alphabet.txt</pre>\n"
        "<p><code>ls --json</code> prints the entries as JSON; <code>get -C -</code> resumes "
        "a cut download; <code>put</code>, <code>mkdir</code>, <code>rm</code> and "
        "<code>mv</code> need a server started with <code>wirekit ftp serve DIR --write"
        "</code>.</p>\n"
        "<h2>From Python</h2>\n"
        "<pre>from wirekit.ftp import Client\n\n"
        f'with Client("{escape(host)}", {int(port)}) as ftp:   # anonymous, passive, binary\n'
        "    for entry in ftp.list():\n"
        "        print(entry.type, entry.size, entry.modified, entry.name)\n"
        '    ftp.download("alphabet.txt", "alphabet.txt")</pre>\n')


def _listing(host: str, port: int) -> str:
    """The server's root, listed now with ``Client.list`` (MLSD), as a table."""
    from wirekit.ftp import Client

    timeouts = Timeouts(connect=TIMEOUT, read=TIMEOUT, write=TIMEOUT)
    try:
        with Client(host, port, timeouts=timeouts) as ftp:
            entries = sorted(ftp.list(), key=lambda entry: entry.name)
    except (WirekitError, OSError) as exc:
        return f'<p class="answer"><output>Listing it failed: {escape(str(exc))}</output></p>\n'
    rows = "".join(
        f"<tr><td>{escape(entry.type)}</td><td>{'' if entry.size is None else entry.size}</td>"
        f"<td>{escape(entry.modified.strftime('%Y-%m-%d %H:%M') if entry.modified else '')}"
        f"</td><td>{escape(entry.name)}</td></tr>\n" for entry in entries)
    return ("<p>What <code>Client.list()</code> found there just now:</p>\n"
            "<table><thead><tr><th>type</th><th>size</th><th>modified (UTC)</th><th>name</th>"
            f"</tr></thead>\n<tbody>\n{rows}</tbody></table>\n")
