"""``cgi_environ()``: the process environment of a CGI script, as WSGI-style text.

The one module of the HTTP layer that reads the process environment, and only because a CGI
script has no other way to learn its request: the server passes the request's meta-variables
in the environment (RFC 3875 §4). Everything else in wirekit takes its settings as arguments.

Values are decoded as latin-1 from the raw bytes (``os.environb``), the WSGI convention
(PEP 3333 "native strings"), so a percent-decoded UTF-8 ``PATH_INFO`` keeps its exact bytes.
"""

from __future__ import annotations

import os

__all__ = ["cgi_environ"]


def cgi_environ() -> dict[str, str]:
    """A copy of the process environment with every name and value as latin-1 text."""
    return {name.decode("latin-1"): value.decode("latin-1")
            for name, value in os.environb.items()}
