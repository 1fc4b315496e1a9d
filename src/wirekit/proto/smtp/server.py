"""``ServerConnection``: the server side of an SMTP session (RFC 5321), without I/O.

Feed it what the client sent (``receive_data``, ``b""`` at EOF), take events out
(``next_event``), answer the ones that need a decision (``accept``/``refuse``) and send what
it queued (``data_to_send``)::

    conn = ServerConnection(ServerSettings(hostname="mx.example.org"))
    sock.sendall(conn.data_to_send())                  # the 220 greeting
    while conn.state is not ServerState.CLOSED:
        event = conn.next_event()
        if event is NEED_DATA:
            conn.receive_data(sock.recv(65536))
        elif isinstance(event, (MailFrom, RcptTo, Content, Auth, Verify)):
            conn.accept()                              # or conn.refuse(550, "no such user")
        elif isinstance(event, StartTLS):
            sock.sendall(conn.data_to_send()); sock = wrap(sock); conn.tls_started()
        elif isinstance(event, (Quit, Close)):
            break                                      # after sending data_to_send()
        sock.sendall(conn.data_to_send())

The core answers everything that needs no decision itself: EHLO with the extensions it
offers (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, and STARTTLS and AUTH as
the settings say), NOOP, RSET, HELP, QUIT, VRFY and EXPN (refused unless allowed), syntax and
sequence errors. While a decision is pending ``next_event`` returns ``PAUSED`` and pipelined
commands wait in the buffer, so replies always leave in command order (RFC 2920).

Its safety rules: a command line ends with CRLF and nothing else, and is at most
``max_line`` octets (a longer one ends the session: the rest of it cannot be trusted);
content ends only at CRLF.CRLF and content with a bare CR or LF is refused (SMTP smuggling,
CVE-2023-51766); content past ``max_message`` is read and dropped, then refused (552), so
memory stays bounded; bytes pipelined behind STARTTLS are discarded (CVE-2011-0411, RFC 3207
§4.2) and the session starts over after the handshake; AUTH needs TLS unless allowed
(RFC 4954 §4); after ``max_errors`` errors the server says 421 and closes.
"""

from __future__ import annotations

from typing import Final, TypeVar

from wirekit.errors import LocalProtocolError, MessageTooLarge
from wirekit.proto.buffer import ReceiveBuffer
from wirekit.proto.replies import format_reply
from wirekit.proto.smtp import sasl
from wirekit.proto.smtp.events import (
    NEED_DATA,
    PAUSED,
    Auth,
    Close,
    Content,
    Hello,
    MailFrom,
    Quit,
    RcptTo,
    StartTLS,
    Verify,
    Wait,
)
from wirekit.proto.smtp.settings import DEFAULT_SERVER_SETTINGS, ServerSettings
from wirekit.proto.smtp.state import KNOWN_VERBS, SERVER_COMMANDS, ServerState
from wirekit.proto.smtp.syntax import (
    CommandRefused,
    content_problem,
    parse_mail,
    parse_rcpt,
    split_command,
    unstuff,
)

__all__ = ["ServerConnection"]

_S = ServerState
_END: Final = b"\r\n.\r\n"
Decision = MailFrom | RcptTo | Content | Auth | Verify
_D = TypeVar("_D", MailFrom, RcptTo, Content, Auth, Verify)
# What accept() and refuse() answer by default, per kind of decision (RFC 3463 codes).
_ACCEPT: Final[dict[type, tuple[int, str, str]]] = {
    MailFrom: (250, "2.1.0", "Sender OK"),
    RcptTo: (250, "2.1.5", "Recipient OK"),
    Content: (250, "2.0.0", "Message accepted"),
    Auth: (235, "2.7.0", "Authentication successful"),
    Verify: (252, "2.5.0", "Cannot verify the user, but will accept the message"),
}
_REFUSE: Final[dict[type, tuple[int, str, str]]] = {
    MailFrom: (550, "5.7.1", "Sender refused"),
    RcptTo: (550, "5.1.1", "Recipient refused"),
    Content: (554, "5.6.0", "Message refused"),
    Auth: (535, "5.7.8", "Authentication credentials invalid"),
    Verify: (550, "5.1.1", "User unknown"),
}


class ServerConnection:
    """One SMTP session seen from the server; ``tls=True`` when it began under TLS (port
    465, RFC 8314)."""

    def __init__(self, settings: ServerSettings = DEFAULT_SERVER_SETTINGS, *,
                 tls: bool = False) -> None:
        self.settings = settings
        self.tls = tls
        self.state = _S.START
        self.hello: Hello | None = None
        self.authenticated: str | None = None  # the username AUTH accepted
        self.errors = 0
        self.discarded = 0  # plaintext bytes dropped behind STARTTLS (an injection attempt)
        self.mail: MailFrom | None = None
        self.recipients: list[str] = []
        self._buffer = ReceiveBuffer()
        self._out: list[bytes] = []
        self._pending: Decision | None = None
        self._eof = False
        self._content = ReceiveBuffer()  # DATA's bytes, searched in place for CRLF.CRLF
        self._scan = 0
        self._dropped = 0  # content bytes read past max_message
        self._sasl: list[str] = []  # AUTH in progress: mechanism, then what arrived
        self._reply(220, None, f"{settings.hostname} ESMTP wirekit")

    # -- the application's side -----------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` when it closed its side."""
        if not data:
            self._eof = True
        elif self.state is _S.TLS:
            self.discarded += len(data)  # sent in the clear before the handshake: never read
        elif self.state is not _S.CLOSED:
            self._buffer.feed(data)

    def data_to_send(self) -> bytes:
        """Everything queued for the client since the last call."""
        out, self._out = self._out, []
        return b"".join(out)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed (a command line in progress, content)."""
        return len(self._buffer) + len(self._content)

    @property
    def pending(self) -> Decision | None:
        """The event waiting for ``accept`` or ``refuse``."""
        return self._pending

    def next_event(self) -> Decision | StartTLS | Quit | Close | Wait:
        """The next event that needs the application, or ``NEED_DATA``/``PAUSED``."""
        while True:
            if self._pending is not None or self.state in (_S.TLS, _S.CLOSED):
                return PAUSED
            event = self._read_content() if self.state is _S.DATA else self._read_command()
            if event is not None:
                return event

    def accept(self, text: str | None = None) -> None:
        """Give the pending event its positive reply (``text`` replaces the default)."""
        event = self._decided()
        code, enhanced, default = _ACCEPT[type(event)]
        if isinstance(event, MailFrom):
            self.mail, self.state = event, _S.MAIL
        elif isinstance(event, RcptTo):
            self.recipients.append(event.address)
            self.state = _S.RCPT
        elif isinstance(event, Auth):
            self.authenticated = event.username
        self._reply(code, enhanced, text or default)

    def refuse(self, code: int | None = None, text: str | None = None,
               enhanced: str | None = None) -> None:
        """Give the pending event a negative reply (4yz or 5yz; the default per event)."""
        event = self._pending
        if event is None:
            raise LocalProtocolError("no event is waiting for an answer")
        default_code, default_enhanced, default_text = _REFUSE[type(event)]
        code = default_code if code is None else code
        if not 400 <= code < 600:
            raise LocalProtocolError(f"a refusal is a 4yz or 5yz reply, not {code}")
        if enhanced is None:
            enhanced = default_enhanced if code // 100 == 5 else "4" + default_enhanced[1:]
        self._reply(code, enhanced, text or default_text)  # checked before anything changes
        self._decided()
        if isinstance(event, Auth):
            self._error()  # a password guess counts towards the hang-up

    def tls_started(self) -> None:
        """The TLS handshake after STARTTLS is done: the session starts over (RFC 3207 §4.2:
        the hello, any AUTH and everything buffered are forgotten)."""
        if self.state is not _S.TLS:
            raise LocalProtocolError("tls_started() without a STARTTLS")
        self.tls, self.state = True, _S.START
        self.hello = self.authenticated = None
        self._reset()

    def timed_out(self) -> None:
        """The shell's deadline passed: say 421 (RFC 5321 §4.5.3.2) and end the session."""
        self._end(421, "4.4.2", "Timeout, closing the connection")

    def shutting_down(self) -> None:
        """The server stops: say 421 (RFC 5321 §3.8) and end the session."""
        self._end(421, "4.3.2", "Service shutting down, closing the connection")

    # -- commands -------------------------------------------------------------------------
    def _read_command(self) -> Decision | StartTLS | Quit | Close | Wait | None:
        limit = self.settings.max_line - 2
        try:
            line = self._buffer.read_until(b"\r\n", limit, keep=False)
        except MessageTooLarge:
            return self._end(500, "5.5.2", f"Line longer than {limit + 2} octets, closing")
        if line is None:
            if self._eof:
                self.state = _S.CLOSED
                return Close("the client closed the connection" if not self._buffer
                             else "the client closed in the middle of a command")
            return NEED_DATA
        if self.state is _S.AUTH:
            return self._sasl_step(line)
        try:
            return self._command(*split_command(line))
        except CommandRefused as refusal:
            self._reply(refusal.code, refusal.enhanced, refusal.text)
            return self._error()

    def _command(self, verb: str, argument: str) -> Decision | StartTLS | Quit | Close | None:
        row = SERVER_COMMANDS.get(self.state, {})
        if verb not in row:
            if verb in KNOWN_VERBS:
                raise CommandRefused(503, "5.5.1", self._sequence_hint(verb))
            raise CommandRefused(500, "5.5.2", "Syntax error, command unrecognized")
        handler = getattr(self, f"_do_{verb.lower()}")
        return handler(argument)

    def _sequence_hint(self, verb: str) -> str:
        if self.hello is None:
            return "Send EHLO or HELO first"
        if verb == "RCPT":
            return "Need MAIL before RCPT"
        if verb == "DATA":
            return "Need RCPT before DATA"
        if verb in ("MAIL", "AUTH", "STARTTLS") and self.state is not _S.READY:
            return f"{verb} is not allowed inside a mail transaction"
        return "Bad sequence of commands"

    def _do_ehlo(self, argument: str, extended: bool = True) -> None:
        if not argument or " " in argument:
            raise CommandRefused(501, "5.5.4", "Syntax: EHLO domain (or address literal)")
        self._reset()
        self.hello, self.state = Hello(argument, extended), _S.READY
        settings = self.settings
        if not extended:
            self._reply(250, None, settings.hostname)
            return
        lines = [settings.hostname, "PIPELINING", f"SIZE {settings.max_message}", "8BITMIME",
                 "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if settings.starttls and not self.tls:
            lines.append("STARTTLS")
        if self._auth_offered():
            lines.append("AUTH " + " ".join(settings.auth_mechanisms))
        self._reply(250, None, lines)

    def _do_helo(self, argument: str) -> None:
        self._do_ehlo(argument, extended=False)

    def _do_mail(self, argument: str) -> MailFrom:
        settings = self.settings
        if settings.require_tls and not self.tls:
            raise CommandRefused(530, "5.7.0", "Must issue a STARTTLS command first")
        if settings.require_auth and self.authenticated is None:
            raise CommandRefused(530, "5.7.0", "Authentication required")
        return self._decide(parse_mail(argument, settings.max_message))

    def _do_rcpt(self, argument: str) -> RcptTo:
        if len(self.recipients) >= self.settings.max_recipients:
            raise CommandRefused(452, "4.5.3", "Too many recipients")
        assert self.mail is not None  # the table allows RCPT only after MAIL
        return self._decide(RcptTo(parse_rcpt(argument, self.mail.smtputf8)))

    def _do_data(self, argument: str) -> None:
        if argument:
            raise CommandRefused(501, "5.5.4", "DATA takes no argument")
        self.state, self._scan, self._dropped = _S.DATA, 0, 0
        self._content.take_all()
        self._content.feed(b"\r\n")
        self._reply(354, None, "End data with <CR><LF>.<CR><LF>")

    def _do_rset(self, argument: str) -> None:
        if argument:
            raise CommandRefused(501, "5.5.4", "RSET takes no argument")
        self._reset()
        self.state = _S.READY if self.hello is not None else _S.START
        self._reply(250, "2.0.0", "OK")

    def _do_noop(self, argument: str) -> None:
        self._reply(250, "2.0.0", "OK")

    def _do_help(self, argument: str) -> None:
        self._reply(214, "2.0.0", "See RFC 5321")

    def _do_vrfy(self, argument: str) -> Verify | None:
        if not self.settings.allow_verify:
            self._reply(502, "5.5.1", "VRFY command is disabled")
            return None
        if not argument:
            raise CommandRefused(501, "5.5.4", "Syntax: VRFY user")
        return self._decide(Verify(argument))

    def _do_expn(self, argument: str) -> None:
        self._reply(502, "5.5.1", "EXPN command is disabled")

    def _do_quit(self, argument: str) -> Quit:
        self._reply(221, "2.0.0", "Bye")
        self.state = _S.CLOSED
        return Quit()

    def _do_starttls(self, argument: str) -> StartTLS:
        if not self.settings.starttls or self.tls:
            raise CommandRefused(502 if not self.tls else 503, "5.5.1",
                                 "TLS already active" if self.tls else "STARTTLS not available")
        if argument:
            raise CommandRefused(501, "5.5.4", "STARTTLS takes no argument")
        self._reply(220, "2.0.0", "Ready to start TLS")
        self.discarded += len(self._buffer)  # pipelined in the clear: an injection (M02)
        self._buffer.take_all()
        self.state = _S.TLS
        return StartTLS()

    # -- AUTH (RFC 4954) --------------------------------------------------------------------
    def _auth_offered(self) -> bool:
        settings = self.settings
        return bool(settings.auth_mechanisms) and self.authenticated is None and (
            self.tls or settings.allow_cleartext_auth)

    def _do_auth(self, argument: str) -> Auth | Close | None:
        settings = self.settings
        if not settings.auth_mechanisms:
            raise CommandRefused(502, "5.5.1", "AUTH not available")
        if not (self.tls or settings.allow_cleartext_auth):
            raise CommandRefused(538, "5.7.11", "Encryption required for requested "
                                                "authentication mechanism")
        if self.authenticated is not None:
            raise CommandRefused(503, "5.5.1", "Already authenticated")
        mechanism, _, initial = argument.partition(" ")
        mechanism = mechanism.upper()
        if mechanism not in settings.auth_mechanisms:
            raise CommandRefused(504, "5.5.4", "Unrecognized authentication type")
        self._sasl, self.state = [mechanism], _S.AUTH
        if initial:
            return self._sasl_step(initial.encode())  # "=" is an empty initial response
        self._reply(334, None, "" if mechanism == "PLAIN" else sasl.LOGIN_CHALLENGES[0])
        return None

    def _sasl_step(self, line: bytes) -> Auth | Close | None:
        text = line.decode("ascii", "replace").strip()
        mechanism = self._sasl[0]
        self.state = _S.READY
        if text == "*":  # RFC 4954 §4: the client cancelled
            self._reply(501, "5.7.0", "Authentication cancelled")
            return self._error()
        answer = "" if text == "=" else text
        if mechanism == "PLAIN":
            plain = sasl.decode_plain(answer)
            if plain is None:
                return self._sasl_garbled()
            return self._decide(Auth("PLAIN", plain[1], plain[2], plain[0]))
        decoded = sasl.unb64(answer)
        if decoded is None:
            return self._sasl_garbled()
        self._sasl.append(decoded)
        if len(self._sasl) == 2:  # the username came: ask for the password
            self.state = _S.AUTH
            self._reply(334, None, sasl.LOGIN_CHALLENGES[1])
            return None
        return self._decide(Auth("LOGIN", self._sasl[1], self._sasl[2]))

    def _sasl_garbled(self) -> Close | None:
        self._reply(501, "5.5.2", "Cannot decode the AUTH response")
        return self._error()

    # -- content ----------------------------------------------------------------------------
    def _read_content(self) -> Content | Close | Wait | None:
        """Collect content up to CRLF.CRLF (``_content`` starts with the CRLF that ended
        the DATA line, so an empty message's "." line is found too)."""
        if self._buffer:
            self._content.feed(self._buffer.take_all())
        content = self._content.data
        end = content.find(_END, max(0, self._scan - 4))
        if end < 0:
            if self._eof:
                self.state = _S.CLOSED
                return Close("the client closed in the middle of a message")
            self._scan = len(content)
            if len(content) - 2 > self.settings.max_message:  # read on, keep nothing
                self._dropped += len(content) - 4
                del content[:-4]
                self._scan = 4
            return NEED_DATA
        message, rest = bytes(content[2:end + 2]), bytes(content[end + 5:])
        self._content.take_all()
        self._buffer.feed(rest)  # pipelined commands behind the content
        mail, recipients = self.mail, tuple(self.recipients)
        self._reset()
        self.state = _S.READY
        if self._dropped or len(message) > self.settings.max_message:
            self._reply(552, "5.3.4", f"Message too big (more than "
                                      f"{self.settings.max_message} octets)")
            return None
        problem = content_problem(message, self.settings.max_line)
        if problem is not None:
            self._reply(554, "5.6.0", problem)
            return self._error()
        return self._decide(Content(unstuff(message), mail, recipients))

    # -- helpers ----------------------------------------------------------------------------
    def _decide(self, event: _D) -> _D:
        self._pending = event
        return event

    def _decided(self) -> Decision:
        event = self._pending
        if event is None:
            raise LocalProtocolError("no event is waiting for an answer")
        self._pending = None
        return event

    def _reset(self) -> None:
        """Abandon the mail transaction (RSET, EHLO, the end of content)."""
        self.mail, self.recipients = None, []

    def _reply(self, code: int, enhanced: str | None, text: str | list[str]) -> None:
        self._out.append(format_reply(code, text, enhanced))

    def _error(self) -> Close | None:
        self.errors += 1
        if self.errors >= self.settings.max_errors:
            return self._end(421, "4.7.0", "Too many errors, closing the connection")
        return None

    def _end(self, code: int, enhanced: str, text: str) -> Close:
        self._reply(code, enhanced, text)
        self.state = _S.CLOSED
        self._pending = None
        return Close(text)
