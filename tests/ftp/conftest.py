"""FTP peers for the tests: pyftpdlib through ``wirekit.testing.serve_ftp`` (plain, FTPS with a
trustme CA, IPv4 and IPv6, with some commands taken away), and a trustme certificate."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wirekit.ftp.server import FTPServer
from wirekit.testing import serve_ftp

from ..conftest import ipv6_available

trustme = pytest.importorskip("trustme")
pytest.importorskip("pyftpdlib")

FAMILIES = ["ipv4", pytest.param("ipv6", marks=pytest.mark.skipif(
    not ipv6_available(), reason="this machine has no IPv6 on ::1"))]
HOSTS = {"ipv4": "127.0.0.1", "ipv6": "::1"}


@dataclass(frozen=True)
class Certificate:
    cert: str
    key: str
    client: ssl.SSLContext  # trusts the test CA
    ca_pem: str  # the test CA's certificate, for --cafile


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "::1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certificate(str(cert), str(key), client, ca.cert_pem.bytes().decode())


def without(*verbs: str) -> dict[str, Any]:
    """pyftpdlib handler options that take ``verbs`` away (FEAT stops listing them too)."""
    from pyftpdlib.handlers import FTPHandler

    return {"handler_options": {"proto_cmds": {
        verb: spec for verb, spec in FTPHandler.proto_cmds.items() if verb not in verbs}}}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., FTPServer]]:
    """``start_server(family="ipv4", write=True, **options) -> FTPServer`` on ``tmp_path /
    "root"``; stopped at teardown."""
    stacks: list[Any] = []
    root = tmp_path / "root"
    root.mkdir()

    def start(family: str = "ipv4", write: bool = True, **options: Any) -> FTPServer:
        context = serve_ftp(root, write=write, host=HOSTS[family], **options)
        stacks.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stacks):
        context.__exit__(None, None, None)


def make_file(path: Path, size: int) -> bytes:
    """A file of ``size`` bytes whose content shows where each byte belongs."""
    data = (os.urandom(64) * (size // 64 + 1))[:size]
    path.write_bytes(data)
    return data
