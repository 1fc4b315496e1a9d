"""``Request``: a method, a URL, headers and a body, checked before anything is sent.

The course built ``urllib.request.Request(url, data, headers)`` objects and passed them to
``urlopen``; this is the same object (same argument order, ``add_header``, ``get_method``,
``full_url``) with the modern arguments added: ``params=``, ``json=``, ``files=``, ``auth=``.

Everything that could change the meaning of the bytes on the wire is refused here, before any
connection is opened (SECURITY.md K05): a method that is not a token, CR/LF/NUL in a header,
and (in :mod:`~wirekit.http.client.urls`) control characters or spaces in the URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Final

from wirekit.errors import LocalProtocolError
from wirekit.http.client.auth import AuthArg, to_auth
from wirekit.http.client.bodies import make_body
from wirekit.http.client.errors import InvalidRequest
from wirekit.http.client.urls import URL, encode_params, parse_url
from wirekit.proto.http.writer import check_field

__all__ = ["HeaderDict", "HeadersArg", "Request", "check_headers"]

_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_METHODS: dict[str, str] = {}  # checked methods -> their upper-case form

HeadersArg = Mapping[str, "str | None"] | Iterable[tuple[str, "str | None"]] | None


def _method(method: str) -> str:
    checked = _METHODS.get(method)
    if checked is None:
        if not isinstance(method, str) or _TOKEN.fullmatch(method) is None:
            raise InvalidRequest(f"invalid HTTP method {str(method)[:50]!r} (RFC 9110 §9.1)")
        checked = method.upper()
        if len(_METHODS) < 256:
            _METHODS[method] = checked
    return checked


# Header pairs already checked: cleared when full, so it stays small whatever is sent.
_CHECKED: dict[tuple[str, str], None] = {}
_CHECKED_MAX = 1024


def check_headers(headers: HeadersArg) -> list[tuple[str, str | None]]:
    """``headers`` as a list of ``(name, value)``; a ``None`` value removes a default.
    Raises ``InvalidRequest`` for a name that is not a token or a value with CR/LF/NUL."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    checked: list[tuple[str, str | None]] = []
    for name, value in items:
        if type(name) is str and type(value) is str and (name, value) in _CHECKED:
            checked.append((name, value))  # checked before: a client repeats its headers
            continue
        if isinstance(name, bytes):
            name = name.decode("latin-1")  # noqa: PLW2901
        if isinstance(value, bytes):
            value = value.decode("latin-1")  # noqa: PLW2901
        elif value is not None and not isinstance(value, str):
            value = str(value)  # noqa: PLW2901 - ints, as urllib allowed
        if not isinstance(name, str):
            raise InvalidRequest(f"header names must be str, not {type(name).__name__}")
        try:
            check_field(name, value or "")
        except LocalProtocolError as exc:
            raise InvalidRequest(str(exc)) from None
        checked.append((name, value))
        if value is not None:
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED[name, value] = None
    return checked


class Request:
    """A request to send with ``Session.send`` or ``urlopen``.

    ``method`` defaults to POST when there is a body, else GET (as urllib does). ``data`` is
    form fields (a dict or pairs), raw bytes/str, an open binary file, or an iterable of bytes
    (sent chunked); ``json`` a value to send as JSON; ``files`` uploads as multipart.
    """

    __slots__ = ("auth", "body", "cookies", "headers", "method", "url")

    def __init__(
        self, url: str | URL, data: Any = None, headers: HeadersArg = None,
        method: str | None = None, *, params: Any = None, json: Any = None, files: Any = None,
        auth: AuthArg = None, cookies: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        parsed = parse_url(url)
        self.url: URL = parsed.with_query(encode_params(params)) if params else parsed
        self.body = make_body(data, json, files)
        self.method = _method(method or ("POST" if self.body is not None else "GET"))
        self.headers = check_headers(headers)
        self.auth = to_auth(auth)
        self.cookies = dict(cookies) if cookies else None
        if self.cookies:
            check_headers([("Cookie", _cookie_text(self.cookies))])

    @property
    def full_url(self) -> str:
        """The URL as a string (urllib's name)."""
        return self.url.absolute

    def get_method(self) -> str:
        """The method (urllib's name)."""
        return self.method

    def add_header(self, name: str, value: str) -> None:
        """Add (or replace) a header, as ``urllib.request.Request.add_header`` did."""
        checked = check_headers([(name, value)])
        lname = name.lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != lname] + checked

    def get_header(self, name: str, default: str | None = None) -> str | None:
        """The value of a header set on this request (case-insensitive)."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname and v is not None:
                return v
        return default

    def header_items(self) -> list[tuple[str, str]]:
        """The headers set on this request, as pairs."""
        return [(n, v) for n, v in self.headers if v is not None]

    def __repr__(self) -> str:
        return f"<Request [{self.method}] {self.url.absolute}>"


def _cookie_text(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


class HeaderDict(MutableMapping[str, str]):
    """A session's default headers: case-insensitive, checked on every change, and
    versioned so the session rebuilds its ready-to-send list only after a change."""

    def __init__(self, initial: HeadersArg = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        self.version = 0
        if initial:
            for name, value in dict(check_headers(initial)).items():
                self[name] = value

    def __setitem__(self, name: str, value: str | None) -> None:
        """Set a default header; ``None`` removes it."""
        ((name, value),) = check_headers([(name, value)])
        if value is None:
            self._items.pop(name.lower(), None)
        else:
            self._items[name.lower()] = (name, value)
        self.version += 1

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __delitem__(self, name: str) -> None:
        del self._items[name.lower()]
        self.version += 1

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs ready to send."""
        return list(self._items.values())

    def __repr__(self) -> str:
        return f"HeaderDict({dict(self._items.values())!r})"


def cookie_text(cookies: Mapping[str, str]) -> str:
    """``name=value; name2=value2`` for a ``Cookie`` field."""
    return _cookie_text(cookies)
