"""Ready-made handlers for the classic small services: echo (RFC 862) and the course's time
server (slide 1-14; like RFC 867 daytime). Each works under every concurrency mode."""

from __future__ import annotations

import time

from wirekit.net.framing import PassThroughFramer
from wirekit.server.framed import FramedHandler
from wirekit.server.handlers import DatagramHandler

__all__ = ["DatagramEchoHandler", "DatagramTimeHandler", "EchoHandler", "TimeHandler",
           "time_message"]


def time_message() -> bytes:
    """The current local time as the course's server sends it: ``time.ctime()`` plus CRLF."""
    return time.ctime().encode() + b"\r\n"


class EchoHandler(FramedHandler):
    """Sends back every byte it receives, as it arrives."""

    framer = PassThroughFramer

    def handle_message(self, message: bytes) -> bytes:
        return message


class DatagramEchoHandler(DatagramHandler):
    def handle(self) -> None:
        self.reply(self.data)


class TimeHandler(FramedHandler):
    """Sends the time and closes, without waiting for the client to say anything."""

    def greeting(self) -> bytes:
        self.close()
        return time_message()

    def handle_message(self, message: bytes) -> None:  # pragma: no cover - closes first
        return None


class DatagramTimeHandler(DatagramHandler):
    """Answers any datagram with the time."""

    def handle(self) -> None:
        self.reply(time_message())
