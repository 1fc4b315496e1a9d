"""``sync``: one client at a time, in the serving thread (the course's first server)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from wirekit.server.acceptor import accept_connections
from wirekit.server.datagrams import receive_datagrams
from wirekit.server.modes.base import Mode
from wirekit.server.runner import serve_connection, serve_datagram

if TYPE_CHECKING:
    from wirekit.server.server import Server

__all__ = ["Sync"]


class Sync(Mode):
    name = "sync"

    def serve(self, server: Server) -> None:
        if server.datagram is not None:
            for datagram in receive_datagrams(server):
                serve_datagram(server, datagram.data, datagram.sender)
            return
        watchdog = threading.Thread(target=_grace_watchdog, args=(server,), daemon=True)
        watchdog.start()
        for sock, client in accept_connections(server):
            serve_connection(server, sock, client)
        server.close_listener()


def _grace_watchdog(server: Server) -> None:
    """The handler runs in the serving thread, so only another thread can end it when the
    grace period after a stop request is over."""
    server.process.stopping.wait()
    server.process.close_idle_connections()
    grace = server.timeouts.shutdown_grace
    if not server.stopped.wait(grace) and server.active_connections:
        server.process.force_close_active()
