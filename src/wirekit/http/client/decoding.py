"""Content decoding (``gzip``, ``deflate``, and ``br``/``zstd`` when their packages are
installed) with a bound on what it may produce.

A few kilobytes of compressed data can inflate to gigabytes, so output is pulled, never
pushed: every decompressor call may produce at most one step of output and the rest of its
input waits until the reader asks for more. ``read(amt)`` therefore returns at most ``amt``
bytes and holds at most one step of output in memory, and the total is checked against
``max_size`` as it grows (SECURITY.md K08; urllib3 CVE-2025-66471 inflated a whole chunk to
answer ``read(1)``). More than five stacked codings are refused (CVE-2025-66418).

How each coding is kept to one step per call:

* **gzip, deflate**: zlib's ``max_length``; the input it did not use waits in
  ``unconsumed_tail``. A gzip body may hold several members (RFC 1952 §2.2), decoded one after
  the other; at the end of a member the rest of the input is ``unused_data`` *only* (zlib also
  leaves it in ``unconsumed_tail``, and taking both doubled it at each member boundary).
* **br** (RFC 7932): ``brotli.Decompressor.process(data, output_buffer_limit=...)``, brotli
  1.2 or later; an older ``brotli`` has no limit, so ``br`` is then not offered at all.
* **zstd** (RFC 8878): ``zstandard``'s decompressor has no output limit, so the input is cut
  at block boundaries (§3.1.1.2) and each call is given at most one block end: a block never
  decodes to more than ``Block_Maximum_Size`` (128 KiB). Windows above 8 MiB are refused, as
  RFC 9659 §3 lets a recipient do, so a frame cannot make us allocate more.

Strict endings, as curl: bytes after the last gzip member (or after a deflate, brotli or zstd
stream) that do not form another complete member, and content that stops in the middle of
one, raise ``ContentDecodingError`` rather than being dropped silently.
"""

from __future__ import annotations

import importlib
import zlib
from types import ModuleType
from typing import Any, Final

from wirekit.http.client.errors import ContentDecodingError, DecompressionLimitExceeded


def _optional(name: str) -> Any:
    """The module ``name``, or ``None`` when it is not installed (an optional extra)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Imported by name: brotli ships no type information, and both are optional extras.
brotli: Any = _optional("brotli")
zstandard: ModuleType | None = _optional("zstandard")

__all__ = ["MAX_CODINGS", "SUPPORTED", "Decoder", "accept_encoding", "available_codings",
           "content_codings"]  # fmt: skip

MAX_CODINGS: Final = 5
#: Always decoded (zlib is in the standard library); see ``available_codings()`` for the rest.
SUPPORTED: Final = frozenset({"gzip", "x-gzip", "deflate"})
_STEP: Final = 64 * 1024  # output produced per decompress call between checks
_ZSTD_MAX_WINDOW: Final = 8 << 20  # RFC 9659 §3: recipients may refuse larger windows
_ZSTD_MAX_BLOCK: Final = 128 * 1024  # RFC 8878 §3.1.1.2.4 Block_Maximum_Size


def available_codings() -> frozenset[str]:
    """The content codings this installation decodes: gzip and deflate always, ``br`` with
    ``brotli`` >= 1.2 (``pip install wirekit[brotli]``), ``zstd`` with ``zstandard``."""
    codings = set(SUPPORTED)
    if brotli is not None and hasattr(brotli.Decompressor, "can_accept_more_data"):
        codings.add("br")  # 1.2 added output_buffer_limit, which the bound relies on
    if zstandard is not None:
        codings.add("zstd")
    return frozenset(codings)


def accept_encoding() -> str:
    """The ``Accept-Encoding`` value a session sends: only what it can decode."""
    codings = available_codings()
    return ", ".join(c for c in ("gzip", "deflate", "br", "zstd") if c in codings)


def content_codings(values: list[str]) -> list[str] | None:
    """The codings to undo, innermost last as listed (``identity`` dropped); ``None`` when
    one is not supported, in which case the content is handed over as it came."""
    codings = [t.strip().lower() for v in values for t in v.split(",") if t.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > MAX_CODINGS:
        raise ContentDecodingError(f"{len(codings)} content codings (at most {MAX_CODINGS})")
    available = available_codings()
    if any(c not in available for c in codings):
        return None
    return codings


class _Stage:
    """One coding undone: input waits in ``tail``; output beyond a step waits in ``held``."""

    __slots__ = ("coding", "held", "produced", "tail")

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.tail = b""
        self.held = b""
        self.produced = 0

    def give(self, data: bytes) -> None:
        """Add input (the previous stage's output, or received bytes)."""
        self.tail = self.tail + data if self.tail else data

    def step(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of output from the input held so far (b"": need more)."""
        out = self.held or self._produce(limit)
        if len(out) > limit:
            out, self.held = out[:limit], out[limit:]
        else:
            self.held = b""
        return out

    def _produce(self, limit: int) -> bytes:
        """About ``limit`` bytes (at most one decompressor step) from ``tail``."""
        raise NotImplementedError

    def finish(self) -> None:
        """The input ended: raise if it stopped in the middle of a member or stream."""
        raise NotImplementedError

    def _error(self, what: object) -> ContentDecodingError:
        return ContentDecodingError(f"invalid {self.coding} content: {what}")


class _ZlibStage(_Stage):
    """gzip (any number of members) or deflate (zlib-wrapped, or raw as some servers send)."""

    __slots__ = ("done", "first", "more", "obj")

    def __init__(self, coding: str) -> None:
        super().__init__(coding)
        self.obj: Any = None  # zlib._Decompress while inside a member, None between them
        # deflate: the input kept until zlib has checked its header, to retry it as raw
        self.first: bytes | None = b"" if coding == "deflate" else None
        self.more = False  # zlib may hold output for input it already took
        self.done = False  # deflate: the stream ended

    def _new(self) -> Any:
        if self.coding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing (RFC 1952)

    def _produce(self, limit: int) -> bytes:
        while self.tail or self.more:
            if self.obj is None:
                if self.done:
                    raise self._error("data after the end of the stream")
                self.obj = self._new()
            data, self.tail = self.tail, b""
            try:
                out = self.obj.decompress(data, limit)
            except zlib.error as exc:
                if self.first is not None:
                    # "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2) but some servers send raw
                    # deflate; retry once as raw, as browsers do, from the very first byte.
                    self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.tail, self.first = self.first + data, None
                    continue
                raise self._error(exc) from None
            self._after(data, out, limit)
            if out:
                return out
        return b""

    def _after(self, data: bytes, out: bytes, limit: int) -> None:
        obj = self.obj
        if self.first is not None:
            self.first += data
            if len(self.first) >= 2:  # zlib has checked the two-byte header
                self.first = None
        if obj.eof:
            # At a member's end the rest of the input is unused_data; unconsumed_tail may hold
            # the same bytes again, so it must not be added (issue 13).
            self.tail, self.obj, self.more = obj.unused_data, None, False
            self.done = self.coding == "deflate"
        else:
            self.tail = obj.unconsumed_tail
            self.more = len(out) >= limit

    def finish(self) -> None:
        if self.obj is not None or self.tail:
            raise self._error("truncated (the content ended inside a member)")


class _BrotliStage(_Stage):
    """br (RFC 7932), with brotli's own output limit."""

    __slots__ = ("more", "obj", "started")

    def __init__(self, coding: str) -> None:
        super().__init__(coding)
        self.obj = brotli.Decompressor()
        self.started = False
        self.more = False  # the last call stopped at the limit: output may be pending

    def _produce(self, limit: int) -> bytes:
        obj = self.obj
        while True:
            if self.more or not obj.can_accept_more_data():
                data = b""  # pending output is drained with empty input (brotli's rule)
            elif self.tail:
                if obj.is_finished():
                    raise self._error("data after the end of the stream")
                data, self.tail, self.started = self.tail, b"", True
            else:
                return b""
            try:
                out: bytes = obj.process(data, output_buffer_limit=limit)
            except brotli.error as exc:
                raise self._error(exc) from None
            self.more = len(out) >= limit
            if out or (not data and not obj.can_accept_more_data()):
                return out  # (the second case cannot progress: never spin on it)

    def finish(self) -> None:
        if self.started and not self.obj.is_finished():
            raise self._error("truncated (the content ended inside the stream)")


class _ZstdFrames:
    """Finds where zstd blocks and frames end (RFC 8878 §3.1), so each call to the
    decompressor is given at most one block end and so decodes at most 128 KiB."""

    __slots__ = ("checksum", "last", "left", "state")

    _COUNTED: Final = frozenset({"header", "content", "checksum", "skip"})

    def __init__(self) -> None:
        self.state = "magic"  # magic, header, block, content, checksum, skip
        self.left = 0  # bytes still to pass in a counted state
        self.last = False  # the block being passed is the frame's last
        self.checksum = False  # the frame ends with a 4-byte Content_Checksum

    @property
    def between(self) -> bool:
        """At a frame boundary (before the first frame, or after a complete one)."""
        return self.state == "magic"

    def scan(self, data: bytes, start: int) -> int:
        """The end of what may be decoded now from ``data[start:]``: up to and including
        the next block or frame end, or less when a header is still incomplete."""
        pos, size = start, len(data)
        while True:
            state = self.state
            if state in self._COUNTED:
                taken = min(self.left, size - pos)
                pos, self.left = pos + taken, self.left - taken
                if self.left:
                    return pos
                if state == "header":
                    self.state = "block"
                    continue
                if state == "content" and self.last and self.checksum:
                    self.state, self.left = "checksum", 4
                else:
                    self.state = "block" if state == "content" and not self.last else "magic"
                return pos  # a block or a frame ended: decode it before reading on
            if state == "magic":
                if size - pos < 8:
                    return pos
                self._frame_header(data, pos)
            else:  # "block": Last_Block, Block_Type, Block_Size in 3 bytes (§3.1.1.2)
                if size - pos < 3:
                    return pos
                header = int.from_bytes(data[pos:pos + 3], "little")
                kind, length = (header >> 1) & 3, header >> 3
                if kind == 3 or length > _ZSTD_MAX_BLOCK:
                    raise ContentDecodingError("invalid zstd content: bad block header")
                self.last, pos = bool(header & 1), pos + 3
                self.state, self.left = "content", 1 if kind == 1 else length  # RLE: 1 byte

    def _frame_header(self, data: bytes, pos: int) -> None:
        """Enter the frame starting at ``pos`` (8 bytes are there)."""
        magic = int.from_bytes(data[pos:pos + 4], "little")
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame (§3.1.2): size, then data
            self.state = "skip"
            self.left = 8 + int.from_bytes(data[pos + 4:pos + 8], "little")
            return
        if magic != 0xFD2FB528:
            raise ContentDecodingError("invalid zstd content: not a zstd frame")
        descriptor = data[pos + 4]  # Frame_Header_Descriptor (§3.1.1.1.1)
        if descriptor & 0x08:
            raise ContentDecodingError("invalid zstd content: reserved bit set")
        single = descriptor >> 5 & 1
        self.left = (5 + (0 if single else 1) + (0, 1, 2, 4)[descriptor & 3]
                     + ((1 if single else 0), 2, 4, 8)[descriptor >> 6])  # fmt: skip
        self.state, self.checksum = "header", bool(descriptor & 0x04)


class _ZstdStage(_Stage):
    """zstd (RFC 8878): one decompressor per frame, fed at most one block end per call."""

    __slots__ = ("frames", "obj", "offset")

    def __init__(self, coding: str) -> None:
        super().__init__(coding)
        self.frames = _ZstdFrames()
        self.obj: Any = None
        self.offset = 0  # where the undecoded input starts in tail (no copy per block)

    def give(self, data: bytes) -> None:
        self.tail, self.offset = self.tail[self.offset:] + data, 0

    def _produce(self, limit: int) -> bytes:
        assert zstandard is not None  # a zstd stage is only made when it is installed
        while self.offset < len(self.tail):
            start = self.offset
            end = self.frames.scan(self.tail, start)
            if end == start:
                return b""  # a header is incomplete: wait for more input
            self.offset = end
            if self.obj is None:
                decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
                self.obj = decompressor.decompressobj()
            try:
                out: bytes = self.obj.decompress(self.tail[start:end])
            except zstandard.ZstdError as exc:
                raise self._error(exc) from None
            if self.frames.between:
                self.obj = None  # the frame is complete; the next one gets a new decoder
            if out:
                return out
        self.tail, self.offset = b"", 0
        return b""

    def finish(self) -> None:
        if not self.frames.between or self.offset < len(self.tail):
            raise self._error("truncated (the content ended inside a frame)")


def _stage(coding: str) -> _Stage:
    if coding == "br":
        return _BrotliStage(coding)
    if coding == "zstd":
        return _ZstdStage(coding)
    return _ZlibStage(coding)


class Decoder:
    """Undoes ``codings`` (in the order the ``Content-Encoding`` lists them applied), with
    the total output of every stage bounded by ``max_size`` (``None``: unbounded)."""

    __slots__ = ("max_size", "stages")

    def __init__(self, codings: list[str], max_size: int | None) -> None:
        self.stages = [_stage(c) for c in reversed(codings)]
        self.max_size = max_size

    def feed(self, data: bytes) -> None:
        """Add received (encoded) bytes."""
        self.stages[0].give(data)

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
            stage.give(more)

    def flush(self) -> bytes:
        """What remains after the last input (bounded: the input was consumed in steps);
        ``ContentDecodingError`` if the content stopped inside a member or frame."""
        out = []
        while piece := self.read(_STEP):
            out.append(piece)
        for stage in self.stages:
            stage.finish()
        return b"".join(out)
