"""Static files: a directory served over HTTP as a WSGI application.

    from wirekit.http.static import StaticFiles

    app = StaticFiles("public")          # GET/HEAD, listing, 304, 206, sendfile; never outside

See ``docs/static-and-cgi.md``. The modules: ``paths`` (safe resolution), ``conditional``
(validators, 304/412, If-Range), ``ranges`` (Range parsing with bounded work), ``bodies``
(file and multipart bodies), ``listing`` (the directory page), ``mime`` (content types).
"""

from wirekit.http.static.app import StaticFiles

__all__ = ["StaticFiles"]
