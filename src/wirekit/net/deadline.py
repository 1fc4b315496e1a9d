"""A deadline shared by the steps of one operation.

A multi-step operation (connect, TLS handshake, send, receive a whole message) gets one
``Deadline``; each step asks it how long it may still wait. This is what stops a slowloris peer
that sends one byte just before every per-recv timeout (SECURITY.md L04): the total is bounded,
not each call.
"""

from __future__ import annotations

import time

from wirekit.errors import ConfigError, Timeout

__all__ = ["Deadline"]


class Deadline:
    """A point in time after which waiting stops, with the phase named in the error.

    ``Deadline(None)`` never expires; it has to be asked for explicitly.
    """

    __slots__ = ("_expires", "seconds")

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and not seconds > 0:
            raise ConfigError(f"a timeout must be > 0 seconds or None, got {seconds!r}")
        self.seconds = seconds
        self._expires = None if seconds is None else time.monotonic() + seconds

    @classmethod
    def since(cls, started: float, seconds: float | None) -> Deadline:
        """A deadline ``seconds`` after the monotonic time ``started`` (already running)."""
        deadline = cls(seconds)
        if seconds is not None:
            deadline._expires = started + seconds
        return deadline

    @property
    def expired(self) -> bool:
        return self._expires is not None and time.monotonic() >= self._expires

    def remaining(self, phase: str = "operation") -> float | None:
        """Seconds left (``None`` for no limit); raises :class:`Timeout` once it has passed."""
        if self._expires is None:
            return None
        left = self._expires - time.monotonic()
        if left <= 0:
            raise Timeout(phase, self.seconds)
        return left

    def __repr__(self) -> str:
        if self._expires is None:
            return "Deadline(None)"
        return f"Deadline({self.seconds!r}, remaining={self._expires - time.monotonic():.3f})"
