"""Fixtures for the HTTP layer: a real WSGI server on loopback for any application.

``wsgi_server(app)`` starts ``app`` on 127.0.0.1 and returns its base URL
(``http://127.0.0.1:PORT``); it is stopped when the test ends. Tests of the client, forms,
static files and CGI use it, so they run against a real server over real sockets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wirekit.testing import serve_wsgi


@pytest.fixture
def wsgi_server() -> Iterator[Callable[..., str]]:
    """``wsgi_server(app) -> "http://127.0.0.1:PORT"`` (stopped at the end of the test)."""
    with contextlib.ExitStack() as stack:
        def start(app: Callable[..., Any], **options: Any) -> str:
            return stack.enter_context(serve_wsgi(app, **options))

        yield start
