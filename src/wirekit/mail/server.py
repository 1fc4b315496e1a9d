"""``MailServer``: a local SMTP server that catches mail (``smtpd`` for today's Python).

    from wirekit.mail import MailServer

    MailServer("maildir", "127.0.0.1:8025").serve_forever()

It accepts mail from anyone for anyone, stores each message in a Maildir and **relays
nothing, ever**: it is the place to point an application under development or test, not an
MTA. It is a :class:`wirekit.server.Server` whose connection core speaks SMTP
(``session.SMTPSession``), so it runs in every concurrency mode, with access lists, limits
and graceful stop as every wirekit server.

TLS: ``tls=`` a server context offers STARTTLS (RFC 3207), or, with ``implicit_tls=True``,
wraps every connection at once (port 465, RFC 8314). AUTH: ``passwords=`` a mapping or a
file of ``user:password`` lines turns on AUTH PLAIN and LOGIN and requires it for MAIL;
AUTH is offered only under TLS unless ``allow_cleartext_auth=True``.
"""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConfigError
from wirekit.mail.session import SMTPSession
from wirekit.mail.store import Envelope, MaildirStore
from wirekit.net.address import Address, AddressLike
from wirekit.proto.smtp import Hello, MailFrom, ServerSettings
from wirekit.server import Server
from wirekit.server.modes import Mode

__all__ = ["CONTENT_TIMEOUT", "DEFAULT_PORT", "MailServer", "read_password_file"]

#: 8025: the unprivileged stand-in for port 25 that aiosmtpd and MailHog use (1025 also).
DEFAULT_PORT = 8025
#: All of a message's content must arrive within this (RFC 5321 §4.5.3.2.6: 10 minutes).
CONTENT_TIMEOUT = 600.0
MiB = 1024 * 1024
_NOBODY = b"\0no such user\0"  # compared against when the user is unknown


class MailServer(Server):
    """Catch mail on ``address`` into the Maildir at ``maildir`` (created if missing)."""

    def __init__(
        self,
        maildir: str | Path | MaildirStore,
        address: AddressLike = f"127.0.0.1:{DEFAULT_PORT}",
        *,
        concurrency: str | Mode = "threads",
        workers: int | None = None,
        hostname: str = "localhost",
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        passwords: Mapping[str, str] | str | Path | None = None,
        allow_cleartext_auth: bool = False,
        max_message: int = 25 * MiB,
        max_recipients: int = 100,
        content_timeout: float | None = CONTENT_TIMEOUT,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        limits: Limits = DEFAULT_LIMITS,
        **server_options: Any,
    ) -> None:
        if implicit_tls and tls is None:
            raise ConfigError("implicit_tls needs a TLS context (tls=)")
        self.store = maildir if isinstance(maildir, MaildirStore) else MaildirStore(maildir)
        if passwords is None or isinstance(passwords, Mapping):
            self.passwords = dict(passwords or {})
        else:
            self.passwords = read_password_file(passwords)
        self.settings = ServerSettings(
            hostname=hostname, max_message=max_message, max_recipients=max_recipients,
            starttls=tls is not None and not implicit_tls,
            auth_mechanisms=("PLAIN", "LOGIN") if self.passwords else (),
            allow_cleartext_auth=allow_cleartext_auth, require_auth=bool(self.passwords))
        self.content_timeout = content_timeout
        super().__init__(SMTPSession, address, concurrency=concurrency, workers=workers,
                         tls=tls, starttls=not implicit_tls, timeouts=timeouts,
                         limits=limits, **server_options)

    def check_password(self, username: str, password: str) -> bool:
        """True if ``password`` is ``username``'s; the comparison takes the same time for
        every wrong password and for unknown users."""
        expected = self.passwords.get(username)
        candidate = _NOBODY if expected is None else expected.encode()
        return hmac.compare_digest(candidate, password.encode()) and expected is not None

    def envelope(self, mail: MailFrom, recipients: tuple[str, ...], client: Address,
                 hello: Hello | None, tls: bool, username: str | None) -> Envelope:
        return Envelope(mail.address, recipients, str(client),
                        hello.domain if hello else "", tls, username, mail.smtputf8)

    def __repr__(self) -> str:
        return f"<MailServer on {self.address} into {str(self.store.path)!r} ({self.mode})>"


def read_password_file(path: str | Path) -> dict[str, str]:
    """``user:password`` lines (``#`` comments and blank lines skipped) into a table."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the password file {str(path)!r}: {exc}") from exc
    table: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user:
            raise ConfigError(f"{path}:{number}: expected user:password")
        table[user] = password
    if not table:
        raise ConfigError(f"the password file {str(path)!r} names no user")
    return table
