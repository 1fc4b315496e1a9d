"""The ``Date`` header value (RFC 9110 §5.6.7 IMF-fixdate), cached per second.

An origin server with a clock MUST send ``Date`` on 2xx, 3xx and 4xx responses (RFC 9110
§6.6.1). Formatting a date costs a few microseconds, which is real money on a hot path that
answers tens of thousands of requests a second, and the value only changes once a second; so
the formatted string is cached and rebuilt at most once per second.
"""

from __future__ import annotations

import time
from email.utils import formatdate

__all__ = ["format_http_date", "http_date"]

# (whole second, formatted value). One tuple, replaced atomically, so concurrent callers in
# threads can at worst both format the same second; they never see a torn pair.
_cache: tuple[int, str] = (-1, "")


def format_http_date(timestamp: float) -> str:
    """Format a POSIX timestamp as an IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``.

    ``email.utils.formatdate`` is used rather than ``time.strftime`` because ``%a``/``%b``
    follow the C locale of the process, and HTTP dates must be English (RFC 9110 §5.6.7).
    """
    return formatdate(timestamp, usegmt=True)


def http_date(now: float | None = None) -> str:
    """Return the current time as an IMF-fixdate, reformatted at most once a second.

    ``now`` lets tests pin the clock; production callers pass nothing.
    """
    global _cache  # noqa: PLW0603 - a deliberate one-entry cache shared by all connections
    if now is None:
        now = time.time()
    second = int(now)
    cached_second, value = _cache
    if second != cached_second:
        value = format_http_date(second)
        _cache = (second, value)
    return value
