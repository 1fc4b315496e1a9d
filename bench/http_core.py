"""Benchmark the sans-IO HTTP/1.1 core: wirekit vs h11 vs bare httptools callbacks.

N pipelined keep-alive GET requests (browser-like, seven fields) arrive in 64 KiB reads; each
is parsed and answered with a small response, as a server's hot loop does without the socket.
Time spent inside the serialising calls is counted as "serialise", the rest as "parse", so
each side is measured where it really runs (both cores need the response sent before the next
cycle). Bare httptools is the floor: callbacks that only collect the URL and fields, and a
hand-joined response, with none of the checks, limits or state a server needs.

    .venv/bin/python bench/http_core.py              # 20 000 requests, best of 3
    .venv/bin/python bench/http_core.py -n 50000 -r 5
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import h11
import httptools

from wirekit.proto.http import NEED_DATA, Connection, EndOfMessage, Request, Role, http_date

REQUEST = (
    b"GET /plaintext?page=1 HTTP/1.1\r\n"
    b"Host: localhost:8080\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)
BODY = b"Hello, World!"
RESPONSE_FIELDS = [("Content-Type", "text/plain; charset=utf-8")]
READ_SIZE = 65536

Timing = tuple[float, float]  # (parse seconds, serialise seconds)


def reads(n: int) -> list[bytes]:
    stream = REQUEST * n
    return [stream[i : i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]


def run_wirekit(chunks: list[bytes], n: int) -> Timing:
    conn = Connection(Role.SERVER)
    clock = time.perf_counter
    served = 0
    serialise = 0.0
    out = []
    start = clock()
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            if type(event) is EndOfMessage:
                t0 = clock()
                out.append(conn.send_response(200, RESPONSE_FIELDS, BODY))
                serialise += clock() - t0
                conn.start_next_cycle()
                served += 1
            else:
                assert type(event) is Request
    total = clock() - start
    assert served == n, served
    return total - serialise, serialise


def run_h11(chunks: list[bytes], n: int) -> Timing:
    conn = h11.Connection(h11.SERVER)
    clock = time.perf_counter
    served = 0
    serialise = 0.0
    out = []
    start = clock()
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not h11.NEED_DATA:
            if type(event) is h11.EndOfMessage:
                t0 = clock()
                headers = [*RESPONSE_FIELDS, ("Content-Length", str(len(BODY))),
                           ("Date", http_date()), ("Server", "h11")]  # fmt: skip
                out.append(conn.send(h11.Response(status_code=200, headers=headers)))
                out.append(conn.send(h11.Data(data=BODY)))
                out.append(conn.send(h11.EndOfMessage()))
                serialise += clock() - t0
                conn.start_next_cycle()
                served += 1
    total = clock() - start
    assert served == n, served
    return total - serialise, serialise


class _Bare:
    """The least a caller of httptools must do: collect the URL and the fields."""

    __slots__ = ("done", "fields", "url")

    def __init__(self) -> None:
        self.url = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.done: list[tuple[bytes, list[tuple[bytes, bytes]]]] = []

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))

    def on_message_complete(self) -> None:
        self.done.append((self.url, self.fields))
        self.fields = []


def run_httptools(chunks: list[bytes], n: int) -> Timing:
    proto = _Bare()
    parser = httptools.HttpRequestParser(proto)
    clock = time.perf_counter
    served = 0
    serialise = 0.0
    out = []
    start = clock()
    for chunk in chunks:
        parser.feed_data(chunk)
        for _url, _fields in proto.done:
            t0 = clock()
            out.append(b"".join([
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n",
                b"Content-Length: %d\r\nDate: %s\r\nServer: bare\r\n\r\n"
                % (len(BODY), http_date().encode()), BODY]))  # fmt: skip
            serialise += clock() - t0
            served += 1
        proto.done.clear()
    total = clock() - start
    assert served == n, served
    return total - serialise, serialise


def best_of(run: Callable[[list[bytes], int], Timing], n: int, repeat: int) -> Timing:
    chunks = reads(n)
    results = []
    for _ in range(repeat):
        gc.collect()
        results.append(run(chunks, n))
    return min(r[0] for r in results), min(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=20_000)
    parser.add_argument("-r", "--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.requests
    results = {
        "wirekit": best_of(run_wirekit, n, args.repeat),
        "h11": best_of(run_h11, n, args.repeat),
        "httptools (bare)": best_of(run_httptools, n, args.repeat),
    }
    print(f"{n} pipelined keep-alive GETs ({len(REQUEST)} bytes each), best of {args.repeat}")
    print(f"{'':18}{'parse req/s':>14}{'serialise req/s':>18}{'cycle req/s':>14}"
          f"{'us/request':>12}")  # fmt: skip
    for name, (parse, serialise) in results.items():
        cycle = parse + serialise
        print(f"{name:18}{n / parse:>14,.0f}{n / serialise:>18,.0f}{n / cycle:>14,.0f}"
              f"{cycle / n * 1e6:>12.2f}")  # fmt: skip
    wk, h, bare = (sum(results[k]) for k in ("wirekit", "h11", "httptools (bare)"))
    print(f"wirekit is {h / wk:.1f}x h11 and {bare / wk:.2f}x bare httptools per full cycle "
          f"(parse: {results['h11'][0] / results['wirekit'][0]:.1f}x h11)")


if __name__ == "__main__":
    main()
