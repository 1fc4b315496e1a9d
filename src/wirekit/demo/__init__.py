"""The embedded demo site: what ``wirekit serve`` with no arguments serves.

    from wirekit.demo import make_demo_app
    from wirekit.testing import serve_wsgi

    with serve_wsgi(make_demo_app()) as url:
        ...   # url + "/" is the home page; /hello, /upload, /cgi-bin/subscribe.py, /mail/

See ``docs/static-and-cgi.md``.
"""

from wirekit.demo.app import SITE, make_demo_app
from wirekit.demo.hello import hello_app
from wirekit.demo.mail import inbox_app
from wirekit.demo.upload import upload_app

__all__ = ["SITE", "hello_app", "inbox_app", "make_demo_app", "upload_app"]
