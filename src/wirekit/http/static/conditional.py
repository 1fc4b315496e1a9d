"""Validators and conditional requests for files (RFC 9110 §8.8, §13).

A file's validators come from one ``stat``: a strong ETag built from its modification time in
nanoseconds and its size (what nginx does, with finer time), and ``Last-Modified`` in whole
seconds. Nothing is cached about the file itself, so an edit shows up on the next request; only
the formatting of a timestamp, a pure function, is memoised.

Preconditions are evaluated in the order of RFC 9110 §13.2.2: ``If-Match``, then
``If-Unmodified-Since`` (412 on failure), then ``If-None-Match``, then ``If-Modified-Since``
(304 for GET and HEAD). ``If-Range`` (§13.1.5) decides whether a ``Range`` is honoured.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from wirekit.proto.http import format_http_date

__all__ = ["etag_for", "if_range_allows", "last_modified", "precondition_status"]

# An entity-tag (RFC 9110 §8.8.3): optional weak prefix, then a quoted opaque string. Commas may
# appear inside the quotes, so a list is scanned for tags rather than split on commas.
_ENTITY_TAG = re.compile(r'(W/)?("[^"]*")')


def etag_for(st: os.stat_result) -> str:
    """The strong entity-tag of a file: ``"<mtime ns hex>-<size hex>"``."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


@functools.lru_cache(maxsize=4096)
def _format_seconds(seconds: int) -> str:
    return format_http_date(seconds)


def last_modified(st: os.stat_result) -> str:
    """The ``Last-Modified`` value of a file (an IMF-fixdate, whole seconds)."""
    return _format_seconds(int(st.st_mtime))


def _tag_matches(header: str, etag: str, *, weak: bool) -> bool:
    """Does the list in ``header`` contain ``etag``? Weak comparison ignores ``W/`` (§8.8.3.2)."""
    if header.strip() == "*":
        return True
    return any(tag == etag and (weak or not prefix) for prefix, tag in _ENTITY_TAG.findall(header))


def _parse_date(value: str) -> float | None:
    """Seconds since the epoch for an HTTP-date, or ``None`` when it is not one (then ignored)."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def precondition_status(environ: Mapping[str, Any], etag: str, modified: str,
                        mtime: float) -> int | None:
    """Return 412 or 304 when a precondition decides the answer, else ``None`` (serve it).

    ``modified`` is the formatted ``Last-Modified``: a client usually echoes it back verbatim,
    and an exact match is taken without parsing the date.
    """
    seconds = int(mtime)
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        if not _tag_matches(if_match, etag, weak=False):
            return 412
    else:
        since = environ.get("HTTP_IF_UNMODIFIED_SINCE")
        if since is not None and since != modified:
            date = _parse_date(since)
            if date is not None and seconds > date:
                return 412
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return 304 if _tag_matches(if_none_match, etag, weak=True) else None
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since is not None:
        if since == modified:
            return 304
        date = _parse_date(since)
        if date is not None and seconds <= date:
            return 304
    return None


def if_range_allows(value: str, etag: str, modified: str, mtime: float) -> bool:
    """True when ``If-Range: value`` still describes the file, so its ``Range`` applies.

    An entity-tag must match strongly (a weak tag never does); a date must equal
    ``Last-Modified`` exactly and be a strong validator, i.e. at least a second older than now
    (§8.8.2.2: a file changed twice within its last second would keep the same date).
    """
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    return value == modified and time.time() - mtime >= 1
