"""The blocking receive loop for datagram servers (UDP and Unix datagrams)."""

from __future__ import annotations

import selectors
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from wirekit.errors import MessageTooLarge, NetworkError, Timeout
from wirekit.net.datagram import Datagram
from wirekit.server.connlog import logger

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["receive_datagrams"]


def receive_datagrams(server: Server, tick_interval: float | None = None,
                      has_capacity: Callable[[], bool] = lambda: True,
                      tick: Callable[[], object] | None = None) -> Iterator[Datagram]:
    """Yield permitted datagrams until the server stops. Oversized datagrams and ICMP errors
    from earlier replies are logged and skipped: one bad packet never stops the server. While
    ``has_capacity()`` is false nothing is read: datagrams wait in the socket buffer (and the
    kernel drops what does not fit, as UDP does), instead of queueing without bound here."""
    process = server.process
    endpoint = server.datagram
    assert endpoint is not None
    if tick_interval is None:
        tick_interval = process.tick_interval
    selector = selectors.DefaultSelector()
    selector.register(endpoint.socket, selectors.EVENT_READ)
    selector.register(process.waker, selectors.EVENT_READ)
    try:
        while not process.stopping.is_set():
            process.heartbeat()
            if tick is not None:
                tick()
            if not has_capacity():
                if selector.select(0.05):
                    process.waker.drain()
                continue
            events = selector.select(tick_interval)
            process.waker.drain()
            if process.stopping.is_set() or \
                    not any(k.fileobj is endpoint.socket for k, _ in events):
                continue
            try:
                datagram = endpoint.receive(timeout=tick_interval)
            except MessageTooLarge as exc:
                logger.warning("dropped a datagram: %s", exc)
                continue
            except (Timeout, NetworkError, ConnectionError):
                continue  # e.g. ECONNREFUSED left by an earlier reply to a closed port
            if server.permits(datagram.sender):
                yield datagram
            else:
                logger.warning("%s refused by the access policy", datagram.sender)
    finally:
        selector.close()
