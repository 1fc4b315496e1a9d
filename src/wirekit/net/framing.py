"""Sans-IO message framers: feed bytes, get whole messages.

TCP delivers a byte stream, not messages (course slide 1-31): a message has to be marked off by
a delimiter or a length prefix. A framer is that rule as an object with no I/O, so the blocking
``Stream``, the asyncio handlers and the tests all use the same code:

>>> framer = LineFramer(max_size=100)
>>> framer.feed(b"hel")
[]
>>> framer.feed(b"lo\\nwor")
[b'hello']
>>> framer.encode(b"world")
b'world\\n'

Every framer has a maximum message size and raises :class:`MessageTooLarge` as soon as a message
is known to exceed it, before buffering it (a length prefix is checked before its payload
arrives). :meth:`Framer.close` reports a message cut short by the peer closing.
"""

from __future__ import annotations

import struct
from collections import deque

from wirekit.config import DEFAULT_LIMITS
from wirekit.errors import ConfigError, IncompleteRead, LocalProtocolError, MessageTooLarge
from wirekit.proto.buffer import ReceiveBuffer

__all__ = ["DelimiterFramer", "Framer", "LengthPrefixFramer", "LineFramer", "PassThroughFramer"]


class Framer:
    """Base class: a buffer plus a rule for where one message ends."""

    def __init__(self, max_size: int = DEFAULT_LIMITS.max_message) -> None:
        if max_size <= 0:
            raise ConfigError(f"max_size must be > 0, got {max_size}")
        self.max_size = max_size
        self.buffer = ReceiveBuffer()
        # Messages already cut but not yet handed out (a reader took one of several).
        self.ready: deque[bytes] = deque()

    def take(self, data: bytes) -> bytes | None:
        """For readers: feed ``data`` and return the first complete message, keeping any
        further ones in ``ready`` for the next call."""
        if self.ready:
            self.buffer.feed(data)
            return self.ready.popleft()
        messages = self.feed(data)
        if not messages:
            return None
        self.ready.extend(messages[1:])
        return messages[0]

    def pop_ready(self) -> bytes | None:
        """The next message already cut from received bytes, if any."""
        if self.ready:
            return self.ready.popleft()
        return self.next_message()

    def cut_from(self, buffer: ReceiveBuffer) -> bytes | None:
        """The next message from a stream's ``buffer``, the bytes after it left there.

        This is how a stream reads with a framer: what follows the message belongs to the
        stream, so the next read may use another framer, or none, and lose nothing."""
        message = self.pop_ready()  # cut earlier by a caller that fed this framer itself
        if message is not None:
            return message
        own = self.buffer
        if own:  # bytes fed to this framer elsewhere come first
            buffer.data[:0] = own.data
            own.data.clear()
        self.buffer = buffer
        try:
            return self.next_message()
        finally:
            self.buffer = own

    def close_from(self, buffer: ReceiveBuffer) -> None:
        """The peer closed a stream read with :meth:`cut_from`: :meth:`close` on its buffer."""
        own, self.buffer = self.buffer, buffer
        try:
            self.close()
        finally:
            self.buffer = own

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every message now complete (possibly none)."""
        self.buffer.feed(data)
        messages = []
        while (message := self.next_message()) is not None:
            messages.append(message)
        return messages

    def next_message(self) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, message: bytes) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def pending(self) -> int:
        """Bytes of an unfinished message held in the buffer."""
        return len(self.buffer)

    @property
    def between_messages(self) -> bool:
        """True when no part of a message has arrived (nothing would be lost by closing)."""
        return not self.buffer and not self.ready

    def close(self) -> None:
        """The peer closed: raise :class:`IncompleteRead` if a message was cut short."""
        self.ready.clear()
        if self.buffer:
            raise IncompleteRead(self.buffer.take_all(), self._expected(), "message")

    def _expected(self) -> int | None:
        return None


class DelimiterFramer(Framer):
    """Messages end with ``delimiter`` (which is stripped from what :meth:`feed` returns)."""

    def __init__(self, delimiter: bytes, max_size: int = DEFAULT_LIMITS.max_message) -> None:
        if not delimiter:
            raise ConfigError("the delimiter must not be empty")
        super().__init__(max_size)
        self.delimiter = delimiter

    def next_message(self) -> bytes | None:
        return self.buffer.read_until(self.delimiter, self.max_size, keep=False)

    def encode(self, message: bytes) -> bytes:
        if self.delimiter in message:
            raise LocalProtocolError(f"message contains the delimiter {self.delimiter!r}")
        if len(message) > self.max_size:
            raise MessageTooLarge(f"message of {len(message)} bytes > {self.max_size}")
        return message + self.delimiter


class LineFramer(DelimiterFramer):
    """Text lines ending in LF; a CR before the LF is removed too (CRLF protocols)."""

    def __init__(self, max_size: int = DEFAULT_LIMITS.max_line) -> None:
        super().__init__(b"\n", max_size)

    def next_message(self) -> bytes | None:
        line = self.buffer.read_until(b"\n", self.max_size, keep=False)
        if line is not None and line.endswith(b"\r"):
            return line[:-1]
        return line


class LengthPrefixFramer(Framer):
    """Messages preceded by their length as a big-endian unsigned integer (4 bytes default)."""

    _FORMATS = {1: "!B", 2: "!H", 4: "!I", 8: "!Q"}

    def __init__(self, max_size: int = DEFAULT_LIMITS.max_message, prefix_size: int = 4) -> None:
        if prefix_size not in self._FORMATS:
            raise ConfigError(f"prefix_size must be 1, 2, 4 or 8, got {prefix_size}")
        super().__init__(max_size)
        self._struct = struct.Struct(self._FORMATS[prefix_size])

    def next_message(self) -> bytes | None:
        # Nothing is consumed until the whole frame is there, so the bytes of a frame still
        # arriving stay in the buffer (a stream reading with several framers loses nothing).
        data = self.buffer.data
        size = self._struct.size
        if len(data) < size:
            return None
        (length,) = self._struct.unpack_from(data)
        if length > self.max_size:
            # Refuse before buffering a byte of the payload (SECURITY.md R01).
            raise MessageTooLarge(f"frame announces {length} bytes > maximum {self.max_size}")
        end = size + length
        if len(data) < end:
            return None
        message = bytes(data[size:end])
        del data[:end]
        return message

    def encode(self, message: bytes) -> bytes:
        if len(message) > self.max_size:
            raise MessageTooLarge(f"message of {len(message)} bytes > {self.max_size}")
        return self._struct.pack(len(message)) + message

    def close(self) -> None:
        self.ready.clear()
        if self.buffer:
            data = self.buffer.data
            size = self._struct.size
            if len(data) >= size:
                expected, what = self._struct.unpack_from(data)[0], "frame"
                received = self.buffer.take_all()[size:]
            else:
                expected, what, received = size, "length prefix", self.buffer.take_all()
            raise IncompleteRead(received, expected, what)


class PassThroughFramer(Framer):
    """No framing: every chunk that arrives is a message (echo, proxies, byte pumps).

    The maximum still applies: a chunk larger than ``max_size`` is handed out in pieces.
    """

    def feed(self, data: bytes) -> list[bytes]:
        if self.buffer:
            data = self.buffer.take_all() + data
        if not data:
            return []
        if len(data) <= self.max_size:
            return [data]  # the common case: the chunk itself, not a copy
        return [data[i : i + self.max_size] for i in range(0, len(data), self.max_size)]

    def next_message(self) -> bytes | None:
        return self.buffer.take(self.max_size) if self.buffer else None

    def encode(self, message: bytes) -> bytes:
        return message
