"""``FormField`` and ``FormData``: a parsed form, read the way ``cgi.FieldStorage`` was read.

The course reads a form with ``form.getvalue("name")``; that works unchanged here, as do
``getlist``, ``getfirst``, ``name in form`` and ``form[name]``. What changed on purpose:

* ``form[name]`` is the *first* field of that name (``FieldStorage`` returned a list when a
  name repeated, so every caller needed an ``isinstance`` check); :meth:`FormData.getfields`
  returns them all.
* Blank values are kept (``a=&b=2`` has ``a == ""``), as browsers mean them: an empty text box
  is still a submitted field.
* Uploaded files live in anonymous temporary files that the kernel removes when they are
  closed, even if the process dies; :meth:`FormData.close` (or ``with``) closes them early.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable, Iterator
from typing import IO, Any

from wirekit.proto.http import Headers

__all__ = ["FormData", "FormField"]

_COPY_CHUNK = 1024 * 1024


class FormField:
    """One submitted field: a plain value, or an uploaded file when :attr:`filename` is set.

    ``value`` is ``str`` for a plain field and the file's ``bytes`` for an upload (as with
    ``FieldStorage``); ``file`` is a seekable binary file for both, positioned at the start
    and moved by reading, like any file.
    """

    __slots__ = ("_file", "_raw", "_text", "content_type", "filename", "headers", "name",
                 "size")

    def __init__(
        self,
        name: str,
        value: str | None = None,
        *,
        file: IO[bytes] | None = None,
        raw: bytes | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        headers: Headers | None = None,
        size: int | None = None,
    ) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.headers = headers if headers is not None else Headers()
        self._text = value
        self._file = file
        self._raw = raw
        if file is not None:
            if size is None:
                size = file.seek(0, os.SEEK_END)
            file.seek(0)
        elif raw is None:
            self._raw = raw = (value or "").encode()
        self.size = size if size is not None else len(raw or b"")

    @property
    def is_file(self) -> bool:
        """True for an upload (the part had a ``filename`` parameter, even an empty one)."""
        return self.filename is not None

    @property
    def file(self) -> IO[bytes]:
        """The content as a seekable binary file, positioned at the start when the form is
        parsed. Reads move it as with any file (``while chunk := field.file.read(n)`` ends);
        asking for ``file`` again does not rewind it, so ``seek(0)`` to read it twice."""
        if self._file is None:  # a plain field: made on demand, most are only read as text
            self._file = io.BytesIO(self._raw or b"")
        return self._file

    @property
    def value(self) -> Any:
        """The text of a plain field, or the whole content of an upload as ``bytes`` (read
        from the start, the file left at the start, as ``cgi.FieldStorage`` did)."""
        if self._text is not None and not self.is_file:
            return self._text
        file = self.file
        file.seek(0)
        try:
            return file.read()
        finally:
            file.seek(0)

    @property
    def safe_filename(self) -> str | None:
        """The client's file name reduced to a bare, harmless name (or ``None`` if no file).

        Browsers send a base name, but a hostile client can send ``../../etc/passwd`` or
        ``C:\\x\\..\\y``; this keeps only the last component, drops control characters and
        leading dots, and never returns ``""``, ``.`` or ``..``. Still choose the directory
        yourself.
        """
        if self.filename is None:
            return None
        base = self.filename.replace("\\", "/").rsplit("/", 1)[-1]
        base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
        return base[:255] or "upload"

    def save(self, path: str | os.PathLike[str]) -> int:
        """Write the content to ``path`` (created or truncated); return the number of bytes."""
        source = self.file
        source.seek(0)
        with open(path, "wb") as target:
            shutil.copyfileobj(source, target, _COPY_CHUNK)
        source.seek(0)
        return self.size

    def close(self) -> None:
        """Release the content (for an upload, its temporary file is deleted)."""
        if self._file is not None:
            self._file.close()

    def __repr__(self) -> str:
        if self.is_file:
            return (f"FormField({self.name!r}, filename={self.filename!r}, "
                    f"content_type={self.content_type!r}, size={self.size})")
        return f"FormField({self.name!r}, {self._text!r})"


class FormData:
    """The fields of one request in the order they arrived (query string first, then body)."""

    def __init__(self, fields: Iterable[FormField] = ()) -> None:
        self.fields: list[FormField] = list(fields)
        self._by_name: dict[str, list[FormField]] = {}
        for field in self.fields:
            self._by_name.setdefault(field.name, []).append(field)

    def getfields(self, name: str) -> list[FormField]:
        """Every field called ``name`` (empty if none)."""
        return list(self._by_name.get(name, ()))

    def getvalue(self, name: str, default: Any = None) -> Any:
        """The value of ``name``; a list of values if it repeats; ``default`` if absent.

        This is ``FieldStorage.getvalue`` exactly, list surprise included: prefer
        :meth:`getfirst` or :meth:`getlist` when a name might repeat.
        """
        found = self._by_name.get(name)
        if not found:
            return default
        if len(found) == 1:
            return found[0].value
        return [field.value for field in found]

    def getfirst(self, name: str, default: Any = None) -> Any:
        """The value of the first field called ``name``, or ``default``."""
        found = self._by_name.get(name)
        return found[0].value if found else default

    def getlist(self, name: str) -> list[Any]:
        """The values of every field called ``name`` (``[]`` if none)."""
        return [field.value for field in self._by_name.get(name, ())]

    @property
    def files(self) -> list[FormField]:
        """The uploads, in order."""
        return [field for field in self.fields if field.is_file]

    def keys(self) -> list[str]:
        """Distinct field names, in order of first appearance."""
        return list(self._by_name)

    def __getitem__(self, name: str) -> FormField:
        found = self._by_name.get(name)
        if not found:
            raise KeyError(name)
        return found[0]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def close(self) -> None:
        """Close every field, deleting the temporary files of uploads."""
        for field in self.fields:
            field.close()

    def __enter__(self) -> FormData:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FormData({self.fields!r})"
