"""Content decoding: gzip/deflate, and decompression bombs stopped (SECURITY.md K08)."""

from __future__ import annotations

import functools
import gzip
import tracemalloc
import zlib

import pytest

from wirekit.http.client import ContentDecodingError, DecompressionLimitExceeded, Session, get
from wirekit.http.client.decoding import Decoder

from .apps import echo_app, routes, status_app

TEXT = b"The quick brown fox jumps over the lazy dog.\n" * 2000


@functools.cache
def bomb() -> bytes:
    """128 MiB of zeros as about 130 KB of gzip (the shape of a 1 MB -> 1 GB bomb)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([*(compressor.compress(block) for _ in range(128)), compressor.flush()])


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(("coding", "body"), [
    ("gzip", gzip.compress(TEXT)),
    ("x-gzip", gzip.compress(TEXT)),
    ("deflate", zlib.compress(TEXT)),
    ("deflate", raw_deflate(TEXT)),                     # what some servers call deflate
    ("gzip, gzip", gzip.compress(gzip.compress(TEXT))),
    ("identity, gzip", gzip.compress(TEXT)),
    ("gzip", gzip.compress(TEXT[:1000]) + gzip.compress(TEXT[1000:])),  # two members
])  # fmt: skip
def test_content_is_decoded(wsgi_server, coding, body):
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", coding)], body))
    assert get(url).content == TEXT
    with get(url, stream=True) as response:
        pieces = [response.read(7) for _ in range(3)]
        assert pieces == [TEXT[:7], TEXT[7:14], TEXT[14:21]]
        assert response.read() == TEXT[21:]
    assert get(url, decode_content=False).content == body


def test_unknown_codings_are_passed_through(wsgi_server):
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", "br")], b"\x0b\x02brotli"))
    assert get(url).content == b"\x0b\x02brotli"


@pytest.mark.parametrize(("coding", "body"), [
    ("gzip", b"\x1f\x8b\x08\x00not really gzip"),
    (", ".join(["gzip"] * 50), gzip.compress(b"x")),     # CVE-2025-66418
])  # fmt: skip
def test_corrupt_or_absurd_codings_fail(wsgi_server, coding, body):
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", coding)], body))
    with pytest.raises(ContentDecodingError):
        get(url)


def test_a_gzip_bomb_stops_at_the_limit(wsgi_server):
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", "gzip")], bomb()))
    with pytest.raises(DecompressionLimitExceeded) as info:
        Session(max_decompressed=8 << 20).get(url)
    assert info.value.limit == "max_decompressed"
    with pytest.raises(DecompressionLimitExceeded):
        get(url)  # the default limit (64 MiB) stops the 128 MiB too


def test_streaming_a_bomb_keeps_memory_flat_and_read_bounded(wsgi_server):
    # urllib3 CVE-2025-66471: read(1) must not inflate a whole received chunk.
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", "gzip")], bomb()))
    with Session(max_decompressed=None) as session:
        tracemalloc.start()
        try:
            with session.get(url, stream=True) as response:
                assert response.read(1) == b"\x00"
                total = 1
                for piece in response.iter_bytes():
                    total += len(piece)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert total == 128 << 20
    assert peak < 4 << 20


def test_a_compressed_redirect_body_is_never_inflated(wsgi_server):
    def moved(environ, start_response):
        data = bomb()
        start_response("302 Found", [("Location", "/echo"), ("Content-Encoding", "gzip"),
                                     ("Content-Length", str(len(data)))])
        return [data]

    url = wsgi_server(routes({"/moved": moved, "/echo": echo_app}))
    tracemalloc.start()
    try:
        with Session(max_decompressed=1 << 20) as session:
            response = session.get(url + "/moved")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.json()["path"] == "/echo"
    assert peak < 8 << 20  # the server's copy of the bomb is ~130 KB; nothing was inflated


def test_decoder_steps_are_bounded():
    decoder = Decoder(["gzip"], max_size=None)
    decoder.feed(gzip.compress(bytes(10 << 20)))
    sizes = []
    while piece := decoder.read(100_000):
        sizes.append(len(piece))
    assert sum(sizes) == 10 << 20 and max(sizes) <= 65536
