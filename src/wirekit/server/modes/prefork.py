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
  what remains after the grace period;
* SIGHUP: a graceful reload. The master runs ``on_reload`` (if given), forks a new worker per
  slot beside the running ones, and once a new worker serves, tells the old one of its slot to
  drain as a retiring worker does (SIGTERM, with a flag in shared memory saying "reload"). The
  listening sockets stay open in the master throughout, so no queued client is lost. Workers
  ignore SIGHUP themselves;
* a worker never outlives its master: on Linux the kernel sends it SIGTERM when the master dies
  (``prctl(PR_SET_PDEATHSIG)``), and everywhere its heartbeat notices ``os.getppid()`` change
  within a tick (a second at most). It then stops gracefully.

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
import logging
import mmap
import os
import random
import select
import signal
import struct
import sys
import time
from typing import TYPE_CHECKING

from wirekit.errors import ConfigError, WirekitError
from wirekit.net.listener import Listener, listen
from wirekit.server.connlog import logger
from wirekit.server.handlers import AsyncStreamHandler, Handler
from wirekit.server.modes.base import Mode
from wirekit.server.modes.fork import Children
from wirekit.server.modes.threads import Threads
from wirekit.server.process import ServingProcess
from wirekit.server.waker import Waker

if TYPE_CHECKING:
    from collections.abc import Callable

    from wirekit.server.server import Server

__all__ = ["Prefork", "WorkerBootError"]

BOOT_WINDOW = 1.0  # a worker that exits this soon after starting failed to boot
MAX_BOOT_FAILURES = 3
EXIT_BOOT_FAILURE = 3
EXIT_HUNG = 4
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Blocked across fork: the child must not run the master's handlers for these.
_FORK_BLOCKED = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


class WorkerBootError(WirekitError):
    """Workers kept failing right after starting; the server stopped instead of respawning."""


def _exit_hung(signum: int, frame: object) -> None:
    """SIGABRT from the master: show where this worker was stuck, then exit at once (a core
    dump of a hung worker takes long and helps less than the Python stack)."""
    faulthandler.dump_traceback(all_threads=True)
    os._exit(EXIT_HUNG)


class Heartbeats:
    """Per worker process, in memory shared across fork: the last time it beat, how many
    connections it has open, its state (booting, serving, retiring: it stopped accepting and
    finishes its connections), and whether the master asked it to drain for a reload.

    Indexed by a beat index of its own, not by socket slot: a retiring worker and its
    replacement, or the two generations of a reload, live side by side for a while."""

    RECORD = 16  # the beat (a double), connections (uint32), state, drain asked (a byte each)
    BOOTING, SERVING, RETIRING = 0, 1, 2
    _BEAT = struct.Struct("d")
    _COUNT = struct.Struct("I")

    def __init__(self, size: int) -> None:
        self._map = mmap.mmap(-1, self.RECORD * size)
        self._free = set(range(size))

    def take(self) -> int | None:
        """A free index, reset (master only); None when all are in use."""
        if not self._free:
            return None
        index = min(self._free)
        self._free.discard(index)
        self.beat(index)
        self.count(index, 0)
        self._map[self.RECORD * index + 12] = self.BOOTING
        self._map[self.RECORD * index + 13] = 0
        return index

    def release(self, index: int) -> None:
        self._free.add(index)

    def beat(self, index: int) -> None:
        self._BEAT.pack_into(self._map, self.RECORD * index, time.monotonic())

    def last(self, index: int) -> float:
        return self._BEAT.unpack_from(self._map, self.RECORD * index)[0]

    def count(self, index: int, connections: int) -> None:
        self._COUNT.pack_into(self._map, self.RECORD * index + 8, min(connections, 2**32 - 1))

    def connections(self, index: int) -> int:
        return self._COUNT.unpack_from(self._map, self.RECORD * index + 8)[0]

    def serve(self, index: int) -> None:
        self._map[self.RECORD * index + 12] = self.SERVING

    def serving(self, index: int) -> bool:
        """Booted and accepting (or, retiring, has accepted)."""
        return self._map[self.RECORD * index + 12] != self.BOOTING

    def retire(self, index: int) -> None:
        self._map[self.RECORD * index + 12] = self.RETIRING

    def retiring(self, index: int) -> bool:
        return self._map[self.RECORD * index + 12] == self.RETIRING

    def ask_drain(self, index: int) -> None:
        """Master: the SIGTERM that follows means "drain for a reload", not "stop"."""
        self._map[self.RECORD * index + 13] = 1

    def drain_asked(self, index: int) -> bool:
        return self._map[self.RECORD * index + 13] == 1


def die_with_master() -> bool:
    """Linux: have the kernel send this worker SIGTERM when the master dies, however it dies
    (SIGKILL included). False elsewhere; the heartbeat's ``os.getppid()`` check covers it."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@dataclasses.dataclass
class _Worker:
    """The master's record of one worker process."""

    slot: int  # which listening socket (with SO_REUSEPORT) and which of the N places
    beat: int  # its heartbeat index
    started: float
    replaced: bool = False  # retiring and already replaced: not restarted when it exits


@dataclasses.dataclass
class _Reload:
    """A reload in progress (SIGHUP): the new generation, slot by slot."""

    started: float
    incoming: set[int] = dataclasses.field(default_factory=set)  # new pids not yet serving
    served: list[int] = dataclasses.field(default_factory=list)  # new pids now serving
    kept: list[int] = dataclasses.field(default_factory=list)  # slots whose new worker failed


class Prefork(Mode):
    name = "prefork"
    handlers = (Handler,)
    multiprocess = True

    @property
    def multithread(self) -> bool:  # type: ignore[override]  # Mode's attribute, derived here
        """As the worker mode (threads or async, both threaded, when not chosen yet)."""
        return True if self.worker_mode is None else self.worker_mode.multithread

    def __init__(self, workers: int = 2, worker_mode: Mode | None = None, *,
                 max_requests: int | None = None, max_requests_jitter: int = 0,
                 worker_timeout: float = 30.0,
                 worker_init: Callable[[], None] | None = None,
                 on_reload: Callable[[], None] | None = None) -> None:
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
        # Runs in the master at SIGHUP, before the new workers fork (they inherit what it
        # loaded); raising abandons the reload and the running workers keep serving.
        self.on_reload = on_reload
        self.children = Children()
        self._workers: dict[int, _Worker] = {}  # by pid
        self._listeners: dict[int, Listener] = {}  # by slot, with SO_REUSEPORT
        self._aborted: dict[int, float] = {}  # pid -> when SIGABRT was sent
        self._reload: _Reload | None = None
        self._reload_wanted = False  # set by SIGHUP, acted upon by the supervision loop
        self._master = os.getpid()
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
        # Three per slot: its worker, a retiring one and a reload's new one may beat at once.
        self.heartbeats = Heartbeats(3 * self.workers)
        self._master = os.getpid()
        _ = server.process.waker  # made before the first fork: workers wake it when retiring
        boot_failures: list[float] = []
        missing: set[int] = set()  # slots whose fork failed: retried every tick
        try:
            if self._own_sockets(server):
                first = server.process.listener
                assert first is not None  # _own_sockets() checked it
                self._listeners = {slot: first if slot == 0 else listen(
                    server.address, reuse_port=True, timeouts=server.timeouts,
                    limits=server.limits) for slot in range(self.workers)}
            missing = {slot for slot in range(self.workers) if not self._spawn(server, slot)}
            while not server.process.stopping.is_set():
                with contextlib.suppress(InterruptedError, OSError, ValueError):
                    select.select([server.process.waker], [], [], 0.5)
                server.process.waker.drain()
                if self._replace_dead(server, boot_failures, missing):
                    break
                self._advance_reload(server)
                self._replace_retiring(server, missing)
                missing = {slot for slot in missing
                           if not self._covered(slot) and not self._spawn(server, slot)}
                self._kill_hung()
        finally:
            server.close_listener()
            for listener in self._listeners.values():
                listener.close()
            self.children.terminate(server.timeouts.shutdown_grace)  # SIGTERM, grace, SIGKILL
        if self.failed:
            raise WorkerBootError(
                f"{MAX_BOOT_FAILURES} workers failed right after starting; see the log above")

    # -- reload (SIGHUP) -------------------------------------------------------------------
    def request_reload(self, server: Server) -> None:
        """Reload the workers gracefully (what SIGHUP does in the master); returns at once.

        Safe from a signal handler: the supervision loop does the work at its next turn."""
        self._reload_wanted = True
        server.process.waker.wake()

    def _advance_reload(self, server: Server) -> None:
        if self._reload is None and self._reload_wanted:
            self._start_reload(server)
        reload = self._reload
        if reload is None:
            return
        for pid in sorted(reload.incoming):
            worker = self._workers.get(pid)
            if worker is None:  # gone (the server stops): nothing more to wait for
                reload.incoming.discard(pid)
            elif self.heartbeats.serving(worker.beat):  # it accepts: the old one may go now
                reload.incoming.discard(pid)
                reload.served.append(pid)
                self._drain_others(worker.slot, pid)
        if not reload.incoming:
            self._reload = None
            logger.log(logging.WARNING if reload.kept else logging.INFO,
                       "reload done in %.1f s: %d new worker(s) serving (pids %s); the old "
                       "ones finish their connections and exit%s",
                       time.monotonic() - reload.started, len(reload.served),
                       ", ".join(map(str, reload.served)) or "none",
                       f"; slot(s) {reload.kept} kept their old worker" if reload.kept else "")

    def _start_reload(self, server: Server) -> None:
        """Run ``on_reload``, then fork one new worker per slot beside the running ones."""
        self._reload_wanted = False
        logger.info("received SIGHUP: reloading, starting %d new worker(s); each old one "
                    "drains once its replacement serves", self.workers)
        if self.on_reload is not None:
            try:
                self.on_reload()
            except Exception:
                logger.exception("reload abandoned: on_reload failed; the running workers "
                                 "keep serving")
                return
        reload = _Reload(time.monotonic())
        for slot in range(self.workers):
            pid = self._spawn(server, slot)
            if pid is None:
                reload.kept.append(slot)
            else:
                reload.incoming.add(pid)
        self._reload = reload

    def _drain_others(self, slot: int, keep: int) -> None:
        """Tell every other worker of ``slot`` to finish its connections and exit."""
        for pid, worker in self._workers.items():
            if worker.slot == slot and pid != keep and not worker.replaced:
                worker.replaced = True
                self.heartbeats.ask_drain(worker.beat)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    def _covered(self, slot: int) -> bool:
        """A worker (serving or a reload's, still booting) holds ``slot``: none to start."""
        return any(w.slot == slot and not w.replaced for w in self._workers.values())

    def active_connections(self, server: Server) -> int:
        """The connections the workers last reported (each as it opens or ends one)."""
        if not hasattr(self, "heartbeats"):
            return 0
        return sum(self.heartbeats.connections(w.beat) for w in self._workers.values())

    # -- supervision ----------------------------------------------------------------------
    def _replace_retiring(self, server: Server, missing: set[int]) -> None:
        """Start a replacement for each worker that stopped accepting (its budget spent)."""
        for worker in list(self._workers.values()):
            if not worker.replaced and self.heartbeats.retiring(worker.beat):
                worker.replaced = True
                if not self._covered(worker.slot) and not self._spawn(server, worker.slot):
                    missing.add(worker.slot)

    def _replace_dead(self, server: Server, boot_failures: list[float], missing: set[int]
                      ) -> bool:
        """Reap exited workers and start replacements; True when booting keeps failing."""
        for pid, status in self.children.reap():
            worker = self._workers.pop(pid)
            self.heartbeats.release(worker.beat)
            self._aborted.pop(pid, None)
            slot = worker.slot
            if server.process.stopping.is_set():
                continue
            code = os.waitstatus_to_exitcode(status)
            if worker.replaced:  # retired: its replacement already serves the slot
                if code != 0:
                    logger.warning("retiring worker %d (pid %d) exited with status %d",
                                   slot, pid, code)
                continue
            if self._slot_taken(pid, slot, code):
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

    def _slot_taken(self, pid: int, slot: int, code: int) -> bool:
        """After ``pid`` exited: True when another worker holds its slot (during a reload, the
        new worker; or the old one, if ``pid`` was the new one and failed): start none."""
        if self._reload is not None and pid in self._reload.incoming:
            self._reload.incoming.discard(pid)
            self._reload.kept.append(slot)
            logger.error("reload: new worker %d (pid %d) exited with status %d before serving",
                         slot, pid, code)
        if not self._covered(slot):
            return False
        if code != 0:
            logger.warning("worker %d (pid %d) exited with status %d; another holds its slot",
                           slot, pid, code)
        return True

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
        return server.reuse_port and server.process.listener is not None \
            and not server.address.is_unix

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.children.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def force_stop(self, server: Server) -> None:
        self._signal_all(signal.SIGKILL)

    def _spawn(self, server: Server, slot: int) -> int | None:
        """Fork the worker for ``slot``; its pid, or None if the system refused (retried next
        tick).

        Signals are blocked across fork so that a SIGTERM cannot reach the child while it
        still runs the master's handler; the child unblocks them once its own are in place.
        """
        beat = self.heartbeats.take()
        if beat is None:  # every index taken by retiring workers: wait for one to exit
            return None
        signal.pthread_sigmask(signal.SIG_BLOCK, _FORK_BLOCKED)
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORK_BLOCKED)
            self.heartbeats.release(beat)
            logger.error("cannot start worker %d (%s); retrying", slot, exc.strerror)
            return None
        if pid == 0:
            code = EXIT_BOOT_FAILURE
            try:
                code = self._worker_main(server, slot, beat)
            except BaseException:
                logger.exception("worker %d failed", slot)
            finally:
                with contextlib.suppress(BaseException):
                    server.process_ending()
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORK_BLOCKED)
        self.children.pids.add(pid)
        self._workers[pid] = _Worker(slot, beat, time.monotonic())
        return pid

    # -- worker ---------------------------------------------------------------------------
    def _worker_main(self, server: Server, slot: int, beat: int) -> int:
        """Runs in the child: its own serving state and signals, then the inner mode."""
        master = server.process
        listener = master.listener
        if listener is not None:
            listener.forget_path()
        if self._listeners:  # keep this slot's socket, drop the inherited copies of the rest
            for other, copy in self._listeners.items():
                if other != slot:
                    copy.socket.close()
            listener = self._listeners[slot]
        budget = None
        if self.max_requests:
            budget = self.max_requests + random.randint(0, self.jitter)  # noqa: S311
        self._watch_master(server, beat, master.waker, listener, budget)
        self.children = Children()
        if self.worker_init is not None:
            try:
                self.worker_init()
            except Exception:
                logger.exception("worker %d failed to start", slot)
                return EXIT_BOOT_FAILURE
        assert self.worker_mode is not None
        self.heartbeats.serve(beat)
        master.waker.wake()  # a reload waits for this before the old worker drains
        self.worker_mode.serve(server)
        return 0

    def _watch_master(self, server: Server, beat: int, master_waker: Waker,
                      listener: Listener | None, budget: int | None) -> None:
        """The worker's serving state (``ServingProcess``) and its side of the contract with
        its master: heartbeat and connection count, retiring, the signals it sends (SIGTERM:
        stop, or drain for a reload; SIGABRT: hung), and stopping if it dies. Beats several
        times per timeout, so a healthy idle worker never looks hung."""
        master, worker_mode, heartbeats = self._master, self.worker_mode, self.heartbeats
        assert worker_mode is not None

        def orphaned() -> bool:
            if os.getppid() == master:
                return False
            if not process.stop_requested:
                logger.warning("master (pid %d) is gone: this worker stops", master)
            return True

        def heartbeat() -> None:
            heartbeats.beat(beat)
            heartbeats.count(beat, worker_mode.active_connections(server))
            if orphaned():
                process.request_stop()

        def retire() -> None:  # tell the master at once, so a replacement starts accepting
            heartbeats.retire(beat)
            master_waker.wake()

        def on_term(signum: int, frame: object) -> None:
            if not orphaned() and heartbeats.drain_asked(beat):
                process.recycle()  # a reload: finish every connection in hand, first requests
            else:
                process.request_stop()

        process = server.begin_process(ServingProcess(
            listener, tick_interval=min(1.0, self.worker_timeout / 4),
            connection_budget=budget, on_heartbeat=heartbeat, on_retire=retire,
            on_count=lambda count: heartbeats.count(beat, count),  # reported at Ctrl-C
        ))  # fmt: skip
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master coordinates Ctrl-C
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # and reloads
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGABRT, _exit_hung)  # the master's verdict: we are hung
        die_with_master()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORK_BLOCKED)
        if orphaned():  # it died before the kernel was told to let us know
            process.request_stop()

    def __str__(self) -> str:
        return f"prefork, workers={self.workers}, worker mode {self.worker_mode}"
