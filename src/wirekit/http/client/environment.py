"""Proxy settings from the environment: read only when the caller opts in.

This is the one module of the client that reads environment variables, and only when asked
(``Session(trust_env=True)`` or ``proxies="env"``; the ``wirekit`` command does). The rules are
curl's and urllib's: lower-case names win over upper-case ones; ``NO_PROXY`` lists hosts to
reach directly; and under CGI (``REQUEST_METHOD`` set) the upper-case ``HTTP_PROXY`` is
ignored, because a client's ``Proxy:`` request header arrives there (httpoxy,
CVE-2016-1000110, SECURITY.md K11).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["proxy_environment"]

_SCHEMES = ("http", "https", "all")


def proxy_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"http": url, "https": url, "all": url, "no_proxy": "a,b"}`` (keys only when set)."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for scheme in (*_SCHEMES, "no"):
        upper = env.get(f"{scheme.upper()}_PROXY", "")
        if scheme == "http" and "REQUEST_METHOD" in env:
            upper = ""  # httpoxy: a CGI request's "Proxy:" header, not a setting
        value = env.get(f"{scheme}_proxy", upper).strip()
        if value:
            found["no_proxy" if scheme == "no" else scheme] = value
    return found
