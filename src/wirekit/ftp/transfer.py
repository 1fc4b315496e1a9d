"""``Transfer``: one RETR, STOR, LIST or MLSD in progress, between its 150 and its 226.

A transfer owns its data connection and, until it ends, the control connection (FTP runs one
command at a time). It ends one of two ways:

* :meth:`Transfer.close` closes the data connection (ending TLS cleanly after an upload) and
  reads the server's verdict: a 2yz is success, anything else :class:`FTPRefused`. A download
  whose size was announced (SIZE) and that delivered fewer bytes is :class:`TransferIncomplete`
  even after a 226, since a plain data connection cut by someone else looks like a finished
  one.
* :meth:`Transfer.abort` closes the data connection and sends ABOR (RFC 959 §4.1.3), reading
  the replies to both so that the control connection can go on; when that fails too, the
  control connection is closed.

Used as a context manager it closes on success and aborts on an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from wirekit.ftp.datalink import BLOCK, DataConnection
from wirekit.ftp.errors import TransferIncomplete
from wirekit.proto.replies import Reply

if TYPE_CHECKING:
    from wirekit.ftp.client import Client

__all__ = ["Transfer"]


class Transfer:
    """A running transfer of ``command`` (``"RETR notes.txt"``). ``size`` is the whole file's
    size when known and ``offset`` where this transfer started in it (REST)."""

    __slots__ = ("_client", "command", "count", "data", "offset", "reply", "size", "upload")

    def __init__(self, client: Client, data: DataConnection, command: str, *,
                 upload: bool = False, size: int | None = None, offset: int = 0) -> None:
        self._client = client
        self.data = data
        self.command = command
        self.upload = upload
        self.size = size
        self.offset = offset
        #: Bytes moved on this data connection so far.
        self.count = 0
        #: The server's final reply, once the transfer is closed.
        self.reply: Reply | None = None

    # -- downloading ------------------------------------------------------------------------
    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Receive into ``buffer``; 0 at the end of the data."""
        n = self.data.readinto(buffer)
        self.count += n
        return n

    def read(self, size: int = BLOCK) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        buffer = bytearray(size)
        n = self.readinto(buffer)
        del buffer[n:]
        return bytes(buffer)

    # -- uploading --------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data.sendall(data)
        self.count += len(data)

    def sendfile(self, file: BinaryIO, offset: int, count: int) -> int:
        """Send up to ``count`` bytes of ``file`` from ``offset`` by ``sendfile(2)``."""
        sent = self.data.sendfile(file, offset, count)
        self.count += sent
        return sent

    # -- ending -----------------------------------------------------------------------------
    def close(self) -> Reply:
        """End the transfer and return the server's final reply (see the module docs)."""
        if self.reply is not None:
            return self.reply
        try:
            self.data.close(graceful=self.upload)
        except BaseException:
            self._client._abort_transfer()
            raise
        self.reply = self._client._transfer_reply(self.command)
        if not self.upload and self.size is not None and self.offset + self.count < self.size:
            raise TransferIncomplete(self.offset + self.count, self.size, self.command)
        return self.reply

    def abort(self) -> None:
        """Stop now: close the data connection and ABOR (best effort)."""
        if self.reply is not None:
            return
        self.data.close()
        self.reply = Reply(426, ("aborted by the client",))
        self._client._abort_transfer()

    def __enter__(self) -> Transfer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return f"<Transfer {self.command!r} {self.count} bytes>"
