"""``make_demo_app()``: the site ``wirekit serve`` shows when it is given nothing to serve.

One WSGI application built from wirekit's parts, each answering the URLs of one course topic::

    /hello, /hello/...        hello_app, the course's WSGI application (Mount)
    /echo, /echo/...          echo_app: the request as the server saw it, as JSON (clients)
    /upload                   upload_app: multipart form parsing (wirekit.http.forms)
    /cgi-bin/subscribe.py     a CGI script (CGIApp) reading its form with parse_cgi_form()
    /mail/                    inbox_app: the mail the demo's catcher caught (wirekit.mail)
    /packets                  packets_app: a shipped capture decoded (wirekit.net.capture)
    /sockets                  sockets_app: the echo and time servers beside the site (wirekit.net)
    /login, /private, /logout a session cookie: the form, the page it opens (demo.login)
    /feeds/                   recipes.xml, news.rss, items.json, sales.csv (wirekit.data)
    /RPC2, /jsonrpc           XML-RPC and JSON-RPC on one Dispatcher (wirekit.rpc); rpc.html
    /ftp.html                 ftp_app: the FTP server beside the site, if pyftpdlib (wirekit.ftp)
    everything else           the files under site/ (StaticFiles): pages, CSS, a listing

The site's files are package data (``wirekit/demo/site``), so the demo works from an installed
wheel with nothing else on disk.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from wirekit.demo.echo import echo_app
from wirekit.demo.feeds import feeds_app
from wirekit.demo.ftp import ftp_app
from wirekit.demo.hello import hello_app
from wirekit.demo.login import login_apps
from wirekit.demo.mail import inbox_app
from wirekit.demo.packets import packets_app
from wirekit.demo.pages import site_page
from wirekit.demo.rpc import rpc_apps
from wirekit.demo.sockets import sockets_app
from wirekit.demo.upload import upload_app
from wirekit.http.cgi import CGIApp
from wirekit.http.mount import Mount
from wirekit.http.pages import error_page, relative_root
from wirekit.http.static import StaticFiles
from wirekit.mail import MaildirStore

__all__ = ["SITE", "make_demo_app"]

logger = logging.getLogger(__name__)

#: The demo's document root: HTML, CSS, the ``files/`` directory and ``cgi-bin/``.
SITE = Path(__file__).resolve().parent / "site"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_demo_app(*, cgi_timeout: float = 10.0, mail: MaildirStore | None = None,
                  smtp: str | None = None, echo: str | None = None,
                  time: str | None = None, ftp: str | None = None) -> WSGIApp:
    """Build the demo site as one WSGI application (mountable anywhere: links are relative).

    ``cgi_timeout`` bounds each run of the subscribe script, in seconds. ``mail`` is the
    Maildir whose messages ``/mail/`` shows and ``smtp`` the ``host:port`` of the catcher
    that fills it (``wirekit serve`` starts one; without them the page says how); ``echo``
    and ``time`` are the ``host:port`` of the echo and time servers the sockets page talks to
    (``wirekit.demo.services`` starts all three); ``ftp`` is the ``host:port`` of the FTP
    server ``/ftp.html`` shows (``wirekit.demo.services`` starts it, with pyftpdlib).
    """
    # Listings and error pages in the site's look (pages.site_page), wherever they come from.
    files = StaticFiles(SITE, private=[SITE / "cgi-bin"],  # scripts run, never show source
                        page=site_page)
    # CGI owns /cgi-bin/ (a script is only ever run, never sent as a file); every other path
    # falls through to the static files. The script runs with this interpreter, so it
    # imports this very wirekit.
    cgi = CGIApp(SITE, interpreters={".py": sys.executable}, timeout=cgi_timeout,
                 fallback=files, page=site_page)
    return _styled_crash(Mount({"/hello": hello_app, "/echo": echo_app, "/upload": upload_app,
                  "/mail": inbox_app(mail, smtp),
                  "/packets": packets_app(), "/sockets": sockets_app(echo, time),
                  **login_apps(), "/feeds": feeds_app(), **rpc_apps(),
                  "/ftp.html": ftp_app(ftp),
                  "": cgi}, page=site_page))


def _styled_crash(app: WSGIApp) -> WSGIApp:
    """A page that fails before answering gets the site's 500 page (the server's own would
    look like another site); the traceback goes to the log, never to the browser."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except Exception:
            logger.exception("the demo failed on %s %s", environ.get("REQUEST_METHOD"),
                             environ.get("PATH_INFO"))
            page = error_page(site_page, 500, relative_root(environ))
            start_response("500 Internal Server Error",
                           [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(page)))], sys.exc_info())
            return [page]

    return guarded
