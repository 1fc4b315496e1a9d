"""The events of an FTP control connection (RFC 959), client side.

FTP has some forty commands and every one is a verb and at most one argument (RFC 959 §5.3.1),
so one :class:`Command` type carries them all and the state table is keyed by verb: a class
per command would only repeat the verb. The client *sends* commands and *receives*
:class:`Answer` events, each reply paired with the command it answers (``None`` for the
greeting). A transfer command is answered twice: a preliminary ``150`` (the data connection is
opening) and the final ``226``; :attr:`Answer.final` tells them apart.

``NEED_DATA`` is what ``next_event()`` returns while a reply is still incomplete;
:class:`Close` once the server closed the connection between replies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wirekit.proto.replies import Reply

__all__ = ["NEED_DATA", "Answer", "Close", "Command", "Wait"]


class Wait(enum.Enum):
    """Why ``next_event()`` has no event to give."""

    #: More bytes from the server are needed: call ``receive_data()``.
    NEED_DATA = "NEED_DATA"


NEED_DATA = Wait.NEED_DATA


@dataclass(frozen=True, slots=True)
class Command:
    """``VERB argument`` (RFC 959 §5.3.1): the verb in upper case, the argument as the user
    gave it (a path, ``"TLS"``, ``"|1|127.0.0.1|4021|"``) or ``None``. ``PASS``'s argument is
    kept out of ``repr`` so that logs and tracebacks do not show passwords."""

    verb: str
    argument: str | None = None

    def __repr__(self) -> str:
        if self.argument is None:
            return f"Command({self.verb!r})"
        shown = "'***'" if self.verb in ("PASS", "ACCT") else repr(self.argument)
        return f"Command({self.verb!r}, {shown})"

    def __str__(self) -> str:
        if self.argument is None:
            return self.verb
        return f"{self.verb} ***" if self.verb in ("PASS", "ACCT") else \
            f"{self.verb} {self.argument}"


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's ``reply`` to ``command`` (``None``: the greeting)."""

    command: Command | None
    reply: Reply

    @property
    def final(self) -> bool:
        """Not a preliminary (1yz) reply: the command is done, one way or the other."""
        return self.reply.kind != 1


@dataclass(frozen=True, slots=True)
class Close:
    """The server closed the control connection (cleanly, between replies)."""

    reason: str
