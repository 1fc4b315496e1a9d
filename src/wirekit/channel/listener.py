"""``Listener``: accept authenticated channels, as ``multiprocessing.connection.Listener``,
without letting one silent peer hold up everybody else.

    from wirekit.channel import Listener

    with Listener("127.0.0.1:6000", authkey=b"secret") as listener:
        with listener.accept() as conn:        # a stdlib Client works too
            print(conn.recv())

The standard library authenticates inside ``accept()``, so a client that connects and says
nothing blocks the next legitimate one until it gives up (SECURITY.md R03, measured). Here each
new connection is authenticated in a short-lived thread of its own, within
``timeouts.handshake`` (5 s), and ``accept()`` returns the first one that passed: a silent or
wrong peer costs a thread for at most that long and is then dropped. At most ``max_pending``
handshakes run at once; connections beyond wait in the kernel's backlog. A peer that fails is
logged and counted in ``refused``; it never reaches ``accept()``'s caller.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import select
import socket
import ssl
import threading
from typing import Any

from wirekit.channel.connection import (
    Connection,
    authenticate,
    channel_address,
    check_serializer,
    own_serializer,
)
from wirekit.channel.errors import ChannelClosed
from wirekit.config import DEFAULT_TIMEOUTS, Timeouts
from wirekit.errors import Timeout, WirekitError
from wirekit.net.address import Address, AddressLike
from wirekit.net.deadline import Deadline
from wirekit.net.listener import listen
from wirekit.net.stream import Stream
from wirekit.proto.channel import (
    DEFAULT_MAX_MESSAGE,
    NONCE_SIZE,
    ChannelConnection,
    Serializer,
)

__all__ = ["Listener"]

logger = logging.getLogger("wirekit.channel")


class Listener:
    """Listen on ``address`` (default ``127.0.0.1`` on a free port: loopback unless told
    otherwise, as Pyro does); ``authkey`` as the standard library (None: no handshake, and
    then msgpack only). ``tls``: a server ``SSLContext`` (the handshake runs inside TLS).
    ``unix_mode``: the permissions of a Unix socket file (0600: only its owner may connect).
    """

    def __init__(self, address: AddressLike | None = None, authkey: bytes | None = None, *,
                 serializer: str | Serializer = "msgpack", tls: ssl.SSLContext | None = None,
                 backlog: int | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 max_message: int = DEFAULT_MAX_MESSAGE, allow_md5: bool = True,
                 max_pending: int = 64, unix_mode: int = 0o600) -> None:
        self.serializer = check_serializer(serializer, authkey)
        self.authkey = authkey
        self.tls = tls
        self.timeouts = timeouts
        self.max_message = max_message
        self.allow_md5 = allow_md5
        self.max_pending = max_pending
        where = channel_address(address if address is not None else "127.0.0.1:0")
        self._listener = listen(where, backlog=backlog, mode=unix_mode, timeouts=timeouts)
        self.address: Address = self._listener.address
        self.last_accepted: Address | None = None
        self.refused = 0  # peers dropped for failing or not finishing the handshake
        self._ready: collections.deque[Connection] = collections.deque()
        self._lock = threading.Lock()
        self._pending = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._closed = False

    def accept(self, timeout: float | None = None) -> Connection:
        """The next authenticated connection (waiting at most ``timeout`` seconds)."""
        deadline = Deadline(timeout)
        while True:
            with self._lock:
                if self._closed:
                    raise ChannelClosed("the listener is closed")
                if self._ready:
                    connection = self._ready.popleft()
                    self.last_accepted = connection.stream.peer if not \
                        self.address.is_unix else self.address
                    return connection
                room = self._pending < self.max_pending
            watched: list[Any] = [self._wake_r] + ([self._listener.socket] if room else [])
            try:
                readable, _, _ = select.select(watched, [], [], deadline.remaining("accept"))
                if not readable:
                    raise Timeout("accept", timeout)
                if self._wake_r in readable:
                    self._wake_r.recv(4096)
                if self._listener.socket in readable:
                    self._start_handshake()
            except Timeout:
                raise Timeout("accept", timeout) from None
            except (OSError, ValueError):  # closed by another thread meanwhile
                if self._closed:
                    raise ChannelClosed("the listener was closed while accepting") from None
                raise

    def _start_handshake(self) -> None:
        try:
            stream = self._listener.accept(timeout=0)
        except (Timeout, OSError):
            return  # the client went away before we took it
        with self._lock:
            self._pending += 1
        threading.Thread(target=self._handshake, args=(stream,), name="wirekit-channel-auth",
                         daemon=True).start()

    def _handshake(self, stream: Stream) -> None:
        """(thread) TLS, then the authkey handshake, within one deadline."""
        deadline = Deadline(self.timeouts.handshake)
        try:
            if self.tls is not None:
                stream.start_tls(self.tls, server_side=True,
                                 timeout=deadline.remaining("TLS handshake"))
            core = ChannelConnection(True, self.authkey, nonce=os.urandom(NONCE_SIZE),
                                     max_message=self.max_message, allow_md5=self.allow_md5)
            authenticate(stream, core, deadline)
        except (WirekitError, OSError, ssl.SSLError) as exc:
            peer = "?"
            with contextlib.suppress(OSError):
                peer = str(stream.peer)
            logger.warning("channel peer %s refused: %s", peer, exc)
            stream.close()
            with self._lock:
                self._pending -= 1
                self.refused += 1
            self._wake()
            return
        with self._lock:
            self._pending -= 1
            closed = self._closed
            if not closed:
                self._ready.append(Connection(stream, core, own_serializer(self.serializer)))
        if closed:  # the listener closed while this peer authenticated: nobody will accept
            stream.close()
            return
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def close(self) -> None:
        """Stop listening; connections already accepted stay open."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiting, self._ready = list(self._ready), collections.deque()
        self._wake()  # an accept() waiting in another thread raises ChannelClosed
        self._listener.close()
        for connection in waiting:
            connection.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Listener {self.address} {self.serializer.name}>"
