"""File extension to ``Content-Type``, written as one table built at start-up.

The base is the standard library's built-in map only: ``mimetypes.MimeTypes()`` without file
names ignores ``/etc/mime.types`` and friends, so the same file gets the same type on every
machine. A few entries are corrected (RFC 9239 makes JavaScript ``text/javascript``;
compressed files are the archive itself, never a ``Content-Encoding`` of something else, which
would make a browser unpack ``x.tar.gz`` on download). Text types are declared UTF-8, and
anything unknown is ``application/octet-stream`` so a browser never guesses (with ``nosniff``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

__all__ = ["DEFAULT_TYPE", "ContentTypes"]

DEFAULT_TYPE = "application/octet-stream"

_CORRECTIONS = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".md": "text/markdown",
    ".wasm": "application/wasm",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".zst": "application/zstd",
    ".br": "application/octet-stream",
}
# Types outside text/* that are text and read as UTF-8 when not told otherwise.
_TEXTUAL = frozenset({"application/javascript", "image/svg+xml", "application/xhtml+xml"})


def _with_charset(content_type: str) -> str:
    if content_type.startswith("text/") or content_type in _TEXTUAL:
        return content_type + "; charset=utf-8"
    return content_type


class ContentTypes:
    """Look up the ``Content-Type`` for a file name by its last extension (case-insensitive).

    ``extra`` maps extensions (``".log"``) to types and wins over the built-in table; a value
    given with its own parameters (``"text/plain; charset=latin-1"``) is used as written.
    """

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        base = mimetypes.MimeTypes()
        table = {**base.types_map[False], **base.types_map[True], **_CORRECTIONS}
        self._table = {ext.lower(): _with_charset(ctype) for ext, ctype in table.items()}
        for name, ctype in (extra or {}).items():
            ext = name.lower() if name.startswith(".") else "." + name.lower()
            self._table[ext] = ctype if ";" in ctype else _with_charset(ctype)

    def __call__(self, name: str) -> str:
        dot = name.rfind(".")
        if dot <= name.rfind("/"):
            return DEFAULT_TYPE
        return self._table.get(name[dot:].lower(), DEFAULT_TYPE)
