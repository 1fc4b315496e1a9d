"""The course's first WSGI application (slides 4-37..4-45), mounted at ``/hello`` in the demo.

A WSGI application is just a callable: it gets the request as ``environ`` (the CGI variables
plus ``wsgi.*``) and answers through ``start_response``, returning the body as byte strings
(slide 4-45: never ``str``). Under the demo's mount point ``SCRIPT_NAME`` is ``/hello`` and
``PATH_INFO`` is the rest, so ``/hello/world`` shows ``/world``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["hello_app"]


def hello_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Say hello and echo the path requested (as plain text, so nothing in it is markup)."""
    status = "200 OK"
    # PEP 3333: environ strings carry the request's bytes as latin-1; encoding them back gives
    # those bytes unchanged (UTF-8 paths included).
    path = environ.get("PATH_INFO", "").encode("latin-1")
    script = environ.get("SCRIPT_NAME", "").encode("latin-1")
    response = [b"Hello World\n", b"You requested :" + path + b"\n",
                b"Mounted at :" + script + b"\n"]
    response_headers = [("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(sum(map(len, response)))),
                        ("X-Content-Type-Options", "nosniff")]
    start_response(status, response_headers)
    return response
