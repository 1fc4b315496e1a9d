"""``Connection`` and ``Client``: the blocking shell of the channel core, with the method names
of ``multiprocessing.connection.Connection`` (``send``/``recv``, ``send_bytes``/``recv_bytes``,
``poll``, ``close``).

    from wirekit.channel import Client

    with Client("127.0.0.1:6000", authkey=b"secret") as conn:   # a stdlib Listener works too
        conn.send({"when": datetime.now(), "data": b"..."})     # msgpack
        reply = conn.recv()
        conn.send_bytes(b"raw bytes")                           # as the stdlib frames them

The shell moves bytes and keeps time; the framing and the handshake are decided once, in
:class:`~wirekit.proto.channel.ChannelConnection`. Connecting, TLS and the handshake share
one deadline (``timeouts.handshake``, 5 s: SECURITY.md section 3); a receive waits for as
long as its ``timeout`` says, forever by default, as a pipe does.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import ssl
from collections.abc import Callable
from typing import Any, Final

from wirekit.channel.errors import ChannelClosed
from wirekit.config import DEFAULT_TIMEOUTS, Timeouts
from wirekit.errors import ConfigError, MessageTooLarge, Timeout
from wirekit.net.address import Address, AddressLike
from wirekit.net.connect import connect
from wirekit.net.deadline import Deadline
from wirekit.net.oserrors import translate
from wirekit.net.stream import Stream
from wirekit.net.tls import TLSLike
from wirekit.proto.channel import (
    CLOSED,
    DEFAULT_MAX_MESSAGE,
    NEED_DATA,
    NONCE_SIZE,
    ChannelConnection,
    Message,
    MsgpackSerializer,
    PickleSerializer,
    Serializer,
    make_serializer,
)
from wirekit.proto.channel.calls import make_call, read_reply
from wirekit.proto.channel.connection import header
from wirekit.proto.channel.handshake import check_authkey

__all__ = ["Client", "Connection", "RemoteObject", "channel_address", "check_serializer",
           "encoder", "own_serializer"]

_RECV = 65536
_COPY_BELOW = 65536  # smaller payloads leave with their header in one write
#: Types whose msgpack form is a few bytes: a message of only these is packed straight to
#: bytes instead of into the serializer's lent buffer (a third of a small call's encoding).
SCALARS: Final = frozenset({int, float, bool, type(None)})


def channel_address(address: AddressLike) -> Address:
    """An address as wirekit spells it, or as ``multiprocessing.connection`` does: a
    ``(host, port)`` pair or a filesystem path for a Unix socket. Linux abstract names
    (``"\\0name"``) are refused: anyone on the host may connect to them (SECURITY.md R05)."""
    if isinstance(address, str) and address.startswith(("/", "./", "\0")):
        if address.startswith("\0"):
            raise ConfigError("abstract Unix socket names are not supported: use a path")
        return Address(path=address)
    return Address.of(address)


def check_serializer(serializer: str | Serializer, authkey: bytes | None) -> Serializer:
    """The serializer, refusing pickle on a channel nobody authenticated (SECURITY.md R01);
    a key that is not bytes is refused here too, before anything listens or connects."""
    if authkey is not None:
        check_authkey(authkey)
    chosen = make_serializer(serializer)
    if chosen.name == "pickle" and authkey is None:
        raise ConfigError("the pickle serializer needs an authkey: unpickling what an "
                          "unauthenticated peer sends is running its code")
    return chosen


def copies_payload(serializer: Serializer) -> bool:
    """True for wirekit's serializers, whose objects never refer to the bytes they were
    decoded from (a user's ``loads`` might: numpy.frombuffer), so the payload's buffer can be
    reused once decoded."""
    return type(serializer) in (MsgpackSerializer, PickleSerializer)


def encoder(serializer: Serializer) -> Callable[[Any], bytes | memoryview]:
    """What a shell encodes with when it sends at once: msgpack's own buffer, lent until
    the next message (``dump_view``), or the serializer's bytes."""
    if type(serializer) is MsgpackSerializer:
        return serializer.dump_view
    return serializer.dumps


def own_serializer(serializer: Serializer) -> Serializer:
    """The serializer one connection uses: a msgpack one of its own (it keeps a packer and
    its buffer), any other shared as it is."""
    return MsgpackSerializer() if type(serializer) is MsgpackSerializer else serializer


class Connection:
    """One open, authenticated end of a channel."""

    def __init__(self, stream: Stream, core: ChannelConnection,
                 serializer: Serializer) -> None:
        self.stream = stream
        self.core = core
        self.serializer = serializer
        self._recycles = copies_payload(serializer)
        self._sendall = stream.sendall
        self._encode = encoder(serializer)

    # -- bytes ------------------------------------------------------------------------------
    def send_bytes(self, buf: bytes | bytearray | memoryview, offset: int = 0,
                   size: int | None = None) -> None:
        """Send ``buf`` (or ``size`` bytes of it from ``offset``) as one message."""
        view = memoryview(buf)
        if view.itemsize > 1:  # offset and size count bytes, as in the standard library
            view = view.cast("B")
        if offset < 0 or offset > len(view) or (size is not None and (
                size < 0 or offset + size > len(view))):
            raise ValueError("offset and size do not fit the buffer")
        payload = view[offset:] if size is None else view[offset:offset + size]
        self._send(payload)  # sent before this returns: the caller's buffer is not kept

    def _send(self, payload: bytes | memoryview) -> None:
        if len(payload) < _COPY_BELOW:
            self._sendall(self.core.send(payload))
        else:  # no copy of a large payload just to put its header in front
            self.core.send(b"")  # checks that the channel is open
            self._sendall(header(len(payload)))
            self._sendall(payload)

    def recv_bytes(self, maxlength: int | None = None, *, timeout: float | None = None
                   ) -> bytes:
        """The next message's bytes. ``maxlength``: refuse a longer one (the connection is
        then unusable, as in the standard library); ``timeout``: Timeout after that long."""
        payload = self._receive(timeout)
        if maxlength is not None and len(payload) > maxlength:
            self.close()
            raise MessageTooLarge(f"a message of {len(payload)} bytes, more than maxlength="
                                  f"{maxlength}", limit="maxlength")
        if type(payload) is bytes:
            return payload
        data = bytes(payload)
        self.core.recycle(payload)
        return data

    def _receive(self, timeout: float | None) -> bytes | bytearray:
        core = self.core
        event = core.next_event()
        if type(event) is Message:
            return event.payload
        deadline = None if timeout is None else Deadline(timeout)
        recv = self.stream.recv
        while type(event) is not Message:
            if event is NEED_DATA:
                if (view := core.payload_buffer()) is None or not self._recv_into(view):
                    core.receive_data(recv(_RECV, None if deadline is None
                                           else deadline.remaining("recv")))
            elif event is CLOSED:
                raise ChannelClosed("the peer closed the channel")
            event = core.next_event()
        assert isinstance(event, Message)
        return event.payload

    def _recv_into(self, view: memoryview) -> bool:
        """Receive a large payload's next bytes straight into its buffer: no allocation and
        no copy per piece (False where the stream cannot: TLS, or bytes it holds itself).
        The message is on its way, so the stream's read timeout bounds each wait."""
        sock = self.stream.armed_socket()
        if sock is None:
            return False
        try:
            count = sock.recv_into(view)
        except BlockingIOError:
            raise Timeout("read", self.stream.timeouts.read) from None
        except OSError as exc:
            raise translate(exc, "read") from exc
        if count:
            self.core.payload_received(count)
        else:
            self.core.receive_data(b"")
        return True

    # -- objects ----------------------------------------------------------------------------
    def send(self, obj: Any) -> None:
        """Send ``obj`` encoded by the channel's serializer (msgpack unless chosen)."""
        self._send(self._encode(obj))

    def recv(self, *, timeout: float | None = None) -> Any:
        """The next object the peer sent."""
        payload = self._receive(timeout)
        obj = self.serializer.loads(payload)
        if self._recycles:  # decoded into new objects: the buffer can take the next message
            self.core.recycle(payload)
        return obj

    def poll(self, timeout: float | None = 0.0) -> bool:
        """True if something to read has arrived (within ``timeout`` seconds; ``None``:
        wait until it does)."""
        if not self.core.between_messages or self.stream.pending:
            return True
        sock = self.stream.socket
        readable, _, _ = select.select([sock], [], [], timeout)
        return bool(readable)

    # -- remote objects ---------------------------------------------------------------------
    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` on the object the peer serves (``serve_object``)."""
        call = make_call(method, args, kwargs)
        if not kwargs and all(map(SCALARS.__contains__, map(type, args))):
            self._send(self.serializer.dumps(call))  # a few bytes: no buffer lent
        else:
            self._send(self._encode(call))
        return read_reply(self.recv())

    def proxy(self) -> RemoteObject:
        """The object the peer serves, as a local-looking proxy: ``proxy.add(3, 5)``."""
        return RemoteObject(self)

    # -- lifetime ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.stream.closed

    def fileno(self) -> int:
        return self.stream.fileno()

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {state} {self.serializer.name}>"


class RemoteObject:
    """Calls the public methods of an object served on a channel, by name. Every attribute
    not starting with ``_`` is a remote method; the server's dispatcher decides which exist
    (the same rules as the RPC server's)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        remote = functools.partial(self._connection.call, name)
        self.__dict__[name] = remote  # found without __getattr__ from now on
        return remote

    def __repr__(self) -> str:
        return f"<RemoteObject over {self._connection!r}>"


class Client(Connection):
    """Connect to a channel at ``address`` (``host:port``, ``(host, port)``, a Unix socket
    path) and authenticate with ``authkey``, as ``multiprocessing.connection.Client``.

    ``serializer``: ``"msgpack"`` (default), ``"pickle"`` (only with an authkey; loads
    through the restricted unpickler) or an object with ``dumps``/``loads``. ``tls``: ``True``
    (verified against the system store), a ``TLSConfig`` or an ``SSLContext``. ``allow_md5``:
    accept the legacy HMAC-MD5 handshake of Python 3.11 and older peers.
    """

    def __init__(self, address: AddressLike, authkey: bytes | None = None, *,
                 serializer: str | Serializer = "msgpack", tls: TLSLike = None,
                 server_hostname: str | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 max_message: int = DEFAULT_MAX_MESSAGE, allow_md5: bool = True) -> None:
        chosen = check_serializer(serializer, authkey)
        deadline = Deadline(timeouts.handshake)
        stream = connect(channel_address(address), deadline.remaining("connect"), tls=tls,
                         server_hostname=server_hostname, timeouts=timeouts)
        try:
            core = ChannelConnection(False, authkey, nonce=os.urandom(NONCE_SIZE),
                                     max_message=max_message, allow_md5=allow_md5)
            authenticate(stream, core, deadline)
        except BaseException:
            stream.close()
            raise
        super().__init__(stream, core, own_serializer(chosen))


def authenticate(stream: Stream, core: ChannelConnection, deadline: Deadline) -> None:
    """Run the core's handshake on ``stream`` until the channel is open, within ``deadline``;
    whatever the core has to say (its ``#FAILURE#``) is sent before an error propagates."""
    try:
        while core.authenticating:
            event = core.next_event()
            if out := core.data_to_send():
                stream.sendall(out, timeout=deadline.remaining("handshake"))
            if event is NEED_DATA:
                data = stream.recv(_RECV, timeout=deadline.remaining("handshake"))
                core.receive_data(data)
    except Timeout:
        raise Timeout("channel handshake", deadline.seconds) from None
    finally:
        if out := core.data_to_send():
            with contextlib.suppress(OSError, ssl.SSLError, Timeout):  # the peer is gone
                stream.sendall(out, timeout=0.5)
