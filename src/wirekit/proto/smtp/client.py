"""``ClientConnection``: the client side of an SMTP session (RFC 5321), without I/O.

Commands go in as events (``send``), their bytes come out of ``data_to_send``; what the
server answers comes back as :class:`Answer` events pairing each reply with its command::

    conn = ClientConnection()
    conn.receive_data(sock.recv(65536))
    conn.next_event()                              # Answer(None, Reply(220, ...))
    conn.send(Hello("client.example.org"))
    sock.sendall(conn.data_to_send())
    ...                                            # Answer(Hello(...), Reply(250, ...))

What it refuses to send raises :class:`LocalProtocolError` before any byte is queued: a
command its state does not allow (``state.CLIENT_SENDS``), a second command while a reply
that decides the next step is awaited (or any command without PIPELINING, RFC 2920), an
address or EHLO name that could end the command line early (SECURITY.md M03), UTF-8 addresses
the server did not offer SMTPUTF8 for, a content line over 1000 octets, and AUTH in the clear
unless ``allow_cleartext_auth`` (RFC 4954 §4). Content is CRLF-normalised and dot-stuffed
here (M04).

Its checks on the server: every reply is bounded (``ReplyParser``); a reply nobody asked for
is a protocol error, except 421 (the server is closing, RFC 5321 §3.8); and bytes that
arrive behind the 220 to STARTTLS are an injection into the coming TLS session (SECURITY.md
M02, the "NO STARTTLS" class): :class:`RemoteProtocolError`. AUTH's continuation (334) is
answered here, so the caller sees only the outcome.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.replies import Reply, ReplyParser
from wirekit.proto.smtp import sasl
from wirekit.proto.smtp.events import (
    NEED_DATA,
    Answer,
    Auth,
    Close,
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
    Verify,
    Wait,
)
from wirekit.proto.smtp.state import BARRIERS, CLIENT_REPLIES, CLIENT_SENDS, ClientState
from wirekit.proto.smtp.syntax import check_address, check_domain, stuff

__all__ = ["ClientConnection"]

_C = ClientState
# Commands whose line is their verb (and VRFY's argument, checked before).
_SIMPLE: dict[type, Callable[[Any], str]] = {
    Data: lambda _: "DATA", StartTLS: lambda _: "STARTTLS", Reset: lambda _: "RSET",
    Noop: lambda _: "NOOP", Quit: lambda _: "QUIT", Verify: lambda e: f"VRFY {e.argument}",
}


class ClientConnection:
    """One SMTP session seen from the client; ``tls=True`` when it began under TLS."""

    def __init__(self, *, tls: bool = False, allow_cleartext_auth: bool = False,
                 max_line: int = 1000) -> None:
        self.state = _C.GREETING
        self.tls = tls
        self.allow_cleartext_auth = allow_cleartext_auth
        self.max_line = max_line
        #: EHLO keywords (upper case) -> their parameters ("SIZE" -> "26214400").
        self.extensions: dict[str, str] = {}
        self._parser = ReplyParser()
        self._out: list[bytes] = []
        self._waiting: deque[Command | None] = deque([None])  # the greeting comes first
        self._sasl: list[str] = []  # AUTH LOGIN's answers, for the 334s still to come
        self._mail: MailFrom | None = None
        self._mail_refused = False
        self._barriers = 0  # commands in _waiting after which nothing may be pipelined

    # -- bytes ------------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; ``b""`` when it closed the connection."""
        self._parser.receive_data(data)

    def data_to_send(self) -> bytes:
        out, self._out = self._out, []
        return b"".join(out)

    @property
    def waiting(self) -> int:
        """Replies still to come for what was sent."""
        return len(self._waiting)

    def supports(self, keyword: str) -> bool:
        return keyword.upper() in self.extensions

    @property
    def max_size(self) -> int | None:
        """The server's SIZE limit (RFC 1870), None if it announced none (or 0)."""
        value = self.extensions.get("SIZE", "")
        return int(value) if value.isdigit() and int(value) > 0 else None

    # -- sending ----------------------------------------------------------------------------
    def send(self, event: Command) -> None:
        """Queue ``event``'s bytes, or raise :class:`LocalProtocolError` sending nothing."""
        row = CLIENT_SENDS[self.state]
        kind = type(event)
        if kind not in row:
            raise LocalProtocolError(f"can't send {kind.__name__} in state {self.state.value}")
        if self._waiting and (self._barriers or "PIPELINING" not in self.extensions):
            raise LocalProtocolError(f"can't send {kind.__name__} before the reply to "
                                     f"{type(self._waiting[-1]).__name__}")
        self._out.append(self._encode(kind, event))
        self._waiting.append(event)
        if kind in BARRIERS:
            self._barriers += 1
        if (new := row[kind]) is not None:
            self.state = new
        if kind is MailFrom:
            self._mail, self._mail_refused = event, False  # type: ignore[assignment]  # kind is MailFrom

    def _encode(self, kind: type, event: Any) -> bytes:
        # Exact types, as CLIENT_SENDS has them; the content first (one per message).
        if kind is Content:
            return stuff(event.data, self.max_line)
        if kind is RcptTo:
            return self._rcpt_line(event)
        if kind is MailFrom:
            return self._mail_line(event)
        if kind is Hello:
            verb = "EHLO" if event.extended else "HELO"
            return f"{verb} {check_domain(event.domain)}\r\n".encode()
        if kind is Auth:
            return self._auth_line(event)
        if kind is Verify and not event.argument.isprintable():
            raise LocalProtocolError(f"refusing to send VRFY {event.argument!r}")
        if kind is StartTLS and self.tls:
            raise LocalProtocolError("TLS is already active")
        return _SIMPLE[kind](event).encode() + b"\r\n"

    def _rcpt_line(self, event: RcptTo) -> bytes:
        address = check_address(event.address)
        if not address.isascii() and not (self._mail and self._mail.smtputf8):
            raise LocalProtocolError(f"{address!r} needs MailFrom(smtputf8=True)")
        return f"RCPT TO:<{address}>\r\n".encode()

    def _mail_line(self, event: MailFrom) -> bytes:
        address = check_address(event.address, null_ok=True)
        params = []
        if event.size is not None:
            if not self.supports("SIZE"):
                raise LocalProtocolError("the server did not offer SIZE")
            params.append(f"SIZE={int(event.size)}")
        if event.body is not None:
            if event.body not in ("7BIT", "8BITMIME"):
                raise LocalProtocolError(f"BODY must be 7BIT or 8BITMIME, not {event.body!r}")
            if event.body == "8BITMIME" and not self.supports("8BITMIME"):
                raise LocalProtocolError("the server did not offer 8BITMIME")
            params.append(f"BODY={event.body}")
        if event.smtputf8:
            if not self.supports("SMTPUTF8"):
                raise LocalProtocolError("the server did not offer SMTPUTF8")
            params.append("SMTPUTF8")
        elif not address.isascii():
            raise LocalProtocolError(f"{address!r} needs SMTPUTF8 (RFC 6531)")
        return " ".join([f"MAIL FROM:<{address}>", *params]).encode() + b"\r\n"

    def _auth_line(self, event: Auth) -> bytes:
        if not (self.tls or self.allow_cleartext_auth):
            raise LocalProtocolError("refusing AUTH without TLS: the password would cross "
                                     "the network readable (RFC 4954 §4)")
        mechanism = event.mechanism.upper()
        if mechanism == "PLAIN":
            response = sasl.plain_response(event.username, event.password, event.authzid)
            self._sasl = []
            return f"AUTH PLAIN {response}\r\n".encode()
        if mechanism == "LOGIN":
            self._sasl = [sasl.b64(event.username), sasl.b64(event.password)]
            return b"AUTH LOGIN\r\n"
        raise LocalProtocolError(f"unsupported AUTH mechanism {event.mechanism!r}")

    def tls_started(self) -> None:
        """The TLS handshake after STARTTLS is done: EHLO again; what the server offered in
        the clear is forgotten (RFC 3207 §4.2)."""
        if self.state is not _C.TLS:
            raise LocalProtocolError("tls_started() without an accepted STARTTLS")
        self.tls, self.state, self.extensions = True, _C.HELLO, {}

    # -- receiving --------------------------------------------------------------------------
    def next_event(self) -> Answer | Close | Wait:
        """The next :class:`Answer`; ``NEED_DATA`` until one is complete; :class:`Close` once
        the server closed (cleanly between replies)."""
        while True:
            reply = self._parser.next_reply()
            if reply is None:
                if not self._parser.closed:
                    return NEED_DATA
                self.state = _C.CLOSED
                return Close("the server closed the connection")
            answer = self._answer(reply)
            if answer is not None:
                return answer

    def _answer(self, reply: Reply) -> Answer | None:
        if not self._waiting:
            if reply.code == 421:  # the server is going away (RFC 5321 §3.8)
                self.state = _C.CLOSED
                return Answer(None, reply)
            raise RemoteProtocolError(f"the server sent a reply nobody asked for: {reply}")
        command = self._waiting.popleft()
        code = reply.code
        kind = None if command is None else type(command)
        if kind is Auth and code == 334:
            self._out.append((self._sasl.pop(0) if self._sasl else "*").encode() + b"\r\n")
            self._waiting.appendleft(command)
            return None
        if kind in BARRIERS:
            self._barriers -= 1
        ok = 200 <= code < 300
        if kind is StartTLS and ok and self._parser.buffered:
            raise RemoteProtocolError(
                f"{self._parser.buffered} bytes arrived behind the 220 to STARTTLS, in the "
                "clear: an injection into the TLS session (SECURITY.md M02)")
        if kind is Hello and ok:
            self.state = _C.READY
            if command.extended:  # type: ignore[union-attr]  # kind is Hello
                self.extensions = _extensions(reply)
        elif kind is MailFrom and not ok:
            self._mail_refused = True
        if (new := CLIENT_REPLIES.get((kind, code // 100))) is not None:
            self.state = new
        if code == 421:
            self.state = _C.CLOSED
        elif self._mail_refused and not self._waiting and self.state is _C.MAIL:
            self.state = _C.READY  # the transaction failed with nothing left in flight
        return Answer(command, reply)


def _extensions(reply: Reply) -> dict[str, str]:
    """EHLO's lines after the first: ``KEYWORD params`` (RFC 5321 §4.1.1.1)."""
    found: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            found[keyword.upper()] = params.strip()
    return found
