"""The events of an SMTP session (RFC 5321), as nouns shared by both sides.

A client *sends* these events (``ClientConnection.send``) and a server *receives* them
(``ServerConnection.next_event``): ``MailFrom("a@example.org")`` is the same object on both
sides of the wire, as in h11. Events are frozen, so one handed to an application, a log and the
core cannot change underneath any of them.

What only one side has:

* the client receives :class:`Answer` (the server's reply, paired with the command it answers);
* the server's core ends with :class:`Close` when it decided the connection is over (too many
  errors, a line too long, the client's EOF), and :class:`Quit` when the client asked.

``NEED_DATA`` and ``PAUSED`` are the two answers ``next_event()`` gives when it has no event:
more bytes are needed, or the core waits for the application (a decision, a TLS handshake) or
is closed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeAlias

from wirekit.proto.replies import Reply

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "Answer",
    "Auth",
    "Close",
    "Command",
    "Content",
    "Data",
    "Event",
    "Hello",
    "MailFrom",
    "Noop",
    "Quit",
    "RcptTo",
    "Reset",
    "StartTLS",
    "Verify",
    "Wait",
]


class Wait(enum.Enum):
    """Why ``next_event()`` has no event to give."""

    #: More bytes from the peer are needed: call ``receive_data()``.
    NEED_DATA = "NEED_DATA"
    #: The core waits for the application (answer the last event, finish the TLS
    #: handshake) or the connection is over.
    PAUSED = "PAUSED"


NEED_DATA = Wait.NEED_DATA
PAUSED = Wait.PAUSED


@dataclass(frozen=True, slots=True)
class Hello:
    """``EHLO domain`` (``extended``) or ``HELO domain`` (RFC 5321 §4.1.1.1)."""

    domain: str
    extended: bool = True


@dataclass(frozen=True, slots=True)
class MailFrom:
    """``MAIL FROM:<address>`` and its parameters; ``""`` is the null sender of bounces.

    ``size`` declares the message size (RFC 1870), ``body`` is ``"7BIT"`` or ``"8BITMIME"``
    (RFC 6152), ``smtputf8`` asks for UTF-8 addresses and headers (RFC 6531).
    """

    address: str
    size: int | None = None
    body: str | None = None
    smtputf8: bool = False


@dataclass(frozen=True, slots=True)
class RcptTo:
    """``RCPT TO:<address>``."""

    address: str


@dataclass(frozen=True, slots=True)
class Data:
    """``DATA``: the content follows once the server answers 354."""


@dataclass(frozen=True, slots=True)
class Content:
    """A message's content, as the application sees it: lines end with CRLF and no line is
    dot-stuffed (the cores stuff and unstuff, RFC 5321 §4.5.2).

    A server fills in the envelope the content arrived with (``mail``, ``recipients``); a
    client sends ``Content(data)`` alone.
    """

    data: bytes = field(repr=False)
    mail: MailFrom | None = None
    recipients: tuple[str, ...] = ()

    def __repr__(self) -> str:  # a message can be megabytes: show its size, not its bytes
        return f"Content(<{len(self.data)} bytes>, mail={self.mail!r}, " \
               f"recipients={self.recipients!r})"


@dataclass(frozen=True, slots=True)
class StartTLS:
    """``STARTTLS`` (RFC 3207): after the 220, both sides start a TLS handshake."""


@dataclass(frozen=True, slots=True)
class Auth:
    """``AUTH`` PLAIN or LOGIN (RFC 4954) with its credentials, once the SASL exchange is
    complete. ``authzid`` is PLAIN's authorisation identity (usually empty)."""

    mechanism: str
    username: str
    password: str = field(repr=False)
    authzid: str = ""


@dataclass(frozen=True, slots=True)
class Verify:
    """``VRFY argument`` (RFC 5321 §3.5): reaches the application only when allowed."""

    argument: str


@dataclass(frozen=True, slots=True)
class Reset:
    """``RSET``: abandon the current transaction."""


@dataclass(frozen=True, slots=True)
class Noop:
    """``NOOP``."""


@dataclass(frozen=True, slots=True)
class Quit:
    """``QUIT``: the server answers 221 and closes."""


@dataclass(frozen=True, slots=True)
class Close:
    """(Server) the connection is over for ``reason``: send what is pending, then close."""

    reason: str


@dataclass(frozen=True, slots=True)
class Answer:
    """(Client) the server's ``reply`` to ``command`` (``None``: the greeting)."""

    command: Command | None
    reply: Reply


Command: TypeAlias = (Hello | MailFrom | RcptTo | Data | Content | StartTLS | Auth | Verify
                      | Reset | Noop | Quit)
Event: TypeAlias = Command | Close | Answer
