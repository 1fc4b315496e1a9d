"""``wsgi.input``: the request body as a file the application reads, streamed from the peer.

Two shapes. A body already in hand (the common small POST, or none at all) is an
``io.BytesIO``: C-speed reads and exactly the PEP 3333 file API. A body still arriving is a
``StreamedBody`` that pulls the next piece on demand from its connection, so an upload of any
size passes through in constant memory. Either way, reading past the end gives ``b""``
(PEP 3333; ``wsgiref.validate`` checks it), never a hang.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

__all__ = ["EMPTY_BODY", "StreamedBody"]


class _EmptyBody(io.BytesIO):
    """The shared body of requests without content: reads give ``b""`` (nothing to share)."""

    def write(self, data: object) -> int:
        raise io.UnsupportedOperation("wsgi.input is read-only")

    def close(self) -> None:
        """Shared by every request: an application closing its input closes nothing."""


EMPTY_BODY = _EmptyBody()


class StreamedBody:
    """A request body read from the connection as the application asks for it.

    ``pull()`` returns the next piece of content, ``b""`` once the message is complete; it
    raises if the peer breaks the framing or goes away, and the error reaches the
    application's ``read()`` (the server then knows the exchange failed because of the peer).
    """

    __slots__ = ("_buf", "_done", "_pull", "bytes_read")

    def __init__(self, pull: Callable[[], bytes]) -> None:
        self._pull = pull
        self._buf = bytearray()
        self._done = False
        self.bytes_read = 0

    def _more(self) -> bool:
        if self._done:
            return False
        piece = self._pull()
        if not piece:
            self._done = True
            return False
        self._buf += piece
        return True

    def read(self, size: int | None = -1) -> bytes:
        buf = self._buf
        want = size if size is not None and size >= 0 else None
        if want is not None and len(buf) >= want:
            return self._take(want)
        # Gather the pieces and join them once: growing the buffer and slicing it out again
        # copied a 1 MiB body three times.
        pieces = [bytes(buf)] if buf else []
        have = len(buf)
        buf.clear()
        while (want is None or have < want) and not self._done:
            piece = self._pull()
            if not piece:
                self._done = True
                break
            pieces.append(piece)
            have += len(piece)
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if want is not None and len(data) > want:
            with memoryview(data) as view:
                buf += view[want:]
            data = data[:want]
        self.bytes_read += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        """At most ``size`` bytes with at most one pull (``io.BufferedIOBase.read1``)."""
        if not self._buf:
            self._more()
        return self._take(len(self._buf) if size < 0 else size)

    def readline(self, size: int | None = -1) -> bytes:
        limit = None if size is None or size < 0 else size
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                end += 1
                break
            if limit is not None and len(self._buf) >= limit:
                end = limit
                break
            start = len(self._buf)
            if not self._more():
                end = len(self._buf)
                break
        if limit is not None:
            end = min(end, limit)
        return self._take(end)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines, total = [], 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def drain(self, limit: int) -> bool:
        """Discard what is left of the body, at most ``limit`` bytes; True if it all went
        (the connection can then carry another request)."""
        discarded = len(self._buf)
        self._buf.clear()
        while discarded <= limit and self._more():
            discarded += len(self._buf)
            self._buf.clear()
        return self._done

    def _take(self, size: int) -> bytes:
        buf = self._buf
        if size >= len(buf):
            data = bytes(buf)
            buf.clear()
        else:
            with memoryview(buf) as view:
                data = view[:size].tobytes()
            del buf[:size]
        self.bytes_read += len(data)
        return data
