"""URLs parsed once, strictly, into the one host the connection, credentials and cookies use.

``urllib.parse`` is lenient by design: it keeps CR/LF and spaces (CVE-2019-9740), strips a
leading space off the scheme only in some versions (CVE-2023-24329), and ``a@b@c`` or ``[::1]x``
mean different hosts to different parsers (SECURITY.md K05, K11). Here a URL is refused unless
it has exactly one reading: control characters inside are errors, not data; the
host is an IP literal or an IDNA host name; the port is a number. The parsed ``URL`` is then
the only source of the host for the socket, the ``Host`` field, TLS SNI, cookies and auth.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote, urlencode

import idna

from wirekit.http.client.errors import InvalidURL, UnsupportedScheme

__all__ = ["DEFAULT_PORTS", "UNIX_SCHEME", "URL", "encode_params", "parse_url"]

DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ftp": 21, "file": None, "http+unix": None}
#: HTTP over a Unix socket: ``http+unix://%2Frun%2Fapp.sock/path`` (the percent-encoded socket
#: path in place of the host, as requests-unixsocket and Docker's clients write it).
UNIX_SCHEME: Final = "http+unix"
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Control characters are refused anywhere (tab and newline included: WHATWG would silently
# drop them, which is how CVE-2022-0391 smuggled them); a space in a path or query is data
# and is percent-encoded, as browsers and requests do, but never allowed in the host.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_HOSTNAME: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?")
_PORT: Final = re.compile(r"[0-9]{1,5}")
# RFC 3986 pchar / query characters left as they are; "%" is kept so that an already
# percent-encoded URL is not encoded twice. Everything else (non-ASCII, '"', '<', ...) is
# percent-encoded as UTF-8, as browsers do.
_PATH_SAFE: Final = "/%!$&'()*+,;=:@~-._"
_QUERY_SAFE: Final = _PATH_SAFE + "?[]{}|^`\\"
_CACHE: dict[str, URL] = {}
_CACHE_MAX: Final = 512


@dataclass(frozen=True, slots=True)
class URL:
    """A parsed absolute URL. ``host`` is lower-case ASCII (IDNA), IPv6 without brackets;
    ``target`` is the origin-form request-target (path and query, percent-encoded)."""

    scheme: str
    host: str
    port: int | None
    target: str
    username: str | None = None
    password: str | None = None
    explicit_port: bool = False
    #: ``host[:port]`` as the ``Host`` field and absolute-form targets write it (computed).
    authority: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if self.scheme == UNIX_SCHEME:  # the host is a socket path; the Host field says so
            object.__setattr__(self, "authority", "localhost")
            return
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.explicit_port and self.port != DEFAULT_PORTS.get(self.scheme):
            host = f"{host}:{self.port}"
        object.__setattr__(self, "authority", host)

    @property
    def origin(self) -> tuple[str, str, int | None]:
        """``(scheme, host, port)``: what credentials and connections are scoped to."""
        return (self.scheme, self.host, self.port)

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The query, without ``?``."""
        return self.target.partition("?")[2]

    @property
    def netloc(self) -> str:
        """What follows ``scheme://``: the authority, or the encoded path of a Unix socket."""
        if self.scheme == UNIX_SCHEME:
            return quote(self.host, safe="")
        return self.authority

    @property
    def absolute(self) -> str:
        """The absolute-form target (for a forward proxy): no userinfo, no fragment."""
        return f"{self.scheme}://{self.netloc}{self.target}"

    def with_query(self, extra: str) -> URL:
        """This URL with ``extra`` (already encoded) appended to the query."""
        if not extra:
            return self
        separator = "&" if "?" in self.target and not self.target.endswith(("?", "&")) else ""
        target = self.target + (separator or ("" if "?" in self.target else "?")) + extra
        return URL(self.scheme, self.host, self.port, target, self.username, self.password,
                   self.explicit_port)

    def without_credentials(self) -> URL:
        """This URL without userinfo (what is shown, logged and redirected to)."""
        if self.username is None and self.password is None:
            return self
        return URL(self.scheme, self.host, self.port, self.target, None, None,
                   self.explicit_port)

    def __str__(self) -> str:
        return self.absolute


def parse_url(text: str | URL, *,
              schemes: Iterable[str] = ("http", "https", "ftp", "file", UNIX_SCHEME)) -> URL:
    """Parse ``text``; raise ``InvalidURL`` (a ``ValueError``) for anything ambiguous."""
    url: URL | None
    if isinstance(text, URL):
        url = text
    else:
        url = _CACHE.get(text)
        if url is None:
            url = _parse(text)
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[text] = url
    if url.scheme not in schemes:
        raise UnsupportedScheme(f"unsupported URL scheme {url.scheme!r} in {text!r}")
    return url


def _parse(text: str) -> URL:
    if not isinstance(text, str):
        raise InvalidURL(f"a URL must be a str, got {type(text).__name__}")
    stripped = text.strip(" ")  # " file:///..." is a file: URL (CVE-2023-24329)
    if _CONTROL.search(stripped):
        raise InvalidURL(f"control character in URL {text[:200]!r}")
    match = _SCHEME.match(stripped)
    if match is None:
        raise InvalidURL(f"URL without a scheme: {text[:200]!r}")
    scheme = match.group(1).lower()
    rest = stripped[match.end():]
    if scheme == "file":
        return _parse_file(rest, text)
    if not rest.startswith("//"):
        raise InvalidURL(f"URL without an authority (//host): {text[:200]!r}")
    rest = rest[2:]
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
              default=len(rest))
    authority, rest = rest[:cut], rest[cut:]
    rest = rest.partition("#")[0]
    username = password = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        if "@" in userinfo:
            raise InvalidURL(f"ambiguous URL with more than one '@': {text[:200]!r}")
        user, colon, secret = userinfo.partition(":")
        username, password = unquote(user), (unquote(secret) if colon else None)
    if scheme == UNIX_SCHEME:
        host, port, explicit = _socket_path(authority, text), None, False
    else:
        host, port, explicit = _split_host_port(authority, scheme, text)
    path, qmark, query = rest.partition("?")
    target = quote(path or "/", safe=_PATH_SAFE, encoding="utf-8")
    if qmark:
        target += "?" + quote(query, safe=_QUERY_SAFE, encoding="utf-8")
    return URL(scheme, host, port, target, username, password, explicit)


def _parse_file(rest: str, text: str) -> URL:
    """``file:///path`` or ``file://localhost/path``: local files only."""
    if rest.startswith("//"):
        host, slash, path = rest[2:].partition("/")
        if host.lower() not in ("", "localhost"):
            raise InvalidURL(f"file: URLs name local files only: {text[:200]!r}")
        rest = slash + path
    if not rest.startswith("/"):
        raise InvalidURL(f"file: URL without an absolute path: {text[:200]!r}")
    return URL("file", "", None, rest.partition("#")[0].partition("?")[0])


def _socket_path(authority: str, text: str) -> str:
    """The Unix socket of an ``http+unix`` URL: an absolute path, percent-encoded."""
    path = unquote(authority)
    if not path.startswith("/") or _CONTROL.search(path):
        raise InvalidURL(f"http+unix URLs name a socket by its absolute path, percent-encoded "
                         f"(http+unix://%2Frun%2Fapp.sock/path): {text[:200]!r}")
    return path


def _split_host_port(authority: str, scheme: str, text: str) -> tuple[str, int | None, bool]:
    port_text = ""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise InvalidURL(f"unclosed '[' in URL {text[:200]!r}")
        host, after = authority[1:end], authority[end + 1 :]
        if after and not after.startswith(":"):
            raise InvalidURL(f"garbage after an IPv6 address in URL {text[:200]!r}")
        port_text = after[1:]
        try:
            host = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise InvalidURL(f"invalid IPv6 address in URL {text[:200]!r}") from None
    else:
        host, _, port_text = authority.partition(":")
        if ":" in port_text:
            raise InvalidURL(f"IPv6 addresses need brackets in URLs: {text[:200]!r}")
        host = _hostname(host, text)
    default = DEFAULT_PORTS.get(scheme)
    if not port_text:
        return host, default, False
    if _PORT.fullmatch(port_text) is None or int(port_text) > 65535:
        raise InvalidURL(f"invalid port {port_text[:20]!r} in URL {text[:200]!r}")
    return host, int(port_text), True


def _hostname(host: str, text: str) -> str:
    if not host:
        raise InvalidURL(f"URL without a host: {text[:200]!r}")
    if "%" in host:
        host = unquote(host)
    if not host.isascii():
        # IDNA 2008 with UTS 46 mapping, as browsers, requests and httpx do: the stdlib's
        # "idna" codec is IDNA 2003, which maps "faß.de" to "fass.de", another domain.
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidURL(f"invalid international host name in {text[:200]!r}: {exc}"
                             ) from None
    host = host.lower()
    if _HOSTNAME.fullmatch(host) is None:
        raise InvalidURL(f"invalid host {host[:100]!r} in URL {text[:200]!r}")
    last = host.rstrip(".").rpartition(".")[2]
    if last.isdigit() or last.startswith("0x"):  # WHATWG: a numeric last label means IPv4
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:  # "1.2.3" or "0x7f.1": forms parsers disagree about (K11)
            raise InvalidURL(f"ambiguous numeric host {host!r} in URL {text[:200]!r}") from None
    return host


def encode_params(params: str | bytes | Mapping[str, Any] | Iterable[tuple[str, Any]] | None
                  ) -> str:
    """``params=`` as a query string: a mapping or pairs (list values repeat the name; None
    values are left out), or an already encoded str/bytes."""
    if params is None:
        return ""
    if isinstance(params, bytes):
        params = params.decode("ascii")
    if isinstance(params, str):
        if _CONTROL.search(params):
            raise InvalidURL(f"control character in params {params[:100]!r}")
        return quote(params, safe=_QUERY_SAFE)
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, Any]] = []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, v) for v in values if v is not None)
    return urlencode(pairs)
