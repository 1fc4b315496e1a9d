"""``prefork``: N worker processes accepting on one listening socket, supervised.

The master forks the workers and then only supervises (gunicorn's arbiter is the model):

* a worker that dies is reaped and replaced; one that keeps dying at boot (three times within
  a second of starting) stops the whole server with a non-zero status instead of a respawn
  storm (SECURITY.md N04);
* each worker beats a heartbeat in shared memory from its accept loop; a worker silent for
  ``worker_timeout`` is sent SIGABRT, then SIGKILL, and replaced (N05);
* ``max_requests`` (plus random ``jitter``) recycles a worker after that many connections. A
  retiring worker tells the master when it stops accepting, and its replacement starts at once
  while it finishes the connections in hand (capacity never dips to N-1 for a long drain);
* SIGTERM/SIGINT: the master stops, SIGTERMs the workers, which drain gracefully, and kills
  what remains after the grace period.

Inside each worker another mode runs the handlers: ``threads`` by default, ``async`` for
async handlers, or any mode given as ``worker_mode``. With ``reuse_port=True`` on the Server,
each worker slot has its own SO_REUSEPORT socket and the kernel spreads connections evenly.
The master binds those sockets and keeps them open: a worker that exits (recycled, crashed,
killed as hung) leaves its socket, and whatever the kernel queued on it, to its replacement.
Were the worker to own the socket, closing it would reset every queued connection, and the
kernel would refuse new ones hashed to it until a replacement bound again.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from wirekit.net.listener import Listener, listen
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
    """Per worker process, in memory shared across fork: the last time it beat, and whether
    it is retiring (stopped accepting, finishing its connections).

    Indexed by a beat index of its own, not by socket slot: a retiring worker and its
    replacement live side by side for a while."""

    def __init__(self, size: int) -> None:
        self._map = mmap.mmap(-1, (_SLOT.size + 1) * size)
        self._flags = _SLOT.size * size  # one byte per index after the floats
        self._free = set(range(size))

    def take(self) -> int | None:
        """A free index, reset (master only); None when all are in use."""
        if not self._free:
            return None
        index = min(self._free)
        self._free.discard(index)
        self.beat(index)
        self._map[self._flags + index] = 0
        return index

    def release(self, index: int) -> None:
        self._free.add(index)

    def beat(self, index: int) -> None:
        _SLOT.pack_into(self._map, _SLOT.size * index, time.monotonic())

    def last(self, index: int) -> float:
        return _SLOT.unpack_from(self._map, _SLOT.size * index)[0]

    def retire(self, index: int) -> None:
        self._map[self._flags + index] = 1

    def retiring(self, index: int) -> bool:
        return self._map[self._flags + index] == 1


@dataclasses.dataclass
class _Worker:
    """The master's record of one worker process."""

    slot: int  # which listening socket (with SO_REUSEPORT) and which of the N places
    beat: int  # its heartbeat index
    started: float
    replaced: bool = False  # retiring and already replaced: not restarted when it exits


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
        self._workers: dict[int, _Worker] = {}  # by pid
        self._listeners: dict[int, Listener] = {}  # by slot, with SO_REUSEPORT
        self._aborted: dict[int, float] = {}  # pid -> when SIGABRT was sent
        self.failed = False

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
        # Twice the workers: each retiring worker beats beside its replacement.
        self.heartbeats = Heartbeats(2 * self.workers)
        boot_failures: list[float] = []
        missing: set[int] = set()  # slots whose fork failed: retried every tick
        try:
            if self._own_sockets(server):
                self._listeners = {slot: server.listener if slot == 0 else listen(  # type: ignore[misc]
                    server.address, reuse_port=True, timeouts=server.timeouts,
                    limits=server.limits) for slot in range(self.workers)}
            missing = {slot for slot in range(self.workers) if not self._spawn(server, slot)}
            while not server.stopping.is_set():
                with contextlib.suppress(InterruptedError, OSError, ValueError):
                    select.select([server.waker], [], [], 0.5)
                server.waker.drain()
                if self._replace_dead(server, boot_failures, missing):
                    break
                self._replace_retiring(server, missing)
                missing = {slot for slot in missing if not self._spawn(server, slot)}
                self._kill_hung()
        finally:
            server.close_listener()
            for listener in self._listeners.values():
                listener.close()
            self.children.terminate(server.timeouts.shutdown_grace)  # SIGTERM, grace, SIGKILL
        if self.failed:
            raise WorkerBootError(
                f"{MAX_BOOT_FAILURES} workers failed right after starting; see the log above")

    def _replace_retiring(self, server: Server, missing: set[int]) -> None:
        """Start a replacement for each worker that stopped accepting (its budget spent)."""
        for worker in list(self._workers.values()):
            if not worker.replaced and self.heartbeats.retiring(worker.beat):
                worker.replaced = True
                if not self._spawn(server, worker.slot):
                    missing.add(worker.slot)

    def _replace_dead(self, server: Server, boot_failures: list[float], missing: set[int]
                      ) -> bool:
        """Reap exited workers and start replacements; True when booting keeps failing."""
        for pid, status in self.children.reap():
            worker = self._workers.pop(pid)
            self.heartbeats.release(worker.beat)
            self._aborted.pop(pid, None)
            slot = worker.slot
            if server.stopping.is_set():
                continue
            code = os.waitstatus_to_exitcode(status)
            if worker.replaced:  # retired: its replacement already serves the slot
                if code != 0:
                    logger.warning("retiring worker %d (pid %d) exited with status %d",
                                   slot, pid, code)
                continue
            lived = time.monotonic() - worker.started
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
        for pid, worker in list(self._workers.items()):
            last = max(self.heartbeats.last(worker.beat), worker.started)
            if now - last <= self.worker_timeout:
                continue
            sent = self._aborted.get(pid)
            if sent is None:
                logger.error("worker %d (pid %d) silent for %.0fs: aborting it", worker.slot,
                             pid, now - last)
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
        beat = self.heartbeats.take()
        if beat is None:  # every index taken by retiring workers: wait for one to exit
            return False
        blocked = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
            self.heartbeats.release(beat)
            logger.error("cannot start worker %d (%s); retrying", slot, exc.strerror)
            return False
        if pid == 0:
            code = EXIT_BOOT_FAILURE
            try:
                code = self._worker_main(server, slot, beat)
            except BaseException:
                logger.exception("worker %d failed", slot)
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        self.children.pids.add(pid)
        self._workers[pid] = _Worker(slot, beat, time.monotonic())
        return True

    # -- worker ---------------------------------------------------------------------------
    def _worker_main(self, server: Server, slot: int, beat: int) -> int:
        """Runs in the child: fresh control state, own signals, then the inner mode."""
        server.stopping = threading.Event()
        server.stopped = threading.Event()
        server.stop_requested = False
        master_waker, server.waker = server.waker, Waker()
        if server.listener is not None:
            server.listener.forget_path()
        if self._listeners:  # keep this slot's socket, drop the inherited copies of the rest
            for other, listener in self._listeners.items():
                if other != slot:
                    listener.socket.close()
            server.listener = self._listeners[slot]
        recycle = server.recycle

        def retire() -> None:  # tell the master at once, so a replacement starts accepting
            self.heartbeats.retire(beat)
            master_waker.wake()
            recycle()

        server.recycle = retire  # type: ignore[method-assign]
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master coordinates Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: server.request_stop())
        signal.signal(signal.SIGABRT, _exit_hung)  # the master's verdict: we are hung
        # Beat several times per timeout, so a healthy idle worker never looks hung.
        server.tick_interval = min(server.tick_interval, self.worker_timeout / 4)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        server.heartbeat = lambda: self.heartbeats.beat(beat)  # type: ignore[method-assign]
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
