"""Public test helpers: real servers on loopback for every protocol wirekit speaks.

    from wirekit.testing import serve_wsgi

    with serve_wsgi(app) as url:          # "http://127.0.0.1:PORT"
        ...                               # talk to it with any HTTP client
"""

from wirekit.testing.http import serve_wsgi

__all__ = ["serve_wsgi"]
