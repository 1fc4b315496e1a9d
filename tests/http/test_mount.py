"""Mount: longest-prefix dispatch on segment boundaries, SCRIPT_NAME/PATH_INFO per PEP 3333."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from wirekit.errors import ConfigError
from wirekit.http.mount import Mount
from wirekit.http.static import StaticFiles

from .static_support import raw_request


def echo(name: str):
    """An application that answers with its name and the environ split it received."""

    def app(environ, start_response):
        body = json.dumps({"app": name, "script": environ["SCRIPT_NAME"],
                           "path": environ["PATH_INFO"],
                           "query": environ.get("QUERY_STRING", "")}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def mounted(wsgi_server) -> str:
    return wsgi_server(Mount({"/hello": echo("hello"), "/a": echo("a"), "/a/b": echo("ab"),
                              "/cgi-bin/": echo("cgi"), "": echo("fallback")}))


@pytest.mark.parametrize(("path", "app", "script", "rest"), [
    ("/hello", "hello", "/hello", ""),
    ("/hello/", "hello", "/hello", "/"),
    ("/hello/x/y?q=1", "hello", "/hello", "/x/y"),
    ("/helloworld", "fallback", "", "/helloworld"),   # segment boundary, not a string prefix
    ("/a/b/c", "ab", "/a/b", "/c"),                    # longest prefix wins
    ("/a/bc", "a", "/a", "/bc"),
    ("/a", "a", "/a", ""),
    ("/cgi-bin/subscribe.py", "cgi", "/cgi-bin", "/subscribe.py"),  # trailing / normalised
    ("/", "fallback", "", "/"),
    ("/Hello", "fallback", "", "/Hello"),              # paths are case-sensitive
])
def test_dispatch(mounted: str, path: str, app: str, script: str, rest: str):
    answer = get_json(mounted + path)
    assert (answer["app"], answer["script"], answer["path"]) == (app, script, rest)


def test_query_string_is_untouched(mounted: str):
    assert get_json(mounted + "/hello/x?a=1&b=2")["query"] == "a=1&b=2"


def test_decoded_path_is_matched(mounted: str):
    answer = get_json(mounted + "/hell%6F/%41")  # PATH_INFO is decoded: /hello/A
    assert (answer["app"], answer["path"]) == ("hello", "/A")


def test_no_match_without_fallback_is_404(wsgi_server):
    url = wsgi_server(Mount({"/only": echo("only")}))
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url + "/other", timeout=10)
    assert info.value.code == 404
    assert info.value.headers["Content-Type"] == "text/html; charset=utf-8"
    head = raw_request(url, "/other", method="HEAD")
    assert head.status == 404 and head.body == b""


def test_nested_mounts_accumulate_script_name(wsgi_server):
    inner = Mount({"/inner": echo("inner")})
    url = wsgi_server(Mount({"/outer": inner}))
    answer = get_json(url + "/outer/inner/leaf")
    assert (answer["script"], answer["path"]) == ("/outer/inner", "/leaf")


def test_static_files_under_a_prefix(wsgi_server, tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("A")
    url = wsgi_server(Mount({"/static": StaticFiles(tmp_path), "": echo("site")}))
    with urllib.request.urlopen(url + "/static/docs/a.txt", timeout=10) as response:
        assert response.read() == b"A"
    redirect = raw_request(url, "/static/docs?x=1")
    assert (redirect.status, redirect.header("Location")) == (301, "/static/docs/?x=1")
    bare = raw_request(url, "/static")
    assert (bare.status, bare.header("Location")) == (301, "/static/")
    listing = raw_request(url, "/static/docs/").body
    assert b"<title>Index of /static/docs/</title>" in listing
    assert b'href="a.txt"' in listing
    assert raw_request(url, "/static/../etc/passwd").status in (400, 404)


@pytest.mark.parametrize("prefix", ["hello", "//x", "/a\\b", "/x\x00"])
def test_bad_prefixes_are_refused(prefix: str):
    with pytest.raises(ConfigError):
        Mount({prefix: echo("x")})


def test_duplicate_prefixes_are_refused():
    with pytest.raises(ConfigError):
        Mount({"/x": echo("1"), "/x/": echo("2")})


def test_prefixes_are_listed_longest_first():
    mount = Mount({"/a": echo("a"), "/a/b": echo("ab"), "/": echo("root")})
    assert mount.prefixes == ["/a/b", "/a", ""]
