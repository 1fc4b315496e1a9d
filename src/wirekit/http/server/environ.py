"""Building the WSGI ``environ`` for a request (PEP 3333, with the CGI variables of RFC 3875).

The parts that never change are computed once per server (``EnvironTemplate``), the parts
that change per client once per connection, and a request only adds its own few keys: a dict
copy and a loop over the header fields, which is most of what a WSGI server can save here.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from wirekit.net.address import Address
from wirekit.proto.http import Request

__all__ = ["ConnectionEnviron", "EnvironTemplate", "split_target"]

# Fields that become CGI variables of their own instead of HTTP_* (RFC 3875 §4.1.2-3).
_CGI_FIELDS = {"CONTENT_TYPE": "CONTENT_TYPE", "CONTENT_LENGTH": "CONTENT_LENGTH"}
# Proxy fields, trusted only from the peers in ``forwarded_allow_ips`` (SECURITY.md W06).
_FORWARDED = frozenset({"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
                        "HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED"})  # fmt: skip
# Header name -> environ key; the same few names repeat on every request.
_KEYS: dict[str, str | None] = {}
_KEYS_MAX = 1024


def _key(name: str) -> str | None:
    """``User-Agent`` -> ``HTTP_USER_AGENT``; None for a name with ``_``, which would be
    indistinguishable from a ``-`` name once converted (header spoofing past a proxy that
    filters ``X-Forwarded-For`` but not ``X_Forwarded_For``)."""
    key = _KEYS.get(name)
    if key is None and name not in _KEYS:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        upper = name.upper()
        key = None if "_" in name else _CGI_FIELDS.get(upper.replace("-", "_")) or \
            "HTTP_" + upper.replace("-", "_")
        _KEYS[name] = key
    return key


def split_target(target: str) -> tuple[str, str]:
    """The request-target's path and query (RFC 9112 §3.2); an absolute-form target gives
    its path (``http://h/p?q`` -> ``/p``, ``q``) and ``*`` is kept as the path."""
    if target[0] != "/" and target != "*":
        scheme_end = target.find("://")
        slash = target.find("/", scheme_end + 3) if scheme_end >= 0 else -1
        query_at = target.find("?", scheme_end + 3) if scheme_end >= 0 else -1
        start = slash if slash >= 0 and (query_at < 0 or slash < query_at) else query_at
        target = "/" + target[start:] if start >= 0 and target[start] == "?" else \
            (target[start:] if start >= 0 else "/")
    path, _, query = target.partition("?")
    path = path.partition("#")[0]
    return path, query.partition("#")[0]


class EnvironTemplate:
    """What every request's environ shares; ``connection()`` adds the client's part."""

    def __init__(
        self, *, server_name: str, server_port: str, url_scheme: str, multithread: bool,
        multiprocess: bool, file_wrapper: Callable[..., Any], script_name: str = "",
        server_software: str = "wirekit", forwarded_allow_ips: Iterable[str] = (),
    ) -> None:  # fmt: skip
        self.script_name = script_name.rstrip("/")
        self.base: dict[str, Any] = {
            "SERVER_NAME": server_name,
            "SERVER_PORT": server_port,
            "SERVER_SOFTWARE": server_software,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": self.script_name,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url_scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": multithread,
            "wsgi.multiprocess": multiprocess,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": file_wrapper,
            "wsgi.input_terminated": True,
        }
        allowed = list(forwarded_allow_ips)
        self._trust_unix = "unix" in allowed  # a proxy on the same host over a Unix socket
        self._trusted = [ipaddress.ip_network(net, strict=False) for net in allowed
                         if net != "unix"]

    def connection(self, client: Address) -> ConnectionEnviron:
        """The environ shared by the requests of one connection."""
        base = dict(self.base)
        if client.is_unix:
            base["REMOTE_ADDR"], base["REMOTE_PORT"] = "", ""
        else:
            base["REMOTE_ADDR"], base["REMOTE_PORT"] = client.host, str(client.port)
        base["wirekit.trust_forwarded"] = self._trusts(client)
        return ConnectionEnviron(base)

    def _trusts(self, client: Address) -> bool:
        if client.is_unix:
            return self._trust_unix
        if not self._trusted:
            return False
        try:
            ip = ipaddress.ip_address(client.host or "")
        except ValueError:
            return False
        return any(ip in net for net in self._trusted)

    def request(self, connection: ConnectionEnviron, request: Request, body: Any,
                content_length: int | None) -> dict[str, Any] | None:
        """The environ of one request; None when its path is outside ``script_name``."""
        target = request.target
        path, query = split_target(target)
        path_info = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
        if self.script_name:
            if path_info != self.script_name and \
                    not path_info.startswith(self.script_name + "/"):
                return None
            path_info = path_info[len(self.script_name):]
        environ = connection.base.copy()
        if request.headers is not connection.last_headers:
            fields = _fields_environ(request.headers.fields)
            connection.last_headers, connection.last_fields = request.headers, fields
            connection.forwarded = not _FORWARDED.isdisjoint(fields)
        environ.update(connection.last_fields)  # the same fields as the last request
        environ["REQUEST_METHOD"] = request.method
        environ["PATH_INFO"] = path_info
        environ["QUERY_STRING"] = query
        environ["RAW_URI"] = environ["REQUEST_URI"] = target
        environ["SERVER_PROTOCOL"] = "HTTP/" + request.http_version
        environ["wsgi.input"] = body
        environ["wirekit.headers"] = request.headers  # the fields as received, names kept
        if content_length:  # absent without content (PEP 3333 allows it; apps use `or 0`)
            environ["CONTENT_LENGTH"] = str(content_length)
        if connection.forwarded:
            _apply_forwarded(environ)
        return environ


class ConnectionEnviron:
    """One connection's part of the environ, and the fields of its last request converted
    (a keep-alive client mostly repeats them; the core then hands over the same object)."""

    __slots__ = ("base", "forwarded", "last_fields", "last_headers")

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self.last_headers: object = None
        self.last_fields: dict[str, str] = {}
        self.forwarded = False  # the fields hold proxy fields (X-Forwarded-*)


def _fields_environ(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``HTTP_*`` variables and ``CONTENT_TYPE`` from the header fields."""
    fields: dict[str, str] = {}
    for name, value in headers:
        key = _KEYS.get(name) or _key(name)
        if key is None or key == "CONTENT_LENGTH":
            continue  # the framing decided the length; a chunked body has none
        if key in fields and key != "CONTENT_TYPE":
            # RFC 9110 §5.3: repeated fields combine with commas (Cookie with "; ").
            fields[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            fields[key] = value
    return fields


def _apply_forwarded(environ: dict[str, Any]) -> None:
    """From a trusted proxy, X-Forwarded-For/Proto set the client and scheme; from anyone
    else, the fields are removed so the application cannot be fooled by them."""
    if not environ["wirekit.trust_forwarded"]:
        for key in _FORWARDED.intersection(environ):
            del environ[key]
        return
    if forwarded_for := environ.get("HTTP_X_FORWARDED_FOR"):
        environ["REMOTE_ADDR"] = forwarded_for.rsplit(",", 1)[-1].strip()
    proto = environ.get("HTTP_X_FORWARDED_PROTO", "").strip().lower()
    if proto in ("http", "https"):
        environ["wsgi.url_scheme"] = proto
