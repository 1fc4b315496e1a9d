"""The demo's request mirror: ``/echo`` answers, as JSON, the request the server received.

For trying an HTTP client (slides 2-14..2-26, ``wirekit get/post/http``, ``urllib``,
``wirekit.http.client``) there must be somewhere that shows what was sent: the method, the
path, the query, the headers, the cookies and the body, decoded as a form or JSON when it is
one. Every method is accepted, at any path under ``/echo``::

    wirekit get :8000/echo q==python X-Trace:on
    wirekit http PUT :8000/echo/item/1 name=pen price:=2

Bodies are read up to :data:`MAX_BODY` bytes (413 beyond); file fields are reported by name,
type and size, never echoed.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from wirekit.http.forms import FormError, parse_form
from wirekit.proto.http import reason_phrase

__all__ = ["MAX_BODY", "echo_app"]

#: The largest body the mirror reads (a form's files included).
MAX_BODY = 1024 * 1024

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer the request itself, as JSON (see the module docstring)."""
    method = environ.get("REQUEST_METHOD", "GET")
    kind = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = b""
    if kind not in _FORMS and _has_body(environ):
        raw = environ["wsgi.input"].read(MAX_BODY + 1)
    if length > MAX_BODY or len(raw) > MAX_BODY:
        return _answer(start_response, "413 Content Too Large",
                       {"error": f"the mirror reads bodies of at most {MAX_BODY} bytes"})
    seen: dict[str, Any] = {
        "method": method,
        "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
        "query": urllib.parse.parse_qs(environ.get("QUERY_STRING", ""),
                                       keep_blank_values=True, max_num_fields=100),
        "headers": _headers(environ),
    }
    try:
        seen.update(_form(environ) if kind in _FORMS else _body(raw, kind))
    except FormError as exc:
        return _answer(start_response, f"{exc.status} {reason_phrase(exc.status)}",
                       {"error": str(exc)})
    return _answer(start_response, "200 OK", seen, head=method == "HEAD")


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").title(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = str(environ[key])
    return dict(sorted(headers.items()))


def _form(environ: dict[str, Any]) -> dict[str, Any]:
    with parse_form(environ, max_body=MAX_BODY) as form:
        return {"form": {name: [field.value if field.filename is None else
                                {"filename": field.filename, "content_type": field.content_type,
                                 "size": field.size}
                                for field in form.getfields(name)] for name in form}}


def _body(raw: bytes, kind: str) -> dict[str, Any]:
    if not raw:
        return {}
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return {"json": json.loads(raw)}
        except ValueError as exc:
            return {"body": raw.decode("utf-8", "replace"), "json_error": str(exc)}
    return {"body": raw.decode("utf-8", "replace"), "body_length": len(raw)}


def _has_body(environ: dict[str, Any]) -> bool:
    return bool(environ.get("CONTENT_LENGTH")) or bool(environ.get("wsgi.input_terminated"))


def _answer(start_response: Callable[..., Any], status: str, document: dict[str, Any], *,
            head: bool = False) -> list[bytes]:
    body = json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body))),
                            ("X-Content-Type-Options", "nosniff")])
    return [] if head else [body]
