"""Sending mail: ``send()`` for one message, ``Client`` for several on one connection.

    from wirekit.mail.client import send
    send(message, host="smtp.example.org", auth=("me", password))   # STARTTLS, verified

The blocking shell of ``wirekit.proto.smtp.ClientConnection`` on ``wirekit.net.connect`` and
a ``Stream``; each reply is awaited under one deadline (``timeouts.read``). The decisions
smtplib leaves to its caller are made here, safely by default:

* TLS is on and verified: ``tls="starttls"`` (port 587, RFC 3207) upgrades or fails, never
  continues in the clear (a missing or refused STARTTLS is a ``TLSError``, SECURITY.md M01),
  ``tls="implicit"`` starts with TLS (port 465, RFC 8314); ``tls=None`` (port 25) is plain
  and must be asked for. smtplib's ``starttls()`` does not verify unless given a context.
* AUTH (PLAIN, else LOGIN) is refused without TLS unless ``allow_cleartext_auth=True``.
* CR/LF in addresses and headers are refused before anything is sent (``InvalidMessage``).
* With PIPELINING the envelope goes in one write (RFC 2920); a recipient refused among
  accepted ones is reported in ``SendResult.refused``, all refused is ``RecipientsRefused``.
* The EHLO name is the local address as a literal (``[192.0.2.1]``, RFC 5321 §4.1.3), not
  ``getfqdn()``, which can stall on DNS.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Literal

from wirekit.config import DEFAULT_TIMEOUTS, Timeouts, TLSConfig
from wirekit.errors import (
    AuthenticationError,
    ConfigError,
    ConnectionClosed,
    MessageTooLarge,
    TLSError,
    WirekitError,
)
from wirekit.mail.errors import MailRefused, RecipientsRefused
from wirekit.mail.message import Outgoing, prepare
from wirekit.net.address import Address
from wirekit.net.connect import connect
from wirekit.net.deadline import Deadline
from wirekit.net.stream import Stream
from wirekit.net.tls import client_context
from wirekit.proto.replies import Reply
from wirekit.proto.smtp import (
    NEED_DATA,
    Answer,
    Auth,
    ClientConnection,
    ClientState,
    Command,
    Content,
    Data,
    Hello,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Reset,
    StartTLS,
)

__all__ = ["PORTS", "Client", "SendResult", "TLSMode", "send"]

TLSMode = Literal["starttls", "implicit"] | None
#: The port each TLS mode uses by default (RFC 6409 submission, RFC 8314, RFC 5321).
PORTS: dict[TLSMode, int] = {"starttls": 587, "implicit": 465, None: 25}
_QUIT_TIMEOUT = 5.0


@dataclass(frozen=True)
class SendResult:
    """The server's final ``reply``, who it ``accepted`` and who it ``refused`` (each with its
    reply)."""

    reply: Reply
    accepted: tuple[str, ...]
    refused: dict[str, Reply] = field(default_factory=dict)


class Client:
    """An SMTP session for one or more messages: ``with Client(...) as client:
    client.send(message)``. See the module docstring for the defaults."""

    def __init__(self, host: str = "localhost", port: int | None = None, *,
                 tls: TLSMode = "starttls", auth: tuple[str, str] | None = None,
                 context: ssl.SSLContext | TLSConfig | None = None,
                 allow_cleartext_auth: bool = False, local_hostname: str | None = None,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        if tls not in PORTS:
            raise ConfigError(f"tls must be 'starttls', 'implicit' or None, not {tls!r}")
        if auth is not None and tls is None and not allow_cleartext_auth:
            raise ConfigError("refusing to send a password without TLS: use tls='starttls' "
                              "or 'implicit' (or allow_cleartext_auth=True)")
        self.host, self.port = host, PORTS[tls] if port is None else port
        self.tls, self.auth = tls, auth
        self.context = None if tls is None else client_context(context or True)
        self.allow_cleartext_auth = allow_cleartext_auth
        self.local_hostname = local_hostname
        self.timeouts = timeouts
        self.stream: Stream | None = None
        self.conn = ClientConnection(tls=tls == "implicit",
                                     allow_cleartext_auth=allow_cleartext_auth)
        self.greeting: Reply | None = None

    # -- the session ------------------------------------------------------------------------
    def connect(self) -> Client:
        """Connect, read the greeting, EHLO, STARTTLS and AUTH as configured."""
        self.stream = connect(Address(self.host, self.port), tls=self.context
                              if self.tls == "implicit" else None, server_hostname=self.host,
                              timeouts=self.timeouts)
        try:
            [greeting] = self._replies(1)
            self.greeting = greeting.reply
            if not greeting.reply.ok:
                raise MailRefused(greeting.reply, "the connection")
            self._hello()
            if self.tls == "starttls":
                self._start_tls()
            if self.auth is not None:
                self._login(*self.auth)
        except BaseException:
            self.stream.close()
            raise
        return self

    def _hello(self) -> None:
        name = self.local_hostname or _literal(self.stream)
        [answer] = self._exchange(Hello(name))
        if not answer.reply.ok:  # RFC 5321 §3.2: an old server; HELO it is
            [answer] = self._exchange(Hello(name, extended=False))
            if not answer.reply.ok:
                raise MailRefused(answer.reply, "HELO")

    def _start_tls(self) -> None:
        if not self.conn.supports("STARTTLS"):
            raise TLSError("the server does not offer STARTTLS; refusing to continue in the "
                           "clear (SECURITY.md M01); sending in the clear must be asked for "
                           "(tls=None, wirekit mail send --plain)")
        [answer] = self._exchange(StartTLS())
        if answer.reply.code != 220:
            raise TLSError(f"the server refused STARTTLS ({answer.reply}); refusing to "
                           "continue in the clear")
        assert self.stream is not None and self.context is not None
        self.stream.start_tls(self.context, server_hostname=self.host)
        self.conn.tls_started()
        self._hello()

    def _login(self, username: str, password: str) -> None:
        offered = self.conn.extensions.get("AUTH", "").upper().split()
        mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            raise AuthenticationError(f"the server offers no AUTH mechanism wirekit speaks "
                                      f"(PLAIN, LOGIN): {offered or 'none'}")
        [answer] = self._exchange(Auth(mechanism, username, password))
        if answer.reply.code != 235:
            raise AuthenticationError(f"AUTH {mechanism} as {username!r} refused: "
                                      f"{answer.reply}")

    def send(self, message: Message | bytes, *, sender: str | None = None,
             recipients: Iterable[str] | None = None, last: bool = False) -> SendResult:
        """Send one message (an ``EmailMessage``, or bytes with ``sender`` and
        ``recipients``); the envelope defaults to the message's From/Sender and To/Cc/Bcc.
        ``last=True``: the session ends with it, QUIT sent right behind the message (RFC
        2920 §4, one round trip less) when the server pipelines."""
        return self.send_prepared(prepare(message, sender, recipients), last=last)

    def send_prepared(self, out: Outgoing, *, last: bool = False) -> SendResult:
        """Send a message :func:`~wirekit.mail.message.prepare` checked."""
        conn = self.conn
        if self.stream is None:
            raise ConfigError("connect() first (or use the client in a with block)")
        limit = conn.max_size
        if limit is not None and len(out.data) > limit:
            raise MessageTooLarge(f"the message is {len(out.data)} bytes; the server takes "
                                  f"at most {limit}", limit="SIZE")
        mail = MailFrom(out.sender, len(out.data) if conn.supports("SIZE") else None,
                        "8BITMIME" if out.eight_bit and conn.supports("8BITMIME") else None,
                        out.smtputf8)
        commands: list[Command] = [mail, *(RcptTo(r) for r in out.recipients), Data()]
        if conn.supports("PIPELINING"):
            answers = self._exchange(*commands)
        else:
            answers = self._one_by_one(commands)
        return self._content(out, answers, last)

    def _one_by_one(self, commands: list[Command]) -> list[Answer]:
        answers = self._exchange(commands[0])
        if not answers[0].reply.ok:
            return answers
        for command in commands[1:-1]:
            answers += self._exchange(command)
        if not any(a.reply.ok for a in answers[1:]):
            self._exchange(Reset())
            return answers
        return answers + self._exchange(commands[-1])

    def _content(self, out: Outgoing, answers: list[Answer], last: bool) -> SendResult:
        mail, rcpts = answers[0], answers[1:len(out.recipients) + 1]
        data = answers[-1] if len(answers) == len(out.recipients) + 2 else None
        if not mail.reply.ok:
            raise MailRefused(mail.reply, "MAIL")
        refused = {r: a.reply for r, a in zip(out.recipients, rcpts, strict=False)
                   if not a.reply.ok}
        accepted = tuple(r for r, a in zip(out.recipients, rcpts, strict=False) if a.reply.ok)
        if data is not None and data.reply.code == 354 and not accepted:
            self._exchange(Content(b""))  # RFC 2920 §3.1: end the DATA nobody gets
        if not accepted:
            raise RecipientsRefused(refused)
        if data is None or data.reply.code != 354:
            raise MailRefused(data.reply if data else mail.reply, "DATA")
        if last and self.conn.supports("PIPELINING"):
            final, _bye = self._exchange(Content(out.data), Quit())  # then close() only closes
        else:
            [final] = self._exchange(Content(out.data))
        if not final.reply.ok:
            raise MailRefused(final.reply, "the message")
        return SendResult(final.reply, accepted, refused)

    def noop(self) -> Reply:
        [answer] = self._exchange(Noop())
        return answer.reply

    def close(self) -> None:
        """QUIT (best effort) and close the connection."""
        stream, self.stream = self.stream, None
        if stream is None:
            return
        try:
            if self.conn.state in (ClientState.READY, ClientState.HELLO):
                self.conn.send(Quit())
                stream.sendall(self.conn.data_to_send(), timeout=_QUIT_TIMEOUT)
                stream.recv(4096, timeout=_QUIT_TIMEOUT)  # the 221, or the close
        except WirekitError:
            pass  # the session is over either way
        finally:
            stream.close()

    def __enter__(self) -> Client:
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- bytes ------------------------------------------------------------------------------
    def _exchange(self, *commands: Command) -> list[Answer]:
        for command in commands:
            self.conn.send(command)
        return self._replies(len(commands))

    def _replies(self, count: int) -> list[Answer]:
        """Write what the core queued and read ``count`` answers, each within
        ``timeouts.read``."""
        conn, stream = self.conn, self.stream
        assert stream is not None
        if out := conn.data_to_send():
            stream.sendall(out)
        answers: list[Answer] = []
        deadline = None  # started when the next answer has to be waited for
        while count:
            event = conn.next_event()
            if event is NEED_DATA:
                if out := conn.data_to_send():  # AUTH's answers to the server's 334s
                    stream.sendall(out)
                if deadline is None:
                    deadline = Deadline(timeout := self.timeouts.read)
                else:
                    timeout = deadline.remaining("SMTP reply")
                conn.receive_data(stream.recv(65536, timeout=timeout))
                continue
            if not isinstance(event, Answer):
                raise ConnectionClosed("the SMTP server closed the connection")
            answers.append(event)
            count -= 1
            deadline = None
        return answers


def send(message: Message | bytes, host: str = "localhost", port: int | None = None, *,
         tls: TLSMode = "starttls", auth: tuple[str, str] | None = None,
         sender: str | None = None, recipients: Iterable[str] | None = None,
         context: ssl.SSLContext | TLSConfig | None = None, allow_cleartext_auth: bool = False,
         timeouts: Timeouts = DEFAULT_TIMEOUTS) -> SendResult:
    """Send one message on a connection of its own (see :class:`Client`); the message is
    checked before the connection is opened."""
    out = prepare(message, sender, recipients)
    with Client(host, port, tls=tls, auth=auth, context=context, timeouts=timeouts,
                allow_cleartext_auth=allow_cleartext_auth) as client:
        return client.send_prepared(out, last=True)


def _literal(stream: Stream | None) -> str:
    """The EHLO name for our side of the connection (RFC 5321 §4.1.3 address literal)."""
    sock = None if stream is None else stream.socket
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return "localhost"
    host = Address.from_sockaddr(sock.family, sock.getsockname()).host or "localhost"
    return f"[IPv6:{host}]" if ":" in host else f"[{host}]"
