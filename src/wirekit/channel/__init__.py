"""The object channel: processes talking in messages and objects over TCP, TLS or a Unix
socket, authenticated by a shared key, wire-compatible with ``multiprocessing.connection``.

    from wirekit.channel import Client, Listener, serve_object

    with Listener("127.0.0.1:6000", authkey=b"secret") as listener:   # one side
        with listener.accept() as conn:
            conn.send(conn.recv())

    with Client("127.0.0.1:6000", authkey=b"secret") as conn:        # the other
        conn.send({"tuple": (1, 2), "bytes": b"\\x00"})

Objects travel as msgpack (datetime, bytes, tuples and sets come back as they went); pickle
only when asked for (``serializer="pickle"``), only after the handshake, and through an
unpickler that loads nothing outside an allow-list. ``serve_object(obj)`` and
``Client.proxy()`` call an object's public methods remotely with the RPC dispatcher's rules.
See ``docs/channel.md``.
"""

from wirekit.channel.connection import Client, Connection, RemoteObject
from wirekit.channel.errors import ChannelClosed
from wirekit.channel.listener import Listener
from wirekit.channel.server import ObjectServer, serve_object

__all__ = [
    "ChannelClosed",
    "Client",
    "Connection",
    "Listener",
    "ObjectServer",
    "RemoteObject",
    "serve_object",
]
