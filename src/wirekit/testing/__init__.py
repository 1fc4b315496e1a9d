"""Public test helpers: real servers on loopback for every protocol wirekit speaks, and the
pure-tier kit for sans-IO cores. See ``docs/testing.md``.

    from wirekit.testing import serve_wsgi

    with serve_wsgi(app) as url:          # "http://127.0.0.1:PORT"
        ...                               # talk to it with any HTTP client

    with catch_mail() as catcher:         # an SMTP catcher: catcher.port, catcher.messages
        ...

    with serve_ftp(folder, write=True) as server:   # pyftpdlib: server.url, server.port
        ...

``serve_rpc``, ``channel_listener`` and ``serve_echo`` do the same for RPC, the object
channel and a TCP echo server; ``stream_pair`` gives two connected streams; ``FEEDS`` are the
four ways of feeding bytes to a core; ``MockTransport`` answers an HTTP client's requests
without a network. The same servers are pytest fixtures (``wirekit_http_server``,
``wirekit_smtp_catcher``...: ``wirekit.testing.pytest_plugin``), loaded automatically.
"""

from wirekit.http.client.mock import MockRequest, MockTransport
from wirekit.testing.feeding import FEEDS, at_crlf, bytewise, random_splits, whole
from wirekit.testing.ftp import serve_ftp
from wirekit.testing.http import serve_wsgi
from wirekit.testing.mail import Catcher, catch_mail
from wirekit.testing.servers import channel_listener, serve_echo, serve_rpc
from wirekit.testing.streams import stream_pair

__all__ = [
    "FEEDS",
    "Catcher",
    "MockRequest",
    "MockTransport",
    "at_crlf",
    "bytewise",
    "catch_mail",
    "channel_listener",
    "random_splits",
    "serve_echo",
    "serve_ftp",
    "serve_rpc",
    "serve_wsgi",
    "stream_pair",
    "whole",
]
