"""wirekit's FTP client against pyftpdlib on loopback: every operation in passive and active
mode over IPv4 and IPv6, MLSD and LIST listings, resume after a cut transfer, FTPS with a
trustme CA, and ftplib as a second opinion on what the server holds."""

from __future__ import annotations

import ftplib
import io
import itertools
import os
import ssl
from datetime import UTC, datetime, timedelta

import pytest

from wirekit.config import TLSConfig
from wirekit.errors import AuthenticationError, ConfigError, TLSError
from wirekit.ftp import Client, FTPRefused

from .conftest import FAMILIES, make_file, without


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_operation(family, passive, start_server):
    server = start_server(family)
    root = server.root
    data = make_file(root / "notes.txt", 300_000)
    with Client(server.host, server.port, passive=passive) as ftp:
        assert ftp.greeting is not None and ftp.greeting.code == 220
        assert ftp.pwd() == "/"
        assert ftp.mkdir("pub") == "/pub"
        ftp.cwd("pub")
        assert ftp.pwd() == "/pub"
        sent = ftp.upload(io.BytesIO(data), "copy.bin")
        assert sent == len(data) and (root / "pub" / "copy.bin").read_bytes() == data
        assert ftp.size("copy.bin") == len(data)
        assert abs(ftp.mtime("copy.bin") - datetime.now(UTC)) < timedelta(minutes=5)
        ftp.rename("copy.bin", "renamed.bin")
        assert [e.name for e in ftp.list()] == ["renamed.bin"]
        assert ftp.names() == ["renamed.bin"]
        ftp.cwd("..")
        out = io.BytesIO()
        assert ftp.download("notes.txt", out) == len(data)
        assert out.getvalue() == data
        [pub] = [e for e in ftp.list() if e.name == "pub"]
        assert pub.is_dir and pub.type == "dir"
        ftp.delete("pub/renamed.bin")
        ftp.rmdir("pub")
        assert not (root / "pub").exists()
        assert ftp.noop().code == 200


def test_paths_to_and_from_files_with_progress(wirekit_ftp_server, tmp_path):
    data = make_file(tmp_path / "local.bin", 1_000_000)
    seen: list[tuple[int, int | None]] = []
    with Client(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp:
        ftp.upload(tmp_path / "local.bin", "remote.bin", progress=lambda d, t: seen.append((d, t)))
        assert seen[-1] == (len(data), len(data))
        seen.clear()
        ftp.download("remote.bin", tmp_path / "back.bin", progress=lambda d, t: seen.append((d, t)))
    assert (tmp_path / "back.bin").read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    assert all(a[0] < b[0] for a, b in itertools.pairwise(seen))


def test_mlsd_entries(wirekit_ftp_server):
    make_file(wirekit_ftp_server.root / "a.txt", 10)
    (wirekit_ftp_server.root / "sub").mkdir()
    with Client(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp:
        assert "MLST" in ftp.features
        entries = {e.name: e for e in ftp.list()}
    assert set(entries) == {"a.txt", "sub"}
    assert entries["a.txt"].size == 10 and entries["a.txt"].type == "file"
    assert entries["a.txt"].modified is not None and entries["a.txt"].modified.tzinfo is UTC
    assert entries["sub"].is_dir and entries["a.txt"].permissions


def test_list_is_parsed_when_the_server_has_no_mlsd(start_server):
    server = start_server(**without("MLSD", "MLST"))
    make_file(server.root / "a b.txt", 1234)
    (server.root / "dir").mkdir()
    with Client(server.host, server.port) as ftp:
        assert "MLST" not in ftp.features
        entries = sorted(ftp.list(), key=lambda e: e.name)
    assert [(e.name, e.type, e.size) for e in entries] == [
        ("a b.txt", "file", 1234), ("dir", "dir", entries[1].size)]
    assert entries[0].permissions is not None and entries[0].permissions.startswith("rw")
    assert entries[0].modified is not None and entries[0].modified.tzinfo is None


def test_pasv_when_the_server_has_no_epsv(start_server):
    server = start_server(**without("EPSV"))
    data = make_file(server.root / "f", 5000)
    with Client(server.host, server.port) as ftp:
        out = io.BytesIO()
        ftp.download("f", out)
        ftp.download("f", out)
        assert out.getvalue() == data * 2 and not ftp._epsv


def test_a_thousand_entries_match_ftplib(wirekit_ftp_server):
    for i in range(1000):
        (wirekit_ftp_server.root / f"file-{i:04d}.txt").write_bytes(b"x" * i)
    with Client(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp:
        ours = {e.name: e.size for e in ftp.list()}
    theirs = ftplib.FTP()
    theirs.connect(wirekit_ftp_server.host, wirekit_ftp_server.port)
    theirs.login()
    stdlib = {name: int(facts["size"]) for name, facts in theirs.mlsd()}
    theirs.quit()
    assert ours == stdlib and len(ours) == 1000


def test_resume_a_download_cut_by_the_client(wirekit_ftp_server, tmp_path):
    data = make_file(wirekit_ftp_server.root / "big.bin", 3_000_000)

    class Cut(Exception):
        pass

    def cut_after_a_megabyte(done, total):
        if done > 1_000_000:
            raise Cut

    with Client(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp:
        with pytest.raises(Cut):
            ftp.download("big.bin", tmp_path / "big.bin", progress=cut_after_a_megabyte)
        partial = (tmp_path / "big.bin").stat().st_size
        assert 1_000_000 < partial < len(data)
        assert ftp.pwd() == "/"  # the ABOR left the session usable
        got = ftp.download("big.bin", tmp_path / "big.bin", resume=True)
        assert got == len(data) - partial
        assert ftp.download("big.bin", tmp_path / "big.bin", resume=True) == 0  # complete
    assert (tmp_path / "big.bin").read_bytes() == data


def test_resume_an_upload(wirekit_ftp_server, tmp_path):
    data = make_file(tmp_path / "up.bin", 2_000_000)
    (wirekit_ftp_server.root / "up.bin").write_bytes(data[:700_000])  # what a cut upload left
    with Client(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp:
        assert ftp.features["REST"] == "STREAM"
        assert ftp.upload(tmp_path / "up.bin", "up.bin", resume=True) == len(data) - 700_000
    assert (wirekit_ftp_server.root / "up.bin").read_bytes() == data


def test_resume_an_upload_by_appe_without_rest_stream(start_server, tmp_path):
    server = start_server(**without("REST"))
    data = make_file(tmp_path / "up.bin", 500_000)
    (server.root / "up.bin").write_bytes(data[:123_456])
    with Client(server.host, server.port) as ftp:
        ftp.upload(tmp_path / "up.bin", "up.bin", resume=True)
        # no REST: a resumed download starts over and still ends right
        (tmp_path / "down.bin").write_bytes(data[:1000])
        assert ftp.download("up.bin", tmp_path / "down.bin", resume=True) == len(data)
    assert (server.root / "up.bin").read_bytes() == data
    assert (tmp_path / "down.bin").read_bytes() == data


def test_refusals(start_server):
    server = start_server(write=False, user="alice:wonderland")
    with pytest.raises(AuthenticationError, match="alice"):
        Client(server.host, server.port, user="alice", password="wrong").connect()
    with pytest.raises(AuthenticationError):
        Client(server.host, server.port).connect()  # no anonymous here
    with Client(server.host, server.port, user="alice", password="wonderland") as ftp:
        with pytest.raises(FTPRefused) as info:
            ftp.download("missing.txt", io.BytesIO())
        assert info.value.not_found and not info.value.temporary
        with pytest.raises(FTPRefused, match="550"):
            ftp.upload(io.BytesIO(b"x"), "readonly.txt")  # read-only server
        with pytest.raises(ConfigError, match="injection"):
            ftp.delete("a\r\nDELE b")
        assert ftp.pwd() == "/"
    assert not (server.root / "readonly.txt").exists()


def test_a_missing_download_leaves_no_empty_file(wirekit_ftp_server, tmp_path):
    with Client(wirekit_ftp_server.host, wirekit_ftp_server.port) as ftp, pytest.raises(FTPRefused):
        ftp.download("missing.txt", tmp_path / "missing.txt")
    assert not (tmp_path / "missing.txt").exists()


@pytest.mark.parametrize("family", FAMILIES)
def test_ftps_with_a_verified_certificate(family, start_server, certificate, tmp_path):
    server = start_server(family, certfile=certificate.cert, keyfile=certificate.key,
                          tls_required=True)
    data = make_file(tmp_path / "secret.bin", 1_500_000)
    with Client(server.host, server.port, tls=True, context=certificate.client) as ftp:
        assert ftp.stream is not None and ftp.stream.is_tls and ftp.conn.protected
        ftp.upload(tmp_path / "secret.bin", "secret.bin")
        out = io.BytesIO()
        with ftp.open_download("secret.bin") as transfer:
            assert transfer.data.is_tls
            while chunk := transfer.read():
                out.write(chunk)
        assert out.getvalue() == data
        assert [e.name for e in ftp.list()] == ["secret.bin"]
    assert (server.root / "secret.bin").read_bytes() == data


def test_ftps_verifies_by_default_and_tls_required_servers_refuse_the_clear(
        start_server, certificate):
    server = start_server(certfile=certificate.cert, keyfile=certificate.key,
                          tls_required=True)
    with pytest.raises(TLSError):  # the test CA is not in the system store
        Client(server.host, server.port, tls=True).connect()
    with pytest.raises(AuthenticationError):  # USER in the clear: 550 SSL/TLS required
        Client(server.host, server.port).connect()
    insecure = TLSConfig(verify=False)
    with Client(server.host, server.port, tls=True, context=insecure) as ftp:
        assert ftp.pwd() == "/"


def test_ftps_refused_by_a_plain_server_is_an_error_not_the_clear(wirekit_ftp_server):
    with pytest.raises(TLSError, match="AUTH TLS"):
        Client(wirekit_ftp_server.host, wirekit_ftp_server.port, tls=True).connect()


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_ftps_data_connections_resume_the_control_session(version, start_server, certificate):
    """RFC 4217 §10.2: pyftpdlib does not demand it (vsftpd's require_ssl_reuse does), but
    every data connection resumes the control connection's session, in TLS 1.2 and 1.3."""
    server = start_server(certfile=certificate.cert, keyfile=certificate.key)
    context = ssl.create_default_context()
    context.minimum_version = context.maximum_version = getattr(ssl.TLSVersion, version)
    context.load_verify_locations(cadata="".join(
        ssl.DER_cert_to_PEM_cert(der) for der in certificate.client.get_ca_certs(True)))
    make_file(server.root / "f", 10)
    with Client(server.host, server.port, tls=True, context=context) as ftp:
        for _ in range(2):
            with ftp.open_download("f") as transfer:
                assert transfer.read() and transfer.data.session_reused


def test_upload_from_a_pipe(wirekit_ftp_server):
    """A source without a position or a size (standard input): read in blocks."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"piped " * 1000)
    os.close(write_end)
    server = wirekit_ftp_server
    with open(read_end, "rb") as source, Client(server.host, server.port) as ftp:
        assert ftp.upload(source, "piped.txt") == 6000
    assert (wirekit_ftp_server.root / "piped.txt").read_bytes() == b"piped " * 1000
