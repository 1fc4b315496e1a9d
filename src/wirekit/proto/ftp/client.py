"""``ClientConnection``: the client side of an FTP control connection (RFC 959), without I/O.

Commands go in (``send``), their bytes come out of ``data_to_send``; what the server answers
comes back as :class:`Answer` events pairing each reply with its command::

    conn = ClientConnection()
    conn.receive_data(sock.recv(65536))
    conn.next_event()                               # Answer(None, Reply(220, ...))
    conn.send(Command("USER", "anonymous"))
    sock.sendall(conn.data_to_send())
    ...                                             # Answer(Command('USER', ...), Reply(331))

The data connection is not the core's to open (that is I/O), but the core knows what it needs:
a transfer command (RETR, STOR, LIST, MLSD...) is refused unless PASV/EPSV/PORT/EPRT was
accepted just before it, and its preliminary ``150`` comes out as an :class:`Answer` whose
``final`` is false, so the shell opens (or accepts) the data connection then.

What it refuses to send raises before any byte is queued: an argument holding CR, LF or NUL
(a second command smuggled into a file name, SECURITY.md F02: :class:`ConfigError`, a
``ValueError``), and, as :class:`LocalProtocolError`, a verb its state does not allow
(``state.CLIENT_SENDS``), a second command before the final reply to the first (FTP is not
pipelined; only ABOR may interrupt a transfer), PBSZ/PROT outside TLS, and PROT before PBSZ
(RFC 2228 §3).

Its checks on the server: every reply line and every reply is bounded (``ReplyParser``: an
endless ``150-`` or a 10 MB line is :class:`MessageTooLarge`); a reply nobody asked for is a
protocol error except 421 (closing, RFC 959 §4.2); a 1yz reply to a command that has none
(RFC 959 §5.4) is one too; and bytes behind the ``234`` to AUTH TLS arrived in the clear and
would be read as if protected: :class:`RemoteProtocolError` (the STARTTLS injection class,
SECURITY.md M02).
"""

from __future__ import annotations

import re
from collections import deque
from typing import Final

from wirekit.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from wirekit.proto.ftp.events import NEED_DATA, Answer, Close, Command, Wait
from wirekit.proto.ftp.state import (
    CLIENT_REPLIES,
    CLIENT_SENDS,
    DATA_SETUP,
    TRANSFERS,
    ClientState,
)
from wirekit.proto.ftp.values import parse_features
from wirekit.proto.replies import MAX_REPLY_LINE, MAX_REPLY_LINES, Reply, ReplyParser

__all__ = ["ClientConnection", "check_argument"]

_C = ClientState
_VERB: Final = re.compile(r"[A-Z]{3,4}")
_FORBIDDEN: Final = re.compile(r"[\r\n\x00]")


def check_argument(argument: str) -> str:
    """``argument`` if it can go on a command line; :class:`ConfigError` if it holds CR, LF
    or NUL, any of which would end the line and start another command (bpo-30119)."""
    if _FORBIDDEN.search(argument):
        raise ConfigError(f"refusing to send an FTP argument holding CR, LF or NUL: "
                          f"{argument[:80]!r} (command injection, SECURITY.md F02)")
    return argument


class ClientConnection:
    """One FTP control connection seen from the client; ``tls=True`` when it began under TLS
    (implicit FTPS). ``encoding`` is for paths (UTF-8, RFC 2640; names that are not UTF-8
    round-trip through ``surrogateescape``)."""

    def __init__(self, *, tls: bool = False, encoding: str = "utf-8",
                 max_line: int = MAX_REPLY_LINE, max_lines: int = MAX_REPLY_LINES) -> None:
        self.state = _C.GREETING
        self.tls = tls
        #: PROT P was accepted: every data connection must be TLS too (RFC 4217 §9).
        self.protected = False
        #: FEAT's answer: upper-case feature -> parameters ("REST" -> "STREAM").
        self.features: dict[str, str] = {}
        self.encoding = encoding
        self._parser = ReplyParser(ftp=True, enhanced=False, max_line=max_line,
                                   max_lines=max_lines)
        self._out: list[bytes] = []
        self._waiting: deque[Command | None] = deque([None])  # the greeting comes first
        self._data_ready = False  # PASV/EPSV/PORT/EPRT accepted, not yet used
        self._buffer_size_set = False  # PBSZ accepted (RFC 2228: before PROT)

    # -- bytes ------------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; ``b""`` when it closed the connection."""
        self._parser.receive_data(data)

    def data_to_send(self) -> bytes:
        out, self._out = self._out, []
        return b"".join(out)

    @property
    def waiting(self) -> int:
        """Commands (the greeting included) whose final reply has not come yet."""
        return len(self._waiting)

    def supports(self, feature: str) -> bool:
        """The server listed ``feature`` in FEAT (``"MLST"``, ``"EPSV"``, ``"REST"``...)."""
        return feature.upper() in self.features

    # -- sending ----------------------------------------------------------------------------
    def send(self, command: Command) -> None:
        """Queue ``command``'s line, or raise (see the module docs) sending nothing."""
        verb, argument = command.verb, command.argument
        if not _VERB.fullmatch(verb):
            raise LocalProtocolError(f"not an FTP verb: {verb!r}")
        if argument is not None:
            check_argument(argument)
        if self._waiting and not self._may_interrupt(verb):
            pending = self._waiting[-1]
            raise LocalProtocolError(f"can't send {verb} before the final reply to "
                                     f"{pending.verb if pending else 'the greeting'}")
        row = CLIENT_SENDS[self.state]
        if verb not in row:
            raise LocalProtocolError(f"can't send {verb} in state {self.state.value}")
        self._check(verb, argument)
        line = verb if argument is None else f"{verb} {argument}"
        self._out.append(line.encode(self.encoding, "surrogateescape") + b"\r\n")
        self._waiting.append(command)
        if (new := row[verb]) is not None:
            self.state = new
        if verb in TRANSFERS or verb in DATA_SETUP:
            self._data_ready = False

    def _may_interrupt(self, verb: str) -> bool:
        """ABOR may follow a transfer command still in progress (RFC 959 §4.1.3)."""
        return (verb == "ABOR" and len(self._waiting) == 1 and self._waiting[0] is not None
                and self._waiting[0].verb in TRANSFERS)

    def _check(self, verb: str, argument: str | None) -> None:
        if verb in TRANSFERS and not self._data_ready:
            raise LocalProtocolError(f"{verb} needs PASV, EPSV, PORT or EPRT accepted first")
        if verb == "AUTH" and self.tls:
            raise LocalProtocolError("TLS is already active")
        if verb in ("PBSZ", "PROT") and not self.tls:
            raise LocalProtocolError(f"{verb} only means something under TLS (RFC 4217 §8)")
        if verb == "PROT" and not self._buffer_size_set:
            raise LocalProtocolError("PROT must follow an accepted PBSZ (RFC 2228 §3)")

    def tls_started(self) -> None:
        """The TLS handshake after the 234 to AUTH TLS is done: log in (again) under TLS."""
        if self.state is not _C.TLS:
            raise LocalProtocolError("tls_started() without an accepted AUTH TLS")
        self.tls, self.state = True, _C.LOGIN

    # -- receiving --------------------------------------------------------------------------
    def next_event(self) -> Answer | Close | Wait:
        """The next :class:`Answer`; ``NEED_DATA`` until one is complete; :class:`Close` once
        the server closed (cleanly between replies)."""
        reply = self._parser.next_reply()
        if reply is None:
            if not self._parser.closed:
                return NEED_DATA
            self.state = _C.CLOSED
            return Close("the server closed the control connection")
        return self._answer(reply)

    def _answer(self, reply: Reply) -> Answer:
        if not self._waiting:
            if reply.code == 421:  # the server is going away (RFC 959 §4.2)
                self.state = _C.CLOSED
                return Answer(None, reply)
            raise RemoteProtocolError(f"the server sent a reply nobody asked for: {reply}")
        command = self._waiting[0]
        verb = None if command is None else command.verb
        if reply.kind == 1:
            if verb is not None and verb not in TRANSFERS:
                raise RemoteProtocolError(f"a preliminary reply to {verb}: {reply} "
                                          "(RFC 959 §5.4 allows none)")
            return Answer(command, reply)  # the final reply is still to come
        self._waiting.popleft()
        if verb == "AUTH" and reply.code == 234 and self._parser.buffered:
            raise RemoteProtocolError(
                f"{self._parser.buffered} bytes arrived behind the 234 to AUTH TLS, in the "
                "clear: an injection into the TLS session (SECURITY.md M02)")
        self._note(verb, command, reply)
        new = CLIENT_REPLIES.get((verb, reply.code)) or CLIENT_REPLIES.get((verb, reply.kind))
        if new is not None:
            self.state = new
        if reply.code == 421:
            self.state = _C.CLOSED
        return Answer(command, reply)

    def _note(self, verb: str | None, command: Command | None, reply: Reply) -> None:
        """Remember what a successful reply establishes for later commands."""
        if not reply.ok or command is None:
            return
        if verb == "FEAT":
            self.features = parse_features(reply)
        elif verb in DATA_SETUP:
            self._data_ready = True
        elif verb == "PBSZ":
            self._buffer_size_set = True
        elif verb == "PROT":
            self.protected = (command.argument or "").upper() == "P"
