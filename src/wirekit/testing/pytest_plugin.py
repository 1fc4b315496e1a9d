"""pytest fixtures for testing code that talks to a network: a real server for every protocol
wirekit speaks, on 127.0.0.1 and a free port, stopped at teardown whatever the test did.

The plugin is registered under the ``pytest11`` entry point, so installing wirekit makes the
fixtures available to every test (``-p no:wirekit`` turns it off). Their names all start with
``wirekit_`` so they never shadow a project's own fixtures:

``wirekit_http_server``
    A factory: ``wirekit_http_server(app) -> "http://127.0.0.1:PORT"`` serves a WSGI
    application (any number per test).
``wirekit_smtp_catcher``
    A mail catcher (:func:`~wirekit.testing.catch_mail`): ``.host``, ``.port``, ``.messages``.
``wirekit_ftp_server``
    An anonymous, read-write FTP server on a fresh folder (:func:`~wirekit.testing.serve_ftp`):
    ``.root``, ``.url``; skipped when pyftpdlib (``wirekit[ftp-server]``) is not installed.
``wirekit_rpc_server``
    An XML-RPC server (:func:`~wirekit.testing.serve_rpc`): ``.register_function(f)``, then a
    proxy on ``.url``.
``wirekit_channel_listener``
    An object-channel :class:`~wirekit.channel.Listener` with a random authkey: ``.address``,
    ``.authkey``, ``.accept()``.
``wirekit_echo_server``
    The course's TCP echo server (:func:`~wirekit.testing.serve_echo`): ``.address``.

Everything is imported when a fixture is first used, so the plugin costs a test session that
uses none of them nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = [
    "wirekit_channel_listener",
    "wirekit_echo_server",
    "wirekit_ftp_server",
    "wirekit_http_server",
    "wirekit_rpc_server",
    "wirekit_smtp_catcher",
]


@pytest.fixture
def wirekit_http_server() -> Iterator[Callable[..., str]]:
    """``wirekit_http_server(app, **options) -> base URL``: ``app`` served by wirekit's HTTP
    server (``options`` as :func:`~wirekit.testing.serve_wsgi`'s) until the test ends."""
    import contextlib

    from wirekit.testing.http import serve_wsgi

    with contextlib.ExitStack() as stack:
        yield lambda app, **options: stack.enter_context(serve_wsgi(app, **options))


@pytest.fixture
def wirekit_smtp_catcher() -> Iterator[Any]:
    """A mail catcher on 127.0.0.1 for this test: ``.port``, ``.messages``, ``.clear()``."""
    from wirekit.testing.mail import catch_mail

    with catch_mail() as catcher:
        yield catcher


@pytest.fixture
def wirekit_ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An anonymous, read-write FTP server on 127.0.0.1 for this test, serving a fresh
    folder: ``.root``, ``.url``, ``.port``."""
    pytest.importorskip("pyftpdlib", reason="wirekit_ftp_server needs wirekit[ftp-server]")
    from wirekit.testing.ftp import serve_ftp

    with serve_ftp(tmp_path_factory.mktemp("ftproot"), write=True) as server:
        yield server


@pytest.fixture
def wirekit_rpc_server() -> Iterator[Any]:
    """An XML-RPC server on 127.0.0.1 for this test: register functions on it, then call
    them through a proxy on ``.url``."""
    from wirekit.testing.servers import serve_rpc

    with serve_rpc() as server:
        yield server


@pytest.fixture
def wirekit_channel_listener() -> Iterator[Any]:
    """A channel listener on 127.0.0.1 with a random ``.authkey``, closed at teardown."""
    from wirekit.testing.servers import channel_listener

    with channel_listener() as listener:
        yield listener


@pytest.fixture
def wirekit_echo_server() -> Iterator[Any]:
    """A TCP echo server on 127.0.0.1 for this test: connect to ``.address``."""
    from wirekit.testing.servers import serve_echo

    with serve_echo() as server:
        yield server
