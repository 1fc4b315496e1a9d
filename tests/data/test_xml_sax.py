"""SAX the course's way (slides 3-9..3-13): the same handler class, a safe reader underneath."""

from __future__ import annotations

import io

import pytest

from wirekit.data import (
    ContentHandler,
    EntitiesForbidden,
    ErrorHandler,
    ParseError,
    XMLPolicy,
    make_sax_parser,
    sax_parse,
    sax_parse_string,
)
from wirekit.errors import MessageTooLarge


class MyHandler(ContentHandler):
    """The course's handler (slide 3-11), recording instead of printing."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, ...]] = []

    def startDocument(self) -> None:
        self.events.append(("document",))

    def startElement(self, name, attrs) -> None:
        self.events.append(("start", name, *sorted(attrs.items())))

    def characters(self, text) -> None:
        if text.strip():
            self.events.append(("chars", text.strip()))

    def endElement(self, name) -> None:
        self.events.append(("end", name))


CONTACT = b"""<contact>
  <name>Elwood Blues</name>
  <address>1060 W Addison</address>
  <city>Chicago</city>
  <zip>60616</zip>
</contact>"""


def test_the_course_handler_sees_starts_text_and_ends(tmp_path):
    path = tmp_path / "data.xml"
    path.write_bytes(CONTACT)
    handler = MyHandler()
    sax_parse(path, handler)
    assert handler.events[:4] == [("document",), ("start", "contact"), ("start", "name"),
                                  ("chars", "Elwood Blues")]
    assert handler.events[-1] == ("end", "contact")
    assert len([e for e in handler.events if e[0] == "start"]) == 5


def test_every_source_and_every_split_gives_the_same_events(recipe_path):
    data = recipe_path.read_bytes()
    whole = MyHandler()
    sax_parse_string(data, whole)
    assert ("start", "item", ("num", "1/2"), ("units", "C")) in whole.events
    for size in (1, 7, 4096):
        split = MyHandler()
        sax_parse((data[i:i + size] for i in range(0, len(data), size)), split)
        merged = [e for e in split.events if e[0] != "chars"]
        assert merged == [e for e in whole.events if e[0] != "chars"]
    from_file = MyHandler()
    sax_parse(io.BytesIO(data), from_file)
    assert from_file.events == whole.events


def test_namespaces_on_request():
    seen = []

    class Handler(ContentHandler):
        def startElementNS(self, name, qname, attrs):
            seen.append(name)

    sax_parse_string(b'<r xmlns="urn:x"><a/></r>', Handler(), namespaces=True)
    assert seen == [("urn:x", "r"), ("urn:x", "a")]


def test_malformed_input_is_a_parse_error_with_its_place():
    with pytest.raises(ParseError) as caught:
        sax_parse_string(b"<a>\n<b></a>", MyHandler())
    assert caught.value.line == 2
    assert "mismatched tag" in str(caught.value)


def test_an_error_handler_may_see_the_error_first():
    class Recorder(ErrorHandler):
        def __init__(self):
            self.seen = []

        def fatalError(self, exception):
            self.seen.append(exception.getLineNumber())
            raise exception

    recorder = Recorder()
    with pytest.raises(ParseError):
        sax_parse_string(b"<a></b>", MyHandler(), error_handler=recorder)
    assert recorder.seen == [1]


def test_size_is_bounded_when_asked_and_counted_from_the_first_byte():
    policy = XMLPolicy(max_bytes=1000)
    reader = make_sax_parser(policy)
    reader.setContentHandler(MyHandler())
    reader.feed(b"<r>" + b"x" * 900)
    assert reader.fed == 903
    with pytest.raises(MessageTooLarge):
        reader.feed(b"x" * 200)
    data = b"<r>" + b"<a/>" * 300 + b"</r>"
    with pytest.raises(MessageTooLarge):
        sax_parse((data[i:i + 100] for i in range(0, len(data), 100)), MyHandler(),
                  policy=policy)


def test_the_reader_can_be_driven_by_hand_and_is_still_safe():
    reader = make_sax_parser()
    handler = MyHandler()
    reader.setContentHandler(handler)
    reader.feed(b"<r><a>1</a>")
    reader.feed(b"</r>")
    reader.close()
    assert ("chars", "1") in handler.events
    bomb = make_sax_parser()
    bomb.setContentHandler(MyHandler())
    with pytest.raises(EntitiesForbidden):
        bomb.feed(b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>')


def test_a_handlers_own_lookup_error_is_not_disguised_as_a_parse_error():
    """Encoding failures become ParseError (issue 14); a KeyError from the caller's handler,
    also a LookupError, stays what it is."""
    class Lookup(ContentHandler):
        def startElement(self, name, attrs) -> None:
            {}["missing"]

    with pytest.raises(KeyError):
        sax_parse_string(CONTACT, Lookup())
    with pytest.raises(KeyError):
        sax_parse(io.BytesIO(CONTACT), Lookup())
