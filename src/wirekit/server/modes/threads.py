"""``threads``: a bounded pool of reusable threads.

Unlike ``socketserver.ThreadingMixIn`` (a new, unbounded thread per client), at most
``max_workers`` handlers run at once; while all are busy the accept loop stops accepting, so
further clients wait in the kernel's listen backlog rather than costing a thread each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import TYPE_CHECKING

from wirekit.errors import ConfigError
from wirekit.server.acceptor import accept_connections
from wirekit.server.datagrams import receive_datagrams
from wirekit.server.modes.base import Mode, drain
from wirekit.server.runner import serve_connection, serve_datagram

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["ThreadPool", "Threads"]


class ThreadPool:
    """Daemon worker threads started on demand up to ``size`` and then reused.

    Daemon threads, so that a handler stuck past the grace period cannot keep the process
    alive at exit (``concurrent.futures`` joins its workers at interpreter exit).
    """

    def __init__(self, size: int, name: str = "wirekit-worker",
                 on_idle: Callable[[], None] | None = None) -> None:
        self.size = size
        self.name = name
        self._queue: SimpleQueue[tuple[Callable[..., None], tuple] | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.busy = 0
        self.idle_changed = threading.Condition()
        self._on_idle = on_idle  # told after each job, once its slot is free again

    def submit(self, fn: Callable[..., None], *args: object) -> None:
        with self._lock:
            self.busy += 1
            if self.busy > len(self._threads) < self.size:  # every thread is busy: add one
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self.name}-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
        self._queue.put((fn, args))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, args = item
            try:
                fn(*args)
            except BaseException:  # noqa: S110 - a job's own errors are its runner's to log;
                pass  # this thread must survive even SystemExit to keep the pool its size
            finally:
                with self._lock:
                    self.busy -= 1
                with self.idle_changed:
                    self.idle_changed.notify_all()
                if self._on_idle is not None:
                    self._on_idle()

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


class Threads(Mode):
    name = "threads"
    multithread = True

    def __init__(self, max_workers: int = 64) -> None:
        if max_workers < 1:
            raise ConfigError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = max_workers

    @classmethod
    def sized(cls, workers: int | None) -> Threads:
        return cls() if workers is None else cls(max_workers=workers)

    def serve(self, server: Server) -> None:
        # A finished job wakes the accept loop only after its slot is counted free.
        pool = ThreadPool(self.max_workers, on_idle=server.process.waker.wake)

        def has_capacity() -> bool:
            return pool.busy < self.max_workers

        try:
            if server.datagram is not None:
                for datagram in receive_datagrams(server, has_capacity=has_capacity):
                    pool.submit(serve_datagram, server, datagram.data, datagram.sender)
            else:
                for sock, client in accept_connections(server, has_capacity=has_capacity):
                    pool.submit(serve_connection, server, sock, client)
            server.close_listener()
            drain(server, lambda: pool.busy, pool.idle_changed)
        finally:
            pool.stop()

    def __str__(self) -> str:
        return f"threads, max_workers={self.max_workers}"
