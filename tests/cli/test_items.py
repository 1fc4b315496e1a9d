"""The request-item grammar of ``wirekit get/post/http`` (httpie's), pure: no sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from wirekit.cli.items import (
    Item,
    ItemError,
    complete_url,
    parse_header,
    parse_item,
    parse_items,
    request_arguments,
)


def _no_files(path: str) -> str:
    raise AssertionError(f"read {path!r} unexpectedly")


@pytest.mark.parametrize(
    ("text", "kind", "name", "value"),
    [
        ("a=b", "field", "a", "b"),
        ("a=", "field", "a", ""),
        ("a=b=c", "field", "a", "b=c"),
        ("n:=2", "json", "n", 2),  # the old parser sent the key "n:" with the value "2"
        ("ok:=true", "json", "ok", True),
        ('tags:=["a", 1]', "json", "tags", ["a", 1]),
        ("q==v", "query", "q", "v"),  # the old parser sent q = "=v"
        ("q==", "query", "q", ""),
        ("a==b=c", "query", "a", "b=c"),
        ("X-A:1", "header", "X-A", "1"),
        ("X-A: spaced ", "header", "X-A", "spaced"),
        ("X-A:", "header", "X-A", ""),
        ("X-A;", "header", "X-A", ""),
        ("Authorization:Bearer a=b", "header", "Authorization", "Bearer a=b"),
        ("url=http://x/?a=b", "field", "url", "http://x/?a=b"),  # '=' comes before ':'
        ("mail=a@b", "field", "mail", "a@b"),
        (r"a\=b=c", "field", "a=b", "c"),
        (r"a\:b=c", "field", "a:b", "c"),
        (r"a\@b=c", "field", "a@b", "c"),
        (r"a\\b=c", "field", "a\\b", "c"),  # an escaped backslash
        (r"a\nb=c", "field", r"a\nb", "c"),  # not a separator: the backslash stays
        (r"a=b\=c", "field", "a", "b=c"),
        (r"q==a\==b", "query", "q", "a==b"),
    ],
)
def test_each_separator(text, kind, name, value):
    item = parse_item(text, read=_no_files)
    assert (item.kind, item.name, item.value, item.source) == (kind, name, value, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("novalue", "expected name=value"),
        ("=x", "name before '=' is empty"),
        (":=1", "name before ':=' is empty"),
        ("==1", "name before '==' is empty"),
        (":v", "name before ':' is empty"),
        ("n:=nope", "not JSON"),
        ("n:={", "not JSON"),
        ("a;b", "empty header"),
        ("bad name:1", "not a header name"),
        (r"X\:Y:v", "not a header name"),  # an escaped ':' is part of the name, not a split
        ("http://example.org/", "second URL"),
        ("f@/no/such/file", "no such file"),
        ("@", "no file name"),
        ("a=@", "no file name"),
        (r"a\=b", "expected name=value"),  # the only separator is escaped
    ],
)
def test_refusals_name_the_item(text, message):
    with pytest.raises(ItemError) as caught:
        parse_item(text, read=_no_files)
    assert message in str(caught.value)
    assert repr(text) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_values_from_files(tmp_path: Path):
    files = {"note": "line one\n", "cfg": '{"a": [1]}'}
    read = files.__getitem__
    assert parse_item("n=@note", read).value == "line one\n"
    assert parse_item("c:=@cfg", read).value == {"a": [1]}
    assert parse_item("q==@note", read) == Item("query", "q", "line one\n", "q==@note")
    (tmp_path / "up.txt").write_text("x")
    upload = parse_item(f"f@{tmp_path / 'up.txt'}")
    assert (upload.kind, upload.name, upload.value) == ("file", "f", tmp_path / "up.txt")
    body = parse_item(f"@{tmp_path / 'up.txt'}")
    assert (body.kind, body.value) == ("body", tmp_path / "up.txt")
    with pytest.raises(ItemError, match="cannot read"):
        parse_item(f"n=@{tmp_path / 'missing'}")


def test_one_body_and_no_json_with_uploads(tmp_path: Path):
    (tmp_path / "a").write_text("a")
    with pytest.raises(ItemError, match="only one @path"):
        parse_items([f"@{tmp_path / 'a'}", f"@{tmp_path / 'a'}"])
    with pytest.raises(ItemError, match="cannot go with field@path"):
        parse_items(["n:=1", f"f@{tmp_path / 'a'}"])


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("localhost:8000/x", "http://localhost:8000/x"),
        ("example.org", "http://example.org"),
        ("127.0.0.1/a?b=c", "http://127.0.0.1/a?b=c"),
        ("[::1]:80/", "http://[::1]:80/"),
        (":8000/x", "http://localhost:8000/x"),
        (":8000", "http://localhost:8000"),
        (":/x", "http://localhost/x"),
        ("https://example.org/", "https://example.org/"),
        ("HTTP://example.org/", "HTTP://example.org/"),
        ("http+unix://%2Ftmp%2Fs.sock/x", "http+unix://%2Ftmp%2Fs.sock/x"),
        ("file:///etc/hosts", "file:///etc/hosts"),
        ("ftp://h/f", "ftp://h/f"),
    ],
)
def test_url_shorthand(text, url):
    assert complete_url(text) == url


def test_header_option_values():
    assert parse_header("X-Test: yes") == ("X-Test", "yes")
    assert parse_header("X-Test:") == ("X-Test", "")
    assert parse_header("X-Test;") == ("X-Test", "")
    assert parse_header("X: a: b") == ("X", "a: b")
    for bad in ("no colon", ": v", "X Y: v"):
        with pytest.raises(ItemError):
            parse_header(bad)


def _arguments(method: str, *texts: str, **flags: object) -> dict:
    return request_arguments(method, parse_items(texts, read=_no_files), **flags)  # type: ignore[arg-type]


def test_fields_go_to_the_query_for_query_methods_and_the_body_otherwise():
    assert _arguments("GET", "a=1", "b==2", "c=3")["params"] == [("a", "1"), ("b", "2"),
                                                                 ("c", "3")]
    post = _arguments("POST", "a=1", "b==2")
    assert post["params"] == [("b", "2")] and post["data"] == [("a", "1")]
    assert "json" not in post
    form_get = _arguments("GET", "a=1", form=True)
    assert form_get["params"] is None and form_get["data"] == [("a", "1")]


def test_json_bodies():
    typed = _arguments("POST", "a=1", "n:=2", "a=3")
    assert typed["json"] == {"a": ["1", "3"], "n": 2}  # a repeated name collects a list
    assert ("Accept", "application/json, */*;q=0.5") in typed["headers"]
    flag = _arguments("GET", "a=1", json_body=True)  # --json makes '=' a JSON member on GET
    assert flag["json"] == {"a": "1"} and flag["params"] is None
    mine = _arguments("POST", "n:=1", "Accept:text/plain")
    assert [h for h in mine["headers"] if h[0] == "Accept"] == [("Accept", "text/plain")]
    assert "json" not in _arguments("GET", json_body=True)  # nothing to send


def test_raw_bodies(tmp_path: Path):
    data = request_arguments("POST", parse_items([]), data=b"a=1&b=2")
    assert data["data"] == b"a=1&b=2"
    assert ("Content-Type", "application/x-www-form-urlencoded") in data["headers"]
    as_json = request_arguments("POST", parse_items(["Content-Type:text/x"]), data=b"{}",
                                json_body=True)
    assert [h for h in as_json["headers"] if h[0] == "Content-Type"] == [("Content-Type",
                                                                            "text/x")]
    (tmp_path / "order.json").write_text("{}")
    body = request_arguments("PUT", parse_items([f"@{tmp_path / 'order.json'}"]))
    assert body["data"] == tmp_path / "order.json"
    assert ("Content-Type", "application/json") in body["headers"]
    query_too = request_arguments("GET", parse_items(["q=1"]), data=b"x")
    assert query_too["params"] == [("q", "1")] and query_too["data"] == b"x"
    with pytest.raises(ItemError, match="cannot be combined"):
        request_arguments("POST", parse_items(["a=1"]), data=b"x")
    with pytest.raises(ItemError, match="pick one"):
        request_arguments("POST", parse_items([f"@{tmp_path / 'order.json'}"]), data=b"x")


def test_uploads_make_a_multipart_body(tmp_path: Path):
    (tmp_path / "p.jpg").write_bytes(b"\xff")
    upload = _arguments_with_files("GET", tmp_path, "title=t", "photo@p.jpg")
    assert upload["data"] == [("title", "t")]
    assert upload["files"] == [("photo", tmp_path / "p.jpg")]
    with pytest.raises(ItemError, match="--json cannot send"):
        request_arguments("POST", parse_items([f"f@{tmp_path / 'p.jpg'}"]), json_body=True)


def _arguments_with_files(method: str, directory: Path, *texts: str) -> dict:
    resolved = [t.replace("@", f"@{directory}/", 1) if "@" in t else t for t in texts]
    return request_arguments(method, parse_items(resolved))
