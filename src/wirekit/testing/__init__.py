"""Public test helpers: real servers on loopback for every protocol wirekit speaks.

    from wirekit.testing import serve_wsgi

    with serve_wsgi(app) as url:          # "http://127.0.0.1:PORT"
        ...                               # talk to it with any HTTP client

    with catch_mail() as catcher:         # an SMTP catcher: catcher.port, catcher.messages
        ...

    with serve_ftp(folder, write=True) as server:   # pyftpdlib: server.url, server.port
        ...
"""

from wirekit.testing.feeding import FEEDS
from wirekit.testing.ftp import serve_ftp
from wirekit.testing.http import serve_wsgi
from wirekit.testing.mail import Catcher, catch_mail

__all__ = ["FEEDS", "Catcher", "catch_mail", "serve_ftp", "serve_wsgi"]
