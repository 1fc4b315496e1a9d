"""``prefork``: N worker processes accepting on one listening socket, supervised.

The master forks the workers and then only supervises (gunicorn's arbiter is the model):

* a worker that dies is reaped and replaced; one that keeps dying at boot (three times within
  a second of starting) stops the whole server with a non-zero status instead of a respawn
  storm (SECURITY.md N04);
* each worker beats a heartbeat in shared memory from its accept loop; a worker silent for
  ``worker_timeout`` is sent SIGABRT, then SIGKILL, and replaced (N05);
* ``max_requests`` (plus random ``jitter``) recycles a worker after that many connections;
* SIGTERM/SIGINT: the master stops, SIGTERMs the workers, which drain gracefully, and kills
  what remains after the grace period.

Inside each worker another mode runs the handlers: ``threads`` by default, ``async`` for
async handlers, or any mode given as ``worker_mode``. With ``reuse_port=True`` on the Server,
each worker binds its own socket with SO_REUSEPORT and the kernel spreads connections evenly.
"""

from __future__ import annotations

import contextlib
import faulthandler
import mmap
import os
import random
import select
import signal
import struct
import threading
import time
from typing import TYPE_CHECKING

from wirekit.errors import ConfigError, WirekitError
from wirekit.net.listener import listen
from wirekit.server.connlog import logger
from wirekit.server.handlers import AsyncStreamHandler, Handler
from wirekit.server.modes.base import Mode
from wirekit.server.modes.fork import Children
from wirekit.server.modes.threads import Threads
from wirekit.server.waker import Waker

if TYPE_CHECKING:
    from collections.abc import Callable

    from wirekit.server.server import Server

__all__ = ["Prefork", "WorkerBootError"]

BOOT_WINDOW = 1.0  # a worker that exits this soon after starting failed to boot
MAX_BOOT_FAILURES = 3
EXIT_BOOT_FAILURE = 3
EXIT_HUNG = 4
_SLOT = struct.Struct("d")


class WorkerBootError(WirekitError):
    """Workers kept failing right after starting; the server stopped instead of respawning."""


def _exit_hung(signum: int, frame: object) -> None:
    """SIGABRT from the master: show where this worker was stuck, then exit at once (a core
    dump of a hung worker takes long and helps less than the Python stack)."""
    faulthandler.dump_traceback(all_threads=True)
    os._exit(EXIT_HUNG)


class Heartbeats:
    """One float per worker slot in memory shared across fork: the last time it beat."""

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, _SLOT.size * slots)

    def beat(self, slot: int) -> None:
        _SLOT.pack_into(self._map, _SLOT.size * slot, time.monotonic())

    def last(self, slot: int) -> float:
        return _SLOT.unpack_from(self._map, _SLOT.size * slot)[0]


class Prefork(Mode):
    name = "prefork"
    handlers = (Handler,)

    def __init__(self, workers: int = 2, worker_mode: Mode | None = None, *,
                 max_requests: int | None = None, max_requests_jitter: int = 0,
                 worker_timeout: float = 30.0,
                 worker_init: Callable[[], None] | None = None) -> None:
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        if isinstance(worker_mode, Prefork):
            raise ConfigError("a prefork worker cannot itself prefork")
        self.workers = workers
        self.worker_mode = worker_mode
        self.max_requests = max_requests
        self.jitter = max_requests_jitter
        self.worker_timeout = worker_timeout
        self.worker_init = worker_init  # runs first in each worker; raising = a boot failure
        self.children = Children()
        self._slots: dict[int, tuple[int, float]] = {}  # pid -> (slot, started)
        self._aborted: dict[int, float] = {}  # pid -> when SIGABRT was sent
        self.failed = False
        self._first_round = False  # while the initial workers are forked

    @classmethod
    def sized(cls, workers: int | None) -> Prefork:
        return cls() if workers is None else cls(workers=workers)

    def check_handler(self, handler: type[Handler]) -> None:
        if self.worker_mode is None:
            from wirekit.server.modes.event_loop import Async

            self.worker_mode = Async() if issubclass(handler, AsyncStreamHandler) else Threads()
        self.worker_mode.check_handler(handler)

    # -- master ---------------------------------------------------------------------------
    def serve(self, server: Server) -> None:
        self.heartbeats = Heartbeats(self.workers)
        boot_failures: list[float] = []
        missing: set[int] = set()  # slots whose fork failed: retried every tick
        try:
            self._first_round = True
            missing = {slot for slot in range(self.workers) if not self._spawn(server, slot)}
            if self._own_sockets(server) and 0 not in missing:
                # Worker 0 inherited this socket (and whatever the kernel queued on it):
                # closing the master's copy loses nothing. Later workers bind their own.
                server.listener.socket.close()  # type: ignore[union-attr]
            self._first_round = False
            while not server.stopping.is_set():
                with contextlib.suppress(InterruptedError, OSError, ValueError):
                    select.select([server.waker], [], [], 0.5)
                server.waker.drain()
                if self._replace_dead(server, boot_failures, missing):
                    break
                missing = {slot for slot in missing if not self._spawn(server, slot)}
                self._kill_hung()
        finally:
            server.close_listener()
            self.children.terminate(server.timeouts.shutdown_grace)  # SIGTERM, grace, SIGKILL
        if self.failed:
            raise WorkerBootError(
                f"{MAX_BOOT_FAILURES} workers failed right after starting; see the log above")

    def _replace_dead(self, server: Server, boot_failures: list[float], missing: set[int]
                      ) -> bool:
        """Reap exited workers and start replacements; True when booting keeps failing."""
        for pid, status in self.children.reap():
            slot, started = self._slots.pop(pid)
            self._aborted.pop(pid, None)
            if server.stopping.is_set():
                continue
            code = os.waitstatus_to_exitcode(status)
            lived = time.monotonic() - started
            if code != 0 and (code == EXIT_BOOT_FAILURE or lived < BOOT_WINDOW):
                now = time.monotonic()
                boot_failures[:] = [t for t in boot_failures if now - t < 10] + [now]
                if len(boot_failures) >= MAX_BOOT_FAILURES:
                    logger.error("workers keep failing at boot; stopping the server")
                    self.failed = True
                    server.request_stop()
                    return True
            if code != 0:
                logger.warning("worker %d (pid %d) exited with status %d; restarting it",
                               slot, pid, code)
            if not self._spawn(server, slot):
                missing.add(slot)
        return False

    def _kill_hung(self) -> None:
        now = time.monotonic()
        for pid, (slot, started) in list(self._slots.items()):
            last = max(self.heartbeats.last(slot), started)
            if now - last <= self.worker_timeout:
                continue
            sent = self._aborted.get(pid)
            if sent is None:
                logger.error("worker %d (pid %d) silent for %.0fs: aborting it", slot, pid,
                             now - last)
                self._aborted[pid] = now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGABRT)
            elif now - sent > 2.0:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _own_sockets(server: Server) -> bool:
        """SO_REUSEPORT: each worker listens on a socket of its own (TCP only)."""
        return server.reuse_port and server.listener is not None and not server.address.is_unix

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.children.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def force_stop(self, server: Server) -> None:
        self._signal_all(signal.SIGKILL)

    def _spawn(self, server: Server, slot: int) -> bool:
        """Fork the worker for ``slot``; False if the system refused (retried next tick).

        Signals are blocked across fork so that a SIGTERM cannot reach the child while it
        still runs the master's handler; the child unblocks them once its own are in place.
        """
        self.heartbeats.beat(slot)
        blocked = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
            logger.error("cannot start worker %d (%s); retrying", slot, exc.strerror)
            return False
        if pid == 0:
            code = EXIT_BOOT_FAILURE
            try:
                code = self._worker_main(server, slot)
            except BaseException:
                logger.exception("worker %d failed", slot)
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        self.children.pids.add(pid)
        self._slots[pid] = (slot, time.monotonic())
        return True

    # -- worker ---------------------------------------------------------------------------
    def _worker_main(self, server: Server, slot: int) -> int:
        """Runs in the child: fresh control state, own signals, then the inner mode."""
        server.stopping = threading.Event()
        server.stopped = threading.Event()
        server.stop_requested = False
        server.waker = Waker()
        if server.listener is not None:
            server.listener.forget_path()
            if self._own_sockets(server) and not (slot == 0 and self._first_round):
                server.listener.socket.close()
                server.listener = listen(server.address, reuse_port=True,
                                         timeouts=server.timeouts, limits=server.limits)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master coordinates Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: server.request_stop())
        signal.signal(signal.SIGABRT, _exit_hung)  # the master's verdict: we are hung
        # Beat several times per timeout, so a healthy idle worker never looks hung.
        server.tick_interval = min(server.tick_interval, self.worker_timeout / 4)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        server.heartbeat = lambda: self.heartbeats.beat(slot)  # type: ignore[method-assign]
        if self.max_requests:
            server.connection_budget = self.max_requests + random.randint(0, self.jitter)  # noqa: S311
        self.children = Children()
        if self.worker_init is not None:
            try:
                self.worker_init()
            except Exception:
                logger.exception("worker %d failed to start", slot)
                return EXIT_BOOT_FAILURE
        assert self.worker_mode is not None
        self.worker_mode.serve(server)
        return 0

    def __str__(self) -> str:
        return f"prefork, workers={self.workers}, worker mode {self.worker_mode}"
