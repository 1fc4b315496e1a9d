"""``wsgi.file_wrapper``: files an application returns are sent with ``sendfile(2)``.

PEP 3333's optional extension: the application returns ``environ["wsgi.file_wrapper"](f)``
and the server sends the file. Like gunicorn, wirekit sends from the file object's *current
position* and for the response's ``Content-Length`` bytes (the server adds the length when
the application gave none), so an application serving a range seeks to its start and
announces the range's length. Anything that is not a real file is iterated in blocks.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import IO

__all__ = ["FileWrapper"]


class FileWrapper:
    """An iterable over ``filelike`` in ``blksize`` blocks, which the server may bypass."""

    def __init__(self, filelike: IO[bytes], blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read, size = self.filelike.read, self.blksize
        while block := read(size):
            yield block

    def sendable(self) -> tuple[int, int] | None:
        """``(offset, bytes to the end)`` when this is a regular file the kernel can send."""
        try:
            fd = self.filelike.fileno()
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None
            offset = self.filelike.tell()
        except (AttributeError, OSError, ValueError):
            return None
        return offset, max(info.st_size - offset, 0)
