"""``ChannelConnection``: the object channel as a sans-IO core (bytes in, events out).

The wire is ``multiprocessing.connection``'s on POSIX: every message is a frame, a 4-byte
big-endian signed length then the payload; a payload of 2 GiB or more is announced as ``-1``
followed by an 8-byte unsigned length (CPython 3.8+). Before any message, when an ``authkey``
is set, the mutual handshake of ``handshake.py`` runs; its frames may be at most 256 bytes, so
an unauthenticated peer can make the core neither allocate nor decode anything (SECURITY.md R01).

The state table (h11's rule: the core holds the connection's state and nothing else; Rule 2:
no I/O, no clock, no randomness of its own: the shell passes the nonce)::

    role         state                 on a frame                          next
    accepting    AWAIT_RESPONSE        verify; send WELCOME (or FAILURE)    AWAIT_CHALLENGE
    accepting    AWAIT_CHALLENGE       send our response                    AWAIT_WELCOME
    accepting    AWAIT_WELCOME         must be WELCOME                      OPEN
    connecting   AWAIT_CHALLENGE       send our response                    AWAIT_WELCOME
    connecting   AWAIT_WELCOME         must be WELCOME; send our challenge  AWAIT_RESPONSE
    connecting   AWAIT_RESPONSE        verify; send WELCOME (or FAILURE)    OPEN
    any          OPEN                  a Message event                      OPEN

(The accepting side sends its challenge as soon as the core is made.) A failed check queues
``#FAILURE#`` for the shell to send, moves to CLOSED and raises
:class:`~wirekit.errors.AuthenticationError`; the peer's payloads are never looked at.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

from wirekit.errors import (
    AuthenticationError,
    IncompleteRead,
    LocalProtocolError,
    MessageTooLarge,
    RemoteProtocolError,
)
from wirekit.proto.buffer import ReceiveBuffer
from wirekit.proto.channel import handshake

__all__ = [
    "AUTHENTICATED",
    "CLOSED",
    "DEFAULT_MAX_MESSAGE",
    "NEED_DATA",
    "ChannelConnection",
    "ChannelState",
    "Message",
    "frame",
]

#: The largest message either side accepts by default: 16 MiB holds any sensible object
#: graph and bounds what one peer can make a server hold (the stdlib has no bound at all).
DEFAULT_MAX_MESSAGE: Final = 16 * 1024 * 1024
_SHORT: Final = struct.Struct("!i")
_LONG: Final = struct.Struct("!iQ")
_SHORT_MAX: Final = 0x7FFFFFFF
_LARGE: Final = 65536  # payloads from this size on are read into a buffer of their own


class ChannelState(enum.Enum):
    AWAIT_CHALLENGE = "await challenge"
    AWAIT_RESPONSE = "await response"
    AWAIT_WELCOME = "await welcome"
    OPEN = "open"
    CLOSED = "closed"


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: ``next_event`` needs more bytes (``needed`` says how many, at least).
NEED_DATA: Final = _Sentinel("NEED_DATA")
#: The handshake succeeded (once, before the first message).
AUTHENTICATED: Final = _Sentinel("AUTHENTICATED")
#: The peer closed cleanly between messages.
CLOSED: Final = _Sentinel("CLOSED")


@dataclass(slots=True)
class Message:
    """One message: the payload of one frame (a ``bytearray`` for a large one, which is
    read in place; both are buffers every decoder takes)."""

    payload: bytes | bytearray


def frame(payload: bytes | memoryview) -> bytes:
    """``payload`` with its length prefix (the -1 + 8-byte form from 2 GiB on)."""
    return header(len(payload)) + payload


def header(size: int) -> bytes:
    """The length prefix alone, for a shell that sends a large payload without copying it."""
    return _SHORT.pack(size) if size <= _SHORT_MAX else _LONG.pack(-1, size)


class ChannelConnection:
    """One end of a channel. ``accepting`` is the listening side's role; ``authkey`` None
    skips the handshake (the standard library's meaning too); ``nonce`` is the shell's
    ``os.urandom(handshake.NONCE_SIZE)``, needed whenever there is an authkey."""

    def __init__(self, accepting: bool, authkey: bytes | None = None, *,
                 nonce: bytes | None = None, max_message: int = DEFAULT_MAX_MESSAGE,
                 allow_md5: bool = True) -> None:
        self.accepting = accepting
        self.authkey = None if authkey is None else handshake.check_authkey(authkey)
        self.max_message = max_message
        self.allow_md5 = allow_md5
        self.buffer = ReceiveBuffer()
        self.eof = False
        self.needed = 4  # bytes still missing from the frame being read
        self._size: int | None = None  # the payload size of the frame being read
        self._large: bytearray | None = None  # a large frame's payload, filled in place
        self._spare: bytearray | None = None  # a recycled payload buffer, for the next one
        self._filled = 0
        self._outbox: list[bytes] = []
        self._ours = b""  # our challenge frame, for checking the peer's response
        if self.authkey is None:
            self.state = ChannelState.OPEN
        elif accepting:
            self._send_challenge(nonce)
            self.state = ChannelState.AWAIT_RESPONSE
        else:
            if nonce is None:
                raise LocalProtocolError("the connecting side needs a nonce for its challenge")
            self._nonce = nonce
            self.state = ChannelState.AWAIT_CHALLENGE

    @property
    def authenticating(self) -> bool:
        # Identity tests, not set membership: an Enum member hashes in Python (3.11), and a
        # server asks this a few times per call.
        state = self.state
        return state is not ChannelState.OPEN and state is not ChannelState.CLOSED

    @property
    def between_messages(self) -> bool:
        """No byte of a next message has arrived (closing now loses nothing)."""
        return not self.buffer.data and self._size is None

    @property
    def at_rest(self) -> bool:
        """Authenticated (or closed) and between messages: a server may close it now."""
        state = self.state
        return (state is ChannelState.OPEN or state is ChannelState.CLOSED) \
            and not self.buffer.data and self._size is None

    # -- bytes in ---------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` is its end of stream."""
        if not data:
            self.eof = True
        elif self._large is None:
            self.buffer.data += data
        else:
            self._fill(data)

    def payload_buffer(self) -> memoryview | None:
        """The part of a large message's payload still to come, for a shell that receives
        straight into it (``socket.recv_into``; then :meth:`payload_received`); None when
        no large message is being read."""
        if self._large is None:
            return None
        return memoryview(self._large)[self._filled:]

    def payload_received(self, count: int) -> None:
        """``count`` bytes were received into :meth:`payload_buffer`."""
        assert self._large is not None and 0 < count <= len(self._large) - self._filled
        self._filled += count

    def _fill(self, data: bytes) -> None:
        """Copy into the large frame being read; what lies beyond it goes to the buffer."""
        large, filled = self._large, self._filled
        assert large is not None
        take = min(len(data), len(large) - filled)
        large[filled:filled + take] = memoryview(data)[:take] if take < len(data) else data
        self._filled = filled + take
        if take < len(data):
            self.buffer.feed(data[take:])

    def next_event(self) -> Message | _Sentinel:
        """The next :class:`Message`, ``AUTHENTICATED``, ``CLOSED`` or ``NEED_DATA``."""
        data = self.buffer.data
        if len(data) >= 4 and self._size is None and self.state is ChannelState.OPEN:
            # The usual case, a whole small frame buffered, without the general reader's
            # calls (a remote call's round trip is a few dozen Python calls in all).
            size = _SHORT.unpack_from(data)[0]
            end = size + 4
            if 0 <= size <= self.max_message and len(data) >= end:
                message = Message(bytes(data[4:end]))
                del data[:end]
                return message
        while True:
            payload = self._next_frame()
            if payload is None:
                return NEED_DATA if not self.eof else self._starved()
            if self.state is ChannelState.OPEN:
                return Message(payload)
            if self._handshake_step(bytes(payload)):  # a handshake frame is small bytes
                return AUTHENTICATED

    def _starved(self) -> _Sentinel:
        """No whole frame is buffered and the peer has closed."""
        if self.authenticating:
            self.state = ChannelState.CLOSED
            raise AuthenticationError("the peer closed the connection during the handshake")
        if self.buffer or self._size is not None:
            missing = self._size if self._size is not None else 4
            partial = bytes(self._large[:self._filled]) if self._large is not None \
                else self.buffer.take_all()
            raise IncompleteRead(partial, missing, "channel message")
        self.state = ChannelState.CLOSED
        return CLOSED

    def _next_frame(self) -> bytes | bytearray | None:
        if self._large is not None:
            return self._large_frame()
        data = self.buffer.data
        size = self._size
        if size is None:
            if len(data) < 4:
                self.needed = 4 - len(data)
                return None
            size = _SHORT.unpack_from(data)[0]
            skip = 4
            if size == -1:
                if len(data) < 12:
                    self.needed = 12 - len(data)
                    return None
                size, skip = _LONG.unpack_from(data)[1], 12
            elif size < 0:
                raise RemoteProtocolError(f"invalid channel frame length {size}")
            limit = handshake.MAX_AUTH_FRAME if self.authenticating else self.max_message
            if size > limit:
                self.state = ChannelState.CLOSED
                raise MessageTooLarge(f"a channel frame of {size} bytes, more than {limit}"
                                      + (" during the handshake" if limit < 1024 else ""),
                                      limit="max_message")
            del data[:skip]
            self._size = size
        if len(data) < size:
            if size >= _LARGE:
                # A large payload gets a buffer of its announced size, allocated once and
                # filled in place: appending to the receive buffer would reallocate (and
                # copy) it again and again as it grows (measured: 3x slower at 1 MiB).
                self._large = self._payload_buffer(size)
                self._large[:len(data)] = data
                self._filled = len(data)
                data.clear()
                self.needed = size - self._filled
                return None
            self.needed = size - len(data)
            return None
        if len(data) == size:
            payload = bytes(data)
            data.clear()
        else:
            payload = bytes(data[:size])
            del data[:size]
        self._size = None
        self.needed = 4
        return payload

    def recycle(self, payload: bytes | bytearray) -> None:
        """Give back a large message's payload once it is decoded and no longer used: the
        next large message is read into it instead of a new buffer.

        Allocating and freeing a fresh megabyte per message lets malloc return the memory to
        the system and fault it in again at the next one (measured: 1 MiB echoes ran at a
        third of multiprocessing.connection's rate). Only a shell that owns the payload may
        recycle it; nothing is reused otherwise.
        """
        if type(payload) is bytearray:
            self._spare = payload

    def _payload_buffer(self, size: int) -> bytearray:
        spare, self._spare = self._spare, None
        if spare is None or len(spare) < size:
            return bytearray(size)
        del spare[size:]  # the tail is dropped; what stays is overwritten as bytes arrive
        return spare

    def _large_frame(self) -> bytearray | None:
        large = self._large
        assert large is not None and self._size is not None
        if self._filled < len(large):
            self.needed = len(large) - self._filled
            return None
        self._large, self._size, self.needed = None, None, 4
        return large

    # -- the handshake ----------------------------------------------------------------------
    def _send_challenge(self, nonce: bytes | None) -> None:
        if nonce is None or len(nonce) < 20:
            raise LocalProtocolError("a challenge needs a nonce of at least 20 random bytes")
        self._ours = handshake.challenge(nonce)
        self._outbox.append(frame(self._ours))

    def _handshake_step(self, payload: bytes) -> bool:
        """Take one handshake frame; True once the channel is open."""
        authkey = self.authkey
        assert authkey is not None  # no handshake without a key
        state = self.state
        try:
            if state is ChannelState.AWAIT_RESPONSE:
                self._check(authkey, payload)
                if not self.accepting:
                    self.state = ChannelState.OPEN
                    return True
                self.state = ChannelState.AWAIT_CHALLENGE
            elif state is ChannelState.AWAIT_CHALLENGE:
                self._outbox.append(frame(handshake.respond(authkey, payload, self.allow_md5)))
                self.state = ChannelState.AWAIT_WELCOME
            elif state is ChannelState.AWAIT_WELCOME:
                if payload != handshake.WELCOME:
                    raise AuthenticationError("digest sent was rejected (wrong authkey?)")
                if self.accepting:
                    self.state = ChannelState.OPEN
                    return True
                self._send_challenge(self._nonce)
                self.state = ChannelState.AWAIT_RESPONSE
        except AuthenticationError:
            self.state = ChannelState.CLOSED
            raise
        return False

    def _check(self, authkey: bytes, response: bytes) -> None:
        try:
            handshake.verify(authkey, self._ours, response, self.allow_md5)
        except AuthenticationError:
            self._outbox.append(frame(handshake.FAILURE))
            raise
        self._outbox.append(frame(handshake.WELCOME))

    # -- bytes out --------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        """What the handshake wants sent (empty when nothing)."""
        if not self._outbox:
            return b""
        out, self._outbox = b"".join(self._outbox), []
        return out

    def send(self, payload: bytes | memoryview) -> bytes:
        """The bytes that carry the message ``payload``."""
        if self.state is not ChannelState.OPEN:
            raise LocalProtocolError(f"cannot send a message while the channel is "
                                     f"{self.state.value}")
        return header(len(payload)) + payload
