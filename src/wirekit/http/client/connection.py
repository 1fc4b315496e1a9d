"""One client connection: a ``Stream`` driven by the shared sans-IO core.

All parsing and serialising is ``wirekit.proto.http.Connection(Role.CLIENT)``; this module
only moves its bytes. The request head and a small body leave in one ``sendall`` (one
segment on the wire), and the response is read in 64 KiB pieces, so a keep-alive GET costs
one send and usually one receive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from wirekit.config import Limits
from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.http.client.bodies import Body
from wirekit.http.client.errors import InvalidRequest
from wirekit.net.stream import Stream
from wirekit.proto.http import (
    NEED_DATA,
    Connection,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
    Role,
    State,
)

__all__ = ["CLIENT_LIMITS", "ClientConnection"]

#: Response heads: the same 100-field cap as CPython (SECURITY.md K07, CVE-2021-3737) but
#: room for the long ``Set-Cookie`` and ``Content-Security-Policy`` lines real sites send;
#: a 64 KiB field line is still refused.
CLIENT_LIMITS: Final = Limits(max_request_line=8190, max_header_field=32 * 1024,
                              max_header_count=100, max_header_block=128 * 1024)
_RECV: Final = 65536
_RECV_BODY: Final = 65536
_MAX_INFORMATIONAL: Final = 20  # 1xx heads before the final one (an endless 100 loop, K07)
_SMALL_BODY: Final = 256 * 1024  # bodies up to this size go out in the head's write


class ClientConnection:
    """A connection to one origin (or proxy), reusable while both sides keep it alive."""

    __slots__ = ("http", "idle_since", "key", "on_close", "read_timeout", "stream", "uses")

    def __init__(self, stream: Stream, key: tuple, read_timeout: float | None,
                 limits: Limits = CLIENT_LIMITS) -> None:
        self.stream = stream
        self.key = key
        self.read_timeout = read_timeout
        self.http = Connection(Role.CLIENT, limits=limits, server_header=None)
        self.idle_since = 0.0
        self.uses = 0
        #: Called once with ``key`` when the connection closes (the pool counts open ones).
        self.on_close: Callable[[tuple], object] | None = None

    def send_request(self, method: str, target: str, headers: list[tuple[str, str]],
                     body: Body | None,
                     progress: Callable[[int, int | None], object] | None = None) -> None:
        """Write the request. Header or target problems raise ``InvalidRequest`` before any
        byte is written (the core checks everything it serialises). ``progress(sent, total)``
        is called as the body goes out."""
        http = self.http
        self.uses += 1
        data = body.data if body is not None else b""
        if data is not None and len(data) <= _SMALL_BODY:  # the whole request in one write
            try:
                out = http.send_request(method, target, headers, data)
            except LocalProtocolError as exc:
                raise InvalidRequest(str(exc)) from None
            self.stream.sendall(out)
            if progress is not None and body is not None:
                progress(len(data), len(data))
            return
        assert body is not None  # a body without data, or a large one
        try:
            head = http.send(Request(method, target, headers))
        except LocalProtocolError as exc:
            raise InvalidRequest(str(exc)) from None
        sendall = self.stream.sendall
        sendall(head)
        if data is not None and progress is None:  # whole, without cutting it into copies
            sendall(http.send_data(data))
            sendall(http.send_end_of_message())
            return
        sent = 0
        for chunk in body.chunks():
            if chunk:
                sendall(http.send_data(chunk))
                if progress is not None:
                    sent += len(chunk)
                    progress(sent, body.length)
        sendall(http.send_end_of_message())

    def receive_head(self) -> Response:
        """The final response head; 1xx heads are skipped (a bounded number of them)."""
        http = self.http
        informational = 0
        while True:
            event = http.next_event()
            if event is NEED_DATA:
                http.receive_data(self.stream.recv(_RECV, self.read_timeout))
            elif type(event) is Response:
                return event
            elif type(event) is InformationalResponse:
                informational += 1
                if informational > _MAX_INFORMATIONAL:
                    raise RemoteProtocolError(f"more than {_MAX_INFORMATIONAL} 1xx responses")
            else:
                raise RemoteProtocolError(f"unexpected {type(event).__name__} before a response")

    def receive_data(self, size: int = _RECV_BODY) -> bytes | None:
        """The next piece of content, or ``None`` at the end of the response."""
        http = self.http
        while True:
            event = http.next_event()
            if type(event) is Data:
                return event.data
            if type(event) is EndOfMessage:
                return None
            if event is NEED_DATA:
                http.receive_data(self.stream.recv(size, self.read_timeout))
            else:
                raise RemoteProtocolError(f"unexpected {type(event).__name__} in a response body")

    @property
    def reusable(self) -> bool:
        """Both sides finished cleanly, nobody asked to close, and nothing came after the
        response. A server sends nothing unasked (RFC 9112 §9.3), so bytes behind a complete
        response are an attack or a framing bug: they would be read as the answer to the next
        request (response queue poisoning), so the connection is never reused."""
        http = self.http
        return (http.our_state is State.DONE and http.their_state is State.DONE
                and http.needs_data and not self.stream.pending)

    def make_idle(self) -> None:
        """Ready for the next request (call only when ``reusable``)."""
        self.http.start_next_cycle()
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.stream.close()
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close(self.key)
