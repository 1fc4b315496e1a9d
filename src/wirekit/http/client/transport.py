"""One request on the wire: pick or open a connection, send, and read the response head.

Everything above (redirects, auth, cookies) is the session's; everything below (parsing,
framing) is the sans-IO core's. Here live the connection decisions: which pool key, direct, over
a Unix socket, or through a proxy or a ``CONNECT`` tunnel, TLS with which context, and one
retry on a fresh connection when a pooled one turns out to have been closed by the server
before it answered.

A session finds the transport for a URL by prefix (``Session.mount``): anything with an
``exchange`` method of this signature and a ``close`` can stand in, such as a
:class:`~wirekit.http.client.mock.MockTransport` in tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from wirekit.config import Timeouts
from wirekit.errors import NetworkError, RemoteProtocolError, WirekitError
from wirekit.http.client.bodies import Body
from wirekit.http.client.connection import ClientConnection
from wirekit.http.client.pool import Pool
from wirekit.http.client.proxies import Proxies, open_tunnel, proxy_authorization
from wirekit.http.client.response import Response
from wirekit.http.client.tls import CertArg, TLSContexts, VerifyArg
from wirekit.http.client.urls import UNIX_SCHEME, URL
from wirekit.net.connect import connect
from wirekit.proto.http import Response as ResponseHead

__all__ = ["BaseTransport", "Options", "Progress", "RequestHook", "Transport"]

#: ``callback(done, total)``: bytes of a body sent or received so far, and the whole size when
#: known (``None`` for chunked or close-delimited bodies).
Progress = Callable[[int, int | None], object]
#: ``callback(method, url, fields)``: a request head about to go out, every hop (``-v``).
RequestHook = Callable[[str, URL, list[tuple[str, str]]], object]


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
    upload_progress: Progress | None = None
    download_progress: Progress | None = None
    on_request: RequestHook | None = None


class BaseTransport(Protocol):
    """What a session needs from a transport mounted with ``Session.mount``."""

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        """Send one request; return the response with its body still to read."""

    def close(self) -> None:
        """Release what the transport holds (the session is closing)."""


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


class _CountingSource(_ConnectionSource):
    """A body source that reports progress: the bytes received so far, of ``total``."""

    __slots__ = ("callback", "received", "total")

    def __init__(self, conn: ClientConnection, pool: Pool, callback: Progress,
                 total: int | None) -> None:
        super().__init__(conn, pool)
        self.callback = callback
        self.total = total
        self.received = 0

    def next_chunk(self) -> bytes | None:
        data = self.conn.receive_data()
        if data:
            self.received += len(data)
            self.callback(self.received, self.total)
        return data


class Transport:
    """Sends requests over pooled connections; shared by every call of a session.

    ``unix_socket``: every connection goes to this Unix socket instead of the URL's host and
    port (curl's ``--unix-socket``), which still give the ``Host`` field and TLS name;
    ``http+unix://`` URLs carry their socket path themselves.
    """

    def __init__(self, pool: Pool, tls: TLSContexts, proxies: Proxies,
                 unix_socket: str | None = None) -> None:
        self.pool = pool
        self.tls = tls
        self.proxies = proxies
        self.unix_socket = unix_socket

    def close(self) -> None:
        """Close the idle connections."""
        self.pool.close()

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        """Send one request and return the response with its body still to read."""
        unix = url.host if url.scheme == UNIX_SCHEME else self.unix_socket
        proxy = self.proxies.for_url(url) if self.proxies and unix is None else None
        target = url.target
        if unix is not None:
            key: tuple = ("unix", unix, url.scheme, url.host,
                          options.tls_key if url.scheme == "https" else None)
        elif proxy is None:
            key = (url.scheme, url.host, url.port,
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
            conn = self._open(key, url, proxy, unix, options)
            head = self._round_trip(conn, method, target, headers, body, options)
        else:
            conn.read_timeout = options.read_timeout
            received = conn.stream.bytes_received
            try:
                head = self._round_trip(conn, method, target, headers, body, options)
            except (NetworkError, RemoteProtocolError):
                # A kept-alive connection the server had closed: nothing of a response came,
                # so the request was not processed; send it again on a new connection.
                if conn.stream.bytes_received != received or (body is not None
                                                              and not body.replayable):
                    raise
                conn = self._open(key, url, proxy, unix, options)
                head = self._round_trip(conn, method, target, headers, body, options)
        if options.download_progress is None:
            source = _ConnectionSource(conn, pool)
        else:
            source = _CountingSource(conn, pool, options.download_progress,
                                     conn.http.their_content_length)
        return Response(head.status_code, head.headers, url=url.absolute, reason=head.reason,
                        http_version=head.http_version, method=method, source=source,
                        decode=options.decode, max_decompressed=options.max_decompressed)

    @staticmethod
    def _round_trip(conn: ClientConnection, method: str, target: str,
                    headers: list[tuple[str, str]], body: Body | None, options: Options
                    ) -> ResponseHead:
        try:
            try:
                conn.send_request(method, target, headers, body, options.upload_progress)
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

    def _open(self, key: tuple, url: URL, proxy: URL | None, unix: str | None,
              options: Options) -> ClientConnection:
        timeouts = Timeouts(connect=options.connect_timeout, read=options.read_timeout,
                            write=options.read_timeout)
        context = self.tls.get(options.verify, options.cert) if url.scheme == "https" else None
        waited = self.pool.reserve(key, options.connect_timeout)
        if waited is not None:  # an idle one came back while we waited for room
            waited.read_timeout = options.read_timeout
            return waited
        try:
            conn = self._connect(key, url, proxy, unix, context, timeouts, options)
        except BaseException:
            self.pool.release(key)
            raise
        conn.on_close = self.pool.release
        return conn

    @staticmethod
    def _connect(key: tuple, url: URL, proxy: URL | None, unix: str | None,
                 context: ssl.SSLContext | None, timeouts: Timeouts, options: Options
                 ) -> ClientConnection:
        if unix is not None:
            stream = connect(f"unix:{unix}", options.connect_timeout, tls=context,
                             server_hostname=url.host if context else None, timeouts=timeouts)
        elif proxy is None:
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
