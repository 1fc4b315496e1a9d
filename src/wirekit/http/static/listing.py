"""The directory listing page: sorted names, sizes and dates, safe against hostile file names.

A file name is attacker-controlled text in two contexts (CPython ``test_html_escape_filename``,
SECURITY.md S06): as page text it is HTML-escaped; as a link it is percent-encoded with *no*
safe characters, so ``"``, ``<``, ``&`` and ``:`` never reach the attribute and a name such as
``javascript:x`` stays a relative path (``javascript%3Ax``), then HTML-escaped again. The page
never reflects the query string. Entries that the server would refuse (dotfiles unless shown,
links leaving the root unless followed, names with a backslash, FIFOs and devices) are not
listed either, and a huge directory is cut at :data:`MAX_ENTRIES` so one request does bounded
work.

The listing is a plain page by default, or goes into an application's own look through a
:data:`wirekit.http.pages.PageRenderer`.
"""

from __future__ import annotations

import html
import os
import stat
import time
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote

from wirekit.http.pages import PageRenderer
from wirekit.http.static.paths import inside

__all__ = ["MAX_ENTRIES", "STYLE", "Entry", "list_directory", "render_listing"]

#: Most entries read from one directory for its page.
MAX_ENTRIES = 10_000

#: Also the style of the error pages (``app.py``): light or dark as the reader's system is.
STYLE = (
    ":root{color-scheme:light dark}"
    "body{font-family:system-ui,sans-serif;margin:2em;line-height:1.5}"
    "table{border-collapse:collapse}td,th{padding:.15em 1em;text-align:left}"
    "td.size{text-align:right;font-variant-numeric:tabular-nums}"
)


class Entry(NamedTuple):
    """One listed name: ``size`` is ``None`` for directories."""

    name: str
    is_dir: bool
    size: int | None
    mtime: float


def list_directory(path: str, root: str, *, show_hidden: bool,
                   follow_symlinks: bool) -> tuple[list[Entry], bool]:
    """Read up to :data:`MAX_ENTRIES` servable entries of ``path``, sorted by name.

    Returns the entries and whether the directory had more. Raises ``OSError`` when the
    directory cannot be read.
    """
    entries: list[Entry] = []
    truncated = False
    with os.scandir(path) as scan:
        for item in scan:
            if len(entries) >= MAX_ENTRIES:
                truncated = True
                break
            entry = _entry(item, root, show_hidden=show_hidden, follow_symlinks=follow_symlinks)
            if entry is not None:
                entries.append(entry)
    entries.sort(key=lambda e: (not e.is_dir, e.name.casefold(), e.name))
    return entries, truncated


def _entry(item: os.DirEntry[str], root: str, *, show_hidden: bool,
           follow_symlinks: bool) -> Entry | None:
    if (item.name.startswith(".") and not show_hidden) or "\\" in item.name:
        return None  # names the server refuses are not offered either
    try:
        if (item.is_symlink() and not follow_symlinks
                and not inside(root, os.path.realpath(item.path))):
            return None
        st = item.stat()
    except OSError:
        return None  # dangling link, loop, or vanished since the scan
    if stat.S_ISDIR(st.st_mode):
        return Entry(item.name, True, None, st.st_mtime)
    if stat.S_ISREG(st.st_mode):
        return Entry(item.name, False, st.st_size, st.st_mtime)
    return None


def _display(name: str) -> str:
    """A name as page text: undecodable bytes (surrogates) become U+FFFD, then HTML-escaped."""
    return html.escape(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                       quote=True)


def _href(name: str, is_dir: bool) -> str:
    link = quote(os.fsencode(name), safe="") + ("/" if is_dir else "")
    return html.escape(link, quote=True)


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    scaled = size / 1024
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        if scaled < 1024 or unit == "TiB":
            break
        scaled /= 1024
    return f"{scaled:.1f} {unit}"


def render_listing(url_path: str, entries: Iterable[Entry], *, parent: bool,
                   truncated: bool = False, page: PageRenderer | None = None,
                   root: str = "./") -> bytes:
    """The HTML page for a directory whose (decoded) URL path is ``url_path``.

    With ``page``, the table goes into that renderer's page (``root`` as in
    :data:`PageRenderer`); without it, a plain page of its own.
    """
    title = "Index of " + _display(url_path)
    rows = []
    if parent:
        rows.append('<tr><td><a href="../">../</a></td><td class="size">-</td><td>-</td></tr>')
    for entry in entries:
        label = _display(entry.name) + ("/" if entry.is_dir else "")
        date = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.mtime))
        rows.append(f'<tr><td><a href="{_href(entry.name, entry.is_dir)}">{label}</a></td>'
                    f'<td class="size">{_size(entry.size)}</td><td>{date}</td></tr>')
    more = f"<p>Only the first {MAX_ENTRIES} entries are listed.</p>" if truncated else ""
    table = ('<div class="listing"><table>\n'
             "<thead><tr><th>Name</th><th>Size</th><th>Last modified (UTC)</th></tr></thead>\n"
             "<tbody>\n" + "\n".join(rows) + f"\n</tbody>\n</table></div>\n{more}")
    if page is not None:
        text = url_path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return page("Index of " + text, table, root)
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n<table>\n"
        "<thead><tr><th>Name</th><th>Size</th><th>Last modified (UTC)</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + f"\n</tbody>\n</table>\n{more}</body>\n</html>\n"
    )
    return document.encode("utf-8")
