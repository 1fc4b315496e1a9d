"""Mail servers for the tests: wirekit's catcher in every concurrency mode (in-process for
sync, threads and async; a process of its own for fork and prefork), a trustme CA, and
aiosmtpd as the peer for wirekit's client."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wirekit.config import DEFAULT_TIMEOUTS
from wirekit.mail import MaildirStore, MailServer
from wirekit.net.tls import server_context

trustme = pytest.importorskip("trustme")

HERE = Path(__file__).parent
IN_PROCESS = ["sync", "threads", "async"]
SUBPROCESS = ["fork", "prefork"]
MODES = IN_PROCESS + SUBPROCESS
USERS = {"alice": "wonderland"}


@dataclass(frozen=True)
class Certificate:
    cert: str
    key: str
    client: ssl.SSLContext  # trusts the test CA

    def server(self) -> ssl.SSLContext:
        return server_context(self.cert, self.key)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certificate(str(cert), str(key), client)


@dataclass
class Catcher:
    host: str
    port: int
    store: MaildirStore
    mode: str


def _read_banner(proc: subprocess.Popen) -> str:
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if not line or not line[0]:
        proc.kill()
        raise RuntimeError(f"catcher did not start: {proc.stderr.read().decode()[-2000:]}")
    return line[0].decode()


@pytest.fixture
def start_catcher(tmp_path, certificate) -> Iterator[Callable[..., Catcher]]:
    """``start_catcher(mode, auth=False, idle=None)``: wirekit's catcher with STARTTLS (and a
    password table when ``auth``) in ``mode``."""
    stops: list[Callable[[], None]] = []

    def start(mode: str, auth: bool = False, idle: float | None = None, **options) -> Catcher:
        maildir = tmp_path / f"maildir-{len(stops)}"
        store = MaildirStore(maildir)
        passwords = tmp_path / "passwords"
        passwords.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
        if mode in IN_PROCESS:
            timeouts = DEFAULT_TIMEOUTS if idle is None else dataclasses.replace(
                DEFAULT_TIMEOUTS, idle=idle, message=idle)
            server = MailServer(store, "127.0.0.1:0", concurrency=mode,
                                tls=certificate.server(), timeouts=timeouts,
                                passwords=passwords if auth else None, **options).start()
            stops.append(lambda: server.shutdown(timeout=10))
            return Catcher("127.0.0.1", server.address.port, store, mode)
        args = [sys.executable, str(HERE / "catcher_main.py"), mode, certificate.cert,
                certificate.key, str(maildir), str(passwords) if auth else ""]
        if idle is not None:
            args.append(str(idle))
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

        stops.append(stop)
        banner = _read_banner(proc)
        host, _, port = banner.split("listening on tcp ", 1)[1].strip().rpartition(":")
        return Catcher(host, int(port), store, mode)

    yield start
    for stop in stops:
        stop()
