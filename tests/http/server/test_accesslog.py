"""The access log's sinks: a logging record per line, or lines batched onto a stream."""

from __future__ import annotations

import io
import threading
import time
import urllib.request

from wirekit.http.server.accesslog import StreamSink, clf_line

from .conftest import hello_app


class Recording(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.writes += 1
        self.written.set()
        return super().write(text)


def test_a_line_is_common_log_format_with_what_the_client_sent_escaped():
    line = clf_line("10.0.0.1", 'GET /a"b\x1b[2J HTTP/1.1', 200, 12, stamp="STAMP")
    assert line == '10.0.0.1 - - [STAMP] "GET /a\\x22b\\x1b[2J HTTP/1.1" 200 12'


def test_lines_are_batched_into_one_write_within_the_flush_interval():
    stream = Recording()
    sink = StreamSink(stream, flush_interval=0.2)
    start = time.monotonic()
    for n in range(100):
        sink.request("127.0.0.1", f"GET /{n} HTTP/1.1", 200, 5)
    assert stream.writes == 0  # nothing written per line
    assert stream.written.wait(2)
    assert time.monotonic() - start >= 0.15
    assert stream.writes == 1 and stream.getvalue().count("\n") == 100
    assert '"GET /99 HTTP/1.1" 200 5' in stream.getvalue()


def test_a_full_batch_is_written_at_once_and_the_rest_when_the_server_stops(http_server):
    stream = Recording()
    sink = StreamSink(stream, flush_interval=60, batch_bytes=1024)
    for n in range(30):  # about 2 KiB
        sink.request("127.0.0.1", f"GET /{n} HTTP/1.1", 200, 5)
    assert stream.writes >= 1  # the batch limit, not the (long) interval
    server = http_server(hello_app, access_log=sink)
    urllib.request.urlopen(server.url + "/last", timeout=5).read()
    server.shutdown(timeout=10)
    assert '"GET /last HTTP/1.1" 200 12' in stream.getvalue()  # flushed as it stopped
