"""The demo's /echo: the request as the server received it, for trying HTTP clients."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator

import pytest

from wirekit.demo import make_demo_app
from wirekit.demo.echo import MAX_BODY
from wirekit.http.client import Session
from wirekit.testing import serve_wsgi


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_wsgi(make_demo_app()) as base:
        yield base


def request(url: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_at_any_path_comes_back(url: str, method: str):
    status, headers, body = request(url, method, "/echo/item/1?q=a&q=b&empty=",
                                    headers={"X-Trace": "on"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    seen = json.loads(body)
    assert seen["method"] == method and seen["path"] == "/echo/item/1"
    assert seen["query"] == {"q": ["a", "b"], "empty": [""]}
    assert seen["headers"]["X-Trace"] == "on"


def test_a_session_sees_its_json_form_and_cookies(url: str):
    with Session() as session:
        sent = session.post(url + "/echo", json={"item": "pen", "tags": ["office"]},
                            headers={"Cookie": "theme=dark"}).json()
        form = session.post(url + "/echo", data={"name": "Dave", "lang": "py"}).json()
    assert sent["json"] == {"item": "pen", "tags": ["office"]}
    assert sent["headers"]["Cookie"] == "theme=dark"
    assert form["form"] == {"name": ["Dave"], "lang": ["py"]}


def test_files_are_described_never_echoed(url: str):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; "
            f"filename=\"beach.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + \
        b"\xff\xd8secret-bytes" + f"\r\n--{boundary}--\r\n".encode()
    status, _, answer = request(url, "POST", "/echo", body, {
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200
    assert json.loads(answer)["form"] == {"photo": [
        {"filename": "beach.jpg", "content_type": "image/jpeg", "size": 14}]}
    assert b"secret-bytes" not in answer


def test_text_and_broken_json_are_shown_as_text(url: str):
    _, _, answer = request(url, "POST", "/echo", b"{not json", {
        "Content-Type": "application/json"})
    seen = json.loads(answer)
    assert seen["body"] == "{not json" and "json_error" in seen
    _, _, answer = request(url, "PUT", "/echo", b"plain words", {"Content-Type": "text/plain"})
    assert json.loads(answer)["body"] == "plain words"


def test_bodies_are_bounded(url: str):
    status, _, answer = request(url, "POST", "/echo", b"x" * (MAX_BODY + 1),
                                {"Content-Type": "text/plain"})
    assert status == 413 and "at most" in json.loads(answer)["error"]


def test_head_has_no_body(url: str):
    status, headers, body = request(url, "HEAD", "/echo")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
