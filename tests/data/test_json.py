"""JSON (slides 3-29..3-31) and JSON Lines: strict, bounded, errors with their place."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.data import ParseError, dump, dump_jsonlines, dumps, iter_jsonlines, load, loads
from wirekit.errors import ConfigError, MessageTooLarge

RECIPE = {"recipe": {"title": "Famous Guacamole",
                     "ingredients": [{"num": "2", "item": "Large avocados, chopped"},
                                     {"num": "1/2", "units": "C", "item": "White onion"}]}}


def test_load_and_dump_as_on_slide_3_31(tmp_path):
    path = tmp_path / "recipe.json"
    dump(RECIPE, path)
    doc = load(path)
    first = doc["recipe"]["ingredients"][0]
    assert first["item"] == "Large avocados, chopped"
    assert path.read_text().endswith("}\n")
    out = io.StringIO()
    dump(RECIPE, out, pretty=True, sort_keys=True)
    assert out.getvalue().startswith('{\n  "recipe": {\n    "ingredients"')
    assert loads(dumps(RECIPE)) == RECIPE
    assert dumps({"é": 1}) == '{"é":1}'
    assert load(io.BytesIO(b'\xef\xbb\xbf{"bom": true}')) == {"bom": True}


@pytest.mark.parametrize(("text", "fragment"), [
    ("[" * 100_000, "nested too deeply"),  # RecursionError in json
    ("1" * 5000, "digits"),  # CVE-2020-10735's int limit
    ("NaN", "NaN is not JSON"),
    ("[Infinity]", "Infinity is not JSON"),
    ('{"a": 1', "Expecting"),
    (b"\xff\xfe\xfa", "malformed JSON"),
    ("", "Expecting value"),
])
def test_hostile_and_broken_documents_are_parse_errors(text, fragment):
    with pytest.raises(ParseError, match=fragment):
        loads(text)


def test_errors_say_where():
    with pytest.raises(ParseError) as caught:
        loads('{\n  "a": 1,\n  "b": }')
    assert (caught.value.line, caught.value.column) == (3, 8)


def test_non_json_constants_only_on_request():
    assert math.isnan(loads("NaN", allow_nan=True))
    with pytest.raises(ConfigError):
        dumps(float("nan"))
    assert dumps(float("inf"), allow_nan=True) == "Infinity"
    with pytest.raises(ConfigError):
        dumps(object())


def test_size_is_bounded():
    with pytest.raises(MessageTooLarge):
        loads("[" + "1," * 100 + "1]", max_bytes=100)
    with pytest.raises(MessageTooLarge):
        load(io.BytesIO(b" " * 200 + b"1"), max_bytes=100)
    assert load(io.BytesIO(b" " * 200 + b"1"), max_bytes=None) == 1


def test_json_lines_stream_one_document_per_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    assert dump_jsonlines(({"n": i, "text": f"line\n{i}"} for i in range(1000)), path) == 1000
    assert path.read_text().count("\n") == 1000
    records = iter_jsonlines(path)
    assert next(records) == {"n": 0, "text": "line\n0"}
    assert sum(1 for _ in records) == 999
    chunks = iter([b'{"a"', b': 1}\n\n  \n[2', b"]\r\n3"])
    assert list(iter_jsonlines(chunks)) == [{"a": 1}, [2], 3]
    assert list(iter_jsonlines(io.BytesIO(b'\xef\xbb\xbf{"x": 1}\n'))) == [{"x": 1}]


def test_json_lines_errors_name_the_line_and_long_lines_are_refused():
    with pytest.raises(ParseError) as caught:
        list(iter_jsonlines(io.BytesIO(b'{"ok": 1}\n{"ok": 2}\n{bad}\n')))
    assert caught.value.line == 3
    with pytest.raises(ParseError, match="NaN"):
        list(iter_jsonlines(io.BytesIO(b"NaN\n")))
    with pytest.raises(MessageTooLarge) as caught:
        list(iter_jsonlines(io.BytesIO(b'"' + b"x" * 2000 + b'"\n'), max_line=1000))
    assert caught.value.limit == "max_line"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(st.lists(json_values, max_size=5))
def test_whatever_is_dumped_loads_back(values):
    assert loads(dumps(values)) == values
    out = io.StringIO()
    dump_jsonlines(values, out)
    assert list(iter_jsonlines(io.BytesIO(out.getvalue().encode()))) == [
        v for v in values]
