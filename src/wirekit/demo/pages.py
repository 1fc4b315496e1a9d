"""The demo's generated pages: one HTML skeleton, every inserted value escaped.

The static pages of the site (``site/*.html``) and the pages built here share the stylesheet
and the header, so the demo looks like one site whichever part of wirekit answered.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

__all__ = ["escape", "html_page", "refuse_unless_page_read", "send_page", "site_page"]

escape = html.escape


def html_page(title: str, body: str, *, base: str = "") -> bytes:
    """A complete page; ``title`` is text (escaped here), ``body`` is HTML already escaped.

    ``base`` is the relative path back to the site root (``""`` or ``"../"``), so the page
    works wherever the demo is mounted.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} - wirekit demo</title>\n"
        f'<link rel="stylesheet" href="{base}style.css">\n'
        f'<link rel="icon" href="{base}favicon.ico">\n</head>\n<body>\n'
        f'<header><a href="{base or "./"}">wirekit demo</a></header>\n<main>\n'
        f"<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    ).encode()


def site_page(title: str, body: str, root: str) -> bytes:
    """:func:`html_page` as a ``PageRenderer``: what ``StaticFiles``, ``CGIApp`` and ``Mount``
    are given, so their listings and error pages are pages of this site too."""
    return html_page(title, body, base="" if root == "./" else root)


def send_page(start_response: Callable[..., Any], status: str, page: bytes,
              extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    """Start an HTML response for ``page`` with its length and the usual safety headers."""
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(page))),
                            ("X-Content-Type-Options", "nosniff"),
                            *(extra or [])])
    return [page]


def refuse_unless_page_read(environ: dict[str, Any], start_response: Callable[..., Any],
                            name: str) -> list[bytes] | None:
    """The answer to anything but a GET or HEAD of a one-page application's own URL: a 405,
    or a 404 linking back to the page (called ``name``); None for a request to answer."""
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        page = html_page("Method not allowed", f"<p>The {escape(name)} page only reads.</p>")
        return send_page(start_response, "405 Method Not Allowed", page,
                         [("Allow", "GET, HEAD")])
    if environ.get("PATH_INFO", "") not in ("", "/"):
        home = escape(environ.get("SCRIPT_NAME", "") or "/", quote=True)
        page = html_page("Not found", f'<p>Nothing here: <a href="{home}">the {escape(name)} '
                         "page</a>.</p>", base=f"{home.rstrip('/').rpartition('/')[0]}/")
        return send_page(start_response, "404 Not Found", page)
    return None
