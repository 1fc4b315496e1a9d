"""``serve_ftp()``: an FTP server on a loopback port, so a test can run its FTP code against a
real server and look at the files.

    from wirekit.testing import serve_ftp

    with serve_ftp(tmp_path, write=True) as server:    # 127.0.0.1, a free port
        app.publish_report(f"{server.url}/reports/")
        assert (tmp_path / "reports" / "today.pdf").exists()

The server is pyftpdlib (``wirekit[ftp-server]``, in the ``test`` extra) set up by
:class:`wirekit.ftp.server.FTPServer`: read-only and anonymous unless told otherwise, FTPS
with ``certfile``. It stops, and every connection is closed, when the block ends, whatever
happened in it. A refused login is answered at once (pyftpdlib waits 3 s by default, against
password guessing), so a test of a wrong password stays fast. The pytest fixture
``wirekit_ftp_server`` (``wirekit.testing.pytest_plugin``) yields a read-write one on a temporary
directory.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wirekit.errors import ConfigError
from wirekit.ftp.server import FTPServer

__all__ = ["serve_ftp"]


@contextlib.contextmanager
def serve_ftp(root: str | Path | None = None, *, write: bool = False,
              user: str | tuple[str, str] | None = None, host: str = "127.0.0.1",
              **options: Any) -> Iterator[FTPServer]:
    """Serve ``root`` (default: a temporary folder, removed afterwards) on ``host`` and a free
    port for the ``with`` block. ``user`` is ``"name:password"`` or a pair (then anonymous is
    off); ``options`` go to :class:`~wirekit.ftp.server.FTPServer` (``certfile=``,
    ``tls_required=``...)."""
    users = None
    if user is not None:
        name, sep, password = user.partition(":") if isinstance(user, str) else (user[0], ":",
                                                                                 user[1])
        if not sep or not name:
            raise ConfigError(f"user must be 'name:password', not {user!r}")
        users = {name: password}
    options.setdefault("auth_failed_delay", 0.01)
    with contextlib.ExitStack() as stack:
        folder = root if root is not None else stack.enter_context(
            tempfile.TemporaryDirectory(prefix="wirekit-ftp-"))
        address = f"[{host}]:0" if ":" in host else f"{host}:0"
        server = FTPServer(folder, address, write=write, users=users, **options)
        stack.callback(server.shutdown, 10)
        server.start()
        yield server
