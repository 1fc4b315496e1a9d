"""``serve_object``: an object's public methods on the channel, as Pyro and rpyc users expect,
on the serving spine's connection-core contract (so every concurrency mode serves it).

    from wirekit.channel import Client, serve_object

    serve_object(Calculator(), "127.0.0.1:6000", authkey=b"secret")     # blocks; Ctrl-C stops

    with Client("127.0.0.1:6000", authkey=b"secret") as conn:
        calc = conn.proxy()
        calc.add(3, 5)                                                  # 8

What a peer may call is decided by :class:`wirekit.rpc.Dispatcher`, the RPC server's: public
methods by name, never ``_private`` names or attribute paths. The connection core
(:class:`ChannelSession`) decides, once for every mode:

======================  =========================================================================
the handshake           complete within ``timeouts.handshake`` (5 s) of the connect, whatever
                        the peer sends; frames above 256 bytes refused unread; a wrong key gets
                        ``#FAILURE#`` and the connection closes. A silent peer holds its own
                        connection only (threads, async), never another client's
a message               complete within ``timeouts.message`` of its first byte; at most
                        ``max_message`` bytes (16 MiB), refused from its length prefix
a call                  run off the I/O path (``shell.run``); answered before the next is read
between calls           closed after ``timeouts.idle`` of silence, at most twice that (the
                        deadline moves lazily, not at every call; None: never)
a message it cannot     answered with a fault (-32700), never unpickled: pickle is only for a
decode                  server that asked for it, and then loads through the allow-list
graceful stop           an idle connection closes at once, a busy one after its call
======================  =========================================================================
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

from wirekit.channel.connection import (
    SCALARS,
    channel_address,
    check_serializer,
    copies_payload,
    encoder,
    own_serializer,
)
from wirekit.config import DEFAULT_TIMEOUTS, Timeouts
from wirekit.errors import (
    AuthenticationError,
    ConfigError,
    IncompleteRead,
    LimitExceeded,
    LocalProtocolError,
    RemoteProtocolError,
)
from wirekit.net.address import AddressLike
from wirekit.proto.channel import (
    AUTHENTICATED,
    CLOSED,
    DEFAULT_MAX_MESSAGE,
    NEED_DATA,
    NONCE_SIZE,
    ChannelConnection,
    Message,
    Serializer,
)
from wirekit.proto.channel.calls import check_call, fault_reply, result_reply
from wirekit.proto.channel.connection import header
from wirekit.proto.xmlrpc.fault import INTERNAL_ERROR, PARSE_ERROR, Fault
from wirekit.rpc.dispatch import Dispatcher
from wirekit.server import Server
from wirekit.server.core import ConnectionCore, Shell, Work, WorkIO

__all__ = ["DEFAULT_PORT", "ChannelSession", "ObjectServer", "serve_object"]

logger = logging.getLogger("wirekit.channel")

#: The port of ``multiprocessing.connection``'s documented examples.
DEFAULT_PORT = 6000
_COPY_BELOW = 65536  # a smaller reply leaves with its header in one write


class ObjectServer(Server):
    """Serve ``obj``'s public methods on ``address`` to clients holding ``authkey``.

    ``authkey`` must be given: bytes, or ``None`` to skip authentication (a trusted network
    or a 0600 Unix socket; msgpack only then). ``dispatcher``: a ready-made registry instead
    of ``obj`` (then ``obj`` may be None). The rest are :class:`~wirekit.server.Server`'s
    options (``concurrency``, ``tls``, ``timeouts``, ``unix_mode``...).
    """

    def __init__(self, obj: Any, address: AddressLike = f"127.0.0.1:{DEFAULT_PORT}", *,
                 authkey: bytes | None, serializer: str | Serializer = "msgpack",
                 dispatcher: Dispatcher | None = None, concurrency: Any = "threads",
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, max_message: int = DEFAULT_MAX_MESSAGE,
                 allow_md5: bool = True, **server_options: Any) -> None:
        if dispatcher is None:
            if obj is None:
                raise ConfigError("serve an object, or pass a dispatcher")
            dispatcher = Dispatcher(multicall=False)
            dispatcher.register_instance(obj)
        elif obj is not None:
            dispatcher.register_instance(obj)
        self.dispatcher = dispatcher
        self.authkey = authkey
        self.serializer = check_serializer(serializer, authkey)
        self.max_message = max_message
        self.allow_md5 = allow_md5
        super().__init__(ChannelSession, channel_address(address), concurrency=concurrency,
                         timeouts=timeouts, **server_options)

    def __repr__(self) -> str:
        return f"<ObjectServer on {self.address} ({self.mode}, {self.serializer.name})>"


def serve_object(obj: Any, address: AddressLike = f"127.0.0.1:{DEFAULT_PORT}", *,
                 authkey: bytes | None, **options: Any) -> None:
    """Serve ``obj`` until SIGTERM/SIGINT (see :class:`ObjectServer` for the options)."""
    ObjectServer(obj, address, authkey=authkey, **options).serve_forever()


class ChannelSession(ConnectionCore):
    """One channel connection of an :class:`ObjectServer` (see the module's table)."""

    server: ObjectServer
    #: A graceful stop reaches an idle connection as end of input (the blocking driver shuts
    #: the read side of idle streams): no wait on the stop signal before every message.
    stop_by_eof: ClassVar[bool] = True

    def connection_made(self, shell: Shell) -> None:
        super().connection_made(shell)
        server = self.server
        self.core = ChannelConnection(True, server.authkey, nonce=os.urandom(NONCE_SIZE),
                                      max_message=server.max_message,
                                      allow_md5=server.allow_md5)
        self.serializer = own_serializer(server.serializer)
        self.recycles = copies_payload(self.serializer)
        self.encode = encoder(self.serializer)
        self.working = self.stopping = False
        self.opened = shell.now()
        self.message_since: float | None = None
        self.payload: bytes | bytearray = b""  # the message of the call in flight
        self.calls = self.seen = 0  # calls so far; ``calls`` when the idle deadline was set
        self.idle_armed = False
        self._work = Work(self._call)
        self._flush()
        self._arm()

    @property
    def idle(self) -> bool:
        return not self.working and self.core.at_rest

    # -- events from the driver -------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.core.receive_data(data)
        self._pump()

    def eof_received(self) -> None:
        self.core.receive_data(b"")
        self._pump()

    def deadline_reached(self) -> None:
        if self.working:
            return
        if self.core.authenticating:
            self._end("closed: no handshake within the deadline", logging.WARNING)
        elif self.message_since is not None:
            self._end("closed: a message did not arrive within the deadline", logging.WARNING)
        elif self.calls != self.seen:
            self._arm_idle()  # calls came since it was armed: not idle yet
        else:
            self._end("closed on idle timeout")

    def stop(self) -> None:
        self.stopping = True
        if self.idle:
            self._end("closed: the server is stopping")

    def work_done(self, work: Work) -> None:
        self.working = False
        if work.error is not None:
            logger.error("a call from %s failed: %s", self.client_address, work.error)
            self._end("closed: the call failed", logging.ERROR)
            return
        if work.result:
            self.shell.send(work.result)
        self.served = True
        core = self.core
        if core.at_rest and not core.eof and not self.stopping:
            # Nothing more arrived during the call (the usual case). The idle deadline is
            # moved lazily: when it comes, calls since it was armed push it on.
            if not self.idle_armed:
                self._arm_idle()
        else:
            self._pump()

    # -- the loop ---------------------------------------------------------------------------
    def _pump(self) -> None:
        core = self.core
        try:
            while (event := core.next_event()) is not NEED_DATA:
                if event is AUTHENTICATED:
                    continue
                if event is CLOSED:
                    self._end("closed by the client", close=True)
                    return
                assert isinstance(event, Message)
                self.working = True
                self.message_since = None
                # One call in flight at a time: the session's one Work object carries it.
                work, self.payload = self._work, event.payload
                self.calls += 1
                work.result = work.error = None
                self.shell.run(work)
                return
        except AuthenticationError as exc:
            self._flush()
            self._end(f"refused: {exc}", logging.WARNING, close=True)
            return
        except (RemoteProtocolError, LimitExceeded, IncompleteRead) as exc:
            self._end(f"closed: {exc}", logging.WARNING)
            return
        self._flush()  # the handshake's frames
        if self.stopping and self.idle:
            self._end("closed: the server is stopping")
        else:
            self._arm()

    def _call(self, io: WorkIO) -> bytes:
        """(Work) decode the call in ``payload``, run it, encode the answer: a small one is
        returned as its frame's bytes, a large one sent from here, header then payload,
        straight from the serializer's buffer (no copy to put them together, no fresh
        megabytes per reply)."""
        serializer, dispatcher, encode = self.serializer, self.server.dispatcher, self.encode
        payload, self.payload = self.payload, b""
        try:
            try:
                name, args, kwargs = check_call(serializer.loads(payload))
            except RemoteProtocolError as exc:
                raise Fault(PARSE_ERROR, f"Parse error: {exc}") from None
            finally:
                # Decoded (or not decodable): the buffer can take the next large message,
                # which the session reads only after this call is answered.
                if self.recycles and type(payload) is bytearray:  # a large one
                    self.core.recycle(payload)
            result = dispatcher.invoke(name, args, kwargs)
            # A scalar's reply is a few bytes: packed straight to bytes (see SCALARS).
            reply = (serializer.dumps if type(result) in SCALARS else encode)(
                result_reply(result))
        except Fault as fault:
            reply = encode(fault_reply(fault))
        except (LocalProtocolError, LimitExceeded) as exc:
            reply = encode(fault_reply(Fault(INTERNAL_ERROR, f"Internal error: {exc}")))
        if len(reply) < _COPY_BELOW:
            return self.core.send(reply)
        io.send(header(len(reply)))
        io.send(reply)  # the driver sends it or copies it before this returns
        return b""

    def _flush(self) -> None:
        if data := self.core.data_to_send():
            self.shell.send(data)

    def _arm(self) -> None:
        """The deadline for what the connection waits for now."""
        shell, timeouts, core = self.shell, self.server.timeouts, self.core
        if core.at_rest:  # between calls: the usual case
            self._arm_idle()
            return
        self.idle_armed = False
        if core.authenticating:
            limit = timeouts.handshake
            shell.set_deadline(None if limit is None else self.opened + limit)
            return
        if self.message_since is None:  # a message has begun
            self.message_since = shell.now()
        limit = timeouts.message
        shell.set_deadline(None if limit is None else self.message_since + limit)

    def _arm_idle(self) -> None:
        self.message_since = None
        self.seen, self.idle_armed = self.calls, True
        idle, shell = self.server.timeouts.idle, self.shell
        shell.set_deadline(None if idle is None else shell.now() + idle)

    def _end(self, outcome: str, level: int = logging.INFO, close: bool = False) -> None:
        self.outcome, self.level = outcome, level
        if close:
            self.shell.close()
        else:
            self.shell.abort()
