"""Following redirects: where to, with which method and body, and without which headers.

* **Where**: ``Location`` resolved against the current URL (RFC 9110 §10.2.2). Only ``http``
  and ``https`` are followed: ``file:``, ``FILE:``, `` file:`` (leading space), ``data:``,
  ``gopher:``, ``ftp:`` and anything else is a ``RedirectError`` and nothing is read
  (SECURITY.md K01; CVE-2011-1521, CVE-2019-9948, CVE-2023-24329).
* **Method and body** (RFC 9110 §15.4, as browsers, requests and httpx do): 303 turns any
  method but HEAD into GET; 301 and 302 turn POST into GET; the body and its ``Content-*``
  and ``Transfer-Encoding`` fields go with it. 307 and 308 keep both, and a body that cannot
  be sent twice (an iterator) stops with ``RedirectError`` (SECURITY.md K03).
* **Credentials** (K02): leaving the origin (another host or port, or https to http) drops
  ``Authorization``, ``Proxy-Authorization``, a user-set ``Cookie`` and ``Host``; the session's
  auth and the URL's userinfo are only ever applied to the origin the call started with.
  Going from http to https on the same host with default ports counts as the same origin.
"""

from __future__ import annotations

import contextlib
from typing import Final

from wirekit.http.client.bodies import Body
from wirekit.http.client.errors import InvalidURL, RedirectError
from wirekit.http.client.urls import URL, parse_url

__all__ = ["REDIRECT_STATUSES", "Hop", "next_hop", "same_origin"]

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_FIELDS: Final = frozenset({"authorization", "proxy-authorization", "cookie",
                                       "host"})  # fmt: skip
_CONTENT_FIELDS: Final = frozenset({"content-type", "content-length", "transfer-encoding",
                                    "content-encoding", "content-language",
                                    "content-location"})  # fmt: skip


class Hop:
    """One request of a redirect chain."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: URL, headers: list[tuple[str, str | None]],
                 body: Body | None) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body


def same_origin(origin: tuple[str, str, int | None], url: URL) -> bool:
    """Whether credentials for ``origin`` may go to ``url`` (an upgrade to https on the same
    host and default ports included)."""
    if url.origin == origin:
        return True
    scheme, host, port = origin
    return (scheme, port, url.scheme, url.port) == ("http", 80, "https", 443) and host == url.host


def redirect_url(location: str, current: URL) -> URL:
    """The absolute http(s) URL ``location`` points to, or ``RedirectError``."""
    text = location.strip(" \t")
    if not text.isascii():
        # Field values arrive as latin-1; servers put UTF-8 bytes in Location.
        with contextlib.suppress(UnicodeError):
            text = text.encode("latin-1").decode("utf-8")
    head = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    try:
        if ":" in head:  # RFC 3986 §4.2: a relative path's first segment has no colon
            url = parse_url(text, schemes=("http", "https"))
        else:  # relative: same scheme (an http+unix server may redirect within its socket)
            url = parse_url(_resolve(text, current), schemes=("http", "https", current.scheme))
    except InvalidURL as exc:
        raise RedirectError(f"refusing to follow the redirect to {location[:200]!r}: {exc}"
                            ) from None
    return url.without_credentials()


def _resolve(reference: str, base: URL) -> str:
    """RFC 3986 §5.2 for the references a Location holds (network-path, absolute-path,
    relative-path, query-only)."""
    root = f"{base.scheme}://{base.netloc}"
    if reference.startswith("//"):
        return f"{base.scheme}:{reference}"
    if reference.startswith("/"):
        return root + reference
    if reference.startswith("?"):
        return root + base.path + reference
    if reference in ("", "#") or reference.startswith("#"):
        return root + base.target
    directory = base.path.rsplit("/", 1)[0]
    segments: list[str] = []
    path, qmark, query = reference.partition("?")
    for segment in (directory + "/" + path).split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    if path.endswith(("/..", "/.")) or path in ("..", "."):
        segments.append("")
    return root + "/" + "/".join(segments) + qmark + query


def next_hop(hop: Hop, status: int, location: str) -> Hop:
    """The request that follows ``hop`` after a ``status`` redirect to ``location``."""
    url = redirect_url(location, hop.url)
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = [(n, v) for n, v in headers if n.lower() not in _CONTENT_FIELDS]
    elif body is not None and not body.replayable:
        raise RedirectError(f"{status} redirect needs the request body again, but it was an "
                            "iterator that cannot be sent twice")
    if not same_origin(hop.url.origin, url):
        headers = [(n, v) for n, v in headers if n.lower() not in _CREDENTIAL_FIELDS]
    return Hop(method, url, headers, body)
