"""The PROXY protocol in front of any connection core: the client's real address from the
load balancer that accepted it (HAProxy's PROXY protocol v1/v2; ``wirekit.proto.proxy``).

Opt-in and by address (``Server(..., proxy_protocol_from=["10.0.0.0/8"])``): a connection
from one of those addresses must begin with a PROXY header, and the server's own core then
serves the client the header names; a connection from anywhere else is served as it is and
never read for one. Believing the header from everyone would let any client forge its
address, and guessing whether a header is there would let a client smuggle one in (the
spec, section 1, forbids both).
"""

from __future__ import annotations

from typing import Any

from wirekit.net.address import Address
from wirekit.proto.proxy import ProxyHeaderReader, ProxyProtocolError
from wirekit.server.core import ConnectionCore, Shell, Work

__all__ = ["ProxiedConnection"]


class ProxiedConnection(ConnectionCore):
    """Reads the PROXY header, then hands the connection, and every event after it, to the
    server's core for the client the header names."""

    def __init__(self, client_address: Address, server: Any) -> None:
        super().__init__(client_address, server)
        self.reader = ProxyHeaderReader()
        self.inner: ConnectionCore | None = None
        self._outcome = "closed"

    @property  # the inner core's words once it exists
    def outcome(self) -> str:
        return self.inner.outcome if self.inner is not None else self._outcome

    @outcome.setter
    def outcome(self, value: str) -> None:
        self._outcome = value

    @property
    def idle(self) -> bool:
        return self.inner is not None and self.inner.idle

    def connection_made(self, shell: Shell) -> None:
        self.shell = shell
        wait = self.server.timeouts.header  # the spec asks for at least 3 s
        shell.set_deadline(None if wait is None else shell.now() + wait)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)
            return
        self.reader.receive_data(data)
        try:
            header = self.reader.next_header()
        except ProxyProtocolError as exc:
            self._outcome = f"refused: no valid PROXY header ({exc})"
            self.shell.abort()  # nothing is answered: the protocol behind has not started
            return
        if header is None:
            return
        client = self.client_address
        if not header.local and isinstance(header.source, tuple):
            client = Address(header.source[0], header.source[1])
        inner = self.inner = self.server.handler(client, self.server)
        inner.setup()
        inner.connection_made(self.shell)
        if rest := self.reader.rest():
            inner.data_received(rest)

    def eof_received(self) -> None:
        if self.inner is not None:
            self.inner.eof_received()
        else:
            self._outcome = "closed before its PROXY header"
            self.shell.close()

    def deadline_reached(self) -> None:
        if self.inner is not None:
            self.inner.deadline_reached()
        else:
            self._outcome = "closed: no PROXY header in time"
            self.shell.abort()

    def work_done(self, work: Work) -> None:
        assert self.inner is not None  # only the inner core hands work off
        self.inner.work_done(work)

    def writable(self) -> None:
        if self.inner is not None:
            self.inner.writable()

    def stop(self) -> None:
        if self.inner is not None:
            self.inner.stop()
        else:
            self.shell.close()

    def connection_lost(self) -> None:
        if self.inner is not None:
            self.inner.connection_lost()

    def finish(self) -> None:
        if self.inner is not None:
            self.inner.finish()
