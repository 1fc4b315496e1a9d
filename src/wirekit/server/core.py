"""The connection-core contract: a protocol written once, as a sans-IO core, served by
every concurrency mode through two thin drivers.

A **core** (a :class:`ConnectionCore` subclass, one instance per connection) decides
everything about its connection: what to answer, when to close, which deadline applies,
what runs off the I/O path. It never touches a socket, a thread or a clock of its own. It is
told what happened through a handful of methods::

    connection_made(shell)     the connection is up (send a greeting, arm a deadline)
    data_received(data)        bytes arrived
    eof_received()             the peer closed its sending side
    deadline_reached()         the deadline it asked for has passed
    work_done(work)            work it handed off has finished (on the I/O side again)
    writable()                 the peer reads again after the shell said "paused"
    stop()                     the server is stopping gracefully
    connection_lost()          the connection is gone (always called, once)

and answers by calling the **shell** (:class:`Shell`), the driver that owns the socket:
``send(data)``, ``run(work)`` (off the I/O path), ``set_deadline(when)``, ``start_tls()``,
``close(linger=...)``, ``abort()``. Framing is the core's own business: it gets raw bytes
and may change how it cuts them at any point (SMTP's DATA phase), with no bytes lost because
nobody else read them.

Two drivers implement the shell with the same method names (``server/drivers/``): a blocking
one (``sync``, ``threads``, ``fork``, ``prefork``; one thread per connection, work runs inline)
and an asyncio one (``async``: I/O on the event loop, work on a pool of worker threads, so a
slow application never stalls another connection). A test drives a core with a recording
shell and a fake clock: bytes and ticks in, actions out, no socket and no sleep
(``tests/server/test_core.py``).

Work (:class:`Work`) is how blocking code (a WSGI application) runs under a core: the core
hands a callable to ``shell.run``; the driver calls it with a :class:`WorkIO` (blocking
reads of the connection's further bytes, blocking writes with flow control) where blocking
is allowed, then calls ``core.work_done(work)`` back on the I/O side. While work runs the
core is the work's: the driver queues arriving bytes for ``WorkIO.recv`` and delivers no
other event until ``work_done``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from wirekit.net.address import Address
from wirekit.server.handlers import Handler

__all__ = ["ConnectionCore", "Shell", "Work", "WorkIO"]


class WorkIO(Protocol):
    """Blocking I/O for work running off the I/O path (a worker thread)."""

    def recv(self, timeout: float | None) -> bytes:
        """The next bytes from the peer, ``b""`` at EOF; ``Timeout`` after ``timeout``."""
        ...

    def send(self, data: bytes | memoryview) -> None:
        """Write ``data``; blocks while the peer does not read (up to the write timeout).
        The caller may reuse a buffer it passed once this returns (a driver that keeps
        bytes to send later copies them)."""
        ...

    @property
    def zero_copy(self) -> Callable[[Any, int, int], int] | None:
        """``zero_copy(file, offset, count) -> sent``: ``sendfile(2)`` straight to the peer
        as far as the driver can (all of it, blocking; until the socket is full, from the
        event loop's worker; nothing under TLS); None where it never can. What it did not
        send, the caller reads and sends in slices."""
        ...


class Work:
    """Something a core runs off the I/O path: ``run(io)`` is called once, where blocking is
    allowed; what it returns or raises is kept in ``result``/``error`` for ``work_done``."""

    __slots__ = ("error", "fn", "result")

    def __init__(self, fn: Callable[[WorkIO], Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None

    def __call__(self, io: WorkIO) -> None:
        try:
            self.result = self.fn(io)
        except BaseException as exc:  # handed back to the core, which decides what it means
            self.error = exc


class Shell(Protocol):
    """What a core may ask of the driver that serves it. Every call returns at once."""

    #: True while the peer does not read what was sent (the asyncio driver's flow control);
    #: ``writable()`` follows when it reads again.
    writing_paused: bool

    def now(self) -> float:
        """The driver's monotonic clock (seconds), for deadlines."""
        ...

    def send(self, data: bytes) -> None: ...

    def run(self, work: Work) -> None:
        """Run ``work`` off the I/O path; ``core.work_done(work)`` follows on the I/O side."""
        ...

    def set_deadline(self, when: float | None) -> None:
        """Call ``core.deadline_reached()`` once ``now() >= when`` (None: no deadline)."""
        ...

    def start_tls(self) -> None:
        """Upgrade the connection to TLS with the server's context (STARTTLS); bytes that
        arrive before the handshake would be the peer's injection and must have been
        dropped by the core."""
        ...

    def close(self, linger: float = 0.0) -> None:
        """Close once everything sent is out. ``linger`` > 0: shut the sending side first
        and drop what the peer still sends for up to that long, so a peer still sending
        reads our error response instead of a reset (Apache's lingering close)."""
        ...

    def abort(self) -> None:
        """Close now, discarding anything not yet sent."""
        ...


class ConnectionCore(Handler):
    """The base of sans-IO connection cores; see the module docstring for the contract.

    ``client_address`` and ``server`` are set as for every handler (the server holds the
    configuration the core reads). ``outcome`` is the words of the connection's log line.
    """

    #: What a connection refused because the server is full is sent before it is closed
    #: (HTTP: a 503); None closes it silently.
    overload_response: ClassVar[bytes | None] = None

    shell: Shell
    outcome: str = "closed"
    level: int = logging.INFO  # of the connection's log line
    served: bool = False  # answered something (a recycling worker still serves the rest)

    def __init__(self, client_address: Address, server: Any) -> None:
        super().__init__(client_address, server)

    @property
    def idle(self) -> bool:
        """Nothing in flight: closing now loses nothing (evicted first when full)."""
        return False

    def connection_made(self, shell: Shell) -> None:
        self.shell = shell

    def data_received(self, data: bytes) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def eof_received(self) -> None:
        self.shell.close()

    def deadline_reached(self) -> None:
        self.outcome = "closed on idle timeout"
        self.shell.abort()

    def work_done(self, work: Work) -> None:
        """Work handed to ``shell.run`` finished; re-raises its error by default."""
        if work.error is not None:
            raise work.error

    def writable(self) -> None:
        """The peer reads again (after the driver paused on a full send buffer)."""

    def stop(self) -> None:
        """A graceful stop: by default close if idle, else after what is in flight."""
        if self.idle:
            self.shell.close()

    def connection_lost(self) -> None:
        """The connection is gone; release what the core holds."""
