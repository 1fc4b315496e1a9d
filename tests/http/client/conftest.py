"""Peers for the HTTP client tests, all real sockets on loopback.

* ``tls`` — a trustme CA with a server certificate for 127.0.0.1/localhost and a client
  certificate; ``tls_server(app, ...)`` serves a WSGI app over TLS (stdlib ``wsgiref`` on a
  wrapped socket), optionally demanding a client certificate.
* ``proxy`` — a small forward proxy thread: ``CONNECT`` tunnels and absolute-form requests,
  recording every head it receives so tests can see what reached the proxy.
* ``ftp_server`` — a minimal passive-mode FTP server for ``ftp://`` downloads.
* ``digest_app`` — a WSGI app that checks Digest credentials with its own hashlib code (an
  oracle independent of wirekit's).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import trustme

from wirekit.proto.http.auth import parse_challenges

# -- TLS -------------------------------------------------------------------------------------


@dataclass
class TLSFiles:
    ca: trustme.CA
    ca_file: str
    server_cert: trustme.LeafCert
    client_cert: trustme.LeafCert
    client_pem: str
    directory: Path


def serve_each(listener: socket.socket, serve: Callable[[socket.socket], object]) -> None:
    """Accept on ``listener`` in the background (until it is closed) and run ``serve`` for
    each connection in a thread of its own, with a 10 s socket timeout."""
    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.settimeout(10)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    client = ca.issue_cert("client@example.test", common_name="test-client")
    client_pem = directory / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    return TLSFiles(ca, str(ca_file), ca.issue_cert("127.0.0.1", "localhost", "::1"), client,
                    str(client_pem), directory)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        with contextlib.suppress(AttributeError, ValueError):
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]
            if peer:
                env["SSL_CLIENT_SUBJECT"] = repr(peer.get("subject"))
        return env


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address),
                                  daemon=True)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            pass
        finally:
            self.shutdown_request(request)


@pytest.fixture
def tls_server(tls: TLSFiles) -> Iterator[Callable[..., str]]:
    """``tls_server(app, cert=None, require_client_cert=False) -> "https://127.0.0.1:PORT"``."""
    servers: list[tuple[WSGIServer, threading.Thread]] = []

    def start(app: Callable[..., Any], cert: trustme.LeafCert | None = None,
              require_client_cert: bool = False) -> str:
        httpd = make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer,
                            handler_class=_QuietHandler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        (cert or tls.server_cert).configure_cert(context)
        if require_client_cert:
            tls.ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return f"https://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


# -- a forward proxy -------------------------------------------------------------------------


@dataclass
class Proxy:
    url: str
    heads: list[bytes] = field(default_factory=list)  # every request head it received


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _relay(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


def _loopback_target(authority: str) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    host = host.strip("[]")
    assert host in ("127.0.0.1", "localhost", "::1"), f"proxy asked to leave loopback: {host}"
    return host, int(port)


def _proxy_client(conn: socket.socket, record: Proxy, refuse: bool) -> None:
    with conn:
        head, rest = _read_head(conn)
        if not head:
            return
        record.heads.append(head)
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ")
        if refuse:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        if method == "CONNECT":
            with socket.create_connection(_loopback_target(target), timeout=10) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _relay(conn, upstream)
            return
        # Absolute-form: forward with origin-form, one request per connection.
        scheme_less = target.split("://", 1)[1]
        authority, _, path = scheme_less.partition("/")
        lines = head.split(b"\r\n")[1:]
        kept = [ln for ln in lines if not ln.lower().startswith((b"proxy-authorization:",
                                                                 b"connection:"))]
        forwarded = b"\r\n".join([f"{method} /{path} HTTP/1.1".encode(), *kept,
                                  b"Connection: close"]) + b"\r\n\r\n" + rest
        with socket.create_connection(_loopback_target(authority), timeout=10) as upstream:
            upstream.sendall(forwarded)
            while data := upstream.recv(65536):
                conn.sendall(data)


@pytest.fixture
def proxy() -> Iterator[Callable[..., Proxy]]:
    """``proxy(refuse=False) -> Proxy``: a forward/CONNECT proxy on 127.0.0.1."""
    listeners: list[socket.socket] = []

    def start(refuse: bool = False) -> Proxy:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        record = Proxy(f"http://127.0.0.1:{listener.getsockname()[1]}")

        serve_each(listener, lambda conn: _proxy_client(conn, record, refuse))
        return record

    yield start
    for listener in listeners:
        listener.close()


# -- FTP -------------------------------------------------------------------------------------


def _ftp_session(conn: socket.socket, root: Path) -> None:
    files = conn.makefile("rb")
    reply = lambda text: conn.sendall(text.encode() + b"\r\n")  # noqa: E731
    reply("220 test FTP")
    cwd = root
    passive: socket.socket | None = None
    while line := files.readline():
        command, _, arg = line.decode().strip().partition(" ")
        command = command.upper()
        if command == "USER":
            reply("331 password please")
        elif command == "PASS":
            reply("230 in" if arg != "wrong" else "530 Login incorrect")
        elif command == "TYPE":
            reply("200 type set")
        elif command == "CWD":
            target = cwd / arg
            if target.is_dir():
                cwd = target
                reply("250 ok")
            else:
                reply("550 no such directory")
        elif command == "SIZE":
            target = cwd / arg
            reply(f"213 {target.stat().st_size}" if target.is_file() else "550 no file")
        elif command in ("PASV", "EPSV"):
            passive = socket.create_server(("127.0.0.1", 0))
            port = passive.getsockname()[1]
            if command == "EPSV":
                reply(f"229 Entering Extended Passive Mode (|||{port}|)")
            else:
                reply(f"227 Entering Passive Mode (127,0,0,1,{port >> 8},{port & 255})")
        elif command in ("RETR", "LIST"):
            target = cwd / arg if command == "RETR" else cwd
            if command == "RETR" and not target.is_file():
                reply("550 no such file")
                if passive is not None:
                    passive.close()
                continue
            assert passive is not None
            reply("150 opening data connection")
            data, _ = passive.accept()
            with data:
                if command == "RETR":
                    data.sendall(target.read_bytes())
                else:
                    data.sendall("".join(f"-rw-r--r-- 1 u g {p.stat().st_size} Jan 1 00:00 "
                                         f"{p.name}\r\n" for p in sorted(cwd.iterdir())
                                         ).encode())
            passive.close()
            reply("226 done")
        elif command == "QUIT":
            reply("221 bye")
            return
        else:
            reply("502 not implemented")


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``(url, root)``: an FTP server on 127.0.0.1 serving ``root``."""
    root = tmp_path / "ftproot"
    root.mkdir()
    listener = socket.create_server(("127.0.0.1", 0))

    serve_each(listener, lambda conn: _serve_ftp(conn, root))
    yield f"ftp://127.0.0.1:{listener.getsockname()[1]}", root
    listener.close()


def _serve_ftp(conn: socket.socket, root: Path) -> None:
    with conn, contextlib.suppress(OSError):
        _ftp_session(conn, root)


# -- Digest ----------------------------------------------------------------------------------


def _h(algorithm: str, text: str) -> str:
    name = {"MD5": "md5", "SHA-256": "sha256"}[algorithm.upper().removesuffix("-SESS")]
    return hashlib.new(name, text.encode()).hexdigest()


def make_digest_app(user: str, password: str, algorithm: str = "MD5",
                    realm: str = "wirekit-test") -> Callable[..., Any]:
    """A WSGI app that demands Digest auth (qop=auth), checking answers itself.

    ``app.seen`` records each (Authorization or None) it got; ``app.nonce`` the nonce in use.
    """
    nonce = os.urandom(8).hex()
    seen: list[str | None] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        header = environ.get("HTTP_AUTHORIZATION")
        seen.append(header)
        if header and header.startswith("Digest "):
            (challenge,) = parse_challenges([header])
            p = challenge.params
            uri = environ["PATH_INFO"] + (("?" + environ["QUERY_STRING"])
                                          if environ.get("QUERY_STRING") else "")
            ha1 = _h(algorithm, f"{user}:{realm}:{password}")
            if algorithm.upper().endswith("-SESS"):
                ha1 = _h(algorithm, f"{ha1}:{p['nonce']}:{p['cnonce']}")
            ha2 = _h(algorithm, f"{environ['REQUEST_METHOD']}:{uri}")
            expected = _h(algorithm, f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
            if (p.get("username") == user and p.get("uri") == uri and p.get("nonce") == nonce
                    and p.get("qop") == "auth" and p.get("response") == expected):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [f"welcome {user} nc={p['nc']}".encode()]
        start_response("401 Unauthorized", [
            ("WWW-Authenticate", f'Basic realm="{realm}"'),
            ("WWW-Authenticate", f'Digest realm="{realm}", qop="auth, auth-int", '
                                 f'algorithm={algorithm}, nonce="{nonce}", opaque="xyz"'),
            ("Content-Type", "text/plain"),
        ])  # fmt: skip
        return [b"who are you?"]

    app.seen = seen  # type: ignore[attr-defined]
    app.nonce = nonce  # type: ignore[attr-defined]
    return app


@pytest.fixture
def digest_app() -> Callable[..., Callable[..., Any]]:
    return make_digest_app
