"""What every concurrency mode provides, and the shared graceful-drain helper."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from wirekit.errors import ConfigError
from wirekit.server.connlog import logger
from wirekit.server.core import ConnectionCore
from wirekit.server.handlers import (
    AsyncStreamHandler,
    DatagramHandler,
    Handler,
    StreamHandler,
)

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["BLOCKING_HANDLERS", "Mode", "drain"]

BLOCKING_HANDLERS: tuple[type[Handler], ...] = (StreamHandler, DatagramHandler, ConnectionCore)


class Mode:
    """A concurrency mode. Subclasses set ``name`` and ``handlers`` and implement ``serve``."""

    name = "mode"
    handlers: tuple[type[Handler], ...] = BLOCKING_HANDLERS
    #: What an application sees (PEP 3333 ``wsgi.multithread`` / ``wsgi.multiprocess``): may
    #: another thread of this process run it at the same time, may another process?
    multithread: bool = False
    multiprocess: bool = False

    @classmethod
    def sized(cls, workers: int | None) -> Mode:
        """The mode with ``workers`` as its main size (threads, children, processes)."""
        if workers is not None:
            raise ConfigError(f"the {cls.name} mode takes no worker count")
        return cls()

    def check_handler(self, handler: type[Handler]) -> None:
        if not issubclass(handler, self.handlers):
            if issubclass(handler, AsyncStreamHandler):
                hint = "use concurrency='async' (or prefork with async workers)"
            else:
                hint = ("use a StreamHandler with sync/threads/fork/prefork, or a FramedHandler "
                        "or another connection core")
            raise ConfigError(f"the {self.name} mode cannot run {handler.__name__}: {hint}")

    def serve(self, server: Server) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def active_connections(self, server: Server) -> int:
        """Connections being served now, for the line logged at the first stop signal. The
        default counts the server's tracked streams; a mode serving them elsewhere (in child
        processes, on its own event loop) overrides it."""
        return server.active_connections

    def force_stop(self, server: Server) -> None:
        """A second signal: stop without waiting any longer (override to kill processes)."""

    def __str__(self) -> str:
        return self.name


def drain(server: Server, busy: Callable[[], int], changed: threading.Condition) -> None:
    """After accepting stopped: wait up to the grace period for ``busy()`` to reach 0, then
    shut down the connections still open so their handlers end. ``changed`` is notified
    whenever ``busy()`` drops: the wait wakes on it, not on a poll (and once per tick, so a
    draining prefork worker still reports that it is alive)."""
    grace = server.timeouts.shutdown_grace
    deadline = None if grace is None else time.monotonic() + grace
    server.process.close_idle_connections()
    if not _wait_until_idle(server, busy, changed, deadline):
        closed = server.process.force_close_active()
        logger.warning("grace period over: closed %d connection(s) still open", closed)
        _wait_until_idle(server, busy, changed, time.monotonic() + 5)


def _wait_until_idle(server: Server, busy: Callable[[], int], changed: threading.Condition,
                     deadline: float | None) -> bool:
    """True once ``busy()`` is 0, False if ``deadline`` passed first."""
    while True:
        server.process.heartbeat()  # a draining prefork worker is alive, not hung
        step = server.process.tick_interval
        if deadline is not None:
            step = min(step, deadline - time.monotonic())
            if step <= 0:
                return not busy()
        with changed:
            if changed.wait_for(lambda: not busy(), step):
                return True
