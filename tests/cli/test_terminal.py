"""``wirekit get/post/http`` on a terminal: httpie-style output, progress bars, the password
prompt. The printer is tested with a rich console writing to memory; the command itself in a
pseudo-terminal (``pty.openpty``), as a person would run it."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from typing import Any

import pytest
from rich.console import Console

from wirekit.cli.output import PrettyPrinter, body_kind, safe_text
from wirekit.http.client import Response
from wirekit.testing import serve_wsgi

ESC = "\x1b"


def _printer() -> tuple[PrettyPrinter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", width=100,
                      highlight=False, soft_wrap=True)
    return PrettyPrinter(console), out


def _plain(text: str) -> str:
    """``text`` without colour sequences."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _response(content: bytes, content_type: str, status: int = 200) -> Response:
    return Response(status, [("Content-Type", content_type), ("X-Demo", "1")],
                    content=content)


def test_json_is_indented_and_coloured():
    printer, out = _printer()
    printer.body(_response(b'{"name":"pen","tags":["a",1],"ok":true}', "application/json"))
    text = out.getvalue()
    assert ESC + "[" in text  # coloured
    assert json.loads(_plain(text)) == {"name": "pen", "tags": ["a", 1], "ok": True}
    assert '\n    "name": "pen",' in _plain(text)  # indented by 4, as httpie does


def test_text_is_decoded_by_its_charset_and_terminal_controls_are_shown_not_obeyed():
    printer, out = _printer()
    printer.body(_response("café\r\nclear\x1b[2Jscreen\x9b".encode("latin-1"),
                           "text/plain; charset=iso-8859-1"))
    text = out.getvalue()
    assert text == "café\nclear\\x1b[2Jscreen\\x9b\n"
    printer, out = _printer()
    printer.body(_response(b"{not json", "application/json"))
    assert out.getvalue() == "{not json\n"  # shown as text when it does not parse


def test_binary_bodies_are_not_dumped():
    printer, out = _printer()
    printer.body(_response(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"))
    assert "binary data not shown" in out.getvalue() and "PNG" not in out.getvalue()
    assert body_kind("application/octet-stream", b"text") == "binary"
    assert body_kind("", b"\xff\xfe\xfd\x00") == "binary"
    assert body_kind("", b"plain words") == "text"
    assert body_kind("application/problem+json", b"{}") == "json"
    assert body_kind("text/plain", b"a\x00b") == "binary"  # a NUL: binary whatever the type


def test_head_is_coloured_by_status():
    printer, out = _printer()
    printer.head(_response(b"", "text/plain", status=404))
    text = out.getvalue()
    assert _plain(text) == "HTTP/1.1 404 Not Found\nContent-Type: text/plain\nX-Demo: 1\n\n"
    assert ESC + "[1;31m404 Not Found" in text
    assert safe_text("a\x00b\tc") == "a\\x00b\tc"


# -- the command in a pseudo-terminal ----------------------------------------------------------


def run_in_pty(*args: str, answer: bytes | None = None, timeout: float = 30) -> tuple[int, str]:
    """Run ``wirekit ARGS`` with a pseudo-terminal as stdin, stdout and stderr; type
    ``answer`` when a password prompt appears. Returns the exit code and everything shown."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    # A new session has no controlling terminal, so getpass reads the pty, not the terminal
    # pytest may run in.
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    shown, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if answer is not None and b"password" in shown:
                os.write(master, answer)
                answer = None
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, shown.decode(errors="replace")


def _json_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"name":"pen","n":2}']


def _blob_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    size = environ.get("CONTENT_LENGTH")
    if size:
        environ["wsgi.input"].read(int(size))
    body = b"\x00" * 300_000
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


def test_a_terminal_gets_colours_and_indented_json():
    with serve_wsgi(_json_app) as url:
        code, shown = run_in_pty("get", "-i", url)
    assert code == 0, shown
    assert ESC + "[" in shown  # colour
    plain = _plain(shown).replace("\r\n", "\n")
    assert plain.startswith("HTTP/1.1 200 OK\n")
    assert '{\n    "name": "pen",\n    "n": 2\n}' in plain


def test_a_terminal_is_spared_binary_bodies_but_a_pipe_is_not(cli):
    with serve_wsgi(_blob_app) as url:
        code, shown = run_in_pty("get", url)
        piped = cli("get", url)
    assert code == 0 and "binary data not shown" in shown and "\x00" not in shown
    assert piped.code == 0 and piped.stdout == "\x00" * 300_000  # exact bytes into a pipe


def test_pretty_can_be_forced_into_a_pipe(cli):
    with serve_wsgi(_json_app) as url:
        forced = cli("get", "--pretty", url)
        raw = cli("get", url)
    assert forced.stdout == '{\n    "name": "pen",\n    "n": 2\n}\n'
    assert raw.stdout == '{"name":"pen","n":2}'


def test_downloads_and_uploads_draw_a_progress_bar(tmp_path):
    upload = tmp_path / "photo.jpg"
    upload.write_bytes(b"x" * 200_000)
    with serve_wsgi(_blob_app) as url:
        code, shown = run_in_pty("get", url, "-o", str(tmp_path / "blob.bin"))
        sent_code, sent = run_in_pty("post", url, f"photo@{upload}", "-o",
                                     str(tmp_path / "answer.bin"))
    assert code == 0, shown
    assert (tmp_path / "blob.bin").stat().st_size == 300_000
    assert "blob.bin" in shown and "300.0/300.0 kB" in _plain(shown)
    assert sent_code == 0, sent
    assert re.search(r"Uploading .* (200\.\d)/\1 kB", _plain(sent)), sent  # multipart: 200 kB +


def test_silent_draws_no_bar(tmp_path):
    with serve_wsgi(_blob_app) as url:
        code, shown = run_in_pty("get", "-s", url, "-o", str(tmp_path / "blob.bin"))
    assert code == 0 and shown == ""


@pytest.mark.parametrize("typed", [b"secret\n"])
def test_a_missing_password_is_asked_for_on_the_terminal(typed):
    import base64

    expected = "Basic " + base64.b64encode(b"ann:secret").decode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        ok = environ.get("HTTP_AUTHORIZATION") == expected
        start_response("200 OK" if ok else "401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"hello ann" if ok else b"no"]

    with serve_wsgi(app) as url:
        code, shown = run_in_pty("get", "-u", "ann", url, answer=typed)
    assert code == 0, shown
    assert "Enter host password for user 'ann'" in shown
    assert "hello ann" in shown and "secret" not in shown  # not echoed
