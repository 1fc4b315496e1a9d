"""The four feeding strategies for testing a sans-IO core (DESIGN.md, "Tests").

A parser that works when a message arrives whole may still fail when it arrives in pieces,
and the pieces a network delivers are arbitrary. A core's pure tests therefore feed each
vector four ways and require the same outcome every time:

    from wirekit.testing import FEEDS

    for name, split in FEEDS.items():
        parser = ReplyParser()
        for piece in split(b"250-a\\r\\n250 b\\r\\n"):
            parser.receive_data(piece)
        ...

``whole`` (one piece), ``bytewise`` (one byte at a time: every partial state is visited),
``random`` (seeded random cuts, so a failure reproduces) and ``crlf`` (every CR and every LF
in a piece of its own: the cut that breaks naive line splitting).
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["FEEDS", "at_crlf", "bytewise", "random_splits", "whole"]


def whole(data: bytes) -> list[bytes]:
    """The data in one piece."""
    return [data] if data else []


def bytewise(data: bytes) -> list[bytes]:
    """One byte at a time."""
    return [data[i:i + 1] for i in range(len(data))]


def random_splits(data: bytes, seed: int = 0x5EED) -> list[bytes]:
    """Cut at seeded random places (about one cut per seven bytes)."""
    if len(data) < 2:
        return whole(data)
    rng = random.Random(seed ^ len(data))  # noqa: S311 - reproducible cuts, not secrets
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 1 + len(data) // 7)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def at_crlf(data: bytes) -> list[bytes]:
    """Cut before and after every CR and LF, so each arrives in a piece of its own."""
    pieces: list[bytes] = []
    start = 0
    for i, byte in enumerate(data):
        if byte in (0x0D, 0x0A):
            pieces.extend(p for p in (data[start:i], data[i:i + 1]) if p)
            start = i + 1
    if start < len(data):
        pieces.append(data[start:])
    return pieces


#: name -> strategy, for ``pytest.mark.parametrize`` or a loop.
FEEDS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": whole,
    "bytewise": bytewise,
    "random": random_splits,
    "crlf": at_crlf,
}
