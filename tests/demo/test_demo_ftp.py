"""The demo's FTP server and /ftp.html: ``wirekit serve`` started as a user starts it (a
subprocess, free ports), the page's commands and Python snippet run as a user runs them."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wirekit.demo import ftp as demo_ftp
from wirekit.demo import make_demo_app
from wirekit.testing import serve_wsgi

from .test_demo import fetch, parse_page

pytest.importorskip("pyftpdlib")

ALPHABET = (demo_ftp.FILES / "alphabet.txt").read_bytes()


@dataclass
class Served:
    url: str  # the web site, http://127.0.0.1:PORT
    ftp: str  # 127.0.0.1:PORT


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirekit", "serve", "--port", "0", "--mail-port", "0",
         "--echo-port", "0", "--time-port", "0", "--ftp-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        ftp = re.search(r"FTP on (127\.0\.0\.1:\d+): /ftp\.html", first)
        url = re.search(r" on (http://127\.0\.0\.1:\d+)/", first)
        assert ftp and url, (first, proc.stderr.read() if proc.poll() is not None else "")
        yield Served(url.group(1), ftp.group(1))
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    with pytest.raises(OSError):  # Ctrl-C stopped the FTP server too
        socket.create_connection(("127.0.0.1", int(ftp.group(1).rpartition(":")[2])), 5)


def wirekit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wirekit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_page_names_the_server_and_its_commands_work(served: Served, tmp_path: Path):
    status, headers, body = fetch(served.url + "/ftp.html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = parse_page(body)
    text = body.decode()
    assert f"ftp://{served.ftp}/" in text
    assert re.search(r"<td>alphabet\.txt</td>", text)  # the page's own listing of the server
    commands = [line for block in page.pre for line in block.splitlines()
                if line.startswith("wirekit ")]
    assert commands == [f"wirekit ftp ls ftp://{served.ftp}/",
                        f"wirekit ftp get ftp://{served.ftp}/alphabet.txt -o alphabet.txt"]
    listed = wirekit(*commands[0].split()[1:], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^f\s+{len(ALPHABET)}\s+\S+ \S+\s+alphabet\.txt$", listed.stdout, re.M)
    got = wirekit(*commands[1].split()[1:], cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "alphabet.txt").read_bytes() == ALPHABET
    as_json = wirekit("ftp", "ls", f"ftp://{served.ftp}/", "--json", cwd=tmp_path)
    assert {e["name"] for e in json.loads(as_json.stdout)} >= {"alphabet.txt", "README.txt"}
    # Read-only: an upload is refused (exit 9, the server's 550/553).
    put = wirekit("ftp", "put", "alphabet.txt", f"ftp://{served.ftp}/copy.txt", cwd=tmp_path)
    assert put.returncode != 0 and not (demo_ftp.FILES / "copy.txt").exists()


def test_the_python_snippet_runs(served: Served, tmp_path: Path):
    _, _, body = fetch(served.url + "/ftp.html")
    [program] = [block for block in parse_page(body).pre if block.startswith("from ")]
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^file {len(ALPHABET)} \S+ \S+ alphabet\.txt$", result.stdout, re.M)
    assert (tmp_path / "alphabet.txt").read_bytes() == ALPHABET


def test_a_taken_port_falls_back_to_a_free_one():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with demo_ftp.demo_ftp_server("127.0.0.1", taken) as address:
            assert address is not None and address.startswith("127.0.0.1:")
            assert int(address.rpartition(":")[2]) not in (taken, 0)
            with socket.create_connection(("127.0.0.1", int(address.rpartition(":")[2])),
                                          10) as ftp:
                assert ftp.recv(100).startswith(b"220 ")


def test_without_a_server_or_without_pyftpdlib_the_page_says_how(monkeypatch):
    with serve_wsgi(make_demo_app()) as base:  # no FTP server beside it
        status, _, body = fetch(base + "/ftp.html")
        assert status == 200 and "--ftp-port" in body.decode()
        assert not any("ftp://" in block for block in parse_page(body).pre)
        monkeypatch.setattr(demo_ftp, "pyftpdlib_installed", lambda: False)
        status, _, body = fetch(base + "/ftp.html")
        assert status == 200 and parse_page(body).pre == ["pip install 'wirekit[ftp-server]'"]
        assert fetch(base + "/ftp.html", data=b"x")[0] == 405
    with demo_ftp.demo_ftp_server(port=0) as address:
        assert address is None
