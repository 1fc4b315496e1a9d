"""The blocking accept loop shared by the sync, threads, fork and prefork modes.

* It sleeps in ``select`` on the listening socket and a :class:`Waker`; shutdown and "a slot
  is free" wake it at once, nothing polls.
* Beyond capacity it stops accepting, so excess clients wait in the kernel's listen backlog
  (1024 by default) instead of being refused or piling up as threads.
* On EMFILE/ENFILE/ENOBUFS/ENOMEM it logs (once per interval) and backs off 100 ms rather than
  spinning (SECURITY.md N01, after trio's ``serve_listeners``).
* Refused clients (access policy) are closed at once and logged.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from wirekit.net.address import Address
from wirekit.server.connlog import logger

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["CAPACITY_ERRNOS", "TRANSIENT_ERRNOS", "accept_connections"]

CAPACITY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
# accept(2): a connection that failed between SYN and accept, or a network error pending on
# it; the listening socket itself is fine, so just take the next one.
TRANSIENT_ERRNOS = {
    errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN, errno.ENOPROTOOPT,
    errno.EHOSTDOWN, errno.ENONET, errno.EHOSTUNREACH, errno.EOPNOTSUPP, errno.ENETUNREACH,
    errno.EINTR,
}
BACKOFF = 0.1  # seconds to wait after a resource-exhaustion error
LOG_INTERVAL = 5.0  # at most one "out of file descriptors" line per interval
ACCEPT_BATCH = 16  # connections accepted per wake-up before checking the waker again


class _Backoff:
    def __init__(self) -> None:
        self.last_log = 0.0

    def note(self, exc: OSError) -> None:
        now = time.monotonic()
        if now - self.last_log >= LOG_INTERVAL:
            self.last_log = now
            logger.warning("accept failed (%s); backing off %.1fs", exc.strerror, BACKOFF)


def accept_connections(
    server: Server,
    *,
    has_capacity: Callable[[], bool] = lambda: True,
    tick: Callable[[], object] | None = None,
    tick_interval: float | None = None,
) -> Iterator[tuple[socket.socket, Address]]:
    """Yield ``(socket, client)`` for each permitted client until the server stops."""
    process = server.process
    if tick_interval is None:
        tick_interval = process.tick_interval
    assert process.listener is not None  # only a stream server accepts (else: datagram)
    listening = process.listener.socket
    listening.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(process.waker, selectors.EVENT_READ)
    registered = False
    backoff = _Backoff()
    try:
        while not process.stopping.is_set():
            process.heartbeat()
            if tick is not None:
                tick()
            wanted = has_capacity()
            if wanted != registered:
                if wanted:
                    selector.register(listening, selectors.EVENT_READ)
                else:
                    selector.unregister(listening)
                registered = wanted
            events = selector.select(tick_interval)
            process.waker.drain()
            if process.stopping.is_set():
                return
            if any(key.fileobj is listening for key, _ in events):
                yield from _accept_batch(server, listening, has_capacity, backoff)
    finally:
        selector.close()


def _accept_batch(server: Server, listening: socket.socket, has_capacity: Callable[[], bool],
                  backoff: _Backoff) -> Iterator[tuple[socket.socket, Address]]:
    process = server.process
    for _ in range(ACCEPT_BATCH):
        if not has_capacity() or process.stopping.is_set():
            return
        try:
            sock, sockaddr = listening.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno in CAPACITY_ERRNOS:
                backoff.note(exc)
                time.sleep(BACKOFF)
                return
            if exc.errno in TRANSIENT_ERRNOS:
                continue
            raise
        try:
            sock.setblocking(True)
            if sock.family != socket.AF_UNIX:
                # Request/response traffic: send each reply now, not after a delayed ACK.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = Address.from_sockaddr(sock.family, sockaddr or "")
        except OSError:  # the client is already gone (reset between accept and here)
            sock.close()
            continue
        if not server.permits(client):
            logger.log(logging.WARNING, "%s refused by the access policy", client)
            sock.close()
            continue
        if process.spend_connection_budget():
            process.recycle()  # this worker stops after serving this last connection
        yield sock, client
