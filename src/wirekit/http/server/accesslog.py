"""The access log: one line per request in the Common Log Format (NCSA, as Apache writes it).

    127.0.0.1 - - [24/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 1043

Everything that came from the client is escaped: control bytes, ``"``, ``\\\\`` and anything
outside printable ASCII become ``\\\\xHH``, so a request line cannot forge a second log line or
drive the terminal that displays it (SECURITY.md L07; Apache's ``ap_escape_logitem``).

Two sinks take the lines. :class:`LoggerSink` sends each to the ``wirekit.http.access``
logger (what ``HTTPServer(access_log=True)`` does: a logging record per request, for
applications that route logs themselves). :class:`StreamSink` writes them to a stream in
batches, which is what ``wirekit serve`` uses: a logging record costs about as much as a
whole hello-world request, and a write per line as much again (bench/README.md), so lines
are joined and written at most every ``flush_interval`` seconds or every 32 KiB, by one
flusher thread woken when the first line of a batch arrives.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Protocol, TextIO

__all__ = ["AccessSink", "LoggerSink", "StreamSink", "access_logger", "clf_line", "escape",
           "log_request"]

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


class _Clock:
    """The CLF timestamp, formatted once per second."""

    __slots__ = ("second", "text")

    def __init__(self) -> None:
        self.second, self.text = -1, ""

    def now(self) -> str:
        now = time.time()
        if int(now) != self.second:
            self.second, self.text = int(now), _clf_time(now)
        return self.text


def clf_line(remote: str, request_line: str, status: int, size: int | None, user: str = "-",
             stamp: str | None = None) -> str:
    """One CLF line, without its newline; ``size`` None (or 0) is written ``-``."""
    return (f'{remote or "-"} - {escape(user)} [{stamp or _clf_time(time.time())}] '
            f'"{escape(request_line)}" {status} {size or "-"}')


class AccessSink(Protocol):
    """Where access log lines go."""

    def request(self, remote: str, request_line: str, status: int, size: int | None,
                user: str = "-") -> None: ...


class LoggerSink:
    """Each line as a record of the ``wirekit.http.access`` logger (at INFO)."""

    def request(self, remote: str, request_line: str, status: int, size: int | None,
                user: str = "-") -> None:
        if access_logger.isEnabledFor(logging.INFO):
            access_logger.info("%s", clf_line(remote, request_line, status, size, user))


class StreamSink:
    """Lines written to ``stream`` in batches (see the module docstring); thread-safe."""

    def __init__(self, stream: TextIO, flush_interval: float = 0.2,
                 batch_bytes: int = 32 * 1024) -> None:
        self.stream = stream
        self.flush_interval = flush_interval
        self.batch_bytes = batch_bytes
        self.lines: list[str] = []
        self.size = 0
        self.clock = _Clock()
        self.lock = threading.Lock()
        self.pending = threading.Event()  # set when a batch has started
        self.flusher: threading.Thread | None = None
        self.flusher_pid = 0  # a forked worker starts its own (threads do not survive fork)

    def request(self, remote: str, request_line: str, status: int, size: int | None,
                user: str = "-") -> None:
        line = clf_line(remote, request_line, status, size, user, self.clock.now()) + "\n"
        with self.lock:
            self.lines.append(line)
            self.size += len(line)
            first, full = len(self.lines) == 1, self.size >= self.batch_bytes
        if full:
            self.flush()
        elif first:
            if self.flusher_pid != os.getpid():
                self._start_flusher()
            self.pending.set()

    def flush(self) -> None:
        with self.lock:
            lines, self.lines, self.size = self.lines, [], 0
        if lines:
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):  # a closed or broken log stream loses lines, not
                pass                        # requests

    def _start_flusher(self) -> None:
        with self.lock:
            if self.flusher_pid != os.getpid():
                self.flusher_pid = os.getpid()
                self.pending = threading.Event()
                self.flusher = threading.Thread(target=self._flush_batches, daemon=True,
                                                name="wirekit-access-log")
                self.flusher.start()

    def _flush_batches(self) -> None:
        while True:
            self.pending.wait()  # the first line of a batch arrived
            self.pending.clear()
            time.sleep(self.flush_interval)  # let the batch fill; lines are at most this late
            self.flush()


def log_request(remote: str, request_line: str, status: int, size: int | None,
                user: str = "-") -> None:
    """Write one CLF line to the ``wirekit.http.access`` logger."""
    LoggerSink().request(remote, request_line, status, size, user)
