"""CGI for wirekit: run CGI scripts from a WSGI server, and run a WSGI app as a CGI script.

* :class:`CGIApp` is a WSGI application that runs the scripts in ``root/cgi-bin`` per RFC 3875
  (the course's ``CGIHTTPRequestHandler``, slides 4-22..4-33, without its security holes).
* :func:`run_wsgi_as_cgi` runs a WSGI application as a CGI script (slide 4-48, the course's
  ``wsgiref.handlers.CGIHandler().run(app)``).
* A CGI script reads its form with :func:`wirekit.http.forms.parse_cgi_form`.

See ``docs/cgi.md``.
"""

from wirekit.http.cgi.adapter import run_wsgi_as_cgi, wsgi_environ_from_cgi
from wirekit.http.cgi.app import CGIApp
from wirekit.http.cgi.environment import DEFAULT_PATH
from wirekit.http.cgi.output import ScriptOutputError

__all__ = ["DEFAULT_PATH", "CGIApp", "ScriptOutputError", "run_wsgi_as_cgi",
           "wsgi_environ_from_cgi"]
