"""The FTP client's errors, as branches of wirekit's one tree (``wirekit.errors``).

Connection, timeout and TLS failures are the tree's own ``ConnectError``, ``Timeout`` (its
``phase`` says which wait: ``"FTP reply"``, ``"FTP data connection"``, ``"FTP data
transfer"``) and ``TLSError`` (a server that refuses AUTH TLS or PROT P when TLS was asked
for: the client never continues in the clear). A refused login is ``AuthenticationError``;
a transfer cut short is :class:`TransferIncomplete` (an ``IncompleteRead``); a file name
holding CR, LF or NUL is ``ConfigError`` (a ``ValueError``) with nothing sent. What is
specific to FTP hangs below ``ProtocolError``, as the mail client's ``MailRefused`` does::

    ProtocolError
    └── FTPRefused          the server answered 4yz/5yz: ``reply``, ``command``, ``temporary``,
                            ``not_found`` (550: no such file, or no access)
"""

from __future__ import annotations

from wirekit.errors import ConnectionClosed, IncompleteRead, ProtocolError
from wirekit.proto.replies import Reply

__all__ = ["FTPRefused", "TransferIncomplete"]


class FTPRefused(ProtocolError):
    """The server refused ``command`` (``"RETR notes.txt"``) with ``reply``."""

    def __init__(self, reply: Reply, command: str) -> None:
        super().__init__(f"the FTP server refused {command}: {reply}", status=reply.code)
        self.reply, self.command = reply, command

    @property
    def temporary(self) -> bool:
        """A 4yz reply: the same command may succeed later (RFC 959 §4.2.1)."""
        return self.reply.kind == 4

    @property
    def not_found(self) -> bool:
        """550/450: the file is not there or not accessible (RFC 959 §4.2.2)."""
        return self.reply.code in (450, 550)


class TransferIncomplete(IncompleteRead):
    """A download ended (even with a 226) before the size SIZE announced: ``received`` of
    ``expected`` bytes of the file are there. Resume it with ``download(..., resume=True)``."""

    def __init__(self, received: int, expected: int, command: str) -> None:
        ConnectionClosed.__init__(self, f"the data connection of {command} ended after "
                                        f"{received} of {expected} bytes")
        self.partial, self.expected, self.what = b"", expected, command
        self.received = received

    def __reduce__(self):  # keep the exception picklable across processes
        return (type(self), (self.received, self.expected, self.what))
