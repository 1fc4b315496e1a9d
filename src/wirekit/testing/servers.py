"""Servers for the other protocols, each on a free loopback port for a ``with`` block.

    from wirekit.testing import serve_echo, serve_rpc, channel_listener

    with serve_echo() as echo:                  # echo.address: a TCP echo server
        ...
    with serve_rpc(add) as rpc:                 # rpc.url: XML-RPC (jsonrpc=True: JSON-RPC)
        ...
    with channel_listener() as listener:        # listener.address, listener.authkey
        ...

Each stops (and closes what it opened) when the block ends, whatever happened in it.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from wirekit.channel import Listener
from wirekit.rpc import RPCServer
from wirekit.server import Server
from wirekit.server.services import EchoHandler

__all__ = ["channel_listener", "serve_echo", "serve_rpc"]


def _loopback(host: str) -> str:
    return f"[{host}]:0" if ":" in host else f"{host}:0"


@contextlib.contextmanager
def serve_echo(host: str = "127.0.0.1", *, concurrency: str = "threads",
               **options: Any) -> Iterator[Server]:
    """The course's echo server (``wirekit.server.services.EchoHandler``) in a background
    thread: ``server.address`` is where to connect."""
    server = Server(EchoHandler, _loopback(host), concurrency=concurrency, **options)
    server.start()
    try:
        yield server
    finally:
        server.shutdown(10)


@contextlib.contextmanager
def serve_rpc(*functions: Callable[..., Any], instance: object = None, jsonrpc: bool = False,
              host: str = "127.0.0.1", **options: Any) -> Iterator[RPCServer]:
    """An XML-RPC (``jsonrpc=True``: JSON-RPC 2.0) server offering ``functions`` (and
    ``instance``'s public methods); more can be registered while it runs. ``server.url`` is
    the endpoint for a proxy."""
    server = RPCServer(_loopback(host), jsonrpc=jsonrpc, **options)
    for function in functions:
        server.register_function(function)
    if instance is not None:
        server.register_instance(instance)
    server.start()
    try:
        yield server
    finally:
        server.shutdown(timeout=10)


@contextlib.contextmanager
def channel_listener(authkey: bytes | None = None, *, host: str = "127.0.0.1",
                     **options: Any) -> Iterator[Listener]:
    """A :class:`~wirekit.channel.Listener` with a fresh random ``authkey`` unless one is
    given: connect with ``Client(listener.address, authkey=listener.authkey)`` and
    ``listener.accept()`` the other end."""
    key = authkey if authkey is not None else secrets.token_bytes(32)
    with Listener(_loopback(host), authkey=key, **options) as listener:
        yield listener
