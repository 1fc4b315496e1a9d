"""Where a page's variables come from: JSON objects and CSV rows, read with ``wirekit.data``.

A page ``blog/index.html`` sees, later sources overriding earlier ones:

1. ``_data.json`` of SRC, then of ``blog/`` (site-wide values: the site's name, the year);
2. ``blog/index.json`` (this page's values: its title, its text);
3. what the build sets: ``$root`` (the way back to the top, ``""`` or ``../``, for links
   that work from any depth and from ``file:``), ``$path`` (``blog/index.html``), ``$rows``
   (``blog/index.csv`` rendered, when there is one) and, in ``_layout.html`` only,
   ``$content`` (the rendered page). A data file may not set these names.

Each JSON file holds one object; each of its keys is a variable. A CSV file's first row names
its columns, and each further row is rendered through ``index.row.html`` with the page's
variables plus that row's columns. A key or column ending in ``_html`` holds trusted HTML and
is inserted unescaped (:mod:`wirekit.web.render`).

The readers are ``wirekit.data``'s (strict JSON without ``NaN``, bounded sizes, strict CSV
quoting), and their errors come back as :class:`~wirekit.web.errors.TemplateError` naming the
data file and its line. Each file is read once per build, however many pages use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from wirekit.data import ParseError, load, read_records
from wirekit.errors import LimitExceeded
from wirekit.web.errors import BuildError, TemplateError
from wirekit.web.render import HTML

__all__ = ["RESERVED", "DataFiles", "trusted"]

#: Names the build sets, and what each holds (said when a data file tries to set one).
RESERVED: Final = {
    "content": "the rendered page, in _layout.html",
    "rows": "the page's CSV rows, rendered",
    "root": "the relative way back to the top of the site",
    "path": "the page's path in the site",
}
RAW_SUFFIX: Final = "_html"
_WHERE = re.compile(r" \(line \d+(?:, column \d+)?\)$")


def trusted(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each text under a ``*_html`` name marked as HTML (not escaped)."""
    return {name: HTML(value) if name.endswith(RAW_SUFFIX) and isinstance(value, str)
            else value for name, value in values.items()}


class DataFiles:
    """The JSON and CSV files of one build under ``root``; ``shown`` is SRC as the user wrote
    it, so errors name ``site/index.json`` and not a resolved absolute path."""

    def __init__(self, root: Path, shown: Path) -> None:
        self._root = root
        self._shown = shown
        self._objects: dict[Path, dict[str, Any]] = {}
        self._tables: dict[Path, list[dict[str, Any]]] = {}

    def variables(self, rel: Path) -> dict[str, Any]:
        """The variables of the JSON file ``rel`` (relative to SRC)."""
        if rel not in self._objects:
            self._objects[rel] = self._read_object(rel)
        return self._objects[rel]

    def records(self, rel: Path) -> list[dict[str, Any]]:
        """The rows of the CSV file ``rel``, each a dict keyed by the header row."""
        if rel not in self._tables:
            rows = self._read(rel, lambda path: list(read_records(path)))
            self._tables[rel] = [trusted(row) for row in rows]
        return self._tables[rel]

    def _read_object(self, rel: Path) -> dict[str, Any]:
        value = self._read(rel, load)
        if not isinstance(value, dict):
            raise TemplateError(f"holds a JSON {type(value).__name__}; a data file holds one "
                                "object, each key a variable", path=self._shown / rel)
        for name in value:
            if name in RESERVED:
                raise TemplateError(f"sets {name!r}, which the build sets ({RESERVED[name]})",
                                    path=self._shown / rel, name=name)
        return trusted(value)

    def _read(self, rel: Path, reader: Callable[[Path], Any]) -> Any:
        shown = self._shown / rel
        try:
            return reader(self._root / rel)
        except ParseError as exc:
            raise TemplateError(_WHERE.sub("", str(exc)), path=shown, line=exc.line) from None
        except LimitExceeded as exc:
            raise TemplateError(str(exc), path=shown) from None
        except OSError as exc:
            raise BuildError(f"cannot read: {exc.strerror or exc}", path=shown) from None
