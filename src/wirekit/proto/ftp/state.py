"""The FTP client session as tables: which verb the client may send in which state, and where
each reply leads.

RFC 959 §5.4 ("Sequencing of commands and replies") fixes the order; these tables write it
out so that a reader can check it against the RFC without running anything (the shape of
``proto/http/state.py`` and ``proto/smtp/state.py``). What may live here: states, verbs and
transitions keyed by a verb and a reply. What may not: bytes, limits, or anything that depends
on an earlier connection.

::

    GREETING -(220)-> LOGIN -USER-> (331) PASSWORD -PASS-> (230) READY
                                                      \\-(332)-> ACCOUNT -ACCT-> (230) READY
    LOGIN -AUTH TLS-> (234) TLS -(handshake)-> LOGIN               (RFC 2228 §3, RFC 4217 §4)
    READY -RNFR-> (350) RENAME -RNTO-> READY                       (RFC 959 §4.1.3)
    READY -REST-> (350) RESTART -RETR/STOR/APPE-> READY            (RFC 3659 §5.3)
    any -QUIT-> CLOSED;  a 421 from the server -> CLOSED           (RFC 959 §4.2)

A refused USER, PASS or ACCT goes back to LOGIN. FTP is not pipelined: one command at a time,
and the next only after the final reply to the last (a preliminary 1yz reply is not final),
except ABOR, which may interrupt a transfer (RFC 959 §4.1.3).
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "ANYWHERE",
    "CLIENT_REPLIES",
    "CLIENT_SENDS",
    "DATA_SETUP",
    "TRANSFERS",
    "ClientState",
]


class ClientState(enum.Enum):
    """Where a client's session is, as far as what it sent and what came back decide."""

    GREETING = "GREETING"  # waiting for the 220
    LOGIN = "LOGIN"  # may send USER (or AUTH TLS first)
    PASSWORD = "PASSWORD"  # noqa: S105 - a state: 331 to USER, PASS must follow
    ACCOUNT = "ACCOUNT"  # 332: ACCT must follow
    READY = "READY"  # logged in
    RENAME = "RENAME"  # 350 to RNFR: RNTO must follow
    RESTART = "RESTART"  # 350 to REST: the transfer command must follow
    TLS = "TLS"  # 234 to AUTH TLS: the handshake must follow
    CLOSED = "CLOSED"


_C = ClientState
_SAME = None  # a row's marker: sending the verb leaves the state as it is

#: The transfer commands: each needs a data connection set up just before (DATA_SETUP) and
#: is answered 1yz (opening), then 2yz (done) or 4yz/5yz.
TRANSFERS: Final = frozenset({"RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"})
#: The commands that set up the data connection for the next transfer (RFC 959, RFC 2428).
DATA_SETUP: Final = frozenset({"PASV", "EPSV", "PORT", "EPRT"})

#: Allowed wherever commands are: harmless queries and the way out (RFC 2389 §3: FEAT may
#: come before login).
ANYWHERE: Final[dict[str, ClientState | None]] = {
    "NOOP": _SAME, "QUIT": _C.CLOSED, "FEAT": _SAME, "SYST": _SAME, "HELP": _SAME,
    "STAT": _SAME, "OPTS": _SAME,
}

_SESSION: Final[dict[str, ClientState | None]] = {
    verb: _SAME for verb in (
        "CWD", "CDUP", "PWD", "MKD", "RMD", "DELE", "RNFR", "SIZE", "MDTM", "MLST", "TYPE",
        "MODE", "STRU", "REST", "ALLO", "SITE", "PBSZ", "PROT", "ABOR", *DATA_SETUP,
        *TRANSFERS)
}

#: state -> verb -> the state once the command is sent (None: unchanged).
CLIENT_SENDS: Final[dict[ClientState, dict[str, ClientState | None]]] = {
    _C.GREETING: {"QUIT": _C.CLOSED},
    _C.LOGIN: {**ANYWHERE, "USER": _SAME, "AUTH": _SAME, "PBSZ": _SAME, "PROT": _SAME},
    _C.PASSWORD: {"PASS": _SAME, "QUIT": _C.CLOSED},
    _C.ACCOUNT: {"ACCT": _SAME, "QUIT": _C.CLOSED},
    _C.READY: {**ANYWHERE, **_SESSION},
    _C.RENAME: {"RNTO": _C.READY, "QUIT": _C.CLOSED},
    # RFC 3659 §5.3: REST is followed at once by the transfer it positions (and the data
    # connection for it may be set up in between, as ftplib and curl do).
    _C.RESTART: {"RETR": _C.READY, "STOR": _C.READY, "APPE": _C.READY, "QUIT": _C.CLOSED,
                 **dict.fromkeys(DATA_SETUP, _SAME)},
    _C.TLS: {},  # only the handshake
    _C.CLOSED: {},
}

#: (verb, reply code) or (verb, first digit) -> the client's next state; the code is looked
#: up first. The greeting is keyed by ``None``. Pairs not listed leave the state as it is.
CLIENT_REPLIES: Final[dict[tuple[str | None, int], ClientState]] = {
    (None, 2): _C.LOGIN, (None, 4): _C.CLOSED, (None, 5): _C.CLOSED,
    ("USER", 2): _C.READY, ("USER", 331): _C.PASSWORD, ("USER", 332): _C.ACCOUNT,
    ("USER", 4): _C.LOGIN, ("USER", 5): _C.LOGIN,
    ("PASS", 2): _C.READY, ("PASS", 332): _C.ACCOUNT, ("PASS", 4): _C.LOGIN,
    ("PASS", 5): _C.LOGIN,
    ("ACCT", 2): _C.READY, ("ACCT", 4): _C.LOGIN, ("ACCT", 5): _C.LOGIN,
    ("AUTH", 234): _C.TLS,
    ("RNFR", 3): _C.RENAME,
    ("REST", 3): _C.RESTART,
    ("QUIT", 2): _C.CLOSED, ("QUIT", 4): _C.CLOSED, ("QUIT", 5): _C.CLOSED,
}
