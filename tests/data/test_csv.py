"""CSV (slide 3-3): quoting edge cases, dialects, typed records, sources, hostile input."""

from __future__ import annotations

import csv
import http.server
import io
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.data import (
    ParseError,
    parse_records,
    parse_rows,
    read_records,
    read_rows,
    sniff,
    to_csv,
    write_records,
    write_rows,
)
from wirekit.errors import ConfigError, MessageTooLarge

from .conftest import SCHMODS_CSV

SCHMODS_ROWS = [["Elwood", "Blues", "1060 W Addison, Chicago 60637", "110"],
                ["McGurn", "Jack", "4902 N Broadway, Chicago 60640", "200"]]


def test_the_course_file_with_commas_inside_quotes(tmp_path):
    path = tmp_path / "schmods.csv"
    path.write_text(SCHMODS_CSV)
    # The slide's file has a space after each comma: sniffing finds skipinitialspace.
    assert list(read_rows(path, dialect="sniff")) == SCHMODS_ROWS

    class Spaced(csv.excel):
        skipinitialspace = True

    assert list(read_rows(path, dialect=Spaced)) == SCHMODS_ROWS
    # Read strictly as RFC 4180, the space makes the quote part of the text.
    assert parse_rows(SCHMODS_CSV)[0][2] == ' "1060 W Addison'


QUOTING = [
    ('a,"b,c",d\r\n', [["a", "b,c", "d"]]),
    ('"say ""hi""",x\n', [['say "hi"', "x"]]),
    ('"multi\nline",2\n', [["multi\nline", "2"]]),
    ('"crlf\r\ninside",2\r\n', [["crlf\r\ninside", "2"]]),
    (",,\n", [["", "", ""]]),
    ('"",x\n', [["", "x"]]),
    ("no newline at end", [["no newline at end"]]),
    ("\ufeffbom,first\n", [["bom", "first"]]),
    ("a,b\n\nc,d\n", [["a", "b"], [], ["c", "d"]]),
    ("trailing,\n", [["trailing", ""]]),
    ("tab\there,x\n", [["tab\there", "x"]]),
]


@pytest.mark.parametrize(("text", "rows"), QUOTING)
def test_quoting_edge_cases(text, rows):
    assert parse_rows(text.removeprefix("\ufeff")) == rows
    assert list(read_rows(io.BytesIO(text.encode("utf-8")))) == rows  # BOM dropped from bytes


@pytest.mark.parametrize("text", ['a,"unterminated\n', 'a,"b"c\n'])
def test_bad_quoting_is_a_parse_error_with_the_line(text):
    with pytest.raises(ParseError) as caught:
        parse_rows("ok,row\n" + text)
    assert caught.value.line is not None


def test_hostile_input_is_bounded():
    with pytest.raises(MessageTooLarge) as caught:
        parse_rows('a,"' + "x" * 140_000 + '"\n')
    assert caught.value.limit == "csv.field_size_limit"
    with pytest.raises(MessageTooLarge) as caught:
        list(read_rows(io.BytesIO(b"x," * 600_000), max_line=1_000_000))
    assert caught.value.limit == "max_line"
    with pytest.raises(ParseError, match="NUL"):
        parse_rows("a,b\x00c\n")
    with pytest.raises(ParseError, match="utf-8"):
        list(read_rows(io.BytesIO(b"ok\n\xff\xfe bad\n")))


def test_records_with_types_and_short_rows():
    text = "name,qty,price\navocado,2,1.50\nlime,,0.25\nsalt,1\n"
    records = parse_records(text, types={"qty": int, "price": float})
    assert records == [{"name": "avocado", "qty": 2, "price": 1.5},
                       {"name": "lime", "qty": None, "price": 0.25},
                       {"name": "salt", "qty": 1, "price": None}]
    with pytest.raises(ParseError, match="column 'qty'") as caught:
        parse_records("name,qty\nx,two\n", types={"qty": int})
    assert caught.value.line == 2
    with pytest.raises(ParseError, match="3 fields"):
        parse_records("a,b\n1,2,3\n")
    with pytest.raises(ConfigError):
        parse_records("a,b\n1,2\n", types={"c": int})
    assert parse_records("1,2\n", fieldnames=["x", "y"]) == [{"x": "1", "y": "2"}]
    assert parse_records("") == []


def test_sniffing_finds_the_delimiter_and_header():
    dialect, header = sniff("name;qty\nx;1\ny;2\nz;3\n")
    assert dialect.delimiter == ";" and header
    assert parse_rows("a|b\n1|2\n", dialect="sniff") == [["a", "b"], ["1", "2"]]
    with pytest.raises(ParseError):
        sniff("")
    with pytest.raises(ConfigError):
        parse_rows("a\n", dialect="no-such-dialect")


def test_sources_path_text_file_bytes_chunks(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n")
    expected = [["a", "b"], ["1", "2"]]
    assert list(read_rows(path)) == expected
    assert list(read_rows(str(path))) == expected
    with path.open(newline="") as text_file:
        assert list(read_rows(text_file)) == expected
    chunks: Iterator[bytes] = iter([b"a,", b"b\r", b"\n1,2\r\n"])
    assert list(read_rows(chunks)) == expected
    latin = io.BytesIO("caf\xe9,x\n".encode("latin-1"))
    assert list(read_rows(latin, encoding="latin-1")) == [["café", "x"]]


def test_a_streamed_http_response(tmp_path):
    body = to_csv(([str(i), f"row {i}"] for i in range(5000)), header=["id", "text"]).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.csv"
        with urllib.request.urlopen(url, timeout=10) as response:
            records = list(read_records(response, types={"id": int}))
    finally:
        server.shutdown()
        server.server_close()
    assert len(records) == 5000
    assert records[4999] == {"id": 4999, "text": "row 4999"}


def test_writing_quotes_only_what_needs_it(tmp_path):
    rows = [["plain", "with,comma", 'with "quote"', "line\nbreak", None, 3]]
    assert to_csv(rows) == 'plain,"with,comma","with ""quote""","line\nbreak",,3\r\n'
    path = tmp_path / "out.csv"
    assert write_records(path, [{"a": 1, "b": "x"}, {"a": 2}], fieldnames=["a", "b"]) == 2
    assert list(read_rows(path)) == [["a", "b"], ["1", "x"], ["2", ""]]
    out = io.StringIO()
    assert write_rows(out, [[1], [2]], header=["n"]) == 2


def test_the_spreadsheet_safe_writer_defuses_formulas():
    rows = [["=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok"]]
    assert parse_rows(to_csv(rows, safe=True))[0] == [
        "'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok"]
    assert parse_rows(to_csv(rows))[0] == rows[0]


cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=5))
def test_whatever_is_written_reads_back_the_same(rows):
    assert parse_rows(to_csv(rows)) == rows  # a lone empty cell is written as ""


def test_undecodable_bytes_while_sniffing_are_a_parse_error():
    """Found by tests/data/test_fuzz.py: the sniffing read escaped as UnicodeDecodeError."""
    with pytest.raises(ParseError, match="not valid utf-8"):
        list(read_rows(io.BytesIO(b"a,b\n\x80"), dialect="sniff"))
