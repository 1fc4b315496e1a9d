"""The connection-core contract served by both drivers, in every mode: a greeting, a framing
switch (DATA) and STARTTLS mid-connection, with a small line protocol (``notes.py``)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wirekit.net.tls import server_context
from wirekit.server import Server

from .conftest import _read_banner
from .notes import Notes

trustme = pytest.importorskip("trustme")

NOTES = Path(__file__).with_name("notes.py")
IN_PROCESS = ["sync", "threads", "async"]
SUBPROCESS = ["fork", "prefork"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return str(cert), str(key), client


@pytest.fixture(params=IN_PROCESS + SUBPROCESS)
def notes_address(request, certificate):
    """A Notes server in each mode; yields (host, port)."""
    cert, key, _ = certificate
    if request.param in IN_PROCESS:
        server = Server(Notes, "127.0.0.1:0", concurrency=request.param, starttls=True,
                        tls=server_context(cert, key)).start()
        yield server.address.host, server.address.port
        server.shutdown(timeout=10)
        return
    proc = subprocess.Popen([sys.executable, str(NOTES), request.param, cert, key],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=str(NOTES.parent))
    try:
        banner = _read_banner(proc)
        host, _, port = banner.split("listening on tcp ", 1)[1].strip().rpartition(":")
        yield host, int(port)
    finally:
        proc.terminate()
        proc.wait(30)


class Lines:
    """A tiny client: send a line, read a reply line."""

    def __init__(self, sock):
        self.sock, self.pending = sock, b""

    def line(self) -> bytes:
        while b"\r\n" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.pending)
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\r\n")
        return line

    def ask(self, text: bytes) -> bytes:
        self.sock.sendall(text + b"\r\n")
        return self.line()


def test_greeting_commands_a_framing_switch_and_starttls_in_every_mode(notes_address,
                                                                      certificate):
    _, _, client_tls = certificate
    with socket.create_connection(notes_address, timeout=10) as raw:
        plain = Lines(raw)
        assert plain.line() == b"220 notes ready"
        assert plain.ask(b"ECHO hello") == b"250 hello"
        # the framing switch: a block that holds what would be commands, then a command
        block = b"DATA\r\nECHO not a command\r\nQUIT\r\n.\r\nECHO after"
        raw.sendall(block + b"\r\n")
        assert plain.line() == b"354 end with a line holding a single dot"
        assert plain.line() == b"250 stored 24 bytes"
        assert plain.line() == b"250 after"
        # STARTTLS, with a command injected in the clear behind it (CVE-2011-0411)
        raw.sendall(b"STARTTLS\r\nECHO injected\r\n")
        assert plain.line() == b"220 go ahead"
        with client_tls.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            secure = Lines(tls)
            assert secure.ask(b"ECHO secret") == b"250 secret"  # not "injected"
            assert secure.ask(b"DATA") == b"354 end with a line holding a single dot"
            assert secure.ask(b"x\r\n.") == b"250 stored 1 bytes"
            assert secure.ask(b"QUIT") == b"221 bye"
            assert tls.recv(1) == b""  # closed by the server


@pytest.mark.parametrize("mode", IN_PROCESS)
def test_a_cores_deadline_is_kept_by_both_drivers(mode):
    import dataclasses

    from wirekit.config import DEFAULT_TIMEOUTS

    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, idle=0.5)
    server = Server(Notes, "127.0.0.1:0", concurrency=mode, timeouts=timeouts).start()
    try:
        with socket.create_connection((server.address.host, server.address.port), 5) as raw:
            lines = Lines(raw)
            assert lines.line() == b"220 notes ready"
            assert lines.ask(b"ECHO a") == b"250 a"
            start = time.monotonic()
            assert raw.recv(1) == b""  # closed at the deadline, not before
            assert 0.45 <= time.monotonic() - start < 1.5
    finally:
        server.shutdown(timeout=10)
