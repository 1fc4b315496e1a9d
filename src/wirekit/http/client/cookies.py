"""Cookies: the standard library's ``http.cookiejar`` rules, adapted to this client.

``http.cookiejar`` already implements the domain, path, ``Secure`` and expiry rules and has
the regression tests for their CVEs (SECURITY.md K04: ``Domain=.com``, a ``localhost`` page
setting ``.evil.com``, CVE-2018-20852's ``pythonexample.com``, the ``Expires`` ReDoS). It was
written against ``urllib.request.Request``, so the two small adapters below give it the
methods it calls, and nothing more.

``cookie_jar(path)`` returns a jar backed by a file in the Mozilla/curl ``cookies.txt``
format, loaded now and saved with ``save_jar`` (session cookies included, so a login
survives between runs of ``wirekit get --cookies FILE``); the file is created ``0600``.
"""

from __future__ import annotations

import os
from http.cookiejar import CookieJar, LoadError, MozillaCookieJar
from pathlib import Path

from wirekit.errors import ConfigError
from wirekit.http.client.urls import URL
from wirekit.proto.http import Headers

__all__ = ["CookieJar", "cookie_header", "cookie_jar", "extract_cookies", "save_jar"]


class _JarRequest:
    """The part of ``urllib.request.Request`` that ``CookieJar`` uses."""

    def __init__(self, url: URL) -> None:
        self._url = url
        self.type = url.scheme
        self.host = url.authority
        self.origin_req_host = url.host
        self.unverifiable = False
        self.cookie: str | None = None

    def get_full_url(self) -> str:
        return self._url.absolute

    def get_host(self) -> str:
        return self.host

    def get_type(self) -> str:
        return self.type

    def has_header(self, name: str) -> bool:
        return name.lower() == "cookie" and self.cookie is not None

    def get_header(self, name: str, default: str | None = None) -> str | None:
        if name.lower() == "host":
            return self.host
        return default

    def header_items(self) -> list[tuple[str, str]]:
        return [("Host", self.host)]

    def add_unredirected_header(self, name: str, value: str) -> None:
        if name.lower() == "cookie":
            self.cookie = value


class _JarResponse:
    """The part of ``http.client.HTTPResponse`` that ``CookieJar`` uses."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def info(self) -> _JarResponse:
        return self

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        return self._headers.get_list(name) or default


def cookie_header(jar: CookieJar, url: URL) -> str | None:
    """The ``Cookie`` value the jar has for ``url`` (``None`` when it has none)."""
    if not getattr(jar, "_cookies", True):  # an empty jar: skip the jar's locking and scans
        return None
    request = _JarRequest(url)
    jar.add_cookie_header(request)  # type: ignore[arg-type]  # a duck-typed urllib Request
    return request.cookie


def extract_cookies(jar: CookieJar, url: URL, headers: Headers) -> None:
    """Store the ``Set-Cookie`` fields of a response from ``url`` that the rules allow."""
    response, request = _JarResponse(headers), _JarRequest(url)
    jar.extract_cookies(response, request)  # type: ignore[arg-type]  # duck-typed adapters


def cookie_jar(path: str | os.PathLike) -> MozillaCookieJar:
    """A jar backed by ``path`` (``cookies.txt`` format), loaded if the file exists."""
    jar = MozillaCookieJar(os.fspath(path))
    if Path(path).exists():
        try:
            jar.load(ignore_discard=True)
        except (LoadError, OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot load cookies from {os.fspath(path)!r}: {exc}") from None
    return jar


def save_jar(jar: CookieJar, path: str | os.PathLike | None = None) -> None:
    """Write a file-backed jar (to its own file, or ``path``), readable by the owner only."""
    if not isinstance(jar, MozillaCookieJar):
        raise ConfigError("this cookie jar has no file to save to; use cookie_jar(path)")
    target = os.fspath(path) if path is not None else jar.filename
    if target is None:
        raise ConfigError("no file to save cookies to")
    if not os.path.exists(target):
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    jar.save(target, ignore_discard=True)
