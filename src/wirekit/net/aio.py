"""``AsyncStream``: the :class:`Stream` API for asyncio, on a lean ``asyncio.Protocol``.

asyncio's own StreamReader/StreamWriter allocate and schedule more than an echo-style server can
afford; this stream keeps one :class:`ReceiveBuffer`, wakes a waiting reader with one future,
and writes straight to the transport (awaiting only when the transport asks us to pause).
Per-call ``timeout=`` is available; by default a connection is bounded by one lazily re-armed
idle timer instead of a timer per read, which is what keeps the hot path cheap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConnectionClosed, IncompleteRead, Timeout
from wirekit.net.address import Address
from wirekit.net.framing import Framer
from wirekit.proto.buffer import ReceiveBuffer

__all__ = ["AsyncStream", "IdleTimer", "StreamProtocol"]

_HIGH_WATER = 256 * 1024  # pause reading when this much is buffered and unread


class IdleTimer:
    """Calls ``on_expire`` once nothing happened for ``idle`` seconds.

    One timer per connection, re-armed lazily: activity only sets ``touched``, and the timer,
    when it fires, re-arms itself for the remaining time. A timer per read would cost a heap
    operation (and in asyncio, a Python object) on every message. With ``progress`` (a
    counter the owner keeps anyway, such as bytes received) the hot path does not even set
    the flag: the timer compares the counter when it fires.
    """

    __slots__ = ("_handle", "_idle", "_last", "_loop", "_on_expire", "_progress", "_seen",
                 "touched")

    def __init__(self, idle: float, on_expire: Any,
                 progress: Callable[[], int] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = idle
        self._on_expire = on_expire
        self._progress = progress
        self._seen = progress() if progress is not None else 0
        self._last = self._loop.time()
        self.touched = False
        self._handle = self._loop.call_later(idle, self._fire)

    def _fire(self) -> None:
        now = self._loop.time()
        if self._progress is not None and (seen := self._progress()) != self._seen:
            self._seen = seen
            self.touched = True
        if self.touched:
            self.touched = False
            self._last = now
        remaining = self._last + self._idle - now
        if remaining > 0:
            self._handle = self._loop.call_later(remaining, self._fire)
        else:
            self._on_expire()

    def cancel(self) -> None:
        self._handle.cancel()


class StreamProtocol(asyncio.Protocol):
    """Buffers received bytes for an :class:`AsyncStream`; flow control in both directions."""

    def __init__(self, idle: float | None = None) -> None:
        self.buffer = ReceiveBuffer()
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.lost: BaseException | None = None
        self.idle = idle
        self.bytes_received = 0
        self.idle_timer: IdleTimer | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused_writing = False
        self._paused_reading = False
        self.timed_out = False

    # -- asyncio callbacks ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream connection's transport (connect/accept, TLS or not) is a full Transport.
        self.transport = cast(asyncio.Transport, transport)
        if self.idle is not None:
            self.idle_timer = IdleTimer(self.idle, self._on_idle)

    def data_received(self, data: bytes) -> None:
        self.buffer.feed(data)
        self.bytes_received += len(data)
        if self.idle_timer is not None:
            self.idle_timer.touched = True
        if len(self.buffer) > _HIGH_WATER and not self._paused_reading:
            self._paused_reading = True
            transport = self.transport
            assert transport is not None  # data arrives only after connection_made()
            transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return True  # keep the transport open: we may still answer a half-closed client

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = True
        self.lost = exc or ConnectionClosed("connection closed")
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self._wake()
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self._drain_waiter and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # -- used by AsyncStream ---------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_idle(self) -> None:
        self.timed_out = True
        if self.transport is not None:
            self.transport.abort()

    async def wait_readable(self) -> None:
        if self._paused_reading:
            self._paused_reading = False
            transport = self.transport
            assert transport is not None  # reading was paused in data_received()
            transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def drain(self) -> None:
        if self.lost is not None:
            raise ConnectionClosed("connection closed while sending")
        if self._paused_writing:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter
            if self.lost is not None:
                raise ConnectionClosed("connection closed while sending")


class AsyncStream:
    """An asyncio byte stream with bounded reads; the async twin of :class:`Stream`."""

    def __init__(self, protocol: StreamProtocol, *, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.protocol = protocol
        transport = protocol.transport
        assert transport is not None, "an AsyncStream wraps a connected StreamProtocol"
        self.transport: asyncio.Transport = transport
        self.timeouts = timeouts
        self.limits = limits
        self.buffer = protocol.buffer
        self.bytes_sent = 0

    @property
    def bytes_received(self) -> int:
        return self.protocol.bytes_received

    @property
    def peer(self) -> Address:
        sock = self.transport.get_extra_info("socket")
        return Address.from_sockaddr(sock.family, self.transport.get_extra_info("peername"))

    @property
    def local(self) -> Address:
        sock = self.transport.get_extra_info("socket")
        return Address.from_sockaddr(sock.family, self.transport.get_extra_info("sockname"))

    # -- reading --------------------------------------------------------------------------
    async def _fill(self, timeout: float | None) -> bool:
        """Wait for more bytes; ``False`` at end of stream."""
        protocol = self.protocol
        if protocol.eof:
            if protocol.timed_out:
                raise Timeout("read (idle)", protocol.idle)
            return False
        if timeout is None:
            await protocol.wait_readable()
        else:
            try:
                async with asyncio.timeout(timeout):
                    await protocol.wait_readable()
            except TimeoutError:
                raise Timeout("read", timeout) from None
        if protocol.timed_out:
            raise Timeout("read (idle)", protocol.idle)
        return True

    async def recv(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        """What is available, up to ``max_bytes``; ``b""`` once the peer has closed."""
        while not self.buffer:
            if not await self._fill(timeout):
                return b""
        return self.buffer.take(max_bytes)

    async def recv_exactly(self, n: int, timeout: float | None = None) -> bytes:
        while (data := self.buffer.read_exact(n)) is None:
            if not await self._fill(timeout):
                raise IncompleteRead(self.buffer.take_all(), n, "message")
        return data

    async def recv_until(self, delimiter: bytes, limit: int | None = None,
                         timeout: float | None = None, *, keep: bool = True) -> bytes:
        limit = self.limits.max_message if limit is None else limit
        while (data := self.buffer.read_until(delimiter, limit, keep=keep)) is None:
            if not await self._fill(timeout):
                what = f"{delimiter!r}-delimited message"
                raise IncompleteRead(self.buffer.take_all(), None, what)
        return data

    async def readline(self, limit: int | None = None, timeout: float | None = None) -> bytes:
        limit = self.limits.max_line if limit is None else limit
        while (line := self.buffer.read_line(limit)) is None:
            if not await self._fill(timeout):
                return self.buffer.take_all()
        return line

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while line := await self.readline():
            yield line

    async def read_message(self, framer: Framer, timeout: float | None = None) -> bytes | None:
        """The next message cut by ``framer`` (``None`` on a clean close); bytes after it stay
        in the stream for the next read, whatever reads it (see ``Framer.cut_from``)."""
        buffer = self.buffer
        while (message := framer.cut_from(buffer)) is None:
            if not await self._fill(timeout):
                framer.close_from(buffer)
                return None
        return message

    # -- writing --------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Queue ``data`` without waiting (the transport buffers it)."""
        self.transport.write(data)
        self.bytes_sent += len(data)

    async def sendall(self, data: bytes) -> None:
        """Write and, only if the transport is above its high-water mark, wait for it."""
        self.transport.write(data)
        self.bytes_sent += len(data)
        if self.protocol.idle_timer is not None:
            self.protocol.idle_timer.touched = True
        if self.protocol._paused_writing or self.protocol.lost is not None:
            await self.protocol.drain()

    async def send_message(self, framer: Framer, message: bytes) -> None:
        await self.sendall(framer.encode(message))

    def shutdown(self, how: str = "write") -> None:
        if how == "write" and self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        self.transport.abort()

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)
