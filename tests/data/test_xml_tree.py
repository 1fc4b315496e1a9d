"""ElementTree the course's way (slides 3-14..3-24), parsed safely: queries, changes, output."""

from __future__ import annotations

import io
import pickle

import pytest

from wirekit.data import (
    DEFAULT_XML_POLICY,
    ContentHandler,
    Element,
    ParseError,
    SubElement,
    XMLPolicy,
    fromstring,
    iterparse,
    parse,
    sax_parse,
    sax_parse_string,
    tostring,
    write,
)
from wirekit.errors import ConfigError, LimitExceeded, MessageTooLarge, RemoteProtocolError

from .conftest import RECIPE_XML


def test_find_and_findtext_as_on_slide_3_17(recipe_path):
    doc = parse(recipe_path)
    assert doc.find("title").text == "Famous Guacamole"
    assert doc.find("description").text.strip() == "A southwest favorite!"
    assert doc.findtext("description").strip() == "A southwest favorite!"
    assert doc.findtext("nothing") is None


def test_findall_and_attributes_as_on_slides_3_18_and_3_19(recipe_path):
    doc = parse(recipe_path)
    items = [(i.get("num"), i.get("units"), i.text) for i in doc.findall("ingredients/item")]
    assert len(items) == 8
    assert items[0] == ("2", None, "Large avocados, chopped")
    assert items[2] == ("1/2", "C", "White onion, chopped")
    assert items[-1] == ("6", "bottles", "Ice-cold beer")


def test_wildcards_as_on_slides_3_20_and_3_21(recipe_path):
    doc = parse(recipe_path)
    assert len(doc.findall("*/item")) == 8
    assert [e.tag for e in doc.findall("ingredients/*")] == ["item"] * 8
    assert len(doc.findall(".//item")) == 8  # the slides' "//item"
    assert [e.get("num") for e in doc.findall(".//item[@units='tbl']")] == ["1", "1"]


def test_the_declared_latin1_encoding_is_honoured():
    doc = fromstring('<?xml version="1.0" encoding="iso-8859-1"?><r>caf\xe9</r>'
                     .encode("iso-8859-1"))
    assert doc.text == "café"
    assert fromstring("<r>café</r>").text == "café"  # str input is already decoded


def test_modification_and_output_as_on_slides_3_23_and_3_24(recipe_path, tmp_path):
    doc = parse(recipe_path)
    ingredients = doc.find("ingredients")
    salsa = Element("item", num="1", units="jar")
    salsa.text = "Salsa"
    ingredients.append(salsa)
    ingredients.insert(0, Element("item", num="4"))
    ingredients.remove(ingredients.find("item[@units='bottles']"))
    SubElement(doc.getroot(), "serves").text = "4"
    out = tmp_path / "output.xml"
    write(doc, out)
    again = parse(out)
    assert [i.get("num") for i in again.findall("ingredients/item")][:2] == ["4", "2"]
    assert again.findtext("ingredients/item[last()]") == "Salsa"
    assert again.find(".//item[@units='bottles']") is None
    assert again.findtext("serves") == "4"
    assert out.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")


def test_pretty_output_indents_a_copy_and_leaves_the_tree_alone():
    root = fromstring("<a><b><c>x</c></b><d/></a>")
    text = tostring(root, pretty=True)
    assert text == "<a>\n  <b>\n    <c>x</c>\n  </b>\n  <d />\n</a>"
    assert tostring(root) == "<a><b><c>x</c></b><d /></a>"
    assert tostring(root, encoding="utf-8", xml_declaration=True).startswith(b"<?xml")
    buffer = io.BytesIO()
    write(root, buffer, pretty=True, indent="\t")
    assert b"\n\t<b>\n\t\t<c>x</c>" in buffer.getvalue()


def test_an_element_printed_alone_loses_its_tail_only_when_pretty(recipe_path):
    item = parse(recipe_path).find(".//item")
    assert tostring(item, pretty=True) == '<item num="2">Large avocados, chopped</item>'


def test_malformed_xml_is_a_parse_error_with_its_place():
    with pytest.raises(ParseError) as caught:
        fromstring("<a>\n<b></a>")
    assert caught.value.line == 2
    assert isinstance(caught.value, RemoteProtocolError)
    assert isinstance(caught.value, ValueError)
    assert "mismatched tag" in str(caught.value)
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.line == 2 and str(again) == str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "<a>", "<a></b>", "text", "<a>&undefined;</a>"])
def test_broken_documents_are_parse_errors(text):
    with pytest.raises(ParseError):
        fromstring(text)


def test_size_is_bounded_before_parsing(tmp_path):
    big = tmp_path / "big.xml"
    big.write_bytes(b"<r>" + b"x" * 2000 + b"</r>")
    policy = XMLPolicy(max_bytes=1000)
    with pytest.raises(MessageTooLarge) as caught:
        parse(big, policy=policy)
    assert caught.value.limit == "max_bytes"
    with pytest.raises(MessageTooLarge):
        fromstring(big.read_bytes(), policy=policy)
    assert DEFAULT_XML_POLICY.max_bytes == 10 * 1024 * 1024


def test_deep_nesting_is_a_bounded_error_not_a_recursion_error():
    # SECURITY.md X05: 100 000 nested elements.
    deep = "<a>" * 100_000 + "</a>" * 100_000
    with pytest.raises(LimitExceeded) as caught:
        fromstring(deep)
    assert caught.value.limit == "max_depth"
    assert fromstring("<a>" * 256 + "</a>" * 256).tag == "a"
    with pytest.raises(LimitExceeded):
        fromstring("<a>" * 257 + "</a>" * 257)
    assert fromstring(deep, policy=XMLPolicy(max_depth=200_000)).tag == "a"


def test_serialising_a_tree_too_deep_for_python_is_a_bounded_error():
    root = node = Element("a")
    for _ in range(5000):
        node = SubElement(node, "a")
    with pytest.raises(LimitExceeded):
        tostring(root)
    with pytest.raises(LimitExceeded):
        tostring(root, pretty=True)
    with pytest.raises(LimitExceeded):
        write(root, io.BytesIO())


def test_xinclude_is_never_processed(trap):
    doc = fromstring(f'<r xmlns:xi="http://www.w3.org/2001/XInclude">'
                     f'<xi:include href="{trap.url}/x.xml"/></r>')
    assert doc[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_namespaces_are_spelled_in_braces():
    doc = fromstring('<r xmlns="urn:x" xmlns:p="urn:p"><p:a>1</p:a><b>2</b></r>')
    assert doc.findtext("{urn:p}a") == "1"
    assert doc.findtext("{*}b") == "2"


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError):
        fromstring(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        XMLPolicy(max_depth=0)
    with pytest.raises(ConfigError):
        XMLPolicy(max_bytes=-1)


def test_parse_reads_paths_files_and_chunk_streams(recipe_path):
    data = recipe_path.read_bytes()
    chunks = (data[i:i + 7] for i in range(0, len(data), 7))
    for source in (str(recipe_path), recipe_path, io.BytesIO(data), chunks):
        assert parse(source).findtext("title") == "Famous Guacamole"
    with pytest.raises(ConfigError):
        parse(io.StringIO(RECIPE_XML))  # text streams: open the file in binary mode


# -- issue 14 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["foo", "utf-7", "shift_jis"])
@pytest.mark.parametrize("entry", ["fromstring", "parse", "iterparse", "events", "sax_parse",
                                   "sax_parse_string"])
def test_an_encoding_declaration_expat_cannot_use_is_a_parse_error(entry, encoding):
    """LookupError (unknown name) and ValueError (a multi-byte codec) escaped every reader."""
    doc = f'<?xml version="1.0" encoding="{encoding}"?><r><x/></r>'.encode("ascii")
    readers = {
        "fromstring": lambda: fromstring(doc),
        "parse": lambda: parse(io.BytesIO(doc)),
        "iterparse": lambda: list(iterparse(io.BytesIO(doc), "x")),
        "events": lambda: list(iterparse(io.BytesIO(doc), ("start", "end"))),
        "sax_parse": lambda: sax_parse(io.BytesIO(doc), ContentHandler()),
        "sax_parse_string": lambda: sax_parse_string(doc, ContentHandler()),
    }
    with pytest.raises(ParseError, match="unsupported encoding declaration"):
        readers[entry]()


def test_write_to_a_text_file_as_on_slide_3_24(tmp_path):
    """The slide opens output.xml with "w": write() raised a bare TypeError on text files."""
    doc = fromstring("<r a='\u00e9'>\u20ac</r>")
    with open(tmp_path / "out.xml", "w", encoding="iso-8859-1") as file:
        write(doc, file)
    data = (tmp_path / "out.xml").read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='iso-8859-1'?>")
    assert b'a="\xe9"' in data and b"&#8364;" in data  # what latin-1 cannot hold is escaped
    assert fromstring(data).text == "\u20ac"
    text = io.StringIO()
    write(doc, text, pretty=True, xml_declaration=False)
    assert text.getvalue() == '<r a="\u00e9">\u20ac</r>'


def test_write_refuses_what_it_cannot_do_with_a_wirekit_error():
    doc = fromstring("<r/>")
    with pytest.raises(ConfigError, match="open it in binary mode"):
        write(doc, io.StringIO(), encoding="utf-16")

    class Sink:  # text-only, and not an io.TextIOBase
        def write(self, text: str) -> int:
            if not isinstance(text, str):
                raise TypeError("str expected")
            return len(text)

    with pytest.raises(ConfigError, match="binary file"):
        write(doc, Sink())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tostring"):
        write(doc, io.BytesIO(), encoding="unicode")
    with pytest.raises(ConfigError, match="unknown encoding"):
        write(doc, io.BytesIO(), encoding="no-such-codec")
