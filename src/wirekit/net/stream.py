"""``Stream``: a connected byte stream over TCP, TLS or a Unix socket, with bounded reads.

The course's TCP client (slides 1-12..1-27) hits three problems the raw socket API leaves to
every program: ``recv`` returns whatever happened to arrive, a dead peer makes it wait forever,
and a closed connection shows up as an empty ``bytes``. A ``Stream`` answers all three once:
reads by count or delimiter on top of :class:`ReceiveBuffer`, a finite default timeout on every
blocking call (one deadline per call, however many ``recv`` it takes), and
:class:`IncompleteRead` naming how many bytes arrived when the peer closes mid-message.
"""

from __future__ import annotations

import io
import os
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from typing import Any, BinaryIO, Final, cast

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConfigError, IncompleteRead, LocalProtocolError, Timeout
from wirekit.net.address import Address
from wirekit.net.deadline import Deadline
from wirekit.net.framing import Framer
from wirekit.net.oserrors import translate, translating
from wirekit.proto.buffer import ReceiveBuffer

__all__ = ["DEFAULT", "Stream", "arm_kernel_timeout"]


class _Default:
    """Marks "use the stream's configured timeout" (``None`` already means "no limit")."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()
TimeoutArg = float | None | _Default

_RECV_SIZE = 65536
_TIMEVAL = struct.Struct("@ll")
# Re-arm a kernel timeout only when the deadline has drifted this far below it, so a message
# that takes several recv calls costs one setsockopt, not one per call (overrun <= 10%).
_REARM_RATIO = 0.9
_UNSET = -1.0
_SHUTDOWN = {"read": socket.SHUT_RD, "write": socket.SHUT_WR, "both": socket.SHUT_RDWR}


def arm_kernel_timeout(sock: socket.socket, option: int, seconds: float | None) -> None:
    """Bound the socket's blocking calls in one direction (``SO_RCVTIMEO``/``SO_SNDTIMEO``)
    in the kernel; the socket is made blocking first, since the kernel's timeout needs it."""
    if sock.gettimeout() is not None:
        sock.settimeout(None)
    if seconds is None:
        whole, micros = 0.0, 0  # zero means "no timeout" to the kernel
    else:
        whole, fraction = divmod(seconds, 1)
        micros = int(fraction * 1e6) or (0 if whole else 1)
    sock.setsockopt(socket.SOL_SOCKET, option, _TIMEVAL.pack(int(whole), micros))


class Stream:
    """A connected socket with buffered, bounded, timed reads and writes.

    ``bytes_received`` and ``bytes_sent`` count traffic for log lines. A ``Stream`` is used by
    one thread at a time (one reader plus one writer thread is fine).
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.socket = sock
        self.timeouts = timeouts
        self.limits = limits
        self.buffer = ReceiveBuffer()
        self.bytes_received = 0
        self.bytes_sent = 0
        self._eof = False
        self._closed = False
        # The timeout each direction is armed with (_UNSET: not yet). Plain attributes, read
        # inline by recv/sendall: with many threads every Python frame between two syscalls
        # costs a GIL hand-off (see bench/README.md), so the hot path stays flat.
        self._rcv_armed: float | None = _UNSET
        self._snd_armed: float | None = _UNSET
        self._kernel_timeouts = not isinstance(sock, ssl.SSLSocket)

    # -- identity -------------------------------------------------------------------------
    @property
    def peer(self) -> Address:
        with translating("getpeername"):
            return Address.from_sockaddr(self.socket.family, self.socket.getpeername())

    @property
    def local(self) -> Address:
        with translating("getsockname"):
            return Address.from_sockaddr(self.socket.family, self.socket.getsockname())

    @property
    def is_tls(self) -> bool:
        return isinstance(self.socket, ssl.SSLSocket)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> bool:
        """Received bytes are waiting here or in the TLS layer, not yet read by anyone."""
        if self.buffer.data:
            return True
        sock = self.socket
        return isinstance(sock, ssl.SSLSocket) and not self._closed and sock.pending() > 0

    def fileno(self) -> int:
        return self.socket.fileno()

    # -- writing --------------------------------------------------------------------------
    def send(self, data: bytes, timeout: TimeoutArg = DEFAULT) -> int:
        """Send some of ``data``; returns how many bytes the kernel took (course 1-29)."""
        seconds = self._seconds(timeout, self.timeouts.write)
        with translating("send", seconds):
            self._arm(socket.SO_SNDTIMEO, seconds)
            try:
                sent = self.socket.send(data)
            except BlockingIOError:
                raise Timeout("send", seconds) from None
        self.bytes_sent += sent
        return sent

    def sendall(self, data: bytes | bytearray | memoryview, timeout: TimeoutArg = DEFAULT) -> None:
        """Send all of ``data``. ``timeout`` bounds each wait for the peer to make room, so a
        slow but steady reader is served and a stalled one is cut off."""
        seconds = self.timeouts.write if isinstance(timeout, _Default) else timeout
        if seconds != self._snd_armed:
            self._arm(socket.SO_SNDTIMEO, seconds)
        try:
            self.socket.sendall(data)
        except BlockingIOError:
            raise Timeout("send", seconds) from None
        except OSError as exc:
            raise translate(exc, "send", seconds) from exc
        self.bytes_sent += len(data)

    def sendfile(self, file: BinaryIO, offset: int, count: int,
                 timeout: TimeoutArg = DEFAULT) -> int:
        """Send ``count`` bytes of ``file`` from ``offset``: the kernel copies them straight
        from the page cache (``sendfile(2)``) on plain sockets; TLS reads and sends blocks.
        Returns the bytes sent, fewer only if the file is shorter than promised."""
        seconds = self.timeouts.write if isinstance(timeout, _Default) else timeout
        if seconds != self._snd_armed:
            self._arm(socket.SO_SNDTIMEO, seconds)
        sent = 0
        try:
            if self._kernel_timeouts:
                out, source = self.socket.fileno(), file.fileno()
                while sent < count:
                    done = os.sendfile(out, source, offset + sent, min(count - sent, 1 << 30))
                    if done == 0:
                        break  # the file ended early
                    sent += done
            else:
                sent = self.socket.sendfile(file, offset, count) or 0
        except BlockingIOError:
            raise Timeout("send", seconds) from None
        except OSError as exc:
            raise translate(exc, "send", seconds) from exc
        finally:
            self.bytes_sent += sent
        return sent

    # -- reading --------------------------------------------------------------------------
    def recv(self, max_bytes: int = _RECV_SIZE, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Whatever is available, up to ``max_bytes``; ``b""`` once the peer has closed."""
        if self.buffer.data:
            return self.buffer.take(max_bytes)
        seconds = self.timeouts.read if isinstance(timeout, _Default) else timeout
        return self._recv_once(max_bytes, seconds)

    def recv_exactly(self, n: int, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Exactly ``n`` bytes, or :class:`IncompleteRead` if the peer closes first."""
        deadline = Deadline(self._seconds(timeout, self.timeouts.read))
        while (data := self.buffer.read_exact(n)) is None:
            if not self._fill(deadline):
                raise IncompleteRead(self.buffer.take_all(), n, "message")
        return data

    def recv_until(
        self,
        delimiter: bytes,
        limit: int | None = None,
        timeout: TimeoutArg = DEFAULT,
        *,
        keep: bool = True,
    ) -> bytes:
        """Bytes up to ``delimiter`` (included unless ``keep=False``), at most ``limit`` long.

        Raises :class:`MessageTooLarge` past the limit and :class:`IncompleteRead` if the peer
        closes before the delimiter.
        """
        limit = self.limits.max_message if limit is None else limit
        deadline = Deadline(self._seconds(timeout, self.timeouts.read))
        while (data := self.buffer.read_until(delimiter, limit, keep=keep)) is None:
            if not self._fill(deadline):
                what = f"{delimiter!r}-delimited message"
                raise IncompleteRead(self.buffer.take_all(), None, what)
        return data

    def readline(self, limit: int | None = None, timeout: TimeoutArg = DEFAULT) -> bytes:
        """One line including its LF, like a file's ``readline``.

        At end of stream it returns ``b""``, or the last unterminated line, as files do; use
        :meth:`recv_until` when a missing terminator must be an error.
        """
        limit = self.limits.max_line if limit is None else limit
        deadline = Deadline(self._seconds(timeout, self.timeouts.read))
        while (line := self.buffer.read_line(limit)) is None:
            if not self._fill(deadline):
                return self.buffer.take_all()
        return line

    def makefile(self, mode: str = "rb", buffering: int = -1, *, encoding: str | None = None,
                 errors: str | None = None, newline: str | None = None) -> io.IOBase:
        """The stream as a file object, like ``socket.makefile`` (course slide 1-38), for code
        written against files: ``"rb"``, ``"wb"``, ``"rwb"``, or text with ``"r"``/``"w"``.

        Reads go through the stream (its timeouts, and bytes it already holds come first); a
        buffered reader reads ahead, so once a file is reading, read through it only. Closing
        the file does not close the stream.
        """
        chars = set(mode)
        if not chars <= {"r", "w", "b"} or not chars & {"r", "w"} or len(chars) != len(mode):
            raise ConfigError(f"invalid mode {mode!r} (use r, w, rw, with b for bytes)")
        reading, writing, binary = "r" in chars, "w" in chars, "b" in chars
        raw = _StreamFile(self, reading, writing)
        if buffering == 0:
            if not binary:
                raise ConfigError("unbuffered files must be binary")
            return raw
        size = io.DEFAULT_BUFFER_SIZE if buffering < 0 else buffering
        buffered: io.BufferedIOBase
        if reading and writing:
            buffered = io.BufferedRWPair(raw, raw, size)
        elif reading:
            buffered = io.BufferedReader(raw, size)
        else:
            buffered = io.BufferedWriter(raw, size)
        if binary:
            return buffered
        text = io.TextIOWrapper(cast(Any, buffered), encoding, errors, newline,
                                write_through=True)
        text.mode = mode  # type: ignore[misc]  # as socket.makefile sets it
        return text

    def __iter__(self) -> Iterator[bytes]:
        """Iterate over lines until the peer closes."""
        while line := self.readline():
            yield line

    def read_message(self, framer: Framer, timeout: TimeoutArg = DEFAULT) -> bytes | None:
        """The next message cut by ``framer``; ``None`` on a clean close between messages.

        ``timeout`` is one deadline for the whole message, however many reads it takes. Bytes
        received past the message stay in the stream, not in the framer, so the next read may
        use another framer, ``readline`` or ``recv`` and lose nothing (a protocol that switches
        from lines to length-prefixed frames, say)."""
        buffer = self.buffer
        seconds = self._seconds(timeout, self.timeouts.read)
        deadline: Deadline | None = None
        while (message := framer.cut_from(buffer)) is None:
            if deadline is None:  # most messages arrive in one read: no deadline object
                started = time.monotonic()
                chunk = self._recv_once(_RECV_SIZE, seconds)
                deadline = Deadline.since(started, seconds)
            else:
                chunk = self._recv_raw(_RECV_SIZE, deadline)
            if not chunk:
                framer.close_from(buffer)  # raises IncompleteRead if a message was cut short
                return None
            buffer.feed(chunk)
        return message

    def send_message(self, framer: Framer, message: bytes, timeout: TimeoutArg = DEFAULT) -> None:
        self.sendall(framer.encode(message), timeout)

    # -- TLS ------------------------------------------------------------------------------
    def start_tls(
        self,
        context: ssl.SSLContext,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Upgrade this connection to TLS in place (STARTTLS, or a server's accepted socket).

        Refuses if plaintext bytes are already buffered: they arrived before the handshake and
        must not be read as if they were protected (SECURITY.md M02).
        """
        if self.buffer:
            raise LocalProtocolError(
                f"{len(self.buffer)} plaintext bytes arrived before the TLS upgrade; refusing"
            )
        seconds = self._seconds(timeout, self.timeouts.handshake)
        with translating("TLS handshake", seconds):
            self._disarm()
            self.socket.settimeout(seconds)
            self.socket = context.wrap_socket(
                self.socket, server_side=server_side, server_hostname=server_hostname
            )
        self._kernel_timeouts = False
        self._rcv_armed = self._snd_armed = _UNSET

    # -- closing --------------------------------------------------------------------------
    def shutdown(self, how: str = "write") -> None:
        """Half-close: ``"write"`` tells the peer we are done sending (it reads EOF)."""
        if how not in _SHUTDOWN:
            raise ValueError(f"how must be one of {sorted(_SHUTDOWN)}, got {how!r}")
        if self.is_tls and how != "both":
            # ssl.SSLSocket.shutdown() discards the TLS state, after which recv() would return
            # raw encrypted records; TLS has no half-close that Python exposes safely.
            raise LocalProtocolError("a TLS stream cannot be half-closed; close() it instead")
        with translating("shutdown"):
            try:
                self.socket.shutdown(_SHUTDOWN[how])
            except OSError as exc:  # already gone: nothing left to shut down
                if exc.errno not in (107,):  # ENOTCONN
                    raise

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.socket.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self.socket.fileno()}"
        return f"<Stream {state} tls={self.is_tls}>"

    # -- internals ------------------------------------------------------------------------
    @staticmethod
    def _seconds(timeout: TimeoutArg, default: float | None) -> float | None:
        return default if isinstance(timeout, _Default) else timeout

    def _recv_raw(self, max_bytes: int, deadline: Deadline) -> bytes:
        return self._recv_once(max_bytes, deadline.remaining("read"))

    def _recv_once(self, max_bytes: int, seconds: float | None) -> bytes:
        """One recv bounded by ``seconds`` (the hot path: no allocation beyond the data)."""
        if self._eof:
            return b""
        if seconds != self._rcv_armed:
            self._arm(socket.SO_RCVTIMEO, seconds)
        try:
            data = self.socket.recv(max_bytes)
        except BlockingIOError:
            raise Timeout("read", seconds) from None
        except OSError as exc:
            raise translate(exc, "read", seconds) from exc
        if not data:
            self._eof = True
        self.bytes_received += len(data)
        return data

    def armed_socket(self) -> socket.socket | None:
        """The plain socket with this stream's read and write timeouts armed in the kernel,
        for a hot loop that calls ``recv``/``sendall`` itself (a server's echo path: each
        Python frame between two system calls costs a GIL hand-off under many threads).
        None under TLS or with bytes buffered: use the stream's own methods then."""
        if not self._kernel_timeouts or self.buffer.data or self._eof:
            return None
        self._arm(socket.SO_RCVTIMEO, self.timeouts.read)
        self._arm(socket.SO_SNDTIMEO, self.timeouts.write)
        return self.socket

    def reset_timeouts(self) -> None:
        """Call after changing the socket's timeout or blocking mode directly: the stream
        re-arms its own bounds on the next call instead of trusting its cached state."""
        self._rcv_armed = self._snd_armed = _UNSET

    def _arm(self, option: int, seconds: float | None) -> None:
        """Bound the next blocking call by ``seconds``.

        Plain sockets stay in blocking mode with the kernel's SO_RCVTIMEO/SO_SNDTIMEO: a
        Python-level timeout makes CPython poll() before every recv/send and costs about 30% of
        a small request/response round trip (measured; see bench/README.md). TLS sockets keep
        Python timeouts, which OpenSSL's retry logic expects.
        """
        receiving = option == socket.SO_RCVTIMEO
        armed = self._rcv_armed if receiving else self._snd_armed
        if armed == seconds or (seconds is not None and armed is not None and armed != _UNSET
                                and armed * _REARM_RATIO <= seconds <= armed):
            return  # already armed (close enough) for this call
        if not self._kernel_timeouts:
            self.socket.settimeout(seconds)
            self._rcv_armed = self._snd_armed = seconds
            return
        arm_kernel_timeout(self.socket, option, seconds)
        if receiving:
            self._rcv_armed = seconds
        else:
            self._snd_armed = seconds

    def _disarm(self) -> None:
        """Clear kernel timeouts (before handing the socket to code that uses Python's)."""
        if self._kernel_timeouts:
            for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
                self.socket.setsockopt(socket.SOL_SOCKET, option, _TIMEVAL.pack(0, 0))
        self._rcv_armed = self._snd_armed = _UNSET

    def _fill(self, deadline: Deadline) -> bool:
        """Receive more into the buffer; ``False`` at end of stream."""
        data = self._recv_raw(_RECV_SIZE, deadline)
        self.buffer.feed(data)
        return bool(data)


class _StreamFile(io.RawIOBase):
    """The raw file under :meth:`Stream.makefile`: reads and writes through the stream."""

    def __init__(self, stream: Stream, reading: bool, writing: bool) -> None:
        super().__init__()
        self._stream = stream
        self._reading = reading
        self._writing = writing

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def readinto(self, buffer: Any) -> int:
        if not self._reading:
            raise io.UnsupportedOperation("not readable")
        data = self._stream.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        if not self._writing:
            raise io.UnsupportedOperation("not writable")
        self._stream.sendall(bytes(data))
        return len(data)

    def fileno(self) -> int:
        return self._stream.fileno()
