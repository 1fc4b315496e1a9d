"""The channel's own error: the peer closed, as ``multiprocessing.connection`` says it."""

from __future__ import annotations

from wirekit.errors import ConnectionClosed

__all__ = ["ChannelClosed"]


class ChannelClosed(ConnectionClosed, EOFError):
    """The peer closed the channel between messages. Also an ``EOFError``, which is what
    code written for ``multiprocessing.connection`` catches around ``recv()``."""
