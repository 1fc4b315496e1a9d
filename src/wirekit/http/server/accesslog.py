"""The access log: one line per request in the Common Log Format (NCSA, as Apache writes it).

    127.0.0.1 - - [24/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 1043

Everything that came from the client is escaped: control bytes, ``"``, ``\\`` and anything
outside printable ASCII become ``\\xHH``, so a request line cannot forge a second log line or
drive the terminal that displays it (SECURITY.md L07; Apache's ``ap_escape_logitem``).
"""

from __future__ import annotations

import logging
import re
import time

__all__ = ["access_logger", "escape", "log_request"]

access_logger = logging.getLogger("wirekit.http.access")

_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\uffff"\\]')
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _hex(match: re.Match[str]) -> str:
    return "".join(f"\\x{b:02x}" for b in match.group().encode("utf-8", "surrogateescape"))


def escape(text: str) -> str:
    """``text`` with every byte a log reader could misread written as ``\\xHH``."""
    return _UNSAFE.sub(_hex, text) if _UNSAFE.search(text) else text


def _clf_time(now: float) -> str:
    t = time.gmtime(now)
    return (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000")


def log_request(remote: str, request_line: str, status: int, size: int | None,
                user: str = "-") -> None:
    """Write one CLF line (``size`` None for "no content", written ``-``)."""
    access_logger.info('%s - %s [%s] "%s" %d %s', remote or "-", escape(user),
                       _clf_time(time.time()), escape(request_line), status,
                       size or "-")
