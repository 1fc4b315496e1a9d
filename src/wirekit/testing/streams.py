"""``stream_pair()``: two connected :class:`~wirekit.net.Stream` objects, for testing code that
reads and writes a stream without a server (a framer, a protocol shell).

    from wirekit.testing import stream_pair

    with stream_pair() as (left, right):
        left.sendall(b"ping\\n")
        assert right.readline() == b"ping\\n"

They are the two ends of a Unix socket pair: real sockets with real timeouts and EOF (close
one end and the other reads ``b""``), nothing on the network.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from wirekit.net.stream import Stream

__all__ = ["stream_pair"]


@contextlib.contextmanager
def stream_pair(**options: Any) -> Iterator[tuple[Stream, Stream]]:
    """Two connected streams; ``options`` go to both (``timeouts=``, ``limits=``)."""
    first, second = socket.socketpair()
    with Stream(first, **options) as left, Stream(second, **options) as right:
        yield left, right
