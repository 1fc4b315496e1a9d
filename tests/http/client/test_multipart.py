"""Multipart uploads: streamed with flat memory, parsed by python-multipart, names escaped."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
from typing import Any

import pytest
from python_multipart.multipart import MultipartParser, parse_options_header

from wirekit.config import Limits
from wirekit.http.client import DigestAuth, HTTPError, InvalidRequest, Session, post

BLOCK = 64 * 1024


def multipart_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Streams the upload through python-multipart; answers each part's headers, size and
    sha256 as JSON (never holding a part in memory)."""
    _, params = parse_options_header(environ["CONTENT_TYPE"])
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    field = [b""]

    def on_part_begin() -> None:
        current.clear()
        current.update(headers={}, size=0, hash=hashlib.sha256())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field[0] = data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current["headers"][field[0].decode().lower()] = data[start:end].decode()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["size"] += end - start
        current["hash"].update(data[start:end])

    def on_part_end() -> None:
        parts.append({"headers": current["headers"], "size": current["size"],
                      "sha256": current["hash"].hexdigest()})

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_part_data": on_part_data,
        "on_part_end": on_part_end})  # fmt: skip
    stream = environ["wsgi.input"]
    left = int(environ["CONTENT_LENGTH"])
    while left > 0:
        chunk = stream.read(min(BLOCK, left))
        if not chunk:
            break
        left -= len(chunk)
        parser.write(chunk)
    parser.finalize()
    body = json.dumps({"parts": parts, "content_length": environ["CONTENT_LENGTH"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def disposition(part: dict[str, Any]) -> dict[str, str]:
    _, params = parse_options_header(part["headers"]["content-disposition"])
    return {k.decode(): v.decode() for k, v in params.items()}


def test_fields_and_files_of_every_kind(wsgi_server, tmp_path):
    url = wsgi_server(multipart_app)
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line one\n--not-a-boundary\r\n")
    with open(path, "rb") as handle:
        answer = post(url, data={"title": "holiday", "tags": ["a", "b"]}, files={
            "from_path": path,
            "from_bytes": b"\x00\x01\x02",
            "from_tuple": ("report.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv"),
            "from_handle": handle,
        }).json()  # fmt: skip
    parts = answer["parts"]
    names = [disposition(p)["name"] for p in parts]
    assert names == ["title", "tags", "tags", "from_path", "from_bytes", "from_tuple",
                     "from_handle"]
    assert disposition(parts[3])["filename"] == "notes.txt"
    assert parts[3]["headers"]["content-type"] == "text/plain"
    assert parts[3]["size"] == path.stat().st_size
    assert parts[4]["headers"]["content-type"] == "application/octet-stream"
    assert disposition(parts[5])["filename"] == "report.csv"
    assert parts[5]["headers"]["content-type"] == "text/csv"
    assert parts[6]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_names_cannot_inject_headers_or_parts(wsgi_server):
    # SECURITY.md K12: quotes, CR, LF and backslashes are percent-escaped (WHATWG + "\\").
    url = wsgi_server(multipart_app)
    nasty = 'a"; name="b\r\nContent-Type: text/html\r\n\r\n--x\\'
    answer = post(url, data={nasty: "v"}, files={"f": (nasty, b"data")}).json()
    assert len(answer["parts"]) == 2
    field, upload = answer["parts"]
    assert set(field["headers"]) == {"content-disposition"}
    expected = "a%22; name=%22b%0D%0AContent-Type: text/html%0D%0A%0D%0A--x%5C"
    assert disposition(field)["name"] == expected
    assert disposition(upload)["filename"] == expected
    assert upload["headers"]["content-type"] == "application/octet-stream"


def test_a_large_upload_streams_with_flat_memory(wsgi_server, tmp_path):
    url = wsgi_server(multipart_app, limits=Limits(max_body=100 << 20))
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        block = os.urandom(1 << 20)
        for i in range(50):  # 50 MiB
            piece = block[i:] + block[:i]
            digest.update(piece)
            handle.write(piece)
    with Session() as session:
        tracemalloc.start()
        try:
            answer = session.post(url, data={"note": "big"}, files={"blob": path}).json()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    blob = answer["parts"][1]
    assert blob["size"] == 50 << 20 and blob["sha256"] == digest.hexdigest()
    assert peak < 5 << 20, f"peak {peak} bytes"


def test_a_multipart_body_is_replayed_for_digest(wsgi_server, digest_app, tmp_path):
    app = digest_app("u", "p")
    url = wsgi_server(app)
    path = tmp_path / "f.txt"
    path.write_bytes(b"hello")
    assert post(url, files={"f": path}, auth=DigestAuth("u", "p")).status == 200
    assert len(app.seen) == 2


def test_bad_file_arguments():
    with pytest.raises(InvalidRequest):
        post("http://127.0.0.1:9/", files={"f": "/no/such/file"})
    with pytest.raises(InvalidRequest):
        post("http://127.0.0.1:9/", files={"f": 42})
    with pytest.raises(InvalidRequest):
        post("http://127.0.0.1:9/", data=b"raw", files={"f": b"x"})


def test_an_early_answer_during_an_upload_is_reported(wsgi_server, tmp_path):
    # The server refuses the body (413, its limit set to 10 MiB) while we are still sending
    # it: its answer is what the caller sees, not our broken pipe.
    from wirekit.config import Limits

    url = wsgi_server(multipart_app, limits=Limits(max_request_body=10 << 20))
    path = tmp_path / "too-big.bin"
    path.write_bytes(bytes(20 << 20))
    with pytest.raises(HTTPError) as info:
        post(url, files={"blob": path})
    assert info.value.status == 413
