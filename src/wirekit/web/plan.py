"""What a source folder holds: pages to render, their data, and files to copy as they are.

The rules, by file name, in the order they are tried (each directory of SRC, recursively):

=========================  ================================================================
``.name``                  hidden (``.git``, editor files): ignored, as the static server does
``_name``                  an input, never copied: ``_layout.html`` wraps the pages of its
                           directory and below (the nearest one wins), ``_data.json`` holds
                           variables for its directory and below (deeper files override);
                           other ``_`` files and directories are for you (drafts, notes)
``page.row.html``          the row template of ``page.html``: rendered once per CSV row
``page.html``/``.htm``     a page template: rendered to OUT under the same name
``page.json``              the variables of ``page.html`` (beside it, same stem): not copied
``page.csv``               the rows of ``page.html`` (``$rows``): not copied
anything else              copied byte for byte (a ``.json`` or ``.csv`` with no page too)
=========================  ================================================================

Symlinks are never followed out of SRC (SECURITY.md S03, as the static server does): a link
to a file inside SRC is used like that file; a link that leaves SRC, a broken link, a link to
a directory and anything that is not a regular file (a FIFO would block the build) are
skipped, and the report says so. Everything is listed in sorted order, so builds repeat.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from wirekit.web.errors import TemplateError

__all__ = ["LAYOUT", "PAGE_SUFFIXES", "SITE_DATA", "Page", "Plan", "plan_site"]

PAGE_SUFFIXES: Final = (".html", ".htm")
ROW_SUFFIXES: Final = tuple(".row" + suffix for suffix in PAGE_SUFFIXES)
LAYOUT: Final = "_layout.html"
SITE_DATA: Final = "_data.json"


@dataclass(frozen=True, slots=True)
class Page:
    """One page template and the files that feed it, as paths relative to SRC."""

    source: Path
    data: Path | None  # page.json
    table: Path | None  # page.csv
    row_template: Path | None  # page.row.html
    layout: Path | None  # the nearest _layout.html
    site_data: tuple[Path, ...]  # every _data.json from SRC down to the page's directory


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a build will do, decided before anything is read or written."""

    pages: tuple[Page, ...]
    copies: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...]


def _why_unusable(path: Path, root: Path) -> str | None:
    """None if ``path`` may be read as a file of the site, else why it is skipped."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            target = path.resolve(strict=True)
            if not target.is_relative_to(root):
                return "a symlink that leaves SRC (not followed)"
            info = target.stat()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop on older Pythons
        return "a broken symlink"
    if stat.S_ISDIR(info.st_mode):
        return "a symlink to a directory (not followed)"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    return None


def _walk(root: Path) -> tuple[dict[Path, list[str]], list[tuple[Path, str]]]:
    """Usable file names per directory (relative to ``root``), and what was skipped."""
    usable: dict[Path, list[str]] = {}
    skipped: list[tuple[Path, str]] = []
    for here, dirs, files in os.walk(root, followlinks=False):
        rel = Path(here).relative_to(root)
        for name in sorted(dirs):
            if name.startswith((".", "_")):
                dirs.remove(name)  # hidden or an input: never descended into
            elif os.path.islink(os.path.join(here, name)):
                skipped.append((rel / name, "a symlink to a directory (not followed)"))
        dirs.sort()
        usable[rel] = []
        for name in sorted(files):
            if name.startswith("."):
                continue
            why = _why_unusable(Path(here, name), root)
            if why is None:
                usable[rel].append(name)
            elif not name.startswith("_"):
                skipped.append((rel / name, why))
            else:  # an input that is unsafe to read is skipped too, and said
                skipped.append((rel / name, why + "; not used"))
    return usable, skipped


def _page_stem(name: str) -> str | None:
    lowered = name.lower()
    for suffix in PAGE_SUFFIXES:
        if lowered.endswith(suffix) and not lowered.endswith(ROW_SUFFIXES):
            return name[: -len(suffix)]
    return None


def _row_stem(name: str) -> str | None:
    lowered = name.lower()
    for suffix in ROW_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return None


def _nearest(directory: Path, name: str, usable: dict[Path, list[str]]) -> Path | None:
    for folder in (directory, *directory.parents):
        if name in usable.get(folder, ()):
            return folder / name
    return None


def _site_data(directory: Path, usable: dict[Path, list[str]]) -> tuple[Path, ...]:
    folders = (*reversed(directory.parents), directory)
    return tuple(folder / SITE_DATA for folder in folders if SITE_DATA in usable.get(folder, ()))


def _directory(rel: Path, names: list[str], usable: dict[Path, list[str]], shown: Path
               ) -> tuple[list[Page], list[Path]]:
    stems = {stem for name in names if not name.startswith("_")
             if (stem := _page_stem(name)) is not None}
    rows = {stem: name for name in names if not name.startswith("_")
            if (stem := _row_stem(name)) is not None}
    for stem, name in rows.items():
        if stem not in stems:
            raise TemplateError(f"a row template with no page {stem}.html beside it",
                                path=shown / rel / name)
    pages: list[Page] = []
    copies: list[Path] = []
    consumed = {stem + ext for stem in stems for ext in (".json", ".csv")}
    for name in names:
        stem = _page_stem(name)
        if name.startswith("_") or name in consumed or _row_stem(name) is not None:
            continue
        if stem is None:
            copies.append(rel / name)
            continue
        pages.append(Page(
            source=rel / name,
            data=rel / f"{stem}.json" if f"{stem}.json" in names else None,
            table=rel / f"{stem}.csv" if f"{stem}.csv" in names else None,
            row_template=rel / rows[stem] if stem in rows else None,
            layout=_nearest(rel, LAYOUT, usable),
            site_data=_site_data(rel, usable)))
    return pages, copies


def plan_site(root: Path, shown: Path) -> Plan:
    """The plan for the site in ``root`` (an absolute, resolved directory); ``shown`` is the
    same folder as the user named it, for errors."""
    usable, skipped = _walk(root)
    pages: list[Page] = []
    copies: list[Path] = []
    for rel in sorted(usable):
        found_pages, found_copies = _directory(rel, usable[rel], usable, shown)
        pages += found_pages
        copies += found_copies
    return Plan(tuple(pages), tuple(copies), tuple(skipped))
