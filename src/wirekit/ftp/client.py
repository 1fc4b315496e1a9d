"""``Client``: an FTP session (RFC 959) on the ``wirekit.proto.ftp`` core, safe by default.

    from wirekit.ftp import Client

    with Client("ftp.example.org") as ftp:             # anonymous, passive, binary
        for entry in ftp.list("pub"):
            print(entry.name, entry.size, entry.modified)
        ftp.download("pub/notes.txt", "notes.txt", resume=True)

The blocking shell of :class:`~wirekit.proto.ftp.ClientConnection` on ``wirekit.net.connect``
and a ``Stream``; each reply is awaited under one deadline (``timeouts.read``), each data
connection opens within ``timeouts.connect`` and each wait for its bytes is bounded by
``timeouts.read``, so a server that stops answering is a :class:`Timeout` naming what was
awaited, never a hang. The decisions ftplib leaves to its caller are made here:

* passive mode, EPSV first (RFC 2428; PASV when the server refuses it), and the data
  connection always goes to the control connection's peer, whatever a 227 names
  (CVE-2021-4189, SECURITY.md F01). ``passive=False`` is active mode (EPRT, else PORT), which
  accepts the data connection from the server's address only.
* ``tls=True`` is explicit FTPS (RFC 4217): AUTH TLS before the password, the certificate
  verified (ftplib's ``FTP_TLS`` does not verify unless given a context), then PBSZ 0 and
  PROT P so that the files travel encrypted too; a server that refuses any step is a
  ``TLSError``, never a silent fallback to the clear. Data connections resume the control
  connection's TLS session. ``tls="implicit"`` is the older FTPS that port 990 speaks (no
  RFC; what curl means by ``ftps://``): TLS from the first byte, the greeting included, then
  the same PBSZ 0 and PROT P; ``port`` then defaults to 990.
* binary mode (TYPE I) always, so sizes, REST offsets and bytes agree.
* file names holding CR, LF or NUL are refused before anything is sent (SECURITY.md F02), and
  every reply is bounded in line length and line count.
"""

from __future__ import annotations

import builtins
import socket
import ssl
from collections.abc import Callable
from datetime import datetime
from os import PathLike
from typing import BinaryIO, Literal

from wirekit.config import DEFAULT_TIMEOUTS, Timeouts, TLSConfig
from wirekit.errors import (
    AuthenticationError,
    ConfigError,
    ConnectionClosed,
    RemoteProtocolError,
    Timeout,
    TLSError,
    WirekitError,
)
from wirekit.ftp import files
from wirekit.ftp.datalink import (
    BLOCK,
    DataConnection,
    accept_data,
    connect_data,
    listen_data,
    secure,
)
from wirekit.ftp.errors import FTPRefused
from wirekit.ftp.transfer import Transfer
from wirekit.net.connect import connect
from wirekit.net.deadline import Deadline
from wirekit.net.stream import Stream
from wirekit.net.tls import client_context
from wirekit.proto.ftp import (
    Answer,
    ClientConnection,
    ClientState,
    Close,
    Command,
    Entry,
    ListingParser,
    check_argument,
    format_eprt,
    format_port,
    parse_epsv,
    parse_pasv,
    parse_pwd,
    parse_size,
    parse_time,
)
from wirekit.proto.replies import MAX_REPLY_LINES, Reply

__all__ = ["Client", "Progress"]

#: ``progress(done, total)``: bytes of the file now at the destination (a resumed transfer
#: starts at what was already there) and the file's whole size, ``None`` when unknown.
Progress = Callable[[int, int | None], object]
_QUIT_TIMEOUT = 5.0
_ANONYMOUS = ("anonymous", "ftp")
#: ``tls=`` values: explicit FTPS (AUTH TLS on port 21) or implicit (TLS at once, port 990).
TLSMode = bool | Literal["explicit", "implicit"]
_TLS_MODES = {False: None, True: "explicit", "explicit": "explicit", "implicit": "implicit"}


class Client:
    """An FTP session: ``with Client(host, port) as ftp: ...``. See the module docstring for
    the defaults; ``user=None`` logs in as ``anonymous``."""

    def __init__(self, host: str = "localhost", port: int | None = None, *,
                 user: str | None = None, password: str | None = None,
                 account: str | None = None, tls: TLSMode = False,
                 context: ssl.SSLContext | TLSConfig | None = None, passive: bool = True,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, encoding: str = "utf-8",
                 max_reply_lines: int = MAX_REPLY_LINES) -> None:
        mode = _TLS_MODES.get(tls) if isinstance(tls, (bool, str)) else None
        if mode is None and tls is not False:
            raise ConfigError(f"tls must be True or 'explicit' (AUTH TLS), 'implicit' (TLS "
                              f"from the first byte, port 990) or False, not {tls!r}")
        #: TLS from the first byte (``tls="implicit"``) rather than after AUTH TLS.
        self.implicit = mode == "implicit"
        self.host = host
        self.port = port if port is not None else 990 if self.implicit else 21
        self.user = user or "anonymous"
        self.password = password if password is not None else (
            "anonymous@" if self.user in _ANONYMOUS else "")
        self.account = account
        #: Any FTPS, explicit or implicit.
        self.tls = mode is not None
        self.context = client_context(context or True) if self.tls else None
        self.passive = passive
        self.timeouts = timeouts
        self.encoding = encoding
        self.conn = ClientConnection(tls=self.implicit, encoding=encoding,
                                     max_lines=max_reply_lines)
        self.stream: Stream | None = None
        #: The server's greeting and its last reply to a command.
        self.greeting: Reply | None = None
        self.last_reply: Reply | None = None
        self._peer = self._local = ""
        self._epsv = self._eprt = True  # until the server refuses them once

    # -- the session ------------------------------------------------------------------------
    def connect(self) -> Client:
        """Connect (under TLS at once if implicit), read the greeting, AUTH TLS if explicit,
        log in, then PBSZ and PROT under TLS, FEAT and TYPE I."""
        self.stream = connect((self.host, self.port), timeouts=self.timeouts)
        try:
            self._peer, self._local = self.stream.peer.host or "", self.stream.local.host or ""
            if self.implicit:
                assert self.context is not None
                self.stream.start_tls(self.context, server_hostname=self.host,
                                      timeout=self.timeouts.connect)
            greeting = self._answer()
            while not greeting.final:  # 120: ready in a moment (RFC 959 §4.2)
                greeting = self._answer()
            self.greeting = greeting.reply
            if not greeting.reply.ok:
                raise FTPRefused(greeting.reply, "the connection")
            if self.tls and not self.implicit:
                self._start_tls()
            self._login()
            if self.tls:
                self._protect()
            self.command("FEAT")  # an old server refuses it: then it has no extensions
            if "UTF8" in self.conn.features:
                self.command("OPTS", "UTF8 ON")  # RFC 2640 §3.2; some servers want it said
            self._ok("TYPE", "I")
        except BaseException:
            self.stream.close()
            self.stream = None
            raise
        return self

    def _start_tls(self) -> None:
        reply = self.command("AUTH", "TLS")
        if reply.code != 234:
            raise TLSError(f"the FTP server refused AUTH TLS ({reply}); refusing to continue "
                           "in the clear")
        assert self.stream is not None and self.context is not None
        self.stream.start_tls(self.context, server_hostname=self.host,
                              timeout=self.timeouts.connect)
        self.conn.tls_started()

    def _protect(self) -> None:
        """PBSZ 0 and PROT P (RFC 4217 §8-9): the data connections under TLS too."""
        for verb, argument in (("PBSZ", "0"), ("PROT", "P")):
            reply = self.command(verb, argument)
            if not reply.ok:
                raise TLSError(f"the FTP server refused {verb} {argument} ({reply}); refusing "
                               "to move files in the clear")

    def _login(self) -> None:
        reply = self.command("USER", self.user)
        if reply.code == 331:
            reply = self.command("PASS", self.password)
        if reply.code == 332:
            if self.account is None:
                raise AuthenticationError(f"the FTP server wants an account (ACCT) for "
                                          f"{self.user!r}: {reply}")
            reply = self.command("ACCT", self.account)
        if reply.kind == 5:
            raise AuthenticationError(f"FTP login as {self.user!r} refused: {reply}")
        if not reply.ok:
            raise FTPRefused(reply, f"USER {self.user}")

    def close(self) -> None:
        """QUIT (best effort) and close the connection."""
        stream, self.stream = self.stream, None
        if stream is None:
            return
        try:
            if self.conn.state is ClientState.READY and not self.conn.waiting:
                self.conn.send(Command("QUIT"))
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

    @property
    def features(self) -> dict[str, str]:
        """What the server listed in FEAT (RFC 2389): ``{"MLST": "type*;size*;...", ...}``."""
        return self.conn.features

    # -- commands ---------------------------------------------------------------------------
    def command(self, verb: str, argument: str | None = None) -> Reply:
        """Send one command and return its final reply, whatever it says (``SITE CHMOD``...).
        Transfers have their own methods."""
        answer = self._exchange(Command(verb.upper(), argument))
        while not answer.final:
            answer = self._answer()
        return answer.reply

    def _ok(self, verb: str, argument: str | None = None) -> Reply:
        """``command()``, raising :class:`FTPRefused` unless the reply is 2yz."""
        reply = self.command(verb, argument)
        if not reply.ok:
            raise FTPRefused(reply, str(Command(verb, argument)))
        return reply

    def noop(self) -> Reply:
        return self._ok("NOOP")

    def pwd(self) -> str:
        """The current directory (PWD)."""
        return parse_pwd(self._ok("PWD"))

    def cwd(self, path: str) -> None:
        """Change directory (CWD; ``".."`` is CDUP)."""
        if path == "..":
            self._ok("CDUP")
        else:
            self._ok("CWD", path)

    def mkdir(self, path: str) -> str:
        """Create a directory (MKD); returns its path as the server reports it."""
        reply = self._ok("MKD", path)
        try:
            return parse_pwd(reply)
        except RemoteProtocolError:  # RFC 959 wants 257 "path"; some servers say only 250
            return path

    def rmdir(self, path: str) -> None:
        self._ok("RMD", path)

    def delete(self, path: str) -> None:
        self._ok("DELE", path)

    def rename(self, old: str, new: str) -> None:
        """RNFR then RNTO (RFC 959 §4.1.3)."""
        reply = self.command("RNFR", old)
        if reply.code != 350:
            raise FTPRefused(reply, f"RNFR {old}")
        self._ok("RNTO", new)

    def size(self, path: str) -> int:
        """The file's size in octets (SIZE, RFC 3659 §4)."""
        return parse_size(self._ok("SIZE", path))

    def mtime(self, path: str) -> datetime:
        """The file's modification time, in UTC (MDTM, RFC 3659 §3)."""
        reply = self._ok("MDTM", path)
        try:
            return parse_time(reply.lines[0])
        except RemoteProtocolError:
            raise RemoteProtocolError(f"malformed MDTM reply: {reply}") from None

    # -- listings ---------------------------------------------------------------------------
    def list(self, path: str | None = None) -> list[Entry]:
        """The entries of ``path`` (default: the current directory): MLSD when the server
        offers it (RFC 3659 §7, exact and in UTC), else LIST parsed for the Unix and DOS
        formats."""
        mlsd = "MLST" in self.conn.features
        parser = ListingParser(mlsd=mlsd, encoding=self.encoding)
        entries: list[Entry] = []
        buffer = bytearray(BLOCK)
        view = memoryview(buffer)
        with self.open_listing(path, mlsd=mlsd) as transfer:
            while n := transfer.readinto(buffer):
                parser.receive_data(view[:n].tobytes())
                entries.extend(parser.entries())
            parser.receive_data(b"")
            entries.extend(parser.entries())
        return entries

    def names(self, path: str | None = None) -> builtins.list[str]:
        """The names in ``path`` (NLST), one a line, as the server sends them."""
        with self._open_transfer("NLST", path) as transfer:
            data = bytearray()
            buffer = bytearray(BLOCK)
            while n := transfer.readinto(buffer):
                data += buffer[:n]
        return [line.removesuffix(b"\r").decode(self.encoding, "surrogateescape")
                for line in bytes(data).split(b"\n") if line.strip()]

    def open_listing(self, path: str | None = None, *, mlsd: bool = False) -> Transfer:
        """The raw listing of ``path`` as a :class:`Transfer` to read (LIST, or MLSD)."""
        return self._open_transfer("MLSD" if mlsd else "LIST", path)

    # -- files ------------------------------------------------------------------------------
    def open_download(self, path: str, *, offset: int = 0, size: int | None = None
                      ) -> Transfer:
        """RETR ``path`` (from ``offset``, by REST) as a :class:`Transfer` to read; ``size``
        (the whole file's) makes a short transfer an error."""
        return self._open_transfer("RETR", path, offset=offset, size=size)

    def open_upload(self, path: str, *, offset: int = 0, append: bool = False) -> Transfer:
        """STOR ``path`` (from ``offset``, by REST; or APPE) as a :class:`Transfer` to
        write."""
        return self._open_transfer("APPE" if append else "STOR", path, offset=offset,
                                   upload=True)

    def download(self, remote: str, local: str | PathLike[str] | BinaryIO, *,
                 resume: bool = False, progress: Progress | None = None) -> int:
        """Copy ``remote`` into ``local`` (a path or a binary file), streaming. ``resume``
        continues a partial local file (REST; from scratch if the server cannot).
        Returns the bytes received."""
        return files.download(self, remote, local, resume, progress)

    def upload(self, local: str | PathLike[str] | BinaryIO, remote: str, *,
               resume: bool = False, progress: Progress | None = None) -> int:
        """Copy ``local`` (a path or a binary file) to ``remote``, streaming (``sendfile``
        when it can). ``resume`` continues a partial remote file (REST STREAM, else APPE).
        Returns the bytes sent."""
        return files.upload(self, local, remote, resume, progress)

    # -- data connections -------------------------------------------------------------------
    def _open_transfer(self, verb: str, argument: str | None, *, offset: int = 0,
                       upload: bool = False, size: int | None = None) -> Transfer:
        command = Command(verb, argument)
        if argument is not None:
            check_argument(argument)  # before a data connection is opened for it
        listener = None if self.passive else self._active()
        try:
            sock = self._passive() if listener is None else None
            try:
                self._request(command, offset)
            except BaseException:
                if sock is not None:
                    sock.close()
                raise
            try:
                data = self._data_connection(sock, listener)
            except BaseException:
                self._abort_transfer()  # the server is waiting to transfer: stop it
                raise
            return Transfer(self, data, str(command), upload=upload, size=size, offset=offset)
        finally:
            if listener is not None:
                listener.close()

    def _request(self, command: Command, offset: int) -> None:
        """REST (when resuming) and the transfer command, up to its 1yz."""
        if offset:
            reply = self.command("REST", str(offset))
            if reply.code != 350:
                raise FTPRefused(reply, f"REST {offset}")
        answer = self._exchange(command)
        if answer.final:
            if not answer.reply.ok:
                raise FTPRefused(answer.reply, str(command))
            raise RemoteProtocolError(f"{command} answered {answer.reply} before any 1yz")

    def _data_connection(self, sock: socket.socket | None, listener: socket.socket | None
                         ) -> DataConnection:
        """The connected (passive) or accepted (active) data socket, under TLS if PROT P."""
        if listener is not None:
            sock = accept_data(listener, self._peer, self.timeouts.connect)
        assert sock is not None
        if self.conn.protected:
            assert self.context is not None and self.stream is not None
            session = getattr(self.stream.socket, "session", None)
            sock = secure(sock, self.context, self.host, session, self.timeouts.connect)
        return DataConnection(sock, self.timeouts.read)

    def _passive(self) -> socket.socket:
        """The data connection, passive: EPSV, else PASV; always to the control peer."""
        if self._epsv:
            reply = self.command("EPSV")
            if reply.code == 229:
                return connect_data(self._peer, parse_epsv(reply), self.timeouts.connect)
            if reply.kind != 5:
                raise FTPRefused(reply, "EPSV")
            self._epsv = False  # RFC 2428 §3 is optional: PASV from now on
        reply = self.command("PASV")
        if reply.code != 227:
            raise FTPRefused(reply, "PASV")
        _named, port = parse_pasv(reply)  # the named host is ignored: CVE-2021-4189
        return connect_data(self._peer, port, self.timeouts.connect)

    def _active(self) -> socket.socket:
        """A listener for the data connection, active: EPRT, else PORT (IPv4)."""
        listener = listen_data(self._local)
        port = listener.getsockname()[1]
        try:
            if self._eprt:
                reply = self.command("EPRT", format_eprt(self._local, port))
                if reply.ok:
                    return listener
                if reply.kind != 5 or ":" in self._local:
                    raise FTPRefused(reply, "EPRT")
                self._eprt = False
            self._ok("PORT", format_port(self._local, port))
        except BaseException:
            listener.close()
            raise
        return listener

    def _transfer_reply(self, command: str) -> Reply:
        """The final reply of the transfer in progress (called by :class:`Transfer`)."""
        answer = self._answer()
        while not answer.final:
            answer = self._answer()
        if not answer.reply.ok:
            raise FTPRefused(answer.reply, command)
        return answer.reply

    def _abort_transfer(self) -> None:
        """ABOR the transfer in progress and read both final replies; on any failure the
        control connection cannot be trusted and is closed."""
        if self.stream is None:
            return
        try:
            self.conn.send(Command("ABOR"))
            while self.conn.waiting:
                self._answer()
        except WirekitError:
            stream, self.stream = self.stream, None
            stream.close()

    # -- bytes ------------------------------------------------------------------------------
    def _exchange(self, command: Command) -> Answer:
        """Send ``command`` and return its first answer (maybe a preliminary one)."""
        if self.stream is None:
            raise ConfigError("connect() first (or use the client in a with block)")
        self.conn.send(command)
        return self._answer()

    def _answer(self) -> Answer:
        """Write what the core queued and read the next answer within ``timeouts.read``."""
        conn, stream = self.conn, self.stream
        if stream is None:
            raise ConnectionClosed("the FTP control connection is closed")
        if out := conn.data_to_send():
            stream.sendall(out)
        deadline = Deadline(self.timeouts.read)
        while True:
            event = conn.next_event()
            if isinstance(event, Answer):
                if event.final:
                    self.last_reply = event.reply
                return event
            if isinstance(event, Close):
                raise ConnectionClosed("the FTP server closed the control connection")
            try:
                data = stream.recv(65536, timeout=deadline.remaining("FTP reply"))
            except Timeout:
                raise Timeout("FTP reply", self.timeouts.read) from None
            conn.receive_data(data)
