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
