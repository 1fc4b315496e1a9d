"""The streaming iterator (slides 3-25..3-27): the right elements, in order, in flat memory."""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from wirekit.data import ParseError, XMLPolicy, iterparse, tostring
from wirekit.errors import ConfigError, LimitExceeded

from .conftest import child_peak_rss

RECORD = ('<recipe id="{i}"><title>Dish {i}</title><ingredients>'
          '<item num="2">Avocados</item><item num="1" units="tbl">Lemon juice</item>'
          "</ingredients><directions>Combine and serve.</directions></recipe>\n")


def recipes(count: int, chunk: int = 4096) -> Iterator[bytes]:
    """A recipes document as a stream of chunks, never held whole."""
    buffer = ['<?xml version="1.0"?>\n<catalog><recipes>\n']
    size = len(buffer[0])
    for i in range(count):
        record = RECORD.format(i=i)
        buffer.append(record)
        size += len(record)
        if size >= chunk:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    buffer.append("</recipes></catalog>\n")
    yield "".join(buffer).encode()


def test_yields_each_wanted_element_whole_and_in_order():
    found = list(iterparse(recipes(1000), "recipe"))
    assert [r.get("id") for r in found] == [str(i) for i in range(1000)]
    # Each element is detached but intact, even after the iterator has moved on.
    assert found[0].findtext("title") == "Dish 0"
    assert [i.get("num") for i in found[0].iter("item")] == ["2", "1"]
    assert tostring(found[500].find("directions")) == "<directions>Combine and serve.</directions>"


def test_several_tags_and_nested_wanted_elements():
    items = list(iterparse(recipes(50), ["item", "title"]))
    assert [e.tag for e in items[:3]] == ["title", "item", "item"]
    assert len(items) == 150
    nested = b"<a><b id='1'><b id='2'/></b><b id='3'/></a>"
    assert [e.get("id") for e in iterparse(io.BytesIO(nested), "b")] == ["2", "1", "3"]


def test_namespaced_tags_are_spelled_in_braces():
    doc = b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title></entry></feed>'
    entries = list(iterparse(io.BytesIO(doc), "{http://www.w3.org/2005/Atom}entry"))
    assert entries[0].findtext("{http://www.w3.org/2005/Atom}title") == "t"


def test_reads_paths_binary_files_and_chunk_streams(recipe_path):
    assert len(list(iterparse(recipe_path, "item"))) == 8
    assert len(list(iterparse(str(recipe_path), "item"))) == 8
    with recipe_path.open("rb") as file:
        assert len(list(iterparse(file, "item"))) == 8
        assert not file.closed  # the caller's stream is the caller's to close
    data = recipe_path.read_bytes()
    assert len(list(iterparse((data[i:i + 1] for i in range(len(data))), "item"))) == 8


def test_an_element_is_yielded_as_soon_as_it_has_arrived():
    """A network feed that pauses: the first record must come out before the second arrives."""
    arrived = threading.Event()
    seen: list[str] = []

    def feed() -> Iterator[bytes]:
        yield b"<stream><msg>first</msg>"
        seen.append("asked for more")
        arrived.set()
        yield b"<msg>second</msg></stream>"

    stream = iterparse(feed(), "msg")
    assert next(stream).text == "first"
    assert seen == []
    assert next(stream).text == "second"


def test_malformed_input_mid_stream_is_a_parse_error_after_the_good_part():
    data = b"<r><i>1</i><i>2</i>\n<i>3</j></r>"
    stream = iterparse(io.BytesIO(data), "i")
    with pytest.raises(ParseError) as caught:
        list(stream)
    assert caught.value.line == 2


def test_depth_is_bounded_across_and_within_chunks():
    deep = b"<a>" * 300 + b"</a>" * 300
    with pytest.raises(LimitExceeded):
        list(iterparse(io.BytesIO(deep), "z"))  # within one chunk
    chunks = (deep[i:i + 10] for i in range(0, len(deep), 10))
    with pytest.raises(LimitExceeded):
        list(iterparse(chunks, "z"))  # across many
    inside = b"<r><rec>" + b"<a>" * 300 + b"</a>" * 300 + b"</rec></r>"
    with pytest.raises(LimitExceeded):
        list(iterparse(io.BytesIO(inside), "rec"))
    assert len(list(iterparse(io.BytesIO(deep), "a", policy=XMLPolicy(max_depth=400)))) == 300


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError):
        iterparse(io.BytesIO(b"<r/>"), "")
    with pytest.raises(ConfigError):
        iterparse(io.BytesIO(b"<r/>"), [])
    with pytest.raises(ConfigError):
        iterparse(io.BytesIO(b"<r/>"), "r", chunk_size=10)
    with pytest.raises(ConfigError):
        list(iterparse(io.StringIO("<r/>"), "r"))
    with pytest.raises(ParseError):
        list(iterparse(io.BytesIO(b""), "r"))


MEMORY_CHILD = """
from wirekit.data import iterparse
RECORD = {record!r}
def stream(total):
    size, i = 0, 0
    yield b'<?xml version="1.0"?>\\n<catalog><recipes>\\n'
    while size < total:
        chunk = "".join(RECORD.format(i=n) for n in range(i, i + 500)).encode()
        i += 500
        size += len(chunk)
        yield chunk
    yield b"</recipes></catalog>\\n"
kept = {keep}
count = 0
for recipe in iterparse(stream({size}), "recipe"):
    count += 1
    if kept is not None:
        kept.append(recipe)
_out = {{"count": count}}
"""


@pytest.mark.slow
def test_memory_stays_flat_on_a_200_mib_stream():
    """Peak RSS of a child parsing 200 MiB generated on the fly (no file, no time asserted)."""
    size = 200 * 1024 * 1024
    # Text-heavy records (as real feeds are) keep the run to a few seconds.
    record = RECORD.replace("Combine and serve.", "Combine and serve. " * 60)
    result = child_peak_rss(MEMORY_CHILD.format(record=record, size=size, keep=None))
    assert result["count"] > 100_000
    assert result["peak_mib"] < 64, result  # the target for a 1 GiB input
    # Control: the same child keeping every element shows up in the measurement.
    control = child_peak_rss(MEMORY_CHILD.format(record=record, size=size // 8, keep=[]))
    assert control["peak_mib"] > result["peak_mib"] + 20, (control, result)


SLIDE_DOC = (b'<r xmlns:dc="http://purl.org/dc/elements/1.1/"><a n="1"><dc:b/></a><!--c-->'
             b"<?pi x?><a/></r>")


def _pairs(stream: Iterator[tuple[str, object]]) -> list[tuple[str, object]]:
    """Events with elements shown by tag, so wirekit's and ElementTree's can be compared."""
    return [(event, getattr(value, "tag", value)) for event, value in stream]


@pytest.mark.parametrize("events", [("start", "end"), ["end"], ("start", "end", "start-ns",
                                                                "end-ns", "comment", "pi")])
def test_elementtrees_events_form_as_on_slide_3_25(tmp_path, events):
    """iterparse("f.xml", ("start", "end")) yielded nothing: the tuple was taken as tags."""
    path = tmp_path / "file.xml"
    path.write_bytes(SLIDE_DOC)
    expected = _pairs(ET.iterparse(io.BytesIO(SLIDE_DOC), events))
    assert len(expected) >= 4
    assert _pairs(iterparse(str(path), events)) == expected
    assert _pairs(iterparse(io.BytesIO(SLIDE_DOC), events=events)) == expected
    assert _pairs(iterparse(io.BytesIO(SLIDE_DOC))) == _pairs(ET.iterparse(io.BytesIO(SLIDE_DOC)))


def test_the_events_form_keeps_the_tree_for_the_caller_to_clear():
    """As in ElementTree (slide 3-27 clears by hand): the root holds what has ended."""
    root = None
    for event, elem in iterparse(recipes(20), ("start", "end")):
        root = elem if root is None else root
        if event == "end" and elem.tag == "recipe":
            assert elem.findtext("title").startswith("Dish")
    assert root is not None and len(root.findall(".//recipe")) == 20


def test_the_events_form_is_bounded_like_the_streaming_form():
    deep = b"<a>" * 300 + b"</a>" * 300
    with pytest.raises(LimitExceeded):
        list(iterparse(io.BytesIO(deep), ("start", "end")))
    with pytest.raises(ParseError):
        list(iterparse(io.BytesIO(b"<r><a></r>"), ("end",)))


def test_tags_named_like_events_by_keyword_and_ambiguous_arguments_refused():
    doc = b"<r><end>1</end><start>2</start><x/></r>"
    assert [e.text for e in iterparse(io.BytesIO(doc), tag=["end", "start"])] == ["1", "2"]
    assert [e.text for e in iterparse(io.BytesIO(doc), "end")] == ["1"]  # a str is a tag
    with pytest.raises(ConfigError, match="mixes ElementTree event names and tag names"):
        iterparse(io.BytesIO(doc), ("start", "x"))
    with pytest.raises(ConfigError, match="not both"):
        iterparse(io.BytesIO(doc), tag="x", events=("end",))
    with pytest.raises(ConfigError, match="both by position and keyword"):
        iterparse(io.BytesIO(doc), "x", tag="x")
    with pytest.raises(ConfigError, match="unknown: 'ned'"):
        iterparse(io.BytesIO(doc), events=("start", "ned"))
