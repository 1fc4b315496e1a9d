"""The demo's feeds (course section 3): one document per format, to fetch and parse.

    /feeds/               a page naming each feed and what to try on it
    /feeds/recipes.xml    the course's recipe (slides 3-17..3-19) and two more, in <recipes>
    /feeds/news.rss       an RSS 2.0 channel with a few items
    /feeds/items.json     a JSON document with a list of records
    /feeds/sales.csv      a header and ten rows

The files are plain files under ``site/feeds/``, served by :class:`StaticFiles` (validators,
ranges) with RSS declared as ``application/rss+xml`` (RSS Advisory Board), which the standard
library's table does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from wirekit.demo.pages import html_page, send_page
from wirekit.http.static import StaticFiles

__all__ = ["FEEDS", "feeds_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Where the feeds are (package data, beside the rest of the site).
FEEDS_DIR = Path(__file__).resolve().parent / "site" / "feeds"

#: File name -> what it holds, in the order the page lists them.
FEEDS = {
    "recipes.xml": "XML: the course's recipes, each with a title and ingredients/item elements",
    "news.rss": "RSS 2.0: a channel of news items (title, link, description, pubDate)",
    "items.json": "JSON: a shop's items, each with an id, a name, a price and tags",
    "sales.csv": "CSV: ten sales, a header row then date, region, item, quantity, price",
}


def _index() -> bytes:
    rows = "\n".join(f'<li><a href="{name}">{name}</a>: {text}</li>'
                     for name, text in FEEDS.items())
    body = (f"<p>Four small documents, one per format of course section 3, served as plain "
            f"files. Fetch them, parse them, stream them: the "
            f'<a href="../">home page</a> shows the <code>wirekit parse</code> commands and '
            f"the library calls.</p>\n<ul>\n{rows}\n</ul>")
    return html_page("Feeds", body, base="../")


def feeds_app() -> WSGIApp:
    """``/feeds/``: the index page, and the files under ``site/feeds/``."""
    files = StaticFiles(FEEDS_DIR, listing=False, index=None,
                        content_types={".rss": "application/rss+xml"})

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "":  # /feeds: the links on the page are relative to /feeds/
            start_response("301 Moved Permanently", [("Location", "feeds/"),
                                                     ("Content-Length", "0")])
            return []
        if path == "/" and method in ("GET", "HEAD"):
            body = send_page(start_response, "200 OK", _index())
            return [] if method == "HEAD" else body
        return files(environ, start_response)

    return app
