"""pytest fixtures for testing code that talks to a network (``pytest_plugins`` entry).

Enable them in a ``conftest.py``::

    pytest_plugins = ["wirekit.testing.pytest_plugin"]

``mail_catcher``: a :func:`~wirekit.testing.mail.catch_mail` catcher for one test (port 0,
its own temporary Maildir, stopped at teardown whatever the test did).

``ftp_server``: a :func:`~wirekit.testing.ftp.serve_ftp` server for one test, anonymous and
read-write on its own temporary folder (``ftp_server.root``, ``ftp_server.url``), stopped at
teardown.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wirekit.ftp.server import FTPServer
from wirekit.testing.ftp import serve_ftp
from wirekit.testing.mail import Catcher, catch_mail

__all__ = ["ftp_server", "mail_catcher"]


@pytest.fixture
def mail_catcher() -> Iterator[Catcher]:
    """A mail catcher on 127.0.0.1 for this test: ``mail_catcher.port``,
    ``mail_catcher.messages``."""
    with catch_mail() as catcher:
        yield catcher


@pytest.fixture
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPServer]:
    """An anonymous, read-write FTP server on 127.0.0.1 for this test, serving a fresh
    folder: ``ftp_server.root``, ``ftp_server.url``, ``ftp_server.port``."""
    with serve_ftp(tmp_path_factory.mktemp("ftproot"), write=True) as server:
        yield server
