"""``ServingProcess``: what one process keeps while it serves, apart from the configuration.

A :class:`~wirekit.server.Server` is configuration (handler, mode, policy, TLS, timeouts,
limits, the bound socket) that every process shares and nobody changes once serving starts.
What belongs to the one process that runs it lives here: its stop request (an Event, a flag
cheap enough for hot loops, a file descriptor for blocking drivers to ``select`` on), the
waker of its accept loop, the registry of its open connections, its connection budget and
its heartbeat. The server makes one for itself; each process a mode forks makes its own
(``Prefork`` workers with their heartbeat, budget and own listener; a ``Fork`` child with
nothing but a stop), so a child never patches state it inherited.

Every wait is on an Event, the waker or the stop descriptor: nothing here sleeps to poll.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable

from wirekit.net.listener import Listener
from wirekit.server.waker import Waker

__all__ = ["OpenConnection", "ServingProcess"]


class OpenConnection:
    """A connection in the registry, as a blocking driver serves it. ``idle``: it waits
    between messages (a graceful stop may close its read side at once); ``served``: it has
    answered something (a recycling worker still serves one that has not)."""

    __slots__ = ("idle", "served", "socket")

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock
        self.idle = False
        self.served = False


class ServingProcess:
    """The life of one serving process; see the module docstring.

    ``on_heartbeat`` is called at least once a tick by the accept loops and drains,
    ``on_retire`` when the connection budget is spent (before the process stops accepting),
    ``on_count(n)`` whenever the number of open connections changes: a prefork worker
    reports to its master through them.
    """

    def __init__(
        self,
        listener: Listener | None,
        *,
        tick_interval: float = 1.0,
        connection_budget: int | None = None,
        on_heartbeat: Callable[[], None] | None = None,
        on_retire: Callable[[], None] | None = None,
        on_count: Callable[[int], None] | None = None,
    ) -> None:
        self.listener = listener  # this process's listening socket (a prefork slot's own)
        self.tick_interval = tick_interval  # how often loops wake for heartbeat(), at most
        # Connections this process may still accept before it stops (prefork max_requests).
        self.connection_budget = connection_budget
        self._on_heartbeat, self._on_retire, self._on_count = on_heartbeat, on_retire, on_count
        self.stopping = threading.Event()
        self.stopped = threading.Event()
        # True once a stop was asked for: a plain attribute, cheap enough for hot loops to
        # read on every message (``stopping`` is the Event to wait on).
        self.stop_requested = False
        self.recycling = False  # stopping because the connection budget is spent
        self._waker: Waker | None = None  # made on first use (a fork child may never)
        self._stop_pipe: tuple[int, int] | None = None  # (read fd, write fd), made on demand
        self._open: set[OpenConnection] = set()
        # Re-entrant: the second-signal handler may run while this thread holds it.
        self._lock = threading.RLock()

    # -- stopping ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask this process to stop; returns at once. Safe from signal handlers, including a
        second signal whose handler runs inside the first: only the first call touches the
        Event (whose lock is not re-entrant)."""
        if not self.stop_requested:
            self.stop_requested = True
            self.stopping.set()
            if self._stop_pipe is not None:
                with contextlib.suppress(OSError):
                    os.write(self._stop_pipe[1], b"!")
        if self._waker is not None:  # a loop registers it before it checks ``stopping``
            self._waker.wake()

    @property
    def waker(self) -> Waker:
        """Wakes this process's accept loop (a stop, a free worker slot)."""
        with self._lock:
            if self._waker is None:
                self._waker = Waker()
            return self._waker

    def stop_signal(self) -> int:
        """A file descriptor that becomes readable once a stop is requested (and stays so),
        for blocking drivers to wait on beside their socket."""
        with self._lock:
            if self._stop_pipe is None:
                self._stop_pipe = os.pipe()
                if self.stop_requested:
                    os.write(self._stop_pipe[1], b"!")
            return self._stop_pipe[0]

    def recycle(self) -> None:
        """Stop after the connections in hand: their first requests are still served."""
        self.recycling = True
        if self._on_retire is not None:
            self._on_retire()
        self.request_stop()

    def spend_connection_budget(self) -> bool:
        """Count one accepted connection; True when the budget is now used up."""
        if self.connection_budget is None:
            return False
        self.connection_budget -= 1
        return self.connection_budget <= 0

    def heartbeat(self) -> None:
        """Called by accept loops and drains at least once a tick."""
        if self._on_heartbeat is not None:
            self._on_heartbeat()

    # -- the registry of open connections ---------------------------------------------------
    def track(self, sock: socket.socket) -> OpenConnection:
        """Register a connection served by a blocking driver; its entry is returned for
        the driver to mark ``idle``/``served``."""
        entry = OpenConnection(sock)
        with self._lock:
            self._open.add(entry)
            count = len(self._open)
        if self._on_count is not None:
            self._on_count(count)
        return entry

    def untrack(self, entry: OpenConnection) -> None:
        with self._lock:
            self._open.discard(entry)
            count = len(self._open)
        if self._on_count is not None:
            self._on_count(count)

    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def close_idle_connections(self) -> int:
        """At shutdown: end connections waiting between messages (nothing in flight). A worker
        being recycled spares those still waiting for their first message, and serves it.

        Only their read side is shut: the handler's blocked read sees the end of input and it
        ends as if the client had left, while a reply still being written goes out whole."""
        return self._shut(socket.SHUT_RD, only_idle=True)

    def force_close_active(self) -> int:
        """Shut down every open connection (unblocks handlers stuck in a read or write)."""
        return self._shut(socket.SHUT_RDWR, only_idle=False)

    def _shut(self, how: int, only_idle: bool) -> int:
        with self._lock:
            entries = [e for e in self._open if not only_idle
                       or (e.idle and (e.served or not self.recycling))]
        for entry in entries:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, even under TLS: ssl.SSLSocket.shutdown() would
                # drop the TLS state under a thread that may still be writing.
                socket.socket.shutdown(entry.socket, how)
        return len(entries)

    # -- ending -----------------------------------------------------------------------------
    def close_listener(self) -> None:
        """Close the listening socket so new connects are refused at once."""
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.close()

    def close(self) -> None:
        self.close_listener()
        if self._waker is not None:
            self._waker.close()
        pipe, self._stop_pipe = self._stop_pipe, None
        for fd in pipe or ():
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        state = "stopping" if self.stop_requested else "serving"
        return f"<ServingProcess pid={os.getpid()} {state}, {self.active_connections} open>"
