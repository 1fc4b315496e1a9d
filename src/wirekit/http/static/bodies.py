"""Response bodies read from an open file: one byte range, or several as multipart/byteranges.

:class:`FileBody` is what goes to ``environ["wsgi.file_wrapper"]``. The contract wirekit's
server shares with gunicorn is that the wrapped object's ``fileno()`` is ``sendfile()``\\ d from
its *current* position for exactly ``Content-Length`` bytes; so a range is served by seeking to
its first byte. A server without ``sendfile`` iterates the wrapper instead, which calls
:meth:`FileBody.read`, and that stops at the end of the range, so no server can send a byte
past it. Both classes own their file descriptor and close it in ``close()`` (which PEP 3333
servers call), even when the body was never iterated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["BLOCK_SIZE", "FileBody", "MultipartBody", "multipart_layout"]

#: Read size when a body is copied through Python rather than sent with ``sendfile``.
BLOCK_SIZE = 256 * 1024


class FileBody:
    """``length`` bytes of the open file ``fd`` from ``offset``: a file-like WSGI body."""

    __slots__ = ("_fd", "_left", "mode")

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self._fd = fd
        self._left = length
        self.mode = "rb"  # socket.sendfile() checks for binary mode
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)

    def fileno(self) -> int:
        return self._fd

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def read(self, size: int = -1) -> bytes:
        """Read at most ``size`` bytes (all that is left when negative), never past the range."""
        want = self._left if size < 0 else min(size, self._left)
        if want <= 0 or self._fd < 0:
            return b""
        data = os.read(self._fd, want)
        self._left = self._left - len(data) if data else 0
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(BLOCK_SIZE):
            yield chunk

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __del__(self) -> None:  # a server that forgets close() must not leak descriptors
        self.close()


def multipart_layout(ranges: list[tuple[int, int]], size: int, content_type: str,
                     boundary: str) -> tuple[list[tuple[bytes, int, int]], bytes, int]:
    """Part headers, closing delimiter and exact ``Content-Length`` of a byteranges body.

    Each part is ``--boundary``, its ``Content-Type`` and ``Content-Range``, a blank line, the
    bytes, and CRLF (which belongs to the next delimiter, RFC 2046 §5.1.1); RFC 9110 §14.6.
    """
    parts = []
    total = 0
    for start, end in ranges:
        head = (f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n").encode("latin-1")
        parts.append((head, start, end))
        total += len(head) + (end - start + 1) + 2
    closing = f"--{boundary}--\r\n".encode("latin-1")
    return parts, closing, total + len(closing)


class MultipartBody:
    """The multipart/byteranges body for ``parts`` from :func:`multipart_layout`."""

    __slots__ = ("_closing", "_fd", "_parts")

    def __init__(self, fd: int, parts: list[tuple[bytes, int, int]], closing: bytes) -> None:
        self._fd = fd
        self._parts = parts
        self._closing = closing

    def __iter__(self) -> Iterator[bytes]:
        for head, start, end in self._parts:
            yield head
            position = start
            while position <= end and self._fd >= 0:
                chunk = os.pread(self._fd, min(BLOCK_SIZE, end - position + 1), position)
                if not chunk:
                    return  # the file shrank: end short, the server sees the missing bytes
                position += len(chunk)
                yield chunk
            yield b"\r\n"
        yield self._closing

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __del__(self) -> None:
        self.close()
