"""``FTPServer``: a directory served over FTP (and FTPS) by pyftpdlib, for trying the client,
for ``wirekit ftp serve`` and for tests.

wirekit does not write an FTP server: pyftpdlib is the well-kept one (DESIGN.md principle 10),
installed with the ``wirekit[ftp-server]`` extra (pyOpenSSL comes with it for FTPS). This
module only sets it up safely:

* read-only unless ``write=True`` (pyftpdlib's ``elr`` permissions; ``elradfmwMT`` to write);
* anonymous unless ``users`` names accounts, and then anonymous is off;
* FTPS when given a certificate (``certfile``/``keyfile``), with ``tls_required=True``
  refusing logins and transfers in the clear (RFC 4217 §4-§9); ``implicit_tls=True`` serves
  implicit FTPS instead (TLS from the first byte, as port 990 does), which pyftpdlib does not
  offer itself: the handler starts its TLS handshake on connecting and sends the greeting once
  it is done;
* one private event loop per server, so two servers in one process (a test with a plain and an
  FTPS one) do not share pyftpdlib's global loop; ``start()`` runs it in a thread and
  ``shutdown()`` stops it and closes every connection, whatever state they are in.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from wirekit.errors import ConfigError
from wirekit.net.address import Address, AddressLike

__all__ = ["INSTALL_HINT", "READ_PERMISSIONS", "WRITE_PERMISSIONS", "FTPServer"]

#: What to run when pyftpdlib (or pyOpenSSL, for FTPS) is missing.
INSTALL_HINT: Final = "pip install 'wirekit[ftp-server]'"
#: pyftpdlib permissions: e (cd), l (list), r (download).
READ_PERMISSIONS: Final = "elr"
#: ... and a (append), d (delete), f (rename), m (mkdir), w (upload), M (chmod), T (mtime).
WRITE_PERMISSIONS: Final = "elradfmwMT"
# How often the serving thread looks at its stop flag: pyftpdlib's loop has no waker.
_POLL = 0.05


def _pyftpdlib(tls: bool) -> Any:
    """The pyftpdlib modules, or a ConfigError saying how to install them."""
    try:
        with warnings.catch_warnings():  # pyftpdlib 2.x imports asyncore/asynchat (3.11)
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyftpdlib import (
                authorizers,
                handlers,
                ioloop,
                servers,
            )
    except ImportError:
        raise ConfigError(f"serving FTP needs pyftpdlib: {INSTALL_HINT}") from None
    if tls and not hasattr(handlers, "TLS_FTPHandler"):
        raise ConfigError(f"serving FTPS needs pyOpenSSL: {INSTALL_HINT}")
    # pyftpdlib prints to stderr unless logging is configured; its lines go wherever the
    # application sends logs (``wirekit ftp serve`` shows them), and nowhere in a library.
    logger = logging.getLogger("pyftpdlib")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return authorizers, handlers, ioloop, servers


def _implicit_handle(self: Any) -> None:
    """Implicit FTPS: the TLS handshake first (the 220 waits for it)."""
    self.secure_connection(self.ssl_context)


def _implicit_established(self: Any) -> None:
    """Implicit FTPS: the handshake is done; now the greeting (``FTPHandler.handle``)."""
    if not getattr(self, "_wirekit_greeted", False):
        self._wirekit_greeted = True
        _pyftpdlib(True)[1].FTPHandler.handle(self)


class FTPServer:
    """Serve ``root`` on ``address`` (``"127.0.0.1:0"``: a free port; read ``.address``)."""

    def __init__(self, root: str | Path, address: AddressLike = "127.0.0.1:0", *,
                 write: bool = False, users: Mapping[str, str] | None = None,
                 certfile: str | None = None, keyfile: str | None = None,
                 tls_required: bool = False, implicit_tls: bool = False,
                 banner: str = "wirekit FTP (pyftpdlib) ready",
                 auth_failed_delay: float = 3.0, idle_timeout: float = 300.0,
                 handler_options: Mapping[str, Any] | None = None) -> None:
        root = Path(root)
        if not root.is_dir():
            raise ConfigError(f"no directory to serve at {str(root)!r}")
        if (tls_required or implicit_tls) and not certfile:
            raise ConfigError("tls_required and implicit_tls need a certfile")
        authorizers, handlers, ioloop, servers = _pyftpdlib(certfile is not None)
        authorizer = authorizers.DummyAuthorizer()
        perm = WRITE_PERMISSIONS if write else READ_PERMISSIONS
        for user, password in (users or {}).items():
            authorizer.add_user(user, password, str(root), perm=perm)
        if not users:
            with warnings.catch_warnings():  # "write permissions to anonymous": asked for
                warnings.simplefilter("ignore", RuntimeWarning)
                authorizer.add_anonymous(str(root), perm=perm)
        base = handlers.TLS_FTPHandler if certfile else handlers.FTPHandler
        options: dict[str, Any] = {
            "authorizer": authorizer, "banner": banner, "timeout": idle_timeout,
            "auth_failed_timeout": auth_failed_delay, **(handler_options or {})}
        if certfile:  # a class of its own: pyftpdlib caches the SSL context on the class
            options.update(certfile=certfile, keyfile=keyfile, ssl_context=None,
                           tls_control_required=tls_required, tls_data_required=tls_required)
            if implicit_tls:
                options.update(handle=_implicit_handle,
                               handle_ssl_established=_implicit_established)
        handler = type("WirekitFTPHandler", (base,), options)
        addr = Address.of(address, default_port=2121)
        self.loop = ioloop.IOLoop()
        self._server = servers.FTPServer((addr.host or "127.0.0.1", addr.port), handler,
                                         ioloop=self.loop)
        host, port = self._server.address[:2]
        self.address = Address(host, port)
        self.root, self.write, self.tls = root, write, certfile is not None
        self.implicit_tls = implicit_tls
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.address.host or "127.0.0.1"

    @property
    def port(self) -> int:
        return self.address.port or 0

    @property
    def url(self) -> str:
        """``ftp://host:port`` (IPv6 hosts in brackets); ``ftps://`` for implicit FTPS."""
        host = self.address.host or "127.0.0.1"
        scheme = "ftps" if self.implicit_tls else "ftp"
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.address.port}"

    def serve_forever(self, ready: Callable[[], object] | None = None) -> None:
        """Serve in this thread until :meth:`shutdown` (or Ctrl-C); then close everything."""
        if ready is not None:
            ready()
        try:
            while not self._stop.is_set():
                self.loop.loop(_POLL, blocking=False)
        finally:
            self._server.close_all()
            self._stopped.set()

    def start(self) -> FTPServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="wirekit-ftp-server",
                                        daemon=True)
        self._thread.start()
        return self

    def shutdown(self, timeout: float | None = 10) -> None:
        """Stop serving and close every connection; wait up to ``timeout`` for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        elif not self._stopped.is_set():
            self._server.close_all()

    def __enter__(self) -> FTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        mode = "read-write" if self.write else "read-only"
        return f"<FTPServer {self.url} {mode}{' FTPS' if self.tls else ''} root={self.root}>"
