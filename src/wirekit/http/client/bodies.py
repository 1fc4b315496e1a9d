"""Request bodies: what ``data=``, ``json=`` and ``files=`` become on the wire.

A ``Body`` knows its ``Content-Type``, its length (``None``: unknown, so it goes out chunked)
and how to produce its bytes. Small bodies are held whole (``data``) and go out in the same
write as the head; files and iterators are produced piece by piece (``chunks()``) so an upload
never sits in memory. ``replayable`` says whether the bytes can be produced a second time, for
a 307/308 redirect or a Digest retry; an iterator cannot, and such a request is not resent.
"""

from __future__ import annotations

import io
import json as _json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO, Final
from urllib.parse import urlencode

from wirekit.http.client.errors import InvalidRequest

__all__ = ["BLOCK", "Body", "file_body", "make_body"]

#: Bytes read from a file per write: large enough for throughput, small enough to keep an
#: upload's memory flat.
BLOCK: Final = 256 * 1024
FORM: Final = "application/x-www-form-urlencoded"


class Body:
    """The content of one request (see the module docstring)."""

    __slots__ = ("_produce", "content_type", "data", "length", "replayable")

    def __init__(
        self, *, data: bytes | None = None, produce: Callable[[], Iterator[bytes]] | None = None,
        length: int | None = None, content_type: str | None = None, replayable: bool = True,
    ) -> None:  # fmt: skip
        self.data = data
        self._produce = produce
        self.length = len(data) if data is not None else length
        self.content_type = content_type
        self.replayable = replayable

    def chunks(self) -> Iterator[bytes]:
        """The content, in pieces; each call starts again from the beginning (if replayable)."""
        data = self.data
        if data is not None:  # in blocks, so a large upload reports progress as it goes
            return iter([data] if len(data) <= BLOCK else
                        [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)])
        assert self._produce is not None
        return self._produce()

    def __repr__(self) -> str:
        return f"<Body length={self.length} type={self.content_type!r}>"


def make_body(  # noqa: PLR0911 - one return per kind of body reads as a table
    data: Any = None, json: Any = None, files: Any = None,
) -> Body | None:
    """The ``Body`` for the arguments of a request, or ``None`` when there is none."""
    if json is not None:
        if data is not None or files is not None:
            raise InvalidRequest("json= cannot be combined with data= or files=")
        raw = _json.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
        return Body(data=raw, content_type="application/json")
    if files is not None:
        from wirekit.http.client.multipart import multipart_body

        if data is not None and not isinstance(data, Mapping | list | tuple):
            raise InvalidRequest("with files=, data= must be form fields (a dict or pairs)")
        return multipart_body(data or (), files)
    if data is None:
        return None
    # Raw bytes or text are labelled as a form, as curl -d and urllib do: a form parser
    # (wirekit's own, PHP's, a CGI script) reads no fields from a body with no Content-Type.
    # A caller who sends something else says so with a Content-Type header, which wins.
    if isinstance(data, bytes | bytearray | memoryview):
        return Body(data=bytes(data), content_type=FORM)
    if isinstance(data, str):
        return Body(data=data.encode(), content_type=FORM)
    if isinstance(data, Mapping) or (isinstance(data, list | tuple) and all(
            isinstance(item, tuple) and len(item) == 2 for item in data)):  # fmt: skip
        return Body(data=form_encode(data).encode("ascii"), content_type=FORM)
    if hasattr(data, "read"):
        return file_body(data)
    if isinstance(data, Iterable):
        return _iterator_body(data)
    raise InvalidRequest(f"cannot send {type(data).__name__} as a request body")


def form_encode(fields: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """``application/x-www-form-urlencoded`` (list values repeat the field, as forms do)."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    pairs = []
    for name, value in items:
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((name, item))
    return urlencode(pairs)


def file_body(handle: BinaryIO) -> Body:
    """An open binary file: sent with its length and replayable when it can seek."""
    try:
        start = handle.tell()
        size = os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        return Body(produce=lambda: _read_blocks(handle), replayable=False)
    if isinstance(handle.read(0), str):
        raise InvalidRequest("open the file in binary mode ('rb') to send it")

    def produce() -> Iterator[bytes]:
        handle.seek(start)
        return _read_blocks(handle, size - start)

    return Body(produce=produce, length=max(0, size - start))


def _read_blocks(handle: BinaryIO, size: int | None = None) -> Iterator[bytes]:
    left = size
    while left is None or left > 0:
        block = handle.read(BLOCK if left is None else min(BLOCK, left))
        if not block:
            if left:
                raise InvalidRequest(f"the file shrank while being sent ({left} bytes missing)")
            return
        if isinstance(block, str):
            raise InvalidRequest("open the file in binary mode ('rb') to send it")
        if left is not None:
            left -= len(block)
        yield block


def _iterator_body(source: Iterable[Any]) -> Body:
    """An iterable of bytes (a generator, say): unknown length, so chunked, sent once."""
    replayable = isinstance(source, list | tuple)

    def produce() -> Iterator[bytes]:
        for piece in source:
            if isinstance(piece, str):
                piece = piece.encode()  # noqa: PLW2901 - normalising the element
            if not isinstance(piece, bytes | bytearray | memoryview):
                raise InvalidRequest(f"a body iterator yielded {type(piece).__name__}")
            yield bytes(piece)

    if replayable:
        total = sum(len(p.encode() if isinstance(p, str) else p) for p in source)
        return Body(produce=produce, length=total)
    return Body(produce=produce, replayable=False)
