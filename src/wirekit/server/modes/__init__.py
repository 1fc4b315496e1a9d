"""Concurrency modes: how many handlers run at once, and where.

Each mode is a small object with ``serve(server)``; the :class:`~wirekit.server.Server` is the
same whichever is chosen (DESIGN.md principle 3: composed, not mixed in).

=========  ================================================  ==================================
mode       runs handlers                                     excess clients
=========  ================================================  ==================================
sync       one at a time in the serving thread               wait in the listen backlog
threads    on a bounded pool of threads                      wait in the backlog when all busy
fork       each in a new process (reaped; max_children)      wait in the backlog at the cap
prefork    N worker processes sharing the listening socket;  per worker, as its inner mode
           dead workers restarted, hung ones killed
async      on one asyncio event loop (uvloop if installed);  cores: idle ones closed to make
           a core's work on a pool of threads                room, else overload_response
=========  ================================================  ==================================
"""

from __future__ import annotations

from wirekit.errors import ConfigError
from wirekit.server.modes.base import Mode
from wirekit.server.modes.event_loop import Async
from wirekit.server.modes.fork import Fork
from wirekit.server.modes.prefork import Prefork
from wirekit.server.modes.sync import Sync
from wirekit.server.modes.threads import Threads

__all__ = ["MODES", "Async", "Fork", "Mode", "Prefork", "Sync", "Threads", "make_mode"]

MODES: dict[str, type[Mode]] = {
    "sync": Sync, "threads": Threads, "fork": Fork, "prefork": Prefork, "async": Async,
}


def make_mode(concurrency: str | Mode, workers: int | None = None) -> Mode:
    """A mode from its name (with ``workers`` as its size) or a ready mode object."""
    if isinstance(concurrency, Mode):
        return concurrency
    try:
        cls = MODES[concurrency]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown concurrency {concurrency!r}; choose one of {', '.join(MODES)}"
        ) from None
    return cls.sized(workers)
