"""A request body read into memory with every bound an RPC server needs (SECURITY.md R06).

===============================  ==============================================================
``Content-Length`` above max     413 before a byte is read
no ``Content-Length``            read to the end of ``wsgi.input`` (chunked), 413 past the max
an invalid ``Content-Length``    400 (``-1``, ``+5``, ``5x``: the stdlib server reads to EOF
                                 on ``-1``)
``Content-Encoding: gzip``       inflated in bounded steps: 413 as soon as the output passes
                                 the max, so a 10 MB bomb never becomes 10 GB (CVE-2013-1753)
any other coding                 415
===============================  ==============================================================
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO, Any, Final

from wirekit.errors import WirekitError

__all__ = ["BodyRefused", "body_pieces", "read_body"]

_CHUNK: Final = 65536
_CODINGS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
                   "deflate": zlib.MAX_WBITS}


class BodyRefused(WirekitError):
    """The request body cannot be read: ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_body(environ: dict[str, Any], max_bytes: int) -> bytes:
    """The request body, decoded from its ``Content-Encoding``, at most ``max_bytes``."""
    return b"".join(body_pieces(environ, max_bytes))


def body_pieces(environ: dict[str, Any], max_bytes: int) -> Iterator[bytes]:
    """``read_body`` in the pieces the server hands out as they arrive, for a parser fed
    piece by piece (``BodyRefused`` comes from the first ``next()`` when the head already
    says no, and mid-way when a body without a length runs past the bound)."""
    stream: IO[bytes] = environ["wsgi.input"]
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    coding = str(environ.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
    if coding not in _CODINGS and coding != "identity":
        raise BodyRefused(415, f"unsupported Content-Encoding {coding[:40]!r} (use gzip)")
    length: int | None = None
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            raise BodyRefused(400, f"invalid Content-Length {raw[:40]!r}")
        length = int(raw)
        if length > max_bytes:
            raise BodyRefused(413, f"request body of {length} bytes is larger than "
                                   f"{max_bytes}")
    if coding != "identity":
        data = stream.read(length) if length is not None else _read_to_end(stream, max_bytes)
        yield _inflate(data, _CODINGS[coding], max_bytes)
        return
    if length is not None and length <= _CHUNK:
        yield stream.read(length) if length else b""
        return
    # read1 hands out what one receive brought, without gathering it into a buffer first
    read = getattr(stream, "read1", stream.read)
    total = 0
    while length is None or total < length:
        piece = read(_CHUNK if length is None else min(_CHUNK, length - total))
        if not piece:
            break
        total += len(piece)
        if total > max_bytes:
            raise BodyRefused(413, f"request body is larger than {max_bytes} bytes")
        yield piece


def _read_to_end(stream: IO[bytes], max_bytes: int) -> bytes:
    pieces: list[bytes] = []
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise BodyRefused(413, f"request body is larger than {max_bytes} bytes")
        pieces.append(chunk)
    return b"".join(pieces)


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise BodyRefused(400, f"the compressed body is corrupt ({exc})") from None
    if len(out) > max_bytes:
        raise BodyRefused(413, f"request body inflates to more than {max_bytes} bytes")
    if not inflater.eof:
        raise BodyRefused(400, "the compressed body is truncated")
    return out
