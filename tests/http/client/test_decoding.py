"""Content decoding: gzip/deflate, and decompression bombs stopped (SECURITY.md K08)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import itertools
import random
import tracemalloc
import types
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wirekit.http.client import (
    ContentDecodingError,
    DecompressionLimitExceeded,
    Session,
    decoding,
    get,
)
from wirekit.http.client.decoding import Decoder, accept_encoding, available_codings
from wirekit.testing import serve_wsgi

from .apps import echo_app, routes, status_app

brotli = decoding.brotli  # None when not installed (the tests needing it are skipped)
zstandard = decoding.zstandard

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
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", "lzma")], b"\x0b\x02lzma"))
    assert get(url).content == b"\x0b\x02lzma"


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


# -- gzip members (RFC 1952 §2.2), issue 13 -------------------------------------------------


def members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(part) for part in parts)


def streamed_digest(session: Session, url: str) -> tuple[str, int, int]:
    """sha256 and size of a streamed body, and the traced peak while it was read."""
    digest, size = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        with session.get(url, stream=True) as response:
            for piece in response.iter_bytes():
                digest.update(piece)
                size += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return digest.hexdigest(), size, peak


@pytest.mark.parametrize("parts", [
    [random.Random(1).randbytes(100) * 2000] * 2,   # two honest 200 kB members
    [bytes(1 << 20)] * 3,                           # three 1 MiB members, 3 KiB on the wire
    [b"", TEXT, b"", b"", TEXT[:5]],                # empty members anywhere
], ids=["two-200kB", "three-1MiB", "empty-members"])  # fmt: skip
def test_gzip_members_decode_exactly_and_boundedly(wsgi_server, parts):
    # Issue 13: at each member boundary the leftover input was appended twice, so two 200 kB
    # members ended in DecompressionLimitExceeded after 64 MiB of repeated output.
    body = members(*parts)
    expected = b"".join(parts)
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", "gzip")], body))
    assert get(url).content == expected
    with Session() as session:
        digest, size, peak = streamed_digest(session, url)
    assert (digest, size) == (hashlib.sha256(expected).hexdigest(), len(expected))
    assert peak < 1 << 20  # one step of output at a time, whatever the member sizes


@pytest.fixture(scope="module")
def split_server():
    """Serves ``plan["body"]`` with ``plan["coding"]``, chunked at ``plan["cuts"]`` (each
    piece its own chunk, so the client receives the content in those pieces)."""
    plan: dict = {}

    def app(environ, start_response):
        body, cuts = plan["body"], sorted({c for c in plan["cuts"] if 0 < c < len(plan["body"])})
        start_response("200 OK", [("Content-Encoding", plan["coding"])])
        edges = [0, *cuts, len(body)]
        return [body[a:b] for a, b in itertools.pairwise(edges)]

    with serve_wsgi(app) as url, Session() as session:
        yield plan, url, session


def frame_bodies(coding: str, parts: list[bytes]) -> bytes:
    if coding == "gzip":
        return members(*parts)
    if coding == "zstd":
        skip = (0x184D2A5A).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"abc"
        frames = [zstandard.ZstdCompressor(write_checksum=i % 2 == 0).compress(part)
                  for i, part in enumerate(parts)]
        return skip.join(frames)
    return brotli.compress(b"".join(parts))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(coding=st.sampled_from(["gzip", "zstd", "br"]),
       parts=st.lists(st.one_of(st.binary(max_size=300), st.builds(bytes, st.integers(0, 300_000))),
                      min_size=1, max_size=4),
       cuts=st.lists(st.integers(1, 2000), max_size=12))
def test_members_and_frames_split_anywhere_decode_exactly(split_server, coding, parts, cuts):
    if coding not in available_codings():
        pytest.skip(f"{coding} is not installed")
    plan, url, session = split_server
    body = frame_bodies(coding, parts)
    # Cuts near every boundary: small offsets, and offsets spread over the whole body.
    plan.update(body=body, coding=coding,
                cuts=[*cuts, *(c * len(body) // 2001 for c in cuts)])
    assert session.get(url).content == b"".join(parts)


@pytest.mark.parametrize(("coding", "body"), [
    ("gzip", gzip.compress(TEXT) + b"trailing garbage"),    # curl: error, not silence
    ("gzip", gzip.compress(TEXT) + b"\x1f"),                # the start of a member, no more
    ("gzip", gzip.compress(TEXT)[:-4]),                     # truncated inside the trailer
    ("gzip", members(TEXT, TEXT)[:-100]),                   # truncated second member
    ("deflate", zlib.compress(TEXT) + b"x"),                # bytes after the zlib stream
    ("deflate", zlib.compress(TEXT)[:-10]),
])  # fmt: skip
def test_trailing_garbage_and_truncation_are_errors(wsgi_server, coding, body):
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", coding)], body))
    with pytest.raises(ContentDecodingError):
        get(url)
    with get(url, stream=True) as response:
        assert response.read(len(TEXT) // 2) == TEXT[:len(TEXT) // 2]  # streaming gets the rest
        with pytest.raises(ContentDecodingError):
            response.read()


def test_an_empty_gzip_body_and_an_empty_member_are_fine(wsgi_server):
    assert get(wsgi_server(status_app("200 OK", [("Content-Encoding", "gzip")], b""))
               ).content == b""
    assert get(wsgi_server(status_app("200 OK", [("Content-Encoding", "gzip")],
                                      gzip.compress(b"")))).content == b""


# -- br and zstd ----------------------------------------------------------------------------

needs_br = pytest.mark.skipif("br" not in available_codings(), reason="brotli>=1.2 missing")
needs_zstd = pytest.mark.skipif("zstd" not in available_codings(), reason="zstandard missing")


@functools.cache
def big_bomb(coding: str) -> bytes:
    """1 GiB of zeros: about 1.6 KB as brotli, 32 KB as zstd."""
    block = bytes(1 << 20)
    if coding == "br":
        compressor = brotli.Compressor(quality=5)
        return b"".join([*(compressor.process(block) for _ in range(1024)), compressor.finish()])
    zstd = zstandard.ZstdCompressor(level=3).compressobj()
    return b"".join([*(zstd.compress(block) for _ in range(1024)), zstd.flush()])


def rle_bomb(blocks: int) -> bytes:
    """A hand-made zstd frame of RLE blocks (RFC 8878 §3.1.1.2): 4 bytes -> 128 KiB each."""
    def block(last: int) -> bytes:
        return ((128 * 1024) << 3 | 1 << 1 | last).to_bytes(3, "little") + b"\0"

    header = (0xFD2FB528).to_bytes(4, "little") + bytes([0x00, (23 - 10) << 3])  # 8 MiB window
    return header + block(0) * (blocks - 1) + block(1)


@pytest.mark.parametrize("coding", [
    pytest.param("br", marks=needs_br), pytest.param("zstd", marks=needs_zstd)])
@pytest.mark.parametrize("layers", [1, 2])
def test_br_and_zstd_are_decoded(wsgi_server, coding, layers):
    body = frame_bodies(coding, [TEXT[:3000], TEXT[3000:]])
    header = coding
    if layers == 2:
        body, header = gzip.compress(body), f"{coding}, gzip"
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", header)], body))
    assert get(url).content == TEXT
    with get(url, stream=True) as response:
        assert response.read(7) == TEXT[:7]
        assert response.read() == TEXT[7:]
    assert get(url, decode_content=False).content == body


@needs_br
@needs_zstd
def test_the_default_accept_encoding_offers_what_is_installed(wsgi_server):
    answer = get(wsgi_server(echo_app)).json()
    assert answer["headers"]["accept-encoding"] == "gzip, deflate, br, zstd"


@pytest.mark.slow
@pytest.mark.parametrize("coding", [
    pytest.param("br", marks=needs_br), pytest.param("zstd", marks=needs_zstd)])
def test_br_and_zstd_bombs_stop_at_the_limit_with_small_memory(wsgi_server, coding):
    body = big_bomb(coding)
    assert len(body) < 1 << 20  # 1 MB -> 1 GB
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", coding)], body))
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionLimitExceeded) as info:
            Session(max_decompressed=1 << 20).get(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.limit == "max_decompressed"
    assert peak < 4 << 20  # the 1 MiB decoded so far, and one step
    with Session(max_decompressed=None) as session, session.get(url, stream=True) as response:
        assert response.read(1) == b"\x00"  # read(1) does not inflate a whole chunk
        total = 1
        tracemalloc.start()
        try:
            for piece in response.iter_bytes():
                total += len(piece)
                if total > 256 << 20:
                    break
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert total > 256 << 20 and peak < 2 << 20


@needs_zstd
def test_a_zstd_rle_bomb_is_decoded_one_block_at_a_time():
    # zstandard has no output limit: the decoder cuts the input after each block instead.
    decoder = Decoder(["zstd"], max_size=None)
    decoder.feed(rle_bomb(4096))  # 16 KiB -> 512 MiB
    stage = decoder.stages[0]
    sizes, held = [], 0
    while len(sizes) < 2000 and (piece := decoder.read(100_000)):
        sizes.append(len(piece))
        held = max(held, len(stage.held))
    assert set(sizes) == {65536} and held <= 65536
    with pytest.raises(DecompressionLimitExceeded):
        small = Decoder(["zstd"], max_size=1 << 20)
        small.feed(rle_bomb(4096))
        while small.read():
            pass


@needs_zstd
def test_a_zstd_window_above_8_mib_is_refused(wsgi_server):
    # RFC 9659 §3: the zstd coding limits the window to 8 MiB; a larger one is not allocated.
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=24)
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    body = compressor.compress(TEXT) + compressor.flush()
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", "zstd")], body))
    with pytest.raises(ContentDecodingError):
        get(url)


@pytest.mark.parametrize(("coding", "body"), [
    pytest.param("br", lambda: brotli.compress(TEXT) + b"junk", marks=needs_br),
    pytest.param("br", lambda: brotli.compress(TEXT)[:-20], marks=needs_br),
    pytest.param("zstd", lambda: zstandard.ZstdCompressor().compress(TEXT) + b"junk!!!!",
                 marks=needs_zstd),
    pytest.param("zstd", lambda: zstandard.ZstdCompressor().compress(TEXT) + b"\x28\xb5",
                 marks=needs_zstd),
    pytest.param("zstd", lambda: zstandard.ZstdCompressor().compress(TEXT)[:-3],
                 marks=needs_zstd),
])  # fmt: skip
def test_br_and_zstd_garbage_and_truncation_are_errors(wsgi_server, coding, body):
    url = wsgi_server(status_app("200 OK", [("Content-Encoding", coding)], body()))
    with pytest.raises(ContentDecodingError):
        get(url)


def test_without_the_packages_br_and_zstd_are_neither_offered_nor_decoded(
        wsgi_server, monkeypatch):
    monkeypatch.setattr(decoding, "brotli", None)
    monkeypatch.setattr(decoding, "zstandard", None)
    assert available_codings() == {"gzip", "x-gzip", "deflate"}
    assert accept_encoding() == "gzip, deflate"
    with Session() as session:  # the header is chosen when a session is made
        answer = session.get(wsgi_server(echo_app)).json()
        assert answer["headers"]["accept-encoding"] == "gzip, deflate"
        for coding in ("br", "zstd", "gzip, br"):
            url = wsgi_server(status_app("200 OK", [("Content-Encoding", coding)], b"\x0braw"))
            assert session.get(url).content == b"\x0braw"  # handed over as it came


def test_a_brotli_without_an_output_limit_is_not_used(monkeypatch):
    # brotli < 1.2 has no output_buffer_limit: decoding with it could not be bounded.
    monkeypatch.setattr(decoding, "brotli", types.SimpleNamespace(Decompressor=object))
    assert "br" not in available_codings()
    assert "br" not in accept_encoding()


@settings(max_examples=200, deadline=None)
@given(coding=st.sampled_from(["gzip", "deflate", "zstd", "br"]),
       parts=st.lists(st.one_of(st.binary(max_size=200), st.builds(bytes, st.integers(0, 200_000))),
                      min_size=1, max_size=4),
       cuts=st.lists(st.integers(0, 3000), max_size=20), limit=st.sampled_from([1, 1000, 65536]))
def test_the_decoder_gives_the_same_bytes_however_the_input_is_cut(coding, parts, cuts, limit):
    """The pure tier of the test above: exact cut points, and reads of every size between."""
    if coding not in available_codings():
        pytest.skip(f"{coding} is not installed")
    if coding == "deflate":
        body = zlib.compress(b"".join(parts)) if len(cuts) % 2 else raw_deflate(b"".join(parts))
    else:
        body = frame_bodies(coding, parts)
    decoder, out = Decoder([coding], max_size=None), []
    edges = [0, *sorted({c for c in cuts if c < len(body)}), len(body)]
    for start, end in itertools.pairwise(edges):
        decoder.feed(body[start:end])
        while piece := decoder.read(limit):
            assert len(piece) <= limit
            out.append(piece)
    out.append(decoder.flush())
    assert b"".join(out) == b"".join(parts)
