"""Wake a sleeping accept loop from another thread or a signal handler (no polling).

A socketpair whose read end sits in the loop's selector: ``wake()`` writes one byte. Used for
shutdown requests and for "a worker slot is free again".
"""

from __future__ import annotations

import contextlib
import socket

__all__ = ["Waker"]


class Waker:
    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        return self._reader.fileno()

    def wake(self) -> None:
        """Safe from any thread and from signal handlers; a full pipe already means "awake"."""
        with contextlib.suppress(BlockingIOError, OSError):
            self._writer.send(b"\0")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._reader.recv(4096):
                pass

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
