"""HTTP proxies: which requests go through one, and the CONNECT tunnel for HTTPS.

Plain ``http://`` requests go to the proxy with an absolute-form target (RFC 9112 §3.2.2);
``https://`` requests ask the proxy for a ``CONNECT host:port`` tunnel (RFC 9110 §9.3.6) and
TLS then runs end to end with the origin, so the proxy sees neither the URL path nor the
traffic. Proxy credentials come from the proxy URL and are sent to the proxy only, as
``Proxy-Authorization``: on the forwarded request for http, on the ``CONNECT`` for https,
never inside the tunnel (SECURITY.md K11).

``no_proxy`` matches on label boundaries (``example.com`` covers ``www.example.com`` but not
``notexample.com``), IP addresses and networks (``10.0.0.0/8``), optional ``:port``, and
``*`` for everything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Final

from wirekit.errors import RemoteProtocolError
from wirekit.http.client.errors import InvalidURL, ProxyError
from wirekit.http.client.urls import URL, parse_url
from wirekit.net.stream import Stream
from wirekit.proto.http import NEED_DATA, Connection, Request, Response, Role
from wirekit.proto.http.auth import basic_credentials

__all__ = ["Proxies", "open_tunnel"]

_CACHE_MAX: Final = 256


class Proxies:
    """Proxy URLs by scheme (``"http"``, ``"https"``, ``"all"``) and the hosts that bypass
    them. Built once per session; ``for_url`` is cached per host."""

    def __init__(self, mapping: Mapping[str, str | None] | None = None,
                 no_proxy: str | Iterable[str] | None = None) -> None:
        mapping = dict(mapping or {})
        if no_proxy is None:
            no_proxy = mapping.pop("no_proxy", None)
        else:
            mapping.pop("no_proxy", None)
        self.by_scheme: dict[str, URL] = {}
        for scheme, value in mapping.items():
            if scheme not in ("http", "https", "all"):
                raise InvalidURL(f"proxies: unknown key {scheme!r} (http, https, all, no_proxy)")
            if value:
                self.by_scheme[scheme] = _proxy_url(value)
        self.bypass = _Bypass(no_proxy)
        self._cache: dict[tuple[str, str, int | None], URL | None] = {}

    def __bool__(self) -> bool:
        return bool(self.by_scheme)

    def for_url(self, url: URL) -> URL | None:
        """The proxy to use for ``url``, or ``None`` to connect directly."""
        key = (url.scheme, url.host, url.port)
        try:
            return self._cache[key]
        except KeyError:
            pass
        proxy = self.by_scheme.get(url.scheme) or self.by_scheme.get("all")
        if proxy is not None and self.bypass.matches(url.host, url.port):
            proxy = None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = proxy
        return proxy


def _proxy_url(text: str) -> URL:
    if "://" not in text:
        text = "http://" + text  # "proxy:3128", as curl accepts it
    url = parse_url(text, schemes=("http", "https"))
    if url.scheme != "http":
        raise InvalidURL(f"only http:// proxies are supported, not {text!r}")
    return url


def proxy_authorization(proxy: URL) -> str | None:
    """The ``Proxy-Authorization`` value for a proxy URL with credentials."""
    if proxy.username is None:
        return None
    return basic_credentials(proxy.username, proxy.password or "")


class _Bypass:
    """The ``no_proxy`` rules."""

    def __init__(self, entries: str | Iterable[str] | None) -> None:
        if isinstance(entries, str):
            entries = entries.split(",")
        self.everything = False
        self.names: list[tuple[str, int | None]] = []
        self.networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]] \
            = []  # fmt: skip
        for raw in entries or ():
            self._add(raw.strip().lower())

    def _add(self, entry: str) -> None:
        if not entry:
            return
        if entry == "*":
            self.everything = True
            return
        port = None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        elif entry.count(":") == 1:
            host, _, port_text = entry.partition(":")
            port = int(port_text) if port_text.isdigit() else None
        else:
            host = entry
        try:
            self.networks.append((ipaddress.ip_network(host, strict=False), port))
        except ValueError:
            self.names.append((host.lstrip("*").lstrip("."), port))

    def matches(self, host: str, port: int | None) -> bool:
        if self.everything:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            return any(address in net and p in (None, port) for net, p in self.networks)
        host = host.rstrip(".")
        return any((host == name or host.endswith("." + name)) and p in (None, port)
                   for name, p in self.names)


def open_tunnel(stream: Stream, url: URL, proxy: URL, read_timeout: float | None) -> None:
    """Ask the proxy on ``stream`` for a tunnel to ``url``'s host and port (``CONNECT``).

    Raises ``ProxyError`` unless the proxy answers 2xx; afterwards the stream carries raw
    bytes to the origin, ready for TLS.
    """
    authority = f"[{url.host}]:{url.port}" if ":" in url.host else f"{url.host}:{url.port}"
    headers = [("Host", authority)]
    credentials = proxy_authorization(proxy)
    if credentials is not None:
        headers.append(("Proxy-Authorization", credentials))
    http = Connection(Role.CLIENT, server_header=None)
    stream.sendall(http.send(Request("CONNECT", authority, headers)))
    while True:
        event = http.next_event()
        if event is NEED_DATA:
            http.receive_data(stream.recv(65536, read_timeout))
        elif type(event) is Response:
            break
        elif not hasattr(event, "status_code"):
            raise RemoteProtocolError(f"proxy sent {type(event).__name__} instead of a response")
    if not 200 <= event.status_code < 300:
        raise ProxyError(f"proxy {proxy.authority} refused CONNECT {authority}: "
                         f"{event.status_code} {event.reason}", status=event.status_code)
    leftover, _ = http.trailing_data
    if leftover:  # bytes after the 2xx head would be read as if the origin sent them
        raise ProxyError(f"proxy {proxy.authority} sent data after accepting CONNECT")
