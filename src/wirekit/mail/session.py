"""``SMTPSession``: one connection of the mail catcher, as a connection core.

The SMTP rules live in the sans-IO ``ServerConnection`` (``wirekit.proto.smtp``); this core
adds what a server on sockets must decide, once, for every concurrency mode:

=====================  ======================================================================
decision               rule
=====================  ======================================================================
between commands       close after ``timeouts.idle`` of silence, with 421 (RFC 5321 §4.5.3.2)
a command line         complete within ``timeouts.message`` of its first byte, however it
                       trickles in (a slow drip, SECURITY.md L04), else 421 and close
content after DATA     no silence longer than ``timeouts.idle``, and all of it within the
                       server's ``content_timeout`` (RFC 5321 §4.5.3.2.6: 10 minutes)
storing a message      off the I/O path (``shell.run``): a Maildir write never stalls the
                       event loop; a failed write is a 451 (try again), never a lost mail
AUTH                   checked against the server's password table in constant time
STARTTLS               the handshake right after the 220 leaves; the core has discarded what
                       came behind it in the clear
graceful stop          an idle session gets 421 at once; a busy one after its message
server full            a new connection gets ``421 4.3.2`` (RFC 5321 §3.8)
=====================  ======================================================================
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from wirekit.proto.smtp import (
    NEED_DATA,
    PAUSED,
    Auth,
    Close,
    Content,
    MailFrom,
    Quit,
    RcptTo,
    ServerConnection,
    ServerState,
    StartTLS,
    Verify,
)
from wirekit.server.core import ConnectionCore, Shell, Work

if TYPE_CHECKING:
    from wirekit.mail.server import MailServer

__all__ = ["LINGER_SECONDS", "SMTPSession"]

logger = logging.getLogger("wirekit.mail")

_QUIET = (ServerState.START, ServerState.READY)
#: How long a refused client may keep sending before the connection is closed under it.
LINGER_SECONDS = 2.0


class SMTPSession(ConnectionCore):
    """One SMTP connection of a :class:`~wirekit.mail.server.MailServer`."""

    overload_response = b"421 4.3.2 Too many connections, try again later\r\n"
    server: MailServer

    def connection_made(self, shell: Shell) -> None:
        super().connection_made(shell)
        self.conn = ServerConnection(self.server.settings,
                                     tls=self.server.accept_tls is not None)
        self.working = self.stopping = False
        self.line_since: float | None = None
        self.content_since: float | None = None
        self.delivered = 0
        self._flush()
        self._arm()

    @property
    def idle(self) -> bool:
        conn = self.conn
        return (not self.working and conn.state in _QUIET and not conn.buffered
                and conn.pending is None)

    # -- events from the driver -------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._pump()

    def eof_received(self) -> None:
        self.conn.receive_data(b"")
        self._pump()

    def deadline_reached(self) -> None:
        if self.working:
            return
        self.conn.timed_out()
        self._finish("closed on timeout", LINGER_SECONDS)

    def stop(self) -> None:
        self.stopping = True
        if self.idle:
            self.conn.shutting_down()
            self._finish("closed: the server is stopping")

    def work_done(self, work: Work) -> None:
        self.working = False
        if work.error is not None:
            logger.error("could not store a message from %s: %s", self.client_address,
                         work.error)
            self.conn.refuse(451, "Could not store the message; try again later", "4.3.0")
        else:
            self.delivered += 1
            self.served = True
            self.conn.accept(f"Message accepted as {work.result}")
        self._pump()

    # -- the loop ---------------------------------------------------------------------------
    def _pump(self) -> None:
        conn = self.conn
        while (event := conn.next_event()) is not NEED_DATA and event is not PAUSED:
            if isinstance(event, Content):
                self._flush()
                self.working = True
                self.shell.run(Work(functools.partial(self._store, event)))
                return
            if isinstance(event, Auth):
                self._authenticate(event)
            elif isinstance(event, MailFrom | RcptTo | Verify):
                conn.accept()  # a catcher takes mail from anyone for anyone, relays none
            elif isinstance(event, StartTLS):
                if not self._start_tls():
                    return
            elif isinstance(event, Quit):
                self._finish("quit")
                return
            elif isinstance(event, Close):
                # A client the core refused may still be sending: linger, so it reads our
                # last reply instead of a reset (the client's own EOF needs none).
                eof = event.reason.startswith("the client closed")
                self._finish(f"closed: {event.reason}", 0.0 if eof else LINGER_SECONDS)
                return
        progressed = self._flush()
        if self.stopping and self.idle:
            conn.shutting_down()
            self._finish("closed: the server is stopping")
        else:
            self._arm(progressed)

    def _store(self, content: Content, io: Any) -> str:
        """(Work) deliver into the Maildir; returns the key."""
        mail = content.mail
        assert mail is not None  # the core gives content with its envelope
        conn = self.conn
        envelope = self.server.envelope(mail, content.recipients, self.client_address,
                                        conn.hello, conn.tls, conn.authenticated)
        key = self.server.store.deliver(content.data, envelope, self.server.settings.hostname)
        logger.info("stored %s from <%s> to %d recipient(s), %d bytes", key, mail.address,
                    len(content.recipients), len(content.data))
        return key

    def _authenticate(self, event: Auth) -> None:
        if self.server.check_password(event.username, event.password):
            self.conn.accept()
        else:
            logger.warning("failed AUTH %s for %r from %s", event.mechanism, event.username,
                           self.client_address)
            self.conn.refuse()

    def _start_tls(self) -> bool:
        self._flush()
        if self.conn.discarded:
            logger.warning("dropped %d plaintext bytes sent behind STARTTLS by %s",
                           self.conn.discarded, self.client_address)
        try:
            self.shell.start_tls()
        except Exception as exc:  # the blocking driver's handshake failed
            self.outcome, self.level = f"TLS handshake failed ({exc})", logging.WARNING
            self.shell.abort()
            return False
        self.conn.tls_started()
        return True

    def _flush(self) -> bool:
        data = self.conn.data_to_send()
        if data:
            self.shell.send(data)
        return bool(data)

    def _finish(self, outcome: str, linger: float = 0.0) -> None:
        self._flush()
        self.outcome = outcome
        self.shell.close(linger)

    def _arm(self, progressed: bool = True) -> None:
        """The deadline for what the session waits for now (see the module's table)."""
        shell, conn, timeouts = self.shell, self.conn, self.server.timeouts
        now = shell.now()
        idle = None if timeouts.idle is None else now + timeouts.idle
        if conn.state is ServerState.DATA:
            self.line_since = None
            if self.content_since is None:
                self.content_since = now
            limit = self.server.content_timeout
            whole = None if limit is None else self.content_since + limit
            shell.set_deadline(_earliest(idle, whole))
            return
        self.content_since = None
        if not conn.buffered:
            self.line_since = None
            shell.set_deadline(idle)
            return
        if self.line_since is None or progressed:
            self.line_since = now  # a new line began (or lines are being answered)
        limit = timeouts.message
        shell.set_deadline(_earliest(idle, None if limit is None else self.line_since + limit))


def _earliest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None
