"""``MockTransport``: answer a session's requests with a function, without any socket.

For tests of code that uses a ``Session``: mount it for a prefix and every matching request is
handed to ``handler`` as a :class:`MockRequest`, which returns the ``Response`` to give back.
The session's own logic (redirects, cookies, auth, ``raise_for_status``, ``max_body``) still
runs on top, so a mock exercises it exactly as a server would::

    session.mount("https://api.example.org/", MockTransport(lambda request: Response(
        200, {"Content-Type": "application/json"}, content=b'{"ok": true}')))

A request body is read whole before the handler runs (it is a test double, not a server).
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wirekit.http.client.bodies import Body
from wirekit.http.client.response import Response
from wirekit.http.client.transport import Options
from wirekit.http.client.urls import URL
from wirekit.proto.http import Headers

__all__ = ["MockRequest", "MockTransport"]


@dataclass(frozen=True)
class MockRequest:
    """What the session would have sent: method, absolute URL, the field lines, the body."""

    method: str
    url: str
    headers: Headers
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.content)


class MockTransport:
    """A transport whose answers come from ``handler(request) -> Response``; ``requests``
    records every request it saw, oldest first."""

    def __init__(self, handler: Callable[[MockRequest], Response]) -> None:
        self.handler = handler
        self.requests: list[MockRequest] = []

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        content = b"".join(body.chunks()) if body is not None else b""
        if body is not None and options.upload_progress is not None:
            options.upload_progress(len(content), body.length)
        request = MockRequest(method, url.absolute, Headers(headers), content)
        self.requests.append(request)
        response = self.handler(request)
        if not response.url:
            response.url = url.absolute
        response.method = method
        return response

    def close(self) -> None:
        pass
