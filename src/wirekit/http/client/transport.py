"""One request on the wire: pick or open a connection, send, and read the response head.

Everything above (redirects, auth, cookies) is the session's; everything below (parsing,
framing) is the sans-IO core's. Here live the connection decisions: which pool key, direct or
through a proxy or a ``CONNECT`` tunnel, TLS with which context, and one retry on a fresh
connection when a pooled one turns out to have been closed by the server before it answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from wirekit.config import Timeouts
from wirekit.errors import NetworkError, RemoteProtocolError, WirekitError
from wirekit.http.client.bodies import Body
from wirekit.http.client.connection import ClientConnection
from wirekit.http.client.pool import Pool
from wirekit.http.client.proxies import Proxies, open_tunnel, proxy_authorization
from wirekit.http.client.response import Response
from wirekit.http.client.tls import CertArg, TLSContexts, VerifyArg
from wirekit.http.client.urls import URL
from wirekit.net.connect import connect
from wirekit.proto.http import Response as ResponseHead

__all__ = ["Options", "Transport"]


@dataclass(frozen=True, slots=True)
class Options:
    """The settings one call runs with (the session's, or the call's overrides)."""

    connect_timeout: float | None
    read_timeout: float | None
    verify: VerifyArg
    cert: CertArg
    tls_key: tuple
    decode: bool
    max_decompressed: int | None


class _ConnectionSource:
    """A response body read from a pooled connection, which goes back when it ends."""

    __slots__ = ("conn", "pool")

    def __init__(self, conn: ClientConnection, pool: Pool) -> None:
        self.conn = conn
        self.pool = pool

    def next_chunk(self) -> bytes | None:
        return self.conn.receive_data()

    def finish(self) -> None:
        conn = self.conn
        if conn.reusable:
            self.pool.give_back(conn)
        else:
            conn.close()

    def abort(self) -> None:
        self.conn.close()


class Transport:
    """Sends requests over pooled connections; shared by every call of a session."""

    def __init__(self, pool: Pool, tls: TLSContexts, proxies: Proxies) -> None:
        self.pool = pool
        self.tls = tls
        self.proxies = proxies

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        """Send one request and return the response with its body still to read."""
        proxy = self.proxies.for_url(url) if self.proxies else None
        target = url.target
        if proxy is None:
            key: tuple = (url.scheme, url.host, url.port,
                          options.tls_key if url.scheme == "https" else None)
        elif url.scheme == "http":  # forwarded: one connection to the proxy serves all hosts
            key = ("proxy", proxy.host, proxy.port, proxy.username, proxy.password)
            target = url.absolute
            credentials = proxy_authorization(proxy)
            if credentials is not None:
                headers = [*headers, ("Proxy-Authorization", credentials)]
        else:  # tunnelled: one tunnel per origin and proxy
            key = (url.scheme, url.host, url.port, options.tls_key, proxy.host, proxy.port,
                   proxy.username, proxy.password)
        pool = self.pool
        conn = pool.take(key)
        if conn is None:
            conn = self._open(key, url, proxy, options)
            head = self._round_trip(conn, method, target, headers, body)
        else:
            conn.read_timeout = options.read_timeout
            received = conn.stream.bytes_received
            try:
                head = self._round_trip(conn, method, target, headers, body)
            except (NetworkError, RemoteProtocolError):
                # A kept-alive connection the server had closed: nothing of a response came,
                # so the request was not processed; send it again on a new connection.
                if conn.stream.bytes_received != received or (body is not None
                                                              and not body.replayable):
                    raise
                conn = self._open(key, url, proxy, options)
                head = self._round_trip(conn, method, target, headers, body)
        return Response(head.status_code, head.headers, url=url.absolute, reason=head.reason,
                        http_version=head.http_version, method=method,
                        source=_ConnectionSource(conn, pool), decode=options.decode,
                        max_decompressed=options.max_decompressed)

    @staticmethod
    def _round_trip(conn: ClientConnection, method: str, target: str,
                    headers: list[tuple[str, str]], body: Body | None) -> ResponseHead:
        try:
            try:
                conn.send_request(method, target, headers, body)
            except NetworkError as exc:
                # The server may have answered early (401, 413) and closed while we were
                # still sending the body: its answer is more useful than our EPIPE.
                if body is None:
                    raise
                try:
                    return conn.receive_head()
                except WirekitError:
                    raise exc from None
            return conn.receive_head()
        except BaseException:
            conn.close()
            raise

    def _open(self, key: tuple, url: URL, proxy: URL | None, options: Options
              ) -> ClientConnection:
        timeouts = Timeouts(connect=options.connect_timeout, read=options.read_timeout,
                            write=options.read_timeout)
        context = self.tls.get(options.verify, options.cert) if url.scheme == "https" else None
        if proxy is None:
            stream = connect((url.host, url.port), options.connect_timeout, tls=context,
                             server_hostname=url.host, timeouts=timeouts)
        else:
            stream = connect((proxy.host, proxy.port), options.connect_timeout,
                             timeouts=timeouts)
            if context is not None:
                try:
                    open_tunnel(stream, url, proxy, options.read_timeout)
                    stream.start_tls(context, server_hostname=url.host,
                                     timeout=options.connect_timeout)
                except BaseException:
                    stream.close()
                    raise
        return ClientConnection(stream, key, options.read_timeout)
