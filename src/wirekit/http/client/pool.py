"""Keep-alive connections, a bounded pool per origin (or per proxy / tunnel).

The key says everything a connection was set up with: scheme, host, port, the TLS settings
(so a connection opened with ``verify=False`` is never handed to a later verified request,
requests CVE-2024-35195 / SECURITY.md K06) and the proxy. Taking and returning a connection is
a ``list.pop``/``append`` (atomic under the GIL), so the hot path takes no lock.

A server may close an idle connection at any time. One idle for a while is checked before
reuse (a readable idle socket means EOF or garbage), and one older than ``max_idle`` is not
reused at all; the transport retries once on a fresh connection if a reused one turns out
dead before any byte of the response arrived.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Final

from wirekit.http.client.connection import ClientConnection

__all__ = ["Pool"]

_CHECK_AFTER: Final = 1.0  # seconds idle after which a socket is probed before reuse


class Pool:
    """Idle connections by key: at most ``max_per_host`` kept for each."""

    def __init__(self, max_per_host: int = 10, max_idle: float = 30.0) -> None:
        self.max_per_host = max_per_host
        self.max_idle = max_idle
        self._idle: dict[tuple, list[ClientConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, key: tuple) -> ClientConnection | None:
        """An idle connection for ``key`` that still looks alive, or ``None``."""
        idle = self._idle.get(key)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                return None
            age = time.monotonic() - conn.idle_since
            if age > self.max_idle or (age > _CHECK_AFTER and _dropped(conn)):
                conn.close()
                continue
            return conn
        return None

    def give_back(self, conn: ClientConnection) -> None:
        """Keep ``conn`` for reuse (it must be ``reusable``), or close it if the pool is full."""
        conn.make_idle()
        idle = self._idle.get(conn.key)
        if idle is None:
            with self._lock:
                idle = self._idle.setdefault(conn.key, [])
        if len(idle) < self.max_per_host and not self._closed:
            idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close every idle connection (connections in use close when their response ends)."""
        with self._lock:
            self._closed = True
            pools, self._idle = self._idle, {}
        for idle in pools.values():
            while idle:
                idle.pop().close()

    def __len__(self) -> int:
        return sum(len(v) for v in self._idle.values())


def _dropped(conn: ClientConnection) -> bool:
    """A plain idle socket that is readable was closed (or sent garbage): don't reuse it.
    TLS sockets are not probed: TLS 1.3 session tickets arrive unasked and look readable."""
    stream = conn.stream
    if stream.is_tls or stream.closed:
        return stream.closed
    try:
        readable, _, _ = select.select([stream.socket], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
