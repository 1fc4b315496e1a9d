"""``multipart/form-data`` uploads (RFC 7578), streamed from disk.

The length of every part is known before sending (headers are built up front, files are
``stat``-ed), so the request carries ``Content-Length`` and works with servers that refuse
chunked uploads; the file contents are read block by block while sending and never held
whole. Field names and filenames are percent-escaped the way browsers do (WHATWG: ``"``, CR,
LF; and ``\\`` too, since some parsers unescape it), so a name can never end its quoted string
or start a new header or part (SECURITY.md K12). The boundary is 32 random hex digits, checked
against the in-memory values before sending and against file contents while they stream.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from wirekit.http.client.bodies import BLOCK, Body
from wirekit.http.client.errors import InvalidRequest

__all__ = ["multipart_body"]

_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A", "\\": "%5C"})


def _quoted(value: str) -> str:
    return '"' + value.translate(_ESCAPES) + '"'


class _Part:
    """One part: its header block and its content (bytes, a path, or an open file)."""

    __slots__ = ("content", "head", "path", "size")

    def __init__(self, head: bytes, content: bytes | None = None, path: Path | None = None,
                 handle: BinaryIO | None = None) -> None:
        self.head = head
        self.content: bytes | BinaryIO | None = content if content is not None else handle
        self.path = path
        if content is not None:
            self.size = len(content)
        elif path is not None:
            self.size = path.stat().st_size
        else:
            assert handle is not None
            self.size = _remaining(handle)


def _remaining(handle: BinaryIO) -> int:
    """Bytes from the current position to the end: the part's length is sent up front."""
    try:
        return os.fstat(handle.fileno()).st_size - handle.tell()
    except (OSError, AttributeError, ValueError):
        pass
    try:
        position = handle.tell()
        end = handle.seek(0, os.SEEK_END)
        handle.seek(position)
    except (OSError, AttributeError, ValueError) as exc:
        raise InvalidRequest("files= needs paths, bytes or seekable binary files") from exc
    return end - position


def _head(name: str, filename: str | None, content_type: str | None) -> bytes:
    disposition = f"form-data; name={_quoted(name)}"
    if filename is not None:
        disposition += f"; filename={_quoted(filename)}"
    lines = [f"Content-Disposition: {disposition}"]
    if content_type is not None:
        if any(c in content_type for c in "\r\n\x00"):
            raise InvalidRequest("a part's content type must not contain CR, LF or NUL")
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _parts(fields: Mapping[str, Any] | Iterable[tuple[str, Any]],
           files: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[_Part]:
    parts: list[_Part] = []
    for name, value in fields.items() if isinstance(fields, Mapping) else fields:
        for item in value if isinstance(value, list | tuple) else [value]:
            text = item if isinstance(item, bytes) else str(item).encode()
            parts.append(_Part(_head(name, None, None), content=text))
    for name, value in files.items() if isinstance(files, Mapping) else files:
        parts.append(_make_file_part(name, value))
    return parts


def _make_file_part(name: str, value: Any) -> _Part:
    content_type = None
    filename: str | None = None
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise InvalidRequest("a files= tuple is (filename, source[, content_type])")
        filename, value, content_type = value[0], value[1], (value[2] if len(value) == 3
                                                             else None)
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if not path.is_file():
            raise InvalidRequest(f"files=: {str(path)!r} is not a readable file")
        filename = path.name if filename is None else filename
        part_args: dict[str, Any] = {"path": path}
    elif isinstance(value, bytes | bytearray):
        part_args = {"content": bytes(value)}
    elif hasattr(value, "read"):
        if filename is None:
            filename = os.path.basename(str(getattr(value, "name", name)))
        part_args = {"handle": value}
    else:
        raise InvalidRequest(f"files=: cannot upload {type(value).__name__}")
    filename = name if filename is None else filename
    if content_type is None:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return _Part(_head(name, filename, content_type), **part_args)


def multipart_body(fields: Mapping[str, Any] | Iterable[tuple[str, Any]],
                   files: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Body:
    """A streamed ``multipart/form-data`` body of form ``fields`` and ``files``."""
    parts = _parts(fields, files)
    boundary = secrets.token_hex(16)
    delimiter = b"--" + boundary.encode()
    for part in parts:
        if delimiter in part.head or (isinstance(part.content, bytes)
                                      and delimiter in part.content):
            raise InvalidRequest("multipart boundary collision (try again)")  # ~2**-128
    length = sum(len(delimiter) + 2 + len(p.head) + p.size + 2 for p in parts)
    length += len(delimiter) + 4
    replayable = all(p.path is not None or isinstance(p.content, bytes)
                     or _seekable(p.content) for p in parts)

    def produce() -> Iterator[bytes]:
        for part in parts:
            yield delimiter + b"\r\n" + part.head
            if isinstance(part.content, bytes):
                yield part.content
            else:
                yield from _stream_file(part, delimiter)
            yield b"\r\n"
        yield delimiter + b"--\r\n"

    return Body(produce=produce, length=length,
                content_type=f"multipart/form-data; boundary={boundary}", replayable=replayable)


def _seekable(handle: BinaryIO | None) -> bool:
    try:
        return handle is not None and bool(handle.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _stream_file(part: _Part, delimiter: bytes) -> Iterator[bytes]:
    """The file's bytes in blocks, watching for the boundary across block edges."""
    if part.path is not None:
        handle: BinaryIO = open(part.path, "rb")  # noqa: SIM115 - closed in finally
        start = 0
    else:
        # No path, and bytes content is sent inline: this part is the caller's open file.
        assert part.content is not None and not isinstance(part.content, bytes)
        handle = part.content
        start = handle.tell()
    overlap = b""
    left = part.size
    try:
        while left > 0:
            block = handle.read(min(BLOCK, left))
            if not block:
                raise InvalidRequest(f"a file shrank while being uploaded ({left} bytes short)")
            left -= len(block)
            if delimiter in overlap + block[: len(delimiter)] or delimiter in block:
                raise InvalidRequest("uploaded file contains the multipart boundary")
            overlap = block[-len(delimiter):]
            yield block
    finally:
        if part.path is not None:
            handle.close()
        else:
            handle.seek(start)  # ready for a replay (307/308, Digest retry)
