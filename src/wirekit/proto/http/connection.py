"""``Connection``: one sans-IO HTTP/1.1 endpoint, used by servers and clients alike.

Feed it the bytes that arrived (``receive_data``), take events out (``next_event``), and turn
the events you want to send into bytes (``send``); it never touches a socket. The shape is
h11's ``Connection``, with an llhttp-backed parser and a few hot-path shortcuts:
``send_response`` builds a whole response in one buffer (one write per response) and
``send_data``/``send_end_of_message`` frame content without allocating events.

A server's loop::

    conn = Connection(Role.SERVER)
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            conn.receive_data(sock.recv(65536))   # b"" at EOF
        elif isinstance(event, Request):
            ...                                   # read Data until EndOfMessage, run the app
            sock.sendall(conn.send_response(200, [("Content-Type", "text/plain")], b"hi"))
            if conn.our_state is not State.DONE:
                break                             # MUST_CLOSE: close the socket
            conn.start_next_cycle()
        elif isinstance(event, ConnectionClosed):
            break

Errors: ``next_event`` raises ``RemoteProtocolError`` or ``MessageTooLarge``; both carry the
``status`` to answer with (400, 413, 414, 417, 431, 501, 505). After one, the peer's side is
ERROR; the server may still send one response (``send_response(exc.status, ...)``), which
carries ``Connection: close``, and must then close. ``send`` raises ``LocalProtocolError``
(status 500) for anything it refuses to write, before changing any state, so a 500 can follow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable
from typing import Any, Final

from wirekit.config import DEFAULT_LIMITS, Limits
from wirekit.errors import ConfigError, LimitExceeded, LocalProtocolError, RemoteProtocolError
from wirekit.proto.buffer import ReceiveBuffer
from wirekit.proto.http.body import BodyReader, ChunkedReader, LengthReader, UntilCloseReader
from wirekit.proto.http.dates import http_date
from wirekit.proto.http.events import (
    CONNECTION_CLOSED,
    END_OF_MESSAGE,
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    InformationalResponse,
    Request,
    Response,
    Wait,
    trusted_request,
)
from wirekit.proto.http.framing import (
    WATCHED_FIELDS,
    BodyKind,
    Framing,
    request_framing,
    response_framing,
)
from wirekit.proto.http.headers import Headers
from wirekit.proto.http.parser import (
    FieldSectionParser,
    HeadFinder,
    parse_request_line,
    parse_status_line,
)
from wirekit.proto.http.state import ConnectionState, Role, State, Switch
from wirekit.proto.http.writer import (
    BodyWriter,
    LengthWriter,
    check_field,
    request_head,
    response_head,
)

__all__ = ["Connection"]

_WHOLE_PIECE_READERS: Final = (LengthReader, UntilCloseReader)
_VERSIONS: Final = {0: "1.0", 1: "1.1"}  # interned: no string building per request


class Connection:
    """One end of an HTTP/1.1 connection, as a state machine over bytes and events.

    ``limits`` bounds everything the peer can make us hold (``wirekit.config.Limits``; a server
    applies ``max_request_body`` to request content, a client reads responses of any length).
    ``methods``: if given, a server answers any other method with 501 (RFC 9110 §9.1); by
    default every upper-case token method reaches the application, as WSGI expects.
    ``server_header`` is the ``Server`` value a server adds when the application set none
    (``None`` to omit). ``dangerous_allow_missing_host`` accepts HTTP/1.1 requests without
    ``Host``, which RFC 9112 §3.2 says to refuse with 400 (an opt-in, per SECURITY.md §3).
    """

    __slots__ = (
        "_buf", "_client_waiting_100", "_cstate", "_eof", "_fields", "_finder", "_framing",
        "_last_head", "_limits", "_max_body", "_methods", "_piece", "_reader", "_received",
        "_request_method", "_require_host", "_server_header", "_writer", "head_line",
        "our_role", "their_http_version", "their_role",
    )  # fmt: skip

    def __init__(
        self,
        our_role: Role,
        *,
        limits: Limits = DEFAULT_LIMITS,
        methods: Collection[str] | None = None,
        server_header: str | None = "wirekit",
        dangerous_allow_missing_host: bool = False,
    ) -> None:
        if server_header is not None:
            try:
                check_field("Server", server_header)
            except LocalProtocolError as exc:
                raise ConfigError(f"server_header: {exc}") from None
        self.our_role = our_role
        self.their_role = Role.SERVER if our_role is Role.CLIENT else Role.CLIENT
        #: "1.0" or "1.1" once the peer's first head arrived, else None.
        self.their_http_version: str | None = None
        self._cstate = ConnectionState()
        self._limits = limits
        self._max_body = limits.max_request_body if our_role is Role.SERVER else sys.maxsize
        self._methods = None if methods is None else frozenset(methods)
        self._server_header = server_header
        self._require_host = not dangerous_allow_missing_host
        # What arrived and is not parsed yet: the scanners below work on its bytes in place.
        self._received = ReceiveBuffer()
        self._buf = self._received.data
        # A whole received piece of content held without copying it into the buffer (see
        # receive_data); it comes before anything in the buffer.
        self._piece: bytes | None = None
        self._eof = False
        self._finder = HeadFinder(limits)
        self._fields = FieldSectionParser(limits)
        self._framing: Framing | None = None
        self._reader: BodyReader | None = None  # None while no content is expected
        self._writer: BodyWriter | None = None
        self._request_method: str | None = None
        self._client_waiting_100 = False
        # The last request's line, fields, (method, target, minor), headers and framing: a
        # keep-alive client repeating itself byte for byte is not parsed twice.
        self._last_head: tuple[Any, ...] | None = None
        #: The start line of the last head taken from the buffer (parsed or refused), for
        #: log lines about a refused request.
        self.head_line: bytes | bytearray = b""

    # -- state ------------------------------------------------------------------------------

    @property
    def our_state(self) -> State:
        """Our side's state (``State.MUST_CLOSE`` means: close once everything is written)."""
        return self._cstate.states[self.our_role]

    @property
    def their_state(self) -> State:
        """The peer's state."""
        return self._cstate.states[self.their_role]

    @property
    def states(self) -> dict[Role, State]:
        """Both states, keyed by role (a copy)."""
        return dict(self._cstate.states)

    @property
    def client_is_waiting_for_100_continue(self) -> bool:
        """The client sent ``Expect: 100-continue`` and has had no response nor sent content.

        A server that wants the body sends ``InformationalResponse(100)`` first (RFC 9110
        §10.1.1); one that answers without reading it gets a final response out instead.
        """
        return self._client_waiting_100

    @property
    def they_are_waiting_for_100_continue(self) -> bool:
        """The peer is a client waiting for ``100 Continue`` (see above)."""
        return self.their_role is Role.CLIENT and self._client_waiting_100

    @property
    def reusable(self) -> bool:
        """Both sides finished their message and the connection is kept alive: call
        ``start_next_cycle()`` for the next exchange."""
        states = self._cstate.states
        return states[Role.CLIENT] is State.DONE and states[Role.SERVER] is State.DONE

    @property
    def needs_data(self) -> bool:
        """Nothing is buffered and the peer has not closed: ``next_event`` would say
        ``NEED_DATA`` (a cheap check before calling it)."""
        return not self._buf and self._piece is None and not self._eof

    @property
    def their_content_length(self) -> int | None:
        """The length of the content of the message being received: 0 when it has none,
        None when it is chunked or runs until the connection closes."""
        framing = self._framing
        if framing is None or framing.kind is BodyKind.NONE:
            return 0
        return framing.length if framing.kind is BodyKind.LENGTH else None

    @property
    def content_remaining(self) -> int | None:
        """Bytes of content still owed by the message we are sending, when its length was
        announced (``Content-Length``); None for chunked or close-delimited content."""
        writer = self._writer
        return writer.remaining if type(writer) is LengthWriter else None

    @property
    def partial_head(self) -> bool:
        """Part of the peer's next head is buffered: on a header deadline, answer 408."""
        return self.their_state is State.IDLE and bool(self._buf)

    @property
    def trailing_data(self) -> tuple[bytes, bool]:
        """Received bytes not yet parsed, and whether EOF was seen (after a protocol switch)."""
        return (self._piece or b"") + bytes(self._buf), self._eof

    def start_next_cycle(self) -> None:
        """Both sides are DONE with a keep-alive exchange: get ready for the next one."""
        self._cstate.start_next_cycle()
        self._request_method = None
        self._reader = None
        self._writer = None
        self._client_waiting_100 = False

    def disable_keep_alive(self) -> None:
        """The connection closes after the current exchange: the response says
        ``Connection: close`` (a server that is stopping, RFC 9112 §9.6)."""
        self._cstate.process_keep_alive_disabled()

    def send_failed(self) -> None:
        """Writing failed or was abandoned: our side is ERROR and the connection must close."""
        self._cstate.process_error(self.our_role)

    def _transition(self, role: Role, event_type: type, switch: Switch | None = None) -> None:
        try:
            self._cstate.process_event(role, event_type, switch)
        except LocalProtocolError as exc:
            if role is self.our_role:
                raise
            raise RemoteProtocolError(str(exc)) from None

    # -- receiving --------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the peer; ``b""`` means the peer closed (EOF)."""
        if data:
            if self._eof:
                raise LocalProtocolError("received data after the end of the stream")
            # Content counted by length or running to the close is handed out as it arrived,
            # without copying it into the buffer and out again: a download or an upload
            # costs the one copy the socket made.
            if (not self._buf and self._piece is None and type(data) is bytes
                    and type(self._reader) in _WHOLE_PIECE_READERS
                    and self._cstate.states[self.their_role] is State.SEND_BODY):
                self._piece = data
            else:
                self._received.feed(data)
        else:
            self._eof = True

    def next_event(self) -> Event | Wait:
        """The next event from the peer, or ``NEED_DATA``/``PAUSED``.

        Raises ``RemoteProtocolError``/``MessageTooLarge`` (with ``.status``) when the peer
        broke the protocol or a limit; the connection then cannot receive any more.
        """
        their_state = self._cstate.states[self.their_role]
        if their_state is State.ERROR:
            raise RemoteProtocolError("the peer already broke the protocol on this connection")
        try:
            event = _READ_STEPS[their_state](self)
            if type(event) is not Wait:
                _PROCESS_THEIRS[type(event)](self, event)
        except (RemoteProtocolError, LimitExceeded):
            self._cstate.process_keep_alive_disabled()
            self._cstate.process_error(self.their_role)
            raise
        return event

    def _read_head(self) -> Event | Wait:
        buf = self._buf
        end = self._finder.find(buf)
        if end < 0:
            if not self._eof:
                return NEED_DATA
            if buf:
                raise RemoteProtocolError("connection closed in the middle of a message head")
            if self.their_state is State.SEND_RESPONSE:
                raise RemoteProtocolError("connection closed without a response")
            return CONNECTION_CLOSED
        line_end = self._finder.line_end
        line = buf[:line_end]  # bytearray copies: the parsers take any bytes-like object
        section = buf[line_end + 2 : end]
        del buf[:end]
        self.head_line = line
        self._finder.reset()
        if self.our_role is Role.SERVER:
            return self._request_from(line, section)
        return self._response_from(line, section)

    def _request_from(self, line: bytes | bytearray, section: bytes | bytearray) -> Request:
        last = self._last_head
        if last is not None and last[0] == line:
            method, target, minor = last[2]
        else:
            method, target, major, minor = parse_request_line(line)
            if major != 1:  # RFC 9110 §15.6.6: wirekit speaks HTTP/1.x only
                raise RemoteProtocolError(f"HTTP/{major}.{minor} is not supported", status=505)
            if self._methods is not None and method not in self._methods:
                raise RemoteProtocolError(f"method {method!r} is not implemented", status=501)
            last = None
        fields, found = self._fields.parse(section, WATCHED_FIELDS)
        if last is not None and last[1] is fields:
            headers, framing = last[3], last[4]
        else:
            framing = request_framing(
                method, minor, found, max_body=self._max_body, require_host=self._require_host
            )
            headers = Headers._trusted(fields)
            self._last_head = (bytes(line), fields, (method, target, minor), headers, framing)
        self._framing = framing
        return trusted_request(method, target, headers, _VERSIONS.get(minor, "1.1"))

    def _response_from(self, line: bytes | bytearray, section: bytes | bytearray
                       ) -> Response | InformationalResponse:
        status, reason, major, minor = parse_status_line(line)
        if major != 1 or status < 100:
            raise RemoteProtocolError(f"unsupported status-line {line[:100]!r}")
        fields, found = self._fields.parse(section, WATCHED_FIELDS)
        self._framing = response_framing(status, minor, found, self._request_method)
        cls = InformationalResponse if status < 200 else Response
        return cls(status, Headers._trusted(fields), reason, _VERSIONS.get(minor, "1.1"))

    def _read_body(self) -> Event | Wait:
        reader = self._reader
        if reader is None:  # a message without content (the common GET)
            return END_OF_MESSAGE
        piece = self._piece
        if piece is not None and not isinstance(reader, ChunkedReader):  # see receive_data
            self._piece = None
            whole, rest = reader.read_piece(piece)
            if rest:
                self._buf[0:0] = rest  # whatever follows the content, ahead of later bytes
            return whole
        event = reader.read(self._buf)
        if event is not None:
            return event
        return reader.eof() if self._eof else NEED_DATA

    def _read_after_message(self) -> Event | Wait:
        # Bytes after a message wait for start_next_cycle(); after a last message they are
        # never parsed at all (a request behind "Connection: close" is not a request).
        if self._eof and (not self._buf or self.their_state is State.MUST_CLOSE):
            return CONNECTION_CLOSED
        return PAUSED

    def _read_closed(self) -> Event | Wait:
        return CONNECTION_CLOSED

    def _read_paused(self) -> Event | Wait:
        return PAUSED

    def _their_request(self, event: Request) -> None:
        framing = self._framing
        assert framing is not None
        try:  # _transition, inline: once per request
            self._cstate.process_event(Role.CLIENT, Request)
        except LocalProtocolError as exc:
            raise RemoteProtocolError(str(exc)) from None
        if framing.switch is not None:
            self._cstate.process_client_switch_proposal(framing.switch)
        self._request_method = event.method
        self.their_http_version = event.http_version
        self._reader = self._reader_for(framing)
        self._client_waiting_100 = framing.expect_continue
        if not framing.keep_alive:
            self._cstate.process_keep_alive_disabled()

    def _their_response(self, event: Response | InformationalResponse) -> None:
        framing = self._framing
        assert framing is not None
        switch = framing.switch
        if switch is not None and switch not in self._cstate.pending_switches:
            if event.status_code == 101:
                raise RemoteProtocolError("101 Switching Protocols without an Upgrade request")
            switch = None
        self._transition(Role.SERVER, type(event), switch)
        self._client_waiting_100 = False
        self.their_http_version = event.http_version
        if type(event) is Response:
            self._reader = self._reader_for(framing)
            if not framing.keep_alive:
                self._cstate.process_keep_alive_disabled()

    def _their_content(self, event: Data | EndOfMessage) -> None:
        their_role = self.their_role
        if their_role is Role.CLIENT:
            self._client_waiting_100 = False
        try:  # _transition, inline: at least once per message
            self._cstate.process_event(their_role, type(event))
        except LocalProtocolError as exc:
            raise RemoteProtocolError(str(exc)) from None
        if type(event) is EndOfMessage:
            self._reader = None

    def _their_close(self, event: ConnectionClosed) -> None:
        self._transition(self.their_role, ConnectionClosed)

    def _reader_for(self, framing: Framing) -> BodyReader | None:
        kind = framing.kind
        if kind is BodyKind.NONE:
            return None
        if kind is BodyKind.LENGTH:
            return LengthReader(framing.length)
        if kind is BodyKind.CHUNKED:
            return ChunkedReader(self._limits, self._fields, self._max_body)
        return UntilCloseReader()

    # -- sending ----------------------------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """Serialise ``event`` and return the bytes to write (``b""`` for ``ConnectionClosed``).

        Raises ``LocalProtocolError`` (status 500) for anything that would break the message,
        before any state changes.
        """
        sender = _SENDERS.get(type(event))
        if sender is None:
            raise TypeError(f"not an HTTP event: {event!r}")
        return sender(self, event)

    def send_response(
        self, status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", *,
        reason: str = "",
    ) -> bytes:  # fmt: skip
        """A whole final response (head, content, end) as one buffer: the server hot path.

        ``Content-Length`` is added when missing; for HEAD, 204 and 304 the content is not
        sent (RFC 9110 §6.4.1), but HEAD still announces its length.
        """
        head, content = self.send_response_parts(status, headers, body, reason=reason)
        return head + content if content else head

    def send_response_parts(
        self, status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", *,
        reason: str = "",
    ) -> tuple[bytes, bytes]:  # fmt: skip
        """``send_response`` as its head and the framed content that follows it, for a
        caller that writes a large body without first copying the two into one buffer."""
        if status < 200:
            raise LocalProtocolError("send_response is for final responses; use send()")
        tunnel = self._request_method == "CONNECT" and 200 <= status < 300
        if tunnel and body:
            raise LocalProtocolError("a 2xx answer to CONNECT has no content (RFC 9110 §9.3.6)")
        head = self._respond(Response, status, reason, headers, len(body))
        if self._cstate.states[Role.SERVER] is State.SWITCHED_PROTOCOL:
            return head, b""  # the tunnel starts right after the head
        writer = self._writer
        if type(writer) is LengthWriter:  # the usual case: the head announced len(body)
            content = body if writer.remaining else b""
        else:
            assert writer is not None
            content = writer.data(body) + writer.end(()) if body else writer.end(())
        self._cstate.process_event(Role.SERVER, EndOfMessage)
        self._writer = None
        return head, content

    def send_data(self, data: bytes) -> bytes:
        """Frame one piece of content for the message being sent."""
        writer = self._writer
        if writer is None or self._cstate.states[self.our_role] is not State.SEND_BODY:
            raise LocalProtocolError(f"can't send content in state {self.our_state.value}")
        if self.our_role is Role.CLIENT:
            self._client_waiting_100 = False
        return writer.data(data)

    def content_sent(self, count: int) -> None:
        """Account for ``count`` bytes of content the caller sent itself (``sendfile(2)``
        straight from a file), so the announced length is still checked at the end."""
        writer = self._writer
        if type(writer) is not LengthWriter or self._cstate.states[self.our_role] \
                is not State.SEND_BODY:
            raise LocalProtocolError("content_sent() needs content framed by Content-Length")
        if count > writer.remaining:
            raise LocalProtocolError(
                f"{count} bytes sent with only {writer.remaining} left of the Content-Length")
        writer.remaining -= count

    def send_end_of_message(self, trailers: Iterable[tuple[str, str]] = ()) -> bytes:
        """End the message being sent (the last chunk and trailers when chunked)."""
        writer = self._writer
        if writer is None or self._cstate.states[self.our_role] is not State.SEND_BODY:
            raise LocalProtocolError(f"can't end a message in state {self.our_state.value}")
        out = writer.end(trailers)
        self._cstate.process_event(self.our_role, EndOfMessage)
        self._writer = None
        if self.our_role is Role.CLIENT:
            self._client_waiting_100 = False
        return out

    def send_request(
        self, method: str, target: str, headers: Iterable[tuple[str, str]] | Headers,
        body: bytes = b"",
    ) -> bytes:  # fmt: skip
        """A whole request (head, content, end) as one buffer: the client hot path, what
        ``send(Request(...))``, ``send_data(body)`` and ``send_end_of_message()`` give in
        turn, without the events. ``Content-Length`` is added when missing and there is a
        body; the head is checked as ``send`` checks it (a repeated head is checked once)."""
        # body_length makes the head refuse a Content-Length that differs from the body
        # before any state changes.
        head = self._request_head(method, target, headers, len(body))
        if not body:
            return head + self.send_end_of_message()
        return head + self.send_data(body) + self.send_end_of_message()

    def _send_request(self, event: Request) -> bytes:
        return self._request_head(event.method, event.target, event.headers, None)

    def _request_head(self, method: str, target: str,
                      headers: Iterable[tuple[str, str]] | Headers,
                      body_length: int | None) -> bytes:
        if self.our_role is not Role.CLIENT:
            raise LocalProtocolError("only a client sends requests")
        out = request_head(method, target, headers, body_length=body_length)
        self._cstate.process_event(Role.CLIENT, Request)
        if method == "CONNECT":
            self._cstate.process_client_switch_proposal(Switch.CONNECT)
        elif out.upgrade:
            self._cstate.process_client_switch_proposal(Switch.UPGRADE)
        self._request_method = method
        self._writer = out.writer
        self._client_waiting_100 = out.expect_continue
        if not out.keep_alive:
            self._cstate.process_keep_alive_disabled()
        return out.head

    def _send_head(self, event: Response | InformationalResponse) -> bytes:
        return self._respond(type(event), event.status_code, event.reason, event.headers.fields,
                             None)

    def _respond(
        self, cls: type, status: int, reason: str, headers: Iterable[tuple[str, str]],
        body_length: int | None,
    ) -> bytes:  # fmt: skip
        if self.our_role is not Role.SERVER:
            raise LocalProtocolError("only a server sends responses")
        final = cls is Response
        their_state = self._cstate.states[Role.CLIENT]
        answered = their_state is not State.IDLE and their_state is not State.ERROR
        switch = None
        if not final and status == 101:
            switch = Switch.UPGRADE
        elif final and self._request_method == "CONNECT" and 200 <= status < 300:
            switch = Switch.CONNECT
        out = response_head(
            status, reason, headers,
            request_method=self._request_method if answered else None,
            peer_minor=0 if self.their_http_version == "1.0" else 1,
            keep_alive=not final or (self._cstate.keep_alive and answered),
            body_length=body_length,
            date=http_date() if final else None,
            server=self._server_header if final else None,
        )  # fmt: skip
        self._cstate.process_event(Role.SERVER, cls, switch)
        self._client_waiting_100 = False
        if final:
            self._writer = out.writer
            if not out.keep_alive:
                self._cstate.process_keep_alive_disabled()
        return out.head

    def _send_data_event(self, event: Data) -> bytes:
        return self.send_data(event.data)

    def _send_end_event(self, event: EndOfMessage) -> bytes:
        return self.send_end_of_message(event.trailers.fields)

    def _send_close(self, event: ConnectionClosed) -> bytes:
        self._cstate.process_event(self.our_role, ConnectionClosed)
        return b""


# Explicit dispatch tables (DESIGN.md principle 7): the peer's state -> how to read next,
# event type -> how to account for it, event type -> how to send it.
_READ_STEPS: Final[dict[State, Callable[[Connection], Event | Wait]]] = {
    State.IDLE: Connection._read_head,
    State.SEND_RESPONSE: Connection._read_head,  # a client awaiting the (next) response head
    State.SEND_BODY: Connection._read_body,
    State.DONE: Connection._read_after_message,
    State.MUST_CLOSE: Connection._read_after_message,
    State.CLOSED: Connection._read_closed,
    State.MIGHT_SWITCH_PROTOCOL: Connection._read_paused,
    State.SWITCHED_PROTOCOL: Connection._read_paused,
}
# Each handler takes the event type it is filed under, which a dict's type cannot say: Any.
_PROCESS_THEIRS: Final[dict[type, Callable[[Connection, Any], None]]] = {
    Request: Connection._their_request,
    Response: Connection._their_response,
    InformationalResponse: Connection._their_response,
    Data: Connection._their_content,
    EndOfMessage: Connection._their_content,
    ConnectionClosed: Connection._their_close,
}
_SENDERS: Final[dict[type, Callable[[Connection, Any], bytes]]] = {
    Request: Connection._send_request,
    Response: Connection._send_head,
    InformationalResponse: Connection._send_head,
    Data: Connection._send_data_event,
    EndOfMessage: Connection._send_end_event,
    ConnectionClosed: Connection._send_close,
}
