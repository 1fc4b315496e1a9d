"""``Session``: configuration, a connection pool and a cookie jar shared by many requests.

A call runs as: build the ``Request`` (checked, nothing sent yet), then for each hop of a
redirect chain assemble the header list, exchange it over a pooled connection, store cookies,
answer a Digest challenge once, and follow a redirect by the rules of :mod:`.redirects`.
Finally a 4xx/5xx becomes ``HTTPError`` (unless ``raise_for_status=False``) and, unless
``stream=True``, the body is read so the connection goes back to the pool at once.

The hot path of a plain keep-alive GET is kept short on purpose: the URL parse is cached, the
session's default headers are a prebuilt list (rebuilt only when ``session.headers`` changes),
the per-call settings are one prebuilt object, and the cookie jar is skipped while empty.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Container, Mapping
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any, Final, TypedDict

from wirekit import __version__
from wirekit.config import DEFAULT_TIMEOUTS, Timeouts
from wirekit.errors import ConfigError
from wirekit.http.client.auth import AuthArg, BasicAuth, to_auth
from wirekit.http.client.cookies import cookie_header, extract_cookies, save_jar, session_jar
from wirekit.http.client.decoding import accept_encoding
from wirekit.http.client.environment import proxy_environment
from wirekit.http.client.errors import HTTPError, TooManyRedirects
from wirekit.http.client.pool import Pool
from wirekit.http.client.proxies import Proxies
from wirekit.http.client.redirects import REDIRECT_STATUSES, Hop, next_hop, same_origin
from wirekit.http.client.request import (
    HeaderDict,
    HeadersArg,
    Request,
    check_headers,
    cookie_text,
)
from wirekit.http.client.response import Response
from wirekit.http.client.retries import RetryArg, send_with_retries, to_retry
from wirekit.http.client.schemes import FILE_TRANSPORT, FTP_TRANSPORT
from wirekit.http.client.tls import CertArg, TLSContexts, VerifyArg, tls_key
from wirekit.http.client.transport import (
    BaseTransport,
    Options,
    Progress,
    RequestHook,
    Transport,
)
from wirekit.http.client.urls import UNIX_SCHEME, URL

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["DEFAULT", "BodyRequestOptions", "CallOptions", "RequestOptions", "SendOptions",
           "Session"]


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


#: "Use the session's setting" (``None`` already means "no timeout").
DEFAULT: Final[Any] = _Default()
#: Decoded content allowed per response: a 1 MB gzip bomb stops at 64 MiB (SECURITY.md K08).
MAX_DECOMPRESSED: Final = 64 * 1024 * 1024
#: A body read whole (not ``stream=True``) is held in memory: at most this much by default.
MAX_BODY: Final = 64 * 1024 * 1024
MAX_REDIRECTS: Final = 20  # httpx's default; SECURITY.md K03 asks for at most 20
_FRAMING: Final = frozenset({"content-length", "transfer-encoding"})
_WANTS_LENGTH: Final = frozenset({"POST", "PUT", "PATCH"})  # RFC 9110 §8.6: CL 0 when empty
_HTTP_SCHEMES: Final = frozenset({"http", "https", UNIX_SCHEME})

TimeoutArg = float | tuple[float | None, float | None] | Timeouts | None


class CallOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`Session.send` but ``timeout`` (``urlopen`` has its own)."""

    allow_redirects: bool
    max_redirects: int | None
    stream: bool
    raise_for_status: bool | None
    verify: VerifyArg | None
    cert: CertArg | None
    decode_content: bool
    upload_progress: Progress | None
    download_progress: Progress | None
    on_request: RequestHook | None
    retries: RetryArg


class SendOptions(CallOptions, total=False):
    """The keyword arguments of :meth:`Session.send` (typed, so editors can offer them)."""

    timeout: TimeoutArg


class BodyRequestOptions(SendOptions, total=False):
    """The keyword arguments of ``post``/``put``/``patch`` after the URL and ``data``."""

    params: Any
    json: Any
    files: Any
    headers: HeadersArg
    cookies: Mapping[str, str] | None
    auth: AuthArg


class RequestOptions(BodyRequestOptions, total=False):
    """The keyword arguments of :meth:`Session.request` after the method and URL."""

    data: Any


def _timeouts(value: Any) -> tuple[float | None, float | None]:
    """``(connect, read)`` from a number, a pair, a ``Timeouts`` or ``None`` (no limit)."""
    if isinstance(value, _Default):
        return DEFAULT_TIMEOUTS.connect, DEFAULT_TIMEOUTS.read
    if value is None:
        return None, None
    if isinstance(value, Timeouts):
        return value.connect, value.read
    pair = value if isinstance(value, tuple) else (value, value)
    if len(pair) != 2:
        raise ConfigError("timeout= takes seconds, (connect, read), a Timeouts or None")
    for seconds in pair:
        if seconds is not None and (isinstance(seconds, bool) or not seconds > 0):
            raise ConfigError(f"a timeout must be > 0 seconds or None, got {seconds!r}")
    return pair[0], pair[1]


class Session:
    """Settings, pooled keep-alive connections and cookies for a series of requests.

    ``headers`` are sent with every request (``session.headers`` may be changed later);
    ``auth`` is ``(user, password)`` for Basic or ``DigestAuth(user, password)``; ``cookies``
    a ``CookieJar`` (default: a new one with public-suffix rules; ``False``: none) or a
    ``{name: value}`` mapping sent to every host until a server sets or deletes that name,
    and ``cookie_file`` a curl cookie file to load now and save on ``close()`` (not with
    ``cookies=``; see :mod:`.cookies`); ``proxies`` ``{"http": url, "https":
    url, "no_proxy": "a,b"}`` or ``"env"`` (the environment, as ``trust_env=True`` does);
    ``verify``, ``cert``: TLS (see :mod:`.tls`); ``timeout``: seconds, ``(connect, read)`` or
    ``None`` for none at all (default 5 s to connect, 30 s per read); ``raise_for_status``:
    4xx/5xx raise ``HTTPError`` (default) or are returned. ``max_body``: the most a response
    read whole may hold (64 MiB; ``BodyTooLarge`` past it; ``None``: no bound; a call with
    ``stream=True`` reads any size in pieces). ``pool_size`` idle connections are kept per
    host, and at most ``max_connections`` are open to one host at a time (a request beyond
    waits up to the connect timeout for one, then ``PoolTimeout``; ``None``: no cap).
    ``unix_socket``: send every request to this Unix socket, as curl's ``--unix-socket``.
    Transports for other URL prefixes plug in with :meth:`mount`. ``retries``: a count or a
    ``Retry`` policy for transient failures (default ``None``: none; see :mod:`.retries`).
    """

    def __init__(
        self, *, headers: HeadersArg = None, auth: AuthArg = None,
        cookies: CookieJar | Mapping[str, str] | bool | None = None,
        cookie_file: str | os.PathLike | None = None,
        proxies: Mapping[str, str | None] | str | None = None, no_proxy: str | None = None,
        trust_env: bool = False, verify: VerifyArg = True, cert: CertArg = None,
        timeout: TimeoutArg = DEFAULT, max_redirects: int = MAX_REDIRECTS,
        raise_for_status: bool = True, pool_size: int = 10,
        max_decompressed: int | None = MAX_DECOMPRESSED, max_error_body: int = 1 << 20,
        max_body: int | None = MAX_BODY, max_connections: int | None = 100,
        unix_socket: str | os.PathLike | None = None,
        retries: RetryArg = None,
    ) -> None:  # fmt: skip
        self.headers = HeaderDict({"User-Agent": f"wirekit/{__version__}", "Accept": "*/*",
                                   "Accept-Encoding": accept_encoding()})
        for name, value in check_headers(headers):
            self.headers[name] = value  # None removes a default
        self.auth = to_auth(auth)
        self.cookie_file = cookie_file
        self.cookies: CookieJar | None = session_jar(cookies, cookie_file)
        if proxies == "env" or (proxies is None and trust_env):
            proxies = proxy_environment()
        elif isinstance(proxies, str):
            raise ConfigError('proxies= takes a mapping, "env" or None')
        self.proxies = Proxies(proxies, no_proxy)
        self.max_redirects = max_redirects
        self.raise_for_status = raise_for_status
        self.max_error_body = max_error_body
        self.max_body = max_body
        self.retries = to_retry(retries)
        self._verify, self._cert = verify, cert
        self._timeout = _timeouts(timeout)
        self._max_decompressed = max_decompressed
        self._options: Options | None = None
        self._pool = Pool(pool_size, max_open=max_connections)
        # A session dropped without close() still closes its idle sockets when collected.
        weakref.finalize(self, self._pool.close)
        self._transport = Transport(self._pool, TLSContexts(), self.proxies,
                                    None if unix_socket is None else os.fspath(unix_socket))
        self._mounts: list[tuple[str, BaseTransport]] = []  # longest prefix first
        self._base: list[tuple[str, str]] = []
        self._base_version = -1

    # -- settings that the prebuilt per-call options depend on ------------------------------

    @property
    def verify(self) -> VerifyArg:
        """TLS verification for calls that do not pass their own (see :mod:`.tls`)."""
        return self._verify

    @verify.setter
    def verify(self, value: VerifyArg) -> None:
        self._verify, self._options = value, None

    @property
    def cert(self) -> CertArg:
        """The client certificate for calls that do not pass their own."""
        return self._cert

    @cert.setter
    def cert(self, value: CertArg) -> None:
        self._cert, self._options = value, None

    @property
    def timeout(self) -> tuple[float | None, float | None]:
        """``(connect, read)`` seconds."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: TimeoutArg) -> None:
        self._timeout, self._options = _timeouts(value), None

    def _make_options(self, timeout: Any = DEFAULT, verify: VerifyArg | None = None,
                      cert: CertArg | None = None, decode: bool = True,
                      upload_progress: Progress | None = None,
                      download_progress: Progress | None = None,
                      on_request: RequestHook | None = None) -> Options:
        connect, read = self._timeout if isinstance(timeout, _Default) else _timeouts(timeout)
        verify = self._verify if verify is None else verify
        cert = self._cert if cert is None else cert
        return Options(connect, read, verify, cert, tls_key(verify, cert), decode,
                       self._max_decompressed, upload_progress, download_progress, on_request)

    # -- transports -------------------------------------------------------------------------

    def mount(self, prefix: str, transport: BaseTransport) -> None:
        """Send requests whose URL starts with ``prefix`` (``"https://api.example.org/"``,
        ``"http://"``, ``"file:"``) through ``transport``; the longest matching prefix wins.
        http(s) URLs still get the session's redirects, cookies and auth on top."""
        self._mounts = sorted([*((p, t) for p, t in self._mounts if p != prefix),
                               (prefix, transport)], key=lambda item: -len(item[0]))

    def _transport_for(self, url: URL) -> BaseTransport:
        if self._mounts:
            text = url.absolute
            for prefix, transport in self._mounts:
                if text.startswith(prefix):
                    return transport
        scheme = url.scheme
        if scheme == "file":
            return FILE_TRANSPORT
        if scheme == "ftp":
            return FTP_TRANSPORT
        return self._transport

    # -- requests ---------------------------------------------------------------------------

    def request(
        self, method: str, url: str | URL, *, params: Any = None, data: Any = None,
        json: Any = None, files: Any = None, headers: HeadersArg = None,
        cookies: Mapping[str, str] | None = None, auth: AuthArg = None,
        **options: Unpack[SendOptions],
    ) -> Response:  # fmt: skip
        """Send a request; ``options`` are those of :meth:`send`."""
        request = Request(url, data, headers, method, params=params, json=json, files=files,
                          auth=auth, cookies=cookies)
        return self.send(request, **options)

    def send(
        self, request: Request, *, timeout: TimeoutArg = DEFAULT, allow_redirects: bool = True,
        max_redirects: int | None = None, stream: bool = False,
        raise_for_status: bool | None = None, verify: VerifyArg | None = None,
        cert: CertArg | None = None, decode_content: bool = True,
        upload_progress: Progress | None = None, download_progress: Progress | None = None,
        on_request: RequestHook | None = None, retries: RetryArg = DEFAULT,
    ) -> Response:  # fmt: skip
        """Send ``request``. ``stream=True`` returns before reading the body (read it, or
        ``close()`` the response, to free the connection); ``verify``/``cert``/``timeout``
        override the session's for this call only. ``upload_progress(sent, total)`` and
        ``download_progress(received, total)`` are called as the request body goes out and
        the response body comes in (``total``: the length when known, else ``None``;
        received bytes are counted as they arrive, before any decoding).
        ``on_request(method, url, fields)`` sees each request head as it goes out, redirects
        and retries included (what ``wirekit get -v`` prints). ``retries`` replaces the
        session's retry policy for this call."""
        if (timeout is DEFAULT and verify is None and cert is None and decode_content
                and upload_progress is None and download_progress is None
                and on_request is None):
            options = self._options or self._session_options()
        else:
            options = self._make_options(timeout, verify, cert, decode_content,
                                         upload_progress, download_progress, on_request)
        if request.url.scheme not in _HTTP_SCHEMES:
            response = self._transport_for(request.url).exchange(
                request.method, request.url, [], request.body, options)
        else:
            limit = self.max_redirects if max_redirects is None else max_redirects
            limit = limit if allow_redirects else -1
            policy = self.retries if retries is DEFAULT else to_retry(retries)
            if policy is None:
                response = self._follow(request, options, limit)
            else:
                replayable = request.body is None or request.body.replayable
                response = send_with_retries(policy, request.method, replayable,
                                             lambda: self._follow(request, options, limit))
        check = self.raise_for_status if raise_for_status is None else raise_for_status
        if check and response.status >= 400:
            raise HTTPError(response, response.read_bounded(self.max_error_body))
        if not stream:
            response.load(self.max_body)
        return response

    def _session_options(self) -> Options:
        self._options = self._make_options()
        return self._options

    def _follow(self, request: Request, options: Options, limit: int) -> Response:
        """Send ``request`` and the hops after it: one Digest answer per hop, redirects up
        to ``limit`` (-1: none followed)."""
        url, auth = request.url, request.auth or self.auth
        if url.username is not None and request.auth is None:
            auth = BasicAuth(url.username, url.password or "")
            url = url.without_credentials()
        origin = url.origin
        hop = Hop(request.method, url, request.headers, request.body)
        history: list[Response] = []
        answer: str | None = None  # an Authorization answering the last 401
        while True:
            home = same_origin(origin, hop.url)  # credentials go to the first origin only
            authorization = answer
            if authorization is None and auth is not None and home:
                authorization = auth.authorization(hop.method, hop.url)
            wire = self._wire_headers(hop, authorization, request.cookies if home else None)
            if options.on_request is not None:
                options.on_request(hop.method, hop.url, wire)
            transport = self._transport if not self._mounts else self._transport_for(hop.url)
            response = transport.exchange(hop.method, hop.url, wire, hop.body, options)
            if self.cookies is not None and "set-cookie" in response.headers:
                extract_cookies(self.cookies, hop.url, response.headers)
            if (response.status == 401 and answer is None and auth is not None and home
                    and (hop.body is None or hop.body.replayable)):
                answer = auth.retry(hop.method, hop.url, response.headers)
                if answer is not None:
                    response.discard()
                    continue
            answer = None
            if (response.status not in REDIRECT_STATUSES or limit < 0
                    or "location" not in response.headers):
                response.history = history
                return response
            hop = self._redirect(hop, response, len(history), limit)
            history.append(response)

    @staticmethod
    def _redirect(hop: Hop, response: Response, count: int, limit: int) -> Hop:
        """The hop a redirect leads to; the redirect's body is thrown away undecoded."""
        try:
            if count >= limit:
                raise TooManyRedirects(f"more than {limit} redirects (last: {hop.url})",
                                       response)
            return next_hop(hop, response.status, response.headers.get_list("location")[0])
        finally:
            response.discard()

    def _base_headers(self) -> list[tuple[str, str]]:
        if self._base_version != self.headers.version:
            self._base = self.headers.pairs()
            self._base_version = self.headers.version
        return self._base

    def _wire_headers(self, hop: Hop, authorization: str | None,
                      cookies: Mapping[str, str] | None) -> list[tuple[str, str]]:
        """The field lines of one hop: Host, defaults, the caller's, credentials, framing."""
        base = self._base_headers()
        url, body = hop.url, hop.body
        names: Container[str]  # the lower-cased names the caller set
        if hop.headers:
            names = {name.lower() for name, _ in hop.headers}
            wire = [] if "host" in names else [("Host", url.authority)]
            wire += [pair for pair in base if pair[0].lower() not in names]
            wire += [(n, v) for n, v in hop.headers
                     if v is not None and n.lower() not in _FRAMING]
        else:
            names = ()
            wire = [("Host", url.authority), *base]
        if authorization is not None:
            wire = [pair for pair in wire if pair[0].lower() != "authorization"]
            wire.append(("Authorization", authorization))
        if self.cookies is not None or cookies:
            jar_value = cookie_header(self.cookies, url) if self.cookies is not None else None
            values = [v for v in (cookie_text(cookies) if cookies else None, jar_value) if v]
            if values and "cookie" not in names:
                wire.append(("Cookie", "; ".join(values)))
        if body is not None:
            if body.content_type is not None and "content-type" not in names:
                wire.append(("Content-Type", body.content_type))
            if body.length is not None:
                wire.append(("Content-Length", str(body.length)))
            else:
                wire.append(("Transfer-Encoding", "chunked"))
        elif hop.method in _WANTS_LENGTH:
            wire.append(("Content-Length", "0"))
        return wire

    # -- shortcuts --------------------------------------------------------------------------

    def get(self, url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def head(self, url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
        """``request("HEAD", url, ...)``."""
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
        """``request("OPTIONS", url, ...)``."""
        return self.request("OPTIONS", url, **kwargs)

    def delete(self, url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
        """``request("DELETE", url, ...)``."""
        return self.request("DELETE", url, **kwargs)

    def post(self, url: str | URL, data: Any = None,
             **kwargs: Unpack[BodyRequestOptions]) -> Response:
        """``request("POST", url, data=data, ...)``."""
        return self.request("POST", url, data=data, **kwargs)

    def put(self, url: str | URL, data: Any = None,
             **kwargs: Unpack[BodyRequestOptions]) -> Response:
        """``request("PUT", url, data=data, ...)``."""
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str | URL, data: Any = None,
             **kwargs: Unpack[BodyRequestOptions]) -> Response:
        """``request("PATCH", url, data=data, ...)``."""
        return self.request("PATCH", url, data=data, **kwargs)

    # -- lifetime ---------------------------------------------------------------------------

    def save_cookies(self, path: str | os.PathLike | None = None) -> None:
        """Write the jar to ``path`` or to ``cookie_file`` (mode 0600)."""
        if self.cookies is None:
            raise ConfigError("this session keeps no cookies")
        save_jar(self.cookies, path)

    def close(self) -> None:
        """Close idle connections (and mounted transports), and save the cookies if a
        ``cookie_file`` was given."""
        self._pool.close()
        for _, transport in self._mounts:
            transport.close()
        if self.cookie_file is not None and self.cookies is not None:
            save_jar(self.cookies)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Session pooled={len(self._pool)}>"
