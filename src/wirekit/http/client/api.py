"""``urlopen`` and the one-call shortcuts, over a shared module-level ``Session``.

The shared session pools connections (so a loop of ``get()`` calls reuses them) but keeps no
cookies and no credentials between calls: state that one call leaves behind must not reach
another part of the program unasked. Use your own ``Session`` for cookies, auth or proxies.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from wirekit.http.client.bodies import make_body
from wirekit.http.client.request import Request
from wirekit.http.client.response import Response
from wirekit.http.client.session import (
    DEFAULT,
    BodyRequestOptions,
    CallOptions,
    RequestOptions,
    Session,
    TimeoutArg,
)
from wirekit.http.client.urls import URL

if TYPE_CHECKING:
    from typing_extensions import Unpack


__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request", "urlopen"]

_shared: Session | None = None
_lock = threading.Lock()


def _session() -> Session:
    global _shared  # noqa: PLW0603 - one lazily created shared session
    if _shared is None:
        with _lock:
            if _shared is None:
                _shared = Session(cookies=False)
    return _shared


def urlopen(url: str | URL | Request, data: Any = None, timeout: TimeoutArg = DEFAULT,
            **options: Unpack[CallOptions]) -> Response:
    """Open ``url`` (http, https, ftp or file) and return the response, body unread.

    As in the course's ``urllib``: ``data`` makes it a POST (form fields or bytes), 4xx/5xx
    raise ``HTTPError``, and the response reads like a file (``read()``, lines, ``with``).
    Unlike it, a timeout is always on (5 s to connect, 30 s per read) unless ``timeout=None``.
    """
    if isinstance(url, Request):
        request = url
        if data is not None:
            request.body = make_body(data)
            if request.method == "GET":
                request.method = "POST"
    else:
        request = Request(url, data)
    options.setdefault("stream", True)
    return _session().send(request, timeout=timeout, **options)


def request(method: str, url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
    """One request over the shared session (see ``Session.request`` for the arguments)."""
    return _session().request(method, url, **kwargs)


def get(url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
    """A GET over the shared session."""
    return _session().request("GET", url, **kwargs)


def head(url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
    """A HEAD over the shared session."""
    return _session().request("HEAD", url, **kwargs)


def options(url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
    """A OPTIONS over the shared session."""
    return _session().request("OPTIONS", url, **kwargs)


def delete(url: str | URL, **kwargs: Unpack[RequestOptions]) -> Response:
    """A DELETE over the shared session."""
    return _session().request("DELETE", url, **kwargs)


def post(url: str | URL, data: Any = None, **kwargs: Unpack[BodyRequestOptions]
         ) -> Response:
    """A POST of ``data`` (or ``json=``/``files=``) over the shared session."""
    return _session().request("POST", url, data=data, **kwargs)


def put(url: str | URL, data: Any = None, **kwargs: Unpack[BodyRequestOptions]
         ) -> Response:
    """A PUT of ``data`` (or ``json=``/``files=``) over the shared session."""
    return _session().request("PUT", url, data=data, **kwargs)


def patch(url: str | URL, data: Any = None, **kwargs: Unpack[BodyRequestOptions]
         ) -> Response:
    """A PATCH of ``data`` (or ``json=``/``files=``) over the shared session."""
    return _session().request("PATCH", url, data=data, **kwargs)
