"""Where data comes from: a path, an open file, a streamed response body, or bytes in memory.

Every reader in ``wirekit.data`` takes a *source* and opens it here, so each one accepts the same
things and streams them the same way:

* a path (``str`` or ``os.PathLike``): opened, read in chunks and closed again;
* a binary file object (an open file, ``http.client.HTTPResponse``, ``urlopen()``'s result,
  wirekit's own HTTP ``Response``, any object with a ``read(n)`` method): read in chunks with
  ``read1`` when it has it (so a network stream hands over what has arrived instead of
  blocking for a full chunk) and left open: the caller owns it. Only ``read`` is required:
  an object that is not an :class:`io.IOBase` (no ``readable()``, ``readinto()``...) is
  wrapped in a buffered reader that calls nothing else;
* an iterable of ``bytes`` chunks (a generator, a streamed HTTP body): joined as it is read.

Content already in memory goes to the ``*_string`` / ``from*`` / ``loads`` functions instead,
so a ``str`` is never guessed to be either a file name or a document.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeAlias, cast

from wirekit.errors import ConfigError, MessageTooLarge

__all__ = ["Source", "chunk_reader", "open_binary", "open_text", "read_capped"]

# Reads of 256 KiB keep system calls few without holding much at once.
READ_SIZE = 256 * 1024

Source: TypeAlias = "str | os.PathLike[str] | IO[bytes] | Iterable[bytes]"


class _ChunkStream(io.RawIOBase):
    """A read-only raw stream over an iterator of ``bytes`` chunks (a streamed body)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _next_chunk(self, size: int) -> object:
        """The next piece (an empty one is skipped), or None at the end."""
        return next(self._chunks, None)

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            chunk = self._next_chunk(len(buffer))
            if chunk is None:
                return 0
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise ConfigError(f"a data source must give bytes, got {type(chunk).__name__}")
            self._rest = memoryview(chunk).cast("B")
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


class _ReadStream(_ChunkStream):
    """A raw stream over anything with ``read(n)`` (``read1(n)`` preferred when present).

    wirekit's HTTP ``Response`` and many third-party bodies are file-like without being
    :class:`io.IOBase`: ``io.TextIOWrapper`` and the readers' ``readline`` would fail on them.
    A ``read`` returning more than asked is tolerated (the rest is kept for the next call).
    """

    def __init__(self, read: Callable[[int], object]) -> None:
        super().__init__(())
        self._read = read

    def _next_chunk(self, size: int) -> object:
        chunk = self._read(max(size, 1))
        return None if chunk == b"" else chunk  # read() gives b"" only at the end


def _encoded(text: object) -> object:
    if not isinstance(text, str):
        raise ConfigError(f"a text source must give str, got {type(text).__name__}")
    return text.encode("utf-8", "surrogatepass")


def _buffered(raw: io.RawIOBase) -> IO[bytes]:
    return io.BufferedReader(raw, buffer_size=64 * 1024)


@contextmanager
def open_binary(source: Source) -> Iterator[IO[bytes]]:
    """Yield a binary stream for ``source``; close it afterwards only if it was opened here."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            yield file
    elif isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
    elif hasattr(source, "read"):
        if isinstance(source.read(0), str):
            raise ConfigError("expected a binary stream, got a text stream (open it with 'rb')")
        if isinstance(source, io.IOBase):
            yield cast("IO[bytes]", source)  # a real file object, and read(0) was not a str
        else:
            yield _buffered(_ReadStream(getattr(source, "read1", None) or source.read))
    elif isinstance(source, Iterable):
        yield _buffered(_ChunkStream(source))
    else:
        raise ConfigError(f"cannot read data from a {type(source).__name__}")


@contextmanager
def open_text(source: Source | IO[str], encoding: str = "utf-8-sig") -> Iterator[IO[str]]:
    """Yield a text stream with universal newlines off (``newline=""``, as ``csv`` needs).

    A text file object is used as is; anything binary is decoded with ``encoding``. The default
    ``utf-8-sig`` drops the byte-order mark spreadsheets like to write.
    """
    if hasattr(source, "read") and isinstance(source.read(0), str):
        if isinstance(source, io.TextIOBase):
            yield cast("IO[str]", source)  # a real text file
            return
        read = source.read  # a duck-typed text reader: its text re-encoded, read as UTF-8
        source, encoding = _buffered(_ReadStream(lambda n: _encoded(read(n)))), "utf-8"
    with open_binary(cast(Source, source)) as binary:  # a text stream was yielded above
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        try:
            yield text
        finally:
            text.detach()  # leave the caller's stream open: closing is open_binary's business


def chunk_reader(stream: IO[bytes]) -> Callable[[int], bytes]:
    """``read1`` when the stream has one (returns what has arrived), else ``read``."""
    return getattr(stream, "read1", None) or stream.read


def read_capped(source: Source, max_bytes: int | None, what: str = "document",
                limit: str = "max_bytes") -> bytes:
    """Read all of ``source``, refusing more than ``max_bytes`` before holding it all."""
    parts: list[bytes] = []
    total = 0
    with open_binary(source) as stream:
        read = chunk_reader(stream)
        while chunk := read(READ_SIZE):
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise MessageTooLarge(f"{what} is larger than {max_bytes} bytes", limit=limit)
            parts.append(chunk)
    return b"".join(parts)
