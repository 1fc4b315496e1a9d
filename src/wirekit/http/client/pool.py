"""Keep-alive connections, a bounded pool per origin (or per proxy / tunnel).

The key says everything a connection was set up with: scheme, host, port, the TLS settings
(so a connection opened with ``verify=False`` is never handed to a later verified request,
requests CVE-2024-35195 / SECURITY.md K06) and the proxy. Taking and returning a connection is
a ``list.pop``/``append`` (atomic under the GIL), so the hot path takes no lock.

Open connections (idle or in use) are capped per key too, at ``max_open``: a request that
would open one more waits, up to its connect timeout, for another to close or come back, and
then fails with ``PoolTimeout``. Only opening takes the lock; reusing an idle one does not.

A server may close an idle connection at any time, and a hostile one may send a forged second
response for the next request to read. So every plain idle socket is checked before reuse (a
readable idle socket means EOF or bytes nobody asked for: one non-blocking ``MSG_PEEK``), and
one older than ``max_idle`` is not reused at all; the transport retries once on a fresh
connection if a reused one turns out dead before any byte of the response arrived.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Final

from wirekit.errors import Timeout
from wirekit.http.client.connection import ClientConnection

__all__ = ["Pool", "PoolTimeout"]

_PEEK: Final = socket.MSG_PEEK | socket.MSG_DONTWAIT


class PoolTimeout(Timeout):
    """Every connection allowed to this host (``max_connections``) stayed busy until the
    connect timeout: raise the cap, or finish (or close) responses sooner."""


class Pool:
    """Idle connections by key (at most ``max_per_host`` kept for each) and a count of open
    ones (at most ``max_open`` for each; ``None``: no cap)."""

    def __init__(self, max_per_host: int = 10, max_idle: float = 30.0,
                 max_open: int | None = None) -> None:
        self.max_per_host = max_per_host
        self.max_idle = max_idle
        self.max_open = max_open
        self._idle: dict[tuple, list[ClientConnection]] = {}
        self._open: dict[tuple, int] = {}
        self._freed = threading.Condition(threading.RLock())
        self._closed = False

    def reserve(self, key: tuple, timeout: float | None) -> ClientConnection | None:
        """Room to open one more connection for ``key`` (``None``: counted, go ahead), or an
        idle one that came back while we waited for room (use it instead)."""
        with self._freed:
            max_open = self.max_open
            if max_open is not None and self._open.get(key, 0) >= max_open:
                deadline = None if timeout is None else time.monotonic() + timeout
                while self._open.get(key, 0) >= max_open:
                    conn = self.take(key)  # may close dead ones (re-entrant lock)
                    if conn is not None:
                        return conn
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise PoolTimeout(
                            f"all {max_open} connections to {key[1]} stayed busy "
                            "(max_connections)", timeout)
                    self._freed.wait(left)
            self._open[key] = self._open.get(key, 0) + 1
            return None

    def release(self, key: tuple) -> None:
        """One connection of ``key`` closed: wake a request waiting for room."""
        with self._freed:
            count = self._open.get(key, 0) - 1
            if count > 0:
                self._open[key] = count
            else:
                self._open.pop(key, None)
            self._freed.notify()

    def open_count(self, key: tuple) -> int:
        """Connections of ``key`` open now, idle or in use."""
        return self._open.get(key, 0)

    def take(self, key: tuple) -> ClientConnection | None:
        """An idle connection for ``key`` that still looks alive, or ``None``."""
        idle = self._idle.get(key)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                return None
            if time.monotonic() - conn.idle_since > self.max_idle or _dropped(conn):
                conn.close()
                continue
            return conn
        return None

    def give_back(self, conn: ClientConnection) -> None:
        """Keep ``conn`` for reuse (it must be ``reusable``), or close it if the pool is full."""
        conn.make_idle()
        idle = self._idle.get(conn.key)
        if idle is None:
            with self._freed:
                idle = self._idle.setdefault(conn.key, [])
        if len(idle) < self.max_per_host and not self._closed:
            idle.append(conn)
            if self.max_open is not None:
                with self._freed:  # a request may be waiting for this very connection
                    self._freed.notify()
        else:
            conn.close()

    def close(self) -> None:
        """Close every idle connection (connections in use close when their response ends)."""
        with self._freed:
            self._closed = True
            pools, self._idle = self._idle, {}
        for idle in pools.values():
            while idle:
                idle.pop().close()

    def __len__(self) -> int:
        return sum(len(v) for v in self._idle.values())


def _dropped(conn: ClientConnection) -> bool:
    """An idle connection that was closed or has bytes waiting must not be reused. Plain
    sockets are peeked at; TLS ones only checked for decrypted bytes already buffered (TLS 1.3
    session tickets arrive unasked, so a readable TLS socket is normal)."""
    stream = conn.stream
    if stream.closed or stream.pending:
        return True
    if stream.is_tls:
        return False
    try:
        stream.socket.recv(1, _PEEK)  # returns data or b"" (EOF): either way unusable
        return True
    except BlockingIOError:
        return False  # nothing to read: alive and clean
    except OSError:
        return True
