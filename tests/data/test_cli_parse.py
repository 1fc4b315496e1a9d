"""``wirekit parse`` as a user runs it: in a subprocess, on files, stdin and loopback URLs."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .conftest import ATTACKS, SCHMODS_CSV


@dataclass
class Result:
    code: int
    out: str
    err: str


def wirekit(*args: str, stdin: bytes = b"") -> Result:
    proc = subprocess.run([sys.executable, "-m", "wirekit", "parse", *args], input=stdin,
                          capture_output=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def one_line_error(result: Result, code: int) -> str:
    assert result.code == code, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert lines[0].startswith("wirekit parse: error:")
    return lines[0]


def test_help_has_an_example():
    result = wirekit("--help")
    assert result.code == 0
    assert "Examples:" in result.out and "wirekit parse" in result.out


def test_xml_summary_and_xpath(recipe_path):
    summary = wirekit(str(recipe_path))
    assert "root    recipe" in summary.out and "item 8" in summary.out
    texts = wirekit(str(recipe_path), "--xpath", "//item", "--text")
    assert texts.out.splitlines()[0] == "Large avocados, chopped"
    assert len(texts.out.splitlines()) == 8
    tsp = wirekit(str(recipe_path), "--xpath", "ingredients/item[@units='tsp']")
    assert tsp.out.strip() == '<item num="3" units="tsp">Sea Salt</item>'
    one_line_error(wirekit(str(recipe_path), "--xpath", "item[@@"), 2)


def test_an_attack_is_one_line_naming_the_refusal():
    if not ATTACKS.is_dir():
        pytest.skip("attack corpus not found beside the repo")
    line = one_line_error(wirekit(str(ATTACKS / "xmlbomb.xml")), 1)
    assert "entity expansion is refused" in line
    line = one_line_error(wirekit(str(ATTACKS / "dtd.xml"), "--xpath", "body"), 1)
    assert "external DTD" in line


PAGE = b"""<html><head><title>Login</title></head><body>
<a href="/home">Home</a> <a href="next.html">Next</a>
<form action="/login" method="post"><input name="user" value="bob"><input type="password"
name="pw"></form></body></html>"""


@pytest.fixture
def site() -> Iterator[str]:
    pages = {"/page.html": ("text/html", PAGE),
             "/feed": ("application/json", b'{"items": [1, 2, 3]}'),
             "/data": ("text/csv", SCHMODS_CSV.encode())}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in pages:
                self.send_error(404)
                return
            kind, body = pages[self.path]
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_html_links_and_forms_from_a_url(site):
    links = wirekit(f"{site}/page.html", "--links")
    assert links.out.split() == [f"{site}/home", f"{site}/next.html"]
    (form,) = [json.loads(line) for line in wirekit(f"{site}/page.html", "--forms").out.split("\n")
               if line]
    assert form["action"] == f"{site}/login" and form["method"] == "POST"
    assert form["defaults"] == [["user", "bob"], ["pw", ""]]
    assert "title   Login" in wirekit(f"{site}/page.html").out


def test_formats_follow_the_content_type(site):
    assert "object with 1 keys: items" in wirekit(f"{site}/feed").out
    rows = [json.loads(line) for line in wirekit(f"{site}/data", "--csv", "--no-header")
            .out.splitlines()]
    assert rows[0] == ["Elwood", "Blues", "1060 W Addison, Chicago 60637", "110"]


def test_html_links_in_a_file_resolve_against_the_file(tmp_path):
    page = tmp_path / "index.html"
    page.write_bytes(PAGE)
    assert wirekit(str(page), "--links").out.split()[1] == (tmp_path / "next.html").as_uri()


def test_csv_and_json_lines_from_files_and_stdin(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("name,qty\navocado,2\nlime,3\n")
    assert [json.loads(x) for x in wirekit(str(table), "--csv").out.splitlines()] == [
        {"name": "avocado", "qty": "2"}, {"name": "lime", "qty": "3"}]
    assert "columns name, qty" in wirekit(str(table)).out
    feed = b'{"a": 1}\n{"a": 2}\n'
    summary = wirekit("-", stdin=feed)
    assert "format  JSON Lines" in summary.out and "records 2" in summary.out


@pytest.mark.parametrize("args", [
    ["no-such-file.xml"],
    ["ftp://127.0.0.1/x.xml"],
    ["--max-size", "lots", "x.xml"],
])
def test_bad_arguments_exit_2(args):
    one_line_error(wirekit(*args), 2)


def test_an_option_that_does_not_fit_the_format_exits_2(recipe_path):
    line = one_line_error(wirekit(str(recipe_path), "--links"), 2)
    assert "--links works on HTML input" in line
    one_line_error(wirekit(str(recipe_path), "--links", "--forms"), 2)


def test_failures_exit_1(site, tmp_path):
    assert "HTTP 404" in one_line_error(wirekit(f"{site}/missing"), 1)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert "cannot fetch" in one_line_error(wirekit(f"http://127.0.0.1:{port}/"), 1)
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 1000 + "1]")
    assert "larger than" in one_line_error(wirekit(str(big), "--max-size", "1k"), 1)
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": ')
    assert "malformed JSON" in one_line_error(wirekit(str(broken)), 1)


# -- issue 14: namespaces, attributes, JSON queries, --json, no-match status -------------------
RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
<item><title>One</title><dc:creator>Ann</dc:creator><link href="/1"/></item>
<item><title>Two</title><dc:creator>Bob</dc:creator></item>
</channel></rss>"""
ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="urn:x"><title>F</title>
<entry><title>A</title><link href="http://a/" x:rank="1"/></entry>
<entry><title>B</title></entry></feed>"""


@pytest.fixture
def feeds(tmp_path):
    (tmp_path / "feed.rss").write_bytes(RSS)
    (tmp_path / "feed.atom").write_bytes(ATOM)
    return tmp_path


def test_xpath_prefixes_are_the_documents_own(feeds):
    """--xpath .//dc:creator printed nothing (exit 0) although the summary lists dc:creator."""
    rss = str(feeds / "feed.rss")
    assert "dc:creator 2" in wirekit(rss).out
    for path in (".//dc:creator", "//item/dc:creator", "channel/item/dc:creator"):
        result = wirekit(rss, "--xpath", path, "--text")  # streamed, then read whole
        assert (result.code, result.out.split()) == (0, ["Ann", "Bob"]), path
    dc = "http://purl.org/dc/elements/1.1/"
    assert wirekit(rss, "--xpath", ".//d:creator", "--ns", f"d={dc}", "--text").out.split() == [
        "Ann", "Bob"]
    line = one_line_error(wirekit(rss, "--xpath", ".//zz:creator"), 2)
    assert "--ns zz=URI" in line


def test_unprefixed_names_are_in_the_roots_default_namespace(feeds):
    atom = str(feeds / "feed.atom")
    assert wirekit(atom, "--xpath", ".//entry/title", "--text").out.split() == ["A", "B"]
    assert wirekit(atom, "--xpath", "entry", "--text").out.split() == ["A", "B"]  # streamed
    assert wirekit(atom, "--xpath", "entry[2]/title", "--text").out.split() == ["B"]
    assert wirekit(atom, "--xpath", "/feed/entry[1]/title", "--text").out.split() == ["A"]
    clark = ".//{http://www.w3.org/2005/Atom}entry/title"  # a URI's slashes are not steps
    assert wirekit(atom, "--xpath", clark, "--text").out.split() == ["A", "B"]


def test_a_final_attribute_step_prints_attribute_values(recipe_path, feeds):
    units = wirekit(str(recipe_path), "--xpath", ".//item/@units")
    assert units.out.split() == ["C", "tbl", "tbl", "tsp", "bottles"]
    assert wirekit(str(recipe_path), "--xpath", "ingredients/item[@units='tsp']/@num"
                   ).out.split() == ["3"]
    assert wirekit(str(feeds / "feed.atom"), "--xpath", ".//link/@x:rank").out.split() == ["1"]


def test_a_query_that_matches_nothing_exits_1_silently(recipe_path, tmp_path):
    for args in ([str(recipe_path), "--xpath", ".//nothing"],
                 [str(recipe_path), "--xpath", "ingredients/item[@units='kg']"],
                 [str(recipe_path), "--xpath", ".//item/@colour"]):
        result = wirekit(*args)
        assert (result.code, result.out, result.err) == (1, "", ""), args
    doc = tmp_path / "d.json"
    doc.write_text('{"items": []}')
    assert wirekit(str(doc), "--query", "items[].name") == Result(1, "", "")
    assert wirekit(str(doc), "--query", "missing") == Result(1, "", "")
    assert "Exit status:" in wirekit("--help").out


def test_json_queries_with_jmespath(tmp_path):
    doc = tmp_path / "d.json"
    doc.write_text('{"items": [{"name": "avocado", "qty": 2}, {"name": "lime", "qty": 1}]}')
    pretty = wirekit(str(doc), "--query", "items[?qty > `1`].name")
    assert pretty.code == 0 and pretty.out == '[\n  "avocado"\n]\n'
    assert wirekit(str(doc), "--query", "items[].name", "--json").out == '["avocado","lime"]\n'
    feed = b'{"a": {"b": 1}}\n{"c": 2}\n{"a": {"b": 3}}\n'
    assert wirekit("-", "--query", "a.b", stdin=feed).out.split() == ["1", "3"]
    assert "JMESPath" in one_line_error(wirekit(str(doc), "--query", "items[["), 2)
    assert "Unknown function" in one_line_error(wirekit(str(doc), "--query", "nope(@)"), 2)
    one_line_error(wirekit(str(doc), "--query", "length(items[0].qty)"), 1)  # a type clash


def test_options_that_need_another_are_refused_not_ignored(recipe_path, tmp_path):
    assert "--text works with --xpath" in one_line_error(wirekit(str(recipe_path), "--text"), 2)
    one_line_error(wirekit(str(recipe_path), "--ns", "a=urn:a"), 2)
    one_line_error(wirekit(str(recipe_path), "--xpath", "item", "--ns", "nonsense"), 2)
    assert "--query works on JSON" in one_line_error(
        wirekit(str(recipe_path), "--query", "a"), 2)


def test_every_summary_has_a_json_form(recipe_path, tmp_path, feeds):
    page = tmp_path / "index.html"
    page.write_bytes(PAGE)
    table = tmp_path / "t.csv"
    table.write_text("name,qty\navocado,2\nlime,3\n")
    doc = tmp_path / "d.json"
    doc.write_text('{"items": [1, 2]}')
    summaries = {path: json.loads(wirekit(str(path), "--json").out)
                 for path in (recipe_path, page, table, doc, feeds / "feed.rss")}
    assert summaries[recipe_path]["tags"]["item"] == 8
    assert summaries[feeds / "feed.rss"]["namespaces"] == {
        "dc": "http://purl.org/dc/elements/1.1/"}
    assert summaries[page] | {"start": ""} == {"format": "html", "title": "Login", "links": 2,
                                               "forms": 1, "tables": 0, "text": 9,
                                               "start": ""}
    assert summaries[table] == {"format": "csv", "delimiter": ",", "columns": ["name", "qty"],
                                "rows": 2}
    assert summaries[doc] == {"format": "json", "value": {"type": "object", "size": 1,
                                                          "keys": ["items"]}}
    lines = json.loads(wirekit("-", "--json", stdin=b'{"a": 1}\n{"a": 2}\n').out)
    assert lines == {"format": "jsonl", "records": 2,
                     "first": {"type": "object", "size": 1, "keys": ["a"]}}
    links = [json.loads(line) for line in wirekit(str(page), "--links", "--json").out.split("\n")
             if line]
    assert [link["raw"] for link in links] == ["/home", "next.html"]
