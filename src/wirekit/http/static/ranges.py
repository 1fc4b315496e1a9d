"""``Range: bytes=...`` parsing with bounded work (RFC 9110 §14.1-14.2, Apache CVE-2011-3192).

The 2011 "Apache Killer" sent one request asking for ``bytes=0-,5-0,5-1,...`` hundreds of
times over, and Apache built a multipart answer out of every overlapping piece. Here a header
with more than :data:`MAX_RANGES` ranges is ignored (the whole file is sent, as Apache has done
since), and the ranges that remain are sorted and coalesced when they overlap or lie closer than
the cost of a part header (§14.2 allows both), so the answer has at most ``MAX_RANGES`` parts
that never repeat a byte.
"""

from __future__ import annotations

import re

__all__ = ["MAX_RANGES", "parse_ranges"]

#: Most ranges one header may list before it is ignored (Apache's MaxRanges default is 200).
MAX_RANGES = 100
# Ranges separated by fewer bytes than a part's own header are served as one part.
_COALESCE_GAP = 80
# first-pos "-" last-pos, or "-" suffix-length; 19 digits keep every number inside int64.
_SPEC = re.compile(r"([0-9]{0,19})-([0-9]{0,19})")


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """Parse a ``Range`` header against a representation of ``size`` bytes.

    Returns ``None`` to ignore the header (another unit, bad syntax, too many ranges: answer
    200 with the whole file), ``[]`` when no range is satisfiable (answer 416), or the sorted,
    coalesced ``(first, last)`` byte positions, inclusive, all inside the file.
    """
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    if specs.count(",") >= MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for raw in specs.split(","):
        item = raw.strip(" \t")
        if not item:
            continue  # empty list elements are allowed (RFC 9110 §5.6.1)
        match = _SPEC.fullmatch(item)
        if match is None:
            return None
        first, last = match.groups()
        if first:
            start = int(first)
            end = int(last) if last else start
            if end < start:
                return None  # an invalid range-spec makes the whole set invalid (§14.1.1)
            if not last:
                end = size - 1
        elif last:
            start, end = max(size - int(last), 0), size - 1
            if int(last) == 0:
                continue  # "bytes=-0" asks for nothing: unsatisfiable
        else:
            return None
        if start >= size:
            continue  # unsatisfiable, but others may still be satisfiable
        ranges.append((start, min(end, size - 1)))
    return coalesce(ranges)


def coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort ranges and merge those that overlap, touch, or are closer than a part header."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1 + _COALESCE_GAP:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
