"""One receive buffer that solves partial reads once (course slides 1-29..1-33).

Bytes arrive in arbitrary pieces; messages are cut out of the buffer by count or by delimiter.
Every delimited read has a limit, and a delimiter search resumes where the last one stopped, so
feeding a long line byte by byte stays linear rather than rescanning the whole buffer each time.
The buffer does no I/O: sockets, asyncio streams, framers and the protocol cores all drive
it. It lives with the cores (``proto``) so that every core, from the HTTP connection to the
PROXY header reader, keeps its bytes in this one kind of buffer; parsers that scan in place
(the HTTP head finder, the body readers) work on its ``data`` directly.
"""

from __future__ import annotations

from wirekit.errors import MessageTooLarge

__all__ = ["ReceiveBuffer"]


class ReceiveBuffer:
    """Accumulates received bytes and hands out whole pieces of them."""

    __slots__ = ("_scan_from", "data")

    def __init__(self) -> None:
        #: The buffered bytes. In-place parsers may search it and ``del`` what they consumed
        #: from the front; it stays the same object for the buffer's life.
        self.data = bytearray()
        self._scan_from = 0  # where the next delimiter search may start

    def feed(self, data: bytes) -> None:
        self.data += data

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def peek(self) -> bytes:
        return bytes(self.data)

    def take_all(self) -> bytes:
        data = bytes(self.data)
        self.data.clear()
        self._scan_from = 0
        return data

    def take(self, n: int) -> bytes:
        """Up to ``n`` bytes from the front (fewer if fewer are buffered)."""
        data = bytes(self.data[:n])
        del self.data[:n]
        self._scan_from = 0
        return data

    def read_exact(self, n: int) -> bytes | None:
        """Exactly ``n`` bytes, or ``None`` if fewer are buffered so far."""
        if len(self.data) < n:
            return None
        return self.take(n)

    def read_until(self, delimiter: bytes, limit: int, *, keep: bool = True) -> bytes | None:
        """Bytes up to and including ``delimiter`` (without it if ``keep=False``).

        Returns ``None`` while the delimiter has not arrived. Raises :class:`MessageTooLarge`
        once more than ``limit`` bytes are buffered without one (the limit counts the message
        without its delimiter).
        """
        start = max(0, self._scan_from - len(delimiter) + 1)
        index = self.data.find(delimiter, start, limit + len(delimiter))
        if index < 0:
            if len(self.data) > limit + len(delimiter) - 1:
                raise MessageTooLarge(
                    f"no {delimiter!r} within {limit} bytes", limit="max_message"
                )
            self._scan_from = len(self.data)
            return None
        end = index + len(delimiter)
        message = bytes(self.data[: end if keep else index])
        del self.data[:end]
        self._scan_from = 0
        return message

    def read_line(self, limit: int, *, keep: bool = True) -> bytes | None:
        """A line ending in LF (CRLF included), as :meth:`read_until` with ``b"\\n"``."""
        return self.read_until(b"\n", limit, keep=keep)
