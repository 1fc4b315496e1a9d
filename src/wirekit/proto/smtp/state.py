"""The SMTP session as tables: which command each side may send or accept in which state.

RFC 5321 §4.1.4 fixes the order of a session; these tables write it out so that a reader
can check it against the RFC without running anything (the shape of
``proto/http/state.py``). What may live here: states, and transitions keyed by a command
verb or event type and a reply class. What may not: bytes, limits, or anything that depends on
an earlier connection.

The server, as it accepts commands::

    START -EHLO/HELO-> READY -MAIL-> MAIL -RCPT-> RCPT -DATA-> DATA -(content)-> READY
    READY -STARTTLS-> TLS -(handshake)-> START          (RFC 3207 §4.2: start over)
    READY -AUTH-> AUTH -(SASL done)-> READY             (RFC 4954: not inside a transaction)
    any -QUIT-> CLOSED;  any -RSET-> READY (START before a hello);  any -EHLO-> READY

A command the server knows but that is not in its state's row gets ``503 bad sequence``.

The client, as it sends (with PIPELINING, ahead of the replies, RFC 2920)::

    GREETING -(220)-> HELLO -EHLO-> READY -MAIL-> MAIL -RCPT...-> MAIL -DATA-> (354) CONTENT
    CONTENT -Content-> READY;  READY -STARTTLS-> (220) TLS -(handshake)-> HELLO

Replies move the client where the send did not decide it (``CLIENT_REPLIES``): a refused
EHLO leaves it in HELLO, a 354 lets it send the content, a refused STARTTLS keeps it in the
clear (where the caller that required TLS must stop: SECURITY.md M01).
"""

from __future__ import annotations

import enum
from typing import Final

from wirekit.proto.smtp.events import (
    Auth,
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
)

__all__ = [
    "BARRIERS",
    "CLIENT_REPLIES",
    "CLIENT_SENDS",
    "SERVER_COMMANDS",
    "ClientState",
    "ServerState",
]


class ServerState(enum.Enum):
    """Where a server's session is."""

    START = "START"  # greeted the client (or finished TLS): a hello is needed
    READY = "READY"  # no transaction
    MAIL = "MAIL"  # the sender is accepted
    RCPT = "RCPT"  # at least one recipient is accepted
    DATA = "DATA"  # reading content up to CRLF.CRLF
    AUTH = "AUTH"  # in a SASL exchange
    TLS = "TLS"  # 220 to STARTTLS sent; waiting for the handshake
    CLOSED = "CLOSED"


class ClientState(enum.Enum):
    """Where a client's session is, as far as what it sent decides."""

    GREETING = "GREETING"  # waiting for the 220
    HELLO = "HELLO"  # may send EHLO/HELO
    READY = "READY"
    MAIL = "MAIL"  # MAIL sent: RCPT, DATA may follow
    DATA = "DATA"  # DATA sent: waiting for 354
    CONTENT = "CONTENT"  # 354 received: the content must follow
    TLS = "TLS"  # 220 to STARTTLS received: the handshake must follow
    CLOSED = "CLOSED"


_S = ServerState
_SAME = None  # a row's marker: the command does not change the state

# Commands accepted in every state that reads commands, and where they lead.
_ANYWHERE: Final[dict[str, ServerState | None]] = {
    "EHLO": _S.READY, "HELO": _S.READY, "NOOP": _SAME, "QUIT": _S.CLOSED,
    "VRFY": _SAME, "EXPN": _SAME, "HELP": _SAME,
}

#: state -> verb -> the state once the command is accepted (None: unchanged).
SERVER_COMMANDS: Final[dict[ServerState, dict[str, ServerState | None]]] = {
    _S.START: {**_ANYWHERE, "RSET": _S.START},
    _S.READY: {**_ANYWHERE, "RSET": _S.READY, "MAIL": _S.MAIL, "STARTTLS": _S.TLS,
               "AUTH": _S.AUTH},
    _S.MAIL: {**_ANYWHERE, "RSET": _S.READY, "RCPT": _S.RCPT},
    _S.RCPT: {**_ANYWHERE, "RSET": _S.READY, "RCPT": _S.RCPT, "DATA": _S.DATA},
}
#: Every verb a server knows (the rest get 500, not 503).
KNOWN_VERBS: Final = frozenset(verb for row in SERVER_COMMANDS.values() for verb in row)

_C = ClientState
_CLIENT_ANYWHERE: Final[dict[type, ClientState | None]] = {
    Noop: _SAME, Quit: _C.CLOSED,
}

#: state -> command type -> the state once it is sent (None: unchanged).
CLIENT_SENDS: Final[dict[ClientState, dict[type, ClientState | None]]] = {
    _C.GREETING: {Quit: _C.CLOSED},
    _C.HELLO: {**_CLIENT_ANYWHERE, Hello: _C.READY, Reset: _SAME},
    _C.READY: {**_CLIENT_ANYWHERE, Hello: _C.READY, Reset: _SAME, MailFrom: _C.MAIL,
               StartTLS: _SAME, Auth: _SAME, Verify: _SAME},
    _C.MAIL: {**_CLIENT_ANYWHERE, RcptTo: _SAME, Data: _C.DATA, Reset: _C.READY},
    _C.DATA: {},  # the 354 decides
    _C.CONTENT: {Content: _C.READY},
    _C.TLS: {},  # only the handshake
    _C.CLOSED: {},
}

#: (command type, first digit of the reply) -> the client's next state. The greeting is
#: keyed by ``None``. Pairs not listed leave the state as the send left it.
CLIENT_REPLIES: Final[dict[tuple[type | None, int], ClientState]] = {
    (None, 2): _C.HELLO, (None, 4): _C.CLOSED, (None, 5): _C.CLOSED,
    (Hello, 4): _C.HELLO, (Hello, 5): _C.HELLO,
    (StartTLS, 2): _C.TLS,
    (Data, 3): _C.CONTENT, (Data, 2): _C.READY, (Data, 4): _C.READY, (Data, 5): _C.READY,
    (Quit, 2): _C.CLOSED, (Quit, 4): _C.CLOSED, (Quit, 5): _C.CLOSED,
}

#: Commands after which the client waits for the reply before sending anything else: their
#: outcome changes the state (RFC 2920 §3.1, plus STARTTLS and AUTH which start exchanges).
#: The content is not one: RFC 2920 §3.1 lets it open a group, and §4 pipelines QUIT
#: right behind the final dot (a refused message leaves the session READY either way).
BARRIERS: Final = frozenset({Hello, Data, Verify, Noop, Quit, StartTLS, Auth})
