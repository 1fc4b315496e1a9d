"""``wirekit ftp ls|get|put|mkdir|rm|mv|serve``, run as a user runs them (subprocesses), against
pyftpdlib in this process (or ``wirekit ftp serve`` in another)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from wirekit.ftp import Client, FTPRefused

from .conftest import make_file


def test_ls_get_put_mkdir_mv_rm(cli, wirekit_ftp_server, tmp_path):
    root, url = wirekit_ftp_server.root, wirekit_ftp_server.url
    (root / "pub").mkdir()
    data = make_file(root / "pub" / "notes.txt", 70_000)
    listing = cli("ftp", "ls", f"{url}/pub/")
    assert listing.code == 0 and "notes.txt" in listing.stdout and "70000" in listing.stdout
    [entry] = json.loads(cli("ftp", "ls", f"{url}/pub/", "--json").stdout)
    assert entry["name"] == "notes.txt" and entry["size"] == 70_000 and entry["type"] == "file"
    got = cli("ftp", "get", f"{url}/pub/notes.txt", "-o", str(tmp_path / "copy.txt"))
    assert got.code == 0 and (tmp_path / "copy.txt").read_bytes() == data
    assert cli("ftp", "put", str(tmp_path / "copy.txt"), f"{url}/pub/").code == 0
    assert (root / "pub" / "copy.txt").read_bytes() == data
    assert cli("ftp", "mkdir", f"{url}/new").code == 0 and (root / "new").is_dir()
    assert cli("ftp", "mv", f"{url}/pub/copy.txt", "new/moved.txt").code == 0
    assert (root / "new" / "moved.txt").read_bytes() == data
    assert cli("ftp", "rm", f"{url}/new/moved.txt").code == 0
    assert cli("ftp", "rm", f"{url}/new/").code == 0 and not (root / "new").exists()


def test_get_resumes_with_continue_at(cli, wirekit_ftp_server, tmp_path):
    data = make_file(wirekit_ftp_server.root / "big.bin", 1_000_000)
    (tmp_path / "big.bin").write_bytes(data[:400_000])
    result = cli("ftp", "get", f"{wirekit_ftp_server.url}/big.bin", "-o", str(tmp_path / "big.bin"),
                 "-C", "-")
    assert result.code == 0 and (tmp_path / "big.bin").read_bytes() == data


def test_get_to_standard_output(cli, wirekit_ftp_server):
    (wirekit_ftp_server.root / "hello.txt").write_bytes(b"hello over ftp\n")
    result = cli("ftp", "get", f"{wirekit_ftp_server.url}/hello.txt", "-o", "-")
    assert result.code == 0 and result.stdout == "hello over ftp\n"


def test_failures_are_one_line_with_distinct_exit_codes(cli, wirekit_ftp_server, tmp_path):
    url = wirekit_ftp_server.url
    cases = {
        78: ("ftp", "get", f"{url}/missing.txt", "-o", str(tmp_path / "x")),
        67: ("ftp", "ls", url.replace("ftp://", "ftp://bob:wrong@")),
        35: ("ftp", "ls", f"{url}/", "--tls"),  # the server offers no AUTH TLS
        3: ("ftp", "ls", "http://127.0.0.1/"),
        2: ("ftp", "rm", f"{url}/a%0d%0aDELE%20b"),
    }
    for code, args in cases.items():
        result = cli(*args)
        assert result.code == code, (args, result)
        assert result.stderr.startswith("wirekit ftp: error: ")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_password_from_a_file_or_the_url(cli, start_server, tmp_path):
    server = start_server(user="alice:s3cret")
    (server.root / "f").write_bytes(b"x")
    (tmp_path / "pw").write_text("s3cret\n")
    by_file = cli("ftp", "ls", server.url, "--user", "alice", "--password-file",
                  str(tmp_path / "pw"))
    assert by_file.code == 0 and " f" in by_file.stdout
    by_url = cli("ftp", "ls", server.url.replace("ftp://", "ftp://alice:s3cret@"))
    assert by_url.code == 0
    no_tty = cli("ftp", "ls", server.url, "--user", "alice")
    assert no_tty.code == 2 and "--password-file" in no_tty.stderr


def _serve(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "ftp", "serve", *args,
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if not line or not line[0]:
        proc.kill()
        raise RuntimeError(proc.stderr.read().decode()[-2000:])
    return proc, line[0].decode()


def test_serve_is_read_only_and_anonymous_unless_told(tmp_path):
    (tmp_path / "hello.txt").write_bytes(b"hi")
    proc, banner = _serve(str(tmp_path))
    try:
        assert "read-only, anonymous" in banner
        port = int(banner.split("ftp://127.0.0.1:", 1)[1].split()[0])
        with Client("127.0.0.1", port) as ftp:
            assert [e.name for e in ftp.list()] == ["hello.txt"]
            with pytest.raises(FTPRefused, match="550"):
                ftp.delete("hello.txt")
    finally:
        proc.terminate()
        proc.wait(10)
    assert (tmp_path / "hello.txt").exists()
    proc, banner = _serve(str(tmp_path), "--write", "--user", "alice:pw")
    try:
        assert "read-write, users alice" in banner
        port = int(banner.split("ftp://127.0.0.1:", 1)[1].split()[0])
        with Client("127.0.0.1", port, user="alice", password="pw") as ftp:
            ftp.delete("hello.txt")
    finally:
        proc.terminate()
        proc.wait(10)
    assert not (tmp_path / "hello.txt").exists()


def test_serve_without_pyftpdlib_says_how_to_install_it(cli, tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyftpdlib.py").write_text("raise ImportError('not installed')\n")
    result = cli("ftp", "serve", str(tmp_path), env={"PYTHONPATH": str(shadow)})
    assert result.code == 1
    assert result.stderr.strip().endswith("pip install 'wirekit[ftp-server]'")
    assert result.stderr.count("\n") == 1
