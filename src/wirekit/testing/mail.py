"""``catch_mail()``: a mail catcher on a loopback port, so a test can assert on the mail its
code sends.

    from wirekit.testing import catch_mail

    with catch_mail() as catcher:                 # 127.0.0.1, a free port, a temp Maildir
        app.send_welcome_mail(smtp_port=catcher.port)
        [message] = catcher.messages
        assert message.subject == "Welcome"

The server is wirekit's ``MailServer`` (it relays nothing); it stops, and its temporary
Maildir is removed, when the block ends, whatever happened in it. Every message is stored
before the server's 250 goes out, so ``messages`` holds it as soon as the sender returns.
The pytest fixture ``wirekit_smtp_catcher`` (``wirekit.testing.pytest_plugin``) yields the same
object.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wirekit.mail import CaughtMessage, MailServer

__all__ = ["Catcher", "catch_mail"]


class Catcher:
    """A running catcher: where to send (``host``, ``port``) and what arrived."""

    def __init__(self, server: MailServer) -> None:
        self.server = server
        self.host = server.address.host or "127.0.0.1"
        self.port = server.address.port or 0

    @property
    def maildir(self) -> Path:
        return self.server.store.path

    @property
    def messages(self) -> list[CaughtMessage]:
        """Every message caught so far, oldest first."""
        return list(self.server.store)

    def clear(self) -> None:
        """Forget what was caught (between the steps of one test)."""
        self.server.store.maildir.clear()

    def __repr__(self) -> str:
        return f"<Catcher {self.host}:{self.port}, {len(self.server.store)} message(s)>"


@contextlib.contextmanager
def catch_mail(host: str = "127.0.0.1", *, maildir: str | Path | None = None,
               concurrency: str = "threads", **options: Any) -> Iterator[Catcher]:
    """Run a :class:`~wirekit.mail.MailServer` on ``host`` (a free port) in a background
    thread for the ``with`` block. ``maildir`` keeps the mail (default: a temporary folder,
    removed afterwards); ``options`` go to ``MailServer`` (``tls=``, ``passwords=``...)."""
    with contextlib.ExitStack() as stack:
        folder = maildir if maildir is not None else stack.enter_context(
            tempfile.TemporaryDirectory(prefix="wirekit-mail-"))
        address = f"[{host}]:0" if ":" in host else f"{host}:0"
        server = MailServer(folder, address, concurrency=concurrency, **options)
        server.start()
        stack.callback(server.shutdown, 10)
        yield Catcher(server)
