"""L2, serving: handlers written once, served with the concurrency you choose.

>>> from wirekit.server import FramedHandler, Server
>>> class Upper(FramedHandler):
...     def handle_message(self, message):
...         return message.upper()
>>> server = Server(Upper, "127.0.0.1:0", concurrency="threads")  # then server.serve_forever()
>>> server.close()
"""

from wirekit.server.access import AccessPolicy
from wirekit.server.core import ConnectionCore, Shell, Work, WorkIO
from wirekit.server.framed import FramedHandler
from wirekit.server.handlers import (
    AsyncStreamHandler,
    DatagramHandler,
    Handler,
    StreamHandler,
)
from wirekit.server.modes import Async, Fork, Mode, Prefork, Sync, Threads
from wirekit.server.modes.prefork import WorkerBootError
from wirekit.server.process import ServingProcess
from wirekit.server.server import Server

__all__ = [
    "AccessPolicy",
    "Async",
    "AsyncStreamHandler",
    "ConnectionCore",
    "DatagramHandler",
    "Fork",
    "FramedHandler",
    "Handler",
    "Mode",
    "Prefork",
    "Server",
    "ServingProcess",
    "Shell",
    "StreamHandler",
    "Sync",
    "Threads",
    "Work",
    "WorkIO",
    "WorkerBootError",
]
