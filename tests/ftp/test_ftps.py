"""FTPS beyond AUTH TLS, against pyftpdlib with a trustme CA: implicit FTPS (TLS from the first
byte, ``ftps://``) for the library and the CLI, and ABOR in the middle of a download and an
upload under PROT P, after which the session goes on."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import pytest

from wirekit.errors import ConfigError, TLSError
from wirekit.ftp import Client

from .conftest import FAMILIES, make_file


def implicit_server(start_server, certificate, family="ipv4", **options):
    return start_server(family, certfile=certificate.cert, keyfile=certificate.key,
                        implicit_tls=True, **options)


@pytest.mark.parametrize("family", FAMILIES)
def test_implicit_ftps(family, start_server, certificate, tmp_path):
    server = implicit_server(start_server, certificate, family)
    assert server.url.startswith("ftps://")
    data = make_file(server.root / "notes.txt", 200_000)
    with Client(server.host, server.port, tls="implicit", context=certificate.client) as ftp:
        assert ftp.stream is not None and ftp.stream.is_tls  # the greeting came under TLS
        assert ftp.greeting is not None and ftp.greeting.code == 220
        assert ftp.conn.protected  # PBSZ 0, PROT P as with AUTH TLS
        assert ftp.conn.tls  # the core knows: no AUTH TLS to send
        with ftp.open_download("notes.txt") as transfer:
            assert transfer.data.is_tls and transfer.data.session_reused
            received = b"".join(iter(transfer.read, b""))
        assert received == data and transfer.reply is not None and transfer.reply.code == 226
        ftp.download("notes.txt", tmp_path / "notes.txt")
        ftp.upload(io.BytesIO(data[:1000]), "up.bin")
        assert [e.name for e in ftp.list()] == ["notes.txt", "up.bin"]
    assert (tmp_path / "notes.txt").read_bytes() == data
    assert (server.root / "up.bin").read_bytes() == data[:1000]


def test_implicit_ftps_verifies_and_never_falls_back(start_server, certificate):
    server = implicit_server(start_server, certificate)
    with pytest.raises(TLSError, match="certificate"):  # the system CAs do not know the test CA
        Client(server.host, server.port, tls="implicit").connect()
    plain = start_server()  # a plain greeting is not a TLS handshake: an error, not the clear
    with pytest.raises(TLSError):
        Client(plain.host, plain.port, tls="implicit", context=certificate.client).connect()
    with pytest.raises(ConfigError, match="implicit"):
        Client(tls="always")  # type: ignore[arg-type]
    assert Client(tls="implicit").port == 990 and Client(tls=True).port == 21
    assert Client(tls="explicit").implicit is False


def test_ftps_url_in_the_cli_is_implicit(start_server, certificate, tmp_path):
    server = implicit_server(start_server, certificate)
    (server.root / "a.txt").write_bytes(b"alphabet\n")
    ca = tmp_path / "ca.pem"
    ca.write_text(certificate.ca_pem)
    out = tmp_path / "a.txt"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wirekit", "ftp", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, check=False)

    listed = cli("ls", f"{server.url}/", "--cafile", str(ca))
    assert listed.returncode == 0, listed.stderr
    assert "a.txt" in listed.stdout
    got = cli("get", f"{server.url}/a.txt", "-o", str(out), "--cafile", str(ca))
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == b"alphabet\n"
    refused = cli("ls", f"{server.url}/")  # not trusted without --cafile
    assert refused.returncode == 60, refused.stderr  # curl's CERTIFICATE
    plain = cli("ls", f"ftp://{server.host}:{server.port}/", "--timeout", "2")
    assert plain.returncode != 0  # ftp:// speaks in the clear to a TLS port: no listing


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_abor_in_the_middle_of_a_tls_download(implicit, start_server, certificate):
    server = start_server(certfile=certificate.cert, keyfile=certificate.key,
                          implicit_tls=implicit, tls_required=not implicit)
    data = make_file(server.root / "big.bin", 32 * 1024 * 1024)
    small = make_file(server.root / "small.bin", 5000)
    tls = "implicit" if implicit else True
    with Client(server.host, server.port, tls=tls, context=certificate.client) as ftp:
        for _ in range(2):  # twice: the first ABOR left the session as it found it
            transfer = ftp.open_download("big.bin", size=len(data))
            assert transfer.data.is_tls
            received = transfer.read(65536)
            assert received and data.startswith(received)
            transfer.abort()
            assert transfer.reply is not None and transfer.reply.code == 426
            assert ftp.stream is not None  # the control connection survived the ABOR
            # Its replies (426 and 226, or 225/226) were read: the next command's is its own.
            assert ftp.pwd() == "/"
            sink = io.BytesIO()
            assert ftp.download("small.bin", sink) == len(small)
            assert sink.getvalue() == small


def test_abor_in_the_middle_of_a_tls_upload(start_server, certificate):
    server = start_server(certfile=certificate.cert, keyfile=certificate.key,
                          tls_required=True)
    with Client(server.host, server.port, tls=True, context=certificate.client) as ftp:
        transfer = ftp.open_upload("cut.bin")
        transfer.write(b"x" * 300_000)
        transfer.abort()
        assert ftp.stream is not None and ftp.pwd() == "/"
        ftp.upload(io.BytesIO(b"whole"), "whole.bin")
    assert (server.root / "whole.bin").read_bytes() == b"whole"
    assert (server.root / "cut.bin").stat().st_size <= 300_000


def test_wirekit_ftp_serve_implicit_tls(certificate, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "hello.txt").write_text("hi\n")
    ca = tmp_path / "ca.pem"
    ca.write_text(certificate.ca_pem)
    wrong = subprocess.run([sys.executable, "-m", "wirekit", "ftp", "serve", "site",
                            "--implicit-tls"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60, check=False)
    assert wrong.returncode == 2 and "--certfile" in wrong.stderr
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "ftp", "serve", "site", "--port",
                             "0", "--certfile", certificate.cert, "--keyfile", certificate.key,
                             "--implicit-tls"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "implicit FTPS" in first, first
        url = first.split(" on ", 1)[1].split(" ", 1)[0]
        assert url.startswith("ftps://127.0.0.1:")
        listed = subprocess.run([sys.executable, "-m", "wirekit", "ftp", "ls", f"{url}/",
                                 "--cafile", str(ca)], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60, check=False)
        assert listed.returncode == 0, listed.stderr
        assert "hello.txt" in listed.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
