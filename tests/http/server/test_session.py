"""The HTTP session core, pure: bytes and clock ticks in, actions out; no socket, no sleep.

Every per-connection decision of the HTTP server lives in ``HTTPSession``; these tests drive
it through a recording shell (the ``Shell`` and ``WorkIO`` of ``wirekit.server.core``) and a
fake clock, with each input fed four ways: whole, byte by byte, at random splits and at
every CRLF.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from types import SimpleNamespace
from typing import Any

import pytest

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Timeouts
from wirekit.errors import Timeout
from wirekit.http.server.environ import EnvironTemplate
from wirekit.http.server.files import FileWrapper
from wirekit.http.server.session import (
    INLINE_BODY,
    LAST_CALL,
    LINGER_SECONDS,
    OUTPUT_SLICE,
    HTTPSession,
)
from wirekit.net.address import Address


class RecordingShell:
    """A ``Shell`` that records what the core asks for, and the ``WorkIO`` of its work."""

    zero_copy = None

    def __init__(self) -> None:
        self.clock = 100.0
        self.sent = bytearray()
        self.deadline: float | None = None
        self.works: list[Any] = []
        self.closed: float | None = None
        self.aborted = False
        self.writing_paused = False
        self.incoming: list[bytes] = []  # what work's recv() returns, in order

    # Shell
    def now(self) -> float:
        return self.clock

    def send(self, data: bytes) -> None:
        self.sent += data

    def run(self, work: Any) -> None:
        self.works.append(work)

    def set_deadline(self, when: float | None) -> None:
        self.deadline = when

    def start_tls(self) -> None:
        raise AssertionError("HTTP does not start TLS mid-connection")

    def close(self, linger: float = 0.0) -> None:
        if self.closed is None:
            self.closed = linger

    def abort(self) -> None:
        self.aborted = True
        self.closed = 0.0

    # WorkIO
    def recv(self, timeout: float | None) -> bytes:
        if not self.incoming:
            raise Timeout("read", timeout)
        return self.incoming.pop(0)

    def take(self) -> bytes:
        out, self.sent = bytes(self.sent), bytearray()
        return out


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    text = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {len(body)}".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [text]


def make_session(app: Any = echo_app, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 access_log: bool = False) -> tuple[HTTPSession, RecordingShell]:
    template = EnvironTemplate(server_name="127.0.0.1", server_port="80", url_scheme="http",
                               multithread=True, multiprocess=False, file_wrapper=FileWrapper)
    server = SimpleNamespace(limits=DEFAULT_LIMITS, server_header="wirekit", timeouts=timeouts,
                             environ_template=template, app=app, access_log=access_log,
                             access_sink=None)
    session = HTTPSession(Address.of("127.0.0.1:5000"), server)
    shell = RecordingShell()
    session.connection_made(shell)
    return session, shell


def settle(session: HTTPSession, shell: RecordingShell) -> None:
    """Run the work the core handed off, as a driver would, until none is left."""
    drive(session, shell, [])


def drive(session: HTTPSession, shell: RecordingShell, pieces: list[bytes]) -> None:
    """What a driver does: deliver bytes while the core is free; while work runs, the bytes
    still to come are the work's to read (``WorkIO.recv``), and what it leaves is delivered
    to the core after ``work_done``, in order."""
    pending = list(pieces)
    while pending or shell.works:
        if shell.works:
            work = shell.works.pop(0)
            shell.incoming, pending = pending, []
            work(shell)
            pending, shell.incoming = shell.incoming, []
            session.work_done(work)
        else:
            session.data_received(pending.pop(0))


def splits(data: bytes, how: str) -> list[bytes]:
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i:i + 1] for i in range(len(data))]
    if how == "random":
        rng, out, i = random.Random(len(data)), [], 0
        while i < len(data):
            n = rng.randint(1, 17)
            out.append(data[i:i + n])
            i += n
        return out
    parts = data.split(b"\r\n")
    return [p + b"\r\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


FEEDS = ["whole", "bytes", "random", "crlf"]
PIPELINE = (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n"
            b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize("how", FEEDS)
def test_pipelined_requests_are_answered_in_order_however_the_bytes_arrive(how):
    session, shell = make_session()
    drive(session, shell, splits(PIPELINE, how))
    out = shell.take()
    bodies = [b"GET /a 0", b"POST /b 5", b"POST /c 3", b"GET /d 0"]
    positions = [out.find(body) for body in bodies]
    assert -1 not in positions and positions == sorted(positions), out
    assert out.count(b"HTTP/1.1 200 OK") == 4
    assert shell.closed == 0.0 and not shell.aborted  # Connection: close honoured


@pytest.mark.parametrize("how", FEEDS)
def test_a_head_that_trickles_in_gets_408_at_the_header_deadline(how):
    session, shell = make_session()
    start = shell.clock
    assert shell.deadline == start + DEFAULT_TIMEOUTS.header  # the first request's head
    head = b"GET /slow HTTP/1.1\r\nHost: x\r\n"
    for piece in splits(head, how):
        shell.clock += 0.5
        session.data_received(piece)
    # the deadline runs from the head's first byte, not from the last one
    assert shell.deadline == pytest.approx(start + 0.5 + DEFAULT_TIMEOUTS.header)
    shell.clock = shell.deadline
    session.deadline_reached()
    out = shell.take()
    assert out.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in out
    assert shell.closed == LINGER_SECONDS
    assert session.outcome.startswith("closed on header timeout")


def test_keep_alive_runs_from_the_end_of_the_response_and_closes_silently():
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, keep_alive=0.5)
    session, shell = make_session(timeouts=timeouts)
    drive(session, shell, [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert shell.take().startswith(b"HTTP/1.1 200 ")
    assert shell.deadline == shell.clock + 0.5 and session.idle
    shell.clock += 0.5
    session.deadline_reached()
    assert shell.closed == 0.0 and shell.take() == b""
    assert session.outcome == "closed on idle timeout"


def test_none_means_wait_forever_for_every_timeout():
    forever = Timeouts(header=None, keep_alive=None, read=None, write=None)
    session, shell = make_session(timeouts=forever)
    assert shell.deadline is None
    session.data_received(b"GET / HT")
    assert shell.deadline is None
    session.data_received(b"TP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab")
    assert shell.deadline is None  # the rest of the content: no read deadline either
    session.data_received(b"c")
    settle(session, shell)
    assert shell.take().endswith(b"GET / 3") and shell.deadline is None


def test_small_content_is_collected_before_the_application_runs():
    session, shell = make_session()
    session.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
    assert shell.works == []  # no thread is committed to a slow sender
    assert shell.deadline == shell.clock + DEFAULT_TIMEOUTS.read
    session.data_received(b"cd")
    assert len(shell.works) == 1
    settle(session, shell)
    assert shell.take().endswith(b"POST / 4")


def test_large_content_streams_to_the_application_through_work_io():
    session, shell = make_session()
    size = INLINE_BODY + 10
    session.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
    assert len(shell.works) == 1  # the application reads wsgi.input as it arrives
    drive(session, shell, [b"x" * 1000] * (size // 1000) + [b"x" * (size % 1000)])
    assert shell.take().endswith(b"POST / %d" % size)


def test_a_request_during_a_graceful_stop_is_answered_with_connection_close():
    session, shell = make_session()
    session.stop()
    assert shell.closed is None  # idle: kept, so a request already on its way is answered
    assert shell.deadline == shell.clock + LAST_CALL
    drive(session, shell, [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"])
    out = shell.take()
    assert out.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in out
    assert shell.closed == 0.0


def test_refusals_are_logged_with_the_client_and_the_request_line(caplog):
    session, shell = make_session()
    with caplog.at_level(logging.INFO, "wirekit.http.server"):
        session.data_received(b"GET /x HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
    assert shell.take().startswith(b"HTTP/1.1 400 ")
    assert shell.closed == LINGER_SECONDS
    assert any("127.0.0.1" in r.getMessage() and "GET /x HTTP/1.1" in r.getMessage()
               for r in caplog.records)


def test_a_long_response_leaves_in_slices_and_waits_for_a_slow_reader():
    def big(environ, start_response):
        start_response("200 OK", [("Content-Length", str(4 * OUTPUT_SLICE))])
        return (b"y" * 65536 for _ in range(4 * OUTPUT_SLICE // 65536))

    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, write=7.0)
    session, shell = make_session(big, timeouts=timeouts)
    shell.writing_paused = True  # the client reads nothing
    session.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    settle(session, shell)
    first = len(shell.take())
    assert OUTPUT_SLICE <= first < 2 * OUTPUT_SLICE  # one slice, then no work waits
    assert shell.works == [] and shell.deadline == shell.clock + 7.0
    shell.writing_paused = False
    session.writable()
    settle(session, shell)
    assert first + len(shell.take()) > 4 * OUTPUT_SLICE and session.idle


def test_a_client_that_never_reads_is_cut_off_at_the_write_deadline():
    def big(environ, start_response):
        start_response("200 OK", [])
        return (b"y" * 65536 for _ in range(100))

    session, shell = make_session(big)
    shell.writing_paused = True
    session.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    settle(session, shell)
    shell.clock = shell.deadline
    session.deadline_reached()
    assert shell.aborted and "stopped reading" in session.outcome


def test_outside_script_name_is_404_without_running_the_application():
    ran = []

    def app(environ, start_response):
        ran.append(1)
        return []

    session, shell = make_session(app)
    session.server.environ_template = EnvironTemplate(
        server_name="h", server_port="80", url_scheme="http", multithread=True,
        multiprocess=False, file_wrapper=FileWrapper, script_name="/app")
    drive(session, shell, [b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert shell.take().startswith(b"HTTP/1.1 404 ") and ran == []
