"""Handler contracts: write the protocol once, serve it with any concurrency.

The course's SocketServer idea (slides 5-4..5-11) kept, its traps removed: a handler is a small
class whose ``handle()`` talks to one client; the :class:`~wirekit.server.Server` decides how
many run at once and where. Four shapes cover what servers need:

* :class:`StreamHandler`: blocking ``handle()`` over ``self.stream`` (a :class:`Stream`);
  runs under ``sync``, ``threads``, ``fork`` and ``prefork``.
* :class:`AsyncStreamHandler`: ``async def handle()`` over ``self.stream``
  (an :class:`AsyncStream`); runs under ``async`` (and ``prefork`` with async workers).
* :class:`FramedHandler`: ``handle_message(message) -> reply`` for message protocols; runs
  under every mode, and under ``async`` straight from the event loop's data callback with no
  task switch, which is what makes it fast.
* :class:`DatagramHandler`: one datagram and its sender; ``reply()`` answers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from wirekit.config import DEFAULT_LIMITS
from wirekit.net.address import Address
from wirekit.net.framing import Framer, LineFramer

if TYPE_CHECKING:
    from wirekit.net.aio import AsyncStream
    from wirekit.net.stream import Stream

__all__ = [
    "AsyncStreamHandler",
    "DatagramHandler",
    "FramedHandler",
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


class FramedHandler(Handler):
    """A message-at-a-time handler: the server cuts messages with ``framer`` (a factory,
    called once per connection, so each connection has its own buffer) and sends back what
    ``handle_message`` returns (nothing for ``None``).

    ``max_message`` bounds one message (default ``Limits.max_message``); a client that sends
    more is disconnected with a log line (and ``on_too_large()`` may send a last word first).

    >>> class Upper(FramedHandler):
    ...     framer = LineFramer
    ...     def handle_message(self, message):
    ...         return message.upper()
    """

    framer: ClassVar[type[Framer] | Any] = LineFramer
    max_message: ClassVar[int] = DEFAULT_LIMITS.max_message

    def make_framer(self) -> Framer:
        return self.framer(max_size=self.max_message)

    def handle_message(self, message: bytes) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def greeting(self) -> bytes | None:
        """Bytes sent as soon as the client connects (a banner such as SMTP's ``220``);
        call :meth:`close` here for a protocol that answers and hangs up (the time server)."""
        return None

    def on_too_large(self) -> bytes | None:
        """The reply sent before disconnecting a client whose message is too large."""
        return None

    closing: bool = False

    def __init__(self, client_address: Address, server: Any) -> None:
        super().__init__(client_address, server)
        # On the instance too: the serving loops read it after every message, and CPython
        # 3.11 reads an instance attribute faster than a class default.
        self.closing = False

    def close(self) -> None:
        """Close the connection once the current reply is sent (e.g. on ``QUIT``)."""
        self.closing = True


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
