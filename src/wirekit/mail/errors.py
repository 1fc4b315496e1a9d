"""The mail client's errors, as branches of wirekit's one tree (``wirekit.errors``).

Connection, timeout and TLS failures are the tree's own ``ConnectError``, ``Timeout`` and
``TLSError`` (a server that does not offer or refuses STARTTLS when TLS was asked for is a
``TLSError``: the client never continues in the clear, SECURITY.md M01); a refused password
is ``AuthenticationError``. What is specific to SMTP hangs below ``ProtocolError``, as the
HTTP client's ``HTTPError`` does::

    ConfigError (ValueError)
    └── InvalidMessage              refused before any byte is sent (CR/LF in an address...)
    ProtocolError
    └── MailRefused                 the server answered 4yz/5yz: ``reply``, ``temporary``
        └── RecipientsRefused       ... every recipient: ``refused`` maps each to its reply
"""

from __future__ import annotations

from wirekit.errors import ConfigError, ProtocolError
from wirekit.proto.replies import Reply

__all__ = ["InvalidMessage", "MailRefused", "RecipientsRefused"]


class InvalidMessage(ConfigError):
    """A message, address or header that cannot be sent safely; nothing reached the server."""


class MailRefused(ProtocolError):
    """The server refused the mail with ``reply`` (to ``command``, e.g. ``"MAIL"``)."""

    def __init__(self, reply: Reply, command: str) -> None:
        super().__init__(f"the server refused {command}: {reply}", status=reply.code)
        self.reply, self.command = reply, command

    @property
    def temporary(self) -> bool:
        """A 4yz reply: the same mail may be accepted later (RFC 5321 §4.2.1)."""
        return self.reply.kind == 4


class RecipientsRefused(MailRefused):
    """Every recipient was refused; ``refused`` maps each address to its reply."""

    def __init__(self, refused: dict[str, Reply]) -> None:
        first = next(iter(refused.values()))
        super().__init__(first, "every recipient")
        self.refused = refused
