"""The environment a CGI script runs with: a whitelist, built from the request alone.

CPython's ``CGIHTTPRequestHandler`` started from a copy of the server's own ``os.environ``, so
every script saw the server's secrets (SECURITY.md C04). Here the environment is exactly:

* ``PATH`` (a fixed, safe default or the caller's),
* the RFC 3875 §4.1 meta-variables, from the WSGI environ and the resolved script,
* ``HTTP_*`` for the request's header fields (§4.1.18), *except* ``HTTP_PROXY``: a client's
  ``Proxy:`` header would otherwise become the proxy setting of every HTTP library the script
  uses (httpoxy, CVE-2016-1000110, C02), and the credentials headers the RFC says to withhold,
* a few widely used extensions (``DOCUMENT_ROOT``, ``SCRIPT_FILENAME``, ``REQUEST_URI``,
  ``HTTPS``) and whatever the caller adds in ``extra_env``.

Values are bytes: WSGI strings are latin-1 stand-ins for the bytes that arrived, and encoding
them with the filesystem encoding instead would change non-ASCII paths and headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from wirekit.http.cgi.resolve import Script

__all__ = ["DEFAULT_PATH", "script_environment"]

# No empty entry (os.defpath starts with ":" which means "the current directory").
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# Copied from the WSGI environ when present (RFC 3875 §4.1 and common extensions).
_COPIED = ("SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REQUEST_METHOD", "REMOTE_ADDR",
           "REMOTE_HOST", "REMOTE_PORT", "REMOTE_USER", "REMOTE_IDENT", "AUTH_TYPE")
# Header fields never turned into HTTP_* variables.
_WITHHELD = frozenset({
    "HTTP_PROXY",  # httpoxy (C02)
    "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION",  # RFC 3875 §4.1.18: credentials
    "HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE",  # given as CONTENT_* instead
    "HTTP_TRANSFER_ENCODING",  # the body reaches the script de-chunked, with a length
})


def _put(env: dict[bytes, bytes], name: str, value: str) -> None:
    """Add one variable; WSGI text is latin-1 for bytes, and NUL cannot be in an env string."""
    key = name.encode("latin-1", "replace")
    raw = value.encode("latin-1", "replace")
    if b"\x00" not in raw and b"\x00" not in key and b"=" not in key:
        env[key] = raw


def script_environment(
    environ: Mapping[str, Any],
    script: Script,
    *,
    document_root: Path,
    content_length: int | None,
    path: str = DEFAULT_PATH,
    server_software: str = "wirekit",
    extra_env: Mapping[str, str] | None = None,
) -> dict[bytes, bytes]:
    """The complete environment for running ``script`` for the request in ``environ``."""
    env: dict[bytes, bytes] = {}
    _put(env, "PATH", path)
    _put(env, "GATEWAY_INTERFACE", "CGI/1.1")
    _put(env, "SERVER_SOFTWARE", str(environ.get("SERVER_SOFTWARE") or server_software))
    for name in _COPIED:
        value = environ.get(name)
        if value:
            _put(env, name, str(value))
    _put(env, "QUERY_STRING", str(environ.get("QUERY_STRING") or ""))
    if content_length is not None:  # RFC 3875 §4.1.2: set iff there is a body
        _put(env, "CONTENT_LENGTH", str(content_length))
        if environ.get("CONTENT_TYPE"):
            _put(env, "CONTENT_TYPE", str(environ["CONTENT_TYPE"]))
    mount = str(environ.get("SCRIPT_NAME") or "")
    script_name = mount + script.script_name
    _put(env, "SCRIPT_NAME", script_name)
    _put(env, "SCRIPT_FILENAME", str(script.path))
    _put(env, "DOCUMENT_ROOT", str(document_root))
    if script.path_info:  # §4.1.5/§4.1.6: both absent when there is no extra path
        _put(env, "PATH_INFO", script.path_info)
        _put(env, "PATH_TRANSLATED", str(document_root) + script.path_info)
    query = str(environ.get("QUERY_STRING") or "")
    uri = str(environ.get("REQUEST_URI") or environ.get("RAW_URI") or "")
    if not uri:
        uri = quote((script_name + script.path_info).encode("latin-1", "replace"))
        uri += "?" + query if query else ""
    _put(env, "REQUEST_URI", uri)
    if environ.get("wsgi.url_scheme") == "https":
        _put(env, "HTTPS", "on")
    for name, value in environ.items():
        if name.startswith("HTTP_") and name not in _WITHHELD and isinstance(value, str):
            _put(env, name, value)
    for name, value in (extra_env or {}).items():
        _put(env, name, value)
    return env
