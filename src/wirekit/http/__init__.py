"""HTTP for applications: the server (WSGI host, handler classes), the client, forms,
static files and CGI, all on the sans-IO core in :mod:`wirekit.proto.http`.

The client's one-call functions are here too, loaded on first use::

    import wirekit.http
    response = wirekit.http.get("http://127.0.0.1:8000/hello")
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["HTTPError", "Request", "Response", "Session", "delete", "get", "head", "options",
           "patch", "post", "put", "request", "urlopen"]
_CLIENT_NAMES = frozenset(__all__)


def __getattr__(name: str) -> Any:
    # Lazy: `import wirekit.http.server` must not pay for importing the client.
    if name in _CLIENT_NAMES:
        return getattr(importlib.import_module("wirekit.http.client"), name)
    raise AttributeError(f"module 'wirekit.http' has no attribute {name!r}")
