"""The blocking driver: one thread serves one connection core (sync, threads, fork, prefork).

The thread is the I/O side and the work side at once: ``run(work)`` is executed right after
the event that asked for it returns, and ``work_done`` follows. Between events the thread
sleeps in ``recv`` until the core's deadline; while the core is idle it also watches the
server's stop signal, so a graceful stop reaches the core (``stop()``) instead of cutting the
connection.
"""

from __future__ import annotations

import contextlib
import select
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wirekit.errors import Timeout
from wirekit.net.stream import Stream
from wirekit.server.core import ConnectionCore, Work
from wirekit.server.process import OpenConnection

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["BlockingShell"]

_RECV = 65536


class BlockingShell:
    """Runs one :class:`ConnectionCore` on a :class:`Stream`; the core's ``Shell`` and its
    work's ``WorkIO``."""

    writing_paused = False  # sendall blocks instead: the client's reading paces the thread

    def __init__(self, server: Server, stream: Stream, core: ConnectionCore,
                 entry: OpenConnection) -> None:
        self.server, self.stream, self.core = server, stream, core
        self.entry = entry  # in this process's registry: marked idle while it waits
        self.deadline: float | None = None
        self.work: Work | None = None
        self.linger: float | None = None  # set once the core closed the connection
        self.aborted = False
        self.eof = False
        self.stop_delivered = False
        self.stop_by_eof = getattr(core, "stop_by_eof", False)
        self.send = stream.sendall  # type: ignore[method-assign]  # one frame less per reply
        self.zero_copy: Callable[[Any, int, int], int] | None = stream.sendfile

    # -- Shell ------------------------------------------------------------------------------
    now = staticmethod(time.monotonic)

    def send(self, data: bytes | memoryview) -> None:  # replaced by the stream's own in __init__
        self.stream.sendall(data)

    def run(self, work: Work) -> None:
        self.work = work

    def set_deadline(self, when: float | None) -> None:
        self.deadline = when

    def start_tls(self) -> None:
        if self.server.tls is None:
            raise RuntimeError("start_tls() needs a server with a TLS context")
        self.stream.start_tls(self.server.tls, server_side=True)

    def close(self, linger: float = 0.0) -> None:
        if self.linger is None:
            self.linger = linger

    def abort(self) -> None:
        self.linger, self.aborted = 0.0, True

    # -- WorkIO -----------------------------------------------------------------------------
    def recv(self, timeout: float | None) -> bytes:
        return self.stream.recv(_RECV, timeout=timeout)

    # -- the loop ---------------------------------------------------------------------------
    def serve(self) -> None:
        """Deliver events until the core closes the connection (or the peer breaks it).

        One flat loop: under the threads mode every Python frame between two system calls is
        paid again in GIL hand-offs (bench/README.md), so the steady state (a deadline far
        away, bytes in, a reply out) makes no call but the read and the core's."""
        core, stream, entry = self.core, self.stream, self.entry
        recv, monotonic = stream.recv, time.monotonic
        core.connection_made(self)
        try:
            while self.linger is None:
                if (work := self.work) is not None:
                    self.work = None
                    work(self)
                    core.work_done(work)
                    self._stop_after_work()
                    continue
                timeout = None
                if (deadline := self.deadline) is not None:
                    timeout = deadline - monotonic()
                    if timeout <= 0:
                        self.deadline = None
                        core.deadline_reached()
                        continue
                if not self.stop_delivered and core.idle and self._stop_first(timeout):
                    continue
                if self.eof:
                    self._after_eof(timeout)
                    continue
                try:
                    data = recv(_RECV, timeout)
                except Timeout:
                    continue  # the deadline: delivered on the next turn
                entry.idle = False
                if data:
                    core.data_received(data)
                else:
                    self.eof = True
                    core.eof_received()
        finally:
            core.connection_lost()
        if self.linger and not self.aborted:
            self._linger(self.linger)

    def _stop_after_work(self) -> None:
        """A core busy when the server began stopping learns of it after its work."""
        if not self.stop_delivered and self.server.process.stop_requested \
                and self.linger is None and self.work is None:
            self.stop_delivered = True
            self.core.stop()

    def _after_eof(self, timeout: float | None) -> None:
        """Nothing more will come: wait for the core's deadline, if it set one."""
        if timeout is None:
            self.close()
        else:
            time.sleep(timeout)  # the deadline the core asked for, not a poll

    def _stop_first(self, timeout: float | None) -> bool:
        """An idle core learns of a graceful stop before the next read; True if it did (or
        the wait for it ended at the deadline, which the loop then delivers)."""
        if self.stop_by_eof:
            # The stop reaches this core as end of input (the server shuts the read side of
            # idle streams); one that turns idle after that sees the flag here.
            if not self.server.process.stop_requested:
                self.entry.idle = True  # the loop clears it when bytes arrive
                self.entry.served = self.core.served  # a recycling worker spares the rest
                return False
        else:
            ready = self._wait_for_bytes_or_stop(timeout)
            if ready is None:
                return True
            if ready:
                return False
        self.stop_delivered = True
        self.core.stop()
        return True

    def _wait_for_bytes_or_stop(self, timeout: float | None) -> bool | None:
        """Wait for bytes or the server's stop signal: True when bytes are there, False
        when the stop came first (an idle connection learns of it at once; a busy one after
        its exchange), None when ``timeout`` passed."""
        stream, sock = self.stream, self.stream.socket
        if stream.buffer.data or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            return True  # bytes already here (in our buffer, or decrypted by TLS)
        stop_fd = self.server.process.stop_signal()
        watched: list[Any] = [stream.socket, stop_fd]
        readable, _, _ = select.select(watched, [], [], timeout)
        if not readable:
            return None
        return stream.socket in readable

    def _linger(self, seconds: float) -> None:
        """Drop what the peer still sends for a moment, so it reads our last answer."""
        stream = self.stream
        if stream.is_tls:
            return
        with contextlib.suppress(Exception):
            stream.shutdown("write")
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0 and stream.recv(_RECV, timeout=left):
                pass


def serve_core(server: Server, stream: Stream, core: Any, entry: OpenConnection) -> None:
    """Serve ``core`` on ``stream`` until it closes (the caller closes the stream);
    ``entry`` is the connection in the process's registry."""
    BlockingShell(server, stream, core, entry).serve()
