"""pytest fixtures for testing code that talks to a network (``pytest_plugins`` entry).

Enable them in a ``conftest.py``::

    pytest_plugins = ["wirekit.testing.pytest_plugin"]

``mail_catcher``: a :func:`~wirekit.testing.mail.catch_mail` catcher for one test (port 0,
its own temporary Maildir, stopped at teardown whatever the test did).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wirekit.testing.mail import Catcher, catch_mail

__all__ = ["mail_catcher"]


@pytest.fixture
def mail_catcher() -> Iterator[Catcher]:
    """A mail catcher on 127.0.0.1 for this test: ``mail_catcher.port``,
    ``mail_catcher.messages``."""
    with catch_mail() as catcher:
        yield catcher
