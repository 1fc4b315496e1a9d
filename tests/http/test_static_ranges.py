"""Range requests on StaticFiles: 206, multipart/byteranges, 416, If-Range, and S08 abuse."""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirekit.http.static import StaticFiles
from wirekit.http.static.ranges import MAX_RANGES, parse_ranges
from wirekit.testing import serve_wsgi

from .static_support import RawResponse, curl, raw_request

DATA = bytes(range(256)) * 4000  # 1 024 000 bytes: above the in-memory threshold
SMALL = b"0123456789" * 100  # 1000 bytes: read in one piece


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ranges")
    (path / "big.bin").write_bytes(DATA)
    (path / "small.txt").write_bytes(SMALL)
    (path / "empty.txt").write_bytes(b"")
    old = time.time() - 3600  # a Last-Modified that is a strong validator (> 1 s old)
    for name in ("big.bin", "small.txt", "empty.txt"):
        os.utime(path / name, (old, old))
    return path


@pytest.fixture(scope="module")
def url(root: Path) -> Iterator[str]:
    with serve_wsgi(StaticFiles(root)) as base:
        yield base


def get(url: str, target: str, **headers: str) -> RawResponse:
    return raw_request(url, target, headers={k.replace("_", "-"): v for k, v in headers.items()})


def parse_multipart(answer: RawResponse) -> list[tuple[str, str, bytes]]:
    """Split a multipart/byteranges body by hand (exact bytes), then cross-check with email."""
    content_type = answer.header("Content-Type")
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", content_type)
    assert match, content_type
    boundary = match.group(1).encode()
    body = answer.body
    assert len(body) == int(answer.header("Content-Length"))
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    chunks = body[: -len(b"\r\n--" + boundary + b"--\r\n")].split(b"\r\n--" + boundary + b"\r\n")
    assert chunks[0].startswith(b"--" + boundary + b"\r\n")
    chunks[0] = chunks[0][len(b"--" + boundary + b"\r\n"):]
    parts = []
    for chunk in chunks:
        head, _, data = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((fields["Content-Type"], fields["Content-Range"], data))
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    assert message.is_multipart()
    assert [p["Content-Range"] for p in message.iter_parts()] == [p[1] for p in parts]
    return parts


def test_single_range(url: str):
    answer = get(url, "/big.bin", Range="bytes=100-199")
    assert answer.status == 206
    assert answer.header("Content-Range") == f"bytes 100-199/{len(DATA)}"
    assert answer.header("Content-Length") == "100"
    assert answer.header("Content-Type") == "application/octet-stream"
    assert answer.body == DATA[100:200]


@pytest.mark.parametrize(("spec", "first", "last"), [
    ("bytes=-10", len(SMALL) - 10, len(SMALL) - 1),       # suffix
    ("bytes=990-", 990, len(SMALL) - 1),                   # open-ended
    ("bytes=995-5000", 995, len(SMALL) - 1),               # end past EOF is clamped
    ("bytes=-5000", 0, len(SMALL) - 1),                    # suffix longer than the file
    ("bytes=0-0", 0, 0),
    ("BYTES = 5-6", 5, 6),                                 # unit is case-insensitive
])
def test_range_forms_on_a_small_file(url: str, spec: str, first: int, last: int):
    answer = get(url, "/small.txt", Range=spec)
    assert answer.status == 206
    assert answer.header("Content-Range") == f"bytes {first}-{last}/{len(SMALL)}"
    assert answer.body == SMALL[first:last + 1]


def test_curl_range(url: str):
    answer = curl("-r", "1000-1999", url + "/big.bin")
    assert (answer.status, answer.body) == (206, DATA[1000:2000])


def test_multiple_ranges_are_multipart_byteranges(url: str):
    answer = get(url, "/big.bin", Range="bytes=0-9, 500000-500009,-4")
    assert answer.status == 206
    parts = parse_multipart(answer)
    size = len(DATA)
    assert parts == [
        ("application/octet-stream", f"bytes 0-9/{size}", DATA[0:10]),
        ("application/octet-stream", f"bytes 500000-500009/{size}", DATA[500000:500010]),
        ("application/octet-stream", f"bytes {size - 4}-{size - 1}/{size}", DATA[-4:]),
    ]


def test_multipart_on_a_text_file_keeps_its_type(url: str):
    parts = parse_multipart(get(url, "/small.txt", Range="bytes=0-1,900-901"))
    assert [p[0] for p in parts] == ["text/plain; charset=utf-8"] * 2
    assert [p[2] for p in parts] == [b"01", b"01"]


@pytest.mark.parametrize("spec", [f"bytes={len(SMALL)}-", "bytes=5000-6000", "bytes=-0",
                                  f"bytes={len(SMALL)}-,-0"])
def test_unsatisfiable_is_416_with_the_length(url: str, spec: str):
    answer = get(url, "/small.txt", Range=spec)
    assert answer.status == 416
    assert answer.header("Content-Range") == f"bytes */{len(SMALL)}"


def test_any_range_of_an_empty_file_is_unsatisfiable(url: str):
    answer = get(url, "/empty.txt", Range="bytes=0-")
    assert (answer.status, answer.header("Content-Range")) == (416, "bytes */0")


@pytest.mark.parametrize("spec", ["items=0-1", "bytes=abc", "bytes=5-1", "bytes=1-2-3",
                                  "bytes=--1", "bytes", "bytes=+1-2", "bytes=0x1-2",
                                  "bytes=" + "9" * 30 + "-"])
def test_invalid_ranges_are_ignored(url: str, spec: str):
    answer = get(url, "/small.txt", Range=spec)
    assert (answer.status, answer.body) == (200, SMALL)


def test_satisfiable_ranges_win_over_unsatisfiable_ones(url: str):
    answer = get(url, "/small.txt", Range="bytes=5000-,10-11")
    assert (answer.status, answer.body) == (206, b"01")


def test_head_ignores_range(url: str):
    answer = raw_request(url, "/small.txt", method="HEAD", headers={"Range": "bytes=0-1"})
    assert answer.status == 200
    assert answer.header("Content-Length") == str(len(SMALL))


# -- If-Range ------------------------------------------------------------------------------


def test_if_range_with_the_current_etag_gives_the_range(url: str):
    etag = get(url, "/big.bin").header("ETag")
    answer = get(url, "/big.bin", Range="bytes=0-9", If_Range=etag)
    assert (answer.status, answer.body) == (206, DATA[:10])


@pytest.mark.parametrize("validator", ['"stale"', "Sat, 01 Jan 2000 00:00:00 GMT"])
def test_if_range_that_no_longer_matches_gives_the_whole_file(url: str, validator: str):
    answer = get(url, "/small.txt", Range="bytes=0-9", If_Range=validator)
    assert (answer.status, answer.body) == (200, SMALL)


def test_if_range_weak_etag_never_matches(url: str):
    etag = get(url, "/small.txt").header("ETag")
    answer = get(url, "/small.txt", Range="bytes=0-9", If_Range="W/" + etag)
    assert answer.status == 200


def test_if_range_with_the_exact_date(url: str):
    modified = get(url, "/small.txt").header("Last-Modified")
    answer = get(url, "/small.txt", Range="bytes=0-9", If_Range=modified)
    assert (answer.status, answer.body) == (206, SMALL[:10])


def test_if_range_date_of_a_file_changed_this_second_is_weak(wsgi_server, tmp_path: Path):
    (tmp_path / "fresh.txt").write_bytes(SMALL)
    now = time.time() + 30  # "modified" in the future: certainly not a second old
    os.utime(tmp_path / "fresh.txt", (now, now))
    base = wsgi_server(StaticFiles(tmp_path))
    modified = get(base, "/fresh.txt").header("Last-Modified")
    answer = get(base, "/fresh.txt", Range="bytes=0-9", If_Range=modified)
    assert answer.status == 200


def test_not_modified_wins_over_range(url: str):
    etag = get(url, "/small.txt").header("ETag")
    answer = get(url, "/small.txt", Range="bytes=0-9", If_None_Match=etag)
    assert answer.status == 304


# -- abuse (S08, Apache CVE-2011-3192) -----------------------------------------------------


def test_a_thousand_ranges_are_ignored(url: str):
    answer = get(url, "/big.bin", Range="bytes=" + ",".join(["0-0"] * 1000))
    assert answer.status == 200
    assert answer.header("Content-Length") == str(len(DATA))


@pytest.mark.parametrize("count", [MAX_RANGES - 1, 1300])
def test_apache_killer_pattern_is_bounded(url: str, count: int):
    # The 2011 exploit: "bytes=0-,5-0,5-1,...,5-1299". 5-0 is not a valid range, so the
    # header is ignored; with valid overlapping ranges (5-5, 5-6, ...) they coalesce.
    for spec in ("bytes=0-," + ",".join(f"5-{i}" for i in range(count)),
                 "bytes=0-," + ",".join(f"5-{i + 5}" for i in range(count))):
        answer = get(url, "/big.bin", Range=spec)
        assert answer.status in (200, 206)
        assert len(answer.body) == len(DATA)  # the file once, never a part per range
        if answer.status == 206:
            assert answer.header("Content-Range") == f"bytes 0-{len(DATA) - 1}/{len(DATA)}"


def test_overlapping_ranges_are_merged(url: str):
    answer = get(url, "/small.txt", Range="bytes=0-5,3-10,10-20")
    assert answer.status == 206
    assert answer.header("Content-Range") == f"bytes 0-20/{len(SMALL)}"
    assert answer.body == SMALL[:21]


def test_tiny_scattered_ranges_never_cost_more_than_the_file(url: str):
    spec = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200, 2))
    answer = get(url, "/big.bin", Range=spec)
    assert answer.status == 206
    assert answer.header("Content-Range") == f"bytes 0-198/{len(DATA)}"


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-1", [(0, 1)]),
    ("bytes=0-1,,", [(0, 1)]),
    ("bytes=900-,0-1", [(0, 1), (900, 999)]),
    ("bytes=0-1,50-60", [(0, 60)]),                 # gap below a part header: one part
    ("bytes=-0", []),
    ("bytes=1000-", []),
    ("bytes=0-1," * MAX_RANGES, None),               # too many
    ("bytes=2-1", None),
    ("pages=1-2", None),
    ("bytes=\u0661-\u0662", None),                  # only ASCII digits
])
def test_parse_ranges(header: str, expected):
    assert parse_ranges(header, 1000) == expected
