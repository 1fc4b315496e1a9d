"""Sources (issue 14, Data 1): every reader takes wirekit's own HTTP responses, and anything
with ``read``, without needing ``io.IOBase``'s methods (``readable``, ``readinto``...)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from wirekit.data import (
    ContentHandler,
    iter_jsonlines,
    iterparse,
    load,
    parse,
    read_records,
    read_rows,
    sax_parse,
)
from wirekit.errors import ConfigError
from wirekit.http.client import get, urlopen
from wirekit.testing import serve_wsgi

from .conftest import RECIPE_XML

CSV_BODY = b"item,qty\r\navocado,2\r\nlime,3\r\n"
BODIES = {
    "/table.csv": ("text/csv", CSV_BODY),
    "/doc.json": ("application/json", b'{"recipe": {"items": ["avocado", "lime"]}}'),
    "/feed.jsonl": ("application/x-ndjson", b'{"n": 1}\n{"n": 2}\n'),
    "/recipe.xml": ("application/xml", RECIPE_XML.encode("iso-8859-1")),
}


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    kind, body = BODIES[environ["PATH_INFO"]]
    start_response("200 OK", [("Content-Type", kind)])
    # Several pieces, so a streamed body arrives in more than one read.
    return [body[i:i + 7] for i in range(0, len(body), 7)]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_wsgi(app) as url:
        yield url


def test_wirekit_responses_are_sources(site):
    """docs/data.md's read_rows(urlopen(url)) raised AttributeError: no 'readable'."""
    with urlopen(f"{site}/table.csv") as response:
        assert not hasattr(response, "readable")  # the case at hand: not an io.IOBase
        assert list(read_rows(response)) == [["item", "qty"], ["avocado", "2"], ["lime", "3"]]
    with get(f"{site}/table.csv", stream=True) as response:
        assert list(read_records(response, types={"qty": int})) == [
            {"item": "avocado", "qty": 2}, {"item": "lime", "qty": 3}]
    with get(f"{site}/doc.json", stream=True) as response:
        assert load(response)["recipe"]["items"] == ["avocado", "lime"]
    with get(f"{site}/feed.jsonl", stream=True) as response:
        assert list(iter_jsonlines(response)) == [{"n": 1}, {"n": 2}]


def test_wirekit_responses_feed_every_xml_reader(site):
    with get(f"{site}/recipe.xml", stream=True) as response:
        assert [e.text for e in iterparse(response, "title")] == ["Famous Guacamole"]
    with get(f"{site}/recipe.xml", stream=True) as response:
        assert len(parse(response).findall(".//item")) == 8
    seen: list[str] = []

    class Titles(ContentHandler):
        def startElement(self, name: str, attrs: object) -> None:
            seen.append(name)

    with get(f"{site}/recipe.xml", stream=True) as response:
        sax_parse(response, Titles())
    assert seen.count("item") == 8


class OnlyRead:
    """The least a source can be: ``read(n)``, nothing else (not even ``close``)."""

    def __init__(self, data: bytes | str, oversize: int = 0) -> None:
        self.data = data
        self.calls = 0
        self.oversize = oversize  # return this much more than asked: tolerated

    def read(self, size: int = -1) -> bytes | str:
        self.calls += 1
        size = len(self.data) if size is None or size < 0 else size + self.oversize * (size > 0)
        piece, self.data = self.data[:size], self.data[size:]
        return piece


def test_any_object_with_read_is_a_source():
    assert list(read_rows(OnlyRead(CSV_BODY))) == [["item", "qty"], ["avocado", "2"],
                                                   ["lime", "3"]]
    assert list(read_rows(OnlyRead(CSV_BODY, oversize=5))) == list(read_rows(CSV_BODY))
    assert list(iter_jsonlines(OnlyRead(b'[1]\n[2]\n'))) == [[1], [2]]
    assert load(OnlyRead(b'{"a": 1}')) == {"a": 1}
    assert [e.get("num") for e in iterparse(OnlyRead(RECIPE_XML.encode("latin-1")), "item")
            ][:2] == ["2", "1"]


def test_a_text_object_with_read_is_a_csv_source_and_a_binary_one_is_required_elsewhere():
    assert list(read_rows(OnlyRead("a,b\r\nc,\u00e9\r\n"))) == [["a", "b"], ["c", "\u00e9"]]
    assert list(read_rows(OnlyRead("a\rb\r"))) == [["a"], ["b"]]  # old Mac line ends
    with pytest.raises(ConfigError, match="text stream"):
        load(OnlyRead('{"a": 1}'))


def test_read1_is_preferred_so_a_live_stream_is_read_as_it_arrives():
    """A source with read1 hands over what has arrived: an element comes out before the
    stream ends (read(n) would block for a whole chunk)."""
    arrived = threading.Event()

    class Live:
        def __init__(self) -> None:
            self.pieces = [b"<feed><msg>hello</msg>", b"<msg>bye</msg></feed>"]

        def read1(self, size: int) -> bytes:
            if len(self.pieces) == 1:
                assert arrived.wait(10), "the first element was not yielded before more input"
            return self.pieces.pop(0) if self.pieces else b""

        def read(self, size: int = -1) -> bytes:
            assert size == 0, "read1 is there: read is only asked for nothing (a type probe)"
            return b""

    stream = iterparse(Live(), "msg")
    assert next(stream).text == "hello"
    arrived.set()
    assert [e.text for e in stream] == ["bye"]


def test_a_source_that_gives_something_else_than_bytes_is_a_config_error():
    class Numbers:
        def read(self, size: int = -1) -> object:
            return b"" if size == 0 else 42

    with pytest.raises(ConfigError, match="must give bytes"):
        list(read_rows(Numbers()))  # type: ignore[arg-type]


def test_io_files_are_still_used_as_they_are():
    file = io.BytesIO(CSV_BODY)
    assert len(list(read_rows(file))) == 3
    assert not file.closed  # the caller's stream is left open


def test_an_empty_chunk_from_an_iterable_is_not_the_end():
    assert list(read_rows(iter([b"a,b", b"", b"\r\n1,2\r\n"]))) == [["a", "b"], ["1", "2"]]
