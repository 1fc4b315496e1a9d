"""``FramedHandler``: the simplest connection core, a reply per message.

The course's request/response servers (echo, time, a line protocol) in one method,
``handle_message(message) -> reply``, served by both drivers of ``wirekit.server.core`` like
every other core; this class makes the few decisions a message protocol needs:

* messages are cut by ``framer`` (a factory, called per connection), at most ``max_message``
  bytes each; a client that sends more gets ``on_too_large()`` and is disconnected;
* a connection silent between messages is closed after ``Timeouts.idle`` (checked lazily:
  the deadline is re-armed from the bytes counted, so a busy connection costs no timer
  operation per message; one that falls silent closes between ``idle`` and twice that);
* a message whose first byte arrived must be complete within ``Timeouts.message`` however
  it trickles in (SECURITY.md L04);
* ``close()`` ends the connection after the current reply (``QUIT``); a greeting that calls
  it answers and hangs up (the time server);
* a graceful stop closes a connection between messages at once and a busy one after its
  message; a worker being recycled still answers a connection's first message.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from wirekit.config import DEFAULT_LIMITS
from wirekit.errors import IncompleteRead, MessageTooLarge, Timeout
from wirekit.net.address import Address
from wirekit.net.framing import Framer, LineFramer, PassThroughFramer
from wirekit.server.core import ConnectionCore, Shell

__all__ = ["FramedHandler"]


class FramedHandler(ConnectionCore):
    """A message-at-a-time handler: the server cuts messages with ``framer`` and sends back
    what ``handle_message`` returns (nothing for ``None``).

    >>> class Upper(FramedHandler):
    ...     framer = LineFramer
    ...     def handle_message(self, message):
    ...         return message.upper()
    """

    framer: ClassVar[type[Framer] | Any] = LineFramer
    max_message: ClassVar[int] = DEFAULT_LIMITS.max_message
    #: A graceful stop closes a connection between messages: the blocking driver may deliver
    #: it by shutting the socket's read side (``eof_received``), at no cost per message.
    stop_by_eof: ClassVar[bool] = True

    closing: bool = False

    def __init__(self, client_address: Address, server: Any) -> None:
        super().__init__(client_address, server)
        # On the instance: read after every message, and CPython reads an instance
        # attribute faster than a class default.
        self.closing = False
        self.served = False  # answered a message (a recycling worker spares those that did not)
        self.stopping = False
        self.received = 0  # bytes, for the lazy idle deadline
        self.level = logging.INFO
        self.backlog: list[bytes] = []  # messages not answered while the client did not read
        self.eof_pending = False

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

    def close(self) -> None:
        """Close the connection once the current reply is sent (e.g. on ``QUIT``)."""
        self.closing = True

    # -- the core ---------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return self.framing.between_messages and not self.backlog and (
            self.served or not self.server.process.recycling)

    def connection_made(self, shell: Shell) -> None:
        self.shell = shell
        framing = self.framing = self.make_framer()
        self.pass_through = type(framing) is PassThroughFramer
        timeouts = self.server.timeouts
        self.idle_for: float | None = timeouts.idle
        self.message_for: float | None = timeouts.message
        self.message_started = False
        self.seen = 0  # ``received`` when the idle deadline was last armed
        if self.pass_through:
            # Every chunk is a message (echo, byte pumps): one method with nothing between
            # the driver and the handler (measured: bench/echo.py).
            self.data_received = self._chunk_received  # type: ignore[method-assign]  # fast path
        if (banner := self.greeting()) is not None:
            shell.send(banner)
        if self.closing:
            shell.close()
            return
        self._arm_idle()

    def _chunk_received(self, data: bytes) -> None:
        """``data_received`` for a pass-through framer: the chunk is the message."""
        if len(data) > self.framing.max_size:
            FramedHandler.data_received(self, data)  # cut into max-size pieces
            return
        self.received += len(data)
        reply = self.handle_message(data)
        self.served = True
        if reply is not None:
            self.shell.send(reply)
        if self.closing or self.stopping:
            self.shell.close()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        framing = self.framing
        if self.pass_through and len(data) <= framing.max_size:
            messages = [data]  # every chunk is a message (echo): no framer call
        else:
            try:
                messages = framing.feed(data)
            except MessageTooLarge as exc:
                if (last := self.on_too_large()) is not None:
                    self.shell.send(last)
                self._end(f"closed: {exc}", logging.WARNING)
                return
        self._answer(messages)

    def _answer(self, messages: list[bytes]) -> None:
        """Answer ``messages`` in order. When the client stops reading the replies (the
        driver's send buffer is full), the rest wait in ``backlog`` until it reads again: a
        chunk of many small requests with big replies cannot fill the server's memory."""
        shell, handle, framing = self.shell, self.handle_message, self.framing
        encode = None if self.pass_through else framing.encode
        for index, message in enumerate(messages):
            reply = handle(message)
            self.served = True
            if reply is not None:
                shell.send(reply if encode is None else encode(reply))
            if self.closing:
                shell.close()
                return
            if shell.writing_paused and index + 1 < len(messages):
                self.backlog = messages[index + 1:]
                return
        if self.stopping and framing.between_messages:
            shell.close()
        elif encode is not None:
            self._watch_message()

    def writable(self) -> None:
        if self.backlog:
            waiting, self.backlog = self.backlog, []
            self._answer(waiting)
        if not self.backlog and self.eof_pending:
            self.shell.close()  # the client half-closed after asking: all answered now

    def _watch_message(self) -> None:
        """A message in progress must be complete within ``Timeouts.message``; between
        messages the idle deadline applies again."""
        if self.framing.between_messages:
            if self.message_started:
                self.message_started = False
                self._arm_idle()
        elif not self.message_started and self.message_for is not None:
            self.message_started = True  # the rest must come within Timeouts.message
            self.shell.set_deadline(self.shell.now() + self.message_for)

    def eof_received(self) -> None:
        if self.backlog:  # answer what it asked first
            self.eof_pending = True
            return
        try:
            self.framing.close()  # IncompleteRead if the client stopped mid-message
        except IncompleteRead:
            self.outcome = "disconnected by the client"
        self.shell.close()

    def deadline_reached(self) -> None:
        if self.message_started:
            self._end(f"closed: {Timeout('message', self.message_for)}")  # SECURITY.md L04
        elif self.received != self.seen:
            self._arm_idle()  # bytes came since it was armed: not idle yet
        else:
            self._end("closed on idle timeout")

    def stop(self) -> None:
        self.stopping = True
        if self.idle:
            self.shell.close()

    def _arm_idle(self) -> None:
        self.seen = self.received
        if self.idle_for is not None:
            self.shell.set_deadline(self.shell.now() + self.idle_for)

    def _end(self, outcome: str, level: int = logging.INFO) -> None:
        self.outcome, self.level = outcome, level
        self.shell.abort()
