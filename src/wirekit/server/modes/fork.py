"""``fork``: a new process per connection, as the course's ForkingTCPServer (slide 5-13).

Children are reaped as they exit (no zombies), capped at ``max_children`` (excess clients wait
in the listen backlog), and close the listening socket they inherit. On shutdown the parent
waits for children up to the grace period, then sends SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import time
from typing import TYPE_CHECKING

from wirekit.errors import ConfigError
from wirekit.server.acceptor import accept_connections
from wirekit.server.connlog import logger
from wirekit.server.datagrams import receive_datagrams
from wirekit.server.modes.base import Mode
from wirekit.server.process import ServingProcess
from wirekit.server.runner import serve_connection, serve_datagram

if TYPE_CHECKING:
    from collections.abc import Callable

    from wirekit.server.server import Server

__all__ = ["Children", "Fork", "become_child"]


class Children:
    """Process ids of live children, reaped without blocking."""

    def __init__(self) -> None:
        self.pids: set[int] = set()

    def __len__(self) -> int:
        return len(self.pids)

    def reap(self) -> list[tuple[int, int]]:
        """Collect exited children; returns ``(pid, wait status)`` for each."""
        done = []
        for pid in list(self.pids):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                self.pids.discard(pid)
                continue
            if got:
                self.pids.discard(pid)
                done.append((pid, status))
        return done

    def terminate(self, grace: float | None, poll: Callable[[], object] | None = None) -> None:
        """SIGTERM the children (they finish gracefully), wait up to ``grace``, then SIGKILL."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if sig is not None:
                for pid in self.pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
            end = None if wait is None else time.monotonic() + wait
            while self.pids and (end is None or time.monotonic() < end):
                self.reap()
                if poll is not None:
                    poll()
                if self.pids:
                    self._wait_for_exit(end)
            if not self.pids:
                return

    def _wait_for_exit(self, end: float | None) -> None:
        """Sleep until a child exits (its pidfd turns readable, Linux 5.3+), at most a tick
        or until ``end``; a system without pidfds waits a short step instead."""
        step = 1.0 if end is None else max(0.0, min(1.0, end - time.monotonic()))
        fds = []
        try:
            for pid in self.pids:
                with contextlib.suppress(ProcessLookupError):
                    fds.append(os.pidfd_open(pid))
            if fds:
                select.select(fds, [], [], step)
        except (AttributeError, OSError):  # no pidfd_open here
            time.sleep(min(step, 0.02))
        finally:
            for fd in fds:
                os.close(fd)


def become_child(server: Server, *, keep_datagram: bool = False) -> None:
    """In a freshly forked process: drop what belongs to the parent. SIGTERM (sent by the
    parent when it stops) asks this child to finish gracefully: an idle connection closes at
    once, a busy one after its current message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the
    # parent decides, and SIGKILLs us after the grace period if we are still busy.

    inherited = server.process.listener
    if inherited is not None:
        inherited.forget_path()
        inherited.socket.close()
    if server.datagram is not None and not keep_datagram:
        server.datagram.socket.close()
    process = server.begin_process(ServingProcess(None))  # the parent's waker is its own

    def stop_gracefully(signum: int, frame: object) -> None:
        process.request_stop()  # only its first call touches the Event: re-entrant safe
        process.close_idle_connections()

    signal.signal(signal.SIGTERM, stop_gracefully)


class Fork(Mode):
    name = "fork"
    multiprocess = True  # a process per connection, each one request at a time

    def __init__(self, max_children: int = 40) -> None:
        if max_children < 1:
            raise ConfigError(f"max_children must be >= 1, got {max_children}")
        self.max_children = max_children
        self.children = Children()

    @classmethod
    def sized(cls, workers: int | None) -> Fork:
        return cls() if workers is None else cls(max_children=workers)

    def active_connections(self, server: Server) -> int:
        return len(self.children)

    def serve(self, server: Server) -> None:
        children = self.children
        if server.datagram is not None:
            datagrams = receive_datagrams(
                server, has_capacity=lambda: len(children) < self.max_children,
                tick=children.reap)
            for datagram in datagrams:
                self._spawn(server, functools.partial(serve_datagram, server, datagram.data,
                                                      datagram.sender), datagram=True)
        else:
            connections = accept_connections(
                server, has_capacity=lambda: len(children) < self.max_children,
                tick=children.reap, tick_interval=0.2)
            for sock, client in connections:
                self._spawn(server, functools.partial(serve_connection, server, sock, client))
                sock.close()
        server.close_listener()
        children.terminate(server.timeouts.shutdown_grace)

    def _spawn(self, server: Server, work: Callable[[], None], datagram: bool = False) -> None:
        try:
            pid = os.fork()
        except OSError as exc:
            logger.error("fork failed (%s): the client is dropped", exc.strerror)
            return
        if pid == 0:
            code = 0
            try:
                become_child(server, keep_datagram=datagram)
                work()
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        self.children.pids.add(pid)

    def force_stop(self, server: Server) -> None:
        for pid in list(self.children.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def __str__(self) -> str:
        return f"fork, max_children={self.max_children}"
