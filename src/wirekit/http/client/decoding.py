"""Content decoding (``gzip``, ``deflate``) with a bound on what it may produce.

A few kilobytes of gzip can inflate to gigabytes, so output is pulled, never pushed: every
``decompress`` call is given a ``max_length`` and the rest of its input waits in
``unconsumed_tail`` until the reader asks for more. ``read(amt)`` therefore returns at most
``amt`` bytes and holds at most one step of output in memory, and the total is checked
against ``max_size`` as it grows (SECURITY.md K08; urllib3 CVE-2025-66471 inflated a whole
chunk to answer ``read(1)``). More than five stacked codings are refused (CVE-2025-66418).
"""

from __future__ import annotations

import zlib
from typing import Final

from wirekit.http.client.errors import ContentDecodingError, DecompressionLimitExceeded

__all__ = ["MAX_CODINGS", "SUPPORTED", "Decoder", "content_codings"]

MAX_CODINGS: Final = 5
SUPPORTED: Final = frozenset({"gzip", "x-gzip", "deflate"})
_STEP: Final = 64 * 1024  # output produced per decompress call between checks


def content_codings(values: list[str]) -> list[str] | None:
    """The codings to undo, innermost last as listed (``identity`` dropped); ``None`` when
    one is not supported, in which case the content is handed over as it came."""
    codings = [t.strip().lower() for v in values for t in v.split(",") if t.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > MAX_CODINGS:
        raise ContentDecodingError(f"{len(codings)} content codings (at most {MAX_CODINGS})")
    if any(c not in SUPPORTED for c in codings):
        return None
    return codings


class _Stage:
    """One coding undone with zlib; remembers input it could not use yet."""

    __slots__ = ("coding", "obj", "produced", "started", "tail")

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.obj = self._new()
        self.tail = b""
        self.started = False
        self.produced = 0

    def _new(self) -> zlib._Decompress:
        if self.coding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing (RFC 1952)

    def step(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of output from the input held so far (b"": need more)."""
        while self.tail:
            data, self.tail = self.tail, b""
            try:
                out = self.obj.decompress(data, limit)
            except zlib.error as exc:
                if self.coding == "deflate" and not self.started:
                    # "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2) but some servers send raw
                    # deflate; retry once as raw, as browsers do.
                    self.started = True
                    self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.tail = data
                    continue
                raise ContentDecodingError(f"invalid {self.coding} content: {exc}") from None
            self.started = True
            self.tail = self.obj.unconsumed_tail
            if self.obj.eof and self.obj.unused_data and self.coding != "deflate":
                # Concatenated gzip members (RFC 1952 §2.2): start the next one.
                rest = self.obj.unused_data
                self.obj = self._new()
                self.tail = rest + self.tail
            if out:
                return out
        return b""


class Decoder:
    """Undoes ``codings`` (in the order the ``Content-Encoding`` lists them applied), with
    the total output of every stage bounded by ``max_size`` (``None``: unbounded)."""

    __slots__ = ("max_size", "stages")

    def __init__(self, codings: list[str], max_size: int | None) -> None:
        self.stages = [_Stage(c) for c in reversed(codings)]
        self.max_size = max_size

    def feed(self, data: bytes) -> None:
        """Add received (encoded) bytes."""
        first = self.stages[0]
        first.tail = first.tail + data if first.tail else data

    def read(self, limit: int = _STEP) -> bytes:
        """Up to ``limit`` decoded bytes from what was fed; ``b""`` when more input is needed."""
        return self._pull(len(self.stages) - 1, limit)

    def _pull(self, index: int, limit: int) -> bytes:
        stage = self.stages[index]
        while True:
            out = stage.step(min(limit, _STEP))
            if out:
                stage.produced += len(out)
                if self.max_size is not None and stage.produced > self.max_size:
                    raise DecompressionLimitExceeded(
                        f"decoded content exceeds max_decompressed={self.max_size} bytes "
                        f"({stage.coding})", limit="max_decompressed",
                    )
                return out
            if index == 0:
                return b""
            more = self._pull(index - 1, _STEP)
            if not more:
                return b""
            stage.tail = more

    def flush(self) -> bytes:
        """What remains after the last input (bounded: the input was consumed in steps)."""
        out = []
        while piece := self.read(_STEP):
            out.append(piece)
        return b"".join(out)
