"""Handler contracts: write the protocol once, serve it with any concurrency.

The course's SocketServer idea (slides 5-4..5-11) kept, its traps removed: a handler is a small
class whose ``handle()`` talks to one client; the :class:`~wirekit.server.Server` decides how
many run at once and where. Four shapes cover what servers need:

* :class:`StreamHandler`: blocking ``handle()`` over ``self.stream`` (a :class:`Stream`);
  runs under ``sync``, ``threads``, ``fork`` and ``prefork``.
* :class:`AsyncStreamHandler`: ``async def handle()`` over ``self.stream``
  (an :class:`AsyncStream`); runs under ``async`` (and ``prefork`` with async workers).
* :class:`~wirekit.server.framed.FramedHandler`: ``handle_message(message) -> reply`` for
  message protocols; a connection core (``server/framed.py``), so it runs under every mode,
  and under ``async`` straight from the event loop's data callback.
* :class:`DatagramHandler`: one datagram and its sender; ``reply()`` answers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wirekit.net.address import Address

if TYPE_CHECKING:
    from wirekit.net.aio import AsyncStream
    from wirekit.net.stream import Stream

__all__ = [
    "AsyncStreamHandler",
    "DatagramHandler",
    "Handler",
    "StreamHandler",
]


class Handler:
    """What every handler has: the client's address and the server that accepted it."""

    def __init__(self, client_address: Address, server: Any) -> None:
        self.client_address = client_address
        self.server = server

    def setup(self) -> None:
        """Runs before ``handle()``; override to prepare per-connection state."""

    def finish(self) -> None:
        """Runs after ``handle()``, even when it raised; override to release resources."""


class StreamHandler(Handler):
    """A blocking handler for one connection. Return from ``handle()`` to close it.

    >>> class Echo(StreamHandler):
    ...     def handle(self):
    ...         for line in self.stream:
    ...             self.stream.sendall(line)
    """

    stream: Stream

    def handle(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class AsyncStreamHandler(Handler):
    """An asyncio handler for one connection.

    >>> class Echo(AsyncStreamHandler):
    ...     async def handle(self):
    ...         while data := await self.stream.recv():
    ...             await self.stream.sendall(data)
    """

    stream: AsyncStream

    async def handle(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class DatagramHandler(Handler):
    """Handles one datagram: ``self.data`` from ``self.client_address``.

    >>> class Echo(DatagramHandler):
    ...     def handle(self):
    ...         self.reply(self.data)
    """

    data: bytes

    def __init__(self, data: bytes, client_address: Address, server: Any, reply: Any) -> None:
        super().__init__(client_address, server)
        self.data = data
        self._reply = reply

    def reply(self, data: bytes) -> None:
        """Send ``data`` back to the sender of this datagram."""
        self._reply(data, self.client_address)

    def handle(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
