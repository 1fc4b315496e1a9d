"""``Mount``: several WSGI applications under one server, each at its own path prefix.

PEP 3333 splits the request path in two: ``SCRIPT_NAME`` is where the application is mounted,
``PATH_INFO`` the rest. Mounting an application at ``/hello`` therefore moves ``/hello`` from
the front of ``PATH_INFO`` to the end of ``SCRIPT_NAME``, so the application sees paths relative
to itself and builds links with ``SCRIPT_NAME`` in front (what ``wsgiref.util.shift_path_info``
does one segment at a time, and werkzeug's ``DispatcherMiddleware`` for a table).

Prefixes match on segment boundaries only, the longest first: ``/hello`` takes ``/hello`` and
``/hello/x`` but not ``/helloworld``. The empty prefix (or ``/``) is the fallback; without one
an unmatched path is answered 404 (in the application's look when given ``page``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wirekit.errors import ConfigError
from wirekit.http.pages import PageRenderer, error_page, relative_root

__all__ = ["Mount"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NOT_FOUND = (b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
              b"<title>404 Not Found</title>\n</head>\n<body>\n<h1>404 Not Found</h1>\n"
              b"</body>\n</html>\n")


def _normalise(prefix: str) -> str:
    if prefix in ("", "/"):
        return ""
    if not prefix.startswith("/") or "//" in prefix or "\\" in prefix or "\x00" in prefix:
        raise ConfigError(f"a mount prefix is '' or a path like '/hello', not {prefix!r}")
    return prefix.rstrip("/")


class Mount:
    """Dispatch to the application whose prefix is the longest match of ``PATH_INFO``.

    ``apps`` maps prefixes (``"/hello"``, ``"/cgi-bin"``) to WSGI applications; ``""`` is the
    fallback for everything else. Prefixes are compared with the decoded ``PATH_INFO``, so
    write them decoded (``"/café"`` as its latin-1 WSGI string if it is not ASCII).
    ``page`` renders the 404 page in the application's look (``static.listing.PageRenderer``).
    """

    def __init__(self, apps: Mapping[str, WSGIApp], *, page: PageRenderer | None = None
                 ) -> None:
        self._page = page
        table: dict[str, WSGIApp] = {}
        for prefix, app in apps.items():
            key = _normalise(prefix)
            if key in table:
                raise ConfigError(f"two applications mounted at {prefix!r}")
            table[key] = app
        self._fallback = table.pop("", None)
        # Longest first, so "/a/b" wins over "/a"; each with the prefix + "/" to test cheaply.
        self._routes = sorted(((p, p + "/", a) for p, a in table.items()),
                              key=lambda route: len(route[0]), reverse=True)

    @property
    def prefixes(self) -> list[str]:
        """The mounted prefixes, longest first (``""`` last when there is a fallback)."""
        return [p for p, _, _ in self._routes] + ([""] if self._fallback is not None else [])

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, with_slash, app in self._routes:
            if path == prefix or path.startswith(with_slash):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix):]
                return app(environ, start_response)
        if self._fallback is not None:
            return self._fallback(environ, start_response)
        body = (_NOT_FOUND if self._page is None
                else error_page(self._page, 404, relative_root(environ)))
        start_response("404 Not Found", [("Content-Type", "text/html; charset=utf-8"),
                                         ("Content-Length", str(len(body))),
                                         ("X-Content-Type-Options", "nosniff")])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
