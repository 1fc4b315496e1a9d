"""The demo's login, feeds and RPC pages, driven over loopback by the clients they teach.

Each home-page section's commands and Python snippets run for real (the CLI as a subprocess,
the served URL put in for ``http://127.0.0.1:8000``), and the flows behind them are checked with
urllib, wirekit's ``Session`` and ``xmlrpc.client``: login, a wrong password, the private page
without a cookie, logout, a JSON-RPC batch, an XML-RPC fault.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from wirekit.data import fromstring, parse_records
from wirekit.demo import SITE, make_demo_app
from wirekit.demo.login import MAX_SESSIONS, Sessions
from wirekit.http.client import HTTPError, Session
from wirekit.testing import serve_wsgi

from .test_demo import fetch, parse_page

SHOWN = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_wsgi(make_demo_app()) as base:
        yield base


class Sections(HTMLParser):
    """The home page's ``<pre>`` blocks, grouped by the ``<h3>`` topic heading before them."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, list[str]] = {}
        self._heading: str | None = None
        self._where: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":  # a course section (or the page's last part): no topic yet
            self._heading = None
        elif tag == "h3":
            self._where, self._heading = "h3", ""
        elif tag == "pre" and self._heading is not None:
            self._where = "pre"
            self.blocks.setdefault(self._heading, []).append("")

    def handle_endtag(self, tag):
        self._where = None

    def handle_data(self, data):
        if self._where == "h3":
            self._heading = (self._heading or "") + data
        elif self._where == "pre" and self._heading is not None:
            self.blocks[self._heading][-1] += data


def section(url: str, starts: str) -> tuple[list[str], list[str]]:
    """(commands, Python programs) of the home-page section whose heading starts so."""
    sections = Sections()
    sections.feed(fetch(url + "/")[2].decode())
    [blocks] = [b for heading, b in sections.blocks.items() if heading.startswith(starts)]
    commands = [line for block in blocks if not block.startswith(("from ", "import "))
                for line in block.splitlines() if line.startswith("wirekit ")]
    programs = [block for block in blocks if block.startswith(("from ", "import "))]
    assert commands and programs
    return [c.replace(SHOWN, url) for c in commands], [p.replace(SHOWN, url) for p in programs]


def wirekit(command: str, cwd: Path) -> str:
    words = shlex.split(command, comments=True)
    assert words[0] == "wirekit"
    result = subprocess.run([sys.executable, "-m", "wirekit", *words[1:]], cwd=cwd,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, (command, result.stdout[-500:], result.stderr[-1000:])
    assert "Traceback" not in result.stderr
    return result.stdout


def python(program: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-c", program], cwd=cwd, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, (program, result.stderr[-2000:])
    return result.stdout


def post_form(url: str, fields: dict[str, str], cookie: str | None = None
              ) -> tuple[int, dict[str, str], bytes]:
    """One POST, redirects not followed, so the 303 and its Set-Cookie are seen."""
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get_with(url: str, cookie: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


# -- login, private, logout ----------------------------------------------------------------


def test_login_page_is_a_form_naming_the_demo_user(url: str):
    status, headers, body = fetch(url + "/login")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = parse_page(body)
    assert page.actions == [("login", "POST")]
    assert b'name="username"' in body and b'name="password"' in body
    assert b"<code>guido</code>" in body and b"<code>python</code>" in body


def test_login_sets_a_session_cookie_and_private_knows_the_user(url: str):
    status, headers, _ = post_form(url + "/login", {"username": "guido", "password": "python"})
    assert status == 303 and headers["Location"] == "private"
    cookie = headers["Set-Cookie"]
    match = re.fullmatch(r"session=([A-Za-z0-9_-]{40,}); HttpOnly; SameSite=Lax; Path=/", cookie)
    assert match, cookie
    status, body = get_with(url + "/private", f"session={match.group(1)}")
    assert status == 200 and b"Welcome, guido." in body
    parse_page(body)
    # a second login is another session: tokens are never reused
    again = post_form(url + "/login", {"username": "guido", "password": "python"})[1]
    assert again["Set-Cookie"] != cookie


@pytest.mark.parametrize("fields", [{"username": "guido", "password": "Python"},
                                    {"username": "guid", "password": "python"},
                                    {"username": "", "password": ""}, {}])
def test_a_wrong_password_is_401_with_a_way_back(url: str, fields: dict[str, str]):
    status, headers, body = post_form(url + "/login", fields)
    assert status == 401 and "Set-Cookie" not in headers
    assert b"do not match" in body and b'<a href="login">Try again</a>' in body
    parse_page(body)


@pytest.mark.parametrize("cookie", [None, "session=forged-token", "other=1", "session=",
                                    'session="unterminated'])
def test_private_without_a_valid_cookie_is_403_with_a_link_to_login(url: str,
                                                                    cookie: str | None):
    status, body = get_with(url + "/private", cookie)
    assert status == 403
    page = parse_page(body)
    assert "login" in page.links


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_logout_forgets_the_session_and_expires_the_cookie(url: str, method: str):
    headers = post_form(url + "/login", {"username": "guido", "password": "python"})[1]
    cookie = headers["Set-Cookie"].split(";")[0]
    assert get_with(url + "/private", cookie)[0] == 200
    request = urllib.request.Request(url + "/logout", method=method, headers={"Cookie": cookie},
                                     data=b"" if method == "POST" else None)
    with pytest.raises(urllib.error.HTTPError) as caught:  # the 303 is not followed
        urllib.request.build_opener(NoRedirect).open(request, timeout=20)
    with caught.value as answer:
        assert answer.code == 303 and answer.headers["Location"] == "login"
        assert answer.headers["Set-Cookie"].startswith("session=; Max-Age=0;")
    assert get_with(url + "/private", cookie)[0] == 403  # the server forgot it too


def test_a_session_follows_the_login_flow_and_logout(url: str):
    with Session() as session:
        with pytest.raises(HTTPError) as refused:
            session.get(url + "/private")
        assert refused.value.status == 403
        page = session.post(url + "/login", data={"username": "guido", "password": "python"})
        assert page.url.endswith("/private") and "Welcome, guido." in page.text
        assert "Welcome, guido." in session.get(url + "/private").text
        assert session.get(url + "/logout").url.endswith("/login")
        with pytest.raises(HTTPError):
            session.get(url + "/private")


def test_sessions_keep_only_the_newest():
    sessions = Sessions(limit=3)
    tokens = [sessions.create(f"user{n}") for n in range(5)]
    assert len(sessions) == 3 and MAX_SESSIONS == 1000
    assert sessions.user(tokens[0]) is None and sessions.user(tokens[1]) is None
    assert [sessions.user(t) for t in tokens[2:]] == ["user2", "user3", "user4"]


def test_the_login_commands_and_snippet_on_the_home_page_work(url: str, tmp_path: Path):
    commands, [program] = section(url, "Log in")
    assert [c.split()[:2] for c in commands] == [["wirekit", "post"], ["wirekit", "get"]]
    assert all("--cookies jar.txt" in c for c in commands)
    assert "Welcome, guido." in wirekit(commands[0], tmp_path)  # followed the 303
    assert "session" in (tmp_path / "jar.txt").read_text()
    assert "Welcome, guido." in wirekit(commands[1], tmp_path)  # the jar, reloaded
    assert "Welcome, guido." in python(program, tmp_path)


# -- feeds ---------------------------------------------------------------------------------


def test_the_feeds_are_served_with_their_types(url: str):
    expected = {"recipes.xml": "text/xml; charset=utf-8", "news.rss": "application/rss+xml",
                "items.json": "application/json", "sales.csv": "text/csv; charset=utf-8"}
    page = parse_page(fetch(url + "/feeds/")[2])
    assert set(expected) <= set(page.links) and "../" in page.links
    for name, content_type in expected.items():
        status, headers, body = fetch(f"{url}/feeds/{name}")
        assert (status, headers["Content-Type"]) == (200, content_type), name
        assert body == (SITE / "feeds" / name).read_bytes()
    with urllib.request.urlopen(url + "/feeds", timeout=20) as response:  # 301 to the slash
        assert response.url == url + "/feeds/"
    assert fetch(url + "/feeds/missing.xml")[0] == 404


def test_the_feeds_are_well_formed():
    recipes = fromstring((SITE / "feeds" / "recipes.xml").read_bytes())
    assert recipes.tag == "recipes" and len(recipes.findall("recipe")) == 3
    first = recipes.find("recipe")
    assert first is not None and first.findtext("title") == "Famous Guacamole"
    assert first.find("ingredients/item[@units='tbl']") is not None  # as slide 3-19
    rss = fromstring((SITE / "feeds" / "news.rss").read_bytes())
    assert rss.get("version") == "2.0" and len(rss.findall("channel/item")) >= 3
    assert len(json.loads((SITE / "feeds" / "items.json").read_text())["items"]) >= 3
    rows = parse_records((SITE / "feeds" / "sales.csv").read_text())
    assert len(rows) == 10 and set(rows[0]) == {"date", "region", "item", "quantity", "price"}


def test_the_feed_commands_and_snippet_on_the_home_page_work(url: str, tmp_path: Path):
    commands, [program] = section(url, "Feeds")
    outputs = [wirekit(command, tmp_path) for command in commands]
    text = "\n".join(outputs)
    for expected in ("Famous Guacamole\nPico de Gallo\nBlack Bean Dip",
                     "Fresh squeezed lemon juice", "http://127.0.0.1:8000/feeds/",
                     '"network cable"', "rows    10", '"item": "mug, large"'):
        assert expected in text, expected
    assert '"stapler"' not in outputs[3]  # the query filtered: out of stock
    printed = python(program, tmp_path).splitlines()
    assert printed[0] == "Famous Guacamole 8"
    assert "Feeds in four formats" in printed[4]
    assert printed[-1] == str(sum(q * p for q, p in (
        (12, 1.5), (5, 3.25), (2, 6.0), (7, 4.75), (1, 7.9), (30, 1.5), (8, 3.25), (3, 8.5),
        (10, 4.75), (2, 7.9))))


# -- RPC -----------------------------------------------------------------------------------


def rpc(url: str, payload: object) -> tuple[int, object]:
    request = urllib.request.Request(url + "/jsonrpc", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, json.loads(response.read())


def test_the_rpc_commands_and_snippet_on_the_home_page_work(url: str, tmp_path: Path):
    commands, [program] = section(url, "RPC")
    outputs = [wirekit(command, tmp_path) for command in commands]
    assert outputs[0].strip() == "8"
    assert {"add", "sub", "echo", "now", "recipes", "system.multicall"} <= set(
        outputs[1].split())
    assert outputs[2].strip() == "6"
    assert json.loads(outputs[3]) == {"tags": ["a", "b"]}
    printed = python(program, tmp_path).splitlines()
    assert printed[0].startswith("8 20") and "T" in printed[0]
    assert printed[1] == "['Famous Guacamole', 'Pico de Gallo', 'Black Bean Dip']"


def test_a_json_rpc_batch_answers_each_call(url: str):
    status, answers = rpc(url, [
        {"jsonrpc": "2.0", "id": 1, "method": "add", "params": [3, 5]},
        {"jsonrpc": "2.0", "id": 2, "method": "sub", "params": {"a": 10, "b": 4}},
        {"jsonrpc": "2.0", "method": "echo", "params": ["a notification"]},
        {"jsonrpc": "2.0", "id": 3, "method": "nope"},
        {"jsonrpc": "2.0", "id": 4, "method": "recipes"},
    ])
    assert status == 200 and isinstance(answers, list)
    by_id = {answer["id"]: answer for answer in answers}
    assert set(by_id) == {1, 2, 3, 4}  # no answer to the notification
    assert by_id[1]["result"] == 8 and by_id[2]["result"] == 6
    assert by_id[3]["error"]["code"] == -32601
    assert by_id[4]["result"][0]["ingredients"][0] == "2 Large avocados, chopped"


def test_xml_rpc_faults_and_both_formats_share_the_dispatcher(url: str):
    proxy = xmlrpc.client.ServerProxy(url + "/RPC2")
    assert proxy.add(2, 3) == 5 and proxy.sub(2, 3) == -1
    assert proxy.echo({"x": [1, 2.5, "y"]}) == {"x": [1, 2.5, "y"]}
    with pytest.raises(xmlrpc.client.Fault) as missing:
        proxy.nope()
    assert missing.value.faultCode == -32601
    with pytest.raises(xmlrpc.client.Fault) as wrong:
        proxy.add(1)
    assert wrong.value.faultCode == -32602
    with pytest.raises(xmlrpc.client.Fault) as failed:
        proxy.add(1, "a")  # TypeError inside: a fault naming it, no traceback
    assert failed.value.faultCode == -32000 and "TypeError" in failed.value.faultString
    assert proxy.system.listMethods() == rpc(url, {"jsonrpc": "2.0", "id": 1,
                                                   "method": "system.listMethods"})[1]["result"]


def test_rpc_endpoints_refuse_what_a_browser_form_could_send(url: str):
    for path in ("/RPC2", "/jsonrpc"):
        assert fetch(url + path)[0] == 405
        assert fetch(url + path, data=b"method=add")[0] == 415  # urlencoded: cross-site form


def test_the_rpc_page_loads_its_own_script_only(url: str):
    status, _, body = fetch(url + "/rpc.html")
    assert status == 200
    text = body.decode()
    parse_page(body)
    assert re.findall(r"<script[^>]*>", text) == ['<script src="rpc.js" defer>']
    assert not re.search(r"\son[a-z]+=", text)  # no inline event handlers
    assert not re.search(r'(src|href)="(https?:)?//', text)
    status, headers, script = fetch(url + "/rpc.js")
    assert (status, headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    source = script.decode()
    assert 'fetch("jsonrpc"' in source and '"Content-Type": "application/json"' in source
    for element in ("rpc-form", "rpc-method", "rpc-a", "rpc-b", "rpc-answer"):
        assert f'id="{element}"' in text and f'"{element}"' in source


def test_rpc_js_parses():
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    node = subprocess.run(["node", "--check", str(SITE / "rpc.js")], capture_output=True,
                          text=True, timeout=30, check=False)
    assert node.returncode == 0, node.stderr
